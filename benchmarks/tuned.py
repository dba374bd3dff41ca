"""Our own tuned entries for the benchmark rows whose RL Zoo entry falls short of the published score.

    python -m benchmarks.tuned search-command --row dqn:CartPole-v1          # the Optuna search to run for a row
    python -m benchmarks.tuned search-summary --row dqn:CartPole-v1          # its figures, as a committed JSON file
    python -m benchmarks.tuned candidate --row dqn:CartPole-v1 --trial 12    # trial 12 as a zoo entry (a -conf file)
    python -m benchmarks.tuned validate --row dqn:CartPole-v1 --trial 12 --seeds 0 1 2 3 4 [--accept]
    python -m benchmarks.tuned search-command --row dqn:CartPole-v1 --trial-seeds 3   # each trial on 3 seeds
    python -m benchmarks.tuned search-command --row td3:MountainCarContinuous-v0 --n-timesteps 50000   # shorter

The rule: the RL Zoo's entry stays as published in `zoo/hyperparams/<algo>.yml`. A search (`zoo.train -optimize`,
trial k trained with seed 1000 + k; with `--trial-seeds N`, with seeds 1000 + kN to 1000 + kN + N - 1 and scored
by their mean) proposes settings at the published budget, or with `--n-timesteps B` at a shorter budget B; a
trial's settings are trained again, for the search's budget, on seeds the search never used (0-4 by default) by the
same machinery as the benchmark sweep (`benchmarks.run`: the same command with `-conf <candidate>`, the same final
evaluation), and become our entry in `zoo/hyperparams/tuned/<algo>.yml` only when the mean final evaluation over at
least 5 such seeds meets the row's threshold (`validate --accept`). An entry found at B keeps `n_timesteps: B`: it
meets the threshold in fewer steps than the published budget. `python -m benchmarks.report` shows both entries'
results.

Files, for the study `<algo>-<env>`, with `-<B>steps` after it for a search at B steps per trial and then
`-<N>seeds` for N seeds per trial (e.g. `td3-MountainCarContinuous-v0-50000steps-3seeds`): the search lives in
`benchmarks/runs/tuning/<study>.db` (trial folders in `benchmarks/runs/tuning/<study>/`), candidates in
`benchmarks/runs/tuning/<study>-trial<K>.yml` (not committed); the figures in
`benchmarks/results_tuned/searches/<study>.json` and the validation runs in
`benchmarks/results_tuned/<algo>/<env>/trial<K>/seed<S>.json` (the published budget, one seed per trial) or
`.../<tag>-trial<K>/seed<S>.json`, the tag being the study name's suffix (`50000steps`, `3seeds`,
`50000steps-3seeds`) (committed).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import shlex
import sys
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import yaml

from baselines3.common.save_util import atomic_write_text
from benchmarks.rows import ROWS, Row, find_row
from benchmarks.run import (
    DEFAULT_RUNS,
    FINAL_EVAL_EPISODES,
    REPO,
    Job,
    display_path,
    run_jobs,
    train_command,
    write_json,
    zoo_budget,
)
from zoo.config import HYPERPARAMS_DIR, ConfigError, load_experiment, read_file
from zoo.tune import best_entry, counted_trials, default_study_name, seed_number, trial_seeds

TUNING_DIR = DEFAULT_RUNS / "tuning"
TUNED_RESULTS = REPO / "benchmarks" / "results_tuned"
#: Folder of the search summaries inside the tuned results.
SEARCHES = "searches"
TUNED_ENTRIES = HYPERPARAMS_DIR / "tuned"
#: Seeds a setting must meet the threshold on, none of them a tuning seed.
VALIDATION_SEEDS = (0, 1, 2, 3, 4)
#: Trials listed in a search summary, best first.
TOP_TRIALS = 5

ENTRIES_HEADER = """\
# Our tuned entries for benchmark rows whose RL Zoo entry (zoo/hyperparams/{algo}.yml, kept as published) falls
# short of the published score. Each was found by an Optuna search and met the row's threshold on 5 seeds the
# search never used; the comment above it says where it came from. Written by
# `python -m benchmarks.tuned validate ... --accept` (zoo/hyperparams/tuned/README.md). Train with:
#   python -m zoo.train --algo {algo} --env <env> -conf zoo/hyperparams/tuned/{algo}.yml
"""


class TuningError(ValueError):
    """A bad input or a missing file; the message names it and says what would be right."""


def seeds_tag(n_seeds: int) -> str:
    """The tag of a search of `n_seeds` seeds per trial: none for one, else `<n>seeds`, the suffix of the study's
    name and the prefix of its validations' folders, so that its files never meet the one-seed study's."""
    return "" if n_seeds == 1 else f"{n_seeds}seeds"


def search_tag(n_timesteps: int | None, n_seeds: int) -> str:
    """The tag of a search: `<B>steps` for a search at a shorter budget B than the published one (`n_timesteps`;
    None: the published budget), then `<N>seeds` for N > 1 seeds per trial, joined by `-` (`50000steps-3seeds`);
    empty for the published budget and one seed. It ends the study's name and starts its validations' folders."""
    return "-".join(tag for tag in ("" if n_timesteps is None else f"{n_timesteps}steps", seeds_tag(n_seeds)) if tag)


@dataclass(frozen=True)
class SearchSpec:
    """How a row's search is run: `zoo.train -optimize` with these settings (defaults: the searches the report
    counts). Trial k trains with seeds `seed + k * trial_seeds + i` for i < `trial_seeds` (`zoo.tune.trial_seeds`;
    one seed, `seed + k`, by default) and evaluates each on that seed + 1000; its score is the mean over its seeds
    of their last evaluation."""

    n_trials: int = 30
    sampler: str = "tpe"
    pruner: str = "median"
    seed: int = 1000
    eval_episodes: int = 10
    # steps per trial and seed, below the published budget; None: the entry's (the published budget). Set, the
    # study's name ends in -<B>steps and its candidates train (and are validated at) B steps
    n_timesteps: int | None = None
    n_evaluations: int | None = None  # per trial and seed; None: zoo.tune's default
    trial_seeds: int = 1  # seeds each trial trains on; above 1 the study's name ends in -<N>seeds

    def __post_init__(self) -> None:
        if self.trial_seeds < 1:
            raise TuningError(f"trial_seeds must be at least 1 (seeds each trial trains on), got {self.trial_seeds}")
        if self.n_timesteps is not None and self.n_timesteps < 1:
            raise TuningError(f"n_timesteps must be at least 1 (steps per trial of the search), got {self.n_timesteps}")

    @property
    def tag(self) -> str:
        """The search's tag (`search_tag`): empty for the published budget and one seed per trial."""
        return search_tag(self.n_timesteps, self.trial_seeds)

    def study_name(self, row: Row) -> str:
        """`<algo>-<env>`, with `-<B>steps` after it for a search at a shorter budget B, then `-<N>seeds` when each
        trial trains on N > 1 seeds."""
        name = default_study_name(row.algo, row.env)
        return f"{name}-{self.tag}" if self.tag else name

    def seeds(self, number: int) -> list[int]:
        """The seeds trial `number` trains with (zoo.tune's rule)."""
        return [int(seed) for seed in trial_seeds(self.seed, number, self.trial_seeds) if seed is not None]

    def storage_path(self, row: Row, tuning_dir: pathlib.Path = TUNING_DIR) -> pathlib.Path:
        return pathlib.Path(tuning_dir) / f"{self.study_name(row)}.db"

    def log_path(self, row: Row, tuning_dir: pathlib.Path = TUNING_DIR) -> pathlib.Path:
        return pathlib.Path(tuning_dir) / self.study_name(row)

    def command(self, row: Row, tuning_dir: pathlib.Path = TUNING_DIR, python: str = "python") -> list[str]:
        """The search, run from the repository root (paths inside it are written relative to it)."""
        storage = f"sqlite:///{display_path(self.storage_path(row, tuning_dir))}"
        command = [python, "-m", "zoo.train", "--algo", row.algo, "--env", row.env]
        if self.n_timesteps is not None:
            command += ["-n", str(self.n_timesteps)]
        # --max-total-trials: run again after a stop (or beside a running one), the command goes on to n_trials in all
        command += ["-optimize", "--n-trials", str(self.n_trials), "--max-total-trials", str(self.n_trials)]
        command += ["--sampler", self.sampler, "--pruner", self.pruner]
        if self.n_evaluations is not None:
            command += ["--n-evaluations", str(self.n_evaluations)]
        command += ["--seed", str(self.seed)]
        if self.trial_seeds > 1:
            command += ["--trial-seeds", str(self.trial_seeds)]
        command += ["--storage", storage, "--study-name", self.study_name(row)]
        command += ["--optimization-log-path", display_path(self.log_path(row, tuning_dir)), "--num-threads", "1"]
        return [*command, "--eval-episodes", str(self.eval_episodes), "--no-optim-plots"]

    def budget(self, row: Row) -> int:
        """Steps per trial: `n_timesteps`, else the RL Zoo entry's."""
        return self.published_budget(row) if self.n_timesteps is None else self.n_timesteps

    def published_budget(self, row: Row) -> int:
        """The RL Zoo entry's `n_timesteps` for the row: the budget of a search without `n_timesteps`."""
        budget = zoo_budget(row.algo, row.env)
        if isinstance(budget, str):
            raise TuningError(f"{row.key}: {budget}")
        return budget

    def check_budget(self, row: Row) -> None:
        """Refuse an `n_timesteps` that is not below the row's published budget: the published budget is the
        study without the flag (one name per search), and a longer one would claim less than the published entry."""
        if self.n_timesteps is None:
            return
        published = self.published_budget(row)
        if self.n_timesteps == published:
            raise TuningError(
                f"--n-timesteps {self.n_timesteps} is the published budget of {row.key} (its entry's n_timesteps): "
                f"leave the flag out to search at it (study {replace(self, n_timesteps=None).study_name(row)!r})"
            )
        if self.n_timesteps > published:
            raise TuningError(
                f"--n-timesteps {self.n_timesteps} is above the published budget of {row.key} ({published} steps): "
                "a search at another budget must be shorter than the published one; leave the flag out to search at "
                "the published budget"
            )


# ---------------------------------------------------------------- reading a search


def load_study(row: Row, spec: SearchSpec, tuning_dir: pathlib.Path = TUNING_DIR) -> Any:
    """The row's Optuna study, read from its SQLite file (never created here)."""
    path = spec.storage_path(row, tuning_dir)
    if not path.is_file():
        command = shlex.join(spec.command(row, tuning_dir))
        raise TuningError(f"no search for {row.key}: {display_path(path)} does not exist (run the search: {command})")
    try:
        import optuna
        import sqlalchemy.exc
    except ImportError:
        raise TuningError("reading a search needs Optuna: pip install 'baselines3[zoo]'") from None
    spec.check_budget(row)
    name = spec.study_name(row)
    try:
        # a running search writes to the file: wait for its lock instead of failing at once
        storage = optuna.storages.RDBStorage(
            f"sqlite:///{path.resolve()}", engine_kwargs={"connect_args": {"timeout": 60}}
        )
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = optuna.study.get_all_study_names(storage)
        raise TuningError(
            f"{display_path(path)} holds no study {name!r} (it holds: {', '.join(names) or 'none'})"
        ) from None
    except (sqlalchemy.exc.SQLAlchemyError, ValueError) as error:
        raise TuningError(f"{display_path(path)} cannot be read as an Optuna study: {error}") from None
    # the seeds of each trial follow from the number of seeds per trial: a study run with another number would be
    # summarized and validated with the wrong seeds (zoo.tune records it; studies from before it did: one seed)
    recorded = study.user_attrs.get("search")
    ran_with = int(recorded.get("trial_seeds", 1)) if isinstance(recorded, dict) else spec.trial_seeds
    if ran_with != spec.trial_seeds:
        raise TuningError(
            f"study {name!r} in {display_path(path)} trained each trial on {ran_with} seed(s), not "
            f"{spec.trial_seeds}: pass --trial-seeds {ran_with}"
        )
    # the budget decides the candidate's n_timesteps and the validation's: a study of another budget would be
    # validated at the wrong one (recorded by zoo.tune since it records its settings)
    steps = recorded.get("n_timesteps") if isinstance(recorded, dict) else None
    if steps is not None and int(steps) != spec.budget(row):
        published = spec.published_budget(row)
        flag = "leave out --n-timesteps" if int(steps) == published else f"pass --n-timesteps {int(steps)}"
        raise TuningError(
            f"study {name!r} in {display_path(path)} trained each trial for {int(steps):,} steps, not "
            f"{spec.budget(row):,} (the published budget is {published:,}): {flag}"
        )
    return study


def _state(trial: Any) -> str:
    return str(trial.state.name).lower()


def _trial_record(trial: Any, spec: SearchSpec) -> dict[str, Any]:
    """A trial's figures. `evaluations`: every evaluation as reported to the pruner, seed after seed; with several
    seeds per trial, `seeds` and `seed_values` (each seed's last evaluation; the trial's value is their mean)."""
    params = trial.user_attrs.get("zoo_params")
    seeds = spec.seeds(seed_number(trial))
    record: dict[str, Any] = {"number": trial.number, "value": float(trial.value)}
    if spec.trial_seeds == 1:
        record["seed"] = seeds[0]
    else:
        values = trial.user_attrs.get("seed_values")
        record["seeds"] = seeds
        record["seed_values"] = [float(value) for value in values] if isinstance(values, list) else None
    record["evaluations"] = [float(trial.intermediate_values[step]) for step in sorted(trial.intermediate_values)]
    record["params"] = params if isinstance(params, dict) else dict(trial.params)
    return record


def evaluation_steps(log_path: pathlib.Path, number: int, seed: int | None = None) -> list[int] | None:
    """The steps at which trial `number` was evaluated, from its folder (None without one); `seed`: the seed whose
    run to read, in a search of several seeds per trial (zoo.tune writes each seed's files to `seed_<seed>/`)."""
    folder = pathlib.Path(log_path) / f"trial_{number}"
    path = (folder if seed is None else folder / f"seed_{seed}") / "evaluations.npz"
    if not path.is_file():
        return None
    with np.load(path) as data:
        return [int(step) for step in data["timesteps"]]


def _searched(summary: dict[str, Any]) -> int:
    """Trials of a search summary that ended (complete, pruned or failed; not running)."""
    trials = summary["trials"]
    return int(trials["complete"]) + int(trials["pruned"]) + int(trials["failed"])


def summarize_search(row: Row, study: Any, spec: SearchSpec, tuning_dir: pathlib.Path = TUNING_DIR) -> dict[str, Any]:
    """The search's figures: settings, trial counts by state, steps per trial, seeds, the best trials."""
    every_trial = study.get_trials(deepcopy=False)
    # a trial whose process died and was queued again counts once, as its rerun
    trials = sorted(counted_trials(every_trial), key=lambda trial: trial.number)
    states = Counter(_state(trial) for trial in trials)
    complete = sorted((t for t in trials if _state(t) == "complete"), key=lambda t: (-float(t.value), t.number))
    threshold = row.threshold
    errors = Counter(str(t.user_attrs.get("error", "no error recorded"))[:300] for t in trials if _state(t) == "fail")
    top = [_trial_record(trial, spec) for trial in complete[:TOP_TRIALS]]
    reached = [t.number for t in complete if threshold is not None and t.value >= threshold]
    return {
        "schema": 1,
        "row": row.key,
        "algo": row.algo,
        "env": row.env,
        "published": row.published,
        "threshold": None if threshold is None else round(threshold, 6),
        "study": spec.study_name(row),
        "storage": display_path(spec.storage_path(row, tuning_dir)),
        "command": shlex.join(spec.command(row, tuning_dir)),
        "sampler": spec.sampler,
        "pruner": spec.pruner,
        "n_trials_asked": spec.n_trials,
        "trials": {
            "total": len(trials),
            "complete": states["complete"],
            "pruned": states["pruned"],
            "failed": states["fail"],
            "running": states["running"] + states["waiting"],
            "rerun": len(every_trial) - len(trials),
        },
        "steps_per_trial": spec.budget(row),
        # the entry's n_timesteps: steps_per_trial below it is a search at a shorter budget, whose candidates train
        # (and are validated at) steps_per_trial
        "published_budget": spec.published_budget(row),
        "evaluation_steps": _evaluation_steps(row, spec, tuning_dir, complete[0]) if complete else None,
        "eval_episodes": spec.eval_episodes,
        "objective": _objective(spec),
        # every seed a trial trained with (trial k: seeds_per_trial of them from seed + k * seeds_per_trial)
        "seeds_per_trial": spec.trial_seeds,
        "trial_seeds": [seed for trial in trials for seed in spec.seeds(seed_number(trial))],
        "best": {"number": top[0]["number"], "value": top[0]["value"]} if top else None,
        "top_trials": top,
        "at_or_above_threshold": reached,
        "finding": _finding(
            reached, top, states["running"] + states["waiting"], threshold, len(trials), spec.n_trials, spec.trial_seeds
        ),
        "complete_values": [[t.number, float(t.value)] for t in sorted(complete, key=lambda t: t.number)],
        "failures": dict(errors),
        # what the searching processes recorded themselves (zoo.tune keeps it with the study; None for older ones)
        "recorded_settings": study.user_attrs.get("search"),
    }


def _evaluation_steps(row: Row, spec: SearchSpec, tuning_dir: pathlib.Path, trial: Any) -> list[int] | None:
    """The steps at which `trial` evaluated (its first seed's, with several: each seed evaluates alike)."""
    seed = None if spec.trial_seeds == 1 else spec.seeds(seed_number(trial))[0]
    return evaluation_steps(spec.log_path(row, tuning_dir), trial.number, seed)


def _objective(spec: SearchSpec) -> str:
    episodes = f"{spec.eval_episodes} deterministic episodes"
    if spec.trial_seeds == 1:
        return f"mean return of the trial's last evaluation ({episodes})"
    return f"mean over {spec.trial_seeds} seeds of the mean return of each seed's last evaluation ({episodes} each)"


def _finding(
    reached: list[int],
    top: list[dict[str, Any]],
    running: int,
    threshold: float | None,
    ended: int,
    asked: int,
    n_seeds: int = 1,
) -> str:
    """What the search found, in a sentence (`ended` of the `asked` trials ended: complete, pruned or failed;
    `n_seeds`: seeds per trial)."""
    if running:
        return f"search still running ({running} trial(s) not finished): summarize again when it has ended"
    if not reached and ended < asked:  # a stopped search has not shown that nothing works
        return (
            f"search stopped after {ended} of {asked} trials, none at the threshold yet: run its command again to go on"
        )
    if not top:
        return "no trial completed: no setting to validate"
    if threshold is None:
        return "the row has no threshold (no random score)"
    if not reached:
        best = top[0]
        return (
            f"no trial reached the threshold {threshold:.1f} (best: trial {best['number']}, {best['value']:.1f}): "
            "no setting found meets the threshold"
        )
    return (
        f"trial(s) {', '.join(map(str, reached))} reached the threshold {threshold:.1f} at their last evaluation "
        f"({'one seed' if n_seeds == 1 else f'mean over {n_seeds} seeds'}): a setting counts only once it meets it "
        "on fresh seeds (validate)"
    )


def search_summary_path(
    row: Row, results: pathlib.Path = TUNED_RESULTS, spec: SearchSpec | None = None
) -> pathlib.Path:
    """`<results>/searches/<study name>.json`: one file per study, so a row's searches keep their own figures."""
    return pathlib.Path(results) / SEARCHES / f"{(spec or SearchSpec()).study_name(row)}.json"


# ---------------------------------------------------------------- a trial as an entry


def trial_of(study: Any, number: int) -> Any:
    """Trial `number` of `study`, which must have completed and hold the zoo's values."""
    trials = {trial.number: trial for trial in study.get_trials(deepcopy=False)}
    if number not in trials:
        span = f"0-{max(trials)}" if trials else "none"
        raise TuningError(f"study {study.study_name!r} has no trial {number} (its trials: {span})")
    trial = trials[number]
    if _state(trial) != "complete":
        raise TuningError(
            f"trial {number} of study {study.study_name!r} is {_state(trial)}, not complete: only a trial that "
            "trained its whole budget has settings to validate"
        )
    if not isinstance(trial.user_attrs.get("zoo_params"), dict):
        raise TuningError(f"trial {number} of study {study.study_name!r} holds no zoo values (not run by zoo.train)")
    return trial


def candidate_entry(row: Row, trial: Any, n_timesteps: int | None = None) -> dict[str, Any]:
    """The RL Zoo entry with the trial's values on top, as `zoo.tune` writes its best trial; `n_timesteps`: the
    budget of a search at a shorter budget than the published one, which becomes the entry's (None: the
    published entry's)."""
    try:
        published = load_experiment(row.algo, row.env, use_default=False)
    except ConfigError as error:
        raise TuningError(f"{row.key}: {error}") from None
    entry = best_entry(published, dict(trial.user_attrs["zoo_params"]))
    if n_timesteps is not None:
        entry["n_timesteps"] = n_timesteps  # the settings were found at this budget, so they are judged at it
    return entry


def _seeds_text(seeds: list[int]) -> str:
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return " ".join(map(str, seeds)) or "none"


def search_origin(row: Row, study: Any, trial: Any, spec: SearchSpec) -> str:
    """Where a trial's settings come from, in one sentence."""
    trials = counted_trials(study.get_trials(deepcopy=False))
    states = Counter(_state(t) for t in trials)
    searched = _seeds_text([seed for t in trials for seed in spec.seeds(seed_number(t))])
    text = (
        f"trial {trial.number} of study {spec.study_name(row)!r}: Optuna search of {len(trials)} trials "
        f"({states['complete']} complete, {states['pruned']} pruned, {states['fail']} failed) of "
        f"{spec.budget(row):,} steps each, {spec.sampler} sampler, {spec.pruner} pruner, "
    )
    seeds = spec.seeds(seed_number(trial))
    if spec.trial_seeds == 1:
        return (
            f"{text}trial seeds {searched}; this trial (seed {seeds[0]}) scored {float(trial.value):.1f} at its last "
            f"evaluation ({spec.eval_episodes} episodes)"
        )
    values = trial.user_attrs.get("seed_values")
    each = f"{', '.join(f'{float(v):.1f}' for v in values)}; " if isinstance(values, list) else ""
    return (
        f"{text}{spec.trial_seeds} seeds per trial (trial seeds {searched}); this trial (seeds {_seeds_text(seeds)}) "
        f"scored {float(trial.value):.1f}, the mean over its seeds of their last evaluation ({each}"
        f"{spec.eval_episodes} episodes each)"
    )


def _comment(text: str, width: int = 116) -> list[str]:
    """`text` as YAML comment lines of at most about `width` characters."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width - 2:
            lines.append(f"# {line}")
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, f"# {line}"] if line else lines


def candidate_path(
    row: Row, number: int, tuning_dir: pathlib.Path = TUNING_DIR, spec: SearchSpec | None = None
) -> pathlib.Path:
    """`<tuning_dir>/<study name>-trial<number>.yml` (`spec`: the search, one seed per trial by default)."""
    return pathlib.Path(tuning_dir) / f"{(spec or SearchSpec()).study_name(row)}-trial{number}.yml"


def write_candidate(
    row: Row, study: Any, number: int, spec: SearchSpec, tuning_dir: pathlib.Path = TUNING_DIR
) -> tuple[pathlib.Path, dict[str, Any]]:
    """Write trial `number`'s entry as a conf file for `zoo.train -conf`; (its path, the entry)."""
    trial = trial_of(study, number)
    entry = candidate_entry(row, trial, spec.n_timesteps)
    origin = search_origin(row, study, trial, spec)
    text = "\n".join(
        [
            *_comment(f"Candidate for {row.key} (not validated): {origin}."),
            *_comment(f"The RL Zoo entry of zoo/hyperparams/{row.algo}.yml with the trial's values on top."),
            *_comment(_budget_note(row, spec, validated=False)),
            yaml.safe_dump({row.env: entry}, sort_keys=False),
        ]
    )
    path = candidate_path(row, number, tuning_dir, spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    load_experiment(row.algo, row.env, path, use_default=False)  # the zoo reads it back
    return path, entry


def _budget_note(row: Row, spec: SearchSpec, validated: bool) -> str:
    """For a search at a shorter budget: a sentence saying that the entry's n_timesteps is the search's budget,
    at which the settings were found and are (`validated`: were) validated; empty for the published budget."""
    if spec.n_timesteps is None:
        return ""
    steps, published = f"{spec.n_timesteps:,} steps", f"{spec.published_budget(row):,}"
    if validated:
        return f"n_timesteps is the search's budget: found and validated at {steps} (published budget {published})."
    return (
        f"n_timesteps is the search's budget: found at {steps} per trial (published budget {published}), the "
        f"settings are validated at {steps}."
    )


def find(key: str) -> Row:
    try:
        return find_row(key)
    except ValueError as error:
        raise TuningError(f"--row: {error}") from None


# ---------------------------------------------------------------- validating on fresh seeds


#: A validation folder's name: `trial<N>` (a trial of the one-seed search at the published budget), else the search's
#: tag before it: `<B>steps-trial<N>`, `<K>seeds-trial<N>` or `<B>steps-<K>seeds-trial<N>`.
TRIAL_FOLDER = re.compile(r"(?:([0-9]+)steps-)?(?:([0-9]+)seeds-)?trial([0-9]+)")


def trial_folder_name(number: int, n_seeds: int = 1, n_timesteps: int | None = None) -> str:
    """`trial<number>`, or `<tag>-trial<number>` for a trial of a search of n > 1 seeds per trial or of a shorter
    budget `n_timesteps` (`search_tag`; each search's trial numbers start at 0)."""
    tag = search_tag(n_timesteps, n_seeds)
    return f"{tag}-trial{number}" if tag else f"trial{number}"


def tuned_result_path(
    results: pathlib.Path, row: Row, number: int, seed: int, n_seeds: int = 1, n_timesteps: int | None = None
) -> pathlib.Path:
    """Where the validation run of trial `number` (of the search of `n_seeds` seeds per trial, at the shorter
    budget `n_timesteps` or, with None, the published one) on `seed` goes."""
    folder = pathlib.Path(results) / row.algo / row.env.replace("/", "-")
    return folder / trial_folder_name(number, n_seeds, n_timesteps) / f"seed{seed}.json"


def check_seeds(seeds: list[int], spec: SearchSpec, accept: bool) -> list[int]:
    """The validation seeds, once each: 0 or more, below every tuning seed, and at least 5 to accept."""
    seeds = list(dict.fromkeys(seeds))
    if not seeds:
        raise TuningError("--seeds: give the validation seeds, e.g. --seeds 0 1 2 3 4")
    first = min(spec.seeds(0))  # the lowest seed of the search (trial 0's first); later trials' are higher
    bad = [seed for seed in seeds if seed < 0 or seed >= first]
    if bad:
        if spec.trial_seeds == 1:
            rule = f"trial k with seed {spec.seed} + k (and evaluates on {spec.seed + 1000} + k)"
        else:
            n = spec.trial_seeds
            rule = (
                f"trial k with seeds {spec.seed} + {n}k to {spec.seed} + {n}k + {n - 1} (and evaluates on each "
                "seed + 1000)"
            )
        raise TuningError(
            f"--seeds {bad}: validation seeds must be 0 to {first - 1}; the search trains {rule}, so those seeds "
            "are not fresh"
        )
    if accept and len(seeds) < len(VALIDATION_SEEDS):
        raise TuningError(
            f"--accept needs at least {len(VALIDATION_SEEDS)} validation seeds, got {len(seeds)} ({seeds})"
        )
    return seeds


def _same_entry(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal once written as YAML and read back (1e5 and 100000.0 alike), `env_id` aside."""

    def plain(entry: dict[str, Any]) -> Any:
        return yaml.safe_load(yaml.safe_dump({k: v for k, v in entry.items() if k != "env_id"}))

    return bool(plain(a) == plain(b))


def validation_jobs(
    row: Row,
    number: int,
    seeds: list[int],
    entry: dict[str, Any],
    conf: pathlib.Path,
    results: pathlib.Path,
    spec: SearchSpec,
    smoke_timesteps: int | None = None,
) -> list[Job]:
    """One `benchmarks.run` job per seed, training with `-conf conf` for the search's budget: the published one, or
    the shorter `spec.n_timesteps` the candidate holds (`smoke_timesteps`: a smoke test's instead, never accepted).
    A result file already there must come from the same entry and budget; its seed is then done. The results go to
    the folder of the trial's search (`spec`: its budget and seeds per trial)."""
    steps = smoke_timesteps or spec.n_timesteps or row.budget
    entry_budget = load_experiment(row.algo, row.env, conf, use_default=False).n_timesteps
    jobs = []
    for seed in seeds:
        path = tuned_result_path(results, row, number, seed, spec.trial_seeds, spec.n_timesteps)
        job = Job(row, seed, steps, path, pass_budget=steps != entry_budget, conf_file=conf)
        if path.exists():
            done = json.loads(path.read_text())
            if int(done.get("n_timesteps", -1)) != steps or not _same_entry(done.get("hyperparams") or {}, entry):
                raise TuningError(
                    f"{display_path(path)} was trained with other settings or another budget than trial {number}'s "
                    f"entry at {steps:,} steps: move it aside to validate again"
                )
        jobs.append(job)
    return jobs


def read_finals(jobs: list[Job]) -> dict[int, float]:
    """{seed: final evaluation mean} of the jobs whose result file exists."""
    finals = {}
    for job in jobs:
        if job.result_path.exists():
            finals[job.seed] = float(json.loads(job.result_path.read_text())["final_eval"]["mean"])
    return finals


def verdict(finals: list[float], threshold: float | None, seeds_wanted: int = len(VALIDATION_SEEDS)) -> str:
    """The verdict on a trial's validation: "pass" when the mean over at least `seeds_wanted` seeds meets the
    threshold, "FAIL" when it does not, "incomplete" with fewer seeds, "n/a" without a threshold."""
    if threshold is None:
        return "n/a"
    if len(finals) < seeds_wanted:
        return "incomplete"
    return "pass" if float(np.mean(finals)) >= threshold else "FAIL"


# ---------------------------------------------------------------- our entries file


def read_entries(path: pathlib.Path) -> dict[str, tuple[list[str], dict[str, Any]]]:
    """{env: (comment lines above it, entry)} of a tuned-entries file ({} when there is none)."""
    if not pathlib.Path(path).exists():
        return {}
    entries = read_file(pathlib.Path(path))
    comments: dict[str, list[str]] = {}
    pending: list[str] = []
    for line in pathlib.Path(path).read_text().splitlines():
        if line.startswith("#"):
            pending.append(line)
        elif not line.strip():
            pending = []  # a blank line ends the file's header
        elif not line[0].isspace():
            comments[str(yaml.safe_load(line.split(":", 1)[0]))] = pending  # an env's line: `CartPole-v1:`
            pending = []
    return {str(env): (comments.get(str(env), []), dict(entry or {})) for env, entry in entries.items()}


def write_entries(path: pathlib.Path, algo: str, entries: dict[str, tuple[list[str], dict[str, Any]]]) -> None:
    parts = [ENTRIES_HEADER.format(algo=algo)]
    for env in sorted(entries):
        comments, entry = entries[env]
        parts.append("\n".join([*comments, yaml.safe_dump({env: entry}, sort_keys=False)]))
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(pathlib.Path(path), "\n".join(parts))


def accept_entry(
    row: Row, entry: dict[str, Any], provenance: list[str], entries_dir: pathlib.Path, force: bool = False
) -> bool:
    """Put `entry` into `<entries_dir>/<algo>.yml` under its provenance comment; False when that very entry is
    there already. A different entry for the env is replaced only with `force`."""
    path = pathlib.Path(entries_dir) / f"{row.algo}.yml"
    entries = read_entries(path)
    if row.env in entries:
        comments, existing = entries[row.env]
        if _same_entry(existing, entry):
            return False
        if not force:
            origin = " ".join(line.lstrip("# ") for line in comments[:2]) or "no comment"
            raise TuningError(
                f"{display_path(path)} already holds a different entry for {row.env} ({origin}); pass --force to "
                "replace it"
            )
    entries[row.env] = (provenance, entry)
    write_entries(path, row.algo, entries)
    load_experiment(row.algo, row.env, path, use_default=False)  # the zoo reads it back
    return True


# ---------------------------------------------------------------- the report's section


#: Which search of a row: (its shorter budget, None for the published one; seeds per trial).
SearchKey = tuple[int | None, int]


def _search_order(key: SearchKey) -> tuple[int, int]:
    """The published budget's searches first, then shorter budgets from the shortest; fewest seeds first."""
    return (key[0] or 0, key[1])


def load_tuned_results(results: pathlib.Path) -> dict[str, dict[tuple[int | None, int, int], list[dict[str, Any]]]]:
    """{row key: {(shorter budget of the search or None, seeds per trial of the search, trial): [result, ...]}}
    from `<results>/<algo>/<env>/trial<N>/seed<S>.json` (a trial of the one-seed search at the published budget)
    and `.../<tag>-trial<N>/...` (`trial_folder_name`), results of another budget than their search's (smoke
    tests) left out."""
    found: dict[str, dict[tuple[int | None, int, int], list[dict[str, Any]]]] = {}
    for path in sorted(pathlib.Path(results).glob("*/*/*trial*/seed*.json")):
        match = TRIAL_FOLDER.fullmatch(path.parent.name)
        if match is None or (match[1] is not None and int(match[1]) < 1) or int(match[2] or 2) < 2:
            continue  # not a folder this tool writes
        data = json.loads(path.read_text())
        missing = {"algo", "env", "seed", "n_timesteps", "final_eval"} - set(data)
        if missing:
            raise ValueError(f"{path} is not a benchmark result: missing {sorted(missing)}")
        key = f"{data['algo']}:{data['env']}"
        row = next((row for row in ROWS if row.key == key), None)
        steps = None if match[1] is None else int(match[1])
        if row is None or int(data["n_timesteps"]) != (steps or row.budget):
            continue
        trial = (steps, int(match[2] or 1), int(match[3]))
        found.setdefault(key, {}).setdefault(trial, []).append(data)
    return found


def summary_seeds(summary: dict[str, Any]) -> int:
    """Seeds per trial of a search summary (1 for summaries written before searches could have more)."""
    return int(summary.get("seeds_per_trial") or 1)


def summary_budget(summary: dict[str, Any]) -> int | None:
    """The shorter budget of a search summary's search; None for the published budget (and for summaries written
    before searches could have a shorter one)."""
    published, steps = summary.get("published_budget"), int(summary["steps_per_trial"])
    return None if published is None or steps == int(published) else steps


def summary_key(summary: dict[str, Any]) -> SearchKey:
    """Which search of its row a summary is: (shorter budget or None, seeds per trial)."""
    return summary_budget(summary), summary_seeds(summary)


def load_search_summaries(results: pathlib.Path) -> dict[str, list[dict[str, Any]]]:
    """{row key: [summary, ...]}: every search of a row (one file per study), the published budget's first, fewest
    seeds per trial first."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((pathlib.Path(results) / SEARCHES).glob("*.json")):
        data = json.loads(path.read_text())
        if "row" not in data or "trials" not in data:
            raise ValueError(f"{path} is not a search summary (python -m benchmarks.tuned search-summary writes one)")
        found.setdefault(str(data["row"]), []).append(data)
    return {key: sorted(summaries, key=lambda s: _search_order(summary_key(s))) for key, summaries in found.items()}


def _finals_text(pairs: list[tuple[int, float]]) -> str:
    pairs = sorted(pairs)
    mean = float(np.mean([final for _, final in pairs]))
    finals = ", ".join(f"{final:,.1f}" for _, final in pairs)
    return f"{mean:,.1f} (seeds {_seeds_text([seed for seed, _ in pairs])}: {finals})"


def _search_cell(summary: dict[str, Any]) -> str:
    counts, best, n_seeds = summary["trials"], summary.get("best"), summary_seeds(summary)
    steps = f"{int(summary['steps_per_trial']):,} steps"
    text = (
        f"{counts['total']} trials of {steps if n_seeds == 1 else f'{n_seeds} seeds x {steps}'} ({counts['complete']} "
        f"complete, {counts['pruned']} pruned, {counts['failed']} failed"
        + (f", {counts['running']} running" if counts.get("running") else "")
        + (f"; {counts['rerun']} more cut short and run again" if counts.get("rerun") else "")
        + ")"
        + (", one seed each" if n_seeds == 1 else ", scored by the mean over the seeds")
    )
    if summary_budget(summary) is not None:
        text += f", a shorter budget than the published {int(summary['published_budget']):,}"
    if best:
        reached = len(summary["at_or_above_threshold"])
        text += f"; best #{best['number']}: {best['value']:,.1f}; {reached} at or above the threshold"
    return text


def _search_label(key: SearchKey) -> str:
    """`one-seed search`, `3-seed search`, `50,000-step search`, `50,000-step 3-seed search`."""
    steps, n_seeds = key
    seeds = "one-seed" if n_seeds == 1 else f"{n_seeds}-seed"
    if steps is None:
        return f"{seeds} search"
    return f"{steps:,}-step search" if n_seeds == 1 else f"{steps:,}-step {seeds} search"


def _search_flags(key: SearchKey) -> str:
    """The tool's flags naming the search `key` (none for the published budget's one-seed search)."""
    steps, n_seeds = key
    return ("" if steps is None else f" --n-timesteps {steps}") + ("" if n_seeds == 1 else f" --trial-seeds {n_seeds}")


def _validate_command(row: Row, number: int, key: SearchKey = (None, 1)) -> str:
    return f"python -m benchmarks.tuned validate --row {row.key} --trial {number}{_search_flags(key)}"


#: The status of a row, or of one of its searches, when nothing is left to run and nothing met the threshold.
NOTHING_FOUND = "no setting found meets the threshold"


def _search_status(row: Row, summary: dict[str, Any], validated: bool) -> tuple[str, str | None]:
    """Where one search of a row stands: (status, the command still to run or None). `validated`: some trial of
    this search has validation results (none passed and none is incomplete)."""
    steps, n_seeds = key = summary_key(summary)
    # the search's own command goes on from its study, to the same total of trials
    go_on = shlex.join(SearchSpec(trial_seeds=n_seeds, n_timesteps=steps).command(row))
    if summary["trials"].get("running"):
        return "search running", go_on  # its trials may be running, or their process stopped
    asked = summary.get("n_trials_asked", 0)
    if not (validated or summary["at_or_above_threshold"]) and _searched(summary) < asked:
        # a stopped search has not shown that nothing works
        return f"search stopped after {_searched(summary)} of {asked} trials", go_on
    if validated or not summary["at_or_above_threshold"]:
        return NOTHING_FOUND, None
    command = _validate_command(row, summary["best"]["number"], key)
    return "validation not run yet", f"{command} --seeds {' '.join(map(str, VALIDATION_SEEDS))}"


def tuned_section(
    rl_zoo: dict[str, list[tuple[int, float]]],
    results: pathlib.Path = TUNED_RESULTS,
    entries_dir: pathlib.Path = TUNED_ENTRIES,
) -> list[str]:
    """The report's section on our tuned entries. `rl_zoo`: {row key: [(seed, final)]} of the RL Zoo entries'
    results; the section covers the rows among them below the threshold and any row with tuning files."""
    searches = load_search_summaries(results) if pathlib.Path(results).is_dir() else {}
    validations = load_tuned_results(results) if pathlib.Path(results).is_dir() else {}
    rows = []
    for row in ROWS:
        pairs = rl_zoo.get(row.key, [])
        failing = bool(pairs) and row.threshold is not None and np.mean([f for _, f in pairs]) < row.threshold
        if failing or row.key in searches or row.key in validations:
            rows.append(row)
    lines = [
        "## Our tuned entries (rows the RL Zoo entry does not pass)",
        "",
        "For each row whose RL Zoo entry falls short, an Optuna search (`zoo.train -optimize`, trial k trained with "
        "seed 1000 + k, or in a search of N seeds per trial with seeds 1000 + kN to 1000 + kN + N - 1 and scored by "
        "their mean) looks for other settings at the published budget, or where it says so at a shorter one; a "
        f"trial's settings are trained again for the search's budget on {len(VALIDATION_SEEDS)} seeds the search "
        f"never used ({_seeds_text(list(VALIDATION_SEEDS))}) by the same command and final evaluation as the table "
        "above, and become our entry in `zoo/hyperparams/tuned/<algo>.yml` only when their mean meets the threshold "
        "(an entry found at a shorter budget keeps it as its `n_timesteps`). The RL Zoo entry stays as published. "
        "*Search*: each search of the row, with its trials, steps per trial and seeds per trial, the best trial's "
        "score and how many trials reached the threshold with it (a pointer only). Workflow: [Tuning the failing "
        f"rows](tuning_rows.md); figures of each search: `benchmarks/results_tuned/{SEARCHES}/<study>.json`.",
        "",
    ]
    if not rows:
        return [*lines, "Every row run meets the published score with the RL Zoo entry.", ""]
    lines += [
        "| row | threshold | RL Zoo entry: mean (finals) | search | tuned entry on fresh seeds: mean (finals) "
        "| verdict |",
        "|---|---:|---|---|---|---|",
    ]
    todo = []
    for row in rows:
        summaries, trials = searches.get(row.key, []), validations.get(row.key, {})
        accepted = read_entries(pathlib.Path(entries_dir) / f"{row.algo}.yml").get(row.env)
        cells, status, incomplete = [], "", False
        for (steps, n_seeds, number), found in sorted(trials.items(), key=lambda t: (_search_order(t[0][:2]), t[0])):
            key: SearchKey = (steps, n_seeds)
            pairs = [(int(r["seed"]), float(r["final_eval"]["mean"])) for r in found]
            judged = verdict([final for _, final in pairs], row.threshold)
            is_ours = accepted is not None and _same_entry(accepted[1], found[0].get("hyperparams") or {})
            label = f"trial {number}" + ("" if key == (None, 1) else f" ({_search_label(key)})")
            # a shorter search's trial is validated at its budget, not the table's: the cell says which
            at = "" if steps is None else f" at {steps:,} steps (published: {row.budget:,})"
            cells.append(f"{label}: {_finals_text(pairs)}{at}, {judged}" + (", accepted" if is_ours else ""))
            which = f"trial {number}" + ("" if key == (None, 1) else f" of the {_search_label(key)}")
            command = _validate_command(row, number, key)
            if judged == "pass" and is_ours and not status:
                status = f"**pass**: `zoo/hyperparams/tuned/{row.algo}.yml` ({which})"
            elif judged == "pass" and not status:
                status = f"**pass** ({which}), not accepted yet"
                todo.append(f"- {row.key}: `{command} --seeds {_seeds_text(list(VALIDATION_SEEDS))} --accept`")
            elif judged == "incomplete":
                incomplete = True
                todo.append(f"- {row.key}: `{command} --seeds {' '.join(map(str, VALIDATION_SEEDS))}`")
        if status:
            pass
        elif not summaries:
            status = "search not run yet"
            todo.append(f"- {row.key}: `{shlex.join(SearchSpec().command(row))}`")
        elif incomplete:
            status = "validation running"
        else:
            validated = {(steps, n_seeds) for steps, n_seeds, _ in trials}
            states = []
            for summary in summaries:
                state, to_run = _search_status(row, summary, summary_key(summary) in validated)
                states.append((state, summary_key(summary)))
                if to_run:
                    todo.append(f"- {row.key}: `{to_run}`")
            open_states = [(state, key) for state, key in states if state != NOTHING_FOUND]
            if not open_states:
                status = NOTHING_FOUND
            elif len(summaries) == 1 and open_states[0][1] == (None, 1):
                status = open_states[0][0]  # the row's one search, as published: nothing to tell apart
            else:
                status = "; ".join(f"{state} ({_search_label(key)})" for state, key in open_states)
            if not open_states and all(summary_budget(summary) is not None for summary in summaries):
                # what a shorter budget did not find says little about the published one, which is still owed
                found_nothing = "; ".join(f"{NOTHING_FOUND} ({_search_label(key)})" for _, key in states)
                status = f"{found_nothing}; search at the published budget not run yet"
                todo.append(f"- {row.key}: `{shlex.join(SearchSpec().command(row))}`")
        zoo_cell = _finals_text(rl_zoo[row.key]) if rl_zoo.get(row.key) else "not run"
        threshold = "undefined" if row.threshold is None else f"{row.threshold:,.1f}"
        search_cell = "<br>".join(_search_cell(summary) for summary in summaries) or "-"
        lines.append(
            f"| {row.key} | {threshold} | {zoo_cell} | {search_cell} | {'<br>'.join(cells) or '-'} | {status} |"
        )
    lines.append("")
    if todo:
        lines += ["Still to run:", "", *todo, ""]
    return lines


# ---------------------------------------------------------------- command line


def _validate(args: argparse.Namespace, row: Row, spec: SearchSpec) -> int:
    seeds = check_seeds(args.seeds, spec, args.accept)
    if args.accept and args.smoke_timesteps is not None:
        raise TuningError("--accept judges runs of the search's budget: leave out --smoke-timesteps")
    study = load_study(row, spec, args.tuning_dir)
    conf, entry = write_candidate(row, study, args.trial, spec, args.tuning_dir)
    jobs = validation_jobs(row, args.trial, seeds, entry, conf, args.results, spec, args.smoke_timesteps)
    todo = [job for job in jobs if not job.result_path.exists()]
    runs = pathlib.Path(args.runs_folder) / f"{spec.study_name(row)}-trial{args.trial}"
    print(f"trial {args.trial} of {row.key} ({display_path(conf)}): {len(todo)} of {len(jobs)} seed(s) to train")
    if args.dry_run:
        for job in todo:
            print(shlex.join(train_command(job, runs)))
        return 0
    _, failures = run_jobs(todo, runs, args.eval_episodes, args.jobs)
    if failures:
        print(f"error: {len(failures)} run(s) failed (no result written; run again to retry)", file=sys.stderr)
        return 1
    finals = read_finals(jobs)
    judged = verdict(list(finals.values()), row.threshold, max(len(VALIDATION_SEEDS), len(seeds)))
    mean = float(np.mean(list(finals.values())))
    threshold = "undefined" if row.threshold is None else f"{row.threshold:.1f}"
    for seed, final in sorted(finals.items()):
        print(f"  seed {seed}: final {final:.1f}")
    which = f"trial {args.trial}" + (f" of {spec.study_name(row)}" if spec.tag else "")
    steps = jobs[0].n_timesteps
    print(f"{row.key} {which}: mean {mean:.1f} over seeds {_seeds_text(list(finals))} at {steps:,} steps, "
          f"threshold {threshold}: {judged}")  # fmt: skip
    if not args.accept:
        return 0
    if judged != "pass" or args.smoke_timesteps is not None:
        print(f"error: not accepted: the mean {mean:.1f} does not meet the threshold {threshold}", file=sys.stderr)
        return 1
    origin = search_origin(row, study, trial_of(study, args.trial), spec)
    provenance = _comment(
        f"{row.key}, {origin}. Validated on seeds {_seeds_text(seeds)}, which the search never used: mean final "
        f"evaluation {mean:.1f} ({', '.join(f'{f:.1f}' for _, f in sorted(finals.items()))}; "
        f"{args.eval_episodes} deterministic episodes each) >= threshold {threshold}. The RL Zoo entry of "
        f"zoo/hyperparams/{row.algo}.yml with the trial's values on top; results: "
        f"{display_path(jobs[0].result_path.parent)}/. {_budget_note(row, spec, validated=True)}"
    )
    path = pathlib.Path(args.entries) / f"{row.algo}.yml"
    if accept_entry(row, entry, provenance, args.entries, args.force):
        print(f"accepted: {display_path(path)} now holds trial {args.trial}'s entry for {row.env}")
    else:
        print(f"{display_path(path)} already holds this entry for {row.env}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tuned", description="Search, validate and accept our own entries for failing rows"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    helps = {
        "search-command": "print the Optuna search to run for a row",
        "search-summary": f"write a finished search's figures to <results>/{SEARCHES}/<study name>.json",
        "candidate": "write a trial's entry as a conf file for zoo.train -conf",
        "validate": "train a trial's entry on fresh seeds and judge it against the threshold (--accept: keep it)",
    }
    for name, text in helps.items():
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--row", required=True, metavar="ALGO:ENV", help="a benchmark row, e.g. dqn:CartPole-v1")
        sub.add_argument("--tuning-dir", type=pathlib.Path, default=TUNING_DIR, help="where the searches live")
        sub.add_argument("--results", type=pathlib.Path, default=TUNED_RESULTS, help="summaries and validations")
        sub.add_argument(
            "--trial-seeds",
            type=int,
            default=None,
            metavar="N",
            help="the search trains each trial on N seeds (zoo.train --trial-seeds N; its study is "
            "<algo>-<env>-<N>seeds); default: 1, the study <algo>-<env>",
        )
        sub.add_argument(
            "--n-timesteps",
            type=int,
            default=None,
            metavar="B",
            help="the search trains each trial for B steps, below the published budget (zoo.train -n B; its study "
            "is <algo>-<env>-<B>steps, before any -<N>seeds), and its candidates train B steps, validation included; "
            "default: the published budget (the entry's n_timesteps)",
        )
        if name in ("candidate", "validate"):
            sub.add_argument("--trial", type=int, required=True, help="the trial number in the row's study")
    validate = commands.choices["validate"]
    validate.add_argument("--seeds", nargs="+", type=int, default=list(VALIDATION_SEEDS))
    validate.add_argument("--jobs", type=int, default=1, help="runs at once")
    validate.add_argument("--eval-episodes", type=int, default=FINAL_EVAL_EPISODES, help="final evaluation")
    validate.add_argument("--runs-folder", type=pathlib.Path, default=DEFAULT_RUNS / "tuned", help="run folders")
    validate.add_argument("--entries", type=pathlib.Path, default=TUNED_ENTRIES, help="our entries' folder")
    validate.add_argument("--accept", action="store_true", help="keep the entry when it meets the threshold")
    validate.add_argument("--force", action="store_true", help="with --accept: replace a different entry")
    validate.add_argument("--dry-run", action="store_true", help="print the training commands, run nothing")
    validate.add_argument(
        "--smoke-timesteps",
        type=int,
        default=None,
        metavar="STEPS",
        help="train this many steps instead of the search's budget: a smoke test of the validation (never accepted)",
    )
    args = parser.parse_args(argv)
    if getattr(args, "trial", 0) < 0:
        parser.error(f"--trial must be 0 or more, got {args.trial}")
    if args.trial_seeds is not None and args.trial_seeds < 1:
        parser.error(
            f"--trial-seeds must be at least 1 (seeds each trial of the search trained on), got {args.trial_seeds}"
        )
    if args.n_timesteps is not None and args.n_timesteps < 1:
        parser.error(f"--n-timesteps must be at least 1 (steps per trial of the search), got {args.n_timesteps}")
    if args.command == "validate":
        for flag, value in (("--jobs", args.jobs), ("--eval-episodes", args.eval_episodes)):
            if value < 1:
                parser.error(f"{flag} must be at least 1, got {value}")
        if args.smoke_timesteps is not None and args.smoke_timesteps < 1:
            parser.error(f"--smoke-timesteps must be at least 1, got {args.smoke_timesteps}")
        if args.force and not args.accept:
            parser.error("--force replaces an accepted entry: it goes with --accept")
    return args


def main(argv: list[str] | None = None, spec: SearchSpec | None = None) -> int:
    """The command line; `spec` is how the searches were run (default: `SearchSpec()`, the searches counted), its
    seeds per trial replaced by `--trial-seeds` and its budget by `--n-timesteps` when given."""
    args = parse_args(argv)
    spec = spec or SearchSpec()
    if args.trial_seeds is not None:
        spec = replace(spec, trial_seeds=args.trial_seeds)
    if args.n_timesteps is not None:
        spec = replace(spec, n_timesteps=args.n_timesteps)
    try:
        row = find(args.row)
        spec.check_budget(row)
        if args.command == "search-command":
            print(shlex.join(spec.command(row, args.tuning_dir)))
            return 0
        if args.command == "validate":
            return _validate(args, row, spec)
        study = load_study(row, spec, args.tuning_dir)
        if args.command == "search-summary":
            summary = summarize_search(row, study, spec, args.tuning_dir)
            path = search_summary_path(row, args.results, spec)
            write_json(path, summary)
            counts, best = summary["trials"], summary["best"]
            best_text = f"best trial #{best['number']}: {best['value']:.1f}" if best else "no trial completed"
            print(
                f"{display_path(path)}: {counts['total']} trials ({counts['complete']} complete, {counts['pruned']} "
                f"pruned, {counts['failed']} failed, {counts['running']} running), {best_text}; "
                f"{len(summary['at_or_above_threshold'])} at or above the threshold {summary['threshold']}"
            )
            return 0
        path, _ = write_candidate(row, study, args.trial, spec, args.tuning_dir)
        print(f"wrote {display_path(path)}; validate it on fresh seeds with:")
        command = _validate_command(row, args.trial, (spec.n_timesteps, spec.trial_seeds))
        print(f"{command} --seeds {' '.join(map(str, VALIDATION_SEEDS))} --jobs 1")
        return 0
    except (TuningError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

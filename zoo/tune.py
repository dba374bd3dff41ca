"""Hyperparameter tuning for `python -m zoo.train ... -optimize` with Optuna.

    python -m zoo.train --algo ppo --env CartPole-v1 -n 50000 -optimize --n-trials 100
    python -m zoo.train --algo ppo --env CartPole-v1 -n 50000 -optimize --n-trials 50 \\
        --storage sqlite:///tuning.db --study-name ppo-cartpole      # in several processes or machines at once

Each trial draws hyperparameters from `zoo.search_spaces`, applies them on top of the entry (and `-params`),
trains for the per-trial budget (`-n`, else the entry's n_timesteps) and evaluates `--n-evaluations` times
evenly over it; every evaluation is reported to Optuna, which may stop (prune) the trial there. A trial that
crashes is recorded as failed and the study goes on. In a database storage, a trial whose process died (a stopped
machine, a kill) is marked failed by the next process that starts a trial and queued to run again with the same
settings and seeds; with `--optimization-log-path` it goes on from the checkpoint the dead trial saved after its
last evaluation. Trials write no run folders unless `--optimization-log-path` names a folder for them; the results
are `trials.csv`, `best_hyperparams.yml` (an entry ready for `zoo/hyperparams/<algo>.yml`) and Optuna's plots as
PNGs (with matplotlib; `--no-optim-plots` skips them) in `<log-folder>/<algo>/<env>_optimize_<study name>/`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import pathlib
import random
import re
import shutil
import socket
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import yaml

from baselines3 import HerReplayBuffer
from baselines3.common.callbacks import EvalCallback
from baselines3.common.save_util import atomic_write_text
from baselines3.common.vec_env import VecEnv
from zoo import checkpoints, runs
from zoo.command import Command, action_noise, check_numbers, resolve_command
from zoo.config import ConfigError, Experiment, algorithm_class, load_experiment, parse_policy_kwargs

#: Evaluations per trial unless --n-evaluations says otherwise: max(this, budget // 100_000).
DEFAULT_N_EVALUATIONS = 5

#: Seconds between a running trial's heartbeats, and how long without one before the trial counts as dead.
HEARTBEAT_INTERVAL_S = 60
HEARTBEAT_GRACE_S = 180
#: Times in a row a trial whose process died is queued to run again (with its settings and seeds) although it
#: saved no checkpoint since its last start: a stopped machine costs the trial's progress, not its place in the
#: search, and a trial that kills its process (out of memory, say) is given up after this many tries.
DEAD_TRIAL_RERUNS = 2
#: Tries to open a database storage (several processes may be creating its tables at the same moment).
STORAGE_ATTEMPTS = 5

#: Errors that end one trial (recorded as failed) but not the study: invalid combinations (ValueError,
#: AssertionError), numerical trouble (ArithmeticError, e.g. a NaN return) and torch failures (RuntimeError).
TRIAL_ERRORS: tuple[type[Exception], ...] = (ValueError, AssertionError, ArithmeticError, RuntimeError)


def add_tuning_arguments(parser: argparse.ArgumentParser) -> None:
    """The `-optimize` flags of `zoo.train` (the RL Zoo's names)."""
    group = parser.add_argument_group("tuning (Optuna)")
    group.add_argument("-optimize", "--optimize-hyperparameters", action="store_true", dest="optimize")
    group.add_argument("--n-trials", type=int, default=500, help="trials this process runs")
    group.add_argument(
        "--max-total-trials",
        type=int,
        default=None,
        help="stop once the study (all processes together) has this many finished or running trials (one whose "
        "process died counts once, through its rerun, which still runs)",
    )
    group.add_argument("--n-jobs", type=int, default=1, help="trials run in parallel threads of this process")
    group.add_argument("--sampler", choices=["tpe", "random", "cmaes"], default="tpe")
    group.add_argument(
        "--sampler-seed",
        type=int,
        default=None,
        help="seed of the sampler (default: --seed; a study continued adds the number of trials it holds); give each "
        "process of a shared study its own, or their samplers propose the same values (the trials' seeds come from "
        "their numbers, which the study hands out)",
    )
    group.add_argument("--pruner", choices=["median", "halving", "none"], default="median")
    group.add_argument("--n-startup-trials", type=int, default=10)
    group.add_argument("--n-evaluations", type=int, default=None, help="evaluations per trial (pruning points)")
    group.add_argument(
        "--trial-seeds",
        type=int,
        default=1,
        help="train each trial's settings on this many seeds, one after the other, and score the trial by the mean "
        "of their final evaluations (1, the RL Zoo's way: one seed, which rewards lucky settings on unstable envs)",
    )
    group.add_argument("--storage", default=None, help="sqlite:///f.db, a .log journal file or a DB URL")
    group.add_argument("--study-name", default=None)
    group.add_argument(
        "--optimization-log-path",
        default=None,
        metavar="FOLDER",
        help="write each trial's files to FOLDER/trial_<N>: its resolved entry, monitor CSVs, evaluations.npz, "
        "best_model.zip and the checkpoint a rerun of the trial goes on from",
    )
    group.add_argument(
        "--no-trial-checkpoints",
        action="store_false",
        dest="trial_checkpoints",
        help="with --optimization-log-path: do not save a checkpoint after each evaluation (a trial whose process "
        "died then runs again from its first step)",
    )
    group.add_argument(
        "--no-optim-plots",
        action="store_true",
        help="do not draw Optuna's plots (optimization history, parameter importances) after tuning",
    )
    group.add_argument(
        "--trial-id",
        type=int,
        default=None,
        help="train (without -optimize) with the hyperparameters of this trial of the study in --storage",
    )


def trial_hyperparams(args: argparse.Namespace) -> dict[str, Any]:
    """The zoo hyperparameters trial `--trial-id` of the study (`--storage`, `--study-name`) was run with, to train
    with them as `-params` would set them (the RL Zoo's `--trial-id`)."""
    try:
        import optuna
    except ImportError:
        raise ConfigError("--trial-id reads an Optuna study: pip install 'baselines3[zoo]'") from None
    if args.optimize:
        raise ConfigError("--trial-id trains with a finished trial's values: leave out -optimize")
    if args.storage is None:
        raise ConfigError("--trial-id needs the --storage the study lives in")
    study_name = args.study_name or default_study_name(args.algo, args.env)
    try:
        study = optuna.load_study(study_name=study_name, storage=make_storage(args.storage))
    except KeyError:
        raise ConfigError(f"--storage {args.storage!r} has no study {study_name!r} (--study-name)") from None
    trials = {trial.number: trial for trial in study.get_trials(deepcopy=False)}
    if args.trial_id not in trials:
        raise ConfigError(f"study {study_name!r} has no trial {args.trial_id} (it has {len(trials)} trials)")
    params = trials[args.trial_id].user_attrs.get("zoo_params")
    if not isinstance(params, dict):
        raise ConfigError(f"trial {args.trial_id} of {study_name!r} holds no zoo hyperparameters (not run by the zoo)")
    return dict(params)


def _slug(text: str) -> str:
    """`text` with anything but letters, digits, '.', '_' and '-' replaced, for study and folder names."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "study"


def default_study_name(algo: str, env_id: str) -> str:
    return _slug(f"{algo}-{env_id}")


def output_folder(log_folder: str, algo: str, env_id: str, study_name: str) -> pathlib.Path:
    """`<log_folder>/<algo>/<env>_optimize_<study name>`: never taken for a run folder (`<env>_<N>`)."""
    return pathlib.Path(log_folder) / algo / f"{runs.env_folder_name(env_id)}_optimize_{_slug(study_name)}"


@contextlib.contextmanager
def _optuna_experimental() -> Iterator[None]:
    """Quiet Optuna's ExperimentalWarning for the features used here that it marks experimental (heartbeats, the
    rerun of dead trials, its matplotlib plots)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def make_storage(spec: str | None) -> Any:
    """The Optuna storage `--storage` names: None (in memory), a path ending in `.log` or `.journal` (a journal
    file, safe for several processes on one file system) or a database URL (sqlite:///, postgresql://,
    mysql://, ...) shared by every process and machine that can reach it."""
    import optuna
    import sqlalchemy.exc

    if spec is None:
        return None
    if spec.endswith((".log", ".journal")) and "://" not in spec:
        from optuna.storages.journal import JournalFileBackend

        path = pathlib.Path(spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    if "://" not in spec:
        raise ConfigError(
            f"--storage {spec!r} is neither a database URL (sqlite:///tuning.db, postgresql://user:pass@host/db, "
            "mysql://...) nor a journal file path ending in .log or .journal"
        )
    engine_kwargs: dict[str, Any] = {}
    if spec.startswith("sqlite"):
        # several processes write to one file: wait for the lock instead of failing at once
        engine_kwargs["connect_args"] = {"timeout": 60}
    for attempt in range(STORAGE_ATTEMPTS):
        try:
            # heartbeats: a trial whose process died (a lost machine, a kill) is marked failed by the next
            # process that starts a trial, instead of staying RUNNING forever, and queued to run again
            with _optuna_experimental():
                return optuna.storages.RDBStorage(
                    spec,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=HEARTBEAT_INTERVAL_S,
                    grace_period=HEARTBEAT_GRACE_S,
                    heartbeat_stale_trial_callback=RerunDeadTrial(DEAD_TRIAL_RERUNS),
                )
        except ImportError as error:
            # SQLAlchemy 2.1 reads postgresql:// with psycopg 3 (postgresql+psycopg2:// asks for psycopg2)
            hint = ' (pip install "psycopg[binary]")' if spec.startswith("postgresql://") else ""
            raise ConfigError(
                f"--storage {spec!r} needs a database driver that is not installed{hint}: {error}"
            ) from None
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError) as error:
            # processes starting together on a new database race to create its tables: the loser retries
            # and finds them made (a database that cannot be reached fails every attempt)
            if attempt == STORAGE_ATTEMPTS - 1:
                raise ConfigError(f"--storage {spec!r} cannot be used: {type(error).__name__}: {error}") from None
            time.sleep(0.2 * (attempt + 1) + random.random() * 0.2)
        except (sqlalchemy.exc.SQLAlchemyError, ValueError) as error:
            raise ConfigError(f"--storage {spec!r} cannot be used: {type(error).__name__}: {error}") from None
    raise AssertionError("unreachable")


class RerunDeadTrial:
    """What happens to a trial whose process died (Optuna's heartbeat-stale callback) or that Ctrl-C stopped: it is
    queued to run again with its values, seeds and attributes, as Optuna's RetryHeartbeatStaleTrialCallback does
    (the same `failed_trial` and `retry_history` system attributes), but given up only after `max_stalls` such
    ends in a row without progress (no checkpoint saved since its last start), so that a long trial may be
    stopped any number of times. Unlike Optuna's callback it leaves the dead trial's attributes as they are (with
    `get_trials(deepcopy=False)` they are the study's cached copy)."""

    def __init__(self, max_stalls: int) -> None:
        self.max_stalls = max_stalls

    def __call__(self, study: Any, trial: Any) -> None:
        self.rerun(study, trial)

    def rerun(self, study: Any, trial: Any) -> bool:
        """Queue `trial` to run again; False when it is given up."""
        import optuna

        progressed = int(trial.user_attrs.get("checkpoints_saved", 0)) > 0
        stalls = 0 if progressed else int(trial.system_attrs.get("stalled_reruns", 0)) + 1
        if stalls > self.max_stalls:
            return False
        system_attrs = {
            **trial.system_attrs,
            "failed_trial": trial.system_attrs.get("failed_trial", trial.number),
            "retry_history": [*trial.system_attrs.get("retry_history", []), trial.number],
            "stalled_reruns": stalls,
        }
        study.add_trial(
            optuna.create_trial(
                state=optuna.trial.TrialState.WAITING,
                params=trial.params,
                distributions=trial.distributions,
                user_attrs=trial.user_attrs,
                system_attrs=system_attrs,
            )
        )
        return True


def seed_number(trial: Any) -> int:
    """The trial number a (frozen) trial's seeds come from: its own, or for the rerun of a trial whose process died,
    the first trial's, so that the rerun trains the seeds the search gave that trial."""
    first = trial.system_attrs.get("failed_trial")
    return trial.number if first is None else int(first)


def replaced_trials(trials: Iterable[Any]) -> set[int]:
    """Numbers of the trials whose process died and that a later trial runs again (in a rerun's retry history)."""
    return {int(number) for trial in trials for number in trial.system_attrs.get("retry_history", [])}


def counted_trials(trials: Iterable[Any]) -> list[Any]:
    """The trials a search counts: all but those that died and were queued to run again (their reruns count)."""
    trials = list(trials)
    replaced = replaced_trials(trials)
    return [trial for trial in trials if trial.number not in replaced]


class StopAtTotalTrials:
    """Optuna callback for --max-total-trials: stops the study once its counted trials that have started (finished or
    running, by every process together) reach `max_trials`. A trial queued to run again (a dead trial's rerun) is
    not a new one: it still runs, and counts once started."""

    def __init__(self, max_trials: int) -> None:
        self.max_trials = max_trials

    def reached(self, study: Any) -> bool:
        from optuna.trial import TrialState

        started = [t for t in counted_trials(study.get_trials(deepcopy=False)) if t.state != TrialState.WAITING]
        return len(started) >= self.max_trials

    def __call__(self, study: Any, trial: Any) -> None:
        if self.reached(study):
            study.stop()


def make_sampler(name: str, n_startup_trials: int, seed: int | None) -> Any:
    """TPE, random or CMA-ES (its categorical values are drawn by a seeded TPE sampler, quietly)."""
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(n_startup_trials=n_startup_trials, seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "cmaes":
        if importlib.util.find_spec("cmaes") is None:
            raise ConfigError("--sampler cmaes needs the cmaes package: pip install cmaes")
        return optuna.samplers.CmaEsSampler(
            n_startup_trials=n_startup_trials,
            seed=seed,
            independent_sampler=optuna.samplers.TPESampler(n_startup_trials=n_startup_trials, seed=seed),
            warn_independent_sampling=False,
        )
    raise ConfigError(f"--sampler {name!r}: choose tpe, random or cmaes")


def make_pruner(name: str, n_startup_trials: int, n_evaluations: int) -> Any:
    """Median (once `n_startup_trials` trials have completed; evaluations are reported as steps 1, 2, ... and
    none before step `n_evaluations // 3` is pruned), successive halving, or none."""
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=n_evaluations // 3)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"--pruner {name!r}: choose median, halving or none")


def with_entry_kwargs(params: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """`params` whose `policy_kwargs` and `replay_buffer_kwargs` keep what the entry's own set and the sampler
    does not (an LSTM size, ortho_init, HER's other keywords, ...), each still written as one string."""
    from zoo.search_spaces import policy_kwargs_text  # lazy import: zoo.search_spaces imports Optuna (optional)

    merged = dict(params)
    for key in ("policy_kwargs", "replay_buffer_kwargs"):
        base = entry.get(key)
        if key not in params or not base:
            continue
        base_kwargs = parse_policy_kwargs(base, key=key) if isinstance(base, str) else dict(base)
        merged[key] = policy_kwargs_text({**base_kwargs, **parse_policy_kwargs(params[key], key=key)})
    return merged


#: The former name (policy_kwargs only); it now merges replay_buffer_kwargs too.
with_entry_policy_kwargs = with_entry_kwargs


class TrialEvalCallback(EvalCallback):
    """Evaluates every `eval_freq` calls (syncing VecNormalize statistics first), reports the mean return to the
    Optuna `trial` and stops training when the pruner says so."""

    def __init__(
        self,
        eval_env: VecEnv,
        trial: Any,
        n_eval_episodes: int,
        eval_freq: int,
        folder: str | None = None,
        first_report: int = 1,
        on_checkpoint: Callable[[TrialEvalCallback], None] | None = None,
    ) -> None:
        # with a folder (--optimization-log-path): evaluations.npz and best_model.zip of the trial go there
        super().__init__(
            eval_env,
            n_eval_episodes=n_eval_episodes,
            eval_freq=eval_freq,
            log_path=folder,
            best_model_save_path=folder,
            verbose=0,
        )
        self.trial = trial
        self.evaluations_done = 0
        self.first_report = first_report  # the step its first evaluation is reported at (later seeds go on)
        self.pruned = False
        self.values: list[float] = []  # the mean return of each evaluation, as reported
        # called at the first rollout start after each evaluation the trial goes on from: between an update and the
        # next collection, so that a checkpoint saved there loses nothing collected
        self.on_checkpoint = on_checkpoint
        self.checkpoint_due = False

    def _on_step(self) -> bool:
        if self.eval_freq <= 0 or self.n_calls % self.eval_freq != 0:
            return True
        super()._on_step()
        self.evaluations_done += 1
        if not math.isfinite(self.last_mean_reward):
            raise FloatingPointError(f"evaluation {self.evaluations_done} returned {self.last_mean_reward}")
        self.values.append(float(self.last_mean_reward))
        self.trial.report(self.last_mean_reward, self.first_report + self.evaluations_done - 1)
        self.pruned = self.trial.should_prune()
        self.checkpoint_due = not self.pruned
        return not self.pruned

    def _on_rollout_start(self) -> None:
        if self.checkpoint_due and self.on_checkpoint is not None:
            self.checkpoint_due = False
            self.on_checkpoint(self)

    def progress(self) -> dict[str, Any]:
        """What a run continued from a checkpoint needs of this callback (JSON): its step count, the evaluations
        so far and the best mean return (its best_model.zip)."""
        return {
            "calls": self.n_calls,
            "values": self.values,
            "timesteps": self.evaluations_timesteps,
            "results": self.evaluations_results,
            "lengths": self.evaluations_length,
            "successes": self.evaluations_successes,
            "best_mean_reward": float(self.best_mean_reward),
        }

    def go_on_from(self, progress: dict[str, Any]) -> None:
        """Take up `progress` (from `progress()` of the run a checkpoint was saved in) and report its evaluations
        to the trial again, so that the trial's curve and evaluations.npz hold them all."""
        self.n_calls = int(progress["calls"])
        self.values = [float(value) for value in progress["values"]]
        self.evaluations_timesteps = [int(step) for step in progress["timesteps"]]
        self.evaluations_results = [list(result) for result in progress["results"]]
        self.evaluations_length = [list(length) for length in progress["lengths"]]
        self.evaluations_successes = [list(success) for success in progress["successes"]]
        self.best_mean_reward = float(progress["best_mean_reward"])
        self.evaluations_done = len(self.values)
        if self.values:
            self.last_mean_reward = self.values[-1]
        report_values(self.trial, self.values, self.first_report)


def report_values(trial: Any, values: list[float], first_report: int) -> None:
    """Report `values` to `trial` as its evaluations from step `first_report` on."""
    for index, value in enumerate(values):
        trial.report(value, first_report + index)


class Objective:
    """One trial: sample, build, train with periodic evaluations, return the last mean return (with
    `--trial-seeds n`: train n seeds one after the other, return the mean of their last mean returns; the
    evaluations of seed i are reported to the pruner after those of the seeds before it)."""

    def __init__(
        self,
        args: argparse.Namespace,
        command: Command,
        n_timesteps: int,
        n_evaluations: int,
    ) -> None:
        from zoo.search_spaces import SearchContext  # lazy import: zoo.search_spaces imports Optuna (optional)

        self.args = args
        self.command = command
        base = command.experiment
        self.n_timesteps = n_timesteps
        self.n_evaluations = n_evaluations
        buffer_class = base.algo_kwargs.get("replay_buffer_class")
        self.context = SearchContext(
            n_envs=base.n_envs,
            n_timesteps=n_timesteps,
            use_sde=bool(base.algo_kwargs.get("use_sde", False)),
            her=isinstance(buffer_class, type) and issubclass(buffer_class, HerReplayBuffer),
        )
        self.trial_numbers: list[int] = []  # trials this process ran
        self.interrupted: list[int] = []  # those of them stopped by Ctrl-C

    def __call__(self, trial: Any) -> float:
        self.trial_numbers.append(trial.number)
        trial.set_user_attr("checkpoints_saved", 0)  # since this start (a rerun inherits its dead trial's count)
        trial.set_user_attr("pid", os.getpid())
        trial.set_user_attr("host", socket.gethostname())
        try:
            return self._run(trial)
        except TRIAL_ERRORS as error:
            trial.set_user_attr("error", f"{type(error).__name__}: {error}"[:1000])
            raise
        except KeyboardInterrupt:
            self.interrupted.append(trial.number)  # queued to run again (see queue_interrupted_trials)
            raise

    def _run(self, trial: Any) -> float:
        from zoo.search_spaces import sample_hyperparams  # lazy import: imports Optuna (optional), as above

        args = self.args
        entry = self.command.experiment.raw
        params = with_entry_kwargs(sample_hyperparams(args.algo, trial, self.context), entry)
        trial.set_user_attr("zoo_params", params)
        experiment = load_experiment(args.algo, args.env, args.conf_file, {**self.command.overrides, **params})
        folder = trial_folder(args.optimization_log_path, trial.number, {"env_id": args.env, **experiment.raw})
        n_seeds = args.trial_seeds
        values = []
        # a rerun of a trial whose process died trains that trial's seeds, from the newest checkpoint of the trials
        # it runs again (the latest first)
        frozen = next(t for t in trial.study.get_trials(deepcopy=False) if t.number == trial.number)
        earlier = [int(number) for number in reversed(frozen.system_attrs.get("retry_history", []))]
        for index, seed in enumerate(trial_seeds(args.seed, seed_number(frozen), n_seeds)):
            seed_part = "" if n_seeds == 1 else f"seed_{seed}"
            seed_folder = None if folder is None else str(pathlib.Path(folder) / seed_part)
            earlier_folders = [
                pathlib.Path(args.optimization_log_path) / f"trial_{number}" / seed_part
                for number in (earlier if args.optimization_log_path is not None else [])
            ]
            first_report = 1 + index * self.n_evaluations
            values.append(self._train(trial, experiment, seed, seed_folder, first_report, earlier_folders))
            trial.set_user_attr("seed_values", values)
        return sum(values) / len(values)

    def checkpoint_identity(self, trial: Any, seed: int | None) -> dict[str, Any]:
        """What a trial checkpoint's manifest must hold to be continued: the search's settings, the seed and the
        trial's sampled values (a rerun has its dead trial's)."""
        return {
            "algo": self.args.algo,
            "env": self.args.env,
            "seed": seed,
            "n_timesteps": self.n_timesteps,
            "n_evaluations": self.n_evaluations,
            "eval_episodes": self.args.eval_episodes,
            "params": json.loads(json.dumps(trial.params)),
        }

    def _train(
        self,
        trial: Any,
        experiment: Experiment,
        seed: int | None,
        folder: str | None,
        first_report: int,
        earlier_folders: Sequence[pathlib.Path] = (),
    ) -> float:
        """Train `experiment` on `seed` and return its final mean evaluation return. With a folder and trial
        checkpoints, go on from the newest checkpoint of this run in `folder` or `earlier_folders` (the same run in
        trials whose process died) and save one at the first rollout start after each evaluation."""
        import optuna

        args = self.args
        saving = folder is not None and args.trial_checkpoints
        identity = self.checkpoint_identity(trial, seed)
        checkpoint = None
        if folder is not None and saving:
            checkpoint = checkpoints.newest_checkpoint([folder, *earlier_folders], identity)
            if checkpoint is not None and checkpoint.folder.parent != pathlib.Path(folder):
                copy_run_files(checkpoint.folder.parent, pathlib.Path(folder))
        if checkpoint is not None and checkpoint.final:  # this seed had finished: its result stands
            report_values(trial, checkpoint.manifest["progress"]["values"], first_report)
            return float(checkpoint.manifest["value"])
        done = 0 if checkpoint is None else checkpoint.steps
        # a continued run is reseeded from seed + steps done, so that it does not replay the first episodes
        run_seed = None if seed is None else seed + done
        envs: list[VecEnv] = []
        try:
            packages = args.gym_packages
            env = runs.build_env(
                experiment,
                experiment.n_envs,
                run_seed,
                monitor_dir=folder,
                vec_env=args.vec_env,
                env_kwargs=self.command.env_kwargs,
                gym_packages=packages,
                normalize_stats=None if checkpoint is None else checkpoint.file("vecnormalize"),
                append_monitor=checkpoint is not None,
            )
            envs.append(env)
            eval_seed = None if seed is None else seed + 1000
            eval_env = runs.build_env(
                experiment,
                args.n_eval_envs,
                eval_seed,
                env_kwargs=self.command.eval_env_kwargs,
                training=False,
                gym_packages=packages,
            )
            envs.append(eval_env)
            algorithm = algorithm_class(args.algo)
            if checkpoint is None:
                kwargs = dict(experiment.algo_kwargs)
                if "action_noise" in kwargs:
                    kwargs["action_noise"] = action_noise(kwargs["action_noise"], env)
                model = algorithm(experiment.policy, env, seed=seed, device=args.device, verbose=0, **kwargs)
            else:
                saved = checkpoint.file("model")
                if saved is None:
                    raise RuntimeError(f"the trial checkpoint {checkpoint.folder} holds no model to go on from")
                model = algorithm.load(saved, env=env, device=args.device)
                replay = checkpoint.file("replay_buffer")
                if replay is not None:
                    model.load_replay_buffer(replay)
                if run_seed is not None:
                    model.set_random_seed(run_seed)

            def save(evaluations: TrialEvalCallback) -> None:
                manifest = {**identity, "final": False, "progress": evaluations.progress()}
                has_buffer = getattr(model, "replay_buffer", None) is not None
                checkpoints.save_checkpoint(model, str(folder), manifest, save_replay_buffer=has_buffer)
                count_checkpoint(trial)

            calls = max(self.n_timesteps // experiment.n_envs, 1)
            eval_freq = max(calls // self.n_evaluations, 1)
            callback = TrialEvalCallback(
                eval_env, trial, args.eval_episodes, eval_freq, folder, first_report, save if saving else None
            )
            if checkpoint is not None:
                callback.go_on_from(checkpoint.manifest["progress"])
            callbacks = [spec() for spec in experiment.callback] + [callback]
            with checkpoints.compiled_as_uninterrupted(args.algo, self.n_timesteps):
                model.learn(  # type: ignore[attr-defined]
                    self.n_timesteps - done, callback=callbacks, reset_num_timesteps=checkpoint is None
                )
            if callback.pruned:
                raise optuna.TrialPruned(f"pruned after evaluation {callback.evaluations_done}")
            if callback.evaluations_done == 0:  # training ended early (an entry's callback): evaluate now
                callback.evaluate()
            value = float(callback.last_mean_reward)
            if not math.isfinite(value):
                raise FloatingPointError(f"the final evaluation returned {value}")
            if saving:  # the seed's result, for a rerun of a trial whose process dies in a later seed
                manifest = {**identity, "final": True, "value": value, "progress": callback.progress()}
                checkpoints.save_checkpoint(model, str(folder), manifest, save_model=False)
                count_checkpoint(trial)
        except (optuna.TrialPruned, *TRIAL_ERRORS):  # type: ignore[misc]  # (a tuple built from a tuple)
            if folder is not None:  # the trial ends here: nothing goes on from its checkpoints
                for run_dir in [pathlib.Path(folder), *earlier_folders]:
                    checkpoints.remove_checkpoints(run_dir)
            raise
        finally:
            for opened in envs:
                opened.close()
        for run_dir in earlier_folders:  # nothing goes on from them now
            checkpoints.remove_checkpoints(run_dir)
        return value


def count_checkpoint(trial: Any) -> None:
    """Count a checkpoint the trial saved since it started: its progress, should its process die (RerunDeadTrial)."""
    trial.set_user_attr("checkpoints_saved", int(trial.user_attrs.get("checkpoints_saved", 0)) + 1)


def copy_run_files(source: pathlib.Path, target: pathlib.Path) -> None:
    """Copy the files of a dead trial's run (evaluations.npz, best_model.zip, monitor CSVs) into its rerun's
    folder, which goes on from the dead trial's checkpoint: its files hold the whole run."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file() and path.name != "config.yml":
            shutil.copy2(path, target / path.name)


def sampler_seed(args: argparse.Namespace) -> int | None:
    """The sampler's seed: `--sampler-seed`, else `--seed`."""
    return args.seed if args.sampler_seed is None else args.sampler_seed


def trial_seeds(seed: int | None, number: int, n_seeds: int) -> list[int | None]:
    """The seeds trial `number` trains with: `seed + number * n_seeds + i` for i < n_seeds (None: unseeded)."""
    if seed is None:
        return [None] * n_seeds
    return [seed + number * n_seeds + index for index in range(n_seeds)]


def trial_folder(log_path: str | None, number: int, entry: dict[str, Any]) -> str | None:
    """`<log_path>/trial_<number>` with the trial's resolved entry in `config.yml`, made afresh (a study resumed
    with the same path numbers its trials on), or None without --optimization-log-path."""
    if log_path is None:
        return None
    folder = pathlib.Path(log_path) / f"trial_{number}"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "config.yml", yaml.safe_dump(entry, sort_keys=True))
    return str(folder)


def _check_args(args: argparse.Namespace) -> None:
    check_numbers(args)  # the flags shared with training (--eval-episodes, --n-eval-envs, -n, ...)
    if args.n_trials < 1:
        raise ConfigError(f"--n-trials must be at least 1, got {args.n_trials}")
    if args.n_jobs < 1:
        raise ConfigError(f"--n-jobs must be at least 1, got {args.n_jobs}")
    if args.trial_id is not None:
        raise ConfigError("--trial-id trains with a finished trial's values: leave out -optimize")
    if args.max_total_trials is not None and args.max_total_trials < 1:
        raise ConfigError(f"--max-total-trials must be at least 1, got {args.max_total_trials}")
    if args.n_startup_trials < 0:
        raise ConfigError(f"--n-startup-trials must be >= 0, got {args.n_startup_trials}")
    if args.n_evaluations is not None and args.n_evaluations < 1:
        raise ConfigError(f"--n-evaluations must be at least 1, got {args.n_evaluations}")
    if args.trial_seeds < 1:
        raise ConfigError(f"--trial-seeds must be at least 1, got {args.trial_seeds}")


def best_entry(base: Experiment, params: dict[str, Any]) -> dict[str, Any]:
    """The entry as resolved (with -params) and the tuned values on top, in hyperparameter-file form."""
    entry = {**base.raw, **params}
    steps = entry.get("n_timesteps")
    if isinstance(steps, float) and steps.is_integer():
        entry["n_timesteps"] = int(steps)  # 1e5 read as a float: written as 100000
    return entry


def optimize(args: argparse.Namespace) -> int:
    """Run `--n-trials` trials of the study (shared through `--storage`), then write `trials.csv` and
    `best_hyperparams.yml` and print the best trial. 0 when a trial of the study completed, 1 when none did
    or every trial of this process failed."""
    try:
        import optuna
    except ImportError:
        raise ConfigError("-optimize needs Optuna: pip install 'baselines3[zoo]' (or optuna and cmaes)") from None

    _check_args(args)
    command = resolve_command(args)
    base = command.experiment
    n_timesteps = args.n_timesteps if args.n_timesteps > 0 else base.n_timesteps
    calls = n_timesteps // base.n_envs
    if calls < 1:
        raise ConfigError(f"a budget of {n_timesteps} steps is less than one step of each of the {base.n_envs} envs")
    if args.n_evaluations is None:
        n_evaluations = min(max(DEFAULT_N_EVALUATIONS, n_timesteps // 100_000), calls)
    elif args.n_evaluations > calls:
        raise ConfigError(
            f"--n-evaluations {args.n_evaluations} is more than the {calls} steps of each env in a budget of "
            f"{n_timesteps} steps with {base.n_envs} envs"
        )
    else:
        n_evaluations = args.n_evaluations

    study_name = args.study_name or default_study_name(args.algo, args.env)
    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose >= 1 else optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            storage=make_storage(args.storage),
            sampler=make_sampler(args.sampler, args.n_startup_trials, sampler_seed(args)),
            pruner=make_pruner(args.pruner, args.n_startup_trials, n_evaluations),
            study_name=study_name,
            direction="maximize",
            load_if_exists=True,
        )
    except ValueError as error:  # e.g. an existing study of that name that minimizes
        raise ConfigError(f"study {study_name!r}: {error}") from None
    # a study continued with the same seed would draw its first random values again: offset the seed by the trials
    # it holds (a new study keeps the seed as given)
    seed_of_sampler = sampler_seed(args)
    held = len(study.get_trials(deepcopy=False))
    if held and seed_of_sampler is not None:
        seed_of_sampler += held
        study.sampler = make_sampler(args.sampler, args.n_startup_trials, seed_of_sampler)
    # the settings of this process's trials, kept with the study so that its figures can be reported later
    study.set_user_attr(
        "search",
        dict(
            sampler=args.sampler,
            pruner=args.pruner,
            seed=args.seed,
            sampler_seed=seed_of_sampler,
            n_timesteps=n_timesteps,
            n_evaluations=n_evaluations,
            eval_episodes=args.eval_episodes,
            trial_seeds=args.trial_seeds,
        ),
    )
    objective = Objective(args, command, n_timesteps, n_evaluations)
    print(
        f"Tuning {args.algo} on {args.env}: study {study_name!r}, {args.n_trials} trials of {n_timesteps} steps"
        f"{'' if args.trial_seeds == 1 else f' on each of {args.trial_seeds} seeds'}, {n_evaluations} evaluations "
        f"each, sampler {args.sampler}, pruner {args.pruner}"
    )
    try:
        callbacks = []
        if args.max_total_trials is not None:  # counts every process's trials, so a shared study stops as a whole
            stop_at_total = StopAtTotalTrials(args.max_total_trials)
            callbacks.append(stop_at_total)
            # a trial whose process died would still count as running: mark it failed and queue its rerun first
            # (Optuna does this before each trial; the cap is checked before the first one)
            with _optuna_experimental():
                optuna.storages.fail_stale_trials(study)
            if stop_at_total.reached(study):
                print(f"The study already has {args.max_total_trials} trials (--max-total-trials): none run")
                return _report(study, objective, args, base, study_name)
        study.optimize(
            objective,
            n_trials=args.n_trials,
            n_jobs=args.n_jobs,
            catch=TRIAL_ERRORS,
            gc_after_trial=True,
            callbacks=callbacks,
        )
    except KeyboardInterrupt:
        print("Interrupted: writing the results so far", file=sys.stderr)
        if args.storage is not None:
            for number in queue_interrupted_trials(study, objective.interrupted):
                print(f"Trial {number} was interrupted: the next process on this study runs it again", file=sys.stderr)
    return _report(study, objective, args, base, study_name)


def queue_interrupted_trials(study: Any, numbers: Iterable[int]) -> list[int]:
    """Queue the trials `numbers`, stopped by an interrupt (Ctrl-C), to run again as the trials of a dead process
    are (`RerunDeadTrial`: same settings and seeds; from the checkpoint after their last evaluation, with
    --optimization-log-path), so that stopping a search and starting it again loses no trial. Returns the numbers
    of those queued."""
    from optuna.trial import TrialState

    wanted = set(numbers)
    rerun = RerunDeadTrial(DEAD_TRIAL_RERUNS)
    return [
        trial.number
        for trial in study.get_trials(deepcopy=False)
        if trial.number in wanted and trial.state == TrialState.FAIL and rerun.rerun(study, trial)
    ]


def _report(study: Any, objective: Objective, args: argparse.Namespace, base: Experiment, study_name: str) -> int:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    folder = output_folder(args.log_folder, args.algo, args.env, study_name)
    folder.mkdir(parents=True, exist_ok=True)
    # several processes of one study may write the same file: each write replaces it whole
    atomic_write_text(folder / "trials.csv", study.trials_dataframe().to_csv(index=False))
    counted = counted_trials(trials)
    counts = {state: sum(t.state == state for t in counted) for state in TrialState}
    rerun = len(trials) - len(counted)
    print(
        f"Study {study_name!r}: {len(counted)} trials ({counts[TrialState.COMPLETE]} complete, "
        f"{counts[TrialState.PRUNED]} pruned, {counts[TrialState.FAIL]} failed, {counts[TrialState.RUNNING]} "
        f"running{f', {counts[TrialState.WAITING]} queued' if counts[TrialState.WAITING] else ''}"
        f"{f'; {rerun} more cut short (a dead process or Ctrl-C) and run again' if rerun else ''}); this process ran "
        f"{len(objective.trial_numbers)}. Trials: {folder / 'trials.csv'}"
    )
    mine = [t for t in trials if t.number in set(objective.trial_numbers)]
    if mine and all(t.state == TrialState.FAIL for t in mine):
        last = mine[-1].user_attrs.get("error", "see the log above")
        print(f"error: all {len(mine)} trials of this run failed; the last one: {last}", file=sys.stderr)
        return 1
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not complete:
        print(f"error: no trial of study {study_name!r} has completed, so there is no best trial", file=sys.stderr)
        return 1
    best = study.best_trial
    params = best.user_attrs.get("zoo_params")
    print(f"Best trial: #{best.number}, mean return {best.value:.4g}")
    for key, value in (params or best.params).items():
        print(f"    {key}: {value}")
    if params is None:
        print("The best trial holds no zoo parameters (not run by zoo.train): no best_hyperparams.yml written")
        return 0
    header = (
        f"# {args.algo} on {args.env}: best trial #{best.number} of study {study_name!r}, "
        f"mean return {best.value:.6g} after {objective.n_timesteps} steps\n"
    )
    text = header + yaml.safe_dump({args.env: best_entry(base, params)}, sort_keys=False)
    atomic_write_text(folder / "best_hyperparams.yml", text)
    print(f"Best hyperparameters: {folder / 'best_hyperparams.yml'}")
    if not args.no_optim_plots:
        write_plots(study, folder)
    return 0


def write_plots(study: Any, folder: pathlib.Path) -> list[pathlib.Path]:
    """Optuna's optimization history and parameter importances as PNGs in `folder` (with matplotlib; without
    it, a message says what to install). A plot Optuna cannot draw for this study is left out with its reason.
    Returns the files written."""
    try:
        import matplotlib

        if "matplotlib.pyplot" not in sys.modules:  # files only: no window, also on machines without a display
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import optuna.visualization.matplotlib as optuna_plots
    except ImportError as error:
        print(f"No tuning plots: they need matplotlib ({error}); pip install matplotlib, or pass --no-optim-plots")
        return []
    written = []
    plots: dict[str, Callable[[Any], Any]] = {
        "optimization_history": optuna_plots.plot_optimization_history,
        "param_importances": optuna_plots.plot_param_importances,
    }
    for name, draw in plots.items():
        path = folder / f"{name}.png"
        try:
            with _optuna_experimental():
                figure = draw(study).figure  # the Axes of the plot
            figure.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(figure)
        except (ValueError, RuntimeError, ZeroDivisionError) as error:
            print(f"No {name} plot: {type(error).__name__}: {error}")
            continue
        written.append(path)
    if written:
        print(f"Tuning plots: {', '.join(str(path) for path in written)}")
    return written

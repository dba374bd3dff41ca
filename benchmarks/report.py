"""Write docs/benchmarks.md and its learning-curve plots from the committed result files alone.

    python -m benchmarks.report
    python -m benchmarks.report --results benchmarks/results --output docs/benchmarks.md
    python -m benchmarks.report --side-by-side-only          # only the side-by-side section of the page

Per row: the published score, the threshold, the seeds run, our mean final evaluation, its IQM with a 95 %
bootstrap interval over seeds, and whether the row meets the published score; then the aggregate over rows (scores
normalized per row, IQM with stratified-bootstrap intervals and a performance profile, drawn by the functions
`python -m zoo.plot --aggregate` uses), one learning-curve figure per env, the rows not run yet with the command
that runs them, and the speed race (`benchmarks/results/speed.json`). Beside the table of published scores, the
"Same budget, side by side" section compares baselines3 with Stable-Baselines3 on the MuJoCo rows
(`python -m benchmarks.side_by_side`); `--side-by-side-only` rewrites that section alone. For the rows the RL Zoo
entry does not pass, a section shows our own tuned entries: each search's figures and the tuned entry's result on
fresh seeds (`python -m benchmarks.tuned`, files in `benchmarks/results_tuned/`).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.rows import ROW_NOTES, ROWS, TOLERANCE, Row
from benchmarks.run import DEFAULT_RESULTS, REPO, display_path, zoo_budget
from benchmarks.side_by_side import DEFAULT_ROWS as SIDE_BY_SIDE_ROWS
from benchmarks.side_by_side import LIBRARIES, default_budget, sweep_command
from benchmarks.speed import RACES
from benchmarks.stats import Estimate, bootstrap_ci, iqm, normalize, probability_of_improvement
from benchmarks.tuned import TUNED_ENTRIES, tuned_section
from zoo.plot import describe, save_aggregate_figure

DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
DEFAULT_IMG_DIR = REPO / "docs" / "img" / "benchmarks"
SPEED_FILE = "speed.json"
SEEDS_WANTED = 3
#: Seeds a row gets when its IQM interval is wide (see `RowSummary.wide`).
SEEDS_WANTED_WIDE = 5
#: A row is wide when its IQM interval spans more than this share of the env's score range (published - random).
WIDE_SHARE = 0.2
AGGREGATE_IQM = "aggregate_iqm.png"
AGGREGATE_PROFILE = "aggregate_profile.png"


@dataclass
class RowSummary:
    """A row and its results: those that count (trained for the published budget) and those set aside."""

    row: Row
    results: list[dict[str, Any]] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)

    @property
    def seeds(self) -> list[int]:
        return sorted(int(result["seed"]) for result in self.results)

    @property
    def finals(self) -> list[float]:
        return [float(result["final_eval"]["mean"]) for result in sorted(self.results, key=lambda r: r["seed"])]

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.finals)) if self.results else None

    @property
    def wide(self) -> bool:
        """Whether the 95 % interval of the IQM over seeds spans more than `WIDE_SHARE` of the env's score range
        (published - random): such a row's verdict rests on too few seeds, and it gets `SEEDS_WANTED_WIDE`."""
        ci = bootstrap_ci(self.finals) if self.results else None
        if ci is None or self.row.random_score is None:
            return False
        return ci[1] - ci[0] > WIDE_SHARE * abs(self.row.published - self.row.random_score)

    @property
    def seeds_wanted(self) -> int:
        return SEEDS_WANTED_WIDE if self.wide else SEEDS_WANTED

    @property
    def passed(self) -> bool | None:
        """Mean final evaluation over seeds >= threshold; None when not run or the threshold is undefined."""
        threshold = self.row.threshold
        if self.mean is None or threshold is None:
            return None
        return self.mean >= threshold


def load_results(results: pathlib.Path) -> list[dict[str, Any]]:
    """Every `<results>/<algo>/<env>/seed<S>.json`, sorted by path (the report does not depend on listing
    order). A missing folder is an error: a mistyped `--results` would otherwise replace the page and delete
    its plots."""
    if not pathlib.Path(results).is_dir():
        raise ValueError(f"no results folder {results} (python -m benchmarks.run writes one; or pass --results)")
    found = []
    for path in sorted(pathlib.Path(results).glob("*/*/seed*.json")):
        with open(path) as handle:
            data = json.load(handle)
        missing = {"algo", "env", "seed", "n_timesteps", "final_eval"} - set(data)
        if missing:
            raise ValueError(f"{path} is not a benchmark result: missing {sorted(missing)}")
        data["_path"] = str(path)
        found.append(data)
    return found


def summarize(results: list[dict[str, Any]], rows: tuple[Row, ...] = ROWS) -> tuple[list[RowSummary], list[str]]:
    """Results grouped by row; results trained for another budget than the published one (smoke tests) are set
    aside, and results of no row are reported as such (second value)."""
    summaries = {row.key: RowSummary(row) for row in rows}
    strays = []
    for result in results:
        summary = summaries.get(f"{result['algo']}:{result['env']}")
        if summary is None:
            strays.append(f"{result['_path']}: {result['algo']} on {result['env']} is not a benchmark row")
        elif int(result["n_timesteps"]) != summary.row.budget:
            summary.set_aside.append(
                f"seed {result['seed']} trained {int(result['n_timesteps']):,} steps, "
                f"not the published {summary.row.budget:,}"
            )
        else:
            summary.results.append(result)
    return list(summaries.values()), strays


def _curve(result: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    curve = result.get("learning_curve") or {}
    return np.asarray(curve.get("timesteps", []), dtype=float), np.asarray(curve.get("mean_returns", []), dtype=float)


def seed_band(results: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(timesteps, mean, min, max) over seeds; curves on different grids are interpolated onto the union of
    their points within the range they all cover."""
    curves = [_curve(result) for result in results]
    curves = [(x, y) for x, y in curves if len(x)]
    if not curves:
        return None
    if all(np.array_equal(x, curves[0][0]) for x, _ in curves):
        grid = curves[0][0]
        values = np.stack([y for _, y in curves])
    else:
        low, high = max(x[0] for x, _ in curves), min(x[-1] for x, _ in curves)
        grid = np.unique(np.concatenate([x[(x >= low) & (x <= high)] for x, _ in curves]))
        if not len(grid):
            return None
        values = np.stack([np.interp(grid, x, y) for x, y in curves])
    return grid, values.mean(axis=0), values.min(axis=0), values.max(axis=0)


def plot_env(env_id: str, summaries: list[RowSummary], path: pathlib.Path) -> bool:
    """One figure for `env_id`: per algorithm the mean evaluation return over seeds and its min-max band, and
    the published score as a dotted line. False (nothing written) when no run has a learning curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.2))
    drawn, budgets = 0, []
    for index, summary in enumerate(summaries):
        band = seed_band(summary.results)
        if band is None:
            continue
        grid, mean, low, high = band
        color = f"C{index}"
        label = f"{summary.row.algo.upper()} ({len(summary.results)} seed{'s' if len(summary.results) > 1 else ''})"
        axes.plot(grid, mean, color=color, label=label)
        axes.fill_between(grid, low, high, color=color, alpha=0.2, linewidth=0)
        axes.axhline(summary.row.published, color=color, linestyle=":", linewidth=1)
        budgets.append(summary.row.budget)
        drawn += 1
    if not drawn:
        plt.close(figure)
        return False
    if max(budgets) >= 10 * min(budgets):
        axes.set_xscale("log")  # budgets that far apart would squeeze the short runs into the corner
    axes.set_title(f"{env_id} (line: mean over seeds, band: min-max, dotted: published)", fontsize="medium")
    axes.set_xlabel("timesteps")
    axes.set_ylabel("evaluation return")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(figure)
    return True


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _budget(steps: int) -> str:
    if steps >= 1_000_000 and steps % 100_000 == 0:
        return f"{steps / 1_000_000:g}M"
    if steps >= 1_000 and steps % 1_000 == 0:
        return f"{steps // 1_000}k"
    return f"{steps:,}"


def run_command(row: Row, seeds: list[int]) -> str:
    return f"python -m benchmarks.run --rows {row.key} --seeds {' '.join(map(str, seeds))}"


def score_cells(summary: RowSummary) -> list[str]:
    """Seeds, mean final, IQM [95 % CI], mean best evaluation during training, steps/s and the verdict of a row
    that has results (the verdict is on the final evaluation; the best evaluation is context)."""
    finals = summary.finals
    ci = bootstrap_ci(finals)
    ci_text = "CI n/a" if ci is None else f"[{ci[0]:,.1f}, {ci[1]:,.1f}]"
    speed = float(np.mean([result["steps_per_s"] for result in summary.results if "steps_per_s" in result] or [0]))
    if summary.passed is None:
        verdict = "n/a (no random score)"
    else:
        verdict = "**pass**" if summary.passed else "**FAIL**"
    return [
        " ".join(map(str, summary.seeds)),
        _number(summary.mean),
        f"{iqm(finals):,.1f} {ci_text}",
        _number(float(np.mean([result["best_eval"]["mean"] for result in summary.results]))),
        f"{speed:,.0f}",
        verdict,
    ]


def speed_section(path: pathlib.Path) -> list[str]:
    """The speed race table from `speed.json` (written by `python -m benchmarks.speed --json`), or how to get it."""
    command = f"python -m benchmarks.speed --json {display_path(path)}"
    if not path.exists():
        return [f"No speed results yet: `{command}` (with `pip install stable-baselines3` for SB3's side)."]
    with open(path) as handle:
        data = json.load(handle)
    lines = [
        f"From `{command}`: training steps/s (evaluations not timed), mean over seeds "
        f"{', '.join(map(str, data.get('seeds', [])))}; one torch thread each, one run at a time.",
        "",
        "| race | steps | baselines3 steps/s | SB3 steps/s | ratio | baselines3 returns | SB3 returns |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for race in data.get("races", []):
        ours, theirs = race.get("baselines3"), race.get("sb3")
        ratio = race.get("ratio")
        lines.append(
            f"| `{race['race']}` | {_budget(int(race['steps']))} "
            f"| {_number(ours and ours['mean_steps_per_s'], 0)} | {_number(theirs and theirs['mean_steps_per_s'], 0)} "
            f"| {'-' if ratio is None else f'{ratio:.2f}x'} | {_returns(ours)} | {_returns(theirs)} |"
        )
    loads = [load for run in data.get("runs", []) for load in run.get("load_average", [])]
    if loads:
        lines += [
            "",
            f"1-minute load average at the start and end of the timed runs: {min(loads):.2f} to {max(loads):.2f} "
            f"(the race's own run counts about 1).",
        ]
    versions = data.get("versions")
    if versions:
        lines += ["", "Versions: " + ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))]
    if data.get("notes"):  # how the figures were taken, where one invocation did not give them all
        lines += ["", str(data["notes"])]
    return lines


def _threshold_text(row: Row) -> str:
    return "undefined" if row.threshold is None else _number(row.threshold)


def _returns(side: dict[str, Any] | None) -> str:
    if not side:
        return "-"
    text = ", ".join(f"{r:.0f}" for r in side["final_returns"])
    if any(b > f for b, f in zip(side.get("best_returns", []), side["final_returns"])):
        text += " (best " + ", ".join(f"{r:.0f}" for r in side["best_returns"]) + ")"
    return text


def normalized_finals(row: Row, finals: list[float]) -> np.ndarray:
    """Final scores on the row's scale: 0 is a random policy's score, 1 the published score."""
    if row.random_score is None:
        raise ValueError(f"{row.key} has no random score to normalize with")
    return normalize(finals, row.random_score, row.published)


def race_rows(speed_path: pathlib.Path, summaries: list[RowSummary]) -> dict[str, tuple[list[float], list[float]]]:
    """Row key -> (baselines3's, SB3's final returns) of the speed races that trained a row's algorithm on its env
    for its published budget with both libraries (`speed.json`, same harness and evaluation for both sides)."""
    if not speed_path.exists():
        return {}
    with open(speed_path) as handle:
        data = json.load(handle)
    by_key = {summary.row.key: summary.row for summary in summaries if summary.row.random_score is not None}
    found = {}
    for race in data.get("races", []):
        spec = RACES.get(race.get("race", ""))
        ours, theirs = race.get("baselines3"), race.get("sb3")
        row = spec and by_key.get(f"{spec.algo}:{spec.env_id}")
        if row and ours and theirs and int(race["steps"]) == row.budget:
            found[row.key] = ([float(r) for r in ours["final_returns"]], [float(r) for r in theirs["final_returns"]])
    return found


@dataclass
class Aggregate:
    """Normalized scores per label and row, their estimates, P(baselines3 > SB3) on the raced rows, and the
    figures' paths."""

    normalized: dict[str, dict[str, np.ndarray]]
    estimates: dict[str, dict[str, Estimate]]
    improvement: Estimate | None
    race_keys: list[str]
    images: dict[str, pathlib.Path]


def aggregate(
    summaries: list[RowSummary], speed_path: pathlib.Path, img_dir: pathlib.Path, sb3_version: str = ""
) -> Aggregate | None:
    """The aggregate figures over the rows run (None when no row has results): `AGGREGATE_IQM` (IQM, median, mean
    and optimality gap of the normalized final scores, all rows pooled, with stratified-bootstrap intervals) and
    `AGGREGATE_PROFILE` (performance profile); alongside, on the rows the speed race ran with both libraries,
    both libraries' race scores."""
    rows = [s for s in summaries if s.results and s.row.random_score is not None]
    if not rows:
        return None
    ours = {s.row.key: normalized_finals(s.row, s.finals) for s in rows}
    normalized = {f"baselines3 ({_rows_text(len(rows))})": ours}
    races = race_rows(speed_path, summaries)
    by_key = {s.row.key: s.row for s in summaries}
    improvement = None
    if races:
        count = _rows_text(len(races))
        sides = {f"baselines3, race ({count})": 0, f"SB3{sb3_version}, race ({count})": 1}
        for label, side in sides.items():
            normalized[label] = {key: normalized_finals(by_key[key], race[side]) for key, race in races.items()}
        improvement = probability_of_improvement([r[0] for r in races.values()], [r[1] for r in races.values()])
    images = {"iqm": pathlib.Path(img_dir) / AGGREGATE_IQM, "profile": pathlib.Path(img_dir) / AGGREGATE_PROFILE}
    estimates = save_aggregate_figure(normalized, images["iqm"], panels=("metrics",))
    save_aggregate_figure(normalized, images["profile"], panels=("profile",))
    return Aggregate(normalized, estimates, improvement, list(races), images)


def aggregate_section(result: Aggregate | None, output: pathlib.Path) -> list[str]:
    if result is None:
        return []

    def link(name: str) -> str:
        return os.path.relpath(result.images[name], pathlib.Path(output).parent).replace(os.sep, "/")

    lines = [
        "## Aggregate",
        "",
        "Every row's final scores (one per seed) on the row's own scale, 0 = a uniformly random policy's score and "
        "1 = the published score: `(score - random) / (published - random)`. Pooled over all rows and seeds: the "
        "interquartile mean (IQM), median, mean and optimality gap (mean shortfall below 1), each with a 95 % "
        "stratified-bootstrap interval (seeds resampled within each row, 2,000 resamples, seeded), as proposed by "
        "Agarwal et al. (2021) and drawn by `python -m zoo.plot --aggregate`; the statistics are in "
        "`zoo.aggregate` (re-exported by `benchmarks.stats`; the `rliable` package itself cannot be installed "
        "beside pandas 3).",
        "",
    ]
    if result.race_keys:
        lines += [
            "*race* rows: the rows the speed race below trained with both libraries for the published budget "
            f"({', '.join(result.race_keys)}), with both libraries' race scores (same settings, harness and "
            "10-episode evaluation), normalized the same way.",
            "",
        ]
    lines += ["| scores | IQM [95 % CI] | median | mean | optimality gap |", "|---|---|---|---|---|"]
    for label, by_metric in result.estimates.items():
        cells = [f"{e.point:.3f} [{e.low:.3f}, {e.high:.3f}]" for e in by_metric.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    if result.improvement is not None:
        e = result.improvement
        lines += [
            f"Probability of improvement on the race rows, P(baselines3 > SB3): **{e.point:.2f}** "
            f"[{e.low:.2f}, {e.high:.2f}] (the chance that a baselines3 seed scores above an SB3 seed on the same "
            "row, ties counting half, averaged over rows; 0.5 = neither is better).",
            "",
        ]
    lines += [
        f"![IQM, median, mean and optimality gap of the normalized scores]({link('iqm')})",
        "",
        "Performance profile: the fraction of runs (per row, averaged over rows) whose normalized score is above "
        "each tau, with its 95 % bootstrap band; a curve further up and right is better. Read just left of "
        "tau = 1, it is the share of runs that reach the published score (on CartPole 500 is also the most an "
        "episode can return, so no run scores above 1 there).",
        "",
        f"![Performance profile of the normalized scores]({link('profile')})",
        "",
    ]
    return lines


INTRO = """# Benchmarks

How close baselines3 comes to the published [RL Zoo](https://github.com/DLR-RM/rl-baselines3-zoo) scores when
trained with the zoo's own command. Each run is an ordinary `python -m zoo.train --algo A --env E --seed S`
(tuned hyperparameters from `zoo/hyperparams/`, the published training budget), so a number here is what a user
of the zoo gets. After training, the final model is evaluated deterministically for 10 episodes in the env it
trained in (its wrappers, frozen normalization statistics; returns before any normalization).

**Reading the table.** *Published* is the RL Zoo's score (one run, deterministic evaluation; older env versions
map to today's: LunarLander-v2 to v3, MuJoCo v3 to v5). A row **meets** it when our mean final evaluation over
seeds is at least *threshold* = `published - {tolerance} * (published - random)`, where *random* is the mean return
of a uniformly random policy on that env (`python -m benchmarks.rows --random-scores`, 100 episodes, seed 0).
*IQM* is the interquartile mean over seeds with a 95 % percentile-bootstrap interval (n/a below 3 seeds); with
3 seeds a quarter of the runs rounds down to none, so the IQM equals the mean and the interval is what it adds.
Every row trains 3 seeds; a row whose interval spans more than {wide_share:.0%} of its score range (published -
random) trains {wide_seeds}, as its verdict on 3 would rest on luck.
*Mean best eval* is the mean over seeds of the best periodic evaluation during training (5 episodes each); it is
context only, the verdict is on the final model.
*steps/s* is training steps per second of the training process's wall time, interpreter start and the periodic
evaluations included, with as many runs in parallel as the sweep used: it understates raw speed (for that, see
the speed race below and [Speed](speed.md)).

**Running a sweep.**

```bash
python -m benchmarks.run --list                          # rows, thresholds, seeds done or stopped part-way
python -m benchmarks.run --all-feasible --seeds 0 1 2    # every row that fits a small CPU (hours)
python -m benchmarks.run --rows ppo:LunarLander-v3 --seeds 0 1 2 --jobs 2
python -m benchmarks.report                              # this page and its plots
```

Each (row, seed) writes `benchmarks/results/<algo>/<env>/seed<S>.json` (scores, learning curve, wall time,
versions, git commit, resolved hyperparameters and the exact command); pairs whose file exists are skipped, so
an interrupted sweep resumes where it stopped. Runs checkpoint at every evaluation (model, replay buffer,
normalization statistics): a run that was stopped part-way continues from its newest checkpoint in the next
sweep (`zoo.train -i <checkpoint> -n <steps left>`), and its result lists the training processes; such runs are
named under the table, since a continued run cuts the episodes in progress and reseeds its envs. To spread a
sweep over machines, run `python -m benchmarks.run --rows ... --seeds ...` on each, copy the result files back
into `benchmarks/results/` and run the report: it reads nothing but those files. Run folders (models, monitor
files) go to `benchmarks/runs/`, which is not committed.

**Checking a gap against SB3.** When a row falls short, the same zoo entry can be trained with
Stable-Baselines3 (`pip install stable-baselines3`) and evaluated the same way:
`python -m benchmarks.sb3_check --algo dqn --env MountainCar-v0 --seeds 0 1 2`. What such checks found is listed
under the table as notes (`ROW_NOTES` in `benchmarks/rows.py`).
"""


def render(
    summaries: list[RowSummary],
    strays: list[str],
    images: dict[str, str],
    speed_lines: list[str],
    aggregate_lines: list[str] | None = None,
    side_by_side_lines: list[str] | None = None,
    tuned_lines: list[str] | None = None,
) -> str:
    """The Markdown page (no timestamps: the same result files give the same page)."""
    lines = [INTRO.format(tolerance=TOLERANCE, wide_share=WIDE_SHARE, wide_seeds=SEEDS_WANTED_WIDE).rstrip(), ""]
    run = [s for s in summaries if s.results]
    judged = [s for s in run if s.passed is not None]
    met = sum(bool(s.passed) for s in judged)
    lines += ["## Results", ""]
    summary_line = f"**{met} of {len(judged)} rows run meet the published score.**"
    if len(run) > len(judged):
        summary_line += f" {len(run) - len(judged)} more row(s) ran without a random score (no threshold)."
    feasible = [s for s in summaries if s.row.feasible]
    complete = [s for s in feasible if len(s.results) >= SEEDS_WANTED]
    lines += [
        summary_line,
        "",
        f"{len(complete)} of the {len(feasible)} rows that fit a 2-core CPU have all {SEEDS_WANTED} seeds; "
        f"{len(summaries) - len(feasible)} rows need MuJoCo, Atari on a GPU or many CPU-hours "
        "(listed under *Not run yet*).",
        "",
    ]
    if run:
        lines += [
            "| algo | env | budget | published | threshold | seeds | mean final | IQM [95 % CI] | mean best eval "
            "| steps/s | meets |",
            "|---|---|---:|---:|---:|---|---:|---|---:|---:|---|",
        ]
        for summary in run:
            row = summary.row
            lines.append(
                "| "
                + " | ".join(
                    [
                        row.algo.upper(),
                        row.env,
                        _budget(row.budget),
                        _number(row.published),
                        _threshold_text(row),
                        *score_cells(summary),
                    ]
                )
                + " |"
            )
        lines.append("")
    lines += _provenance(run)
    lines += _resumed(run)
    incomplete = [s for s in run if len(s.results) < s.seeds_wanted]
    if incomplete:
        lines += [
            f"Rows with fewer seeds than they need ({SEEDS_WANTED}; {SEEDS_WANTED_WIDE} for a row whose IQM interval "
            f"spans more than {WIDE_SHARE:.0%} of the env's score range, published - random), with the command "
            "that adds the missing ones:",
            "",
        ]
        for summary in incomplete:
            missing = [seed for seed in range(summary.seeds_wanted) if seed not in summary.seeds]
            wide = " (wide interval)" if summary.wide else ""
            lines.append(
                f"- {summary.row.key}{wide}: {len(summary.results)} seeds, `{run_command(summary.row, missing)}`"
            )
        lines.append("")
    notes = [(s.row.key, ROW_NOTES[s.row.key]) for s in run if s.row.key in ROW_NOTES]
    if notes:
        lines += ["Notes:", ""] + [f"- {key}: {note}" for key, note in notes] + [""]
    set_aside = [(s.row.key, note) for s in summaries for note in s.set_aside]
    if set_aside or strays:
        lines += ["Result files not counted:", ""]
        lines += [f"- {key}: {note}" for key, note in set_aside] + [f"- {note}" for note in strays]
        lines.append("")
    lines += tuned_lines or []
    lines += side_by_side_lines or []
    lines += aggregate_lines or []

    if images:
        lines += ["## Learning curves", ""]
        lines += [
            "Mean evaluation return during training (5 deterministic episodes every 1/20 of the budget) over "
            "seeds, with the min-max band; dotted lines are the published scores.",
            "",
        ]
        for env_id, image in images.items():
            lines += [f"### {env_id}", "", f"![{env_id} learning curves]({image})", ""]

    not_run = [s for s in summaries if not s.results]
    lines += ["## Not run yet", ""]
    if not_run:
        lines += [
            "Every published row without a result, with the command that runs it (3 seeds):",
            "",
            "| algo | env | budget | published | threshold | why not run | command |",
            "|---|---|---:|---:|---:|---|---|",
        ]
        for summary in not_run:
            row = summary.row
            why = row.reason if not row.feasible else "feasible, not run yet"
            if isinstance(zoo_budget(row.algo, row.env), str):
                why += f"; needs an entry in `zoo/hyperparams/{row.algo}.yml`"
            lines.append(
                f"| {row.algo.upper()} | {row.env} | {_budget(row.budget)} | {_number(row.published)} "
                f"| {_threshold_text(row)} | {why} "
                f"| `{run_command(row, list(range(SEEDS_WANTED)))}` |"
            )
    else:
        lines.append("Every published row has results.")
    lines += ["", "## Speed against Stable-Baselines3", "", *speed_lines, ""]
    return "\n".join(lines)


def _rows_text(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


def _sb3_version(speed_path: pathlib.Path) -> str:
    if not speed_path.exists():
        return ""
    with open(speed_path) as handle:
        version = (json.load(handle).get("versions") or {}).get("stable_baselines3")
    return f" {version}" if version else ""


def _resumed(run: list[RowSummary]) -> list[str]:
    """The runs trained in several processes (stopped, then continued from a checkpoint): not bit-for-bit the
    uninterrupted run (the episodes in progress were cut and the envs reseeded), so the page says which."""
    lines = []
    for summary in run:
        for result in summary.results:
            segments = result.get("segments") or []
            if len(segments) > 1:
                points = ", ".join(f"{segment['from_timestep']:,}" for segment in segments[1:])
                lines.append(
                    f"- {summary.row.key} seed {result['seed']}: {len(segments)} training processes, continued "
                    f"from checkpoints at {points} steps"
                )
    if not lines:
        return []
    return ["Runs that were stopped and continued from their newest checkpoint:", "", *lines, ""]


def _provenance(run: list[RowSummary]) -> list[str]:
    """Which versions and commits the counted results came from."""
    results = [result for summary in run for result in summary.results]
    if not results:
        return []
    versions = Counter(
        ", ".join(f"{k} {v}" for k, v in sorted((result.get("versions") or {}).items())) or "unknown"
        for result in results
    )
    commits = Counter(str(result.get("git_commit") or "unknown")[:12] for result in results)
    return [
        "Results from "
        + "; ".join(f"{text} ({count} run{'s' if count > 1 else ''})" for text, count in sorted(versions.items()))
        + ". Commits: "
        + ", ".join(f"`{commit}` ({count})" for commit, count in sorted(commits.items()))
        + ".",
        "",
    ]


def write_report(
    results: pathlib.Path = DEFAULT_RESULTS,
    output: pathlib.Path = DEFAULT_OUTPUT,
    img_dir: pathlib.Path = DEFAULT_IMG_DIR,
    speed: pathlib.Path | None = None,
    side_by_side: pathlib.Path | None = None,
    tuned: pathlib.Path | None = None,
    tuned_entries: pathlib.Path = TUNED_ENTRIES,
) -> list[RowSummary]:
    """Write the page and the plots (stale plots in `img_dir` are removed); return the row summaries. The
    side-by-side results are read from `side_by_side` (default: `results_side_by_side` beside `results`), our
    tuned entries' searches and validations from `tuned` (default: `results_tuned` beside `results`) and the
    entries accepted from `tuned_entries` (`zoo/hyperparams/tuned/`)."""
    summaries, strays = summarize(load_results(results))
    by_env: dict[str, list[RowSummary]] = {}
    for summary in summaries:
        if summary.results:
            by_env.setdefault(summary.row.env, []).append(summary)
    images: dict[str, str] = {}
    written = set()
    for env_id, env_summaries in by_env.items():
        path = pathlib.Path(img_dir) / f"{env_id.replace('/', '-')}.png"
        if plot_env(env_id, env_summaries, path):
            images[env_id] = os.path.relpath(path, pathlib.Path(output).parent).replace(os.sep, "/")
            written.add(path.name)
    speed_path = pathlib.Path(speed) if speed is not None else pathlib.Path(results) / SPEED_FILE
    aggregated = aggregate(summaries, speed_path, pathlib.Path(img_dir), _sb3_version(speed_path))
    if aggregated is not None:
        written.update(path.name for path in aggregated.images.values())
        for line in describe(aggregated.estimates, aggregated.normalized):
            print(line)
    if pathlib.Path(img_dir).is_dir():
        for stale in pathlib.Path(img_dir).glob("*.png"):
            if stale.name not in written:
                stale.unlink()
    side_lines = side_by_side_section(_side_by_side_folder(results, side_by_side))
    rl_zoo = {s.row.key: list(zip(s.seeds, s.finals)) for s in summaries if s.results}
    tuned_folder = pathlib.Path(tuned) if tuned is not None else pathlib.Path(results).parent / TUNED_RESULTS
    tuned_lines = tuned_section(rl_zoo, tuned_folder, tuned_entries)
    text = render(
        summaries,
        strays,
        images,
        speed_section(speed_path),
        aggregate_section(aggregated, output),
        side_lines,
        tuned_lines,
    )
    pathlib.Path(output).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(output).write_text(text)
    return summaries


# ---------------------------------------------------------------- same budget, side by side

#: Folder of the side-by-side results, beside the results folder (`python -m benchmarks.side_by_side` writes it).
SIDE_BY_SIDE_RESULTS = "results_side_by_side"
#: Folder of our tuned entries' searches and validations, beside the results folder (`python -m benchmarks.tuned`).
TUNED_RESULTS = "results_tuned"
#: The side-by-side section sits between these two lines, so that it can be rewritten alone.
SIDE_BY_SIDE_START = "<!-- side-by-side:start -->"
SIDE_BY_SIDE_END = "<!-- side-by-side:end -->"
OURS, THEIRS = "baselines3", "sb3"


@dataclass(frozen=True)
class SideVerdict:
    """`status`: "pass", "FAIL", "running" (some seeds done) or "not started"; once judged, `difference` is our
    IQM less SB3's and `margin` the half-width of SB3's 95 % interval."""

    status: str
    difference: float | None = None
    margin: float | None = None


def side_by_side_verdict(ours: list[float], theirs: list[float], seeds_wanted: int = SEEDS_WANTED) -> SideVerdict:
    """Judge a row once both libraries have `seeds_wanted` final scores: pass when `IQM(ours) >= IQM(SB3) - h`,
    with h half the width of the 95 % percentile-bootstrap interval of SB3's IQM over its seeds (with 3 seeds,
    half the range of SB3's scores): ours is not below SB3 by more than SB3's own seed-to-seed spread."""
    if len(ours) < seeds_wanted or len(theirs) < seeds_wanted:
        return SideVerdict("running" if ours or theirs else "not started")
    ci = bootstrap_ci(theirs)
    if ci is None:  # only when seeds_wanted is below the CI's minimum
        raise ValueError(f"side_by_side_verdict needs at least 3 seeds a side, got seeds_wanted={seeds_wanted}")
    margin = (ci[1] - ci[0]) / 2
    difference = iqm(ours) - iqm(theirs)
    return SideVerdict("pass" if difference >= -margin else "FAIL", difference, margin)


@dataclass
class SideBySideRow:
    """A row trained by both libraries for its side-by-side budget: each library's results, by seed."""

    algo: str
    env: str
    budget: int
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.algo}:{self.env}"

    def seeds(self, library: str) -> list[int]:
        return sorted(int(result["seed"]) for result in self.results.get(library, []))

    def finals(self, library: str) -> list[float]:
        ordered = sorted(self.results.get(library, []), key=lambda result: int(result["seed"]))
        return [float(result["final_eval"]["mean"]) for result in ordered]

    @property
    def verdict(self) -> SideVerdict:
        return side_by_side_verdict(self.finals(OURS), self.finals(THEIRS))


def load_side_by_side(folder: pathlib.Path) -> list[dict[str, Any]]:
    """Every `<folder>/<library>/<algo>/<env>/seed<S>.json`, sorted by path; none when the folder is missing (the
    section then says how to produce them)."""
    found = []
    for path in sorted(pathlib.Path(folder).glob("*/*/*/seed*.json")):
        with open(path) as handle:
            data = json.load(handle)
        missing = {"library", "algo", "env", "seed", "budget", "final_eval"} - set(data)
        if missing:
            raise ValueError(f"{path} is not a side-by-side result: missing {sorted(missing)}")
        if data["library"] not in LIBRARIES:
            raise ValueError(f"{path}: unknown library {data['library']!r} (expected one of {', '.join(LIBRARIES)})")
        data["_path"] = str(path)
        found.append(data)
    return found


def summarize_side_by_side(results: list[dict[str, Any]]) -> tuple[list[SideBySideRow], list[str]]:
    """The default rows (in their order), then any other row with results, each at its side-by-side budget;
    results of another budget (smoke tests) are set aside with a note (second value)."""
    rows = {}
    for key in SIDE_BY_SIDE_ROWS:
        algo, _, env = key.partition(":")
        rows[key] = SideBySideRow(algo, env, default_budget(algo, env))
    set_aside = []
    for result in results:
        key = f"{result['algo']}:{result['env']}"
        try:
            budget = rows[key].budget if key in rows else default_budget(result["algo"], result["env"])
        except ValueError as error:  # no zoo entry any more
            set_aside.append(f"{result['_path']}: {error}")
            continue
        if int(result["budget"]) != budget:
            set_aside.append(
                f"{result['library']} {key} seed {result['seed']}: trained {int(result['budget']):,} steps, not the "
                f"side-by-side budget {budget:,}"
            )
            continue
        row = rows.setdefault(key, SideBySideRow(result["algo"], result["env"], budget))
        row.results.setdefault(result["library"], []).append(result)
    return list(rows.values()), set_aside


SIDE_BY_SIDE_INTRO = """## Same budget, side by side

The MuJoCo rows trained with baselines3 and with Stable-Baselines3 on the same zoo entry, for a budget that fits a
2-core CPU: 200k steps for SAC and TD3 and 1M for PPO and A2C, 3 seeds per library. The published SAC and TD3
runs train 1M steps, so these scores are compared with each other only, not with the table above. Both libraries
go through one harness, `benchmarks/side_by_side.py`, in which the library is the only thing that changes: the env
and its VecNormalize are built from the entry by the library's own `make_vec_env` and `VecNormalize`, the model by
the library's class with the entry's keywords, the seed and `device="cpu"`, each run in its own process at one
torch thread. The final model of every run is evaluated by the same function for both libraries: 10
deterministic episodes of `gym.make(env)`, reset with seed 10000 + seed once, observations passed through the
run's frozen normalization statistics, returns summed from the env's own rewards. Each library runs as a user
gets it: from commit c663c48 on, baselines3's SAC and TD3 compile their gradient step in a `learn()` call of
100k steps or more (the same float32 step to round-off), and each training process records in its result file's
`segments` whether it did (`compiled_step`). A stopped run's continuation compiles when the whole run would
have, whatever its own length (the earliest continued runs trained a rest shorter than 100k steps eagerly;
their segments say so).

**Verdict.** With *IQM* the interquartile mean of a library's final scores over its seeds and *h* half the width
of the 95 % percentile-bootstrap interval of SB3's IQM (10,000 resamples, seeded; with 3 seeds the interval runs
from SB3's lowest to its highest score, so *h* is half their range), a row **passes** when
`IQM(baselines3) >= IQM(SB3) - h`: our score is not below SB3's by more than SB3's own seed-to-seed spread; it
**FAILs** otherwise. A row is judged once both libraries have 3 seeds; until then it is *running* (or *not
started*) and is listed under the table with the command that completes it. *steps/s* is training steps per
second of wall time (checkpoints included, evaluation not), mean over seeds, with the other runs of the sweep and
whatever else ran on the machine beside it.

**Running it.** The sweep takes many CPU hours; it can be stopped at any time and started again with the same
command.

<!-- no-run: trains for many CPU hours -->
```bash
python -m benchmarks.side_by_side --list         # each library, row and seed: done, or how far it got
mkdir -p benchmarks/runs && nohup nice -n 10 python -m benchmarks.side_by_side --jobs 1 \
    > benchmarks/runs/side_by_side.log 2>&1 &    # all of it, in the background
python -m benchmarks.side_by_side --estimate 1000  # steps/s of each row and library, hours per run
python -m benchmarks.report --side-by-side-only  # this section, from the result files alone
```

Every tenth of the budget a run saves a checkpoint in `benchmarks/runs/side_by_side/<library>/<algo>/<env>/seed<S>/`
(not committed) with the library's own functions (the model; the replay buffer of SAC and TD3; the VecNormalize
statistics of PPO and A2C), and last a manifest that marks it complete. Run again, the command skips the runs
whose result file exists and continues the others from their newest complete checkpoint with
`learn(steps left, reset_num_timesteps=False)` (so schedules still span the whole budget), reseeded from seed +
steps done; episodes in progress at the stop are cut, so a continued run is not bit for bit the uninterrupted one.
Each run writes `benchmarks/results_side_by_side/<library>/<algo>/<env>/seed<S>.json`: the final evaluation,
training wall time and steps/s, each training process as a segment, versions and commit. `--n-timesteps N`
trains short runs for a smoke test (give them their own `--results`: a result of another budget is refused, not
overwritten).
"""


def _iqm_cell(finals: list[float]) -> str:
    if not finals:
        return "-"
    ci = bootstrap_ci(finals)
    return f"{iqm(finals):,.1f} " + ("CI n/a" if ci is None else f"[{ci[0]:,.1f}, {ci[1]:,.1f}]")


def _speed(row: SideBySideRow, library: str) -> str:
    rates = [float(result["steps_per_s"]) for result in row.results.get(library, []) if "steps_per_s" in result]
    return _number(float(np.mean(rates)), 0) if rates else "-"


def side_by_side_section(folder: pathlib.Path) -> list[str]:
    """The section, between its markers: how the runs are made and judged, the table, the rows not complete yet
    with the command that completes them, and the result files not counted."""
    rows, set_aside = summarize_side_by_side(load_side_by_side(folder))
    results = [result for row in rows for side in row.results.values() for result in side]
    sb3_versions = sorted({str(r.get("version")) for r in results if r["library"] == THEIRS and r.get("version")})
    sb3 = "SB3" + (f" {', '.join(sb3_versions)}" if sb3_versions else "")
    lines = [SIDE_BY_SIDE_START, SIDE_BY_SIDE_INTRO.rstrip(), ""]
    if not results:
        lines += [f"No side-by-side results counted yet in `{display_path(folder)}`: start the sweep above.", ""]
    lines += [
        f"| algo | env | budget | baselines3 IQM [95 % CI] | {sb3} IQM [95 % CI] | seeds (ours / SB3) "
        "| ours - SB3 (h) | steps/s (ours / SB3) | verdict |",
        "|---|---|---:|---|---|---|---:|---:|---|",
    ]
    for row in rows:
        verdict = row.verdict
        seeds = " / ".join(" ".join(map(str, row.seeds(lib))) or "-" for lib in (OURS, THEIRS))
        difference = "-"
        if verdict.difference is not None and verdict.margin is not None:
            difference = f"{verdict.difference:+,.1f} ({verdict.margin:,.1f})"
        status = f"**{verdict.status}**" if verdict.status in ("pass", "FAIL") else verdict.status
        lines.append(
            f"| {row.algo.upper()} | {row.env} | {_budget(row.budget)} | {_iqm_cell(row.finals(OURS))} "
            f"| {_iqm_cell(row.finals(THEIRS))} | {seeds} | {difference} "
            f"| {_speed(row, OURS)} / {_speed(row, THEIRS)} | {status} |"
        )
    lines.append("")
    judged = [row for row in rows if row.verdict.status in ("pass", "FAIL")]
    if judged:
        passed = sum(row.verdict.status == "pass" for row in judged)
        improvement = probability_of_improvement([r.finals(OURS) for r in judged], [r.finals(THEIRS) for r in judged])
        lines += [
            f"**{passed} of {len(judged)} judged {'row passes' if len(judged) == 1 else 'rows pass'}.** Over "
            f"{'it' if len(judged) == 1 else 'them'}, the probability of improvement P(baselines3 > SB3), the chance "
            "that a baselines3 seed scores above an SB3 seed on the same row (ties counting half, averaged over "
            f"rows; 0.5 = neither is better): **{improvement.point:.2f}** [{improvement.low:.2f}, "
            f"{improvement.high:.2f}] (95 % stratified bootstrap, 2,000 resamples).",
            "",
        ]
    running = [row for row in rows if row.verdict.status == "running"]
    not_started = [row.key for row in rows if row.verdict.status == "not started"]
    if running or not_started:
        lines += ["Rows not complete yet, with the command that completes them:", ""]
        if not_started:
            command = sweep_command(not_started, list(range(SEEDS_WANTED)), list(LIBRARIES), None)
            lines.append(f"- not started: `{command}`")
        for row in running:
            missing_libraries = [lib for lib in LIBRARIES if len(row.seeds(lib)) < SEEDS_WANTED]
            missing_seeds = sorted(
                {seed for lib in missing_libraries for seed in range(SEEDS_WANTED) if seed not in row.seeds(lib)}
            )
            command = sweep_command([row.key], missing_seeds, missing_libraries, None)
            lines.append(f"- {row.key} (running): `{command}`")
        lines.append("")
    resumed = [r for r in results if len(r.get("segments") or []) > 1]
    if results:
        counts = Counter(f"{r['library']} {r.get('version', '?')}" for r in results)
        lines += [
            "Results from "
            + ", ".join(f"{name} ({count} runs)" for name, count in sorted(counts.items()))
            + f"; {len(resumed)} of them stopped and continued from a checkpoint.",
            "",
        ]
    if set_aside:
        lines += ["Side-by-side result files not counted:", "", *[f"- {note}" for note in set_aside], ""]
    lines.append(SIDE_BY_SIDE_END)
    lines.append("")
    return lines


def _side_by_side_folder(results: pathlib.Path, side_by_side: pathlib.Path | None) -> pathlib.Path:
    return (
        pathlib.Path(side_by_side) if side_by_side is not None else pathlib.Path(results).parent / SIDE_BY_SIDE_RESULTS
    )


def update_side_by_side(output: pathlib.Path, folder: pathlib.Path) -> list[SideBySideRow]:
    """Rewrite only the side-by-side section of the page at `output` (between its markers; without them, it goes
    before the aggregate, else before the learning curves or the rows not run yet, else at the end), leaving the
    rest of the page and the plots as they are. Returns the section's rows."""
    path = pathlib.Path(output)
    if not path.exists():
        raise ValueError(f"no page {path} to update (python -m benchmarks.report writes the whole page)")
    text = path.read_text()
    section = "\n".join(side_by_side_section(folder))
    start, end = text.find(SIDE_BY_SIDE_START), text.find(SIDE_BY_SIDE_END)
    if start >= 0 and end > start:
        after = text[end + len(SIDE_BY_SIDE_END) :].lstrip("\n")
        text = text[:start] + section + "\n" + after
    else:
        for heading in ("## Aggregate", "## Learning curves", "## Not run yet"):
            index = text.find(f"\n{heading}\n")
            if index >= 0:
                text = text[: index + 1] + section + "\n" + text[index + 1 :]
                break
        else:
            text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
    return summarize_side_by_side(load_side_by_side(folder))[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/benchmarks.md from the benchmark result files")
    parser.add_argument("--results", type=pathlib.Path, default=DEFAULT_RESULTS)
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--img-dir", type=pathlib.Path, default=DEFAULT_IMG_DIR)
    parser.add_argument("--speed", type=pathlib.Path, default=None, help="default: <results>/speed.json")
    parser.add_argument(
        "--side-by-side",
        type=pathlib.Path,
        default=None,
        help=f"side-by-side results (default: {SIDE_BY_SIDE_RESULTS} beside --results)",
    )
    parser.add_argument(
        "--tuned",
        type=pathlib.Path,
        default=None,
        help=f"searches and validations of our tuned entries (default: {TUNED_RESULTS} beside --results)",
    )
    parser.add_argument(
        "--side-by-side-only",
        action="store_true",
        help="rewrite only the side-by-side section of --output (the rest of the page and its plots stay)",
    )
    args = parser.parse_args(argv)
    try:
        if args.side_by_side_only:
            side_rows = update_side_by_side(args.output, _side_by_side_folder(args.results, args.side_by_side))
            statuses = Counter(row.verdict.status for row in side_rows)
            print(
                f"Updated the side-by-side section of {display_path(args.output)}: {statuses['pass']} pass, "
                f"{statuses['FAIL']} FAIL, {statuses['running'] + statuses['not started']} not complete"
            )
            return 0
        summaries = write_report(args.results, args.output, args.img_dir, args.speed, args.side_by_side, args.tuned)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    judged = [s for s in summaries if s.passed is not None]
    run = sum(bool(s.results) for s in summaries)
    print(
        f"Wrote {display_path(args.output)}: {sum(bool(s.passed) for s in judged)} of {len(judged)} rows run meet "
        f"the published score ({run} of {len(summaries)} rows have results)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

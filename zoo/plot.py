"""Training curves from zoo runs: episode return against timesteps, mean and spread over runs (seeds); and
aggregate plots of final scores over several algorithms and envs.

    python -m zoo.plot --algos ppo a2c --env CartPole-v1 -o cartpole.png
    python -m zoo.plot --algos dqn --env CartPole-v1 --source evaluations -o dqn_eval.png
    python -m zoo.plot --aggregate --algos ppo a2c --env CartPole-v1 Acrobot-v1 -o aggregate.png
    python -m zoo.plot --aggregate --results benchmarks/results -o aggregate.png

Curves: each algorithm is one curve: every run folder `<folder>/<algo>/<env>_<N>` contributes its monitor CSVs
(training episodes, smoothed over `--window` episodes) or its `evaluations.npz` (`--source evaluations`); runs are
interpolated onto a common timestep grid, and the curve shows their mean with a min-max band.

Aggregate (`--aggregate`, the RL Zoo's rliable plots): each run's final score (the mean return of its last
evaluation in `evaluations.npz`, or, without one or with `--source monitor`, the mean of its last `--window`
training episodes), or the final evaluations of benchmark result files (`--results`), normalized per env (by
default 0 at the worst run shown and 1 at the best; `--score-range ENV=LOW,HIGH` sets an env's range, e.g. a random
policy's score and a reference score). One figure: per algorithm the IQM, median, mean and optimality gap over
runs x envs with 95 % stratified-bootstrap intervals, the performance profile (fraction of runs above each
normalized score, with its band) and, with 2+ algorithms, the probability that one improves on another (on the
envs both ran). The statistics are in `zoo.aggregate`.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from baselines3.common.monitor import load_results
from baselines3.common.results_plotter import X_TIMESTEPS, ts2xy, window_func
from zoo.aggregate import (
    METRICS,
    Estimate,
    aggregate_estimates,
    common_tasks,
    normalize,
    performance_profile,
    probability_of_improvement,
)
from zoo.config import ALGOS, ConfigError
from zoo.runs import env_folder_name

#: label -> task (env or benchmark row) -> scores of its runs
Scores = Mapping[str, Mapping[str, Sequence[float] | np.ndarray]]


def run_folders(folder: str, algo: str, env_id: str) -> list[pathlib.Path]:
    # every run folder, numbered or with a -uuid suffix
    return sorted(p for p in (pathlib.Path(folder) / algo).glob(f"{env_folder_name(env_id)}_*") if p.is_dir())


def run_curve(run: pathlib.Path, source: str, window: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(timesteps, returns) of one run, or None when it has no data of that kind."""
    if source == "evaluations":
        path = run / "evaluations.npz"
        if not path.exists():
            return None
        with np.load(path) as data:
            return data["timesteps"].astype(float), data["results"].mean(axis=1)
    if not list(run.glob("*.monitor.csv")):
        return None
    x, y = ts2xy(load_results(str(run)), X_TIMESTEPS)
    if len(y) >= window > 1:
        x, y = window_func(x, y, window, np.mean)
    return x.astype(float), y.astype(float)


def mean_and_band(curves: list[tuple[np.ndarray, np.ndarray]], points: int = 200) -> tuple[np.ndarray, ...]:
    """Curves interpolated onto a common grid (up to the shortest run): (grid, mean, min, max)."""
    end = min(x[-1] for x, _ in curves)
    start = max(x[0] for x, _ in curves)
    grid = np.linspace(start, end, points) if end > start else np.array([end])
    values = np.stack([np.interp(grid, x, y) for x, y in curves])
    return grid, values.mean(axis=0), values.min(axis=0), values.max(axis=0)


def plot(args: argparse.Namespace) -> pathlib.Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    plotted = 0
    for algo in args.algos:
        runs = run_folders(args.folder, algo, args.env)
        curves = [c for c in (run_curve(r, args.source, args.window) for r in runs) if c is not None and len(c[0])]
        if not curves:
            print(f"no {args.source} data for {algo} on {args.env} in {args.folder}", file=sys.stderr)
            continue
        grid, mean, low, high = mean_and_band(curves)
        axes.plot(grid, mean, label=f"{algo} ({len(curves)} runs)")
        axes.fill_between(grid, low, high, alpha=0.2)
        plotted += 1
    if not plotted:
        raise ConfigError(f"Nothing to plot for {args.env} in {args.folder}")
    axes.set_xlabel("timesteps")
    axes.set_ylabel("episode return" + (" (evaluation)" if args.source == "evaluations" else ""))
    axes.set_title(args.env)
    axes.legend()
    output = pathlib.Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return output


# ---------------------------------------------------------------- aggregate plots


def final_score(run: pathlib.Path, source: str, window: int) -> float | None:
    """A run's final score: the mean return of its last evaluation (`evaluations`), the mean of its last `window`
    training episodes (`monitor`), or the first of these it has (`auto`); None when it has neither."""
    path = run / "evaluations.npz"
    if source in ("evaluations", "auto") and path.exists():
        with np.load(path) as data:
            if len(data["results"]):
                return float(np.mean(data["results"][-1]))
    if source in ("monitor", "auto") and list(run.glob("*.monitor.csv")):
        returns = load_results(str(run))["r"].to_numpy(dtype=float)
        if len(returns):
            return float(np.mean(returns[-max(window, 1) :]))
    return None


def run_scores(folder: str, algos: Sequence[str], env_ids: Sequence[str], source: str, window: int) -> dict:
    """algo -> env -> final scores of its run folders (envs without any scored run are left out)."""
    scores: dict[str, dict[str, list[float]]] = {}
    for algo in algos:
        for env_id in env_ids:
            finals = [final_score(run, source, window) for run in run_folders(folder, algo, env_id)]
            values = [value for value in finals if value is not None]
            if values:
                scores.setdefault(algo, {})[env_id] = values
            else:
                print(f"no final scores for {algo} on {env_id} in {folder}", file=sys.stderr)
    return scores


def result_scores(results: str, algos: Sequence[str] | None = None, env_ids: Sequence[str] | None = None) -> dict:
    """algo -> env -> final evaluation means of the benchmark result files `<results>/<algo>/<env>/seed<S>.json`
    (as `python -m benchmarks.run` writes them), optionally only for `algos` and `env_ids`."""
    scores: dict[str, dict[str, list[float]]] = {}
    for path in sorted(pathlib.Path(results).glob("*/*/seed*.json")):
        data = json.loads(path.read_text())
        algo, env_id = str(data.get("algo", path.parent.parent.name)), str(data.get("env", path.parent.name))
        if (algos and algo not in algos) or (env_ids and env_id not in env_ids) or "final_eval" not in data:
            continue
        scores.setdefault(algo, {}).setdefault(env_id, []).append(float(data["final_eval"]["mean"]))
    return scores


def score_ranges(scores: Scores, given: Mapping[str, tuple[float, float]] | None = None) -> dict:
    """Per task, the (low, high) that normalization maps to 0 and 1: `given` where it names the task, otherwise
    the lowest and highest score of any run of any label on it."""
    ranges: dict[str, tuple[float, float]] = dict(given or {})
    for task in dict.fromkeys(task for per_label in scores.values() for task in per_label):
        if task not in ranges:
            values = [value for per_label in scores.values() for value in per_label.get(task, [])]
            ranges[task] = (min(values), max(values))
    return ranges


def normalize_scores(scores: Scores, ranges: Mapping[str, tuple[float, float]] | None) -> dict:
    """Scores mapped to [low, high] -> [0, 1] per task (`ranges`; None: unchanged). A task whose runs all scored
    the same under a min-max range has nothing to tell apart: its runs are all 1."""
    normalized: dict[str, dict[str, np.ndarray]] = {}
    for label, per_task in scores.items():
        for task, values in per_task.items():
            if ranges is None:
                normalized.setdefault(label, {})[task] = np.asarray(values, dtype=float)
                continue
            low, high = ranges[task]
            normalized.setdefault(label, {})[task] = (
                np.ones(len(values)) if high == low else normalize(values, low, high)
            )
    return normalized


def _interval_axes(axes: Any, rows: Sequence[tuple[str, Estimate]], colors: Sequence[str], title: str) -> None:
    for index, ((_, estimate), color) in enumerate(zip(rows, colors)):
        axes.barh(index, estimate.high - estimate.low, left=estimate.low, height=0.6, color=color, alpha=0.6)
        axes.plot([estimate.point] * 2, [index - 0.3, index + 0.3], color="black", linewidth=2)
        axes.annotate(
            f"{estimate.point:.2f}",
            (estimate.high, index),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
        )
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels([label for label, _ in rows])
    axes.set_ylim(len(rows) - 0.5, -0.5)
    axes.set_title(title, fontsize="medium")
    axes.grid(axis="x", alpha=0.3)
    axes.margins(x=0.15)


def draw_interval_estimates(axes_row: Sequence[Any], estimates: Mapping[str, Mapping[str, Estimate]]) -> None:
    """One panel per metric (`METRICS` order): per label its interval as a bar and its point estimate as a tick."""
    labels = list(estimates)
    colors = [f"C{index}" for index in range(len(labels))]
    for column, (axes, metric) in enumerate(zip(axes_row, METRICS)):
        _interval_axes(axes, [(label, estimates[label][metric]) for label in labels], colors, metric)
        if column:
            axes.set_yticklabels([])
        axes.set_xlabel("normalized score")


def profile_grid(normalized: Mapping[str, Mapping[str, np.ndarray]], points: int = 201) -> np.ndarray:
    """Thresholds from min(0, lowest score) to max(1, highest score)."""
    values = np.concatenate([task for per_task in normalized.values() for task in per_task.values()])
    return np.linspace(min(0.0, float(values.min())), max(1.0, float(values.max())), points)


def draw_performance_profile(
    axes: Any, normalized: Mapping[str, Mapping[str, np.ndarray]], seed: int = 0, n_resamples: int = 2000
) -> None:
    """The fraction of runs scoring above each normalized score tau, per label, with its 95 % bootstrap band."""
    taus = profile_grid(normalized)
    for index, (label, per_task) in enumerate(normalized.items()):
        fraction, low, high = performance_profile(list(per_task.values()), taus, seed=seed, n_resamples=n_resamples)
        axes.plot(taus, fraction, color=f"C{index}", label=label)
        axes.fill_between(taus, low, high, color=f"C{index}", alpha=0.2, linewidth=0)
    axes.set_xlabel(r"normalized score $\tau$")
    axes.set_ylabel(r"fraction of runs with score > $\tau$")
    axes.set_ylim(-0.02, 1.02)
    axes.set_title("Performance profile", fontsize="medium")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize="small")


def improvement_pairs(scores: Scores, seed: int = 0, n_resamples: int = 2000) -> dict[str, Estimate]:
    """`"X vs Y"` -> P(X > Y) on the tasks both ran, for every ordered-once pair of labels that share a task."""
    labels, pairs = list(scores), {}
    for first, x in enumerate(labels):
        for y in labels[first + 1 :]:
            tasks = common_tasks(scores, [x, y])
            if tasks:
                pairs[f"{x} vs {y}"] = probability_of_improvement(
                    [scores[x][task] for task in tasks],
                    [scores[y][task] for task in tasks],
                    seed=seed,
                    n_resamples=n_resamples,
                )
    return pairs


def draw_probability_of_improvement(axes: Any, pairs: Mapping[str, Estimate]) -> None:
    """Per pair `X vs Y` the probability that a run of X scores above one of Y, with its 95 % interval."""
    _interval_axes(axes, list(pairs.items()), [f"C{index}" for index in range(len(pairs))], "")
    axes.axvline(0.5, color="grey", linestyle=":", linewidth=1)
    axes.set_xlim(0.0, 1.1)
    axes.set_xlabel("P(X > Y)")
    axes.set_title("Probability of improvement", fontsize="medium")


def aggregate_estimates_by_label(
    normalized: Mapping[str, Mapping[str, np.ndarray]], seed: int = 0, n_resamples: int = 2000
) -> dict[str, dict[str, Estimate]]:
    return {
        label: aggregate_estimates(list(per_task.values()), seed=seed, n_resamples=n_resamples)
        for label, per_task in normalized.items()
    }


def save_aggregate_figure(
    normalized: Mapping[str, Mapping[str, np.ndarray]],
    path: pathlib.Path,
    panels: Sequence[str] = ("metrics", "profile", "improvement"),
    title: str = "",
    seed: int = 0,
    n_resamples: int = 2000,
) -> dict[str, dict[str, Estimate]]:
    """Draw the aggregate `panels` of normalized scores (label -> task -> runs) into `path`: `metrics` (IQM,
    median, mean, optimality gap with intervals), `profile` (performance profile) and `improvement`
    (probability of improvement; drawn with 2+ labels that share a task). Returns the metric estimates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    estimates = aggregate_estimates_by_label(normalized, seed, n_resamples)
    pairs = improvement_pairs(normalized, seed, n_resamples) if "improvement" in panels else {}
    bottom = [panel for panel in ("profile", "improvement") if panel in panels and (panel != "improvement" or pairs)]
    rows = int("metrics" in panels) + int(bool(bottom))
    label_height = 0.45 * max(len(normalized), len(pairs), 2)
    heights = ([label_height + 1.2] if "metrics" in panels else []) + ([4.0] if bottom else [])
    figure = plt.figure(figsize=(13, sum(heights) + 0.6 * bool(title)))
    grid = figure.add_gridspec(rows, 4, height_ratios=heights)
    if "metrics" in panels:
        draw_interval_estimates([figure.add_subplot(grid[0, column]) for column in range(4)], estimates)
    for index, panel in enumerate(bottom):
        span = slice(0, 4) if len(bottom) == 1 and panel == "profile" else slice(2 * index, 2 * index + 2)
        axes = figure.add_subplot(grid[rows - 1, span])
        if panel == "profile":
            draw_performance_profile(axes, normalized, seed, n_resamples)
        else:
            draw_probability_of_improvement(axes, pairs)
    if title:
        figure.suptitle(title, fontsize="medium")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(figure)
    return estimates


def describe(estimates: Mapping[str, Mapping[str, Estimate]], normalized: Mapping[str, Mapping]) -> list[str]:
    """One line per label: its tasks and runs and each metric with its interval."""
    lines = []
    for label, by_metric in estimates.items():
        runs = sum(len(values) for values in normalized[label].values())
        text = ", ".join(f"{metric} {e.point:.3f} [{e.low:.3f}, {e.high:.3f}]" for metric, e in by_metric.items())
        lines.append(f"{label} ({len(normalized[label])} tasks, {runs} runs): {text}")
    return lines


def _parse_ranges(items: Sequence[str]) -> dict[str, tuple[float, float]]:
    ranges = {}
    for item in items:
        env_id, sep, bounds = item.rpartition("=")
        try:
            low, high = (float(bound) for bound in bounds.split(","))
        except ValueError:
            low = high = float("nan")
        if not sep or not env_id or not np.isfinite([low, high]).all() or low == high:
            raise ConfigError(f"--score-range takes ENV=LOW,HIGH with two different numbers, got {item!r}")
        ranges[env_id] = (low, high)
    return ranges


def plot_aggregate(args: argparse.Namespace) -> pathlib.Path:
    given_ranges = _parse_ranges(args.score_range)
    if args.results:
        if not pathlib.Path(args.results).is_dir():
            raise ConfigError(f"No results folder {args.results}")
        scores = result_scores(args.results, args.algos, args.env)
    else:
        if not args.algos or not args.env:
            raise ConfigError("--aggregate reads run folders for --algos and --env (several), or --results DIR")
        scores = run_scores(args.folder, args.algos, args.env, args.source or "auto", args.window)
    where = args.results or args.folder
    if not scores:
        raise ConfigError(f"Nothing to plot: no final scores in {where}")
    ranges = None if args.normalize == "none" else score_ranges(scores, given_ranges)
    normalized = normalize_scores(scores, ranges)
    output = pathlib.Path(args.output)
    estimates = save_aggregate_figure(normalized, output, title=f"{len(ranges or scores)} envs, from {where}")
    for line in describe(estimates, normalized):
        print(line)
    for pair, estimate in improvement_pairs(normalized).items():
        print(f"P({pair.replace(' vs ', ' > ')}) = {estimate.point:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Plot training curves of zoo runs, or aggregate plots of scores")
    parser.add_argument("--algos", nargs="+", choices=ALGOS)
    parser.add_argument("--env", "--envs", nargs="+", dest="env", help="one env (curves) or several (--aggregate)")
    parser.add_argument("-f", "--folder", default="logs")
    parser.add_argument(
        "--source",
        choices=["monitor", "evaluations"],
        default=None,
        help="default: monitor for curves; for --aggregate the last evaluation, or the monitor files without one",
    )
    parser.add_argument("--window", type=int, default=10, help="episodes to average over (monitor curves and scores)")
    parser.add_argument("-o", "--output", default=None, help="default: training_curves.png or aggregate.png")
    parser.add_argument("--aggregate", action="store_true", help="aggregate plots of final scores over envs")
    parser.add_argument("--results", default=None, help="with --aggregate: read benchmark result files here")
    parser.add_argument(
        "--normalize",
        choices=["minmax", "none"],
        default="minmax",
        help="per env: 0 at the worst run and 1 at the best (default), or raw scores",
    )
    parser.add_argument(
        "--score-range",
        nargs="+",
        default=[],
        metavar="ENV=LOW,HIGH",
        help="scores that map to 0 and 1 on ENV (e.g. a random policy's and a reference score)",
    )
    args = parser.parse_args(argv)
    try:
        if args.aggregate:
            args.output = args.output or "aggregate.png"
            output = plot_aggregate(args)
        else:
            if not args.algos or not args.env or len(args.env) != 1:
                parser.error("training curves need --algos and one --env")
            args.env, args.source = args.env[0], args.source or "monitor"
            args.output = args.output or "training_curves.png"
            output = plot(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Saved the plot to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

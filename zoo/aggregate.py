"""Aggregate statistics over runs x tasks, as proposed by Agarwal et al. (2021), "Deep Reinforcement Learning at
the Edge of the Statistical Precipice": normalized scores, the interquartile mean (IQM), median, mean and
optimality gap with stratified-bootstrap confidence intervals, performance profiles and the probability of
improvement of one algorithm over another.

Why these are written here instead of using the `rliable` package that implements them: rliable 1.2.0 requires
`arch<8`, and arch 7.2 fails to import with pandas 3.1 (TypeError in `arch.univariate.base`: `deprecate_kwarg()`
missing `new_arg_name`); arch 8 imports but violates rliable's pin, so installing rliable would make pip downgrade
or break it. The few statistics needed are short, so they are implemented with numpy alone (no scipy either,
which `zoo`'s optional dependencies do not include); `benchmarks.stats` re-exports them.

Scores are given per task (an env, or a benchmark row): `per_task[t]` holds the scores of task `t`'s runs
(seeds). Tasks may have different numbers of runs. Pooled statistics (IQM, median, mean, optimality gap) are
taken over all runs of all tasks together; the performance profile and the probability of improvement average
per-task values, so each task weighs the same. The bootstrap is stratified: each resample draws, within every
task, as many runs as it has, with replacement, so every resample keeps every task. Intervals are percentile
intervals from a seeded generator (the same scores give the same interval).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

#: The pooled statistics `aggregate_estimates` computes, in the order they are drawn.
METRICS = ("IQM", "Median", "Mean", "Optimality gap")

PerTask = Sequence[Sequence[float] | np.ndarray]


class Estimate(NamedTuple):
    """A point estimate and its confidence interval."""

    point: float
    low: float
    high: float


def normalize(scores: Sequence[float] | np.ndarray, low: float, high: float) -> np.ndarray:
    """`(score - low) / (high - low)`: 0 at `low` (e.g. a random policy's score), 1 at `high` (a reference score)."""
    if high == low:
        raise ValueError(f"cannot normalize with an empty score range ({low} to {high})")
    return (np.asarray(scores, dtype=float) - low) / (high - low)


def interquartile_mean(values: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """Mean of the middle 50 % along `axis`: `int(n / 4)` values are cut from each end after sorting (the rule of
    `scipy.stats.trim_mean(x, 0.25)`); with fewer than 4 values nothing is cut."""
    data = np.sort(np.asarray(values, dtype=float), axis=axis)
    n = data.shape[axis]
    if n == 0:
        raise ValueError("the interquartile mean needs at least one value")
    cut = int(0.25 * n)
    kept = np.take(data, np.arange(cut, n - cut), axis=axis)
    result = kept.mean(axis=axis)
    return float(result) if np.ndim(result) == 0 else result


def optimality_gap(values: np.ndarray, axis: int = -1, gamma: float = 1.0) -> np.ndarray | float:
    """Mean shortfall below `gamma`: `mean(max(gamma - x, 0))` (lower is better; 0 when every run reaches it)."""
    result = np.maximum(gamma - np.asarray(values, dtype=float), 0.0).mean(axis=axis)
    return float(result) if np.ndim(result) == 0 else result


_STATISTICS: dict[str, Callable[[np.ndarray], np.ndarray | float]] = {
    "IQM": lambda x: interquartile_mean(x, axis=-1),
    "Median": lambda x: np.median(x, axis=-1),
    "Mean": lambda x: np.mean(x, axis=-1),
    "Optimality gap": lambda x: optimality_gap(x, axis=-1),
}


def _tasks(per_task: PerTask) -> list[np.ndarray]:
    tasks = [np.asarray(values, dtype=float).ravel() for values in per_task]
    if not tasks:
        raise ValueError("no tasks given")
    for index, task in enumerate(tasks):
        if task.size == 0:
            raise ValueError(f"task {index} has no runs")
    return tasks


def stratified_resamples(per_task: PerTask, n_resamples: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Per task, an `(n_resamples, runs)` array: each row draws that task's runs with replacement."""
    return [task[rng.integers(0, task.size, size=(n_resamples, task.size))] for task in _tasks(per_task)]


def _interval(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    tail = 100.0 * (1.0 - confidence) / 2.0
    return np.percentile(samples, tail, axis=0), np.percentile(samples, 100.0 - tail, axis=0)


def aggregate_estimates(
    per_task: PerTask,
    metrics: Sequence[str] = METRICS,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Estimate]:
    """The pooled statistics of `metrics` (names from `METRICS`) over all runs of all tasks, each with a
    stratified-bootstrap percentile interval (the same resamples serve every metric)."""
    unknown = set(metrics) - set(_STATISTICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; known: {list(_STATISTICS)}")
    pooled = np.concatenate(_tasks(per_task))
    resampled = np.concatenate(stratified_resamples(per_task, n_resamples, np.random.default_rng(seed)), axis=1)
    estimates = {}
    for name in metrics:
        statistic = _STATISTICS[name]
        low, high = _interval(np.asarray(statistic(resampled)), confidence)
        estimates[name] = Estimate(float(statistic(pooled)), float(low), float(high))
    return estimates


def _fraction_above(tasks: Sequence[np.ndarray], taus: np.ndarray) -> np.ndarray:
    # per task, the share of runs scoring above each tau (last axis), then the mean over tasks
    return np.mean([(task[..., None] > taus).mean(axis=-2) for task in tasks], axis=0)


def performance_profile(
    per_task: PerTask,
    taus: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The score distribution: for each threshold `tau`, the fraction of runs scoring above it (per task, then
    averaged over tasks), with a stratified-bootstrap band. Returns (fraction, low, high), one value per tau."""
    grid = np.asarray(taus, dtype=float)
    tasks = _tasks(per_task)
    resampled = stratified_resamples(tasks, n_resamples, np.random.default_rng(seed))
    low, high = _interval(_fraction_above(resampled, grid), confidence)
    return _fraction_above(tasks, grid), low, high


def _improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # P(X > Y) + P(X = Y) / 2 over all pairs (last two axes): the Mann-Whitney U statistic divided by n * m
    wins = (x[..., :, None] > y[..., None, :]).mean(axis=(-2, -1))
    ties = (x[..., :, None] == y[..., None, :]).mean(axis=(-2, -1))
    return wins + 0.5 * ties


def probability_of_improvement(
    x_per_task: PerTask,
    y_per_task: PerTask,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Estimate:
    """P(X > Y): the probability that a run of algorithm X scores above a run of Y on the same task (ties count
    half), i.e. the Mann-Whitney U statistic over n * m, averaged over the tasks both have; with an interval from
    resampling X's and Y's runs independently within each task. Scores need not be normalized (each task is
    compared with itself)."""
    x_tasks, y_tasks = _tasks(x_per_task), _tasks(y_per_task)
    if len(x_tasks) != len(y_tasks):
        raise ValueError(f"X has {len(x_tasks)} tasks and Y {len(y_tasks)}: compare on the same tasks")
    rng = np.random.default_rng(seed)
    x_samples = stratified_resamples(x_tasks, n_resamples, rng)
    y_samples = stratified_resamples(y_tasks, n_resamples, rng)
    point = np.mean([_improvement(x, y) for x, y in zip(x_tasks, y_tasks)])
    samples = np.mean([_improvement(x, y) for x, y in zip(x_samples, y_samples)], axis=0)
    low, high = _interval(samples, confidence)
    return Estimate(float(point), float(low), float(high))


def common_tasks(scores: Mapping[str, Mapping[str, object]], algos: Sequence[str]) -> list[str]:
    """The tasks every algorithm of `algos` has scores on, in the order they first appear."""
    tasks = list(dict.fromkeys(task for algo in algos for task in scores[algo]))
    return [task for task in tasks if all(scores[algo].get(task) is not None for algo in algos)]

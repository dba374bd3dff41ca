"""Statistics over seeds: interquartile mean and a bootstrap confidence interval (reproducible, seeded); and the
aggregate statistics over rows (normalized scores, IQM with stratified-bootstrap intervals, performance profiles,
probability of improvement), which live in `zoo.aggregate` so that `python -m zoo.plot --aggregate` has them
where `benchmarks` is not installed. They are written there rather than taken from the `rliable` package because
rliable 1.2.0 requires `arch<8`, and arch 7.2 fails to import with pandas 3.1 (see `zoo.aggregate`)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import numpy as np
from scipy import stats

from zoo.aggregate import (
    METRICS,
    Estimate,
    aggregate_estimates,
    interquartile_mean,
    normalize,
    optimality_gap,
    performance_profile,
    probability_of_improvement,
    stratified_resamples,
)

__all__ = [
    "METRICS",
    "MIN_SEEDS_FOR_CI",
    "Estimate",
    "aggregate_estimates",
    "bootstrap_ci",
    "interquartile_mean",
    "iqm",
    "normalize",
    "optimality_gap",
    "performance_profile",
    "probability_of_improvement",
    "stratified_resamples",
]

#: Fewer seeds than this and no confidence interval is reported.
MIN_SEEDS_FOR_CI = 3


def iqm(values: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle 50 % (`scipy.stats.trim_mean(x, 0.25)`); with fewer than 4
    values nothing is trimmed and it is the plain mean."""
    if len(values) == 0:
        raise ValueError("iqm needs at least one value, got none")
    return float(stats.trim_mean(np.asarray(values, dtype=float), 0.25))


def bootstrap_ci(
    values: Sequence[float], confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the IQM over seeds (`scipy.stats.bootstrap`), or None with fewer than
    `MIN_SEEDS_FOR_CI` values. A fixed `seed` makes the report reproducible; identical values give a zero-width
    interval (scipy cannot resample a constant)."""
    data = np.asarray(values, dtype=float)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if data.size < MIN_SEEDS_FOR_CI:
        return None
    if np.all(data == data[0]):
        return float(data[0]), float(data[0])
    generator = np.random.default_rng(seed)
    # scipy >= 1.15 names the generator `rng`, older versions `random_state`
    seeding = (
        {"rng": generator} if "rng" in inspect.signature(stats.bootstrap).parameters else {"random_state": generator}
    )
    result = stats.bootstrap(
        (data,),
        lambda sample, axis: stats.trim_mean(sample, 0.25, axis=axis),
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="percentile",
        **seeding,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)

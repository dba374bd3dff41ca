"""The aggregate statistics (benchmarks.stats, from zoo.aggregate) against numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchmarks import stats


def test_normalize_maps_random_to_zero_and_reference_to_one():
    # CartPole: random 21.6, reference 500 -> (260.8 - 21.6) / 478.4 = 0.5
    assert stats.normalize([21.6, 500.0, 260.8], 21.6, 500.0) == pytest.approx([0.0, 1.0, 0.5])
    # negative scores: Pendulum random -1233.7, reference -163.0 -> -698.35 is halfway
    assert stats.normalize([-698.35], -1233.7, -163.0) == pytest.approx([0.5])
    with pytest.raises(ValueError, match="empty score range"):
        stats.normalize([1.0], 3.0, 3.0)


def test_interquartile_mean_cuts_a_quarter_from_each_end():
    # 8 values: 2 cut from each end -> mean(3, 4, 5, 6) = 4.5
    assert stats.interquartile_mean(np.array([8, 1, 7, 2, 6, 3, 5, 4])) == pytest.approx(4.5)
    # 6 values: int(1.5) = 1 cut from each end -> mean(0.2, 0.4, 0.5, 0.9) = 0.5
    assert stats.interquartile_mean(np.array([0.1, 0.5, 0.9, 0.2, 0.4, 1.2])) == pytest.approx(0.5)
    # 3 values: nothing cut, the mean
    assert stats.interquartile_mean(np.array([0.0, 0.0, 9.0])) == pytest.approx(3.0)
    rng = np.random.default_rng(1)
    for n in (4, 5, 7, 10, 13):
        values = rng.normal(size=n)
        assert stats.interquartile_mean(values) == pytest.approx(scipy_stats.trim_mean(values, 0.25))
    # along an axis, one value per row
    rows = np.array([[1.0, 2.0, 3.0, 100.0], [4.0, 4.0, 4.0, 4.0]])
    assert stats.interquartile_mean(rows, axis=1) == pytest.approx([2.5, 4.0])
    with pytest.raises(ValueError, match="at least one value"):
        stats.interquartile_mean(np.array([]))


def test_optimality_gap_is_the_mean_shortfall_below_one():
    # shortfalls 1 - 0.2 = 0.8, 1 - 0.7 = 0.3, 0, 0 -> 1.1 / 4
    assert stats.optimality_gap(np.array([0.2, 0.7, 1.0, 1.5])) == pytest.approx(0.275)
    assert stats.optimality_gap(np.array([0.5]), gamma=0.5) == pytest.approx(0.0)


def test_aggregate_estimates_pool_runs_of_all_tasks():
    per_task = [[0.1, 0.5, 0.9], [0.2, 0.4, 1.2]]
    estimates = stats.aggregate_estimates(per_task)
    assert list(estimates) == list(stats.METRICS)
    assert estimates["IQM"].point == pytest.approx(0.5)
    assert estimates["Median"].point == pytest.approx(0.45)  # (0.4 + 0.5) / 2
    assert estimates["Mean"].point == pytest.approx(3.3 / 6)
    assert estimates["Optimality gap"].point == pytest.approx((0.9 + 0.5 + 0.1 + 0.8 + 0.6) / 6)
    for estimate in estimates.values():
        assert estimate.low <= estimate.point <= estimate.high
    # the interval cannot leave the range of the pooled values
    assert estimates["IQM"].low >= 0.1 and estimates["IQM"].high <= 1.2
    # seeded: the same call gives the same interval
    assert stats.aggregate_estimates(per_task) == estimates
    with pytest.raises(ValueError, match="unknown metrics"):
        stats.aggregate_estimates(per_task, metrics=["IQR"])
    with pytest.raises(ValueError, match="task 1 has no runs"):
        stats.aggregate_estimates([[1.0], []])


def test_stratified_bootstrap_keeps_each_task_within_its_own_runs():
    # task A's runs are all 0 and task B's all 1: any resample draws 2 runs from each, so the pooled mean is
    # always exactly 0.5 (an unstratified bootstrap could draw 4 zeros); the interval has zero width
    estimates = stats.aggregate_estimates([[0.0, 0.0], [1.0, 1.0]], metrics=["Mean"])
    assert estimates["Mean"] == (0.5, 0.5, 0.5)
    resamples = stats.stratified_resamples([[1.0, 2.0, 3.0], [10.0]], 50, np.random.default_rng(0))
    assert resamples[0].shape == (50, 3) and set(np.unique(resamples[0])) <= {1.0, 2.0, 3.0}
    assert resamples[1].shape == (50, 1) and np.all(resamples[1] == 10.0)


def test_aggregate_interval_width_shrinks_with_more_seeds():
    rng = np.random.default_rng(0)
    few = [rng.normal(size=3) for _ in range(4)]
    many = [rng.normal(size=30) for _ in range(4)]
    iqm_few, iqm_many = stats.aggregate_estimates(few)["IQM"], stats.aggregate_estimates(many)["IQM"]
    assert iqm_many.high - iqm_many.low < iqm_few.high - iqm_few.low


def test_performance_profile_is_the_share_of_runs_above_tau_averaged_over_tasks():
    per_task = [[0.1, 0.5, 0.9], [0.2, 1.2]]
    fraction, low, high = stats.performance_profile(per_task, [0.0, 0.45, 1.0, 2.0])
    # tau 0.45: task A 2/3 above, task B 1/2 -> 7/12; tau 1.0: 0 and 1/2 -> 1/4
    assert fraction == pytest.approx([1.0, 7 / 12, 0.25, 0.0])
    assert np.all(low <= fraction + 1e-12) and np.all(fraction <= high + 1e-12)
    assert low[0] == high[0] == 1.0 and low[-1] == high[-1] == 0.0  # every resample is above 0 / below 2
    assert np.all(np.diff(fraction) <= 0)


def test_probability_of_improvement_counts_wins_and_half_ties_per_task():
    # task 1: X (1, 2, 3) against Y (0, 2, 4): 4 wins, 1 tie of 9 pairs -> 4.5 / 9 = 0.5
    # task 2: X (5, 5) against Y (5, 4): 2 wins, 2 ties of 4 pairs -> 3 / 4 = 0.75; average 0.625
    x, y = [[1.0, 2.0, 3.0], [5.0, 5.0]], [[0.0, 2.0, 4.0], [5.0, 4.0]]
    estimate = stats.probability_of_improvement(x, y)
    assert estimate.point == pytest.approx(0.625)
    assert estimate.low <= estimate.point <= estimate.high
    # the same as the Mann-Whitney U statistic over n * m
    u = [scipy_stats.mannwhitneyu(a, b).statistic / (len(a) * len(b)) for a, b in zip(x, y)]
    assert estimate.point == pytest.approx(np.mean(u))
    # P(X > Y) + P(Y > X) = 1
    assert stats.probability_of_improvement(y, x).point == pytest.approx(1 - 0.625)
    # X always better: 1 with a zero-width interval
    assert stats.probability_of_improvement([[5.0, 6.0]], [[1.0, 2.0, 3.0]]) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="same tasks"):
        stats.probability_of_improvement([[1.0]], [[1.0], [2.0]])


def test_confidence_must_be_a_probability():
    with pytest.raises(ValueError, match="confidence"):
        stats.aggregate_estimates([[1.0, 2.0]], confidence=95)

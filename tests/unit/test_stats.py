"""mbrl_zoo.stats: the interquartile mean and bootstrap intervals against hand-computed answers."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from mbrl_zoo.errors import UserError
from mbrl_zoo.stats import bootstrap_ci, iqm, normalise, stratified_bootstrap_ci


def test_iqm_averages_the_middle_half():
    assert iqm(np.arange(1.0, 9.0)) == pytest.approx(4.5)  # drops 1, 2 and 7, 8: mean of 3..6
    assert iqm([100.0, 0.0, 10.0, 0.0, 10.0, 0.0, 10.0, 10.0]) == pytest.approx(7.5)  # [0, 10, 10, 10]
    assert iqm([1.0, 2.0, 30.0]) == pytest.approx(11.0)  # fewer than 4 scores: the mean
    assert iqm([[1.0, 2.0, 3.0, 400.0], [5.0, 5.0, 5.0, 5.0]], axis=1) == pytest.approx([2.5, 5.0])
    scores = np.random.default_rng(0).normal(size=(5, 37))
    assert iqm(scores, axis=1) == pytest.approx(scipy_stats.trim_mean(scores, 0.25, axis=1))
    with pytest.raises(UserError, match="at least one score"):
        iqm([])


def test_bootstrap_interval_of_known_samples():
    low, high = bootstrap_ci(np.full(5, 3.25))
    assert low == high == 3.25  # a constant sample: a point
    assert bootstrap_ci([7.0]) == (7.0, 7.0)
    # Two runs 0 and 1: resampled means are 0, 0.5, 1 with chances 1/4, 1/2, 1/4, so the 2.5% and
    # 97.5% quantiles are the extremes.
    assert bootstrap_ci([0.0, 1.0]) == (0.0, 1.0)
    # Many runs: close to the normal interval mean +- 1.96 s / sqrt(n).
    sample = np.random.default_rng(1).normal(10.0, 2.0, size=400)
    half = 1.96 * sample.std(ddof=1) / np.sqrt(len(sample))
    low, high = bootstrap_ci(sample, reps=4000)
    assert low == pytest.approx(sample.mean() - half, abs=0.03)
    assert high == pytest.approx(sample.mean() + half, abs=0.03)


def test_bootstrap_is_seeded_and_works_per_column():
    sample = np.random.default_rng(2).normal(size=(6, 3))
    assert np.array_equal(bootstrap_ci(sample, seed=4)[0], bootstrap_ci(sample, seed=4)[0])
    assert not np.array_equal(bootstrap_ci(sample, seed=4)[0], bootstrap_ci(sample, seed=5)[0])
    low, high = bootstrap_ci(sample)
    assert low.shape == high.shape == (3,)
    assert np.all(low <= sample.mean(axis=0)) and np.all(sample.mean(axis=0) <= high)
    low, high = bootstrap_ci([1.0, 2.0, 3.0, 100.0], statistic=iqm)
    assert low >= 1.0 and high <= 100.0
    with pytest.raises(UserError, match="at least one run"):
        bootstrap_ci([])
    with pytest.raises(UserError, match="0 < confidence < 1"):
        bootstrap_ci([1.0], confidence=1.5)


def test_stratified_resampling_keeps_each_groups_run_count():
    # Every resample of 3 zeros and 5 ones, drawn within each group, still holds 3 zeros and 5
    # ones, so the pooled mean is 5/8 in all of them: the interval is a point. Resampling the 8
    # runs pooled would move it.
    point, low, high = stratified_bootstrap_ci([np.zeros(3), np.ones(5)], statistic=np.mean)
    assert point == low == high == pytest.approx(5 / 8)
    assert bootstrap_ci(np.r_[np.zeros(3), np.ones(5)])[0] < 5 / 8
    # The point is the statistic of all runs pooled; the interval holds it.
    groups = [np.array([0.1, 0.4, 0.5]), np.array([0.9, 0.2, 0.6, 0.7])]
    point, low, high = stratified_bootstrap_ci(groups)
    assert point == pytest.approx(iqm(np.concatenate(groups)))
    assert low <= point <= high
    assert stratified_bootstrap_ci(groups, seed=3) == stratified_bootstrap_ci(groups, seed=3)
    with pytest.raises(UserError, match="one run in every group"):
        stratified_bootstrap_ci([np.ones(2), np.array([])])


def test_normalise_maps_the_range_to_zero_one():
    assert normalise([1.0, 3.0, 5.0], 1.0, 5.0) == pytest.approx([0.0, 0.5, 1.0])
    assert normalise([2.0, 2.0], 2.0, 2.0) == pytest.approx([0.0, 0.0])

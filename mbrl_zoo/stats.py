"""Statistics for comparing RL runs over a few seeds, after Agarwal et al. (2021), "Deep
Reinforcement Learning at the Edge of the Statistical Precipice" (NeurIPS).

- :func:`iqm`, the interquartile mean: the mean of the middle half of the scores, robust to one
  outlying seed yet less noisy than the median.
- :func:`bootstrap_ci`, a percentile bootstrap confidence interval of a statistic over runs
  (seeds), resampling runs with replacement.
- :func:`stratified_bootstrap_ci`, the interval of an aggregate across tasks: runs are resampled
  within each task (each task keeps its run count), then pooled, as the paper recommends for
  aggregate scores over few runs per task.

Every function takes a ``seed``: the same inputs and seed give the same interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mbrl_zoo.errors import UserError

Statistic = Callable[..., np.ndarray]
"""``statistic(samples, axis=...)``, reducing ``samples`` along ``axis`` (as ``np.mean`` does)."""

REPS = 2000
"""Bootstrap resamples per interval: enough for stable 2.5/97.5 percentiles of a few seeds."""


def iqm(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """The interquartile mean of ``scores`` along ``axis``: sort, drop the lowest and highest
    ``floor(n / 4)`` values, average the rest (n < 4 drops nothing, so it is the mean)."""
    scores = np.sort(np.asarray(scores, dtype=float), axis=axis)
    n = scores.shape[axis]
    if n == 0:
        raise UserError("the interquartile mean needs at least one score, got none.")
    cut = n // 4
    return np.take(scores, np.arange(cut, n - cut), axis=axis).mean(axis=axis)


def bootstrap_ci(values: np.ndarray, statistic: Statistic = np.mean, confidence: float = 0.95,
                 reps: int = REPS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of ``statistic`` over the runs of ``values`` (n, ...): draw
    ``reps`` resamples of n runs with replacement, apply ``statistic`` along the run axis of each,
    and return the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles, each of
    shape (...). One run, or runs that all agree, give a point (low == high)."""
    values = np.asarray(values, dtype=float)
    _check(confidence, reps)
    if values.ndim == 0 or len(values) == 0:
        raise UserError("a bootstrap interval needs at least one run, got none.")
    rows = np.random.default_rng(seed).integers(0, len(values), size=(reps, len(values)))
    stats = statistic(values[rows], axis=1)
    return _quantiles(stats, confidence)


def stratified_bootstrap_ci(groups: Sequence[np.ndarray], statistic: Statistic = iqm, confidence: float = 0.95,
                            reps: int = REPS, seed: int = 0) -> tuple[float, float, float]:
    """``statistic`` of the runs of every group pooled (e.g. each task's normalised scores over
    seeds) and its stratified percentile bootstrap interval: each resample draws, within every
    group, as many runs as it has, with replacement, then pools them. Returns
    ``(point, low, high)``."""
    groups = [np.asarray(g, dtype=float).ravel() for g in groups]
    _check(confidence, reps)
    if not groups or any(len(g) == 0 for g in groups):
        raise UserError("a stratified bootstrap needs at least one group and one run in every group.")
    rng = np.random.default_rng(seed)
    pooled = np.concatenate([g[rng.integers(0, len(g), size=(reps, len(g)))] for g in groups], axis=1)
    low, high = _quantiles(statistic(pooled, axis=1), confidence)
    return float(statistic(np.concatenate(groups), axis=0)), float(low), float(high)


def normalise(scores: np.ndarray, low: float, high: float) -> np.ndarray:
    """``(scores - low) / (high - low)``: 0 at ``low``, 1 at ``high``; all zeros when the two are
    equal (every run scored the same, so none is better)."""
    scores = np.asarray(scores, dtype=float)
    return np.zeros_like(scores) if high == low else (scores - low) / (high - low)


def _check(confidence: float, reps: int) -> None:
    if not 0.0 < confidence < 1.0 or reps < 1:
        raise UserError(f"a bootstrap needs 0 < confidence < 1 and reps >= 1, got confidence={confidence}, "
                        f"reps={reps}.")


def _quantiles(stats: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    tail = (1.0 - confidence) / 2.0
    return np.quantile(stats, tail, axis=0), np.quantile(stats, 1.0 - tail, axis=0)

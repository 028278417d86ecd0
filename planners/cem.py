"""Cross-entropy method over action sequences (Rubinstein 1999), as PETS plans with it
(Chua et al., "Deep Reinforcement Learning in a Handful of Trials using Probabilistic Dynamics
Models", NeurIPS 2018).

Each iteration draws a population from a per-step, per-dimension normal distribution truncated to
the action box, keeps the elites (highest returns; NaN/inf rank last) and moves the distribution's
mean and standard deviation towards theirs with momentum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from mbrl_zoo.registry import register_planner
from mbrl_zoo.settings import build_dataclass, setting
from planners.base import (ITERATIONS_CAP_NOTE, POPULATION_CAP_NOTE, STD_CAP_NOTE,
                           BestSoFar, Callback, Objective, Planner,
                           finite_or_worst, iteration_stats, mean_or_best)

MIN_STD = 1e-6
"""Floor on the sampling standard deviation, so that truncation bounds stay finite."""


def truncated_normal(
    mean: torch.Tensor,
    std: torch.Tensor,
    low: torch.Tensor,
    high: torch.Tensor,
    num: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``num`` draws (num, *mean.shape) of N(mean, std^2) truncated to ``[low, high]``.

    Inverse-CDF sampling: a uniform draw between the CDF values of the two bounds is mapped back
    through the normal quantile function, so every draw lies in the box without rejection.
    ``mean`` and ``std`` are (H, A); ``low`` and ``high`` (A,) broadcast against them.
    """
    std = std.clamp_min(MIN_STD)
    cdf_low = torch.special.ndtr((low - mean) / std)
    cdf_high = torch.special.ndtr((high - mean) / std)
    u = torch.rand((num, *mean.shape), generator=generator, dtype=mean.dtype, device=mean.device)
    draws = torch.special.ndtri(u.mul_(cdf_high - cdf_low).add_(cdf_low)).mul_(std).add_(mean)
    # A quantile of exactly 0 or 1 (float rounding far in a tail) maps to -inf/+inf: clamp back.
    return torch.clamp_(draws, low, high)


def refit(
    mean: torch.Tensor,
    std: torch.Tensor,
    candidates: torch.Tensor,
    returns: torch.Tensor,
    num_elites: int,
    momentum: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Move ``mean`` and ``std`` (H, A) in place towards the mean and std of the ``num_elites``
    best ``candidates`` (N, H, A) by ``returns`` (N,) (already through ``finite_or_worst``):
    ``new = momentum * old + (1 - momentum) * elites'``. Returns the elites (K, H, A), best
    first, and their returns (K,)."""
    elite_returns, elite_index = returns.topk(min(num_elites, returns.shape[0]))
    elites = candidates[elite_index]
    mean.lerp_(elites.mean(0), 1.0 - momentum)
    std.lerp_(elites.std(0, correction=0), 1.0 - momentum)
    return elites, elite_returns


@dataclass(frozen=True)
class CEMConfig:
    """Settings of :class:`CEM`; defaults are mbrl-lib's PETS cart-pole settings."""

    population_size: int = setting(350, "[2, 10**7]", note=POPULATION_CAP_NOTE)
    """Candidate sequences drawn per iteration."""
    elite_fraction: float = setting(0.1, "(0, 1]")
    """Fraction of the population kept as elites (at least one)."""
    iterations: int = setting(5, "[1, 10**5]", note=ITERATIONS_CAP_NOTE)
    """Rounds of sampling and refitting per plan."""
    momentum: float = setting(0.1, "[0, 1)")
    """Weight of the old distribution: new mean and std = ``momentum * old + (1 - momentum) *
    elites'`` (mbrl-lib's ``alpha``)."""
    initial_std: float = setting(0.5, "(0, 1000]", note=STD_CAP_NOTE)
    """Initial sampling std in units of the half-width of the action box (0.5 gives std =
    (high - low) / 4, mbrl-lib's initial variance)."""
    return_best: bool = False
    """Return the best candidate evaluated instead of the final mean (PETS executes the mean)."""


@register_planner("cem")
class CEM(Planner):
    """Cross-entropy method with truncated-normal sampling, elite mean and momentum (PETS's optimiser).

    Settings: :class:`CEMConfig`, as keyword arguments. The plan returned is the final mean
    (``return_best=False``, as PETS executes it) or the best candidate evaluated.
    """

    Config = CEMConfig

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor, horizon: int, **settings: Any):
        super().__init__(action_low, action_high, horizon)
        self.config = cfg = build_dataclass(self.Config, settings, "planner")
        self.population_size = cfg.population_size
        self.num_elites = max(1, round(cfg.elite_fraction * cfg.population_size))
        self.iterations = cfg.iterations
        self.momentum = cfg.momentum
        self.initial_std = cfg.initial_std
        self.return_best = cfg.return_best

    def plan(
        self,
        objective: Objective,
        init_mean: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        callback: Callback | None = None,
    ) -> torch.Tensor:
        """Maximise ``objective`` over sequences (H, A); returns (H, A) within the bounds."""
        mean = self.initial_mean(init_mean)
        std = (self.initial_std * self.half_range).expand_as(mean).clone()
        best = BestSoFar()
        for iteration in range(self.iterations):
            candidates = truncated_normal(mean, std, self.action_low, self.action_high, self.population_size, generator)
            returns = finite_or_worst(objective(candidates))
            best.update(candidates, returns)
            _, elite_returns = refit(mean, std, candidates, returns, self.num_elites, self.momentum)
            if callback is not None:
                callback(iteration, iteration_stats(returns, elite_returns, best, std=float(std.mean())))
        if self.return_best and best.actions is not None:
            return best.actions
        return mean_or_best(objective, mean, best)

"""Cross-entropy method over action sequences (Rubinstein 1999), as PETS plans with it
(Chua et al., "Deep Reinforcement Learning in a Handful of Trials using Probabilistic Dynamics
Models", NeurIPS 2018).

Each iteration draws a population from a per-step, per-dimension normal distribution truncated to
the action box, keeps the elites (highest returns; NaN/inf rank last) and moves the distribution's
mean and standard deviation towards theirs with momentum.
"""

from __future__ import annotations

import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import register_planner
from planners.base import BestSoFar, Callback, Objective, Planner, finite_or_worst, iteration_stats, mean_or_best

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


@register_planner("cem")
class CEM(Planner):
    """Cross-entropy method with truncated-normal sampling, elite mean and momentum (PETS's optimiser).

    Settings: ``population_size`` candidates per iteration, the best ``elite_fraction`` of them are
    elites, ``iterations`` rounds; the new mean and std are ``momentum * old + (1 - momentum) *
    elites'`` (mbrl-lib's ``alpha``); ``initial_std`` is in units of the half-width of the action
    box (0.5 gives std = (high - low) / 4, mbrl-lib's initial variance). The plan returned is the
    final mean (``return_best=False``, as PETS executes it) or the best candidate evaluated.
    Defaults are mbrl-lib's PETS cart-pole settings.
    """

    def __init__(
        self,
        action_low: torch.Tensor,
        action_high: torch.Tensor,
        horizon: int,
        population_size: int = 350,
        elite_fraction: float = 0.1,
        iterations: int = 5,
        momentum: float = 0.1,
        initial_std: float = 0.5,
        return_best: bool = False,
    ):
        super().__init__(action_low, action_high, horizon)
        if population_size < 2 or iterations < 1:
            raise UserError(f"cem needs population_size >= 2 and iterations >= 1; got {population_size}, {iterations}.")
        if not 0.0 < elite_fraction <= 1.0 or not 0.0 <= momentum < 1.0 or initial_std <= 0:
            raise UserError(
                f"cem needs 0 < elite_fraction <= 1, 0 <= momentum < 1 and initial_std > 0; got "
                f"{elite_fraction}, {momentum}, {initial_std}."
            )
        self.population_size = int(population_size)
        self.num_elites = max(1, round(elite_fraction * population_size))
        self.iterations = int(iterations)
        self.momentum = float(momentum)
        self.initial_std = float(initial_std)
        self.return_best = bool(return_best)

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

"""Random shooting: evaluate uniformly drawn action sequences and keep the best (the RS-MPC of
Nagabandi et al., "Neural Network Dynamics for Model-Based Deep Reinforcement Learning with
Model-Free Fine-Tuning", ICRA 2018)."""

from __future__ import annotations

import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import register_planner
from planners.base import BestSoFar, Callback, Objective, Planner, finite_or_worst, iteration_stats


@register_planner("random-shooting")
class RandomShooting(Planner):
    """Best of ``population_size`` sequences drawn uniformly in the action box.

    A given ``init_mean`` (MPC's shifted previous plan) joins the population as one more candidate,
    so a warm start is never lost. When no candidate has a finite return the start sequence
    (``init_mean`` or the box midpoint) is returned.
    """

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor, horizon: int, population_size: int = 1000):
        super().__init__(action_low, action_high, horizon)
        if population_size < 1:
            raise UserError(f"random-shooting needs population_size >= 1, got {population_size}.")
        self.population_size = int(population_size)

    def plan(
        self,
        objective: Objective,
        init_mean: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        callback: Callback | None = None,
    ) -> torch.Tensor:
        """Maximise ``objective`` over sequences (H, A); returns (H, A) within the bounds."""
        shape = (self.population_size, self.horizon, self.action_low.shape[0])
        low = self.action_low
        candidates = torch.rand(shape, generator=generator, device=low.device).mul_(self.action_high - low).add_(low)
        if init_mean is not None:
            candidates = torch.cat([candidates, self.initial_mean(init_mean).unsqueeze(0)])
        returns = finite_or_worst(objective(candidates))
        best = BestSoFar()
        best.update(candidates, returns)
        if callback is not None:
            callback(0, iteration_stats(returns, returns.max().reshape(1), best))
        return best.actions if best.actions is not None else self.initial_mean(init_mean)

"""Random shooting: evaluate uniformly drawn action sequences and keep the best (the RS-MPC of
Nagabandi et al., "Neural Network Dynamics for Model-Based Deep Reinforcement Learning with
Model-Free Fine-Tuning", ICRA 2018)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from mbrl_zoo.registry import register_planner
from mbrl_zoo.settings import build_dataclass, setting
from planners.base import POPULATION_CAP_NOTE, BestSoFar, Callback, Objective, Planner, finite_or_worst, iteration_stats


@dataclass(frozen=True)
class RandomShootingConfig:
    """Settings of :class:`RandomShooting`."""

    population_size: int = setting(1000, "[1, 10**7]", note=POPULATION_CAP_NOTE)
    """Sequences drawn uniformly in the action box per plan."""


@register_planner("random-shooting")
class RandomShooting(Planner):
    """Best of ``population_size`` sequences drawn uniformly in the action box.

    Settings: :class:`RandomShootingConfig`, as keyword arguments. A given ``init_mean`` (MPC's
    shifted previous plan) joins the population as one more candidate, so a warm start is never
    lost. When no candidate has a finite return the start sequence (``init_mean`` or the box
    midpoint) is returned.
    """

    Config = RandomShootingConfig

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor, horizon: int, **settings: Any):
        super().__init__(action_low, action_high, horizon)
        self.config = build_dataclass(self.Config, settings, "planner")
        self.population_size = self.config.population_size

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

"""Gradient-based trajectory optimisation: Adam ascent on action sequences through a
differentiable model and reward (as in e.g. Srinivas et al., "Universal Planning Networks",
ICML 2018; Bharadhwaj et al., "Model-Predictive Control via Cross-Entropy and Gradient-Based
Optimization", L4DC 2020).

It declares ``needs_gradients`` and is registered with ``requires={"differentiable"}``: pairing it
with a model not tagged ``differentiable``, or with a task whose reward has no useful gradient, is
refused before any work starts. Build its objective with
``mbrl_zoo.rollout.make_objective(..., differentiable=True)`` (``MPCPolicy`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import register_planner
from mbrl_zoo.settings import build_dataclass, setting
from planners.base import (ITERATIONS_CAP_NOTE, POPULATION_CAP_NOTE, STD_CAP_NOTE,
                           BestSoFar, Callback, Objective, Planner,
                           finite_or_worst, iteration_stats)

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


@dataclass(frozen=True)
class GradientPlannerConfig:
    """Settings of :class:`GradientPlanner`."""

    population_size: int = setting(16, "[1, 10**7]", note=POPULATION_CAP_NOTE)
    """Action sequences optimised in parallel."""
    iterations: int = setting(50, "[1, 10**5]", note=ITERATIONS_CAP_NOTE)
    """Adam steps per plan."""
    learning_rate: float = setting(0.05, "(0, 100]", note="in box units ([-1, 1]); a step above 2 crosses the box")
    """Adam's step size in box coordinates (the action box mapped to [-1, 1])."""
    initial_std: float = setting(0.3, "[0, 1000]", note=STD_CAP_NOTE)
    """Std of the Gaussian noise (box units) added to the start sequence for every sequence but the first."""


@register_planner("gradient", requires={"differentiable"})
class GradientPlanner(Planner):
    """Projected Adam on ``population_size`` action sequences in parallel, keeping the best seen.

    Settings: :class:`GradientPlannerConfig`, as keyword arguments. The sequences are optimised in
    box coordinates ``z`` in [-1, 1] (action = midpoint + half-width * z) and projected back into
    the box after every step. The first sequence starts at ``init_mean`` (or the midpoint), the
    others at it plus Gaussian noise of std ``initial_std``. Non-finite gradients (from candidates
    with NaN/inf returns) are zeroed, and the plan returned is the best finite-return sequence
    among all ``iterations + 1`` evaluations.
    """

    needs_gradients = True

    Config = GradientPlannerConfig

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor, horizon: int, **settings: Any):
        super().__init__(action_low, action_high, horizon)
        self.config = cfg = build_dataclass(self.Config, settings, "planner")
        self.population_size = cfg.population_size
        self.iterations = cfg.iterations
        self.learning_rate = cfg.learning_rate
        self.initial_std = cfg.initial_std

    def plan(
        self,
        objective: Objective,
        init_mean: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        callback: Callback | None = None,
    ) -> torch.Tensor:
        """Maximise a differentiable ``objective`` over sequences (H, A); returns (H, A) within bounds."""
        start = self.initial_mean(init_mean)
        mid, half = self.midpoint, self.half_range
        z = torch.randn((self.population_size, *start.shape), generator=generator, device=start.device)
        z.mul_(self.initial_std)[0] = 0
        z.add_((start - mid) / half).clamp_(-1, 1)
        # Adam (Kingma & Ba 2015) written out: torch.optim's first step imports torch._dynamo,
        # which would delay the first plan of every fresh process (every run, every sweep cell).
        first_moment, second_moment = torch.zeros_like(z), torch.zeros_like(z)
        best = BestSoFar()
        for iteration in range(self.iterations + 1):
            with torch.enable_grad():
                z.requires_grad_(True)
                actions = mid + half * z
                returns = objective(actions)
            ranked = finite_or_worst(returns.detach())
            best.update(actions.detach(), ranked)
            if callback is not None:
                callback(iteration, iteration_stats(ranked, ranked.topk(1).values, best))
            if iteration == self.iterations:
                break
            if not returns.requires_grad:
                raise UserError(
                    "the gradient planner's objective returned values without a gradient; build it with "
                    "mbrl_zoo.rollout.make_objective(..., differentiable=True) and a model tagged 'differentiable'."
                )
            (grad,) = torch.autograd.grad(torch.where(torch.isfinite(returns), returns, 0.0).sum(), z)
            z = z.detach()
            torch.nan_to_num_(grad, nan=0.0, posinf=0.0, neginf=0.0)
            first_moment.lerp_(grad, 1 - ADAM_BETAS[0])
            second_moment.lerp_(grad.square_(), 1 - ADAM_BETAS[1])
            step = iteration + 1
            denominator = (second_moment / (1 - ADAM_BETAS[1] ** step)).sqrt_().add_(ADAM_EPS)
            z.addcdiv_(first_moment, denominator, value=self.learning_rate / (1 - ADAM_BETAS[0] ** step))
            z.clamp_(-1, 1)
        return best.actions if best.actions is not None else start

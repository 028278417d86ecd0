"""Model predictive path integral control (Williams et al., "Information Theoretic MPC for
Model-Based Reinforcement Learning", ICRA 2017) with the time-correlated noise of PDDM (Nagabandi
et al., "Deep Dynamics Models for Learning Dexterous Manipulation", CoRL 2019).

Each iteration perturbs the current mean sequence with noise filtered along time, and replaces the
mean by the average of the perturbed sequences weighted by ``exp(return / temperature)``.
Candidates with NaN/inf returns get weight zero.
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


@dataclass(frozen=True)
class MPPIConfig:
    """Settings of :class:`MPPI`."""

    population_size: int = setting(400, "[1, 10**7]", note=POPULATION_CAP_NOTE)
    """Perturbed sequences per iteration."""
    iterations: int = setting(3, "[1, 10**5]", note=ITERATIONS_CAP_NOTE)
    """Rounds of perturbing and reweighting per plan."""
    temperature: float = setting(1.0, "[1e-8, 1e8]", note="in units of return; beyond, the weights overflow float32")
    """lambda, in units of return: weights are ``exp((R - max R) / temperature)``."""
    noise_std: float = setting(0.5, "(0, 1000]", note=STD_CAP_NOTE)
    """Perturbation std in units of the half-width of the action box."""
    smoothing: float = setting(0.4, "[0, 1)")
    """PDDM's ``1 - beta``: the noise is ``u_t = (1 - smoothing) * eps_t + smoothing * u_{t-1}``,
    so 0 gives white noise and values near 1 slowly varying perturbations."""


@register_planner("mppi")
class MPPI(Planner):
    """MPPI: exponentially return-weighted average of smoothed perturbations of the mean.

    Settings: :class:`MPPIConfig`, as keyword arguments. Perturbed sequences are clipped to the
    bounds. The plan returned is the final weighted mean (or, if its return is not finite, the best
    candidate evaluated).
    """

    Config = MPPIConfig

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor, horizon: int, **settings: Any):
        super().__init__(action_low, action_high, horizon)
        self.config = cfg = build_dataclass(self.Config, settings, "planner")
        self.population_size = cfg.population_size
        self.iterations = cfg.iterations
        self.temperature = cfg.temperature
        self.noise_std = cfg.noise_std
        self.smoothing = cfg.smoothing

    def smoothed_noise(self, generator: torch.Generator | None) -> torch.Tensor:
        """Time-correlated perturbations (N, H, A) scaled by ``noise_std`` x half-width."""
        low = self.action_low
        noise = torch.randn((self.population_size, self.horizon, low.shape[0]), generator=generator, device=low.device)
        noise.mul_(self.noise_std * self.half_range)
        if self.smoothing > 0:
            noise.mul_(1.0 - self.smoothing)
            for t in range(1, self.horizon):
                noise[:, t].add_(noise[:, t - 1], alpha=self.smoothing)
        return noise

    def plan(
        self,
        objective: Objective,
        init_mean: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        callback: Callback | None = None,
    ) -> torch.Tensor:
        """Maximise ``objective`` over sequences (H, A); returns (H, A) within the bounds."""
        mean = self.initial_mean(init_mean)
        best = BestSoFar()
        for iteration in range(self.iterations):
            candidates = self.clip(self.smoothed_noise(generator).add_(mean))
            returns = finite_or_worst(objective(candidates))
            best.update(candidates, returns)
            any_finite = bool(torch.isfinite(returns).any())
            if any_finite:
                weights = torch.softmax(returns / self.temperature, dim=0)
                mean = torch.einsum("n,nha->ha", weights, candidates)
            if callback is not None:
                ess = float(1.0 / weights.square().sum()) if any_finite else 0.0
                callback(iteration, iteration_stats(returns, returns.topk(1).values, best, effective_samples=ess))
        return mean_or_best(objective, mean, best)

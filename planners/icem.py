"""Improved cross-entropy method (Pinneri et al., "Sample-efficient Cross-Entropy Method for
Real-time Planning", CoRL 2020).

Differences from plain CEM (``planners.cem``): perturbations are colored noise with power spectral
density ``1 / f^noise_exponent`` along time (smooth, low-frequency action sequences); the
population shrinks by ``population_decay`` every iteration; a fraction of the previous
iteration's elites is carried into the next population; the mean joins the last population; and
the best sequence evaluated, not the mean, is returned. Samples are clipped to the bounds.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Any

import torch

from mbrl_zoo.registry import register_planner
from mbrl_zoo.settings import SettingError, build_dataclass, setting
from planners.base import (ITERATIONS_CAP_NOTE, POPULATION_CAP_NOTE, STD_CAP_NOTE,
                           BestSoFar, Callback, Objective, Planner,
                           finite_or_worst, iteration_stats)
from planners.cem import refit


def colored_noise_spectrum(horizon: int, exponent: float) -> tuple[torch.Tensor, float]:
    """Amplitudes (H // 2 + 1,) per rfft frequency for PSD ``1 / f^exponent``, and the factor that
    makes each time step of the resulting noise unit-variance.

    The zero frequency gets the amplitude of the lowest non-zero one (1 / H), so that the mean of a
    sequence does not dominate. With real Gaussian parts of variance 2 at the zero (and, for even
    H, the Nyquist) frequency and complex N(0, 1) + i N(0, 1) elsewhere, ``irfft`` returns noise
    whose per-step variance is ``(2 s_0^2 + 4 sum_mid s_k^2 + 2 s_nyq^2) / H^2`` (white, with
    variance 2 / H, when the exponent is 0).
    """
    freqs = torch.fft.rfftfreq(horizon, dtype=torch.float64)
    freqs[0] = 1.0 / horizon
    amplitude = freqs.pow(-exponent / 2)
    power = 4 * amplitude.square()
    power[0] /= 2
    if horizon % 2 == 0:
        power[-1] /= 2
    return amplitude.float(), horizon / math.sqrt(float(power.sum()))


def colored_noise(
    num: int, act_dim: int, amplitude: torch.Tensor, normaliser: float, horizon: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Unit-variance colored noise (num, H, A), independent across rows and action dimensions,
    from the spectrum of :func:`colored_noise_spectrum`."""
    freqs = amplitude.shape[0]
    parts = torch.randn((2, num, act_dim, freqs), generator=generator, device=amplitude.device)
    real, imag = parts[0], parts[1]
    real[..., 0] *= math.sqrt(2)
    imag[..., 0] = 0
    if horizon % 2 == 0:
        real[..., -1] *= math.sqrt(2)
        imag[..., -1] = 0
    spectrum = torch.complex(real, imag).mul_(amplitude * normaliser)
    return torch.fft.irfft(spectrum, n=horizon, dim=-1).transpose(1, 2)


@dataclass(frozen=True)
class ICEMConfig:
    """Settings of :class:`ICEM` (defaults: Pinneri et al. 2020)."""

    population_size: int = setting(300, "[1, 10**7]", note=POPULATION_CAP_NOTE)
    """Fresh samples at the first iteration; at iteration i ``max(population_size *
    population_decay^-i, 2 * num_elites)``."""
    num_elites: int = setting(10, ">= 1")
    """Elites the distribution is refitted to (at most ``population_size``)."""
    iterations: int = setting(3, "[1, 10**5]", note=ITERATIONS_CAP_NOTE)
    """Rounds of sampling and refitting per plan."""
    population_decay: float = setting(1.25, ">= 1")
    """Factor by which the population shrinks at every iteration."""
    keep_elites: float = setting(0.3, "[0, 1]")
    """Fraction of the previous iteration's elites added to the next population."""
    noise_exponent: float = setting(2.0, ">= 0")
    """Colored-noise beta: power spectral density ``1 / f^beta`` along time (0 = white, 2 = pink-to-brown)."""
    momentum: float = setting(0.1, "[0, 1)")
    """Weight of the old mean and std in each refit, as in CEM."""
    initial_std: float = setting(0.5, "(0, 1000]", note=STD_CAP_NOTE)
    """Initial sampling std in units of the half-width of the action box."""

    def __post_init__(self):
        if self.num_elites > self.population_size:
            raise SettingError({"num_elites": self.num_elites, "population_size": self.population_size},
                               "num_elites must be at most population_size")


@register_planner("icem")
class ICEM(Planner):
    """iCEM: colored-noise CEM with a shrinking population, elite carry-over and best-sequence output.

    Settings: :class:`ICEMConfig`, as keyword arguments; defaults follow Pinneri et al. 2020.
    Across MPC steps only the mean is warm-started (the planner is stateless), not the shifted
    elites of the paper.
    """

    Config = ICEMConfig

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor, horizon: int, **settings: Any):
        super().__init__(action_low, action_high, horizon)
        self.config = cfg = build_dataclass(self.Config, settings, "planner")
        self.population_size = cfg.population_size
        self.num_elites = cfg.num_elites
        self.iterations = cfg.iterations
        self.population_decay = cfg.population_decay
        self.num_kept = round(cfg.keep_elites * cfg.num_elites)
        self.noise_exponent = cfg.noise_exponent
        self.momentum = cfg.momentum
        self.initial_std = cfg.initial_std
        self._amplitude, self._normaliser = colored_noise_spectrum(self.horizon, self.noise_exponent)

    def to(self, device: torch.device | str) -> "ICEM":
        super().to(device)
        self._amplitude = self._amplitude.to(device)
        return self

    def population_at(self, iteration: int) -> int:
        """Number of fresh samples drawn at ``iteration`` (before carried elites and the mean)."""
        return max(int(self.population_size * self.population_decay**-iteration), 2 * self.num_elites)

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
        elites = mean.new_empty((0, *mean.shape))
        for iteration in range(self.iterations):
            noise = colored_noise(
                self.population_at(iteration), mean.shape[1], self._amplitude, self._normaliser, self.horizon, generator
            )
            parts = [self.clip(noise.mul_(std).add_(mean)), elites[: self.num_kept]]
            if iteration == self.iterations - 1:
                parts.append(mean.unsqueeze(0))
            candidates = torch.cat(parts)
            returns = finite_or_worst(objective(candidates))
            best.update(candidates, returns)
            elites, elite_returns = refit(mean, std, candidates, returns, self.num_elites, self.momentum)
            if callback is not None:
                callback(iteration, iteration_stats(returns, elite_returns, best, std=float(std.mean())))
        return best.actions if best.actions is not None else mean

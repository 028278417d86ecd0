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

import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import register_planner
from planners.base import BestSoFar, Callback, Objective, Planner, finite_or_worst, iteration_stats
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


@register_planner("icem")
class ICEM(Planner):
    """iCEM: colored-noise CEM with a shrinking population, elite carry-over and best-sequence output.

    Settings: ``population_size`` at the first iteration, shrinking to
    ``max(population_size * population_decay^-i, 2 * num_elites)`` at iteration i; ``num_elites``;
    ``iterations``; ``keep_elites`` is the fraction of the previous iteration's elites added to the
    next population; ``noise_exponent`` is the colored-noise beta (0 = white, 2 = pink-to-brown);
    ``momentum`` and ``initial_std`` (in units of the half-width of the action box) as in CEM.
    Defaults follow Pinneri et al. 2020. Across MPC steps only the mean is warm-started (the
    planner is stateless), not the shifted elites of the paper.
    """

    def __init__(
        self,
        action_low: torch.Tensor,
        action_high: torch.Tensor,
        horizon: int,
        population_size: int = 300,
        num_elites: int = 10,
        iterations: int = 3,
        population_decay: float = 1.25,
        keep_elites: float = 0.3,
        noise_exponent: float = 2.0,
        momentum: float = 0.1,
        initial_std: float = 0.5,
    ):
        super().__init__(action_low, action_high, horizon)
        if not 1 <= num_elites <= population_size or iterations < 1:
            raise UserError(
                f"icem needs 1 <= num_elites <= population_size and iterations >= 1; got num_elites="
                f"{num_elites}, population_size={population_size}, iterations={iterations}."
            )
        if population_decay < 1.0 or not 0.0 <= keep_elites <= 1.0 or not 0.0 <= momentum < 1.0 or initial_std <= 0:
            raise UserError(
                f"icem needs population_decay >= 1, 0 <= keep_elites <= 1, 0 <= momentum < 1 and "
                f"initial_std > 0; got {population_decay}, {keep_elites}, {momentum}, {initial_std}."
            )
        self.population_size = int(population_size)
        self.num_elites = int(num_elites)
        self.iterations = int(iterations)
        self.population_decay = float(population_decay)
        self.num_kept = round(keep_elites * num_elites)
        self.noise_exponent = float(noise_exponent)
        self.momentum = float(momentum)
        self.initial_std = float(initial_std)
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

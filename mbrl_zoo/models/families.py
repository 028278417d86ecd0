"""The registered learned models: one likelihood family each on the shared ensemble MLP.

Every family works in standardised target units (see :class:`~mbrl_zoo.models.mlp.MLPDynamics`);
parameters have leading dims (members, rows): all rows through each member in training, or the
rows grouped per member when each row goes through one member (planning).
Any of them becomes a bootstrap ensemble with ``ensemble_size=E``; ``pe`` is the PETS default
(Chua et al. 2018): Gaussian, 7 members, 5 elites, delta targets, standardisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from mbrl_zoo.models.mlp import MLPDynamics, MLPSettings, Params, check_network_size
from mbrl_zoo.registry import register_model
from mbrl_zoo.settings import setting

LOG_2PI = math.log(2 * math.pi)
LEARNED = {"learned", "ensemble", "differentiable"}


@register_model("deterministic", tags=LEARNED)
class DeterministicMLP(MLPDynamics):
    """Deterministic MLP trained with mean squared error (Nagabandi et al. 2018)."""

    deterministic = True
    has_likelihood = False

    def head_size(self, dim: int) -> int:
        return dim

    def _distribution(self, raw: torch.Tensor, members: torch.Tensor | None) -> Params:
        return (raw,)

    def _mean(self, params: Params) -> torch.Tensor:
        return params[0]

    def _variance(self, params: Params) -> torch.Tensor:
        return torch.zeros_like(params[0])

    def _draw(self, params: Params, generator: torch.Generator | None) -> torch.Tensor:
        return params[0]

    def _nll(self, params: Params, target: torch.Tensor) -> torch.Tensor:
        """Squared error summed over dims, so that the training loss is the MSE."""
        return (params[0] - target).square().sum(dim=-1)


@register_model("gaussian", tags=LEARNED | {"probabilistic"})
class GaussianMLP(MLPDynamics):
    """Diagonal Gaussian MLP: mean and soft-bounded log-variance heads, Gaussian NLL
    (the probabilistic network of PETS, Chua et al. 2018)."""

    def head_size(self, dim: int) -> int:
        return 2 * dim

    def _distribution(self, raw: torch.Tensor, members: torch.Tensor | None) -> Params:
        """(mean, raw log-variance, low, high): the bounds are applied where a variance is
        needed, so that a mean alone costs no transcendental functions."""
        mean, log_var = raw.chunk(2, dim=-1)
        return (mean, log_var, *self.bounds.of(members, raw.dim()))

    def _log_var(self, params: Params) -> torch.Tensor:
        """(..., D) soft-bounded log-variance."""
        return self.bounds.bound(*params[1:])

    def _mean(self, params: Params) -> torch.Tensor:
        return params[0]

    def _variance(self, params: Params) -> torch.Tensor:
        return self._log_var(params).exp()

    def _draw(self, params: Params, generator: torch.Generator | None) -> torch.Tensor:
        mean = params[0]
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return torch.addcmul(mean, self.bounds.std(*params[1:]), noise)

    def _nll(self, params: Params, target: torch.Tensor) -> torch.Tensor:
        mean, log_var = params[0], self._log_var(params)
        return 0.5 * ((target - mean).square() * (-log_var).exp() + log_var + LOG_2PI).sum(dim=-1)


@dataclass(frozen=True)
class PESettings(MLPSettings):
    """PETS defaults (Chua et al. 2018; mbrl-lib's cart-pole config): 7 members, 5 elites."""

    ensemble_size: int = 7
    num_elites: int | None = 5


@register_model("pe", tags=LEARNED | {"probabilistic"})
class ProbabilisticEnsemble(GaussianMLP):
    """Probabilistic ensemble of PETS: Gaussian MLPs, E=7 with 5 elites, delta targets,
    standardisation, 4x200 SiLU (Chua et al. 2018)."""

    Config = PESettings


@register_model("laplace", tags=LEARNED | {"probabilistic"})
class LaplaceMLP(GaussianMLP):
    """Diagonal Laplace MLP: the Gaussian's heads (location, soft-bounded log-variance with
    variance = 2 b^2) under a Laplace NLL, i.e. heavier tails and an L1-like fit of the mean."""

    def _draw(self, params: Params, generator: torch.Generator | None) -> torch.Tensor:
        loc = params[0]
        u = torch.rand(loc.shape, generator=generator, dtype=loc.dtype, device=loc.device)
        u = u.clamp(1e-7, 1 - 1e-7) - 0.5
        scale = self.bounds.std(*params[1:]) / math.sqrt(2.0)
        return loc - scale * u.sign() * torch.log1p(-2 * u.abs())

    def _nll(self, params: Params, target: torch.Tensor) -> torch.Tensor:
        log_scale = 0.5 * (self._log_var(params) - math.log(2.0))
        return ((target - params[0]).abs() * (-log_scale).exp() + log_scale + math.log(2.0)).sum(dim=-1)


@dataclass(frozen=True)
class MixtureSettings(MLPSettings):
    """Settings of :class:`MixtureMLP`."""

    components: int = setting(5, ">= 1")
    """Gaussian components per member."""

    def __post_init__(self):
        super().__post_init__()
        check_network_size({"ensemble_size": self.ensemble_size, "layers": self.layers, "hidden": self.hidden,
                            "components": self.components}, heads=self.components)


@register_model("mixture", tags=LEARNED | {"probabilistic"})
class MixtureMLP(MLPDynamics):
    """Mixture density network: M diagonal Gaussians with soft-bounded log-variances and mixing
    weights per row (Bishop 1994), for multi-modal next states."""

    Config = MixtureSettings

    def head_size(self, dim: int) -> int:
        return self.config.components * (1 + 2 * dim)

    def _distribution(self, raw: torch.Tensor, members: torch.Tensor | None) -> Params:
        m, d = self.config.components, self.target_dim
        log_weight = F.log_softmax(raw[..., :m], dim=-1)
        mean = raw[..., m: m + m * d].unflatten(-1, (m, d))
        log_var = self.bounds(raw[..., m + m * d:].unflatten(-1, (m, d)), members)
        return log_weight, mean, log_var

    def _mean(self, params: Params) -> torch.Tensor:
        log_weight, mean, _ = params
        return (log_weight.exp().unsqueeze(-1) * mean).sum(dim=-2)

    def _variance(self, params: Params) -> torch.Tensor:
        log_weight, mean, log_var = params
        weight = log_weight.exp().unsqueeze(-1)
        second_moment = (weight * (log_var.exp() + mean.square())).sum(dim=-2)
        return second_moment - self._mean(params).square()

    def _draw(self, params: Params, generator: torch.Generator | None) -> torch.Tensor:
        log_weight, mean, log_var = params
        pick = torch.multinomial(log_weight.exp().reshape(-1, log_weight.shape[-1]), 1, generator=generator)
        pick = pick.view(*log_weight.shape[:-1], 1, 1).expand(*mean.shape[:-2], 1, mean.shape[-1])
        mean, log_var = mean.gather(-2, pick).squeeze(-2), log_var.gather(-2, pick).squeeze(-2)
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return mean + (0.5 * log_var).exp() * noise

    def _nll(self, params: Params, target: torch.Tensor) -> torch.Tensor:
        log_weight, mean, log_var = params
        sq = (target.unsqueeze(-2) - mean).square() * (-log_var).exp()
        component_ll = -0.5 * (sq + log_var + LOG_2PI).sum(dim=-1)
        return -torch.logsumexp(log_weight + component_ll, dim=-1)


@register_model("fullcov-gaussian", tags=LEARNED | {"probabilistic"})
class FullCovGaussianMLP(MLPDynamics):
    """Gaussian with a full covariance ``L L^T`` per row: a mean head and a Cholesky factor L whose
    diagonal is a soft-bounded log-variance and whose strict lower triangle is free, so that
    correlated errors across state dims are modelled (cf. Chua et al. 2018, who keep it diagonal)."""

    def __init__(self, obs_dim: int, act_dim: int, task: Any = None, **settings: Any):
        super().__init__(obs_dim, act_dim, task, **settings)
        rows, cols = torch.tril_indices(self.target_dim, self.target_dim, offset=-1)
        self.register_buffer("_lower", rows * self.target_dim + cols, persistent=False)

    def head_size(self, dim: int) -> int:
        return dim + dim * (dim + 1) // 2

    def _distribution(self, raw: torch.Tensor, members: torch.Tensor | None) -> Params:
        d = self.target_dim
        mean, log_var, lower = raw[..., :d], raw[..., d: 2 * d], raw[..., 2 * d:]
        std = (0.5 * self.bounds(log_var, members)).exp()
        flat = raw.new_zeros(*raw.shape[:-1], d * d)
        flat[..., self._lower] = lower
        return mean, torch.diag_embed(std) + flat.unflatten(-1, (d, d))

    def _mean(self, params: Params) -> torch.Tensor:
        return params[0]

    def _variance(self, params: Params) -> torch.Tensor:
        return params[1].square().sum(dim=-1)

    def _draw(self, params: Params, generator: torch.Generator | None) -> torch.Tensor:
        mean, chol = params
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return mean + (chol @ noise.unsqueeze(-1)).squeeze(-1)

    def _nll(self, params: Params, target: torch.Tensor) -> torch.Tensor:
        mean, chol = params
        white = torch.linalg.solve_triangular(chol, (target - mean).unsqueeze(-1), upper=False).squeeze(-1)
        log_det = chol.diagonal(dim1=-2, dim2=-1).log().sum(dim=-1)
        return 0.5 * (white.square().sum(dim=-1) + target.shape[-1] * LOG_2PI) + log_det

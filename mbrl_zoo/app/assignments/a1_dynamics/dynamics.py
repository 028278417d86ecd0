"""Assignment 1: a probabilistic ensemble of dynamics models, the model of PETS (Chua et al.,
"Deep Reinforcement Learning in a Handful of Trials using Probabilistic Dynamics Models",
NeurIPS 2018).

Each of E members is a neural network that maps a state and an action to a Gaussian over the
*change* of the state (delta targets, Nagabandi et al. 2018). Inputs and targets are
standardised with statistics of the training data; the log-variance is kept inside learnable
soft bounds; every member trains on its own bootstrap resample of the data.

Write the functions and methods that raise ``NotImplementedError``. The model keeps the zoo's
``DynamicsModel`` contract (``mbrl_zoo/models/base.py``), so the zoo's ``fit`` trains it and
every planner and algorithm uses it::

    mbrl-zoo --plugin dynamics.py run pets --task cartpole-balance --set model.name=hw1-ensemble

Shapes: B rows, O observation dims, A action dims, E members.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mbrl_zoo.models.base import DynamicsModel
from mbrl_zoo.models.layers import EnsembleMLP
from mbrl_zoo.registry import register_model
from mbrl_zoo.types import Batch

MIN_STD = 1e-6
"""A dimension whose standard deviation in the data is below this is treated as constant."""


def delta_targets(obs: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    """Return what a delta-state model learns to predict: the change ``next_obs - obs`` (..., O).

    Small changes from a known state are easier to learn than the next state itself, and a
    network that outputs zero then predicts "nothing moves" (Nagabandi et al. 2018).
    """
    ### BEGIN SOLUTION
    return next_obs - obs
    ### END SOLUTION


def next_obs_from_delta(obs: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Return the next observation (..., O) from the observation and a predicted change: the
    inverse of :func:`delta_targets`."""
    ### BEGIN SOLUTION
    return obs + delta
    ### END SOLUTION


def normalization_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the per-dimension mean and standard deviation (D,) each of ``x`` (N, D), for
    standardising ``(x - mean) / std``.

    Use the population standard deviation (divide by N). A dimension whose std is below
    ``MIN_STD`` (constant in the data) gets std 1, so that standardising only shifts it.
    """
    ### BEGIN SOLUTION
    mean = x.mean(dim=0)
    std = x.std(dim=0, unbiased=False)
    return mean, torch.where(std < MIN_STD, torch.ones_like(std), std)
    ### END SOLUTION


def gaussian_nll(mean: torch.Tensor, log_var: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the negative log-likelihood of ``target`` under N(mean, exp(log_var)), per
    dimension and averaged over the last dimension: (...,) from three (..., D) tensors.

    Per dimension: ``0.5 * (log(2 pi) + log_var + (target - mean)^2 / exp(log_var))``.
    """
    ### BEGIN SOLUTION
    squared = (target - mean).square() * torch.exp(-log_var)
    return 0.5 * (math.log(2 * math.pi) + log_var + squared).mean(dim=-1)
    ### END SOLUTION


def soft_bound_log_var(raw: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Return ``raw`` log-variances kept smoothly inside ``[low, high]`` (Chua et al. 2018, A.1):
    first ``high - softplus(high - raw)``, then ``low + softplus(that - low)``; shapes broadcast.

    Without a bound a member can claim a vanishing variance on its training points (an NLL
    that goes to minus infinity) or an enormous one where it has seen no data.
    """
    ### BEGIN SOLUTION
    capped = high - F.softplus(high - raw)
    return low + F.softplus(capped - low)
    ### END SOLUTION


def bootstrap_indices(num_rows: int, ensemble_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Return one bootstrap resample per member (Efron 1979): (E, N) long indices into N rows,
    each member's N drawn uniformly with replacement, independently of the other members'.

    Members that train on different resamples disagree where data is scarce; that disagreement
    is the ensemble's estimate of what it does not know (epistemic uncertainty).
    """
    ### BEGIN SOLUTION
    return torch.randint(num_rows, (ensemble_size, num_rows), generator=generator)
    ### END SOLUTION


@register_model("hw1-ensemble", tags={"learned", "differentiable", "ensemble"})
class ProbabilisticEnsemble(DynamicsModel):
    """A bootstrap ensemble of Gaussian MLPs over standardised delta targets (PETS's model).

    ``net`` maps standardised inputs ``[obs, act]`` (E, B, O + A) to a mean and a raw
    log-variance (E, B, 2 O) of the standardised delta, both per member. ``min_log_var`` and
    ``max_log_var`` (E, 1, O) are the learnable soft bounds of the log-variance. The buffers
    ``input_mean``/``input_std`` (O + A,) and ``target_mean``/``target_std`` (O,) hold the
    standardisation statistics; they are saved with the model.
    """

    def __init__(self, obs_dim: int, act_dim: int, ensemble_size: int = 5, hidden: int = 200, layers: int = 4):
        super().__init__()
        self.obs_dim, self.act_dim, self.ensemble_size = int(obs_dim), int(act_dim), int(ensemble_size)
        self.net = EnsembleMLP(self.ensemble_size, obs_dim + act_dim, 2 * obs_dim, hidden, layers)
        self.min_log_var = nn.Parameter(torch.full((self.ensemble_size, 1, obs_dim), -10.0))
        self.max_log_var = nn.Parameter(torch.full((self.ensemble_size, 1, obs_dim), 0.5))
        self.register_buffer("input_mean", torch.zeros(obs_dim + act_dim))
        self.register_buffer("input_std", torch.ones(obs_dim + act_dim))
        self.register_buffer("target_mean", torch.zeros(obs_dim))
        self.register_buffer("target_std", torch.ones(obs_dim))

    def update_normalizers(self, data: Batch) -> None:
        """Set the input statistics from ``[obs, act]`` and the target statistics from the delta
        targets of ``data`` (N, ...), with :func:`normalization_stats`.

        The zoo's ``fit`` calls this with the training rows only, before it trains; statistics
        of held-out rows would leak them into training.
        """
        ### BEGIN SOLUTION
        inputs = torch.cat([data.obs, data.act], dim=-1).to(self.input_mean.dtype)
        targets = delta_targets(data.obs, data.next_obs).to(self.target_mean.dtype)
        for (mean, std), (mean_buffer, std_buffer) in (
                (normalization_stats(inputs), (self.input_mean, self.input_std)),
                (normalization_stats(targets), (self.target_mean, self.target_std))):
            mean_buffer.copy_(mean)
            std_buffer.copy_(std)
        ### END SOLUTION

    def distribution(self, obs: torch.Tensor, act: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return every member's mean and bounded log-variance of the *standardised* delta, each
        (E, B, O), for ``obs`` (B, O) and ``act`` (B, A), or one batch per member (E, B, ...).

        Standardise ``[obs, act]`` with the input statistics, run ``net`` (a 2-D input is
        expanded to every member first), split its output into mean and raw log-variance and
        bound the latter with :func:`soft_bound_log_var`.
        """
        ### BEGIN SOLUTION
        x = torch.cat([obs, act], dim=-1).to(self.input_mean.dtype)
        x = (x - self.input_mean) / self.input_std
        if x.dim() == 2:
            x = x.expand(self.ensemble_size, *x.shape)
        mean, raw = self.net(x).chunk(2, dim=-1)
        return mean, soft_bound_log_var(raw, self.min_log_var, self.max_log_var)
        ### END SOLUTION

    def predict(self, obs: torch.Tensor, act: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return every member's predictive mean and variance of the next observation, in
        observation units: each (E, B, O), from ``obs`` (B, O) and ``act`` (B, A)."""
        ### BEGIN SOLUTION
        mean, log_var = self.distribution(obs, act)
        delta = mean * self.target_std + self.target_mean
        return next_obs_from_delta(obs.to(delta.dtype), delta), log_var.exp() * self.target_std.square()
        ### END SOLUTION

    def mean(self, obs: torch.Tensor, act: torch.Tensor, member: torch.Tensor | None = None) -> torch.Tensor:
        """Return the predicted mean next observation (B, O): row b from member ``member[b]``,
        or the average over all members when ``member`` is None."""
        ### BEGIN SOLUTION
        means, _ = self.predict(obs, act)
        if member is None:
            return means.mean(dim=0)
        return means[member, torch.arange(obs.shape[0], device=obs.device)]
        ### END SOLUTION

    def sample(self, obs: torch.Tensor, act: torch.Tensor, member: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Return one draw of the next observation (B, O): row b from the Gaussian of member
        ``member[b]`` (a uniformly drawn member per row when ``member`` is None), with the
        normal noise (and the member draw) taken from ``generator``."""
        ### BEGIN SOLUTION
        rows = torch.arange(obs.shape[0], device=obs.device)
        if member is None:
            member = torch.randint(self.ensemble_size, (obs.shape[0],), generator=generator, device=obs.device)
        means, variances = self.predict(obs, act)
        mean, var = means[member, rows], variances[member, rows]
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return mean + var.sqrt() * noise
        ### END SOLUTION

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Return the training loss and a dict of floats to log: the mean :func:`gaussian_nll` of
        the standardised delta targets over members and rows, plus ``0.01 * (sum(max_log_var) -
        sum(min_log_var)) / E``, which pulls the bounds together (Chua et al. 2018, A.1).

        ``batch`` holds (B, ...) tensors, or (E, B, ...) with one bootstrap batch per member (as
        ``fit`` passes them).
        """
        ### BEGIN SOLUTION
        target = (delta_targets(batch.obs, batch.next_obs).to(self.target_mean.dtype) - self.target_mean)
        target = target / self.target_std
        mean, log_var = self.distribution(batch.obs, batch.act)
        nll = gaussian_nll(mean, log_var, target).mean()
        penalty = 0.01 * (self.max_log_var.sum() - self.min_log_var.sum()) / self.ensemble_size
        return nll + penalty, {"nll": nll.item()}
        ### END SOLUTION

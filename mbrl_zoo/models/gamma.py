"""The gamma-model (Janner, Mordatch and Levine 2020, "Gamma-Models: Generative Temporal
Difference Learning for Infinite-Horizon Prediction"): a density over the states a policy visits,
discounted, rather than over the next state.

For a policy pi and discount gamma, mu(s_e | s, a) is the distribution of s_{K} along a
trajectory s_0 = s, a_0 = a, a_t ~ pi(s_t), with K >= 1 drawn as P(K = k) = (1 - gamma)
gamma^(k-1): the normalised discounted occupancy. It satisfies a Bellman equation,

    mu(. | s, a) = (1 - gamma) p(. | s, a) + gamma E_{s' ~ p(.|s,a), a' ~ pi(s')} mu(. | s', a'),

so it is learned from single transitions (s, a, s') like a Q-function: the target of each row is
s' with probability 1 - gamma and otherwise a draw from a slowly tracking target copy of the model
at (s', pi(s')) ("generative TD", the paper's Eq. 3). Values follow by one expectation:
Q(s, a) = E_{s_e ~ mu(. | s, a)} [r(s_e)] / (1 - gamma) for a state reward r. gamma = 0 is the
one-step model; a gamma-model of discount gamma predicts about 1 / (1 - gamma) steps ahead in
one call.

The density is a mixture density network (:class:`~mbrl_zoo.models.families.MixtureMLP`) over
absolute states (occupancy states are not near s, so no delta target). A terminal transition is
treated as absorbing: its target is s' with probability 1.

It is registered with the tag ``occupancy``: it does not satisfy the one-step contract, so the
registry refuses it for planners and algorithms that roll one-step models forward.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from mbrl_zoo.errors import UserError
from mbrl_zoo.models.families import MixtureMLP
from mbrl_zoo.models.mlp import check_network_size
from mbrl_zoo.registry import register_model
from mbrl_zoo.settings import build_dataclass, setting
from mbrl_zoo.types import Batch

Policy = Callable[[torch.Tensor], torch.Tensor]
"""``policy(obs (B, O)) -> act (B, A)``: the policy whose occupancy the gamma-model predicts."""


@dataclass(frozen=True)
class GammaSettings:
    """Settings of :class:`GammaModel` (its registry config)."""

    discount: float = setting(0.9, "[0, 1)")
    """gamma: the occupancy's per-step discount; it predicts about 1 / (1 - gamma) steps ahead."""
    components: int = setting(5, ">= 1")
    """Gaussian components of the mixture density."""
    hidden: int = setting(200, ">= 1")
    """Width of every hidden layer of the density network."""
    layers: int = setting(3, ">= 1")
    """Number of hidden layers of the density network."""

    def __post_init__(self):
        check_network_size({"layers": self.layers, "hidden": self.hidden, "components": self.components},
                           heads=self.components)


@register_model("gamma", tags={"occupancy"})
class GammaModel(nn.Module):
    """Gamma-model (Janner et al. 2020): a mixture density over a fixed policy's discounted state
    occupancy, learned by generative TD from one-step transitions.

    ``sample`` draws the state reached after K ~ Geometric(1 - ``discount``) steps (K >= 1).
    Settings: :class:`GammaSettings` as keyword arguments; ``generator`` seeds the initial weights.

    Shapes: ``obs`` (B, O), ``act`` (B, A) -> ``sample`` and ``mean`` (B, O). ``density`` is the
    trained MixtureMLP, ``target`` its Polyak-averaged copy that generates bootstrap states.
    """

    Config = GammaSettings

    def __init__(self, obs_dim: int, act_dim: int, task=None, *, generator: torch.Generator | None = None,
                 **settings):
        super().__init__()
        self.config = build_dataclass(self.Config, settings, "model")
        cfg = self.config
        self.obs_dim, self.act_dim, self.discount = int(obs_dim), int(act_dim), cfg.discount
        self.density = MixtureMLP(obs_dim, act_dim, task, components=cfg.components, hidden=cfg.hidden,
                                  layers=cfg.layers, delta=False, generator=generator)
        self.target = copy.deepcopy(self.density).requires_grad_(False)
        self.register_buffer("fitted", torch.tensor(False))

    def sample(self, obs: torch.Tensor, act: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One occupancy state s_e ~ mu(. | s, a) per row, (B, O)."""
        return self.density.sample(obs, act, generator=generator)

    def mean(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        """E[s_e | s, a] (B, O): the discounted average of the states the policy visits."""
        return self.density.mean(obs, act)

    def value(self, obs: torch.Tensor, act: torch.Tensor, state_reward: Callable[[torch.Tensor], torch.Tensor],
              samples: int = 64, generator: torch.Generator | None = None) -> torch.Tensor:
        """Q(s, a) ~= mean of ``state_reward`` (S, O) -> (S,) over ``samples`` occupancy draws,
        divided by 1 - gamma (Janner et al. 2020, Sec. 4); (B,)."""
        rows = obs.shape[0]
        draws = self.sample(obs.repeat(samples, 1), act.repeat(samples, 1), generator)
        return state_reward(draws).reshape(samples, rows).mean(0) / (1.0 - self.discount)

    def td_targets(self, batch: Batch, next_act: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Bootstrap states (B, O) of the transitions ``batch``: s' with probability 1 - gamma
        (always, for a terminal transition), else a draw of the target model at (s', a'),
        ``next_act`` (B, A) being a' ~ pi(s')."""
        with torch.no_grad():
            bootstrap = self.target.sample(batch.next_obs, next_act, generator=generator)
            coin = torch.rand(batch.next_obs.shape[0], generator=generator, device=batch.next_obs.device)
            use_model = (coin < self.discount) & ~batch.terminated
            return torch.where(use_model.unsqueeze(-1), bootstrap.to(batch.next_obs.dtype), batch.next_obs)

    def td_loss(self, batch: Batch, next_act: torch.Tensor,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """The generative-TD loss: the density's NLL of :meth:`td_targets`, a scalar and its logs."""
        targets = self.td_targets(batch, next_act, generator)
        return self.density.loss(Batch(batch.obs, batch.act, targets, batch.rew, batch.terminated, batch.truncated))

    @torch.no_grad()
    def update_target(self, tau: float) -> None:
        """Polyak step of the target copy: target <- (1 - tau) target + tau density."""
        for target_param, param in zip(self.target.parameters(), self.density.parameters()):
            target_param.lerp_(param, tau)

    def set_normalizers(self, data: Batch) -> None:
        """Standardise inputs and occupancy states with statistics of ``data``'s (s, a) and s'
        (taken once: later fits keep them, so that the bootstrap targets' scale does not move)."""
        self.density.update_normalizers(data)
        self.target.input_norm.load_state_dict(self.density.input_norm.state_dict())
        self.target.target_norm.load_state_dict(self.density.target_norm.state_dict())
        self.fitted.fill_(True)


@dataclass
class GammaFitStats:
    """What :func:`fit_gamma` did: the TD loss of every step and the optimiser to pass back."""

    losses: list[float]
    optimizer: torch.optim.Optimizer


def fit_gamma(model: GammaModel, data: Batch, policy: Policy, steps: int, batch_size: int = 256, lr: float = 1e-3,
              tau: float = 0.005, weight_decay: float = 0.0, optimizer: torch.optim.Optimizer | None = None,
              generator: torch.Generator | None = None) -> GammaFitStats:
    """Train ``model`` for ``steps`` generative-TD steps on minibatches of the transitions ``data``
    (N, ...) with a' = ``policy(s')``, Adam at ``lr``, and a Polyak step of the target after each.
    Pass the returned optimiser back to continue training with its moments."""
    if steps < 0 or batch_size < 1 or not 0.0 < tau <= 1.0 or not 0.0 < lr < math.inf \
            or not 0.0 <= weight_decay < math.inf:
        raise UserError(f"fit_gamma needs steps >= 0, batch_size >= 1, tau in (0, 1], a finite lr > 0 and a finite "
                        f"weight_decay >= 0; got steps={steps!r}, batch_size={batch_size!r}, tau={tau!r}, lr={lr!r}, "
                        f"weight_decay={weight_decay!r}.")
    rows = data.obs.shape[0]
    if rows == 0:
        raise UserError("fit_gamma needs at least one transition.")
    if not bool(model.fitted):
        model.set_normalizers(data)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.density.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    for _ in range(steps):
        index = torch.randint(rows, (min(batch_size, rows),), generator=generator)
        batch = Batch(*(column[index] for column in (data.obs, data.act, data.next_obs, data.rew,
                                                       data.terminated, data.truncated)))
        losses.append(td_step(model, optimizer, batch, policy, tau, generator))
    return GammaFitStats(losses, optimizer)


def td_step(model: GammaModel, optimizer: torch.optim.Optimizer, batch: Batch, policy: Policy, tau: float,
            generator: torch.Generator | None = None) -> float:
    """One generative-TD step of ``model`` on the transitions ``batch`` (N, ...) with a' =
    ``policy(s')`` (N, A), then a Polyak step of its target copy; returns the loss."""
    with torch.no_grad():
        next_act = policy(batch.next_obs)
    loss, _ = model.td_loss(batch, next_act, generator)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    model.update_target(tau)
    return loss.item()


@torch.no_grad()
def rollout_occupancy(model, obs: torch.Tensor, policy: Policy, discount: float, samples: int,
                      termination_fn: Callable[..., torch.Tensor] | None = None, max_steps: int | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Monte-Carlo draws of the discounted occupancy from a one-step model: ``samples`` draws per
    start state of ``obs`` (B, O), each the state after K ~ Geometric(1 - discount) steps of
    ``policy`` through ``model.sample`` (e.g. the simulator oracle, for the truth a gamma-model is
    compared with, or a learned one-step model, whose rollouts compound its errors). Rows stay at
    the state a ``termination_fn`` flags (absorbing, as :class:`GammaModel` treats ends). K is
    capped at ``max_steps`` (default: the 0.999 quantile, log 0.001 / log discount). Returns
    (samples, B, O), the first action of every row drawn from ``policy`` too."""
    if not 0.0 <= discount < 1.0 or samples < 1:
        raise UserError(f"rollout_occupancy needs discount in [0, 1) and samples >= 1; got {discount!r}, {samples!r}.")
    if max_steps is None:
        max_steps = max(1, math.ceil(math.log(1e-3) / math.log(discount))) if discount > 0 else 1
    rows = obs.shape[0]
    state = obs.repeat(samples, 1)
    if discount > 0:  # P(K > k) = P(u <= discount^k) = discount^k
        u = torch.rand(state.shape[0], generator=generator, dtype=torch.float64).clamp_min(1e-300)
        steps = (1 + torch.floor(torch.log(u) / math.log(discount))).clamp(max=max_steps)
    else:
        steps = torch.ones(state.shape[0], dtype=torch.float64)
    alive = torch.ones(state.shape[0], dtype=torch.bool)
    for t in range(1, int(steps.max()) + 1):
        act = policy(state)
        next_state = model.sample(state, act, generator=generator).to(state.dtype)
        moving = alive & (steps >= t)
        if termination_fn is not None:
            alive = alive & ~(moving & termination_fn(state, act, next_state).reshape(-1).bool())
        state = torch.where(moving.unsqueeze(-1), next_state, state)
    return state.reshape(samples, rows, -1)

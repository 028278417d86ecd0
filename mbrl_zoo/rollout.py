"""Imagined rollouts: score action sequences by pushing them through a dynamics model.

One batched rollout of population x particles (N * P rows, one model call per step, no Python
loop over members, particles or candidates) with the propagation options of PETS (Chua et al.,
"Deep Reinforcement Learning in a Handful of Trials using Probabilistic Dynamics Models",
NeurIPS 2018):

* ``"expectation"``: every row follows the model's mean prediction (``model.mean`` with
  ``member=None``, the mean over elite members); deterministic, so one particle suffices and
  ``particles`` is ignored. The same holds for any propagation when the model is deterministic
  (``model.deterministic``) and has a single member to propagate with (the oracle, one MLP).
* ``"sample"``: every row draws its next state from the model (``model.sample`` with
  ``member=None``: a uniformly drawn elite member per row and step, plus its noise).
* ``"ts1"``: trajectory sampling with the member redrawn at every step; the member of each row
  comes from a random permutation, so each of the K elite members gets an equal share of the rows
  when N * P is a multiple of K (as in mbrl-lib).
* ``"tsinf"``: trajectory sampling with one member per particle for the whole horizon: particle
  p is propagated by member ``elites[p % K]`` (``p % E`` when all E members are elites).
* ``"ds"``: distribution sampling: every row draws as with ``"sample"``; then the P particles of
  each candidate are summarised by a diagonal Gaussian (their mean and variance per dimension) and
  P new particles are drawn from it.
* ``"mm"``: moment matching: the mixture of every particle's predictive Gaussian under every elite
  member (``model.predict``) is replaced, per candidate, by the diagonal Gaussian of the same
  mean and variance, from which the next P particles are drawn.

``"ds"`` and ``"mm"`` keep a single Gaussian per candidate and step, PETS's two propagation methods
besides trajectory sampling; they need ``particles`` >= 2 to see any spread.

Planners see only ``objective(actions (N, H, A)) -> (N,)``; :func:`make_objective` builds one.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.models.base import DynamicsModel

PROPAGATIONS = ("expectation", "sample", "ts1", "tsinf", "ds", "mm")
ValueFn = Callable[[torch.Tensor], torch.Tensor]
"""``value_fn(obs (B, O)) -> (B,)``: estimated return from ``obs`` onwards."""
RewardFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
TerminationFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def propagation_members(model: DynamicsModel, device: torch.device) -> torch.Tensor:
    """The members (M,) long that trajectory sampling assigns rows to: the model's ``elites``."""
    return torch.as_tensor(model.elites, dtype=torch.long, device=device)


def rollout_returns(
    model: DynamicsModel,
    obs0: torch.Tensor,
    actions: torch.Tensor,
    *,
    reward_fn: RewardFn,
    termination_fn: TerminationFn | None = None,
    particles: int = 20,
    propagation: str = "ts1",
    generator: torch.Generator | None = None,
    value_fn: ValueFn | None = None,
    discount: float = 1.0,
) -> torch.Tensor:
    """Expected discounted return (N,) of each action sequence from ``obs0``.

    ``obs0`` (O,) is the current observation; ``actions`` (N, H, A) the candidates. Each candidate
    is rolled out as ``particles`` (P) rows; the return of a row is ``sum_t discount^t r_t`` over
    the steps up to and including the one on which ``termination_fn`` first fires (terminated rows
    stop accumulating), plus ``discount^H value_fn(s_H)`` for rows still alive when ``value_fn`` is
    given. The result is the mean over particles; a NaN in any live particle makes it NaN, which
    planners rank last. ``reward_fn`` and ``termination_fn`` have the task signature
    ``(obs (B, O), act (B, A), next_obs (B, O)) -> (B,)``; a learned head is passed the same way
    (e.g. ``model.reward_fn``). ``termination_fn=None`` means the task never terminates.

    The caller chooses the autograd mode: wrap in ``torch.inference_mode()`` when not
    differentiating (:func:`make_objective` does).
    """
    if propagation not in PROPAGATIONS:
        raise UserError(f"unknown propagation {propagation!r}; expected one of {', '.join(PROPAGATIONS)}.")
    if actions.ndim != 3 or obs0.ndim != 1:
        raise UserError(
            f"rollout_returns needs obs0 (O,) and actions (N, H, A); got {tuple(obs0.shape)} and {tuple(actions.shape)}."
        )
    num, horizon, act_dim = actions.shape
    if int(particles) < 1:
        raise UserError(f"particles must be a positive integer, got {particles!r}.")
    single_path = propagation == "expectation" or (
        model.deterministic and propagation_members(model, actions.device).numel() == 1)
    per_candidate = 1 if single_path else int(particles)
    rows = num * per_candidate
    device = actions.device
    # (H, N * P, A), contiguous per step: row n * P + p is particle p of candidate n.
    step_actions = actions.transpose(0, 1).unsqueeze(2).expand(horizon, num, per_candidate, act_dim)
    step_actions = step_actions.reshape(horizon, rows, act_dim)
    obs = obs0.to(device=device, dtype=actions.dtype).expand(rows, -1)

    member = None
    if propagation in ("ts1", "tsinf"):
        members = propagation_members(model, device)
        if propagation == "tsinf":
            particle = torch.arange(per_candidate, device=device).repeat(num)
            member = members[particle % members.shape[0]]
        else:
            # Members cycled over the rows (equal shares), shuffled afresh at every step.
            shares = members.repeat(-(-rows // members.shape[0]))[:rows]

    returns = torch.zeros(rows, dtype=actions.dtype, device=device)
    alive = None
    weight = 1.0
    for t in range(horizon):
        act = step_actions[t]
        if propagation == "expectation":
            next_obs = model.mean(obs, act)
        elif propagation in ("ds", "mm"):
            next_obs = _gaussian_per_candidate(model, obs, act, num, per_candidate, propagation, generator)
        else:
            if propagation == "ts1":
                member = shares[torch.randperm(rows, generator=generator, device=device)]
            next_obs = model.sample(obs, act, member, generator)
        if t == 0 and tuple(next_obs.shape) != (rows, obs0.shape[0]):
            raise UserError(
                f"model {type(model).__name__} predicted shape {tuple(next_obs.shape)}; expected (rows, obs_dim) = "
                f"{(rows, obs0.shape[0])}. See mbrl_zoo.models.base.DynamicsModel for the contract."
            )
        reward = reward_fn(obs, act, next_obs)
        if t == 0 and tuple(reward.shape) != (rows,):
            raise UserError(f"reward_fn returned shape {tuple(reward.shape)}; expected ({rows},) (one per row).")
        if alive is not None:
            # where, not multiply: a NaN reward of an already terminated row must not count.
            reward = torch.where(alive, reward, 0.0)
        returns.add_(reward, alpha=weight)
        if termination_fn is not None:
            done = termination_fn(obs, act, next_obs)
            alive = ~done if alive is None else alive & ~done
        obs = next_obs
        weight *= discount
    if value_fn is not None:
        value = value_fn(obs)
        returns = returns + weight * (value if alive is None else torch.where(alive, value, 0.0))
    return returns.view(num, per_candidate).mean(1)


def _gaussian_per_candidate(model: DynamicsModel, obs: torch.Tensor, act: torch.Tensor, num: int, particles: int,
                            propagation: str, generator: torch.Generator | None) -> torch.Tensor:
    """Next states (N * P, O) for ``"ds"`` and ``"mm"``: P draws per candidate from one diagonal
    Gaussian, fitted to the candidate's sampled particles (ds) or matched to the moments of the
    mixture of its particles' predictive Gaussians over the elite members (mm)."""
    rows, obs_dim = obs.shape
    if propagation == "ds":
        drawn = model.sample(obs, act, None, generator).view(num, particles, obs_dim)
        mean, var = drawn.mean(1), drawn.var(1, unbiased=False)
    else:
        elites = propagation_members(model, obs.device)
        means, variances = model.predict(obs, act)  # (E, N * P, O) each
        means, variances = means[elites], variances[elites]
        second = (variances + means.square()).view(-1, num, particles, obs_dim).mean((0, 2))
        mean = means.view(-1, num, particles, obs_dim).mean((0, 2))
        var = (second - mean.square()).clamp_min(0.0)
    noise = torch.randn(num, particles, obs_dim, generator=generator, device=obs.device, dtype=obs.dtype)
    return (mean.unsqueeze(1) + var.sqrt().unsqueeze(1) * noise).reshape(rows, obs_dim)


def make_objective(
    model: DynamicsModel,
    obs: torch.Tensor,
    reward_fn: RewardFn | None = None,
    termination_fn: TerminationFn | None = None,
    *,
    particles: int = 20,
    propagation: str = "ts1",
    generator: torch.Generator | None = None,
    value_fn: ValueFn | None = None,
    discount: float = 1.0,
    differentiable: bool = False,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A planner objective ``actions (N, H, A) -> returns (N,)``: :func:`rollout_returns` from ``obs``.

    ``obs`` (O,) (array or tensor) is converted once to a float32 tensor. ``reward_fn=None`` (a
    task without a known reward) uses the model's learned reward head ``model.reward_fn``;
    ``termination_fn=None`` never terminates (pass ``model.termination_fn`` for a learned one).
    The rollout runs under ``torch.inference_mode()`` unless ``differentiable`` (for the gradient
    planner).
    """
    if reward_fn is None:
        reward_fn = getattr(model, "reward_fn", None)
        if reward_fn is None:
            raise UserError(
                f"no reward function: the task gives none and model {type(model).__name__} has no learned "
                "reward head (a reward_fn method); pass reward_fn= or use a model that learns rewards."
            )
    if propagation not in PROPAGATIONS:
        raise UserError(f"unknown propagation {propagation!r}; expected one of {', '.join(PROPAGATIONS)}.")
    obs0 = torch.as_tensor(obs, dtype=torch.float32)

    def objective(actions: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(not differentiable):
            return rollout_returns(
                model, obs0, actions, reward_fn=reward_fn, termination_fn=termination_fn, particles=particles,
                propagation=propagation, generator=generator, value_fn=value_fn, discount=discount,
            )

    return objective

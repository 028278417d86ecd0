"""What the Dyna family shares: imagined transitions from a learned model.

Dyna (Sutton 1991, "Dyna, an integrated architecture for learning, planning, and reacting")
trains a model-free learner on transitions that a model generates from real states; MBPO
(Janner et al. 2019, "When to Trust Your Model: Model-Based Policy Optimization") makes those
rollouts short and branched from states of the real replay buffer, grows their length on a
schedule and keeps them in a model buffer of bounded retention. The functions here are those
pieces; the loops that call them are in :mod:`algorithms.dyna` and :mod:`algorithms.mbpo`.

Every model is used through the :class:`~mbrl_zoo.models.base.DynamicsModel` contract only
(``sample(obs, act, member=None, generator)``), so ensembles, single Gaussians, deterministic
networks and simulators all fit.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.tasks.spec import RewardFn, TerminationFn
from mbrl_zoo.types import Batch

Policy = Callable[[torch.Tensor], torch.Tensor]
"""``policy(obs (B, O)) -> actions (B, A)`` in the env's bounds."""


def rollout_length(epoch: int, schedule: tuple[int, int, int, int]) -> int:
    """The model-rollout length k at ``epoch`` under MBPO's schedule ``(start_epoch, end_epoch,
    min_len, max_len)`` (Janner et al. 2019, Appendix C): ``min_len`` up to ``start_epoch``,
    then linear in the epoch up to ``max_len`` at ``end_epoch`` and after, rounded down."""
    start_epoch, end_epoch, min_len, max_len = schedule
    if end_epoch <= start_epoch:
        return int(max_len if epoch >= end_epoch else min_len)
    fraction = min(max((epoch - start_epoch) / (end_epoch - start_epoch), 0.0), 1.0)
    return int(min_len + fraction * (max_len - min_len))


def model_buffer_capacity(rollout_batch_size: int, length: int, epoch_length: int, refit_every: int,
                          retain_epochs: int) -> int:
    """Transitions the model buffer keeps: ``retain_epochs`` epochs' worth of rollouts.

    An epoch of ``epoch_length`` env steps launches ``rollout_batch_size`` rollouts every
    ``refit_every`` steps, each of at most ``length`` transitions (Janner et al. 2019's
    code sizes its model pool the same way).
    """
    rollouts_per_epoch = rollout_batch_size * max(epoch_length // refit_every, 1)
    return max(int(retain_epochs * rollouts_per_epoch * length), 1)


@torch.no_grad()
def branched_rollouts(model, start_obs: torch.Tensor, policy: Policy, length: int, reward_fn: RewardFn,
                      termination_fn: TerminationFn, generator: torch.Generator | None = None,
                      chunk: int = 25_000) -> Batch:
    """Roll the model out for ``length`` steps from each start state under ``policy``.

    ``start_obs`` (N, O) are real states; each step draws actions from ``policy``, next states
    from ``model.sample(obs, act, member=None, generator)`` (for an ensemble: a random elite per
    row, as in Janner et al. 2019) and rewards and terminations from the given functions. A
    rollout stops at its first terminal transition or at a non-finite prediction (that
    transition is dropped); the last step of a rollout still alive is marked ``truncated``.
    Rows go through the model ``chunk`` at a time to bound memory. Returns every transition
    made, a Batch of (M, ...) tensors with M <= N * length, step by step.
    """
    parts: list[Batch] = []
    obs = start_obs
    for step in range(length):
        if obs.shape[0] == 0:
            break
        act = torch.cat([policy(part) for part in obs.split(chunk)])
        next_obs = torch.cat([model.sample(o, a, member=None, generator=generator)
                              for o, a in zip(obs.split(chunk), act.split(chunk))])
        finite = torch.isfinite(next_obs).all(-1)
        obs, act, next_obs = obs[finite], act[finite], next_obs[finite]
        rew = reward_fn(obs, act, next_obs).reshape(-1).float()
        terminated = termination_fn(obs, act, next_obs).reshape(-1).bool()
        truncated = torch.full_like(terminated, step == length - 1) & ~terminated
        parts.append(Batch(obs, act, next_obs, rew, terminated, truncated))
        obs = next_obs[~terminated]
    if not parts:
        empty = start_obs[:0]
        none = torch.zeros(0, dtype=torch.bool)
        return Batch(empty, torch.zeros(0, model.act_dim), empty, torch.zeros(0), none, none)
    return Batch(*(torch.cat(column) for column in zip(*(_columns(p) for p in parts))))


def _columns(batch: Batch) -> tuple[torch.Tensor, ...]:
    return batch.obs, batch.act, batch.next_obs, batch.rew, batch.terminated, batch.truncated


def mixed_batch(real: ReplayBuffer, imagined: ReplayBuffer, batch_size: int, real_ratio: float,
                generator: torch.Generator | None = None) -> Batch:
    """A minibatch of ``batch_size`` transitions, ``int(batch_size * real_ratio)`` of them from
    the real buffer and the rest from the model buffer (Janner et al. 2019, Algorithm 2; all
    real while the model buffer is empty). Tensors (batch_size, ...)."""
    n_real = batch_size if len(imagined) == 0 else int(batch_size * real_ratio)
    parts = [real.sample(n_real, generator)] if n_real > 0 else []
    if n_real < batch_size:
        parts.append(imagined.sample(batch_size - n_real, generator))
    if len(parts) == 1:
        return parts[0]
    return Batch(*(torch.cat(column) for column in zip(*(_columns(p) for p in parts))))

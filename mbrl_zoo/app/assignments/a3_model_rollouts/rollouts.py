"""Assignment 3: the model-rollout pieces of Dyna and MBPO.

Dyna (Sutton 1991) trains a model-free learner on transitions that a learned model imagines
from real states. MBPO (Janner et al., "When to Trust Your Model: Model-Based Policy
Optimization", NeurIPS 2019) keeps those rollouts short and branched from states of the real
replay buffer, grows their length k on a schedule, and trains SAC on minibatches that mix a small
share of real transitions with imagined ones. You write the three pieces:

* :func:`rollout_length`: the length k of the rollouts at an epoch (the schedule).
* :func:`branched_rollouts`: k-step rollouts of the model from real start states, each stopped
  at its first terminal transition (termination masks).
* :func:`mixed_batch`: a minibatch with a ``real_ratio`` share of real transitions.

They are drop-in replacements for the zoo's own (``algorithms/model_rollouts.py``): the grader
runs the zoo's MBPO with yours. Shapes: N start states, O observation dims, A action dims.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.types import Batch

Policy = Callable[[torch.Tensor], torch.Tensor]
"""``policy(obs (B, O)) -> actions (B, A)``."""
StepFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""``fn(obs (B, O), act (B, A), next_obs (B, O)) -> (B,)``: a task's reward or termination."""


def rollout_length(epoch: int, schedule: tuple[int, int, int, int]) -> int:
    """Return the model-rollout length k at ``epoch`` under MBPO's ``schedule = (start_epoch,
    end_epoch, min_len, max_len)`` (Janner et al. 2019, Appendix C): ``max_len`` from
    ``end_epoch`` on, else ``min_len`` up to ``start_epoch``, and in between growing linearly
    with the epoch from ``min_len`` to ``max_len``, rounded down to an int."""
    ### BEGIN SOLUTION
    start_epoch, end_epoch, min_len, max_len = schedule
    if epoch >= end_epoch:
        return int(max_len)
    if epoch <= start_epoch:
        return int(min_len)
    progress = (epoch - start_epoch) / (end_epoch - start_epoch)
    return int(min_len + progress * (max_len - min_len))
    ### END SOLUTION


@torch.no_grad()
def branched_rollouts(model, start_obs: torch.Tensor, policy: Policy, length: int, reward_fn: StepFn,
                      termination_fn: StepFn, generator: torch.Generator | None = None,
                      chunk: int = 25_000) -> Batch:
    """Return every transition of one ``length``-step model rollout from each start state.

    From ``start_obs`` (N, O), step all live rollouts together: actions from ``policy``, next
    states from ``model.sample(obs, act, member=None, generator=generator)`` (a random ensemble
    member per row), rewards and terminal flags from ``reward_fn`` and ``termination_fn``. Keep
    an alive mask: a rollout stops after its first terminal transition, and a rollout whose
    predicted next state is not finite (NaN or inf) stops before it, that transition dropped. The
    last transition of a rollout still alive after ``length`` steps is marked ``truncated``; no
    other is. Pass at most ``chunk`` rows at a time to ``policy`` and the model.

    Returns a Batch of M <= N * length transitions (obs and next_obs (M, O) float32, act (M, A),
    rew (M,) float32, terminated and truncated (M,) bool), step by step: all first transitions,
    then all second ones, ..., each step's in the order of their start states.
    """
    ### BEGIN SOLUTION
    rows = start_obs.shape[0]
    alive = torch.ones(rows, dtype=torch.bool)
    obs = start_obs.clone()
    steps: list[Batch] = []
    for step in range(length):
        live = alive.nonzero().squeeze(1)
        if live.numel() == 0:
            break
        now = obs[live]
        act = torch.cat([policy(part) for part in now.split(chunk)])
        predicted = torch.cat([model.sample(o, a, member=None, generator=generator)
                               for o, a in zip(now.split(chunk), act.split(chunk))])
        finite = torch.isfinite(predicted).all(dim=-1)
        now, act, predicted, live = now[finite], act[finite], predicted[finite], live[finite]
        rew = reward_fn(now, act, predicted).reshape(-1).to(torch.float32)
        done = termination_fn(now, act, predicted).reshape(-1).to(torch.bool)
        cut = torch.full_like(done, step == length - 1) & ~done
        steps.append(Batch(now, act, predicted, rew, done, cut))
        alive[:] = False
        alive[live[~done]] = True
        obs[live] = predicted
    if not steps:
        empty_bool = torch.zeros(0, dtype=torch.bool)
        return Batch(start_obs[:0], torch.zeros(0, model.act_dim), start_obs[:0], torch.zeros(0), empty_bool,
                     empty_bool)
    return Batch(**{f.name: torch.cat([getattr(s, f.name) for s in steps]) for f in dataclasses.fields(Batch)})
    ### END SOLUTION


def mixed_batch(real: ReplayBuffer, imagined: ReplayBuffer, batch_size: int, real_ratio: float,
                generator: torch.Generator | None = None) -> Batch:
    """Return a minibatch of ``batch_size`` transitions (tensors (batch_size, ...)): the first
    ``int(batch_size * real_ratio)`` drawn from ``real``, the rest from ``imagined`` (Janner et
    al. 2019, Algorithm 2), or all from ``real`` while ``imagined`` is empty. Draw with
    ``buffer.sample(count, generator)``."""
    ### BEGIN SOLUTION
    from_real = batch_size if len(imagined) == 0 else int(batch_size * real_ratio)
    drawn = [buffer.sample(count, generator) for buffer, count in ((real, from_real), (imagined, batch_size - from_real))
             if count > 0]
    return Batch(**{f.name: torch.cat([getattr(b, f.name) for b in drawn]) for f in dataclasses.fields(Batch)})
    ### END SOLUTION

"""What the Dyna family shares: imagined transitions from a learned model.

Dyna (Sutton 1991, "Dyna, an integrated architecture for learning, planning, and reacting")
trains a model-free learner on transitions that a model generates from real states; MBPO
(Janner et al. 2019, "When to Trust Your Model: Model-Based Policy Optimization") makes those
rollouts short and branched from states of the real replay buffer, grows their length on a
schedule and keeps them in a model buffer of bounded retention. The functions here are those
pieces, with the model-fitting settings and refitter that Dyna, MBPO and MB-MF share; the loops
that call them are in :mod:`algorithms.dyna`, :mod:`algorithms.mbpo` and :mod:`algorithms.mbmf`.

Every model is used through the :class:`~mbrl_zoo.models.base.DynamicsModel` contract only
(``sample(obs, act, member=None, generator)``), so ensembles, single Gaussians, deterministic
networks and simulators all fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.errors import UserError
from mbrl_zoo.models.fit import fit, make_optimizer
from mbrl_zoo.tasks.spec import RewardFn, TaskSpec, TerminationFn
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


def model_buffer_capacity(rollout_batch_size: int, length: int, epoch_length: int, model_train_freq: int,
                          retain_epochs: int) -> int:
    """Transitions the model buffer keeps: ``retain_epochs`` epochs' worth of rollouts.

    An epoch of ``epoch_length`` env steps launches ``rollout_batch_size`` rollouts every
    ``model_train_freq`` steps, each of at most ``length`` transitions (Janner et al. 2019's
    code sizes its model pool the same way).
    """
    rollouts_per_epoch = rollout_batch_size * max(epoch_length // model_train_freq, 1)
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


def reward_and_termination(model, spec: TaskSpec) -> tuple[RewardFn, TerminationFn]:
    """The reward and termination functions of imagined transitions: the task's (exact), or,
    for a task without a reward function, the model's learned reward head (``model.reward_fn``)."""
    if spec.reward_fn is not None:
        return spec.reward_fn, spec.termination_fn
    learned = getattr(model, "reward_fn", None)
    if learned is None:
        raise UserError(
            f"task {spec.name!r} has no reward_fn and model {type(model).__name__} learns no reward; "
            "imagined transitions need one of them. Choose a task with a reward function or a model "
            "with a reward head (e.g. --set model.learn_reward=true)."
        )
    return learned, spec.termination_fn


def require_ensemble(model, model_name: str, algorithm: str) -> None:
    """Refuse a single model where ``algorithm`` needs an ensemble: MBPO draws each imagined
    transition from a random elite (Janner et al. 2019), STEVE measures the spread of its members'
    targets (Buckman et al. 2018)."""
    if model.ensemble_size < 2:
        raise UserError(
            f"{algorithm} needs an ensemble of models, but model {model_name!r} was built with ensemble_size="
            f"{model.ensemble_size}. Use model 'pe' (7 members, 5 elites) or set "
            "--set model.ensemble_size=7 --set model.num_elites=5."
        )


def model_is_trainable(model) -> bool:
    """False for models with nothing to learn (an oracle simulator): their fitting is skipped."""
    return any(p.requires_grad for p in model.parameters())


@dataclass(frozen=True)
class FitSettings:
    """How the model is fitted to the real buffer (arguments of :func:`mbrl_zoo.models.fit.fit`).

    Defaults follow Janner et al. 2019's model training: minibatches of 256, Adam at 1e-3, a
    holdout of 20% and early stopping after 5 epochs without improvement; ``fit_epochs`` caps
    the epochs of one fit (their code has no cap) to bound CPU time.
    """

    fit_epochs: int = 100
    fit_batch_size: int = 256
    fit_holdout_ratio: float = 0.2
    fit_patience: int = 5
    fit_lr: float = 1e-3
    fit_weight_decay: float = 5e-5


class ModelFitter:
    """Refits a model to the whole real buffer with :func:`mbrl_zoo.models.fit.fit`, keeping the
    Adam optimiser between fits (as a model trained on and off over a run would). A model with
    nothing to learn (the simulator oracle) is left alone. ``state_dict`` holds the optimiser."""

    def __init__(self, model, settings: FitSettings):
        self.model, self.settings = model, settings
        self.optimizer = None

    def __call__(self, real: ReplayBuffer, generator: torch.Generator) -> dict[str, float]:
        """Fit to every transition of ``real``; returns ``model_*`` statistics to log."""
        if not model_is_trainable(self.model) or len(real) < 2:
            return {}
        s = self.settings
        stats = fit(self.model, real.all(), epochs=s.fit_epochs, batch_size=s.fit_batch_size,
                    holdout_ratio=s.fit_holdout_ratio, patience=s.fit_patience, lr=s.fit_lr,
                    weight_decay=s.fit_weight_decay, optimizer=self.optimizer, generator=generator)
        self.optimizer = stats.optimizer
        out = {"model_loss": stats.last.train_loss, "model_fit_epochs": len(stats.epochs),
               "model_fit_s": stats.seconds}
        if stats.last.holdout_nmse is not None:
            out["model_holdout_nmse"] = sum(stats.member_nmse[e] for e in stats.elites) / len(stats.elites)
        return out

    def state_dict(self) -> dict | None:
        return None if self.optimizer is None else self.optimizer.state_dict()

    def load_state_dict(self, state: dict | None) -> None:
        if state is not None:
            self.optimizer = make_optimizer(self.model, self.settings.fit_lr, self.settings.fit_weight_decay)
            self.optimizer.load_state_dict(state)

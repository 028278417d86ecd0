"""What the zoo needs to know about a task: the env to build and its reward and termination.

Reward and termination functions are batched torch functions of a transition, so that planners
can score imagined rollouts. ``check_task`` holds them to the real environment.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from mbrl_zoo.errors import UserError

RewardFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""``reward_fn(obs (B, O), act (B, A), next_obs (B, O)) -> (B,)``."""
TerminationFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""``termination_fn(obs (B, O), act (B, A), next_obs (B, O)) -> (B,) bool``."""
StateFromObs = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``state_from_obs(obs (O,)) -> (qpos (nq,), qvel (nv,))`` of a MuJoCo env."""


def never_terminates(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    """Termination function of tasks that only end by time limit: all False, shape (B,)."""
    return torch.zeros(next_obs.shape[:-1], dtype=torch.bool, device=next_obs.device)


BUNDLED_ASSET_DEPRECATIONS = ("compiler attribute 'settotalmass' is deprecated",)
"""MuJoCo warnings about gymnasium's own model files (MuJoCo 4 deprecates ``settotalmass``, which
HalfCheetah's XML uses): nothing a user can act on, printed at every env construction."""


@contextmanager
def _without_bundled_asset_deprecations() -> Iterator[None]:
    """Inside the block, MuJoCo warnings in :data:`BUNDLED_ASSET_DEPRECATIONS` are dropped and
    every other warning goes to the handler installed before, or to stderr; restored on exit."""
    import mujoco

    previous = mujoco.get_mju_user_warning()

    def forward(message: str) -> None:
        if any(message.startswith(text) for text in BUNDLED_ASSET_DEPRECATIONS):
            return
        if previous is not None:
            previous(message)
        else:
            print(f"WARNING: {message}", file=sys.stderr)

    mujoco.set_mju_user_warning(forward)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)


@dataclass(frozen=True)
class TaskSpec:
    """A task: a gymnasium env id with kwargs, and its batched reward and termination.

    ``reward_fn`` may be ``None`` for a task whose reward the model must learn. ``angle_dims``
    lists observation dimensions that are angles, which learned models may encode as sin/cos.
    ``episode_length`` is the time limit applied by :meth:`make_env`.

    ``state_from_obs`` is given only for MuJoCo tasks whose observation determines the full
    simulator state: ``env.unwrapped.set_state(*spec.state_from_obs(obs))`` puts the simulator
    back in the state ``obs`` was observed in, so that stepping it from there reproduces the
    real transition (an oracle dynamics model resets the simulator this way). Quantities the
    simulator derives rather than stores (contact forces in Ant's observation) are recomputed by
    the next step. It is ``None`` where the observation leaves part of the state out or clips it.

    ``obs_is_state`` is True when the observation is exactly ``concat(qpos, qvel)`` (InvertedPendulum,
    cart-pole, Swimmer and HalfCheetah with the root position): the oracle model then steps all rows
    of a call in one ``mujoco.rollout`` call instead of one env step per row.

    ``differentiable_reward`` is False when the return is piecewise constant in the actions
    (+1 per step while alive, as in InvertedPendulum): its gradient is zero or undefined, so a
    gradient-based planner cannot work on the task and is refused before a run starts.

    ``num_actions`` is None for a continuous task (actions in a box, :meth:`action_bounds`) and
    the number n of actions for a discrete one (the env's ``Discrete(n)`` space). The env takes an
    action index in ``[0, n)``; everywhere else in the zoo -- ``reward_fn``, ``termination_fn``,
    a :class:`~mbrl_zoo.types.Batch`'s ``act``, a dynamics model's input -- a discrete action is its
    one-hot row (B, n), so learned models keep their contract with ``act_dim = n``
    (:meth:`dims` says so). :meth:`encode_actions` and :meth:`decode_actions` convert between the
    two. Planners and algorithms declare the kind of actions they work with and are refused on a
    task of the other kind (:func:`mbrl_zoo.registry.check_compatible`).
    """

    name: str
    env_id: str
    reward_fn: RewardFn | None
    termination_fn: TerminationFn = never_terminates
    episode_length: int = 1000
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    angle_dims: tuple[int, ...] = ()
    description: str = ""
    state_from_obs: StateFromObs | None = None
    obs_is_state: bool = False
    differentiable_reward: bool = True
    num_actions: int | None = None

    def __post_init__(self) -> None:
        if self.num_actions is not None and (isinstance(self.num_actions, bool) or not isinstance(self.num_actions, int)
                                             or self.num_actions < 2):
            raise UserError(f"task {self.name!r}: num_actions must be an int >= 2 (a discrete task) or None "
                            f"(a continuous one), got {self.num_actions!r}.")
        if self.obs_is_state and self.state_from_obs is None:
            raise UserError(f"task {self.name!r}: obs_is_state=True needs state_from_obs (the observation "
                            "is the state, so give the function that splits it into qpos and qvel).")

    @property
    def summary(self) -> str:
        return self.description or self.env_id

    @property
    def discrete(self) -> bool:
        """True for a task with a finite set of ``num_actions`` actions."""
        return self.num_actions is not None

    @property
    def action_space_kind(self) -> str:
        """``"discrete"`` or ``"continuous"``: what a planner or algorithm must handle to act on it."""
        return "discrete" if self.discrete else "continuous"

    def encode_actions(self, indices: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """One-hot rows (B, n) of ``dtype`` for action indices (B,) in ``[0, n)`` of a discrete task:
        the form ``reward_fn``, ``termination_fn`` and models take. Other input raises UserError."""
        n = self._discrete_actions("encode_actions")
        indices = torch.as_tensor(indices)
        if indices.ndim != 1 or indices.is_floating_point() or indices.is_complex():
            raise UserError(f"task {self.name!r}: encode_actions takes integer action indices of shape (B,), got "
                            f"{indices.dtype} of shape {tuple(indices.shape)}.")
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= n):
            raise UserError(f"task {self.name!r}: action indices must lie in [0, {n}), got values from "
                            f"{int(indices.min())} to {int(indices.max())}.")
        return torch.nn.functional.one_hot(indices.long(), n).to(dtype)

    def decode_actions(self, one_hot: torch.Tensor) -> torch.Tensor:
        """Action indices (B,) long of rows (B, n) of a discrete task: the largest entry of each row
        (so a one-hot row gives its index back). Other shapes raise UserError."""
        n = self._discrete_actions("decode_actions")
        one_hot = torch.as_tensor(one_hot)
        if one_hot.ndim != 2 or one_hot.shape[1] != n:
            raise UserError(f"task {self.name!r}: decode_actions takes rows of shape (B, {n}), got "
                            f"{tuple(one_hot.shape)}.")
        return one_hot.argmax(-1)

    def _discrete_actions(self, what: str) -> int:
        if self.num_actions is None:
            raise UserError(f"task {self.name!r} has continuous actions; {what} is for discrete tasks "
                            "(TaskSpec.num_actions set).")
        return self.num_actions

    def make_env(self, **overrides: Any) -> gym.Env:
        """Build the environment (time limit = ``episode_length``); unknown ids raise UserError."""
        kwargs = {**self.env_kwargs, **overrides}
        try:
            with _without_bundled_asset_deprecations():
                return gym.make(self.env_id, max_episode_steps=self.episode_length, **kwargs)
        except gym.error.Error as exc:
            known = sorted(k for k in gym.registry if "-v" in k)
            raise UserError(
                f"task {self.name!r}: gymnasium cannot make env {self.env_id!r} ({exc}). "
                f"Known env ids include: {', '.join(known[:40])}{', ...' if len(known) > 40 else ''}."
            ) from None

    def dims(self) -> tuple[int, int]:
        """``(obs_dim, act_dim)`` of the environment; ``act_dim`` is ``num_actions`` for a discrete
        task (the width of its one-hot actions)."""
        env = self.make_env()
        try:
            obs_dim = int(np.prod(env.observation_space.shape))
            return obs_dim, self.num_actions if self.discrete else int(np.prod(env.action_space.shape))
        finally:
            env.close()

    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low (A,), high (A,))`` as float32 arrays; a discrete task has none (UserError)."""
        if self.discrete:
            raise UserError(f"task {self.name!r} has {self.num_actions} discrete actions, not a box of continuous "
                            "ones, so it has no action bounds; plan on it with a discrete planner (mcts).")
        env = self.make_env()
        try:
            return env.action_space.low.astype(np.float32), env.action_space.high.astype(np.float32)
        finally:
            env.close()

"""Hold a task's ``reward_fn`` and ``termination_fn`` (and ``obs_is_state``) to its real environment.

:func:`check_task` steps the env with uniformly random actions from seeded resets, then scores
every recorded transition with the task's functions in one float64 batch and compares.

One adjustment for MuJoCo envs: ``mj_step`` leaves body and site positions (``xpos``,
``site_xpos``) at its last intermediate stage, not at the new state. Ant-v5 reads its torso
position there for the forward velocity, InvertedDoublePendulum-v5 its tip there, so their own
reward lags the state they return by part of a physics substep (Ant's by 1e-3 typically, up to
0.1), which no function of the observed transition can reproduce. The check therefore brings
those positions up to date after every step (``mj_kinematics``): the simulated trajectory is
unchanged bit for bit, and the env's reward formula is evaluated at the state it reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np
import torch
from gymnasium.envs.mujoco import MujocoEnv
from gymnasium.spaces import Discrete

from mbrl_zoo.errors import UserError
from mbrl_zoo.tasks.spec import TaskSpec
from mbrl_zoo.types import Batch

REWARD_TOLERANCE = 1e-4
"""Largest absolute reward error a task may have and pass."""
EPISODES = 5
"""The transitions are spread over at least this many episodes (each at most 1/EPISODES of them)."""
TERMINAL_SEARCH_FACTOR = 10
"""Where no transition terminated, further whole episodes run, up to this many times the requested
transitions in all, until one does: a termination_fn that never fires is then held to an env
that can end (whether an env can end is learned by trying, not from the task's own claim)."""
TERMINAL_SEARCH_HOLD = 5
"""In those further episodes of a discrete task each random action is held for this many steps:
held pushes build up motion that independent draws of a few actions average away (Acrobot-v1
reaches its goal height about once in 5,000 uniformly random steps, and about once in 650 with
actions held for 5). Continuous tasks keep independent draws throughout."""


@dataclass(frozen=True)
class TaskCheck:
    """What :func:`check_task` found for one task.

    ``max_reward_error`` is the largest ``|reward_fn - env reward|`` (``None`` when the task has no
    ``reward_fn``); ``termination_mismatches`` counts transitions where ``termination_fn``
    disagrees with the env's ``terminated``; ``terminations`` counts the env's terminal
    transitions among the ``transitions`` compared. ``state_mismatches`` counts observations that
    are not ``concat(qpos, qvel)`` in a task that claims ``obs_is_state`` (None: not claimed).
    """

    name: str
    transitions: int
    max_reward_error: float | None
    termination_mismatches: int
    ok: bool
    terminations: int
    state_mismatches: int | None = None

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "FAILED"
        if self.max_reward_error is None:
            reward = "reward not checked (no reward_fn)"
        else:
            reward = f"max reward error {self.max_reward_error:.2e} (tolerance {REWARD_TOLERANCE:.0e})"
        state = "" if self.state_mismatches is None else f", {self.state_mismatches} observations not (qpos, qvel)"
        return (
            f"{self.name}: {verdict}: {self.transitions} transitions ({self.terminations} terminal), "
            f"{reward}, {self.termination_mismatches} termination mismatches{state}"
        )


def _update_positions_after_each_step(env: MujocoEnv) -> None:
    """Make ``env`` recompute body and site positions at the new state after every step."""
    step_simulation = env._step_mujoco_simulation

    def step_and_update_positions(ctrl: np.ndarray, n_frames: int) -> None:
        step_simulation(ctrl, n_frames)
        mujoco.mj_kinematics(env.model, env.data)

    env._step_mujoco_simulation = step_and_update_positions


def check_action_space(spec: TaskSpec, env) -> None:
    """UserError unless ``env``'s action space is what ``spec`` claims: ``Discrete(num_actions)``
    (starting at 0) for a discrete task, a box for a continuous one."""
    space = env.action_space
    if spec.discrete:
        if not isinstance(space, Discrete) or int(space.n) != spec.num_actions or int(space.start) != 0:
            raise UserError(f"task {spec.name!r} claims num_actions={spec.num_actions}, but its env "
                            f"{spec.env_id!r} has action space {space}; set num_actions to match a Discrete(n) "
                            "space, or None for a box.")
    elif isinstance(space, Discrete):
        raise UserError(f"task {spec.name!r}: env {spec.env_id!r} has discrete actions ({space}); "
                        f"declare them with num_actions={int(space.n)} in its TaskSpec.")


def record_random_transitions(spec: TaskSpec, transitions: int, seed: int = 0) -> Batch:
    """Step ``spec``'s env with uniformly random actions: a float64 :class:`Batch` (N, ...).

    The ``transitions`` are spread over at least ``EPISODES`` episodes; episode ``k`` resets with
    seed ``seed + k``. If none terminated, further whole episodes run (a discrete task's random
    actions held for ``TERMINAL_SEARCH_HOLD`` steps each), up to ``TERMINAL_SEARCH_FACTOR *
    transitions`` transitions in all, until one does (so N may exceed ``transitions``). Positions
    are kept current as described in the module docstring. The actions of a discrete task are
    stored one-hot, ``act`` (N, num_actions), as the task's functions take them; an env whose
    action space differs from the task's claim raises UserError.
    """
    env = spec.make_env()
    steps_per_episode = max(1, math.ceil(transitions / EPISODES))
    budget = transitions * TERMINAL_SEARCH_FACTOR
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, float, bool, bool]] = []
    terminal_seen = False
    episode = 0
    try:
        check_action_space(spec, env)
        if isinstance(env.unwrapped, MujocoEnv):
            _update_positions_after_each_step(env.unwrapped)
        env.action_space.seed(seed)
        while len(rows) < transitions or (not terminal_seen and len(rows) < budget):
            if len(rows) < transitions:
                steps, hold = min(steps_per_episode, transitions - len(rows)), 1
            else:
                steps, hold = budget - len(rows), TERMINAL_SEARCH_HOLD if spec.discrete else 1
            obs, _ = env.reset(seed=seed + episode)
            episode += 1
            for step in range(steps):
                if step % hold == 0:
                    act = env.action_space.sample()
                next_obs, reward, terminated, truncated, _ = env.step(act)
                rows.append((obs, act, next_obs, float(reward), bool(terminated), bool(truncated)))
                terminal_seen |= bool(terminated)
                if terminated or truncated:
                    break
                obs = next_obs
    finally:
        env.close()

    def stacked(column: int) -> torch.Tensor:
        return torch.as_tensor(np.stack([np.asarray(row[column], dtype=np.float64) for row in rows]))

    def flags(column: int) -> torch.Tensor:
        return torch.tensor([row[column] for row in rows], dtype=torch.bool)

    act = stacked(1)
    if spec.discrete:
        act = spec.encode_actions(act.long(), dtype=torch.float64)
    return Batch(stacked(0), act, stacked(2), stacked(3), flags(4), flags(5))


def observation_state_mismatches(spec: TaskSpec, steps: int = 100, seed: int = 0) -> int:
    """How many of ``steps`` observations (resets included) of ``spec``'s env under random actions
    differ from ``concat(qpos, qvel)`` of its simulator: 0 is what ``obs_is_state`` claims."""
    env = spec.make_env()
    try:
        if not isinstance(env.unwrapped, MujocoEnv):
            return steps
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        mismatches = 0
        for _ in range(steps):
            data = env.unwrapped.data
            mismatches += not np.array_equal(np.asarray(obs, dtype=np.float64), np.concatenate([data.qpos, data.qvel]))
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                obs, _ = env.reset()
        return mismatches
    finally:
        env.close()


def _checked_output(spec: TaskSpec, what: str, output: torch.Tensor, rows: int) -> torch.Tensor:
    """``output`` of ``spec.<what>`` if it is a (rows,) tensor, else UserError."""
    if not isinstance(output, torch.Tensor) or output.shape != (rows,):
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise UserError(
            f"task {spec.name!r}: {what}(obs, act, next_obs) returned {shape} for a batch of {rows} "
            f"transitions; expected a tensor of shape ({rows},)."
        )
    return output


def check_task(spec: TaskSpec, transitions: int = 500, seed: int = 0) -> TaskCheck:
    """Compare ``spec.reward_fn`` and ``spec.termination_fn`` with the real env.

    Records random-action transitions with :func:`record_random_transitions` (terminal ones
    included where the task can terminate), evaluates both functions on them as one float64
    batch (obs (N, O), act (N, A), next_obs (N, O); a discrete task's act is one-hot, A =
    ``num_actions``), and passes iff the largest absolute reward
    error is at most ``REWARD_TOLERANCE`` and every termination matches. A task without
    ``reward_fn`` is checked for termination only. Functions that return anything but an (N,)
    tensor raise UserError.
    """
    if transitions < 1:
        raise UserError(f"check_task needs transitions >= 1, got {transitions}.")
    batch = record_random_transitions(spec, transitions, seed)
    rows = len(batch)
    with torch.no_grad():
        predicted_terminated = spec.termination_fn(batch.obs, batch.act, batch.next_obs)
        predicted_terminated = _checked_output(spec, "termination_fn", predicted_terminated, rows)
        mismatches = int((predicted_terminated.bool() != batch.terminated).sum())
        max_reward_error = None
        if spec.reward_fn is not None:
            predicted_reward = spec.reward_fn(batch.obs, batch.act, batch.next_obs)
            predicted_reward = _checked_output(spec, "reward_fn", predicted_reward, rows)
            max_reward_error = float((predicted_reward.double() - batch.rew).abs().max())
    reward_ok = max_reward_error is None or max_reward_error <= REWARD_TOLERANCE
    state_mismatches = observation_state_mismatches(spec, seed=seed) if spec.obs_is_state else None
    return TaskCheck(
        name=spec.name,
        transitions=rows,
        max_reward_error=max_reward_error,
        termination_mismatches=mismatches,
        ok=reward_ok and mismatches == 0 and not state_mismatches,
        terminations=int(batch.terminated.sum()),
        state_mismatches=state_mismatches,
    )

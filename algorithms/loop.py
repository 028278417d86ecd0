"""The one environment loop that every algorithm drives from its own ``for`` loop.

An algorithm's ``train`` reads top to bottom::

    loop = EnvLoop(config, run)                   # the env, its seeds, the step budget
    agent, real = ..., ReplayBuffer(...)
    loop.keep(agent=agent, real=real)             # in every checkpoint; restored here on --resume
    for obs in loop:                              # episode rows, evaluations, checkpoints between steps
        action = agent.act(obs)
        step = loop.step(action)
        real.add_step(step)
        loop.stats.update(agent.update(real.sample(...)))

:class:`EnvLoop` owns everything about interacting with the environment and nothing about
learning: the training env and its reset seeds (``episode_seed(seed, episode)``), the exact
``run.steps`` budget, one ``metrics.csv`` row per episode (its return, length, the learner's
latest ``stats`` and, when due, the return of evaluation episodes of any policy callable),
checkpoints and the loop's own random streams. Its bookkeeping runs between iterations, after
the learner has used the last step and before it acts again, so a checkpoint always holds a
consistent state.

Checkpoints are written at every episode end, at the end of the budget and, inside long episodes,
every :data:`CHECKPOINT_EVERY_S` seconds (they hold the env's own state, MuJoCo's included), so a
run killed at any point resumes from at most that far back and reaches the same metrics as one
never stopped. When
the budget ends inside an episode, that episode's row is marked ``cut`` = 1 (summaries leave it
out); extending the run with ``--resume --steps N`` continues the same episode, so a run extended
from 400 to 700 steps equals a fresh 700-step run.
"""

from __future__ import annotations

import copy
import time
from contextlib import contextmanager
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig
from mbrl_zoo.device import generator_state, load_generator_state, seeded_generator
from mbrl_zoo.errors import UserError
from mbrl_zoo.runs import Run, episode_seed, final_info

Policy = Callable[[np.ndarray], np.ndarray | int]
"""``policy(obs (O,)) -> action``: an array (A,) for a continuous task, an action index in
``[0, n)`` for a discrete one."""

CHECKPOINT_EVERY_S = 60.0
"""Most seconds of work between two checkpoints inside an episode."""
EVAL_EPISODE_OFFSET = 1_000_000_000
"""Evaluation episodes take their reset seeds from episode indices above this, disjoint from the
training episodes' indices."""


@dataclass(frozen=True)
class Step:
    """One env transition: arrays obs (O,), act (A,), next_obs (O,), scalars and the env's info.
    ``act`` of a discrete task is the action's one-hot row (A = n), the form models and buffers
    take. ``truncated`` is the env's own time limit; the run's step budget never sets it."""

    obs: np.ndarray
    act: np.ndarray
    next_obs: np.ndarray
    rew: float
    terminated: bool
    truncated: bool
    info: dict


def add_step(buffer: ReplayBuffer, step: Step) -> None:
    """Store one :class:`Step` in a replay buffer."""
    buffer.add(step.obs, step.act, step.next_obs, step.rew, step.terminated, step.truncated)


class RandomStreams:
    """The algorithm's randomness besides its learner's own, seeded from the run's seed: ``torch``
    (a torch.Generator for minibatches, model fits, rollouts and planning) and ``numpy`` (a
    np.random.Generator for random actions)."""

    def __init__(self, seed: int):
        self.torch = seeded_generator(int(seed) + 1)
        self.numpy = np.random.default_rng([int(seed), 1])

    def state_dict(self) -> dict:
        return {"torch": generator_state(self.torch), "numpy": self.numpy.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        load_generator_state(self.torch, state["torch"])
        self.numpy.bit_generator.state = state["numpy"]


def env_action(action: np.ndarray | int, num_actions: int | None) -> tuple[np.ndarray, Any]:
    """``(act, for_env)``: the action as a :class:`Step` stores it, float32 (A,), and as the env
    takes it. A continuous task's action is both; a discrete task's (``num_actions`` = n) is an
    index in ``[0, n)``, stored as its one-hot row (n,) and given to the env as an int."""
    if num_actions is None:
        act = np.asarray(action, dtype=np.float32)
        return act, act
    index = np.asarray(action)
    if index.shape != () or not np.issubdtype(index.dtype, np.integer) or not 0 <= int(index) < num_actions:
        raise UserError(f"the policy returned the action {action!r}; this task has {num_actions} discrete actions, "
                        f"so an action is one integer index in [0, {num_actions}).")
    act = np.zeros(num_actions, dtype=np.float32)
    act[int(index)] = 1.0
    return act, int(index)


def play_episode(env: gym.Env, policy: Policy, reset_seed: int, num_actions: int | None = None) -> Iterator[Step]:
    """Yield the transitions of one episode of ``env`` under ``policy``, reset with ``reset_seed``;
    ``num_actions`` is n for a discrete task (see :func:`env_action`)."""
    obs, _ = env.reset(seed=reset_seed)
    while True:
        act, for_env = env_action(policy(obs), num_actions)
        next_obs, rew, terminated, truncated, info = env.step(for_env)
        yield Step(obs, act, next_obs, float(rew), bool(terminated), bool(truncated), info)
        if terminated or truncated:
            return
        obs = next_obs


def _env_layers(env: gym.Env) -> list[Any]:
    layers = [env]
    while isinstance(layers[-1], gym.Wrapper):
        layers.append(layers[-1].env)
    return layers


_PLAIN = (bool, int, float, str, type(None), np.ndarray, np.generic, np.random.Generator)


def env_state(env: gym.Env) -> dict:
    """What ``env`` needs to go on from where it is: every wrapper's and the env's own plain
    attributes (step counters, arrays, its random generator) and, for a MuJoCo env, the
    simulator's integration state."""
    state: dict[str, Any] = {"attributes": [{k: copy.deepcopy(v) for k, v in vars(layer).items()
                                             if isinstance(v, _PLAIN)} for layer in _env_layers(env)]}
    inner = env.unwrapped
    if isinstance(getattr(inner, "data", None), mujoco.MjData):
        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        physics = np.empty(mujoco.mj_stateSize(inner.model, spec))
        mujoco.mj_getState(inner.model, inner.data, physics, spec)
        state["mujoco"] = physics
    return state


def load_env_state(env: gym.Env, state: dict) -> None:
    """Put ``env`` (built like the one saved) back into the :func:`env_state` ``state``."""
    for layer, attributes in zip(_env_layers(env), state["attributes"]):
        for key, value in attributes.items():
            setattr(layer, key, copy.deepcopy(value))
    if "mujoco" in state:
        inner = env.unwrapped
        mujoco.mj_setState(inner.model, inner.data, state["mujoco"], mujoco.mjtState.mjSTATE_INTEGRATION)


class EnvLoop:
    """``config.run.steps`` env steps of ``config.run.task``, driven by ``for obs in loop``.

    Attributes for the algorithm: ``obs_dim``, ``act_dim``, ``low``/``high`` (A,) action bounds
    (None on a discrete task), ``num_actions`` (n = ``act_dim`` on a discrete task, None on a
    continuous one), ``seed``, ``spec`` (the task), ``streams`` (:class:`RandomStreams`), ``env_step`` (steps taken),
    ``episode`` (episodes finished), ``episode_started`` (True while the next action is the first
    of an episode), ``stats`` (the learner's latest figures, logged with the next episode row).
    With ``eval_every`` > 0, the policy given to :meth:`evaluate_with` plays ``eval_episodes``
    episodes on a separate env at the first episode end after every ``eval_every`` env steps and
    at the end of the run, logged as ``eval_return``. Building the loop seeds torch's global
    generator with the run's seed, so that a model built after it starts from the same weights.
    """

    def __init__(self, config: RunConfig, run: Run, *, eval_every: int = 0, eval_episodes: int = 1):
        self.run, self.seed, self.total_steps = run, config.run.seed, config.run.steps
        self.eval_every, self.eval_episodes = int(eval_every), int(eval_episodes)
        torch.manual_seed(self.seed)
        self.spec = config.task_spec()
        self.env = self.spec.make_env()
        self.obs_dim, self.act_dim = self.spec.dims()
        self.num_actions = self.spec.num_actions
        self.low = self.high = None
        if self.num_actions is None:
            self.low, self.high = (np.asarray(b, dtype=np.float32) for b in self.spec.action_bounds())
        self.streams = RandomStreams(self.seed)
        self.env_step = self.episode = 0
        self.stats: dict[str, float | None] = {}
        self._kept: dict[str, Any] = {}
        self._eval_policy: Policy | None = None
        self._eval_env: gym.Env | None = None
        self._evaluations, self._next_eval = 0, 0
        self._obs: np.ndarray | None = None  # None: the next episode has yet to be reset
        self._episode_return, self._episode_steps = 0.0, 0
        self._ended: Step | None = None  # the last step, when it ended an episode not yet logged
        self._last_info: dict = {}
        self._checkpointed_at = run.wall_s()
        self._finished = False
        self._acting_at_random, self._shown_phase = False, None

    # setup ------------------------------------------------------------------------------------
    def keep(self, **parts: Any) -> None:
        """Save ``parts`` in every checkpoint under their names, and restore them (with the loop's
        own state) now when the run resumes. A part has ``state_dict()``/``load_state_dict()``, or
        is a dict of plain values restored in place."""
        self._kept.update(parts)
        saved = self.run.load_checkpoint()
        if saved is None:
            return
        for name, part in parts.items():
            if isinstance(part, dict):
                part.clear()
                part.update(saved["parts"][name])
            else:
                part.load_state_dict(saved["parts"][name])
        loop = saved["loop"]
        self.streams.load_state_dict(loop["streams"])
        self.env_step, self.episode, self.stats = loop["env_step"], loop["episode"], loop["stats"]
        self._evaluations, self._next_eval = loop["evaluations"], loop["next_eval"]
        self._episode_return, self._episode_steps = loop["episode_return"], loop["episode_steps"]
        self._obs = loop["obs"]
        if loop["env"] is not None:
            self.env.reset(seed=episode_seed(self.seed, self.episode))
            load_env_state(self.env, loop["env"])
        self._finished = self.done  # a finished run resumed with the same budget: nothing to do
        if not self._finished and self.run.rows and self.run.rows[-1].get("cut"):
            self.run.rows.pop()  # the episode the budget cut goes on now
        self._checkpointed_at = self.run.wall_s()

    def evaluate_with(self, policy: Policy) -> None:
        """Evaluate ``policy`` (deterministic, typically) when evaluations are due."""
        self._eval_policy = policy

    def random_action(self) -> np.ndarray | int:
        """A uniform draw from the action box, (A,), or of an action index of a discrete task; the
        progress bar shows ``random actions``."""
        self._acting_at_random = True
        if self.num_actions is not None:
            return int(self.streams.numpy.integers(self.num_actions))
        return self.streams.numpy.uniform(self.low, self.high).astype(np.float32)

    @contextmanager
    def phase(self, text: str) -> Iterator[None]:
        """Show ``text`` on the progress bar while the block runs (``with loop.phase("fitting the
        model"): ...``); the bar goes back to the acting phase after it."""
        self.run.set_phase(text)
        try:
            yield
        finally:
            self._shown_phase = None

    # the loop ---------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.env_step >= self.total_steps

    @property
    def episode_started(self) -> bool:
        return self._episode_steps == 0

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            if self.done:
                if not self._finished:
                    if self._ended is not None:
                        self._end_episode()
                    self._finish()
                self._close()
                return
            if self._ended is not None:
                self._end_episode()
                self._checkpoint()
            elif self.run.wall_s() - self._checkpointed_at >= CHECKPOINT_EVERY_S:
                self._checkpoint()
            if self._obs is None:
                self._obs, _ = self.env.reset(seed=episode_seed(self.seed, self.episode))
            yield self._obs

    def step(self, action: np.ndarray | int) -> Step:
        """Take ``action`` in the env: (A,) on a continuous task, an index in ``[0, n)`` on a
        discrete one (stored as its one-hot row); returns the transition. The next observation is
        what the ``for`` loop yields next (after a reset when this step ended the episode)."""
        if self._obs is None or self.done:
            raise RuntimeError("EnvLoop.step is called once per observation that iterating the loop yields.")
        act, for_env = env_action(action, self.num_actions)
        if act.shape != (self.act_dim,) or not np.isfinite(act).all():
            raise UserError(f"the policy returned an action of shape {act.shape} with values {act.tolist()}; "
                            f"expected {self.act_dim} finite values within the action bounds.")
        next_obs, rew, terminated, truncated, info = self.env.step(for_env)
        step = Step(self._obs, act, next_obs, float(rew), bool(terminated), bool(truncated), info)
        self.env_step += 1
        self._episode_return += step.rew
        self._episode_steps += 1
        self._last_info = info
        self.run.advance(self.env_step)
        phase = "random actions" if self._acting_at_random else "acting"
        if phase != self._shown_phase:
            self.run.set_phase(phase)
            self._shown_phase = phase
        self._acting_at_random = False
        if step.terminated or step.truncated:
            self._ended, self._obs = step, None
        else:
            self._obs = next_obs
        return step

    # bookkeeping between iterations -------------------------------------------------------------
    def evaluate(self, policy: Policy, index: int) -> float:
        """Mean return of ``policy`` over ``eval_episodes`` episodes of a separate env, reset with
        seeds disjoint from the training episodes' (evaluation number ``index`` of the run)."""
        if self._eval_env is None:
            self._eval_env = self.spec.make_env()
        returns = []
        for k in range(self.eval_episodes):
            reset_seed = episode_seed(self.seed, EVAL_EPISODE_OFFSET + index * self.eval_episodes + k)
            returns.append(sum(s.rew for s in play_episode(self._eval_env, policy, reset_seed, self.num_actions)))
        return float(np.mean(returns))

    def _eval_due(self) -> bool:
        if self._eval_policy is None or self.eval_every <= 0 or self.env_step < self._next_eval:
            return False
        self._next_eval = (self.env_step // self.eval_every + 1) * self.eval_every
        return True

    def _log_row(self, episode: int, eval_return: float | None, cut: bool = False) -> None:
        extras = {**self.stats, **final_info(self._last_info)}
        if eval_return is not None:
            extras["eval_return"] = eval_return
        if cut:
            extras["cut"] = 1.0
        self.run.log_episode(self.env_step, episode, self._episode_return, self._episode_steps, **extras)

    def _evaluation(self) -> float | None:
        """The return of the evaluation due now, if one is; at the end of the budget one is always
        made (when evaluating at all), but provisionally: its index is not used up, so that an
        extension of the run evaluates as a fresh run of that length would."""
        if self._eval_due():
            self._evaluations += 1
            return self.evaluate(self._eval_policy, self._evaluations - 1)
        if self.done and self._eval_policy is not None and self.eval_every > 0:
            return self.evaluate(self._eval_policy, self._evaluations)
        return None

    def _end_episode(self) -> None:
        self.episode += 1
        self._log_row(self.episode, self._evaluation())
        self._episode_return, self._episode_steps, self._ended = 0.0, 0, None

    def _finish(self) -> None:
        """At the end of the budget: log the episode it cut (if any, marked ``cut``) and write the
        last checkpoint."""
        if self._episode_steps > 0:
            self._log_row(self.episode + 1, self._evaluation(), cut=True)
        self._checkpoint()
        self._finished = True

    def _close(self) -> None:
        self.env.close()
        if self._eval_env is not None:
            self._eval_env.close()

    def _checkpoint(self) -> None:
        parts = {name: dict(part) if isinstance(part, dict) else part.state_dict() for name, part in self._kept.items()}
        mid_episode = self._obs is not None and self._episode_steps > 0
        loop = {"streams": self.streams.state_dict(), "env_step": self.env_step, "episode": self.episode,
                "stats": dict(self.stats), "evaluations": self._evaluations, "next_eval": self._next_eval,
                "episode_return": self._episode_return, "episode_steps": self._episode_steps,
                "obs": self._obs if mid_episode else None, "env": env_state(self.env) if mid_episode else None}
        self.run.save_checkpoint({"parts": parts, "loop": loop})
        self._checkpointed_at = self.run.wall_s()

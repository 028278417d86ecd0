"""What the assignments' checks share: finding a submission's registered components, running a
zoo pairing with them until it solves a task, and the zoo's pieces of DAgger-style model
learning as the plain functions that assignment 4's loop calls."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from mbrl_zoo.app.grade import CheckFailed
from mbrl_zoo.registry import Registry


def registered_name(table: Registry, obj: Any, decorator: str) -> str:
    """The name under which ``obj`` (a submitted class) is registered in ``table``, or a
    :class:`CheckFailed` asking for the ``decorator`` line of the starter file."""
    for entry in table:
        if entry.obj is obj:
            return entry.name
    raise CheckFailed(f"{obj.__name__} is not registered; keep the line {decorator} above it, as in the starter file.")


@dataclass(frozen=True)
class Solved:
    """Where a run reached its target: ``env_step`` and ``episode`` (None: not within the budget),
    with every episode's return up to there."""

    env_step: int | None
    episode: int | None
    returns: list[float]

    def verdict(self, what: str, task: str, target: float, steps: int, seed: int) -> str:
        """The check's note when solved; a :class:`CheckFailed` naming ``what`` ran, the budget
        and the best episode when not."""
        if self.env_step is None:
            best = max(self.returns, default=float("nan"))
            raise CheckFailed(f"{what} did not reach a return of {target:g} on {task} within {steps} env steps "
                              f"(seed {seed}; best episode {best:g}).")
        return f"return >= {target:g} in episode {self.episode}, after {self.env_step} env steps"


class _Reached(Exception):
    pass


def train_until(pairing: str, task: str, *, target: float, steps: int, seed: int = 0,
                overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Solved:
    """Run ``pairing`` on ``task`` (``mbrl_zoo.train``, the command line's path) for at most
    ``steps`` env steps, stopping after the first episode whose return reaches ``target``.

    Stopping early is what keeps an end-to-end check within its time limit; the run's episode
    log (``mbrl_zoo.runs.Run.log_episode``) is watched for the target in this (the check's own,
    disposable) process.
    """
    from mbrl_zoo.app import train
    from mbrl_zoo.runs import Run

    returns: list[float] = []
    reached: list[tuple[int, int]] = []
    original = Run.log_episode

    def log_episode(self, env_step: int, episode: int, episode_return: float, *args: Any, **kwargs: Any) -> None:
        original(self, env_step, episode, episode_return, *args, **kwargs)
        returns.append(float(episode_return))
        if episode_return >= target:
            reached.append((env_step, episode))
            raise _Reached

    Run.log_episode = log_episode
    try:
        with tempfile.TemporaryDirectory(prefix="mbrl_zoo_check_") as out:
            train(pairing, task, steps=steps, seed=seed, out=f"{out}/run", overrides=overrides, quiet=True)
    except _Reached:
        pass
    finally:
        Run.log_episode = original
    if reached:
        return Solved(reached[0][0], reached[0][1], returns)
    return Solved(None, None, returns)


@dataclass(frozen=True)
class DaggerPieces:
    """The zoo's parts of DAgger-style model learning on one task, as assignment 4's loop takes
    them: ``expert`` (a Batch of the expert's transitions) with its mean episode return
    ``expert_return``, ``fit(expert, learner) -> model``, ``plan(model) -> policy`` and
    ``execute(policy) -> (Batch of the episode's T transitions, real return)``."""

    expert: Any
    expert_return: float | None
    fit: Callable[[Any, Any], Any]
    plan: Callable[[Any], Any]
    execute: Callable[[Any], tuple[Any, float]]


def dagger_pieces(task: str, seed: int = 0, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> DaggerPieces:
    """The pieces of the zoo's ``dagger-model`` pairing on ``task`` (its settings, with
    ``overrides`` by section as on the command line), built as ``algorithms.dagger_model.train``
    builds them.

    The expert's ``algorithm.expert_steps`` transitions are played at once (MPC on the simulator
    for ``expert=oracle``). ``fit`` refits one ensemble, from its current weights, on minibatches
    that draw ``algorithm.expert_fraction`` of their rows from the expert's data through
    ``mbrl_zoo.models.fit.mixed_minibatch``, and returns a copy of it (the model a policy planned
    in it keeps). ``plan`` gives the MPC policy of the run's planner in a model. ``execute`` plays
    one real episode, reset with the seed of the run's next training episode. Same ``seed``, same
    numbers.
    """
    import numpy as np
    import torch

    from algorithms.dagger_model import collect_expert
    from algorithms.loop import add_step, play_episode
    from mbrl_zoo.buffer import ReplayBuffer
    from mbrl_zoo.config import merge, resolve
    from mbrl_zoo.models.environment import EnvironmentModel
    from mbrl_zoo.runs import episode_seed
    from planners.mpc import MPCPolicy

    config = resolve("dagger-model", merge({"run": {"task": task, "seed": seed}}, dict(overrides or {})))
    cfg, spec = config.algorithm, config.task_spec()
    obs_dim, act_dim = spec.dims()
    low, high = (np.asarray(bound, dtype=np.float32) for bound in spec.action_bounds())
    # collect_expert reads the seed, task and action box from the algorithm's EnvLoop; these are all it uses.
    where = SimpleNamespace(seed=seed, spec=spec, obs_dim=obs_dim, act_dim=act_dim, low=low, high=high)
    recorded = ReplayBuffer(obs_dim, act_dim, max(cfg.expert_steps, 1))
    expert_return = collect_expert(config, where, recorded)
    torch.manual_seed(seed)  # the model's initial weights, as EnvLoop seeds them for the algorithm
    model = EnvironmentModel(config.make_model(obs_dim, act_dim), spec, cfg)
    generator = torch.Generator().manual_seed(seed)
    env = spec.make_env()
    played = [0]

    def buffer_of(batch):
        buffer = ReplayBuffer(obs_dim, act_dim, max(len(batch), 1))
        buffer.add_batch(batch)
        return buffer

    def fit(expert, learner):
        model.refit(buffer_of(learner), generator, other=buffer_of(expert), other_share=cfg.expert_fraction)
        return copy.deepcopy(model)

    def plan(fitted):
        return MPCPolicy(config.make_planner(low, high, cfg.horizon), fitted, cfg, generator)

    def execute(policy):
        played[0] += 1
        if hasattr(policy, "reset"):
            policy.reset()
        episode = ReplayBuffer(obs_dim, act_dim, spec.episode_length)
        total = 0.0
        for step in play_episode(env, policy, episode_seed(seed, played[0])):
            add_step(episode, step)
            total += step.rew
        return episode.all(), total

    return DaggerPieces(recorded.all(), expert_return, fit, plan, execute)


def plug_mixed_minibatch(mixed_minibatch: Callable[..., Any]) -> Callable[..., Any]:
    """Make the zoo's model fitting (``mbrl_zoo.models.fit.fit``, and so ``EnvironmentModel.refit``)
    draw the minibatches of a fit on two data sets with assignment 4's ``mixed_minibatch(expert,
    learner, expert_fraction, batch_size, index, members, generator)``, in this process. The zoo's
    fit calls it with the learner's data first (``data``) and the expert's second (``other``);
    returns the function it replaced."""
    import importlib

    fitting = importlib.import_module("mbrl_zoo.models.fit")  # the module: mbrl_zoo.models exports its function fit
    replaced = getattr(fitting, "mixed_minibatch", None)
    if replaced is None:
        raise RuntimeError("mbrl_zoo.models.fit no longer draws mixed minibatches; assignment 4 must follow it")

    def zoo_order(first, second, share, batch_size, index, members, generator=None):
        return mixed_minibatch(second, first, share, batch_size, index, members, generator)

    fitting.mixed_minibatch = zoo_order
    return replaced

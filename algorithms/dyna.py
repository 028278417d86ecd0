"""Dyna with a soft actor-critic learner (Sutton 1991, "Dyna, an integrated architecture for
learning, planning, and reacting"; the learner is SAC, Haarnoja et al. 2018).

Sutton's Dyna interleaves, at every real step, direct learning from the real transition and
"planning" updates on transitions the model makes up from previously visited states. Here: every
env step, ``rollouts_per_step`` real states are drawn from the replay buffer, the model rolls
each out for ``rollout_length`` steps under the current policy into a model buffer of
``model_buffer_size`` transitions (oldest dropped first), and SAC takes ``updates_per_step``
gradient steps on minibatches holding a ``real_ratio`` share of real transitions. The model is
refitted to all real data every ``model_train_every`` env steps.

Any model of the registry works (a single Gaussian or deterministic network, an ensemble, the
simulator oracle): it is used only through ``model.sample``. Compared with MBPO
(:mod:`algorithms.mbpo`) there is no rollout schedule and no ensemble requirement, and imagined
data is generated a little at every step rather than in bulk after each fit.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig
from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.runs import Run

from algorithms import sac
from algorithms.model_rollouts import (FitSettings, ModelFitter, branched_rollouts, mixed_batch,
                                       reward_and_termination)


@dataclass(frozen=True)
class Config(sac.Config, FitSettings):
    """Dyna's settings: SAC's, model fitting's, and how much imagined data feeds the learner."""

    random_steps: int = 1000
    """Uniform-random env steps before the first model fit and the first update."""
    updates_per_step: int = 10
    """SAC gradient steps per env step (Sutton's planning steps n, here on mixed minibatches)."""
    model_train_every: int = 250
    """Env steps between model fits."""
    rollouts_per_step: int = 100
    """Real start states drawn per env step for model rollouts."""
    rollout_length: int = 1
    """Model steps per rollout (1: Sutton's one-step Dyna)."""
    model_buffer_size: int = 100_000
    """Imagined transitions kept; the oldest are dropped first."""
    real_ratio: float = 0.5
    """Share of real transitions in each SAC minibatch."""

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.real_ratio <= 1.0:
            raise UserError(f"algorithm.real_ratio={self.real_ratio!r} must be between 0 and 1.")
        for name in ("model_train_every", "rollouts_per_step", "rollout_length", "model_buffer_size"):
            if getattr(self, name) < 1:
                raise UserError(f"algorithm.{name} must be >= 1, got {getattr(self, name)!r}.")


def train(config: RunConfig, run: Run) -> None:
    """Dyna-SAC for ``config.run.steps`` env steps."""
    cfg: Config = config.algorithm
    loop = sac.Interaction(config, run)
    model = config.make_model(loop.obs_dim, loop.act_dim)
    refit = ModelFitter(model, cfg)
    reward_fn, termination_fn = reward_and_termination(model, config.task_spec())
    agent = sac.SACAgent.from_config(cfg, loop.obs_dim, loop.act_dim, loop.low, loop.high, loop.seed)
    real = ReplayBuffer(loop.obs_dim, loop.act_dim, loop.buffer_capacity())
    imagined = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.model_buffer_size)
    saved = loop.resume()
    if saved is not None:
        agent.load_full_state(saved["agent"])
        model.load_state_dict(saved["model"])
        refit.load_state_dict(saved["model_optimizer"])
        real = sac.restored_buffer(saved["real"], loop.obs_dim, loop.act_dim, loop.buffer_capacity())
        imagined.load_state_dict(saved["imagined"])

    def policy(obs):
        return loop.random_action() if loop.counters.env_step < cfg.random_steps else agent.act(obs)

    def learn(step: sac.Step) -> None:
        sac.add_step(real, step)
        steps_learning = loop.counters.env_step - cfg.random_steps
        if steps_learning < 0:
            return
        if steps_learning % cfg.model_train_every == 0:
            loop.counters.last.update(refit(real, loop.streams.torch))
        starts = real.sample(cfg.rollouts_per_step, loop.streams.torch).obs
        imagined.add_batch(branched_rollouts(model, starts, lambda obs: agent.policy(obs)[0], cfg.rollout_length,
                                             reward_fn, termination_fn, loop.streams.torch))
        for _ in range(cfg.updates_per_step):
            batch = mixed_batch(real, imagined, cfg.batch_size, cfg.real_ratio, loop.streams.torch)
            loop.counters.last.update(agent.update(batch))

    def state() -> dict:
        return {"agent": agent.full_state(), "model": model.state_dict(), "model_optimizer": refit.state_dict(),
                "real": real.state_dict(), "imagined": imagined.state_dict()}

    loop.play(policy, learn, agent, state)


ALGORITHMS.add("dyna", sys.modules[__name__], requires={"model"})
register_pairing(Pairing(
    "dyna", algorithm="dyna", model="gaussian",
    description="Dyna (Sutton 1991) with a SAC learner on real and one-step imagined transitions",
))

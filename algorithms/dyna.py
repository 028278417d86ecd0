"""Dyna with a soft actor-critic learner (Sutton 1991, "Dyna, an integrated architecture for
learning, planning, and reacting"; the learner is SAC, Haarnoja et al. 2018).

Sutton's Dyna interleaves, at every real step, direct learning from the real transition and
"planning" updates on transitions the model makes up from previously visited states. Here: every
env step, ``rollouts_per_step`` real states are drawn from the replay buffer, the model rolls
each out for ``rollout_length`` steps under the current policy into a model buffer of
``model_buffer_size`` transitions (oldest dropped first), and SAC takes ``updates_per_step``
gradient steps on minibatches holding a ``real_ratio`` share of real transitions. The model is
refitted to all real data every ``refit_every`` env steps.

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
from mbrl_zoo.models.environment import EnvironmentModel, FitSettings
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.runs import Run
from mbrl_zoo.settings import setting

from algorithms import sac
from algorithms.loop import EnvLoop, add_step
from algorithms.model_rollouts import branched_rollouts, mixed_batch
from algorithms.sac import SACAgent


@dataclass(frozen=True)
class Config(sac.AgentSettings, sac.InteractionSettings, FitSettings):
    """Dyna's settings: SAC's, model fitting's, and how much imagined data feeds the learner."""

    random_steps: int = 1000
    """Uniform-random env steps before the first model fit and the first update."""
    updates_per_step: int = 10
    """SAC gradient steps per env step (Sutton's planning steps n, here on mixed minibatches)."""
    rollouts_per_step: int = setting(100, ">= 1")
    """Real start states drawn per env step for model rollouts."""
    rollout_length: int = setting(1, ">= 1")
    """Model steps per rollout (1: Sutton's one-step Dyna)."""
    model_buffer_size: int = setting(100_000, ">= 1")
    """Imagined transitions kept; the oldest are dropped first."""
    real_ratio: float = setting(0.5, "[0, 1]")
    """Share of real transitions in each SAC minibatch."""


def train(config: RunConfig, run: Run) -> None:
    """Dyna-SAC for ``config.run.steps`` env steps."""
    cfg: Config = config.algorithm
    loop = EnvLoop(config, run, eval_every=cfg.eval_every, eval_episodes=cfg.eval_episodes)
    model = EnvironmentModel(config.make_model(loop.obs_dim, loop.act_dim), loop.spec, cfg)
    agent = SACAgent.for_loop(cfg, loop)
    real = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.buffer_capacity)
    imagined = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.model_buffer_size)
    loop.keep(agent=agent, model=model, real=real, imagined=imagined)
    loop.evaluate_with(agent.greedy)
    for obs in loop:
        action = loop.random_action() if loop.env_step < cfg.random_steps else agent.act(obs)
        add_step(real, loop.step(action))
        if loop.env_step < cfg.random_steps:
            continue
        if (loop.env_step - cfg.random_steps) % cfg.refit_every == 0:
            with loop.phase("fitting the model"):
                loop.stats.update(model.refit(real, loop.streams.torch))
        starts = real.sample(cfg.rollouts_per_step, loop.streams.torch).obs
        imagined.add_batch(branched_rollouts(model.dynamics, starts, lambda o: agent.policy(o)[0], cfg.rollout_length,
                                             model.reward_fn, model.termination_fn, loop.streams.torch))
        for _ in range(cfg.updates_per_step):
            batch = mixed_batch(real, imagined, cfg.batch_size, cfg.real_ratio, loop.streams.torch)
            loop.stats.update(agent.update(batch))


ALGORITHMS.add("dyna", sys.modules[__name__], requires={"model"})
register_pairing(Pairing(
    "dyna", algorithm="dyna", model="gaussian",
    description="Dyna (Sutton 1991) with a SAC learner on real and one-step imagined transitions",
))

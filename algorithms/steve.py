"""Stochastic ensemble value expansion with a soft actor-critic learner (Buckman et al. 2018,
"Sample-Efficient Reinforcement Learning with Stochastic Ensemble Value Expansion"; the paper's
learner is DDPG, here it is SAC, Haarnoja et al. 2018).

MVE (:mod:`algorithms.mve`) trusts the model to a fixed horizon. STEVE forms the target of every
horizon i = 0..H (0: SAC's one-step target) from each elite member's own imagined trajectory
(a fixed member per trajectory) and each of the two target critics, and mixes the horizons by
the inverse variance of their candidates: where the members disagree about the imagined rewards
and states, or the critics about the values reached, a horizon gets little weight, so the target
falls back towards shorter expansions on its own. The learned reward ensemble of the paper is not
needed when the task supplies its reward function (its candidates then agree on rewards); with a
learned reward head the members' heads supply that spread. The actor and temperature learn from
the real states as in SAC; the model is refitted every ``refit_every`` steps. An ensemble gives the
members' spread; with a single model (one member) only the two critics disagree, and the mix
weights the horizons by that alone.

Logged: ``steve_horizon``, the mean over the minibatch of sum_i i w_i, the effective expansion.
"""

from __future__ import annotations

import sys

import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig
from mbrl_zoo.models.environment import EnvironmentModel
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.rollout import propagation_members
from mbrl_zoo.runs import Run
from mbrl_zoo.tasks.spec import RewardFn, TerminationFn
from mbrl_zoo.types import Batch

from algorithms.loop import EnvLoop, add_step
from algorithms.sac import SACAgent
from algorithms.value_expansion import Config, candidate_targets, imagine, inverse_variance_mix

__all__ = ["Config", "steve_target", "train"]


def steve_target(model, agent: SACAgent, batch: Batch, horizon: int, reward_fn: RewardFn,
                 termination_fn: TerminationFn, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """STEVE's critic target (N,) of the real transitions ``batch`` (N, ...) and its horizon
    weights (H+1, N): every elite member k of the dynamics ``model`` imagines its own
    ``horizon``-step trajectory from each next state, giving 2 K candidates per horizon (K members
    x 2 target critics) for :func:`~algorithms.value_expansion.inverse_variance_mix`."""
    members = propagation_members(model, batch.obs.device)  # (K,)
    k, n = members.numel(), batch.obs.shape[0]
    imagined = imagine(model, agent, batch.next_obs.repeat(k, 1), horizon, members.repeat_interleave(n),
                       reward_fn, termination_fn, generator)
    candidates = candidate_targets(batch.rew.repeat(k), batch.terminated.repeat(k), imagined, agent.discount,
                                   agent.alpha)  # (H+1, 2, K n), rows member-major
    return inverse_variance_mix(candidates.reshape(horizon + 1, 2 * k, n))


def train(config: RunConfig, run: Run) -> None:
    """STEVE-SAC for ``config.run.steps`` env steps."""
    cfg: Config = config.algorithm
    loop = EnvLoop(config, run, eval_every=cfg.eval_every, eval_episodes=cfg.eval_episodes)
    model = EnvironmentModel(config.make_model(loop.obs_dim, loop.act_dim), loop.spec, cfg)
    agent = SACAgent.for_loop(cfg, loop)
    real = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.buffer_capacity)
    loop.keep(agent=agent, model=model, real=real)
    loop.evaluate_with(agent.greedy)
    horizons = torch.arange(cfg.horizon + 1, dtype=torch.float32).unsqueeze(-1)  # (H+1, 1)
    for obs in loop:
        action = loop.random_action() if loop.env_step < cfg.random_steps else agent.act(obs)
        add_step(real, loop.step(action))
        if loop.env_step < cfg.random_steps:
            continue
        if (loop.env_step - cfg.random_steps) % cfg.refit_every == 0:
            with loop.phase("fitting the model"):
                loop.stats.update(model.refit(real, loop.streams.torch))
        for _ in range(cfg.updates_per_step):
            batch = real.sample(cfg.batch_size, loop.streams.torch)
            target, weights = steve_target(model.dynamics, agent, batch, cfg.horizon, model.reward_fn,
                                           model.termination_fn, loop.streams.torch)
            loop.stats.update(agent.update_critic(batch.obs, batch.act, target))
            loop.stats.update(agent.update_actor(batch.obs))
            agent.update_target_critic()
            loop.stats["steve_horizon"] = (horizons * weights).sum(0).mean().item()


ALGORITHMS.add("steve", sys.modules[__name__], requires={"model"})
register_pairing(Pairing(
    "steve", algorithm="steve", model="pe",
    description="STEVE (Buckman et al. 2018): SAC critics on inverse-variance mixes of 0..H-step ensemble expansions",
))

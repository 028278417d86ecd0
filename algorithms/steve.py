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
the real states as in SAC; the model (an ensemble) is refitted every ``model_train_every`` steps.

Logged: ``steve_horizon``, the mean over the minibatch of sum_i i w_i, the effective expansion.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig
from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.rollout import propagation_members
from mbrl_zoo.runs import Run
from mbrl_zoo.tasks.spec import RewardFn, TerminationFn
from mbrl_zoo.types import Batch

from algorithms import sac
from algorithms.model_rollouts import FitSettings, ModelFitter, require_ensemble, reward_and_termination
from algorithms.value_expansion import candidate_targets, imagine, inverse_variance_mix


@dataclass(frozen=True)
class Config(sac.Config, FitSettings):
    """STEVE's settings: SAC's, model fitting's, the longest horizon and the refit period."""

    random_steps: int = 1000
    """Uniform-random env steps before the first model fit and the first update."""
    horizon: int = 3
    """H, the longest expansion mixed into the target (Buckman et al. 2018 use 3)."""
    model_train_every: int = 250
    """Env steps between model fits."""

    def __post_init__(self):
        super().__post_init__()
        for name in ("horizon", "model_train_every"):
            if getattr(self, name) < 1:
                raise UserError(f"algorithm.{name} must be >= 1, got {getattr(self, name)!r}.")


def steve_target(model, agent: sac.SACAgent, batch: Batch, horizon: int, reward_fn: RewardFn,
                 termination_fn: TerminationFn, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """STEVE's critic target (N,) of the real transitions ``batch`` (N, ...) and its horizon
    weights (H+1, N): every elite member k imagines its own ``horizon``-step trajectory from each
    next state, giving 2 K candidates per horizon (K members x 2 target critics) for
    :func:`~algorithms.value_expansion.inverse_variance_mix`."""
    members = propagation_members(model, batch.obs.device)  # (K,)
    k, n = members.numel(), batch.obs.shape[0]
    imagined = imagine(model, agent, batch.next_obs.repeat(k, 1), horizon, members.repeat_interleave(n),
                       reward_fn, termination_fn, generator)
    candidates = candidate_targets(batch.rew.repeat(k), batch.terminated.repeat(k), imagined, agent.gamma,
                                   agent.alpha)  # (H+1, 2, K n), rows member-major
    return inverse_variance_mix(candidates.reshape(horizon + 1, 2 * k, n))


def train(config: RunConfig, run: Run) -> None:
    """STEVE-SAC for ``config.run.steps`` env steps."""
    cfg: Config = config.algorithm
    loop = sac.Interaction(config, run)
    model = config.make_model(loop.obs_dim, loop.act_dim)
    require_ensemble(model, config.model_name, "steve")
    refit = ModelFitter(model, cfg)
    reward_fn, termination_fn = reward_and_termination(model, config.task_spec())
    agent = sac.SACAgent.from_config(cfg, loop.obs_dim, loop.act_dim, loop.low, loop.high, loop.seed)
    real = ReplayBuffer(loop.obs_dim, loop.act_dim, loop.buffer_capacity())
    saved = loop.resume()
    if saved is not None:
        agent.load_full_state(saved["agent"])
        model.load_state_dict(saved["model"])
        refit.load_state_dict(saved["model_optimizer"])
        real = sac.restored_buffer(saved["real"], loop.obs_dim, loop.act_dim, loop.buffer_capacity())

    def policy(obs):
        return loop.random_action() if loop.counters.env_step < cfg.random_steps else agent.act(obs)

    def update() -> dict[str, float]:
        batch = real.sample(cfg.batch_size, loop.streams.torch)
        target, weights = steve_target(model, agent, batch, cfg.horizon, reward_fn, termination_fn, loop.streams.torch)
        stats = agent.update_critic(batch.obs, batch.act, target)
        stats.update(agent.update_actor(batch.obs))
        agent.update_target_critic()
        horizons = torch.arange(cfg.horizon + 1, dtype=weights.dtype).unsqueeze(-1)
        stats["steve_horizon"] = (horizons * weights).sum(0).mean().item()
        return stats

    def learn(step: sac.Step) -> None:
        sac.add_step(real, step)
        steps_learning = loop.counters.env_step - cfg.random_steps
        if steps_learning < 0:
            return
        if steps_learning % cfg.model_train_every == 0:
            loop.counters.last.update(refit(real, loop.streams.torch))
        for _ in range(cfg.updates_per_step):
            loop.counters.last.update(update())

    def state() -> dict:
        return {"agent": agent.full_state(), "model": model.state_dict(), "model_optimizer": refit.state_dict(),
                "real": real.state_dict()}

    loop.play(policy, learn, agent, state)


ALGORITHMS.add("steve", sys.modules[__name__], requires={"model", "ensemble"})
register_pairing(Pairing(
    "steve", algorithm="steve", model="pe",
    description="STEVE (Buckman et al. 2018): SAC critics on inverse-variance mixes of 0..H-step ensemble expansions",
))

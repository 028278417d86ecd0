"""Model-based value expansion with a soft actor-critic learner (Feinberg et al. 2018,
"Model-Based Value Estimation for Efficient Model-Free Reinforcement Learning", Algorithm 1; the
paper's learner is DDPG, here it is SAC, Haarnoja et al. 2018).

Every critic update draws real transitions (s, a, r, s'), imagines ``horizon`` = H steps from
each s' with the learned model and the current policy, and regresses the critics on:
- (s, a) towards the H-step target r + gamma V_H(s'), the rewards of the imagined steps summed
  before bootstrapping from the smaller target critic at x_H (:mod:`algorithms.value_expansion`);
- every imagined pair (x_t, a_t), t < H, towards its own target expanded to the same horizon
  (the paper's TD-k trick), so that the critic is also accurate on the states the model visits.
The actor and temperature learn from the real states as in SAC. The model is refitted to all
real data every ``refit_every`` env steps; any model of the registry works (used only through
``model.sample``, a random elite per row and step for an ensemble).
"""

from __future__ import annotations

import sys

import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig
from mbrl_zoo.models.environment import EnvironmentModel
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.runs import Run
from mbrl_zoo.tasks.spec import RewardFn, TerminationFn
from mbrl_zoo.types import Batch

from algorithms.loop import EnvLoop, add_step
from algorithms.sac import SACAgent
from algorithms.value_expansion import Config, candidate_targets, imagine, td_k_targets

__all__ = ["Config", "mve_critic_batch", "train"]


def mve_critic_batch(model, agent: SACAgent, batch: Batch, horizon: int, reward_fn: RewardFn,
                     termination_fn: TerminationFn, generator: torch.Generator | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What MVE's critics regress on for the real transitions ``batch`` (N, ...): obs (M, O),
    act (M, A) and targets (M,), the N real pairs with their H-step targets first, then the
    imagined pairs (x_t, a_t), t < H, alive and not past a real termination, with their TD-k
    targets (M <= N (H + 1)). ``model`` is the dynamics model."""
    alpha = agent.alpha
    imagined = imagine(model, agent, batch.next_obs, horizon, None, reward_fn, termination_fn, generator)
    real_target = candidate_targets(batch.rew, batch.terminated, imagined, agent.discount, alpha)[-1].min(0).values
    imagined_target, alive = td_k_targets(imagined, agent.discount, alpha)
    keep = alive & ~batch.terminated  # (H, N)
    return (torch.cat([batch.obs, imagined.obs[:-1][keep]]), torch.cat([batch.act, imagined.act[:-1][keep]]),
            torch.cat([real_target, imagined_target[keep]]))


def train(config: RunConfig, run: Run) -> None:
    """MVE-SAC for ``config.run.steps`` env steps."""
    cfg: Config = config.algorithm
    loop = EnvLoop(config, run, eval_every=cfg.eval_every, eval_episodes=cfg.eval_episodes)
    model = EnvironmentModel(config.make_model(loop.obs_dim, loop.act_dim), loop.spec, cfg)
    agent = SACAgent.for_loop(cfg, loop)
    real = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.buffer_capacity)
    loop.keep(agent=agent, model=model, real=real)
    loop.evaluate_with(agent.greedy)
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
            pairs_obs, pairs_act, target = mve_critic_batch(model.dynamics, agent, batch, cfg.horizon, model.reward_fn,
                                                            model.termination_fn, loop.streams.torch)
            loop.stats.update(agent.update_critic(pairs_obs, pairs_act, target), imagined_pairs=len(target) - len(batch))
            loop.stats.update(agent.update_actor(batch.obs))
            agent.update_target_critic()


ALGORITHMS.add("mve", sys.modules[__name__], requires={"model"})
register_pairing(Pairing(
    "mve", algorithm="mve", model="deterministic",
    description="MVE (Feinberg et al. 2018): SAC critics on H-step model-expanded targets, TD-k on imagined states",
))

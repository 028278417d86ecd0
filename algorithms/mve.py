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
real data every ``model_train_every`` env steps; any model of the registry works (used only
through ``model.sample``, a random elite per row and step for an ensemble).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig
from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.runs import Run
from mbrl_zoo.tasks.spec import RewardFn, TerminationFn
from mbrl_zoo.types import Batch

from algorithms import sac
from algorithms.model_rollouts import FitSettings, ModelFitter, reward_and_termination
from algorithms.value_expansion import candidate_targets, imagine, td_k_targets


@dataclass(frozen=True)
class Config(sac.Config, FitSettings):
    """MVE's settings: SAC's, model fitting's, the imagination horizon and the refit period."""

    random_steps: int = 1000
    """Uniform-random env steps before the first model fit and the first update."""
    horizon: int = 3
    """H, imagined steps in every critic target (0 would be SAC)."""
    model_train_every: int = 250
    """Env steps between model fits."""

    def __post_init__(self):
        super().__post_init__()
        for name in ("horizon", "model_train_every"):
            if getattr(self, name) < 1:
                raise UserError(f"algorithm.{name} must be >= 1, got {getattr(self, name)!r}.")


def mve_critic_batch(model, agent: sac.SACAgent, batch: Batch, horizon: int, reward_fn: RewardFn,
                     termination_fn: TerminationFn, generator: torch.Generator | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What MVE's critics regress on for the real transitions ``batch`` (N, ...): obs (M, O),
    act (M, A) and targets (M,), the N real pairs with their H-step targets first, then the
    imagined pairs (x_t, a_t), t < H, alive and not past a real termination, with their TD-k
    targets (M <= N (H + 1))."""
    alpha = agent.alpha
    imagined = imagine(model, agent, batch.next_obs, horizon, None, reward_fn, termination_fn, generator)
    real_target = candidate_targets(batch.rew, batch.terminated, imagined, agent.gamma, alpha)[-1].min(0).values
    imagined_target, alive = td_k_targets(imagined, agent.gamma, alpha)
    keep = alive & ~batch.terminated  # (H, N)
    return (torch.cat([batch.obs, imagined.obs[:-1][keep]]), torch.cat([batch.act, imagined.act[:-1][keep]]),
            torch.cat([real_target, imagined_target[keep]]))


def train(config: RunConfig, run: Run) -> None:
    """MVE-SAC for ``config.run.steps`` env steps."""
    cfg: Config = config.algorithm
    loop = sac.Interaction(config, run)
    model = config.make_model(loop.obs_dim, loop.act_dim)
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
        obs, act, target = mve_critic_batch(model, agent, batch, cfg.horizon, reward_fn, termination_fn,
                                            loop.streams.torch)
        stats = agent.update_critic(obs, act, target)
        stats.update(agent.update_actor(batch.obs), imagined_pairs=obs.shape[0] - batch.obs.shape[0])
        agent.update_target_critic()
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


ALGORITHMS.add("mve", sys.modules[__name__], requires={"model"})
register_pairing(Pairing(
    "mve", algorithm="mve", model="deterministic",
    description="MVE (Feinberg et al. 2018): SAC critics on H-step model-expanded targets, TD-k on imagined states",
))

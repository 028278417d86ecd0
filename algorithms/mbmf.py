"""Model-based then model-free (MB-MF; Nagabandi et al. 2018, "Neural Network Dynamics for
Model-Based Deep Reinforcement Learning with Model-Free Fine-Tuning").

Three phases over one run's env steps:

1. Model-based: ``random_steps`` uniform-random steps, then MPC with the learned model and the
   configured planner (random shooting in the paper) until ``mpc_steps``, refitting the model
   every ``refit_every`` steps. The MPC actions are the expert data set. MPC acts through the
   same :class:`~planners.mpc.MPCPolicy` as PETS, so every planner and setting of the ``mpc``
   algorithm's planning works here too.
2. Distillation: the policy is trained by behaviour cloning (maximum likelihood of the expert's
   actions) on that data set, then improved by DAgger (Ross et al. 2011): for
   ``dagger_iterations`` rounds of ``dagger_steps`` env steps the policy acts, MPC labels every
   visited state, the labels join the data set and the policy is cloned again.
3. Model-free fine-tuning: SAC (Haarnoja et al. 2018; the paper used TRPO) starts from the
   cloned policy, with a replay buffer holding every real transition so far. Its critics first
   take ``critic_warmup_updates`` steps with the actor frozen, so that an untrained critic does
   not undo the cloned policy.

Logged columns: ``phase`` (0 model-based, 1 DAgger, 2 SAC), ``bc_loss`` and the learners' stats.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig
from mbrl_zoo.models.environment import EnvironmentModel, FitSettings
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.runs import Run
from mbrl_zoo.settings import SettingError, setting
from planners.mpc import MPCPolicy, MPCSettings

from algorithms import sac
from algorithms.loop import EnvLoop, add_step
from algorithms.mpc import SWINGUP_HORIZON
from algorithms.sac import SACAgent


@dataclass(frozen=True)
class Config(sac.AgentSettings, sac.InteractionSettings, FitSettings, MPCSettings):
    """MB-MF's settings: SAC's, model fitting's, MPC's (the SAC ``discount`` discounts the planned
    returns too) and the distillation schedule."""

    random_steps: int = 1000
    """Uniform-random env steps before the first model fit and MPC."""
    mpc_steps: int = setting(5000, ">= 0")
    """Env steps of the model-based phase (random steps included)."""
    refit_every: int = 1000
    """Env steps between model refits during the model-based and DAgger phases."""
    horizon: int = 10
    particles: int = 1
    propagation: Literal["tsinf", "ts1", "sample", "expectation", "ds", "mm"] = "expectation"
    bc_epochs: int = setting(50, ">= 1")
    """Passes over the expert data set per behaviour-cloning round."""
    dagger_iterations: int = setting(3, ">= 0")
    dagger_steps: int = setting(1000, ">= 1")
    """Env steps per DAgger round, each visited state labelled by MPC."""
    critic_warmup_updates: int = setting(1000, ">= 0")
    """Critic-only SAC steps before fine-tuning moves the cloned policy."""

    def __post_init__(self):
        MPCSettings.__post_init__(self)
        FitSettings.__post_init__(self)
        if self.random_steps > self.mpc_steps:
            raise SettingError({"random_steps": self.random_steps, "mpc_steps": self.mpc_steps},
                               "the random steps are part of the model-based phase: random_steps <= mpc_steps")


def clone_policy(agent: SACAgent, obs: torch.Tensor, act: torch.Tensor, epochs: int, batch_size: int,
                 generator: torch.Generator) -> float:
    """Behaviour cloning: ``epochs`` passes of minibatch maximum likelihood of the expert's
    actions act (N, A) at obs (N, O) under the agent's policy, with the actor's optimiser.
    Returns the last epoch's mean negative log-likelihood."""
    losses = []
    for _ in range(epochs):
        losses = []
        for index in torch.randperm(obs.shape[0], generator=generator).split(batch_size):
            loss = -agent.log_prob(obs[index], act[index]).mean()
            agent.actor_optim.zero_grad(set_to_none=True)
            loss.backward()
            agent.actor_optim.step()
            losses.append(loss.item())
    return float(np.mean(losses))


def train(config: RunConfig, run: Run) -> None:
    """MB-MF for ``config.run.steps`` env steps: MPC, behaviour cloning with DAgger, then SAC."""
    cfg: Config = config.algorithm
    loop = EnvLoop(config, run, eval_every=cfg.eval_every, eval_episodes=cfg.eval_episodes)
    model = EnvironmentModel(config.make_model(loop.obs_dim, loop.act_dim), loop.spec, cfg)
    mpc = MPCPolicy(config.make_planner(loop.low, loop.high, cfg.horizon), model, cfg, loop.streams.torch)
    agent = SACAgent.for_loop(cfg, loop)
    real = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.buffer_capacity)
    expert: dict[str, list[np.ndarray]] = {"obs": [], "act": []}  # MPC's labels of visited states
    loop.keep(agent=agent, model=model, real=real, mpc=mpc, expert=expert)
    loop.evaluate_with(agent.greedy)
    distil_end = cfg.mpc_steps + cfg.dagger_iterations * cfg.dagger_steps

    def clone() -> None:
        obs, act = torch.as_tensor(np.stack(expert["obs"])), torch.as_tensor(np.stack(expert["act"]))
        loop.stats["bc_loss"] = clone_policy(agent, obs, act, cfg.bc_epochs, cfg.batch_size, loop.streams.torch)

    for obs in loop:
        if loop.episode_started:
            mpc.reset()
        if loop.env_step < cfg.random_steps:
            action = loop.random_action()
        elif loop.env_step < distil_end:
            label = mpc(obs)
            expert["obs"].append(np.asarray(obs, dtype=np.float32))
            expert["act"].append(label)
            action = label if loop.env_step < cfg.mpc_steps else agent.act(obs)
        else:
            action = agent.act(obs)
        add_step(real, loop.step(action))

        n = loop.env_step
        if n < distil_end:  # phases 1 and 2: model-based control, then DAgger
            loop.stats["phase"] = 0 if n < cfg.mpc_steps else 1
            if n >= cfg.random_steps and (n - cfg.random_steps) % cfg.refit_every == 0:
                with loop.phase("fitting the model"):
                    loop.stats.update(model.refit(real, loop.streams.torch))
            if n >= cfg.mpc_steps and (n - cfg.mpc_steps) % cfg.dagger_steps == 0 and expert["obs"]:
                clone()
            continue
        loop.stats["phase"] = 2  # phase 3: model-free fine-tuning from the cloned policy
        if n == distil_end:
            if expert["obs"]:
                clone()
            for _ in range(cfg.critic_warmup_updates):
                loop.stats.update(agent.update(real.sample(cfg.batch_size, loop.streams.torch), update_actor=False))
        for _ in range(cfg.updates_per_step):
            loop.stats.update(agent.update(real.sample(cfg.batch_size, loop.streams.torch)))


ALGORITHMS.add("mbmf", sys.modules[__name__], requires={"model", "planner"})
register_pairing(Pairing(
    "mbmf", algorithm="mbmf", model="deterministic", planner="random-shooting",
    description="MB-MF (Nagabandi et al. 2018): random-shooting MPC, DAgger distillation, SAC fine-tuning",
    task_settings=SWINGUP_HORIZON,
))

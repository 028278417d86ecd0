"""Model-based then model-free (MB-MF; Nagabandi et al. 2018, "Neural Network Dynamics for
Model-Based Deep Reinforcement Learning with Model-Free Fine-Tuning").

Three phases over one run's env steps:

1. Model-based: ``random_steps`` uniform-random steps, then MPC with the learned model and the
   configured planner (random shooting in the paper) until ``mpc_steps``, refitting the model
   every ``refit_every`` steps. The MPC actions are the expert data set.
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
from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.rollout import make_objective
from mbrl_zoo.runs import Run
from planners.mpc import MPC

from algorithms import sac
from algorithms.model_rollouts import FitSettings, ModelFitter, reward_and_termination


@dataclass(frozen=True)
class Config(sac.Config, FitSettings):
    """MB-MF's settings: SAC's, model fitting's, MPC's and the distillation schedule."""

    random_steps: int = 1000
    """Uniform-random env steps before the first model fit and MPC."""
    mpc_steps: int = 5000
    """Env steps of the model-based phase (random steps included)."""
    refit_every: int = 1000
    """Env steps between model refits during the model-based and DAgger phases."""
    horizon: int = 10
    particles: int = 1
    propagation: Literal["tsinf", "ts1", "sample", "expectation"] = "expectation"
    replan_every: int = 1
    bc_epochs: int = 50
    """Passes over the expert data set per behaviour-cloning round."""
    dagger_iterations: int = 3
    dagger_steps: int = 1000
    """Env steps per DAgger round, each visited state labelled by MPC."""
    critic_warmup_updates: int = 1000
    """Critic-only SAC steps before fine-tuning moves the cloned policy."""

    def __post_init__(self):
        super().__post_init__()
        if not 0 <= self.random_steps <= self.mpc_steps:
            raise UserError(f"algorithm.random_steps={self.random_steps} must lie between 0 and "
                            f"algorithm.mpc_steps={self.mpc_steps}.")
        for name in ("refit_every", "horizon", "particles", "replan_every", "bc_epochs", "dagger_steps"):
            if getattr(self, name) < 1:
                raise UserError(f"algorithm.{name} must be >= 1, got {getattr(self, name)!r}.")


def clone_policy(agent: sac.SACAgent, obs: torch.Tensor, act: torch.Tensor, epochs: int, batch_size: int,
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
    loop = sac.Interaction(config, run)
    spec = config.task_spec()
    model = config.make_model(loop.obs_dim, loop.act_dim)
    refit = ModelFitter(model, cfg)
    reward_fn, termination_fn = reward_and_termination(model, spec)
    controller = MPC(config.make_planner(loop.low, loop.high, cfg.horizon), replan_every=cfg.replan_every)
    agent = sac.SACAgent.from_config(cfg, loop.obs_dim, loop.act_dim, loop.low, loop.high, loop.seed)
    real = ReplayBuffer(loop.obs_dim, loop.act_dim, loop.buffer_capacity())
    expert_obs: list[np.ndarray] = []
    expert_act: list[np.ndarray] = []
    distil_end = cfg.mpc_steps + cfg.dagger_iterations * cfg.dagger_steps
    saved = loop.resume()
    if saved is not None:
        agent.load_full_state(saved["agent"])
        model.load_state_dict(saved["model"])
        refit.load_state_dict(saved["model_optimizer"])
        real = sac.restored_buffer(saved["real"], loop.obs_dim, loop.act_dim, loop.buffer_capacity())
        expert_obs, expert_act = list(saved["expert_obs"]), list(saved["expert_act"])
    planning_episode = -1

    def mpc_action(obs: np.ndarray) -> np.ndarray:
        nonlocal planning_episode
        if planning_episode != loop.counters.episode:
            controller.reset()
            planning_episode = loop.counters.episode
        objective = make_objective(model, obs, reward_fn, termination_fn, particles=cfg.particles,
                                   propagation=cfg.propagation, generator=loop.streams.torch)
        return controller.act(objective, loop.streams.torch).numpy()

    def policy(obs: np.ndarray) -> np.ndarray:
        step = loop.counters.env_step
        if step < cfg.random_steps:
            return loop.random_action()
        if step < distil_end:
            label = mpc_action(obs)
            expert_obs.append(np.asarray(obs, dtype=np.float32))
            expert_act.append(label)
            return label if step < cfg.mpc_steps else agent.act(obs)
        return agent.act(obs)

    def clone() -> None:
        obs, act = torch.as_tensor(np.stack(expert_obs)), torch.as_tensor(np.stack(expert_act))
        loop.counters.last["bc_loss"] = clone_policy(agent, obs, act, cfg.bc_epochs, cfg.batch_size,
                                                     loop.streams.torch)

    def learn(step: sac.Step) -> None:
        sac.add_step(real, step)
        n = loop.counters.env_step
        if n < distil_end:
            loop.counters.last["phase"] = 0 if n < cfg.mpc_steps else 1
            if n >= cfg.random_steps and (n - cfg.random_steps) % cfg.refit_every == 0:
                loop.counters.last.update(refit(real, loop.streams.torch))
            if n >= cfg.mpc_steps and (n - cfg.mpc_steps) % cfg.dagger_steps == 0 and expert_obs:
                clone()
            return
        loop.counters.last["phase"] = 2
        if n == distil_end:
            if expert_obs:
                clone()
            for _ in range(cfg.critic_warmup_updates):
                loop.counters.last.update(agent.update(real.sample(cfg.batch_size, loop.streams.torch), False))
        for _ in range(cfg.updates_per_step):
            loop.counters.last.update(agent.update(real.sample(cfg.batch_size, loop.streams.torch)))

    def state() -> dict:
        return {"agent": agent.full_state(), "model": model.state_dict(), "model_optimizer": refit.state_dict(),
                "real": real.state_dict(), "expert_obs": expert_obs, "expert_act": expert_act}

    loop.play(policy, learn, agent, state)


ALGORITHMS.add("mbmf", sys.modules[__name__], requires={"model", "planner"})
register_pairing(Pairing(
    "mbmf", algorithm="mbmf", model="deterministic", planner="random-shooting",
    description="MB-MF (Nagabandi et al. 2018): random-shooting MPC, DAgger distillation, SAC fine-tuning",
))

"""Model-predictive control with a learned (or simulator) model: RS-MPC and PETS.

The trial loop of Nagabandi et al., "Neural Network Dynamics for Model-Based Deep Reinforcement
Learning with Model-Free Fine-Tuning" (ICRA 2018) and Chua et al., "Deep Reinforcement Learning
in a Handful of Trials using Probabilistic Dynamics Models" (NeurIPS 2018): collect random-policy
data, fit the model, then act with MPC, adding every real transition to the data set and refitting
the model every ``refit_every`` steps. Any registered model and planner pair this way: RS-MPC is a
deterministic model with random shooting, PETS a probabilistic ensemble with CEM and TS-inf
particles, and ``oracle-*`` pairings plan with the simulator itself. With ``terminal_value`` the
planner also scores where each candidate ends, by a state value learned from the real data
(``pets-value``; Lowrey et al., "Plan Online, Learn Offline", ICLR 2019).
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
from mbrl_zoo.models.base import matmuls_in
from mbrl_zoo.models.fit import fit
from mbrl_zoo.registry import ALGORITHMS, MODELS, PLANNERS, Pairing, register_pairing
from mbrl_zoo.rollout import make_objective
from mbrl_zoo.runs import Run, episode_seed, final_info
from planners.mpc import MPC
from algorithms.state_value import StateValue


@dataclass(frozen=True)
class Config:
    """Settings of the MPC trial loop (defaults: mbrl-lib's PETS cart-pole settings).

    ``horizon``: planning horizon H. ``particles``: model rollouts per candidate (P).
    ``propagation``: ``tsinf`` (member fixed per particle), ``ts1`` (member redrawn each step),
    ``sample`` (random member and noise each step), ``expectation`` (ensemble mean, no noise).
    ``replan_every``: execute this many planned actions before replanning.
    ``open_loop``: plan once per horizon and execute the whole plan (no replanning).
    ``random_steps``: uniform-random steps collected before the first fit.
    ``refit_every``: env steps between model refits (mbrl-lib: one trial).
    ``fit_*``: arguments of :func:`mbrl_zoo.models.fit.fit`.
    ``discount``: per-step discount of the planned return (PETS: 1).
    ``terminal_value``: add ``discount^H V(s_H)`` to every candidate's return, with V a state
    value fitted by TD(0) on the real transitions at every refit (:mod:`algorithms.state_value`;
    Lowrey et al. 2019); needs ``discount`` < 1. ``value_*``: its hidden widths, Adam steps per
    refit, minibatch size, learning rate and target Polyak factor.
    ``matmul_dtype``: precision of the learned network's matmuls while planning (training stays
    float32). ``bfloat16`` runs them on CPUs' bf16 matrix units (AMX, AVX512-BF16) for a faster
    planning call (``benchmarks/plan_speed.py --matmul-dtype bfloat16``); inputs, states and
    returns stay float32. On CPUs without such units bf16 is slower: keep float32 there.
    """

    horizon: int = 15
    particles: int = 20
    propagation: Literal["tsinf", "ts1", "sample", "expectation"] = "tsinf"
    replan_every: int = 1
    open_loop: bool = False
    random_steps: int = 200
    refit_every: int = 200
    buffer_capacity: int = 1_000_000
    fit_epochs: int = 50
    fit_batch_size: int = 32
    fit_holdout_ratio: float = 0.1
    fit_patience: int = 5
    fit_lr: float = 1e-3
    fit_weight_decay: float = 5e-5
    discount: float = 1.0
    terminal_value: bool = False
    value_hidden: tuple[int, ...] = (200, 200)
    value_updates: int = 1000
    value_batch_size: int = 256
    value_lr: float = 1e-3
    value_tau: float = 0.005
    matmul_dtype: Literal["float32", "bfloat16"] = "float32"

    def __post_init__(self):
        for name in ("horizon", "particles", "replan_every", "refit_every", "buffer_capacity", "fit_epochs",
                     "fit_batch_size"):
            if getattr(self, name) < 1:
                raise UserError(f"algorithm.{name} must be >= 1, got {getattr(self, name)!r}.")
        if self.random_steps < 0 or not 0.0 <= self.fit_holdout_ratio < 1.0:
            raise UserError("algorithm.random_steps must be >= 0 and 0 <= algorithm.fit_holdout_ratio < 1.")
        if not 0.0 < self.discount <= 1.0:
            raise UserError(f"algorithm.discount must lie in (0, 1], got {self.discount!r}.")
        if self.terminal_value and self.discount == 1.0:
            raise UserError("algorithm.terminal_value=true needs algorithm.discount < 1 (e.g. 0.99): "
                            "a TD value of an undiscounted task need not be finite.")
        if self.value_updates < 0 or self.value_batch_size < 1 or not self.value_lr > 0 or not 0 < self.value_tau <= 1:
            raise UserError("algorithm.value_updates must be >= 0, value_batch_size >= 1, value_lr > 0 and "
                            f"0 < value_tau <= 1; got {self.value_updates}, {self.value_batch_size}, "
                            f"{self.value_lr}, {self.value_tau}.")


def train(config: RunConfig, run: Run) -> None:
    """Run the MPC trial loop for exactly ``config.run.steps`` environment steps, logging each
    episode (the last one cut short when the budget ends inside it)."""
    cfg: Config = config.algorithm
    seed = config.run.seed
    task = config.task_spec()
    env = task.make_env()
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    low, high = task.action_bounds()
    torch.manual_seed(seed)
    model = config.make_model(obs_dim, act_dim)
    learned = "learned" in MODELS.get(config.model_name).tags
    controller = MPC(config.make_planner(low, high, cfg.horizon), cfg.replan_every, cfg.open_loop)
    differentiable = "differentiable" in PLANNERS.get(config.planner_name).requires
    reward_fn = task.reward_fn if task.reward_fn is not None else model.reward_fn
    buffer = ReplayBuffer(obs_dim, act_dim, cfg.buffer_capacity)
    generator = torch.Generator().manual_seed(seed)
    value = StateValue(obs_dim, cfg.value_hidden, generator) if cfg.terminal_value else None
    rng = np.random.default_rng(seed)
    env_step = episode = 0
    last_fit: int | None = None
    fit_stats: dict[str, float | None] = {}

    state = run.load_checkpoint()
    if state is not None:
        model.load_state_dict(state["model"])
        if value is not None:
            value.load_state_dict(state["value"])
        buffer.load_state_dict(state["buffer"])
        generator.set_state(state["generator"])
        rng.bit_generator.state = state["rng"]
        env_step, episode, last_fit, fit_stats = state["env_step"], state["episode"], state["last_fit"], state["fit"]

    while env_step < config.run.steps:
        obs, _ = env.reset(seed=episode_seed(seed, episode))
        controller.reset()
        episode_return, episode_steps, plan_s, done = 0.0, 0, 0.0, False
        while not done:
            # A learned model is first fitted after the random steps; a value alone (planning on the
            # simulator) as soon as there is data.
            fit_due = (learned or value is not None) and len(buffer) > 0 and (
                last_fit is None or env_step - last_fit >= cfg.refit_every)
            if fit_due and (not learned or env_step >= cfg.random_steps):
                if learned:
                    stats = fit(model, buffer.all(), epochs=cfg.fit_epochs, batch_size=cfg.fit_batch_size,
                                holdout_ratio=cfg.fit_holdout_ratio, patience=cfg.fit_patience, lr=cfg.fit_lr,
                                weight_decay=cfg.fit_weight_decay, generator=generator)
                    fit_stats = {f"fit_{k}": v for k, v in stats.summary().items()}
                if value is not None:
                    fit_stats.update(value.fit(buffer, discount=cfg.discount, updates=cfg.value_updates,
                                               batch_size=cfg.value_batch_size, lr=cfg.value_lr,
                                               tau=cfg.value_tau, generator=generator))
                last_fit = env_step
            if learned and env_step < cfg.random_steps:
                action = rng.uniform(low, high).astype(np.float32)
            else:
                t0 = run.wall_s()
                objective = make_objective(model, obs, reward_fn=reward_fn, termination_fn=task.termination_fn,
                                           particles=cfg.particles, propagation=cfg.propagation,
                                           generator=generator, differentiable=differentiable,
                                           value_fn=value if last_fit is not None else None,
                                           discount=cfg.discount)
                with matmuls_in(model, getattr(torch, cfg.matmul_dtype)):
                    action = controller.act(objective, generator).numpy()
                plan_s += run.wall_s() - t0
            next_obs, reward, terminated, truncated, info = env.step(action)
            env_step += 1
            # The run's step budget cuts the last episode as a time limit would (as SAC's loop does).
            truncated = truncated or (env_step >= config.run.steps and not terminated)
            buffer.add(obs, action, next_obs, reward, terminated, truncated)
            obs, done = next_obs, terminated or truncated
            episode_return += float(reward)
            episode_steps += 1
            run.advance(env_step)
        episode += 1
        run.log_episode(env_step, episode, episode_return, episode_steps,
                        plan_ms_per_step=1000 * plan_s / episode_steps, **fit_stats, **final_info(info))
        run.save_checkpoint({"model": model.state_dict(), "value": None if value is None else value.state_dict(),
                             "buffer": buffer.state_dict(),
                             "generator": generator.get_state(), "rng": rng.bit_generator.state,
                             "env_step": env_step, "episode": episode, "last_fit": last_fit, "fit": fit_stats})
    env.close()


ALGORITHMS.add("mpc", sys.modules[__name__], requires={"model", "planner"})

PETS_TASK_SETTINGS = {
    # Balancing needs far less search than swing-up: 100 candidates x 3 CEM iterations x 5
    # particles (1/23 of the default's model rows) solve it as reliably, and refitting every 50
    # steps (as mbrl-lib does on this task) keeps the model current within a trial.
    "cartpole-balance": {"algorithm": {"particles": 5, "refit_every": 50},
                         "planner": {"population_size": 100, "iterations": 3}},
    # Swing-up needs PETS's 25-step (1 s) horizon; half its population (400) and particles (20)
    # keep a step under half a second on 2 cores.
    "cartpole-swingup": {"algorithm": {"horizon": 25, "particles": 10},
                         "planner": {"population_size": 200}},
    # Reacher's episodes are 50 steps: refit after each; half the default search suffices
    # (results/pets: level with planning on the simulator after ~25 episodes).
    "Reacher-v5": {"algorithm": {"particles": 10, "refit_every": 50},
                   "planner": {"population_size": 200}},
    # Pusher: PETS's 25-step horizon, refit after every 100-step episode (results/pets).
    "Pusher-v5": {"algorithm": {"horizon": 25, "particles": 10, "refit_every": 100},
                  "planner": {"population_size": 200}},
    # PETS's own pusher: the same search, one random 150-step trial first, refit after every trial.
    "pusher-pets": {"algorithm": {"horizon": 25, "particles": 10, "random_steps": 150, "refit_every": 150},
                    "planner": {"population_size": 200}},
    # InvertedPendulum: a 45-step horizon (as mbrl-lib's preset) and CEM 200 x 5 with 8% elites
    # (mbrl-lib: 480 x 5, 7.8%), 5 particles for ~1.05 s per step on 2 cores; seed 0 returned 975,
    # then 1000 in every episode from step 13k to 20k, mbrl-lib's budget (results/pets). Horizon 15
    # or CEM 100 x 3 fall at the cart's rail. `pets-value` solves the task sooner, at a tenth of the cost.
    "InvertedPendulum-v5": {"algorithm": {"horizon": 45, "particles": 5},
                            "planner": {"population_size": 200, "elite_fraction": 0.08}},
    # HalfCheetah: PETS's 30-step horizon, one random 1000-step trial, refit after every trial;
    # 200 candidates and 10 particles (PETS: 500 and 20) for ~0.4 s per step with bf16 planning
    # matmuls on 2 threads, ~0.46 s on 1 (so two seeds side by side, one thread each, make 1.7x
    # the env steps of one seed on both; results/pets).
    "HalfCheetah-v5": {"algorithm": {"horizon": 30, "particles": 10, "random_steps": 1000, "refit_every": 1000},
                       "planner": {"population_size": 200}},
}
"""Per-task presets of the ``pets`` pairing (shown by ``mbrl-zoo config pets --task T``)."""

register_pairing(Pairing(
    "pets", "mpc", "pe", "cem", {"algorithm": {"propagation": "tsinf"}},
    "PETS (Chua et al. 2018): probabilistic ensemble, CEM, TS-inf particles",
    task_settings=PETS_TASK_SETTINGS))
register_pairing(Pairing(
    "pets-value", "mpc", "pe", "cem",
    {"algorithm": {"propagation": "tsinf", "terminal_value": True, "discount": 0.99}},
    "PETS with a learned terminal value V(s_H) fitted by TD(0) on the real data (Lowrey et al. 2019)",
    task_settings={
        # 100 candidates x 3 iterations x 5 particles (~0.1 s per step on 2 cores) for
        # 1000-step episodes; the value, not a larger search, is what keeps the cart centred.
        "InvertedPendulum-v5": {"algorithm": {"particles": 5}, "planner": {"population_size": 100, "iterations": 3}},
    }))
register_pairing(Pairing(
    "rs-mpc", "mpc", "deterministic", "random-shooting",
    {"algorithm": {"particles": 1, "propagation": "expectation", "horizon": 10}},
    "RS-MPC (Nagabandi et al. 2018): deterministic MLP, random shooting"))
register_pairing(Pairing(
    "oracle-cem", "mpc", "oracle", "cem", {"algorithm": {"particles": 1, "propagation": "expectation"}},
    "CEM planning with the simulator as the model (no model error)"))

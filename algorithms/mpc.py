"""Model-predictive control with a learned (or simulator) model: RS-MPC and PETS.

The trial loop of Nagabandi et al., "Neural Network Dynamics for Model-Based Deep Reinforcement
Learning with Model-Free Fine-Tuning" (ICRA 2018) and Chua et al., "Deep Reinforcement Learning
in a Handful of Trials using Probabilistic Dynamics Models" (NeurIPS 2018): collect random-policy
data, fit the model, then act with MPC, adding every real transition to the data set and refitting
the model every ``refit_every`` steps. Any registered model and planner pair this way: RS-MPC is a
deterministic model with random shooting, PETS a probabilistic ensemble with CEM and TS-inf
particles, and ``oracle-*`` pairings plan with the simulator itself. With ``terminal_value`` the
planner also scores where each candidate ends, by a state value learned from the real data:
a TD(0) value (``pets-value``; Lowrey et al., "Plan Online, Learn Offline", ICLR 2019) or the
value of a gamma-model's occupancy draws (``pets-gamma``; Janner et al. 2020), the one-step model
still rolling the candidates out.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Literal

import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig
from mbrl_zoo.models.environment import EnvironmentModel, FitSettings
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.runs import Run
from mbrl_zoo.settings import SettingError, setting
from planners.mpc import MPCPolicy, MPCSettings

from algorithms.gamma_value import GammaValue
from algorithms.loop import EnvLoop, add_step
from algorithms.state_value import StateValue
from mbrl_zoo.models.gamma import GammaModel


@dataclass(frozen=True)
class Config(MPCSettings, FitSettings):
    """Settings of the MPC trial loop: planning (:class:`~planners.mpc.MPCSettings`), model fitting
    (:class:`~mbrl_zoo.models.environment.FitSettings`, here with mbrl-lib's PETS values) and:

    ``random_steps``: uniform-random steps collected before the first fit.
    ``terminal_value``: add ``discount^H V(s_H)`` to every candidate's return, V fitted on the
    real transitions at every refit; needs ``discount`` < 1. ``"td"`` (or ``true``): a state
    value fitted by TD(0) (:mod:`algorithms.state_value`; Lowrey et al. 2019). ``"gamma"``: the
    value of a state-conditioned gamma-model of discount ``discount`` trained by generative TD
    (:class:`~algorithms.gamma_value.GammaValue`; Janner et al. 2020), averaged over
    ``gamma_samples`` occupancy draws; ``gamma_components``, ``gamma_hidden`` and
    ``gamma_layers`` shape its mixture density network. ``false``: none. ``value_*``: the hidden
    widths of the TD value, and for either the Adam steps per refit, minibatch size, learning
    rate and target Polyak factor.
    """

    random_steps: int = setting(200, ">= 0")
    refit_every: int = 200
    """Env steps between model refits (mbrl-lib: one trial)."""
    buffer_capacity: int = setting(1_000_000, ">= 1")
    fit_epochs: int = 50
    fit_batch_size: int = 32
    fit_holdout_ratio: float = 0.1
    terminal_value: bool | Literal["td", "gamma"] = False
    value_hidden: tuple[int, ...] = setting((200, 200), ">= 1", nonempty=True)
    value_updates: int = setting(1000, ">= 0")
    value_batch_size: int = setting(256, ">= 1")
    value_lr: float = setting(1e-3, "> 0")
    value_tau: float = setting(0.005, "(0, 1]")
    gamma_samples: int = setting(16, ">= 1")
    gamma_components: int = setting(5, ">= 1")
    gamma_hidden: int = setting(200, ">= 1")
    gamma_layers: int = setting(3, ">= 1")

    @property
    def value_kind(self) -> str | None:
        """``"td"``, ``"gamma"`` or None: which terminal value ``terminal_value`` names."""
        return "td" if self.terminal_value is True else (self.terminal_value or None)

    def __post_init__(self):
        MPCSettings.__post_init__(self)
        FitSettings.__post_init__(self)
        if self.terminal_value and self.discount == 1.0:
            raise SettingError({"terminal_value": self.terminal_value, "discount": 1.0},
                               "a terminal value needs discount < 1 (e.g. 0.99): the value of an undiscounted "
                               "task need not be finite")


def make_value(cfg: Config, loop: EnvLoop) -> StateValue | GammaValue | None:
    """The terminal value that ``cfg.terminal_value`` names, for the task of ``loop``."""
    if cfg.value_kind == "td":
        return StateValue(loop.obs_dim, cfg.value_hidden, loop.streams.torch)
    if cfg.value_kind is None:
        return None
    if loop.spec.reward_fn is None:
        raise UserError(f"algorithm.terminal_value='gamma' scores occupancy states with the task's reward_fn, "
                        f"and task {loop.spec.name!r} has none; use terminal_value='td'.")
    model = GammaModel(loop.obs_dim, loop.act_dim, discount=cfg.discount, components=cfg.gamma_components,
                       hidden=cfg.gamma_hidden, layers=cfg.gamma_layers, generator=loop.streams.torch)
    mid_action = (torch.as_tensor(loop.low, dtype=torch.float32) + torch.as_tensor(loop.high, dtype=torch.float32)) / 2
    return GammaValue(model, loop.spec.reward_fn, loop.spec.termination_fn, mid_action, cfg.gamma_samples,
                      loop.streams.torch)


def train(config: RunConfig, run: Run) -> None:
    """Run the MPC trial loop for exactly ``config.run.steps`` environment steps."""
    cfg: Config = config.algorithm
    loop = EnvLoop(config, run)
    model = EnvironmentModel(config.make_model(loop.obs_dim, loop.act_dim), loop.spec, cfg)
    value = make_value(cfg, loop)
    policy = MPCPolicy(config.make_planner(loop.low, loop.high, cfg.horizon), model, cfg, loop.streams.torch)
    real = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.buffer_capacity)
    progress = {"last_fit": None}
    loop.keep(model=model, real=real, policy=policy, progress=progress, **({"value": value} if value else {}))
    for obs in loop:
        if loop.episode_started:
            policy.reset()
        # A learned model is first fitted after the random steps; a value alone (planning on the
        # simulator) as soon as there is data.
        learns = model.trainable or value is not None
        fit_due = learns and len(real) > 0 and (
            progress["last_fit"] is None or loop.env_step - progress["last_fit"] >= cfg.refit_every)
        if fit_due and (not model.trainable or loop.env_step >= cfg.random_steps):
            with loop.phase("fitting the model"):
                loop.stats.update(model.refit(real, loop.streams.torch))
            if value is not None:
                discount = {"discount": cfg.discount} if cfg.value_kind == "td" else {}
                loop.stats.update(value.fit(real, **discount, updates=cfg.value_updates,
                                            batch_size=cfg.value_batch_size, lr=cfg.value_lr, tau=cfg.value_tau,
                                            generator=loop.streams.torch))
            progress["last_fit"] = loop.env_step
        policy.value_fn = value if progress["last_fit"] is not None else None
        if model.trainable and loop.env_step < cfg.random_steps:
            action = loop.random_action()
        else:
            action = policy(obs)
            loop.stats["plan_ms_per_step"] = policy.ms_per_call
        add_step(real, loop.step(action))


ALGORITHMS.add("mpc", sys.modules[__name__], requires={"model", "planner"})

PETS_TASK_SETTINGS = {
    # Balancing needs far less search than swing-up: 100 candidates x 3 CEM iterations x 5
    # particles (1/23 of the default's model rows) solve it as reliably, and refitting every 50
    # steps (as mbrl-lib does on this task) keeps the model current within a trial.
    "cartpole-balance": {"algorithm": {"particles": 5, "refit_every": 50},
                         "planner": {"population_size": 100, "iterations": 3}},
    # Swing-up needs PETS's 25-step (1 s) horizon; half its population (400) and particles (20)
    # cut the model rows per step to a quarter and still reach PETS's level (results/pets).
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
    # (mbrl-lib: 480 x 5, 7.8%), 5 particles: with a shorter horizon or less search every candidate
    # that survives the horizon scores the same, the cart drifts to its rail and the pole falls
    # (results/pets). `pets-value` solves the task with a tenth of the search.
    "InvertedPendulum-v5": {"algorithm": {"horizon": 45, "particles": 5},
                            "planner": {"population_size": 200, "elite_fraction": 0.08}},
    # HalfCheetah: PETS's 30-step horizon, one random 1000-step trial, refit after every trial;
    # 200 candidates and 10 particles (PETS: 500 and 20): a fifth of PETS's model rows per step,
    # so that a CPU plans a step in well under a second.
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
        # 100 candidates x 3 iterations x 5 particles for 1000-step episodes; the value, not a
        # larger search, is what keeps the cart centred.
        "InvertedPendulum-v5": {"algorithm": {"particles": 5}, "planner": {"population_size": 100, "iterations": 3}},
    }))
register_pairing(Pairing(
    "pets-gamma", "mpc", "pe", "cem",
    {"algorithm": {"propagation": "tsinf", "terminal_value": "gamma", "discount": 0.95}},
    "PETS with a terminal value from a gamma-model's occupancy draws, E[r(s_e)] / (1 - gamma) (Janner et al. 2020)",
    task_settings={
        "InvertedPendulum-v5": {"algorithm": {"particles": 5}, "planner": {"population_size": 100, "iterations": 3}},
    }))
SWINGUP_HORIZON = {"cartpole-swingup": {"algorithm": {"horizon": 25}}}
"""Swing-up pays only once the pole is up, which a 10-step (0.4 s) plan cannot see from below:
random shooting needs PETS's 25 steps there too (results/benchmark)."""

register_pairing(Pairing(
    "rs-mpc", "mpc", "deterministic", "random-shooting",
    {"algorithm": {"particles": 1, "propagation": "expectation", "horizon": 10}},
    "RS-MPC (Nagabandi et al. 2018): deterministic MLP, random shooting",
    task_settings=SWINGUP_HORIZON))
register_pairing(Pairing(
    "oracle-cem", "mpc", "oracle", "cem", {"algorithm": {"particles": 1, "propagation": "expectation"}},
    "CEM planning with the simulator as the model (no model error)"))

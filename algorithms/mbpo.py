"""Model-based policy optimisation (Janner et al. 2019, "When to Trust Your Model: Model-Based
Policy Optimization", Algorithm 2).

SAC (Haarnoja et al. 2018) learns from a model buffer filled with short rollouts of an ensemble
of probabilistic models, branched from states of the real replay buffer. Every
``model_train_freq`` env steps the model is refitted to all real data, the rollout length k is
read off the schedule for the current epoch, the model buffer is resized to keep
``model_retain_epochs`` epochs of rollouts, and ``rollout_batch_size`` k-step rollouts are added
to it. Each env step then takes G = ``updates_per_step`` SAC updates on minibatches that hold a
``real_ratio`` share of real transitions.

Per-task settings of the paper (Appendix C) and its code (github.com/jannerm/mbpo,
``examples/config``) are in :data:`PRESETS`; the ``mbpo`` pairing applies them per task
(``mbrl-zoo run mbpo --task Hopper-v5`` uses Hopper's), under the user's own ``--set`` values,
so the resolved ``config.json`` shows the values a run used.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig
from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.runs import Run

from algorithms import sac
from algorithms.model_rollouts import (FitSettings, ModelFitter, branched_rollouts, mixed_batch,
                                       model_buffer_capacity, require_ensemble, reward_and_termination,
                                       rollout_length)


@dataclass(frozen=True)
class Config(sac.Config, FitSettings):
    """MBPO's settings: SAC's, model fitting's, and those of Janner et al. 2019, Appendix C.

    The defaults are the paper's common values (its Hopper/Walker2d/Ant column, with the
    schedule of HalfCheetah/Walker2d: k = 1); per-task values are in :data:`PRESETS`.
    """

    random_steps: int = 5000
    """Uniform-random env steps before the first model fit (their code's
    ``n_initial_exploration_steps``)."""
    updates_per_step: int = 20
    """G, SAC gradient steps per env step."""
    epoch_length: int = 1000
    """Env steps per epoch: the unit of the rollout schedule and of model-buffer retention."""
    model_train_freq: int = 250
    """Env steps between model fits (each followed by a fresh batch of rollouts)."""
    rollout_batch_size: int = 100_000
    """Model rollouts started per fit: M = 400 rollouts per env step times ``model_train_freq``."""
    rollout_schedule: tuple[int, int, int, int] = (20, 100, 1, 1)
    """(start_epoch, end_epoch, min_len, max_len): k grows linearly from min_len at start_epoch
    to max_len at end_epoch."""
    model_retain_epochs: int = 1
    """Epochs of rollouts the model buffer holds; its capacity follows k (see
    :func:`algorithms.model_rollouts.model_buffer_capacity`)."""
    real_ratio: float = 0.05
    """Share of real transitions in each SAC minibatch."""
    eval_every: int = 1000

    def __post_init__(self):
        super().__post_init__()
        start, end, low, high = self.rollout_schedule
        if not (0 <= start <= end and 1 <= low <= high):
            raise UserError(
                f"algorithm.rollout_schedule={list(self.rollout_schedule)!r} must be [start_epoch, end_epoch, "
                "min_len, max_len] with 0 <= start_epoch <= end_epoch and 1 <= min_len <= max_len."
            )
        if not 0.0 <= self.real_ratio <= 1.0:
            raise UserError(f"algorithm.real_ratio={self.real_ratio!r} must be between 0 and 1.")
        for name in ("epoch_length", "model_train_freq", "rollout_batch_size", "model_retain_epochs"):
            if getattr(self, name) < 1:
                raise UserError(f"algorithm.{name} must be >= 1, got {getattr(self, name)!r}.")


PRESETS: dict[str, dict[str, Any]] = {
    # Janner et al. 2019, Appendix C (N epochs, E steps/epoch, M = 400 rollouts/step, G, k schedule)
    # with the target entropies of their code's examples/config/<task>/0.py.
    "InvertedPendulum-v5": {
        # Code values: 250-step epochs, G = 10, k = 1, 500 initial random steps, target entropy -0.05.
        "epoch_length": 250, "updates_per_step": 10, "rollout_schedule": (1, 15, 1, 1),
        "random_steps": 500, "target_entropy": -0.05, "eval_every": 250,
    },
    "Hopper-v5": {
        # Paper: k from 1 to 15 over epochs 20 to 100 (their config file has end epoch 150).
        "updates_per_step": 20, "rollout_schedule": (20, 100, 1, 15), "target_entropy": -1.0,
    },
    "HalfCheetah-v5": {
        "updates_per_step": 40, "rollout_schedule": (20, 100, 1, 1), "target_entropy": -3.0,
    },
    "Walker2d-v5": {
        "updates_per_step": 20, "rollout_schedule": (20, 100, 1, 1), "target_entropy": -3.0,
    },
    "Ant-v5": {
        "updates_per_step": 20, "rollout_schedule": (20, 100, 1, 25), "target_entropy": -4.0,
    },
}
"""Per-task MBPO settings (Janner et al. 2019); tasks not listed run with :class:`Config`'s defaults."""


def train(config: RunConfig, run: Run) -> None:
    """MBPO (Janner et al. 2019, Algorithm 2) for ``config.run.steps`` env steps."""
    cfg: Config = config.algorithm
    loop = sac.Interaction(config, run)
    model = config.make_model(loop.obs_dim, loop.act_dim)
    require_ensemble(model, config.model_name, "mbpo")
    refit = ModelFitter(model, cfg)
    reward_fn, termination_fn = reward_and_termination(model, config.task_spec())
    agent = sac.SACAgent.from_config(cfg, loop.obs_dim, loop.act_dim, loop.low, loop.high, loop.seed)
    real = ReplayBuffer(loop.obs_dim, loop.act_dim, loop.buffer_capacity())
    imagined = ReplayBuffer(loop.obs_dim, loop.act_dim, 1)
    saved = loop.resume()
    if saved is not None:
        agent.load_full_state(saved["agent"])
        model.load_state_dict(saved["model"])
        refit.load_state_dict(saved["model_optimizer"])
        real = sac.restored_buffer(saved["real"], loop.obs_dim, loop.act_dim, loop.buffer_capacity())
        imagined = sac.restored_buffer(saved["imagined"], loop.obs_dim, loop.act_dim, saved["imagined"]["capacity"])

    def policy(obs):
        return loop.random_action() if loop.counters.env_step < cfg.random_steps else agent.act(obs)

    def learn(step: sac.Step) -> None:
        nonlocal imagined
        sac.add_step(real, step)
        steps_learning = loop.counters.env_step - cfg.random_steps
        if steps_learning < 0:
            return
        if steps_learning % cfg.model_train_freq == 0:
            loop.counters.last.update(refit(real, loop.streams.torch))
            k = rollout_length(steps_learning // cfg.epoch_length, cfg.rollout_schedule)
            capacity = model_buffer_capacity(cfg.rollout_batch_size, k, cfg.epoch_length, cfg.model_train_freq,
                                             cfg.model_retain_epochs)
            imagined = sac.resized(imagined, capacity)
            starts = real.sample(cfg.rollout_batch_size, loop.streams.torch).obs
            rollouts = branched_rollouts(model, starts, lambda obs: agent.policy(obs)[0], k, reward_fn,
                                         termination_fn, loop.streams.torch)
            imagined.add_batch(rollouts)
            loop.counters.last.update(rollout_len=k, rollout_mean_steps=len(rollouts) / cfg.rollout_batch_size,
                                      model_buffer=len(imagined))
        for _ in range(cfg.updates_per_step):
            batch = mixed_batch(real, imagined, cfg.batch_size, cfg.real_ratio, loop.streams.torch)
            loop.counters.last.update(agent.update(batch))

    def state() -> dict:
        return {"agent": agent.full_state(), "model": model.state_dict(), "model_optimizer": refit.state_dict(),
                "real": real.state_dict(), "imagined": imagined.state_dict()}

    loop.play(policy, learn, agent, state)


ALGORITHMS.add("mbpo", sys.modules[__name__], requires={"model", "ensemble"})
register_pairing(Pairing(
    "mbpo", algorithm="mbpo", model="pe",
    description="MBPO (Janner et al. 2019): SAC on short branched rollouts of a probabilistic ensemble",
    task_settings={task: {"algorithm": dict(preset)} for task, preset in PRESETS.items()},
))

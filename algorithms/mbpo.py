"""Model-based policy optimisation (Janner et al. 2019, "When to Trust Your Model: Model-Based
Policy Optimization", Algorithm 2).

SAC (Haarnoja et al. 2018) learns from a model buffer filled with short rollouts of an ensemble
of probabilistic models, branched from states of the real replay buffer. Every
``refit_every`` env steps the model is refitted to all real data, the rollout length k is
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
from mbrl_zoo.models.environment import EnvironmentModel, FitSettings
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.runs import Run
from mbrl_zoo.settings import SettingError, setting

from algorithms import sac
from algorithms.loop import EnvLoop, add_step
from algorithms.model_rollouts import branched_rollouts, mixed_batch, model_buffer_capacity, rollout_length
from algorithms.sac import SACAgent


@dataclass(frozen=True)
class Config(sac.AgentSettings, sac.InteractionSettings, FitSettings):
    """MBPO's settings: SAC's, model fitting's, and those of Janner et al. 2019, Appendix C.

    The defaults are the paper's common values (its Hopper/Walker2d/Ant column, with the
    schedule of HalfCheetah/Walker2d: k = 1); per-task values are in :data:`PRESETS`.
    """

    random_steps: int = 5000
    """Uniform-random env steps before the first model fit (their code's
    ``n_initial_exploration_steps``)."""
    updates_per_step: int = 20
    """G, SAC gradient steps per env step."""
    epoch_length: int = setting(1000, ">= 1")
    """Env steps per epoch: the unit of the rollout schedule and of model-buffer retention."""
    rollout_batch_size: int = setting(100_000, ">= 1")
    """Model rollouts started per fit (one fit every ``refit_every`` env steps): M = 400 rollouts
    per env step times ``refit_every``."""
    rollout_schedule: tuple[int, int, int, int] = setting((20, 100, 1, 1), ">= 0")
    """(start_epoch, end_epoch, min_len, max_len): k grows linearly from min_len at start_epoch
    to max_len at end_epoch."""
    model_retain_epochs: int = setting(1, ">= 1")
    """Epochs of rollouts the model buffer holds; its capacity follows k (see
    :func:`algorithms.model_rollouts.model_buffer_capacity`)."""
    real_ratio: float = setting(0.05, "[0, 1]")
    """Share of real transitions in each SAC minibatch."""
    eval_every: int = 1000

    def __post_init__(self):
        FitSettings.__post_init__(self)
        start, end, low, high = self.rollout_schedule
        if not (start <= end and 1 <= low <= high):
            raise SettingError({"rollout_schedule": list(self.rollout_schedule)},
                               "it must be [start_epoch, end_epoch, min_len, max_len] with start_epoch <= "
                               "end_epoch and 1 <= min_len <= max_len")


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
    loop = EnvLoop(config, run, eval_every=cfg.eval_every, eval_episodes=cfg.eval_episodes)
    model = EnvironmentModel(config.make_model(loop.obs_dim, loop.act_dim), loop.spec, cfg)
    agent = SACAgent.for_loop(cfg, loop)
    real = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.buffer_capacity)
    imagined = ReplayBuffer(loop.obs_dim, loop.act_dim, 1)
    loop.keep(agent=agent, model=model, real=real, imagined=imagined)
    loop.evaluate_with(agent.greedy)
    for obs in loop:
        action = loop.random_action() if loop.env_step < cfg.random_steps else agent.act(obs)
        add_step(real, loop.step(action))
        steps_learning = loop.env_step - cfg.random_steps
        if steps_learning < 0:
            continue
        if steps_learning % cfg.refit_every == 0:
            # Train the model on the real data; then roll it out for k steps from real states into
            # a model buffer that keeps model_retain_epochs epochs of rollouts.
            with loop.phase("fitting the model"):
                loop.stats.update(model.refit(real, loop.streams.torch))
            k = rollout_length(steps_learning // cfg.epoch_length, cfg.rollout_schedule)
            imagined.resize(model_buffer_capacity(cfg.rollout_batch_size, k, cfg.epoch_length, cfg.refit_every,
                                                  cfg.model_retain_epochs))
            starts = real.sample(cfg.rollout_batch_size, loop.streams.torch).obs
            rollouts = branched_rollouts(model.dynamics, starts, lambda o: agent.policy(o)[0], k, model.reward_fn,
                                         model.termination_fn, loop.streams.torch)
            imagined.add_batch(rollouts)
            loop.stats.update(rollout_len=k, rollout_mean_steps=len(rollouts) / cfg.rollout_batch_size,
                              model_buffer=len(imagined))
        for _ in range(cfg.updates_per_step):
            batch = mixed_batch(real, imagined, cfg.batch_size, cfg.real_ratio, loop.streams.torch)
            loop.stats.update(agent.update(batch))


ALGORITHMS.add("mbpo", sys.modules[__name__], requires={"model"})
register_pairing(Pairing(
    "mbpo", algorithm="mbpo", model="pe",
    description="MBPO (Janner et al. 2019): SAC on short branched rollouts of a probabilistic ensemble",
    task_settings={task: {"algorithm": dict(preset)} for task, preset in PRESETS.items()},
))

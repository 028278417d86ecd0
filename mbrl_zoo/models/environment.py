"""The model of the environment that an algorithm plans or imagines with.

Every model-based algorithm needs the same three things besides its learner: a one-step
dynamics model, the reward and termination of the transitions it predicts, and a way to refit
the model to the real data now and then. :class:`EnvironmentModel` holds them together, with
one ``state_dict`` for checkpoints; :class:`FitSettings` are the settings of the refit, shared by
every algorithm's ``Config``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.errors import UserError
from mbrl_zoo.models.base import DynamicsModel
from mbrl_zoo.models.fit import fit, make_optimizer
from mbrl_zoo.settings import SettingError, setting
from mbrl_zoo.tasks.spec import RewardFn, TaskSpec, TerminationFn


@dataclass(frozen=True)
class FitSettings:
    """How and how often the model is refitted to every real transition (the arguments of
    :func:`mbrl_zoo.models.fit.fit`).

    Defaults follow Janner et al. 2019's model training: minibatches of 256, Adam at 1e-3, a
    holdout of 20% and early stopping after 5 epochs without improvement; ``fit_epochs`` caps
    the epochs of one fit (their code has no cap) to bound CPU time. An algorithm's ``Config``
    inherits these fields and may change their defaults.
    """

    refit_every: int = setting(250, ">= 1")
    """Env steps between model refits."""
    buffer_capacity: int = setting(1_000_000, ">= 2")
    """Real transitions kept for fitting (the oldest dropped first)."""
    fit_epochs: int = setting(100, ">= 1")
    fit_batch_size: int = setting(256, ">= 1")
    fit_holdout_ratio: float = setting(0.2, "[0, 1)")
    fit_patience: int = setting(5, ">= 0")
    fit_lr: float = setting(1e-3, "> 0")
    fit_weight_decay: float = setting(5e-5, ">= 0")

    def __post_init__(self):
        capacity = self.buffer_capacity
        if capacity < 2:
            raise SettingError({"buffer_capacity": capacity},
                               "a model fit needs at least 2 transitions (one held out), so buffer_capacity >= 2")


class EnvironmentModel:
    """A dynamics model with the reward and termination of its transitions, refitted on demand.

    ``dynamics`` is any :class:`~mbrl_zoo.models.base.DynamicsModel`; ``reward_fn`` and
    ``termination_fn`` are the task's (exact), or, for a task without a reward function, the
    model's learned reward head. :meth:`refit` trains the model on a whole replay buffer, keeping
    its Adam optimiser from one fit to the next (as a model trained on and off over a run would);
    a model with nothing to learn (the simulator oracle) is left alone.
    """

    def __init__(self, dynamics: DynamicsModel, task: TaskSpec, settings: FitSettings):
        self.dynamics, self.settings = dynamics, settings
        self.reward_fn: RewardFn = task.reward_fn if task.reward_fn is not None else self._learned_reward(task)
        self.termination_fn: TerminationFn = task.termination_fn
        self.optimizer: torch.optim.Optimizer | None = None

    def _learned_reward(self, task: TaskSpec) -> RewardFn:
        learned = getattr(self.dynamics, "reward_fn", None)
        if learned is None:
            raise UserError(
                f"task {task.name!r} has no reward_fn and model {type(self.dynamics).__name__} learns no reward; "
                "predicted transitions need one of them. Choose a task with a reward function or a model "
                "with a reward head (e.g. --set model.learn_reward=true)."
            )
        return learned

    @property
    def trainable(self) -> bool:
        return self.dynamics.trainable

    def refit(self, real: ReplayBuffer, generator: torch.Generator, other: ReplayBuffer | None = None,
              other_share: float = 0.0) -> dict[str, float]:
        """Fit the dynamics to every transition of ``real`` (and, given ``other``, on minibatches
        that draw ``other_share`` of their rows from it: :func:`~mbrl_zoo.models.fit.fit`); returns
        ``model_*`` statistics to log (none when the model has nothing to learn or the buffers hold
        fewer than 2 transitions):
        the last epoch's training loss, the epochs run, ``model_kept_epoch`` (the epoch whose
        weights were kept for the best held-out error), the elites' held-out normalised MSE and
        NLL, and the seconds taken."""
        mixed = other is not None and len(other) > 0 and other_share > 0.0
        if not self.trainable or len(real) + (len(other) if mixed else 0) < 2:
            return {}
        s = self.settings
        stats = fit(self.dynamics, real.all(), other=other.all() if mixed else None, other_share=other_share,
                    epochs=s.fit_epochs, batch_size=s.fit_batch_size,
                    holdout_ratio=s.fit_holdout_ratio, patience=s.fit_patience, lr=s.fit_lr,
                    weight_decay=s.fit_weight_decay, optimizer=self.optimizer, generator=generator)
        self.optimizer = stats.optimizer
        summary = stats.summary()
        return {"model_loss": summary["train_loss"], "model_fit_epochs": summary["epochs"],
                "model_kept_epoch": summary["best_epoch"], "model_holdout_nmse": summary["holdout_nmse"],
                "model_holdout_nll": summary["holdout_nll"], "model_fit_s": summary["seconds"]}

    def state_dict(self) -> dict:
        """Weights and optimiser state, as a snapshot (deep copy) that later fits leave unchanged."""
        return copy.deepcopy({"dynamics": self.dynamics.state_dict(),
                              "optimizer": None if self.optimizer is None else self.optimizer.state_dict()})

    def load_state_dict(self, state: dict) -> None:
        self.dynamics.load_state_dict(state["dynamics"])
        self.optimizer = None
        if state["optimizer"] is not None:
            self.optimizer = make_optimizer(self.dynamics, self.settings.fit_lr, self.settings.fit_weight_decay)
            self.optimizer.load_state_dict(state["optimizer"])

"""The contract every one-step dynamics model keeps.

A model is a ``torch.nn.Module`` with ``obs_dim``, ``act_dim`` and ``ensemble_size`` (E; 1 for a
single network). Planners and algorithms use only the methods below, so a student's model that
implements them is accepted everywhere.
"""

from __future__ import annotations

import inspect
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from torch import nn

from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import MODELS
from mbrl_zoo.types import Batch


class DynamicsModel(nn.Module):
    """One-step model of ``p(s' | s, a)``, possibly an ensemble of E members.

    Shapes: ``obs`` (B, O), ``act`` (B, A); ``member`` (B,) long in ``[0, E)`` picks, per row, the
    ensemble member that predicts it. Per-row members express PETS propagation (Chua et al. 2018):
    fixed per particle = TS-inf, redrawn every step = TS-1, ``member=None`` = draw uniformly among
    the elite members for each row.

    Learned reward/termination heads, when a model has them, are exposed as ``reward_fn`` /
    ``termination_fn`` methods with the same signature as a task's.
    """

    obs_dim: int
    act_dim: int
    ensemble_size: int = 1
    deterministic: bool = False
    """True when the predictive distribution is a point mass (``sample`` equals ``mean``)."""

    @property
    def elites(self) -> torch.Tensor:
        """(K,) long: the members worth propagating (the best on held-out data after a fit; all E
        by default). Planners spread particles over ``elites`` and pass them as ``member``."""
        return torch.arange(self.ensemble_size)

    @property
    def trainable(self) -> bool:
        """Whether fitting can change the model: False for a model with nothing to learn (the
        simulator oracle), whose fits are skipped."""
        return any(p.requires_grad for p in self.parameters())

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Training loss on ``batch`` (tensors (B, ...), or (E, B, ...) with one bootstrap batch per
        member): a scalar to minimise and a dict of floats to log."""
        raise NotImplementedError

    def predict(self, obs: torch.Tensor, act: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every member's predictive mean and variance of ``next_obs``: each (E, B, O)."""
        raise NotImplementedError

    def mean(self, obs: torch.Tensor, act: torch.Tensor, member: torch.Tensor | None = None) -> torch.Tensor:
        """Predicted mean next observation (B, O): row b from ``member[b]``, or the mean over the
        elite members when ``member`` is None."""
        raise NotImplementedError

    def sample(
        self,
        obs: torch.Tensor,
        act: torch.Tensor,
        member: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """A draw of the next observation (B, O): row b from member ``member[b]``'s distribution
        (uniform among elites when ``member`` is None), noise from ``generator``."""
        raise NotImplementedError


def matmuls_in(model: DynamicsModel, dtype: torch.dtype) -> AbstractContextManager:
    """A context in which ``model``'s network runs its matmuls in ``dtype`` (see
    :meth:`mbrl_zoo.models.layers.EnsembleMLP.matmuls_in`); a no-op for models without one (the
    oracle, a student's model) and for float32."""
    net = getattr(model, "net", None)
    if dtype == torch.float32 or not hasattr(net, "matmuls_in"):
        return nullcontext()
    return net.matmuls_in(dtype)


def check_prediction(model: DynamicsModel, name: str, out: torch.Tensor, rows: int,
                     members: int | None = None) -> torch.Tensor:
    """Raise a clear UserError when ``model.name`` returned a shape other than (rows, obs_dim),
    or (members, rows, obs_dim) when ``members`` is given (``predict``)."""
    expected = (rows, model.obs_dim) if members is None else (members, rows, model.obs_dim)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UserError(
            f"model {type(model).__name__}.{name} returned shape {got}; expected {expected} "
            f"({'members x ' if members is not None else ''}batch rows x obs_dim). "
            "See mbrl_zoo.models.base.DynamicsModel for the contract."
        )
    if not torch.isfinite(out).all():
        raise UserError(f"model {type(model).__name__}.{name} returned non-finite values (NaN or inf).")
    return out


def validate_model(model: DynamicsModel, rows: int = 4, generator: torch.Generator | None = None) -> None:
    """Run one tiny random batch through the contract (``predict``, ``mean``, ``sample`` with and
    without ``member``, ``loss``) and raise a UserError naming the first method that breaks it."""
    if not isinstance(model, DynamicsModel):
        raise UserError(f"model {type(model).__name__} must subclass mbrl_zoo.models.base.DynamicsModel "
                        "(the contract every planner and algorithm relies on).")
    for attribute in ("obs_dim", "act_dim", "ensemble_size"):
        if not isinstance(getattr(model, attribute, None), int):
            raise UserError(f"model {type(model).__name__} must have an int attribute {attribute!r}.")
    obs = torch.randn(rows, model.obs_dim, generator=generator)
    act = torch.rand(rows, model.act_dim, generator=generator) * 2 - 1
    elites = torch.as_tensor(model.elites, dtype=torch.long)
    member = elites[torch.arange(rows) % elites.numel()]
    with torch.no_grad():
        mean, var = model.predict(obs, act)
        check_prediction(model, "predict (mean)", mean, rows, model.ensemble_size)
        check_prediction(model, "predict (variance)", var, rows, model.ensemble_size)
        check_prediction(model, "mean", model.mean(obs, act), rows)
        check_prediction(model, "mean(member=...)", model.mean(obs, act, member), rows)
        check_prediction(model, "sample", model.sample(obs, act, generator=generator), rows)
        check_prediction(model, "sample(member=...)", model.sample(obs, act, member, generator), rows)
    if any(p.requires_grad for p in model.parameters()):
        batch = Batch(obs, act, obs + 0.1, torch.zeros(rows), torch.zeros(rows, dtype=torch.bool),
                      torch.zeros(rows, dtype=torch.bool))
        loss, info = model.loss(batch)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0 or not isinstance(info, dict):
            raise UserError(f"model {type(model).__name__}.loss must return (scalar tensor, dict of floats); "
                            f"got ({type(loss).__name__} of shape {getattr(loss, 'shape', None)}, {type(info).__name__}).")


def build_model(name: str, obs_dim: int, act_dim: int, task: Any = None, **settings: Any) -> DynamicsModel:
    """Build the registered model ``name`` for these dimensions; ``task`` goes to models that take
    one (angle dims, the simulator). Unknown names and settings raise UserError."""
    entry = MODELS.get(name)
    extra = {"task": task} if "task" in inspect.signature(entry.obj).parameters else {}
    return entry.obj(obs_dim=obs_dim, act_dim=act_dim, **extra, **settings)

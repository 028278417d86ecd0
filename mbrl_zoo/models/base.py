"""The contract every one-step dynamics model keeps.

A model is a ``torch.nn.Module`` with ``obs_dim``, ``act_dim`` and ``ensemble_size`` (E; 1 for a
single network). Planners and algorithms use only the methods below, so a student's model that
implements them is accepted everywhere.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from torch import nn

from mbrl_zoo.errors import UserError, located, source_file
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
                     members: int | None = None, label: str | None = None) -> torch.Tensor:
    """Raise a clear UserError when ``model.name`` returned a shape other than (rows, obs_dim),
    or (members, rows, obs_dim) when ``members`` is given (``predict``), or a non-finite value.
    ``label`` names the model in the message (default: its class)."""
    who = label or f"model {type(model).__name__}"
    expected = (rows, model.obs_dim) if members is None else (members, rows, model.obs_dim)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UserError(
            f"{who}: {name} returned shape {got}; expected {expected} "
            f"({'members x ' if members is not None else ''}batch rows x obs_dim). "
            "See mbrl_zoo.models.base.DynamicsModel for the contract."
        )
    if not torch.isfinite(out).all():
        raise UserError(f"{who}: {name} returned non-finite values (NaN or inf) on finite inputs.")
    return out


def validate_model(model: DynamicsModel, rows: int = 4, generator: torch.Generator | None = None,
                   name: str | None = None) -> None:
    """The model's first call: one tiny random batch through the contract (``predict``, ``mean``,
    ``sample`` with and without ``member``, ``loss``), checking every output's shape and
    finiteness, that variances are non-negative, that ``elites`` are distinct members and that
    ``loss`` returns a finite scalar and a dict. Any break, or any exception the model raises,
    is a UserError naming the model (``name``, its registered name, else its class), the method
    and, for an exception, the file and line."""
    label = f"model {name!r} ({type(model).__name__})" if name else f"model {type(model).__name__}"
    if not isinstance(model, DynamicsModel):
        raise UserError(f"{label} must subclass mbrl_zoo.models.base.DynamicsModel "
                        "(the contract every planner and algorithm relies on).")
    for attribute in ("obs_dim", "act_dim", "ensemble_size"):
        if not isinstance(getattr(model, attribute, None), int):
            raise UserError(f"{label} must have an int attribute {attribute!r}.")
    obs = torch.randn(rows, model.obs_dim, generator=generator)
    act = torch.rand(rows, model.act_dim, generator=generator) * 2 - 1
    elites = _call(label, "elites", model, lambda: torch.as_tensor(model.elites, dtype=torch.long))
    if elites.numel() == 0 or len(set(elites.tolist())) < elites.numel() \
            or not 0 <= int(elites.min()) <= int(elites.max()) < model.ensemble_size:
        raise UserError(f"{label}: elites {elites.tolist()} must be distinct member indices in "
                        f"[0, ensemble_size={model.ensemble_size}), at least one.")
    member = elites[torch.arange(rows) % elites.numel()]
    with torch.no_grad():
        mean, var = _call(label, "predict", model, lambda: model.predict(obs, act))
        check_prediction(model, "predict (mean)", mean, rows, model.ensemble_size, label)
        check_prediction(model, "predict (variance)", var, rows, model.ensemble_size, label)
        if bool((var < 0).any()):
            raise UserError(f"{label}: predict returned negative variances (min {float(var.min()):.3g}).")
        for method, call in (("mean", lambda: model.mean(obs, act)),
                             ("mean(member=...)", lambda: model.mean(obs, act, member)),
                             ("sample", lambda: model.sample(obs, act, generator=generator)),
                             ("sample(member=...)", lambda: model.sample(obs, act, member, generator))):
            check_prediction(model, method, _call(label, method, model, call), rows, label=label)
    if any(p.requires_grad for p in model.parameters()):
        batch = Batch(obs, act, obs + 0.1, torch.zeros(rows), torch.zeros(rows, dtype=torch.bool),
                      torch.zeros(rows, dtype=torch.bool))
        loss, info = _call(label, "loss", model, lambda: model.loss(batch))
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0 or not isinstance(info, dict):
            raise UserError(f"{label}: loss must return (scalar tensor, dict of floats); "
                            f"got ({type(loss).__name__} of shape {getattr(loss, 'shape', None)}, {type(info).__name__}).")
        if not bool(torch.isfinite(loss)):
            raise UserError(f"{label}: loss returned {float(loss.detach())} on a finite batch.")


def _call(label: str, method: str, model: DynamicsModel, call: Callable[[], Any]) -> Any:
    """``call()``, with an exception other than a UserError reported as the model's own fault."""
    try:
        return call()
    except UserError:
        raise
    except Exception as exc:  # a student's model may fail in any way; report where
        raise UserError(f"{label}: {method} raised {located(exc, source_file(type(model)))}") from None


def build_model(name: str, obs_dim: int, act_dim: int, task: Any = None, **settings: Any) -> DynamicsModel:
    """Build the registered model ``name`` for these dimensions; ``task`` goes to models that take
    one (angle dims, the simulator). Unknown names and settings raise UserError."""
    entry = MODELS.get(name)
    extra = {"task": task} if "task" in inspect.signature(entry.obj).parameters else {}
    return entry.build(obs_dim=obs_dim, act_dim=act_dim, **extra, **settings)

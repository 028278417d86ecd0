"""The contract every one-step dynamics model keeps.

A model is a ``torch.nn.Module`` with ``obs_dim``, ``act_dim`` and ``ensemble_size`` (E; 1 for a
single network). Planners and algorithms use only the methods below, so a student's model that
implements them is accepted everywhere.
"""

from __future__ import annotations

import torch
from torch import nn

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


def check_prediction(model: DynamicsModel, name: str, out: torch.Tensor, rows: int) -> torch.Tensor:
    """Raise a clear UserError when ``model.name`` returned a shape other than (rows, obs_dim)."""
    from mbrl_zoo.errors import UserError

    expected = (rows, model.obs_dim)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UserError(
            f"model {type(model).__name__}.{name} returned shape {got}; expected {expected} "
            "(batch rows x obs_dim). See mbrl_zoo.models.base.DynamicsModel for the contract."
        )
    return out

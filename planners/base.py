"""The contract every trajectory optimiser keeps.

A planner searches over action sequences (H, A) within box bounds to MAXIMISE an objective.
It is stateless between calls: warm starting is the MPC controller's job (``planners.mpc``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

Objective = Callable[[torch.Tensor], torch.Tensor]
"""``objective(actions (N, H, A)) -> (N,)`` returns to maximise; NaN/inf rank last."""
Callback = Callable[[int, dict[str, Any]], None]
"""``callback(iteration, stats)`` receives per-iteration statistics (best, mean of elites, ...)."""


class Planner:
    """Base class: holds bounds and horizon; subclasses implement :meth:`plan`.

    Constructor: ``Planner(action_low (A,), action_high (A,), horizon, **settings)``.
    """

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor, horizon: int):
        self.action_low = torch.as_tensor(action_low, dtype=torch.float32)
        self.action_high = torch.as_tensor(action_high, dtype=torch.float32)
        self.horizon = int(horizon)

    def plan(
        self,
        objective: Objective,
        init_mean: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        callback: Callback | None = None,
    ) -> torch.Tensor:
        """Return the best action sequence found, shape (H, A), within bounds."""
        raise NotImplementedError


def finite_or_worst(returns: torch.Tensor) -> torch.Tensor:
    """Replace NaN and +-inf returns (N,) by -inf so that they rank last, never first."""
    return torch.where(torch.isfinite(returns), returns, torch.full_like(returns, -torch.inf))

"""The contract every trajectory optimiser keeps.

A planner searches over action sequences (H, A) within box bounds to MAXIMISE an objective.
It is stateless between calls: warm starting is the MPC controller's job (``planners.mpc``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import PLANNERS

POPULATION_CAP_NOTE = "a cap that keeps one iteration's candidates in memory"
"""Why every planner's ``population_size`` range ends at 10**7 (its message's note)."""
ITERATIONS_CAP_NOTE = "a cap: more would take hours per plan"
"""Why every planner's ``iterations`` range ends at 10**5 (its message's note)."""
STD_CAP_NOTE = "in half-widths of the action box; past a few, every sample is clipped to the box's edges"
"""Why the sampling stds' ranges end at 1000 (their messages' note): far larger ones overflow float32."""

Objective = Callable[[torch.Tensor], torch.Tensor]
"""``objective(actions (N, H, A)) -> (N,)`` returns to maximise; NaN/inf rank last."""
Callback = Callable[[int, dict[str, Any]], None]
"""``callback(iteration, stats)`` receives per-iteration statistics (best, mean of elites, ...)."""


class Planner:
    """Base class: holds bounds and horizon; subclasses implement :meth:`plan`.

    Constructor: ``Planner(action_low (A,), action_high (A,), horizon, **settings)``. A planner
    declares its settings as a frozen ``Config`` dataclass on the class, with documented fields and
    declared ranges (:func:`mbrl_zoo.settings.setting`), and builds it in its constructor with
    ``build_dataclass(self.Config, settings, "planner")`` (see :class:`planners.cem.CEM`); a
    plug-in without one gets its constructor's keyword arguments as settings
    (:mod:`mbrl_zoo.registry`). Whoever executes a plan passes it through :func:`checked_plan`.
    ``needs_gradients``: whether :meth:`plan` differentiates the objective, so that the rollout
    behind it must keep its graph (and the model and reward be differentiable). Planners of this
    kind search continuous actions (``action_space``), so the registry refuses them on discrete
    tasks; discrete search is :class:`planners.mcts.MCTS`.
    """

    needs_gradients: bool = False
    action_space: ClassVar[str] = "continuous"

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor, horizon: int):
        self.action_low = torch.as_tensor(action_low, dtype=torch.float32)
        self.action_high = torch.as_tensor(action_high, dtype=torch.float32)
        self.horizon = int(horizon)
        if self.action_low.ndim != 1 or self.action_low.shape != self.action_high.shape:
            raise UserError(
                f"action bounds must both have shape (A,); got low {tuple(self.action_low.shape)} "
                f"and high {tuple(self.action_high.shape)}."
            )
        if not bool((self.action_low < self.action_high).all()):
            raise UserError(
                f"every action_low must be below action_high; got low {self.action_low.tolist()} "
                f"and high {self.action_high.tolist()}."
            )
        if self.horizon < 1:
            raise UserError(f"horizon must be a positive integer, got {horizon!r}.")

    @property
    def midpoint(self) -> torch.Tensor:
        """Centre of the action box (A,)."""
        return (self.action_low + self.action_high) / 2

    @property
    def half_range(self) -> torch.Tensor:
        """Half the width of the action box (A,); standard deviations are given in these units."""
        return (self.action_high - self.action_low) / 2

    def to(self, device: torch.device | str) -> "Planner":
        """Move the bounds (and so every sample the planner draws) to ``device``; returns self."""
        self.action_low = self.action_low.to(device)
        self.action_high = self.action_high.to(device)
        return self

    def initial_mean(self, init_mean: torch.Tensor | None) -> torch.Tensor:
        """The sequence (H, A) a search starts from: ``init_mean`` clipped to the bounds, or the
        box midpoint at every step when it is None."""
        if init_mean is None:
            return self.midpoint.expand(self.horizon, -1).clone()
        init = torch.as_tensor(init_mean, dtype=self.action_low.dtype, device=self.action_low.device)
        expected = (self.horizon, self.action_low.shape[0])
        if tuple(init.shape) != expected:
            raise UserError(f"init_mean has shape {tuple(init.shape)}; expected (horizon, act_dim) = {expected}.")
        return torch.maximum(torch.minimum(init, self.action_high), self.action_low)

    def clip(self, actions: torch.Tensor) -> torch.Tensor:
        """``actions`` (..., A) clipped into the bounds, in place."""
        return torch.clamp_(actions, self.action_low, self.action_high)

    def plan(
        self,
        objective: Objective,
        init_mean: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        callback: Callback | None = None,
    ) -> torch.Tensor:
        """Return the best action sequence found, shape (H, A), within bounds."""
        raise NotImplementedError


PLAN_TOLERANCE = 1e-5
"""How far outside the action box, relative to its width, a plan may lie from rounding (a
weighted mean of candidates inside the box can land an ulp outside); further is the planner's fault."""


def checked_plan(planner: Planner, plan: Any, name: str | None = None) -> torch.Tensor:
    """``plan``, the output of ``planner.plan``, once it is known to keep the contract: a floating
    tensor of shape (H, A) = (``planner.horizon``, act_dim), finite, inside the action box. A
    rounding excess up to :data:`PLAN_TOLERANCE` of the box width is clipped away; anything else
    raises a :class:`UserError` that names the planner (``name``, else its registered name) as
    the one at fault and says what it returned."""
    who = _planner_label(planner, name)
    expected = (planner.horizon, planner.action_low.shape[0])
    if not isinstance(plan, torch.Tensor) or not plan.is_floating_point():
        got = f"a {plan.dtype} tensor" if isinstance(plan, torch.Tensor) else f"a {type(plan).__name__}"
        raise UserError(f"{who} returned {got} from plan(); expected a floating tensor of shape (horizon, act_dim) "
                        f"= {expected}. See planners.base.Planner for the contract.")
    if tuple(plan.shape) != expected:
        raise UserError(f"{who} returned a plan of shape {tuple(plan.shape)}; expected (horizon, act_dim) = "
                        f"{expected}. See planners.base.Planner for the contract.")
    finite = torch.isfinite(plan)
    if not bool(finite.all()):
        step, dim = (~finite).nonzero()[0].tolist()
        raise UserError(f"{who} returned a plan with non-finite values: step {step}, action dim {dim} is "
                        f"{float(plan[step, dim])}.")
    low, high = planner.action_low.to(plan), planner.action_high.to(plan)
    slack = PLAN_TOLERANCE * (high - low)
    outside = (plan < low - slack) | (plan > high + slack)
    if bool(outside.any()):
        step, dim = outside.nonzero()[0].tolist()
        raise UserError(f"{who} returned a plan outside the action bounds: step {step}, action dim {dim} is "
                        f"{float(plan[step, dim]):.6g}, outside [{float(low[dim]):.6g}, {float(high[dim]):.6g}].")
    return torch.maximum(torch.minimum(plan, high), low)


def _planner_label(planner: Planner, name: str | None) -> str:
    """``planner 'cem' (CEM)``: the given or registered name and the class."""
    cls = type(planner)
    if name is None:
        name = next((entry.name for entry in PLANNERS if entry.obj is cls), None)
    return f"planner {name!r} ({cls.__qualname__})" if name else f"planner {cls.__qualname__}"


def finite_or_worst(returns: torch.Tensor) -> torch.Tensor:
    """Replace NaN and +-inf returns (N,) by -inf so that they rank last, never first."""
    return torch.where(torch.isfinite(returns), returns, torch.full_like(returns, -torch.inf))


class BestSoFar:
    """The best finite-return candidate seen across the iterations of one search.

    ``actions`` is (H, A) or None while no candidate had a finite return; ``value`` is its return;
    ``all_finite`` says whether every candidate's return so far was finite.
    """

    def __init__(self) -> None:
        self.actions: torch.Tensor | None = None
        self.value = -float("inf")
        self.all_finite = True

    def update(self, candidates: torch.Tensor, returns: torch.Tensor) -> None:
        """Consider ``candidates`` (N, H, A) with ``returns`` (N,) already passed through
        :func:`finite_or_worst`."""
        self.all_finite = self.all_finite and bool(torch.isfinite(returns).all())
        value, index = returns.max(0)
        value = float(value)
        if value > self.value:
            self.value = value
            self.actions = candidates[index].detach().clone()


def iteration_stats(returns: torch.Tensor, elite_returns: torch.Tensor, best: BestSoFar, **extra: float) -> dict:
    """Per-iteration statistics for a :data:`Callback`: ``best`` (best so far), ``iteration_best``,
    ``elite_mean`` and ``mean`` (over finite returns), ``nonfinite`` (count) and ``population``,
    plus ``extra``. ``returns`` (N,) and ``elite_returns`` (K,) come from :func:`finite_or_worst`."""
    finite = torch.isfinite(returns)
    finite_elites = elite_returns[torch.isfinite(elite_returns)]
    return {
        "best": best.value,
        "iteration_best": float(returns.max()),
        "elite_mean": float(finite_elites.mean()) if finite_elites.numel() else -float("inf"),
        "mean": float(returns[finite].mean()) if bool(finite.any()) else -float("inf"),
        "nonfinite": int((~finite).sum()),
        "population": int(returns.shape[0]),
        **extra,
    }


def mean_or_best(objective: Objective, mean: torch.Tensor, best: BestSoFar) -> torch.Tensor:
    """Return the distribution mean (H, A) that a CEM/MPPI search ends on, unless its return is
    not finite: then the best finite candidate seen (the mean itself was never evaluated, and may
    lie in a NaN region surrounded by good candidates). The mean is scored (one more objective call,
    whose fixed per-call cost makes it dear) only when some candidate's return was not finite: a
    model that gave every candidate a finite return is not expected to fail on their weighted
    mean."""
    if best.actions is None or best.all_finite or bool(torch.isfinite(objective(mean.unsqueeze(0))).all()):
        return mean
    return best.actions

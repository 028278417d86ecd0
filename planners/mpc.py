"""Model predictive control around a stateless planner: replanning, warm start, episode reset.

Closed loop (the default) replans every ``replan_every`` steps, starting the search from the
previous plan shifted by the steps executed since, its tail padded with the middle of the action
box. Open loop plans once at the start of an episode and executes the plan, planning afresh only
when it runs out.
"""

from __future__ import annotations

import torch

from mbrl_zoo.errors import UserError
from planners.base import Callback, Objective, Planner


class MPC:
    """Receding-horizon controller: ``act(objective)`` returns the action (A,) to execute now.

    ``objective`` scores action sequences from the current observation (build it each step with
    ``mbrl_zoo.rollout.make_objective``); it is used only on the steps where the controller plans.
    Call :meth:`reset` at every episode start.
    """

    def __init__(self, planner: Planner, replan_every: int = 1, open_loop: bool = False):
        if not 1 <= replan_every <= planner.horizon:
            raise UserError(f"replan_every must be between 1 and the horizon {planner.horizon}; got {replan_every}.")
        self.planner = planner
        self.replan_every = int(replan_every)
        self.open_loop = bool(open_loop)
        self.plan: torch.Tensor | None = None
        """The current plan (H, A), or None before the first step of an episode."""
        self.steps_since_plan = 0

    def reset(self) -> None:
        """Forget the plan: the next :meth:`act` plans from scratch (call at episode start)."""
        self.plan = None
        self.steps_since_plan = 0

    def shifted_plan(self) -> torch.Tensor | None:
        """The warm start (H, A): the current plan without its executed first steps, padded at the
        end with the box midpoint; None before the first plan of an episode."""
        if self.plan is None:
            return None
        done = self.steps_since_plan
        pad = self.planner.midpoint.to(self.plan.device).expand(done, -1)
        return torch.cat([self.plan[done:], pad])

    def needs_plan(self) -> bool:
        """Whether the next :meth:`act` calls the planner."""
        if self.plan is None or self.steps_since_plan >= self.planner.horizon:
            return True
        return not self.open_loop and self.steps_since_plan >= self.replan_every

    def act(
        self,
        objective: Objective,
        generator: torch.Generator | None = None,
        callback: Callback | None = None,
    ) -> torch.Tensor:
        """The action (A,) to execute now; plans (warm-started) first when due."""
        if self.needs_plan():
            self.plan = self.planner.plan(objective, self.shifted_plan(), generator, callback)
            self.steps_since_plan = 0
        action = self.plan[self.steps_since_plan].clone()
        self.steps_since_plan += 1
        return action

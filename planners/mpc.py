"""Model predictive control around a stateless planner: replanning, warm start, episode reset,
and the one acting path of every algorithm that plans (:class:`MPCPolicy`).

Closed loop (the default) replans every ``replan_every`` steps, starting the search from the
previous plan shifted by the steps executed since, its tail padded with the middle of the action
box. Open loop plans once at the start of an episode and executes the plan, planning afresh only
when it runs out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.models.base import matmuls_in
from mbrl_zoo.models.environment import EnvironmentModel
from mbrl_zoo.rollout import ValueFn, make_objective
from mbrl_zoo.settings import SettingError, setting
from planners.base import Callback, Objective, Planner, checked_plan


@dataclass(frozen=True)
class MPCSettings:
    """How an algorithm acts by planning (defaults: mbrl-lib's PETS cart-pole settings).

    ``horizon``: planning horizon H. ``particles``: model rollouts per candidate (P).
    ``propagation``: ``tsinf`` (member fixed per particle), ``ts1`` (member redrawn each step),
    ``sample`` (random member and noise each step), ``expectation`` (ensemble mean, no noise),
    ``ds`` (distribution sampling) and ``mm`` (moment matching): :mod:`mbrl_zoo.rollout`.
    ``replan_every``: execute this many planned actions before replanning (1 <= it <= H).
    ``open_loop``: plan once per horizon and execute the whole plan (no replanning).
    ``discount``: per-step discount of the planned return (PETS: 1).
    ``matmul_dtype``: precision of the learned network's matmuls while planning (training stays
    float32). ``bfloat16`` runs them on CPUs' bf16 matrix units (AMX, AVX512-BF16) for a faster
    planning call (``benchmarks/plan_speed.py --matmul-dtype bfloat16``); inputs, states and
    returns stay float32. On CPUs without such units bf16 is slower: keep float32 there.
    """

    horizon: int = setting(15, "[1, 10000]")
    particles: int = setting(20, "[1, 100000]")
    propagation: Literal["tsinf", "ts1", "sample", "expectation", "ds", "mm"] = "tsinf"
    replan_every: int = setting(1, ">= 1")
    open_loop: bool = False
    discount: float = setting(1.0, "(0, 1]")
    matmul_dtype: Literal["float32", "bfloat16"] = "float32"

    def __post_init__(self):
        if self.replan_every > self.horizon:
            raise SettingError({"replan_every": self.replan_every, "horizon": self.horizon},
                               "replan_every must not exceed the horizon: a plan holds only that many actions")


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
            self.plan = checked_plan(self.planner, self.planner.plan(objective, self.shifted_plan(), generator, callback))
            self.steps_since_plan = 0
        action = self.plan[self.steps_since_plan].clone()
        self.steps_since_plan += 1
        return action

    def state_dict(self) -> dict:
        return {"plan": self.plan, "steps_since_plan": self.steps_since_plan}

    def load_state_dict(self, state: dict) -> None:
        self.plan, self.steps_since_plan = state["plan"], state["steps_since_plan"]


class MPCPolicy:
    """Act by planning through a model: ``policy(obs (O,)) -> action (A,)``, both numpy.

    Each call scores candidate action sequences from ``obs`` by :func:`mbrl_zoo.rollout.make_objective`
    (``settings.particles`` rollouts per candidate through ``model.dynamics`` under
    ``settings.propagation``, rewards and terminations from ``model``, plus
    ``discount^H value_fn(s_H)`` when ``value_fn`` is set) and lets the :class:`MPC` controller plan
    (warm-started) when due. The planner's own ``needs_gradients`` decides whether the rollout keeps
    its graph. The network's matmuls run in ``settings.matmul_dtype`` while planning. Randomness (particles' members, model noise, the planner's samples) comes from
    ``generator``. Call :meth:`reset` at every episode start. ``plan_s`` and ``calls`` count the
    time spent and actions returned since the last reset.
    """

    def __init__(self, planner: Planner, model: EnvironmentModel, settings: MPCSettings,
                 generator: torch.Generator, value_fn: ValueFn | None = None):
        self.controller = MPC(planner, settings.replan_every, settings.open_loop)
        self.model, self.settings, self.generator, self.value_fn = model, settings, generator, value_fn
        self.plan_s, self.calls = 0.0, 0

    def reset(self) -> None:
        """Start a new episode: forget the plan and the timing counters."""
        self.controller.reset()
        self.plan_s, self.calls = 0.0, 0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        dynamics = self.model.dynamics
        s = self.settings
        objective = make_objective(dynamics, obs, self.model.reward_fn, self.model.termination_fn,
                                   particles=s.particles, propagation=s.propagation, generator=self.generator,
                                   value_fn=self.value_fn, discount=s.discount,
                                   differentiable=self.controller.planner.needs_gradients)
        with matmuls_in(dynamics, getattr(torch, s.matmul_dtype)):
            action = self.controller.act(objective, self.generator)
        self.plan_s += time.perf_counter() - start
        self.calls += 1
        return action.cpu().numpy()

    @property
    def ms_per_call(self) -> float:
        """Mean milliseconds per action since the last :meth:`reset`."""
        return 1000 * self.plan_s / max(self.calls, 1)

    def state_dict(self) -> dict:
        return self.controller.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.controller.load_state_dict(state)

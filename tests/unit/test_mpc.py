"""The MPC controller: warm start shifts the previous plan and pads with the box midpoint,
replanning frequency, open loop, reset at episode start, and a closed loop that tracks a target."""

import pytest
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import PLANNERS
from planners import CEM, MPC, Planner

H = 4
LOW, HIGH = torch.tensor([-1.0, 0.0]), torch.tensor([1.0, 4.0])  # midpoint (0, 2)
SCRIPTED_LOW, SCRIPTED_HIGH = torch.tensor([-1000.0, -996.0]), torch.tensor([1000.0, 1000.0])  # midpoint (0, 2)


class ScriptedPlanner(Planner):
    """Returns plan k as ``100 * k + [[t, -t] for t in range(H)]`` and records each init_mean."""

    def __init__(self):
        super().__init__(SCRIPTED_LOW, SCRIPTED_HIGH, H)
        self.inits = []

    def plan(self, objective, init_mean=None, generator=None, callback=None):
        self.inits.append(None if init_mean is None else init_mean.clone())
        steps = torch.arange(H, dtype=torch.float32)
        return 100 * len(self.inits) + torch.stack([steps, -steps], 1)


def plan_number(k):
    steps = torch.arange(H, dtype=torch.float32)
    return 100 * k + torch.stack([steps, -steps], 1)


def unused_objective(actions):
    raise AssertionError("the scripted planner never evaluates")


def test_closed_loop_replans_every_step_from_the_shifted_plan():
    planner = ScriptedPlanner()
    mpc = MPC(planner)
    first = mpc.act(unused_objective)
    second = mpc.act(unused_objective)
    assert torch.equal(first, plan_number(1)[0]) and torch.equal(second, plan_number(2)[0])
    assert planner.inits[0] is None
    expected = torch.cat([plan_number(1)[1:], torch.tensor([[0.0, 2.0]])])
    assert torch.equal(planner.inits[1], expected)


def test_replan_every_k_executes_k_steps_then_shifts_by_k():
    planner = ScriptedPlanner()
    mpc = MPC(planner, replan_every=3)
    actions = [mpc.act(unused_objective) for _ in range(4)]
    assert [a.tolist() for a in actions[:3]] == plan_number(1)[:3].tolist()
    assert torch.equal(actions[3], plan_number(2)[0])
    assert len(planner.inits) == 2
    expected = torch.cat([plan_number(1)[3:], torch.tensor([[0.0, 2.0]] * 3)])
    assert torch.equal(planner.inits[1], expected)


def test_open_loop_plans_once_per_episode_and_reset_starts_afresh():
    planner = ScriptedPlanner()
    mpc = MPC(planner, open_loop=True)
    actions = [mpc.act(unused_objective) for _ in range(H)]
    assert len(planner.inits) == 1 and torch.stack(actions).tolist() == plan_number(1).tolist()
    mpc.act(unused_objective)  # the plan ran out: plan again (nothing of the old plan is left)
    assert torch.equal(planner.inits[1], torch.tensor([[0.0, 2.0]] * H))
    mpc.reset()
    assert mpc.plan is None and mpc.needs_plan()
    mpc.act(unused_objective)
    assert planner.inits[2] is None


def test_replan_every_must_fit_in_the_horizon():
    with pytest.raises(UserError, match="replan_every must be between 1 and the horizon 4; got 5"):
        MPC(ScriptedPlanner(), replan_every=5)


def test_closed_loop_cem_steers_a_point_to_a_target():
    """x' = x + a on a line; reward -(x' - 2)^2 per step; MPC with CEM drives x from 0 to 2."""
    target = 2.0
    planner = CEM(torch.tensor([-1.0]), torch.tensor([1.0]), horizon=5, population_size=100, iterations=3)
    mpc = MPC(planner)
    gen = torch.Generator().manual_seed(0)
    x = 0.0
    for _ in range(6):
        def objective(actions, x0=x):
            path = x0 + actions[..., 0].cumsum(1)
            return -(path - target).square().sum(1)

        x += float(mpc.act(objective, gen))
    assert abs(x - target) < 0.1


@pytest.mark.parametrize("name", ["random-shooting", "cem", "mppi", "icem", "gradient"])
def test_every_registered_planner_runs_under_mpc_within_bounds(name):
    planner = PLANNERS.get(name).obj(action_low=LOW, action_high=HIGH, horizon=H)
    mpc = MPC(planner, replan_every=2)
    gen = torch.Generator().manual_seed(0)
    target = torch.tensor([0.5, 3.0])
    actions = torch.stack([mpc.act(lambda a: -(a - target).square().sum((1, 2)), gen) for _ in range(3)])
    assert actions.shape == (3, 2) and bool((actions >= LOW).all() and (actions <= HIGH).all())

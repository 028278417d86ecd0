"""Hidden checks of assignment 2: run by the grader only, not copied into the student pack."""

import torch

from mbrl_zoo.app.grade import check, expect, expect_close, expect_tensor, need
from planners.base import Planner


def _rosenbrock_objective(actions, curvature=5.0):
    """Minus Rosenbrock's function ``(1 - x)^2 + b (y - x^2)^2`` of each candidate's single
    action (x, y): maximum 0 at (1, 1). With the usual b = 100 the curved valley is so narrow
    that a diagonal Gaussian collapses across it before it reaches the optimum (the zoo's own
    CEM stalls 0.5-0.8 away); b = 5 keeps the curved valley and lets a correct CEM finish."""
    x, y = actions[:, 0, 0], actions[:, 0, 1]
    return -((1 - x).square() + curvature * (y - x.square()).square())


@check(points=2, timeout_s=30)
def check_cem_rosenbrock(submission):
    """CEM finds the maximum of minus Rosenbrock's function (b = 5) at (1, 1) within 0.05."""
    box = torch.tensor([-2.0, -2.0]), torch.tensor([2.0, 2.0])
    planner = need(submission, "CEM")(*box, 1, population_size=500, iterations=40, momentum=0.5, initial_std=1.0)
    plan = expect_tensor(planner.plan(_rosenbrock_objective, None, torch.Generator().manual_seed(4)), (1, 2),
                         "CEM.plan")
    error = (plan[0] - torch.tensor([1.0, 1.0])).abs().max().item()
    expect(error < 0.05, f"CEM ended at {plan[0].tolist()}, {error:.2f} from Rosenbrock's optimum (1, 1) "
                         "(allowed 0.05).")


@check(points=2, timeout_s=30)
def check_cem_narrows(submission):
    """CEM narrows its sampling distribution: the candidates' spread in the last round is under a
    tenth of the first round's."""
    spreads = []

    def objective(actions):
        spreads.append(actions.std(dim=0).mean().item())
        return -(actions - 0.2).square().sum(dim=(1, 2))

    low, high = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0])
    need(submission, "CEM")(low, high, 5, population_size=100, iterations=8).plan(
        objective, None, torch.Generator().manual_seed(5))
    expect(len(spreads) >= 2, f"CEM with iterations=8 called the objective {len(spreads)} time(s).")
    expect(spreads[-1] < 0.1 * spreads[0],
           f"the candidates' spread went from {spreads[0]:.3f} to {spreads[-1]:.3f} over {len(spreads)} rounds; "
           "refit the standard deviation to the elites' so that the search narrows.")


@check(points=2, timeout_s=60, seeds=5)
def check_cem_beats_random_shooting(submission, seeds):
    """At equal samples (500), CEM's plan beats the zoo's random shooting on a 20-dimensional
    objective, for every one of 5 seeds."""
    from planners.random_shooting import RandomShooting

    low, high = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0])
    wins = []
    for seed in range(seeds):
        target = torch.rand(10, 2, generator=torch.Generator().manual_seed(100 + seed)) * 1.6 - 0.8

        def objective(actions):
            return -(actions - target).square().sum(dim=(1, 2))

        cem = need(submission, "CEM")(low, high, 10, population_size=100, iterations=5).plan(
            objective, None, torch.Generator().manual_seed(seed))
        shooting = RandomShooting(low, high, 10, population_size=500).plan(
            objective, None, torch.Generator().manual_seed(seed))
        expect_tensor(cem, (10, 2), "CEM.plan")
        wins.append(float(objective(cem[None])) > float(objective(shooting[None])))
    expect(all(wins), f"CEM (100 x 5) beat random shooting (500) in {sum(wins)} of {seeds} seeds; it should win all.")


@check(points=1, timeout_s=30)
def check_nan_returns_rank_last(submission):
    """Both planners rank NaN and inf returns last: the plan is never a candidate whose return is NaN."""
    low, high = torch.tensor([-1.0]), torch.tensor([1.0])

    def objective(actions):
        value = -(actions - 0.5).square().sum(dim=(1, 2))
        value[actions[:, 0, 0] > 0.0] = float("nan")
        value[actions[:, 0, 0] < -0.9] = float("inf")
        return value

    for name, settings in (("RandomShooting", {"population_size": 200}),
                           ("CEM", {"population_size": 50, "iterations": 4})):
        plan = need(submission, name)(low, high, 2, **settings).plan(objective, None, torch.Generator().manual_seed(6))
        expect_tensor(plan, (2, 1), f"{name}.plan")
        first = plan[0, 0].item()
        expect(-0.9 <= first <= 0.0, f"{name} returned a plan whose return is NaN or inf (first action {first:.3f}); "
                                     "such candidates must rank last, never first (torch.argmax/topk rank NaN first).")


class _ScriptedPlanner(Planner):
    """Returns a new, known plan at every call and records the warm start it was given."""

    def __init__(self, low, high, horizon):
        super().__init__(low, high, horizon)
        self.starts, self.plans = [], []

    def plan(self, objective, init_mean=None, generator=None, callback=None):
        self.starts.append(None if init_mean is None else init_mean.detach().clone())
        returns = objective(torch.zeros(3, self.horizon, self.action_low.shape[0]))
        expect_tensor(returns, (3,), "the objective built by mpc_episode (from make_objective)")
        step = len(self.plans)
        plan = torch.linspace(-0.9, 0.9, self.horizon)[:, None].roll(step, 0) * 3 * (-1) ** step
        self.plans.append(plan)
        return plan.clone()


@check(points=2, timeout_s=60, steps=4)
def check_mpc_warm_start(submission, steps):
    """mpc_episode executes each new plan's first action and warm-starts every search after the
    first with the previous plan shifted by one step, padded with the box's middle."""
    import gymnasium as gym

    from mbrl_zoo.models import build_model
    from mbrl_zoo.tasks import get_task

    spec = get_task("cartpole-swingup")
    low, high = spec.action_bounds()
    executed = []

    class Spy(gym.Wrapper):
        def step(self, action):
            executed.append(torch.as_tensor(action, dtype=torch.float32).reshape(-1).clone())
            return self.env.step(action)

    env = Spy(spec.make_env())
    model = build_model("oracle", 4, 1, task=spec)
    planner = _ScriptedPlanner(low, high, 6)
    need(submission, "mpc_episode")(env, model, planner, spec.reward_fn, spec.termination_fn, seed=0,
                                    max_steps=steps)
    expect(len(planner.plans) == steps, f"mpc_episode with max_steps={steps} planned {len(planner.plans)} times; "
                                        "plan once per step.")
    expect(len(executed) == steps, f"mpc_episode with max_steps={steps} took {len(executed)} env steps.")
    expect(planner.starts[0] is None, "the first search of an episode has no previous plan: pass init_mean=None.")
    for k in range(1, steps):
        expect(planner.starts[k] is not None, f"search {k + 1} got no warm start (init_mean=None).")
        expected = torch.cat([planner.plans[k - 1][1:], planner.midpoint[None]])
        expect_close(planner.starts[k], expected, f"the warm start of search {k + 1} (previous plan shifted by "
                                                  "one step, padded with planner.midpoint)")
    for k in range(steps):
        expect_close(executed[k], planner.plans[k][0], f"the action executed at step {k + 1} (the first of its plan)")

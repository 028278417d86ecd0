"""Public checks of assignment 2 (planning): run them on your file with

    python public_checks.py            # every public check on planning.py
    python public_checks.py --quick    # without the end-to-end MPC episode (a minute or two)

Each check runs in its own process with a time limit; the table shows each one's points and,
on a failure, why. The grader runs these and a few hidden checks.
"""

import torch

from mbrl_zoo.app.grade import CheckFailed, check, expect, expect_close, expect_tensor, need

LOW, HIGH = torch.tensor([-1.0, -2.0]), torch.tensor([1.0, 0.5])


class Recorder:
    """An objective ``-|actions - target|^2`` (summed over steps and dims) that keeps every
    batch of candidates it scores and their returns."""

    def __init__(self, target):
        self.target, self.calls = target, []

    def __call__(self, actions):
        expect_tensor(actions, (actions.shape[0], *self.target.shape), "the candidates passed to the objective")
        returns = -(actions - self.target).square().sum(dim=(1, 2))
        self.calls.append((actions.detach().clone(), returns.clone()))
        return returns

    def value(self, plan):
        return float(-(plan - self.target).square().sum())


def _contract(planner_cls, name, **settings):
    planner = planner_cls(LOW, HIGH, 4, **settings)
    objective = Recorder(torch.tensor([[0.5, -1.0]] * 4))
    plan = planner.plan(objective, None, torch.Generator().manual_seed(0))
    expect_tensor(plan, (4, 2), f"{name}.plan", dtype=torch.float32)
    expect(bool((plan >= LOW - 1e-6).all() and (plan <= HIGH + 1e-6).all()),
           f"{name}.plan returned actions outside the bounds low={LOW.tolist()}, high={HIGH.tolist()}.")
    expect(bool(objective.calls), f"{name}.plan never called the objective.")
    for candidates, _ in objective.calls:
        expect(bool((candidates >= LOW - 1e-6).all() and (candidates <= HIGH + 1e-6).all()),
               f"{name} passed candidates outside the action bounds to the objective; keep them in the box.")
    again = planner.plan(Recorder(objective.target), None, torch.Generator().manual_seed(0))
    expect(torch.equal(plan, again), f"{name}.plan must take all its randomness from `generator` "
                                     "(the same seed gave different plans).")
    start = torch.tensor([[0.5, -1.0]] * 4)
    return expect_tensor(planner.plan(Recorder(objective.target), start, torch.Generator().manual_seed(1)), (4, 2),
                         f"{name}.plan with init_mean"), objective.value(start)


@check(points=1, timeout_s=20)
def check_random_shooting_contract(submission):
    """RandomShooting.plan returns (H, A) float32 in the bounds, calls the objective with
    in-bounds (N, H, A) candidates and takes its randomness from the generator."""
    warm, best = _contract(need(submission, "RandomShooting"), "RandomShooting", population_size=200)
    expect(abs(Recorder(torch.tensor([[0.5, -1.0]] * 4)).value(warm) - best) < 1e-6,
           "RandomShooting.plan given init_mean at the optimum did not return it: the warm start joins the "
           "candidates.")


@check(points=1, timeout_s=20)
def check_cem_contract(submission):
    """CEM.plan returns (H, A) float32 in the bounds, calls the objective with in-bounds
    (N, H, A) candidates and takes its randomness from the generator."""
    _contract(need(submission, "CEM"), "CEM", population_size=50, iterations=3)


@check(points=2, timeout_s=30)
def check_random_shooting_quadratic(submission):
    """RandomShooting returns the candidate with the highest objective it saw, near a quadratic's maximum."""
    target = torch.tensor([[0.3, -0.5], [-0.6, 0.2], [0.8, -1.5]])
    objective = Recorder(target)
    plan = need(submission, "RandomShooting")(LOW, HIGH, 3, population_size=4000).plan(
        objective, None, torch.Generator().manual_seed(2))
    expect_tensor(plan, (3, 2), "RandomShooting.plan")
    best = max(float(returns.max()) for _, returns in objective.calls)
    expect(abs(objective.value(plan) - best) < 1e-5,
           f"RandomShooting returned a plan worth {objective.value(plan):.4f}, but it evaluated one worth {best:.4f}: "
           "return the candidate with the HIGHEST objective (planners maximise).")
    expect(objective.value(plan) > -0.6, f"the best of 4000 uniform draws should come within reach of the maximum 0; "
                                         f"got {objective.value(plan):.3f}.")


@check(points=2, timeout_s=30)
def check_cem_quadratic(submission):
    """CEM's plan converges to a quadratic's maximiser (each action within 0.02)."""
    target = torch.tensor([[0.3, -0.5], [-0.6, 0.2], [0.8, -1.5]])
    plan = need(submission, "CEM")(LOW, HIGH, 3, population_size=100, iterations=10).plan(
        Recorder(target), None, torch.Generator().manual_seed(3))
    expect_tensor(plan, (3, 2), "CEM.plan")
    error = (plan - target).abs().max().item()
    expect(error < 0.02, f"CEM's plan is {error:.3f} from the maximiser of -|a - target|^2 after 10 rounds of 100 "
                         "(allowed 0.02): does it keep the highest-return candidates and move towards them?")


@check(points=2, timeout_s=20)
def check_shift_plan(submission):
    """shift_plan drops the executed steps and pads the end with the fill action."""
    fn = need(submission, "shift_plan")
    plan = torch.arange(10.0).reshape(5, 2)
    fill = torch.tensor([-7.0, 7.0])
    for steps, expected in ((1, torch.cat([plan[1:], fill[None]])), (3, torch.cat([plan[3:], fill.expand(3, 2)])),
                            (0, plan)):
        expect_close(expect_tensor(fn(plan, steps, fill), (5, 2), f"shift_plan(plan, {steps}, fill)"), expected,
                     f"shift_plan(plan, {steps}, fill)")


@check(points=5, timeout_s=300, slow=True, task="cartpole-swingup", target=150.0, seed=0, horizon=20,
       population_size=60, iterations=3)
def check_mpc_oracle_swingup(submission, task, target, seed, horizon, population_size, iterations):
    """Your mpc_episode with your CEM on the simulator (the oracle model) swings the cart-pole up:
    return >= 150 in one 200-step episode."""
    from mbrl_zoo.models import build_model
    from mbrl_zoo.tasks import get_task

    spec = get_task(task)
    low, high = spec.action_bounds()
    env = spec.make_env()
    model = build_model("oracle", env.observation_space.shape[0], env.action_space.shape[0], task=spec)
    planner = need(submission, "CEM")(low, high, horizon, population_size=population_size, iterations=iterations)
    total = need(submission, "mpc_episode")(env, model, planner, spec.reward_fn, spec.termination_fn, seed=seed,
                                            generator=torch.Generator().manual_seed(seed))
    if not isinstance(total, (int, float)) and not (isinstance(total, torch.Tensor) and total.numel() == 1):
        raise CheckFailed(f"mpc_episode must return the episode's return (a number), got {type(total).__name__}.")
    total = float(total)
    expect(total >= target, f"MPC with CEM on the simulator returned {total:.1f} on {task} (seed {seed}); "
                            f"it should reach {target:g} (the simulator is a perfect model).")
    return f"return {total:.1f}"


if __name__ == "__main__":
    from mbrl_zoo.app.grade import run_public_checks

    raise SystemExit(run_public_checks(__file__, "planning.py"))

"""Planners maximise known objectives: a quadratic around a target sequence and Rosenbrock's
function (optimum at all ones), rank NaN/inf last, respect bounds, are deterministic under a
seeded generator and report per-iteration statistics."""

import math

import pytest
import torch

import planners  # noqa: F401  (registers the planners)
from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import ALGORITHMS, MODELS, PLANNERS, check_compatible
from planners import CEM, ICEM, MPPI, GradientPlanner, RandomShooting
from planners.base import Planner, checked_plan
from planners.cem import truncated_normal
from planners.icem import colored_noise, colored_noise_spectrum

H, A = 4, 2
LOW, HIGH = -torch.ones(A), torch.ones(A)
TARGET = torch.tensor([[0.5, -0.3], [0.2, 0.7], [-0.6, 0.1], [0.9, -0.9]])

# Settings that reach the tolerances below within a few milliseconds; random shooting only
# searches a 2-D problem (H=2, A=1), where uniform sampling is dense enough.
MAKERS = {
    "random-shooting": lambda lo, hi, h: RandomShooting(lo, hi, h, population_size=20000),
    "cem": lambda lo, hi, h: CEM(lo, hi, h, population_size=300, iterations=15),
    "mppi": lambda lo, hi, h: MPPI(lo, hi, h, population_size=200, iterations=50, temperature=0.001,
                                   noise_std=0.05, smoothing=0.0),
    "icem": lambda lo, hi, h: ICEM(lo, hi, h, population_size=500, num_elites=20, iterations=20, momentum=0.5,
                                   noise_exponent=0.0, population_decay=1.0),
    "gradient": lambda lo, hi, h: GradientPlanner(lo, hi, h, population_size=8, iterations=200, learning_rate=0.05),
}
ROSENBROCK_MAKERS = {
    **MAKERS,
    "random-shooting": lambda lo, hi, h: RandomShooting(lo, hi, h, population_size=200000),
    # CEM's mean stalls in Rosenbrock's curved valley (its diagonal std collapses faster than the
    # mean travels); the best sequence it evaluated is within tolerance.
    "cem": lambda lo, hi, h: CEM(lo, hi, h, population_size=1000, iterations=50, elite_fraction=0.02,
                                 momentum=0.8, return_best=True),
}


def quadratic(target):
    """Return -|a - target|^2 per candidate: (N, H, A) -> (N,), maximum 0 at ``target``."""
    return lambda actions: -(actions - target).square().sum((1, 2))


def rosenbrock(actions):
    """Negated Rosenbrock function of the flattened sequence: (N, H, A) -> (N,), maximum 0 at ones."""
    x = actions.reshape(actions.shape[0], -1)
    return -((1 - x[:, :-1]).square() + 100 * (x[:, 1:] - x[:, :-1].square()).square()).sum(1)


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def small_problem(name):
    """(low, high, horizon, target) for a planner: the 2-D problem for random shooting."""
    if name == "random-shooting":
        return LOW[:1], HIGH[:1], 2, TARGET[:2, :1]
    return LOW, HIGH, H, TARGET


def test_every_planner_is_registered_with_its_config():
    assert {"random-shooting", "cem", "mppi", "icem", "gradient"} <= set(PLANNERS.names())
    assert PLANNERS.get("cem").config_class() is CEM.Config
    assert PLANNERS.get("cem").config_class()().population_size == 350
    assert CEM(LOW, HIGH, H, iterations=2).config == CEM.Config(iterations=2)
    assert PLANNERS.get("gradient").requires == {"differentiable"}
    planner = PLANNERS.get("icem").obj(action_low=LOW, action_high=HIGH, horizon=H)
    assert planner.horizon == H


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_finds_quadratic_optimum(name):
    low, high, horizon, target = small_problem(name)
    plan = MAKERS[name](low, high, horizon).plan(quadratic(target), generator=seeded())
    assert plan.shape == target.shape
    assert (plan - target).abs().max() < 0.05


@pytest.mark.parametrize("name", sorted(ROSENBROCK_MAKERS))
def test_finds_rosenbrock_optimum(name):
    low, high = -2 * torch.ones(1), 2 * torch.ones(1)
    plan = ROSENBROCK_MAKERS[name](low, high, 2).plan(rosenbrock, generator=seeded(1))
    assert (plan - 1).abs().max() < 0.1


@pytest.mark.parametrize("bad", [math.nan, math.inf])
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_nonfinite_returns_never_win(name, bad):
    """The objective is NaN (or +inf) within 0.3 of the quadratic's optimum: the plan returned
    must lie outside that ball, on its edge (the best finite value)."""
    low, high, horizon, target = small_problem(name)

    def objective(actions):
        returns = quadratic(target)(actions)
        inside = (actions - target).square().sum((1, 2)) < 0.3**2
        return torch.where(inside, torch.full_like(returns, bad), returns)

    plan = MAKERS[name](low, high, horizon).plan(objective, generator=seeded())
    assert torch.isfinite(objective(plan.unsqueeze(0))).all()
    assert 0.3 <= (plan - target).norm() < 0.4


@pytest.mark.parametrize("name", ["cem", "mppi"])
def test_the_final_mean_is_scored_only_after_a_nonfinite_return(name):
    """CEM and MPPI return their final mean; they score it (one more objective call) only when the
    search met a non-finite return, to fall back to the best candidate if the mean's is too."""
    low, high, horizon, target = small_problem(name)
    calls = []

    def objective(actions, bad=None):
        calls.append(actions.shape[0])
        returns = quadratic(target)(actions)
        return returns if bad is None else torch.where(returns > -0.05, torch.full_like(returns, bad), returns)

    planner = MAKERS[name](low, high, horizon)
    planner.plan(objective, generator=seeded())
    assert calls == [planner.population_size] * planner.iterations
    calls.clear()
    planner.plan(lambda actions: objective(actions, bad=math.nan), generator=seeded())
    assert calls == [planner.population_size] * planner.iterations + [1]


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_bounds_respected_and_seeded_runs_repeat(name):
    """With the target outside the box every candidate stays inside and the plan sits on the
    nearest bound; the same seed gives the same plan, another seed another one."""
    low, high, horizon, _ = small_problem(name)
    target = torch.full((horizon, low.shape[0]), 3.0)
    seen = []

    def objective(actions):
        seen.append(actions.detach())
        return quadratic(target)(actions)

    planner = MAKERS[name](low, high, horizon)
    plan = planner.plan(objective, generator=seeded(3))
    everything = torch.cat(seen)
    assert bool((everything >= low).all() and (everything <= high).all())
    assert (plan - high).abs().max() < 0.05
    assert torch.equal(plan, planner.plan(objective, generator=seeded(3)))
    seen.clear()
    planner.plan(objective, generator=seeded(4))
    first_of_seed_4 = seen[0]
    seen.clear()
    planner.plan(objective, generator=seeded(5))
    assert not torch.equal(first_of_seed_4, seen[0])


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_callback_receives_per_iteration_stats(name):
    low, high, horizon, target = small_problem(name)
    planner = MAKERS[name](low, high, horizon)
    calls = []
    planner.plan(quadratic(target), generator=seeded(), callback=lambda i, stats: calls.append((i, stats)))
    expected = {"random-shooting": 1, "gradient": planner_iterations(planner) + 1}.get(name, planner_iterations(planner))
    assert [i for i, _ in calls] == list(range(expected))
    bests = [stats["best"] for _, stats in calls]
    assert bests == sorted(bests) and bests[-1] <= 0
    assert all({"best", "iteration_best", "elite_mean", "mean", "nonfinite", "population"} <= set(s) for _, s in calls)
    assert all(s["iteration_best"] >= s["elite_mean"] >= s["mean"] - 1e-6 for _, s in calls)


def planner_iterations(planner):
    return getattr(planner, "iterations", 1)


@pytest.mark.parametrize("name", ["cem", "mppi", "icem", "gradient"])
def test_init_mean_is_where_the_search_starts(name):
    """Started at the optimum with a tiny spread, a planner stays there."""
    planner = MAKERS[name](LOW, HIGH, H)
    planner.initial_std = 1e-3
    if name == "mppi":
        planner.noise_std = 1e-3
    plan = planner.plan(quadratic(TARGET), init_mean=TARGET, generator=seeded())
    assert (plan - TARGET).abs().max() < 1e-2


def test_random_shooting_keeps_the_warm_start_as_a_candidate():
    planner = RandomShooting(LOW, HIGH, H, population_size=10)
    plan = planner.plan(quadratic(TARGET), init_mean=TARGET, generator=seeded())
    assert torch.equal(plan, TARGET)


def test_init_mean_of_the_wrong_shape_is_refused():
    with pytest.raises(UserError, match=r"init_mean has shape \(3, 2\); expected \(horizon, act_dim\) = \(4, 2\)"):
        CEM(LOW, HIGH, H).plan(quadratic(TARGET), init_mean=torch.zeros(3, 2))


def test_bad_settings_are_refused():
    with pytest.raises(UserError, match=r"^planner\.elite_fraction=0\.0 is not allowed: it must lie in \(0, 1\]"):
        CEM(LOW, HIGH, H, elite_fraction=0.0)
    with pytest.raises(UserError, match="action_low must be below"):
        CEM(HIGH, LOW, H)
    with pytest.raises(UserError, match=r"^planner\.smoothing=1\.0 is not allowed"):
        MPPI(LOW, HIGH, H, smoothing=1.0)
    with pytest.raises(UserError, match=r"^planner\.learning_rate=nan is not allowed: it must be a finite number in \(0, 100\]"):
        GradientPlanner(LOW, HIGH, H, learning_rate=math.nan)
    with pytest.raises(UserError, match=r"^planner\.num_elites=20, planner\.population_size=10 are not allowed"):
        ICEM(LOW, HIGH, H, population_size=10, num_elites=20)
    with pytest.raises(UserError, match=r"^unknown key planner\.popsize; .*Did you mean planner\.population_size\?"):
        RandomShooting(LOW, HIGH, H, popsize=3)


class Returns:
    """A planner plug-in whose ``plan`` returns a fixed value, whatever the objective."""

    def __init__(self, value):
        self.value = value

    def __call__(self, low, high, horizon):
        planner = Planner(low, high, horizon)
        planner.plan = lambda objective, init_mean=None, generator=None, callback=None: self.value
        return planner


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_every_planners_plan_keeps_the_contract(name):
    low, high, horizon, target = small_problem(name)
    planner = MAKERS[name](low, high, horizon)
    plan = planner.plan(quadratic(target), generator=seeded())
    assert torch.equal(checked_plan(planner, plan), plan)


@pytest.mark.parametrize("value, message", [
    (torch.zeros(H + 1, A), "planner 'bad' (Planner) returned a plan of shape (5, 2); expected (horizon, act_dim) = (4, 2)"),
    (torch.zeros(H), "returned a plan of shape (4,); expected (horizon, act_dim) = (4, 2)"),
    ([[0.0] * A] * H, "planner 'bad' (Planner) returned a list from plan(); expected a floating tensor"),
    (torch.zeros(H, A, dtype=torch.long), "returned a torch.int64 tensor from plan()"),
    (torch.tensor([[0.0, 0.0], [0.0, math.nan], [0.0, 0.0], [0.0, 0.0]]),
     "returned a plan with non-finite values: step 1, action dim 1 is nan"),
    (torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.5, 0.0], [0.0, 0.0]]),
     "returned a plan outside the action bounds: step 2, action dim 0 is 1.5, outside [-1, 1]"),
])
def test_a_plan_breaking_the_contract_is_the_planners_fault(value, message):
    planner = Returns(value)(LOW, HIGH, H)
    with pytest.raises(UserError) as info:
        checked_plan(planner, planner.plan(quadratic(TARGET)), name="bad")
    assert message in str(info.value)


def test_a_rounding_excess_is_clipped_and_a_built_in_planner_is_named_by_its_registry_name():
    planner = CEM(LOW, HIGH, H)
    plan = TARGET.clone()
    plan[0, 0] = 1.0 + 1e-7
    assert checked_plan(planner, plan)[0, 0] == 1.0
    plan[0, 0] = 1.01
    with pytest.raises(UserError, match=r"^planner 'cem' \(CEM\) returned a plan outside the action bounds"):
        checked_plan(planner, plan)


def test_truncated_normal_stays_in_bounds_and_matches_moments():
    """Far from the bounds it is the plain normal; next to a bound it is cut there."""
    mean, std = torch.tensor([[0.0, 0.95]]), torch.tensor([[0.2, 0.2]])
    draws = truncated_normal(mean, std, LOW, HIGH, 20000, seeded())
    assert draws.shape == (20000, 1, 2)
    assert bool((draws >= -1).all() and (draws <= 1).all())
    assert abs(float(draws[:, 0, 0].mean())) < 0.01 and abs(float(draws[:, 0, 0].std()) - 0.2) < 0.01
    # Mean of N(0.95, 0.2^2) truncated to [-1, 1]: 0.95 - 0.2 * (phi(0.25) - phi(-9.75)) / (Phi(0.25) - Phi(-9.75)).
    phi = math.exp(-0.25**2 / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + math.erf(0.25 / math.sqrt(2)))
    assert abs(float(draws[:, 0, 1].mean()) - (0.95 - 0.2 * phi / cdf)) < 0.005


def test_colored_noise_has_unit_variance_and_the_requested_correlation():
    """White (exponent 0) noise is uncorrelated in time; exponent 2 noise is strongly correlated
    between neighbouring steps; both have unit variance at every step."""
    for exponent, horizon in ((0.0, 16), (2.0, 15)):
        amplitude, normaliser = colored_noise_spectrum(horizon, exponent)
        noise = colored_noise(20000, 2, amplitude, normaliser, horizon, seeded())
        assert noise.shape == (20000, horizon, 2)
        assert (noise.var(0) - 1).abs().max() < 0.06
        neighbours = float((noise[:, 1:] * noise[:, :-1]).mean())
        assert abs(neighbours) < 0.02 if exponent == 0 else neighbours > 0.7


def test_icem_population_shrinks_and_carries_elites():
    planner = ICEM(LOW, HIGH, H, population_size=100, num_elites=10, iterations=3, keep_elites=0.3)
    sizes = []
    planner.plan(lambda a: sizes.append(a.shape[0]) or quadratic(TARGET)(a), generator=seeded())
    assert [planner.population_at(i) for i in range(3)] == [100, 80, 64]
    assert sizes == [100, 80 + 3, 64 + 3 + 1]  # fresh samples + carried elites (+ the mean last)


def test_gradient_planner_needs_a_differentiable_objective():
    planner = GradientPlanner(LOW, HIGH, H, iterations=2)
    with pytest.raises(UserError, match="differentiable=True"):
        planner.plan(lambda a: quadratic(TARGET)(a).detach())


def test_gradient_planner_is_refused_with_a_model_that_is_not_differentiable():
    ALGORITHMS.add("_needs_planner", object(), requires={"model", "planner"})
    MODELS.add("_table_model", object(), tags={"learned"})
    try:
        with pytest.raises(UserError, match="planner 'gradient' cannot work with model '_table_model'.*differentiable"):
            check_compatible("_needs_planner", "_table_model", "gradient")
    finally:
        ALGORITHMS.remove("_needs_planner")
        MODELS.remove("_table_model")


def test_mppi_smoothing_correlates_neighbouring_steps():
    def neighbour_correlation(smoothing):
        noise = MPPI(LOW, HIGH, 10, population_size=5000, smoothing=smoothing).smoothed_noise(seeded())
        return float(torch.corrcoef(torch.stack([noise[:, 4:].flatten(), noise[:, 3:-1].flatten()]))[0, 1])

    assert abs(neighbour_correlation(0.0)) < 0.03
    assert neighbour_correlation(0.8) > 0.7  # AR(1) with coefficient 0.8

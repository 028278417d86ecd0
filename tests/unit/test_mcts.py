"""pUCT Monte-Carlo tree search: known answers on hand-made MDPs, the pUCT rule by hand, seeded
noise, batching, bad settings, and the registry's refusals across kinds of actions."""

from __future__ import annotations

import math
import types
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import algorithms  # noqa: F401  (registers the pairings)
from mbrl_zoo.config import check_buildable, resolve
from mbrl_zoo.errors import UserError
from mbrl_zoo.models import build_model
from mbrl_zoo.registry import (
    ALGORITHMS, PAIRINGS, PLANNERS, Pairing, action_space_of, check_compatible, register_pairing,
)
from mbrl_zoo.tasks import get_task
from mbrl_zoo.tasks.classic import cartpole_step
from planners.mcts import (
    MCTS, MCTSConfig, model_step_fn, random_rollout_value, search, uniform_prior, visit_policy,
)

# A two-step deterministic MDP whose greedy first step is a trap. States are ids in obs[:, 0]:
#   root --a0 (r=1)--> A --a0, a1 (r=0)--> end       Q*(root, a0) = 1 + 0.9 * 0 = 1
#   root --a1 (r=0)--> B --a0 (r=2)--> end           Q*(root, a1) = 0 + 0.9 * 2 = 1.8 = V*(root)
#                        --a1 (r=-1)-> end
NEXT = torch.tensor([[1, 2], [3, 3], [4, 5]])
REWARD = torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, -1.0]], dtype=torch.float64)
DISCOUNT = 0.9
OPTIMAL_VALUE = 1.8


def two_step(obs: torch.Tensor, actions: torch.Tensor):
    state = obs[:, 0].long()
    next_state = NEXT[state, actions]
    return next_state[:, None].double(), REWARD[state, actions], state >= 1


def zero_value(obs: torch.Tensor) -> torch.Tensor:
    return torch.zeros(obs.shape[0], dtype=torch.float64)


def exact(simulations: int, **settings) -> MCTSConfig:
    """Search settings without noise, acting greedily on visits."""
    return MCTSConfig(simulations=simulations, temperature=0.0, dirichlet_fraction=0.0, discount=DISCOUNT, **settings)


ROOT = torch.zeros(1, 1, dtype=torch.float64)


def test_search_finds_the_optimal_action_past_the_trap_and_its_value():
    values = {}
    for simulations in (250, 1000):
        result = search(ROOT, two_step, uniform_prior(2), zero_value, exact(simulations), generator=0)
        assert result.action.tolist() == [1]
        visits, q = result.visit_counts[0], result.q_values[0]
        assert visits.sum() == simulations and visits[1] > 4 * visits[0] > 0
        assert q[0].item() == 1.0  # every path through A returns exactly 1
        # The root value is the mean return of the simulations, i.e. the visit-weighted Q.
        assert result.root_value.item() == pytest.approx(float((visits * q).sum()) / simulations, rel=1e-12)
        values[simulations] = result.root_value.item()
        # pUCT keeps trying a worse action about c1 P sqrt(N) / gap times (the gap in min-max
        # normalised units: root 0.8 / 3, in B 3 / 3), so the mean misses V* by about
        # (2.3 * 0.8 + 0.6 * 2.7) / sqrt(N) = 3.5 / sqrt(N).
        assert OPTIMAL_VALUE - 4.0 / math.sqrt(simulations) < values[simulations] <= OPTIMAL_VALUE
    assert OPTIMAL_VALUE - values[1000] < 0.6 * (OPTIMAL_VALUE - values[250])


def test_the_depth_limit_stops_at_depth_one_where_the_trap_looks_best():
    result = search(ROOT, two_step, uniform_prior(2), zero_value, exact(50, max_depth=1), generator=0)
    assert result.action.tolist() == [0]
    assert result.q_values[0].tolist() == [1.0, 0.0]  # value_fn (zero) stands in below depth 1

    def exact_value(obs):  # V* of A (0) and B (2); the search then needs only depth 1
        return torch.where(obs[:, 0] == 2, 2.0, 0.0).double()

    result = search(ROOT, two_step, uniform_prior(2), exact_value, exact(50, max_depth=1), generator=0)
    assert result.action.tolist() == [1]
    assert result.q_values[0].tolist() == pytest.approx([1.0, OPTIMAL_VALUE])


# One level: three actions that end the episode at once with rewards R1, priors P1.
P1 = torch.tensor([[0.2, 0.5, 0.3]], dtype=torch.float64)
R1 = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64)


def one_level(obs, actions):
    return obs, R1[actions], torch.ones(actions.shape[0], dtype=torch.bool)


def test_visits_follow_the_puct_rule_computed_by_hand():
    """Score = Qbar + P w / (1 + N), w = sqrt(T) (1.25 + ln((T + 19653) / 19652)), T = sum N.

    sim 1: T = 0, all scores 0: the tie goes to the largest prior, a1 (Q = 1).
    sim 2: T = 1, w = 1.250102: a0 0.2 w = 0.2500, a1 0 + 0.5 w / 2 = 0.3125 (one Q value seen:
           Qbar = 0), a2 0.3 w = 0.3750 -> a2 (Q = 0.5; now Qbar(a1) = 1, Qbar(a2) = 0).
    sims 3-21: a1, whose Qbar = 1 beats the exploration of the others.
    sim 22: T = 21, N = (0, 20, 1), w = 5.733347: a0 0.2 w = 1.1467, a1 1 + 0.5 w / 21 = 1.1365,
            a2 0 + 0.3 w / 2 = 0.8600 -> a0 (Q = 0: now Qbar(a2) = 0.5).
    sim 23: T = 22, N = (1, 20, 1), w = 5.868507: a0 0.2 w / 2 = 0.5869, a1 1.1397, a2 0.5 + 0.3 w / 2
            = 1.3803 -> a2.
    sims 24-26: a1 (at T = 23: a1 1.1429 > a2 1.1001 > a0 0.6001).
    sim 27: T = 26, N = (1, 23, 2), w = 6.380775: a0 0.6381, a1 1 + 0.5 w / 24 = 1.1329, a2 0.5 + 0.3 w / 3
            = 1.1381 -> a2.
    """
    expected = {1: [0, 1, 0], 2: [0, 1, 1], 21: [0, 20, 1], 22: [1, 20, 1], 23: [1, 20, 2], 26: [1, 23, 2],
                27: [1, 23, 3]}
    for simulations, visits in expected.items():
        result = search(ROOT, one_level, lambda obs: P1, zero_value, exact(simulations))
        assert result.visit_counts[0].tolist() == visits, simulations


def test_each_edge_is_stepped_once_and_terminal_nodes_never():
    calls = []

    def counted(obs, actions):
        calls.append(actions.shape[0])
        return one_level(obs, actions)

    search(ROOT, counted, lambda obs: P1, zero_value, exact(27))
    assert calls == [1, 1, 1]  # a1, a2 and a0 once each; later visits reuse the terminal nodes


def test_temperature_shapes_the_visit_policy():
    visits = np.array([[1, 3, 0]])
    assert visit_policy(visits, 1.0).tolist() == [[0.25, 0.75, 0.0]]
    assert visit_policy(visits, 0.5) == pytest.approx(np.array([[0.1, 0.9, 0.0]]))
    assert visit_policy(visits, 0.0).tolist() == [[0.0, 1.0, 0.0]]
    assert visit_policy(np.array([[2, 2, 1]]), 0.0).tolist() == [[0.5, 0.5, 0.0]]  # the limit T -> 0


def test_dirichlet_noise_and_the_action_draw_are_reproducible_from_a_seed():
    config = MCTSConfig(simulations=20, discount=DISCOUNT, dirichlet_alpha=0.3, dirichlet_fraction=0.25)
    first = search(ROOT, two_step, uniform_prior(2), zero_value, config, generator=7)
    again = search(ROOT, two_step, uniform_prior(2), zero_value, config, generator=np.random.default_rng(7))
    other = search(ROOT, two_step, uniform_prior(2), zero_value, config, generator=8)
    for field in ("root_prior", "visit_counts", "policy", "action", "root_value"):
        assert torch.equal(getattr(first, field), getattr(again, field)), field
    assert not torch.equal(first.root_prior, other.root_prior)
    noise = np.random.default_rng(7).dirichlet([0.3, 0.3])
    assert first.root_prior[0].numpy() == pytest.approx(0.75 * 0.5 + 0.25 * noise)
    assert first.root_prior.sum().item() == pytest.approx(1.0)
    quiet = search(ROOT, two_step, uniform_prior(2), zero_value, exact(20), generator=7)
    assert quiet.root_prior.tolist() == [[0.5, 0.5]]


def test_roots_searched_together_match_roots_searched_alone():
    roots = torch.tensor([[0.0], [2.0], [1.0]], dtype=torch.float64)
    config = MCTSConfig(simulations=100, discount=DISCOUNT, dirichlet_fraction=0.0, temperature=0.0)

    def prior(obs):  # unequal, so that no tie needs a random draw
        return torch.tensor([[0.6, 0.4]], dtype=torch.float64).expand(obs.shape[0], 2)

    together = search(roots, two_step, prior, zero_value, config)
    for row in range(3):
        alone = search(roots[row : row + 1], two_step, prior, zero_value, config)
        for field in ("action", "visit_counts", "root_value", "q_values"):
            assert torch.equal(getattr(together, field)[row], getattr(alone, field)[0]), (row, field)
    assert together.action[:2].tolist() == [1, 0]  # past the trap; from B the +2 edge
    assert together.q_values[2].tolist() == [0.0, 0.0]  # from A everything returns 0


def test_random_rollout_value_is_the_discounted_return_to_termination():
    def countdown(obs, actions):  # reward 1 per step, the third step ends it
        return obs + 1, torch.ones(obs.shape[0]), obs[:, 0] + 1 >= 3

    start = torch.zeros(2, 1)
    value = random_rollout_value(countdown, num_actions=2, depth=10, rollouts=4, discount=0.5)
    assert value(start).tolist() == [1.75, 1.75]  # 1 + 0.5 + 0.25, then nothing
    assert random_rollout_value(countdown, 2, depth=2, discount=0.5)(start).tolist() == [1.5, 1.5]


def test_random_rollouts_on_cartpole_are_seeded_and_rank_a_falling_pole_lower():
    upright = torch.tensor([[0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    falling = torch.tensor([[0.0, 0.0, 0.18, 1.5]], dtype=torch.float64)
    values = [random_rollout_value(cartpole_step, 2, depth=50, rollouts=16,
                                   generator=torch.Generator().manual_seed(3))(torch.cat([upright, falling]))
              for _ in range(2)]
    assert torch.equal(values[0], values[1])
    assert values[0][0] > 5 and values[0][1] == 1.0  # the falling pole ends on the first step


def test_model_step_fn_feeds_the_model_one_hot_actions():
    task = get_task("CartPole-v1")
    model = build_model("deterministic", *task.dims(), task=task, hidden=8, layers=1)
    step = model_step_fn(model, task)
    obs, actions = torch.randn(5, 4), torch.tensor([0, 1, 1, 0, 1])
    next_obs, reward, terminated = step(obs, actions)
    one_hot = torch.nn.functional.one_hot(actions, 2).float()
    torch.testing.assert_close(next_obs, model.mean(obs, one_hot))
    assert reward.tolist() == [1.0] * 5 and terminated.dtype == torch.bool
    result = search(obs[:2], step, uniform_prior(2), zero_value, MCTSConfig(simulations=5), generator=0)
    assert result.visit_counts.sum(1).tolist() == [5, 5]


@pytest.mark.parametrize("settings, message", [
    ({"simulations": 0}, "simulations must be an integer >= 1, got 0"),
    ({"simulations": 2.5}, "simulations must be an integer >= 1, got 2.5"),
    ({"max_depth": 0}, "max_depth must be an integer >= 1"),
    ({"temperature": -0.1}, "temperature must be a finite number >= 0, got -0.1"),
    ({"c1": 0.0}, "c1 must be a finite number > 0"),
    ({"c2": -1.0}, "c2 must be a finite number > 0"),
    ({"dirichlet_alpha": 0.0}, "dirichlet_alpha must be a finite number > 0"),
    ({"dirichlet_fraction": 1.5}, r"dirichlet_fraction must be a finite number in \[0, 1\]"),
    ({"discount": float("nan")}, r"discount must be a finite number in \[0, 1\], got nan"),
    ({"temperature": True}, "temperature must be a finite number"),
])
def test_bad_settings_raise(settings, message):
    with pytest.raises(UserError, match=message):
        MCTSConfig(**settings)
    with pytest.raises(UserError, match=message):
        MCTS(**settings)


def test_unknown_settings_and_broken_functions_raise():
    with pytest.raises(UserError, match="unknown mcts setting 'simulation'; valid settings: simulations, "):
        MCTS(simulation=5)
    with pytest.raises(UserError, match=r"root_obs must be a tensor of shape \(B, O\)"):
        search(torch.zeros(1), two_step, uniform_prior(2), zero_value)
    with pytest.raises(UserError, match="prior_fn must give each root a distribution"):
        search(ROOT, two_step, lambda obs: torch.tensor([[0.7, 0.7]]), zero_value)
    with pytest.raises(UserError, match=r"step_fn returned shapes .*; expected \(next_obs \(1, 1\), reward \(1,\)"):
        search(ROOT, lambda obs, a: (obs, torch.zeros(1, 1), torch.zeros(1)), uniform_prior(2), zero_value)
    with pytest.raises(UserError, match=r"value_fn returned \(1, 1\); expected a tensor of shape \(1,\)"):
        search(ROOT, two_step, uniform_prior(2), lambda obs: torch.zeros(1, 1))
    with pytest.raises(UserError, match="value_fn returned non-finite values"):
        search(ROOT, two_step, uniform_prior(2), lambda obs: torch.full((obs.shape[0],), float("nan")))


def test_a_component_declaring_an_unknown_kind_of_actions_is_a_user_error():
    class Hybrid:
        action_space = "hybrid"

    with pytest.raises(UserError, match="Hybrid.action_space is 'hybrid'; expected one of 'continuous', 'discrete'"):
        action_space_of(Hybrid)
    assert action_space_of(object()) == "continuous"  # nothing declared: the zoo's original kind


def test_mcts_is_a_registered_planner_for_discrete_actions():
    entry = PLANNERS.get("mcts")
    assert entry.obj is MCTS and entry.config_class() is MCTSConfig
    assert action_space_of(MCTS) == "discrete"
    assert {action_space_of(PLANNERS.get(name).obj) for name in PLANNERS.names() if name != "mcts"} == {"continuous"}
    assert MCTS(simulations=7).config.simulations == 7


def test_a_continuous_planner_on_a_discrete_task_is_refused_with_the_reason():
    with pytest.raises(UserError) as error:
        resolve("pets", {"run": {"task": "CartPole-v1"}})
    assert str(error.value) == (
        "planner 'cem' cannot work on task 'CartPole-v1': it works with continuous actions within box bounds, "
        "and 'CartPole-v1' has 2 discrete actions. Planners for discrete actions: mcts.")


def test_mcts_on_a_continuous_task_is_refused_with_the_reason():
    with pytest.raises(UserError) as error:
        resolve("pets", {"run": {"task": "cartpole-balance"}, "planner": {"name": "mcts"}})
    message = str(error.value)
    assert message.startswith("planner 'mcts' cannot work on task 'cartpole-balance': it works with a finite set of "
                              "actions (one index per action), and 'cartpole-balance' has continuous actions in a box.")
    assert "Planners for continuous actions: cem, gradient, icem, mppi, random-shooting." in message
    with pytest.raises(UserError, match="planner 'mcts' works with discrete actions and algorithm 'mpc' with contin"):
        check_compatible("mpc", "pe", "mcts")
    with pytest.raises(UserError, match="algorithm 'sac' cannot work on task 'Acrobot-v1'.*3 discrete actions"):
        check_compatible("sac", None, None, task="Acrobot-v1")


@dataclass(frozen=True)
class _SearchAgentConfig:
    unroll: int = 5


def test_a_discrete_algorithm_with_mcts_is_accepted_on_a_discrete_task_only():
    agent = types.SimpleNamespace(Config=_SearchAgentConfig, action_space="discrete", __doc__="a search agent")
    ALGORITHMS.add("_search-agent", agent, requires={"model", "planner"})
    register_pairing(Pairing("_search", "_search-agent", "deterministic", "mcts", {"planner": {"simulations": 7}}))
    try:
        config = resolve("_search", {"run": {"task": "CartPole-v1"}, "model": {"hidden": 8, "layers": 1}})
        check_buildable(config)
        planner = config.make_planner()
        assert isinstance(planner, MCTS) and planner.config.simulations == 7
        with pytest.raises(UserError, match="planner 'mcts' cannot work on task 'cartpole-balance'"):
            resolve("_search", {"run": {"task": "cartpole-balance"}})
        with pytest.raises(UserError, match="algorithm '_search-agent' cannot work on task 'cartpole-balance': .*"
                                            "Algorithms for continuous actions: .*mpc"):
            resolve("_search", {"run": {"task": "cartpole-balance"}, "planner": {"name": "cem"}})
        mismatch = "planner 'cem' works with continuous actions and algorithm '_search-agent' with discrete ones"
        with pytest.raises(UserError, match=mismatch):
            check_compatible("_search-agent", "deterministic", "cem")
    finally:
        PAIRINGS.remove("_search")
        ALGORITHMS.remove("_search-agent")


def test_the_speed_benchmark_plays_an_oracle_episode_and_times_a_search(run_benchmark, benchmark_module):
    out = run_benchmark("mcts_speed", "--episode", "--simulations", "4", "--rollout-depth", "3", "--threads", "1")
    assert out["benchmark"] == "mcts_episode" and out["return"] == out["steps"] >= 8  # +1 per step, at least 8
    bench = benchmark_module("mcts_speed")
    states = bench.start_states(2, torch.float64)
    rate = bench.sims_per_second(cartpole_step, zero_value, states, MCTSConfig(simulations=5), repeats=1)
    assert rate > 0

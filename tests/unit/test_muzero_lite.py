"""MuZero-lite's pieces: the n-step value target against hand-computed returns, the step record's
windows across episode ends and its ring, and the settings refused before a run starts."""

import numpy as np
import pytest
import torch

import algorithms.muzero_lite  # noqa: F401  (registers muzero-lite and its pairings)
from algorithms.loop import Step
from algorithms.muzero_lite import PolicyValue, SearchRecord, n_step_targets
from mbrl_zoo.config import check_buildable, resolve
from mbrl_zoo.errors import UserError


def test_n_step_targets_equal_hand_computed_returns():
    # k = 3 steps, gamma = 0.5; rewards 1, 2, 3 in every row; next values V(s_1), V(s_2), V(s_3) = 10, 20, 40.
    rew = torch.tensor([[1.0, 2.0, 3.0]] * 4)
    next_value = torch.tensor([[10.0, 20.0, 40.0]] * 4, dtype=torch.float64)
    terminated = torch.tensor([[0, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 1]], dtype=torch.bool)
    stop = torch.tensor([[0, 0, 0], [0, 0, 0], [1, 0, 0], [1, 0, 0]], dtype=torch.bool)
    z = n_step_targets(rew, terminated, stop, next_value, discount=0.5)
    expected = [1 + 0.5 * 2 + 0.25 * 3 + 0.125 * 40,  # three rewards, then V(s_3)
                1 + 0.5 * 2,                          # terminated at the second step: no bootstrap
                1 + 0.5 * 10,                         # data stops after the first step (time limit): V(s_1)
                1.0]                                  # terminated at once
    assert z.tolist() == pytest.approx(expected)


def _step(i: int, terminated: bool = False, truncated: bool = False) -> Step:
    return Step(np.full(2, i, np.float32), np.array([1.0, 0.0], np.float32), np.full(2, i + 1, np.float32),
                float(i), terminated, truncated, {})


def test_record_windows_stop_at_episode_ends_and_the_newest_step_and_survive_the_ring():
    record = SearchRecord(obs_dim=2, num_actions=2, capacity=5)
    for i in range(7):  # steps 0..6; the ring keeps 2..6; step 3 ends an episode by its time limit
        record.add(_step(i, truncated=(i == 3)), torch.tensor([0.25, 0.75]))
    assert len(record) == 5
    obs, policy, rew, terminated, stop, next_obs = record.sample(200, 3, torch.Generator().manual_seed(0))
    for first, rewards, stops, nexts in zip(obs[:, 0].tolist(), rew.tolist(), stop.tolist(), next_obs[:, :, 0].tolist()):
        assert 2 <= first <= 6
        expected = [min(first + j, 6) for j in range(3)]
        assert rewards == expected and nexts == [e + 1 for e in expected]
        assert stops == [e in (3, 6) for e in expected]
    assert torch.equal(policy, torch.tensor([[0.25, 0.75]]).expand(200, 2))
    copy = SearchRecord(2, 2, 5)
    copy.load_state_dict(record.state_dict())
    assert copy.added == 7 and all(torch.equal(getattr(copy, f), getattr(record, f))
                                   for f in ("obs", "next_obs", "rew", "terminated", "truncated", "policy"))


def test_untrained_nets_give_uniform_priors_and_the_initial_value():
    nets = PolicyValue(obs_dim=4, num_actions=3, hidden=(8,), lr=1e-3, value_init=7.5)
    obs = torch.randn(5, 4)
    assert torch.allclose(nets.prior(obs), torch.full((5, 3), 1 / 3, dtype=torch.float64))
    assert nets.value(obs).tolist() == [7.5] * 5


@pytest.mark.parametrize("pairing, overrides, message", [
    ("mcts-model", {"planner": {"simulations": 0}}, "planner.simulations=0 is not allowed: it must lie in [1, 10**6]"),
    ("oracle-mcts", {"planner": {"max_depth": 0}}, "planner.max_depth=0 is not allowed: it must lie in [1, 1000]"),
    ("oracle-mcts", {"planner": {"temperature": -1}}, "planner.temperature=-1.0 is not allowed: it must be >= 0"),
    ("mcts-model", {"algorithm": {"td_steps": 0}}, "algorithm.td_steps=0 is not allowed: it must lie in [1, 1000]"),
    ("mcts-model", {"algorithm": {"eval_simulations": 0}}, "algorithm.eval_simulations=0 is not allowed"),
    ("oracle-mcts", {"run": {"task": "InvertedPendulum-v5"}}, "cannot work on task 'InvertedPendulum-v5'"),
    ("mcts-model", {"run": {"task": "cartpole-balance"}}, "cannot work on task 'cartpole-balance'"),
    ("oracle-mcts", {"run": {"task": "cartpole-balance-discrete"}},
     "has for CartPole-v1, Acrobot-v1, not for 'cartpole-balance-discrete'"),
])
def test_bad_settings_and_tasks_are_refused_before_a_run(pairing, overrides, message):
    with pytest.raises(UserError) as error:
        check_buildable(resolve(pairing, {"run": {"task": "CartPole-v1"}, **overrides}))
    assert message in str(error.value)


def test_a_discrete_action_is_an_index_for_the_env_and_one_hot_everywhere_else():
    from algorithms.loop import env_action

    act, for_env = env_action(np.int64(2), num_actions=3)
    assert act.tolist() == [0.0, 0.0, 1.0] and act.dtype == np.float32 and for_env == 2
    for bad in (3, -1, 1.0, np.array([1])):
        with pytest.raises(UserError, match=r"3 discrete actions, so an action is one integer index in \[0, 3\)"):
            env_action(bad, num_actions=3)
    act, for_env = env_action([0.5, -0.5], num_actions=None)
    assert act.tolist() == [0.5, -0.5] and for_env is act

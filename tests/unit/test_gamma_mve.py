"""gamma-MVE's critic target and the gamma-model terminal value against known answers: the
linear system s' = s / 2 with reward s (values by hand), and a deterministic chain whose exact
discounted value is a short sum."""

import math

import pytest
import torch

import mbrl_zoo.app  # noqa: F401  (registers every component)
from mbrl_zoo.config import resolve
from mbrl_zoo.errors import UserError
from mbrl_zoo.models.gamma import GammaModel, rollout_occupancy
from mbrl_zoo.types import Batch

from algorithms.gamma_mve import gamma_mve_targets
from algorithms.gamma_value import GammaValue, composition_weights, occupancy_reward
from algorithms.mpc import make_value


def never(obs, act, next_obs):
    return torch.zeros(obs.shape[0], dtype=torch.bool)


def position(obs, act, next_obs):
    return obs[:, 0]


class MeanOccupancy:
    """The gamma-model of s' = s / 2 (any action) with its draws replaced by their mean: K >= 1
    steps with P(K = k) = (1 - g) g^(k-1) take s to s E[2^-K] = s (1 - g) / (2 - g)."""

    def __init__(self, discount):
        self.discount = discount

    def sample(self, obs, act, generator=None):
        return obs * (1 - self.discount) / (2 - self.discount)


class HalvingOccupancy(MeanOccupancy):
    """The same gamma-model drawing K for every row: s 2^-K."""

    def sample(self, obs, act, generator=None):
        u = torch.rand(obs.shape[0], 1, generator=generator, dtype=torch.float64)
        k = 1 + torch.floor(torch.log(u) / math.log(self.discount))
        return (obs * 0.5 ** k).float()


class LinearAgent:
    """pi: action 0 with log-probability -1; critics Q'_1 = c x, Q'_2 = (c + 1) x (min c x for x > 0)."""

    def __init__(self, discount, alpha, c):
        self.discount, self.alpha, self.c = discount, alpha, c

    def policy(self, obs):
        return torch.zeros(obs.shape[0], 1), -torch.ones(obs.shape[0])

    def q_values(self, obs, act, target=False):
        return torch.stack([self.c * obs[:, 0], (self.c + 1) * obs[:, 0]])


def batch(s, r, terminated=False):
    rows = len(s)
    return Batch(torch.tensor(s).reshape(rows, 1), torch.zeros(rows, 1), torch.tensor(s).reshape(rows, 1) / 2,
                 torch.tensor(r), torch.full((rows,), terminated), torch.zeros(rows, dtype=torch.bool))


def test_the_composition_weights_span_mve_to_a_pure_gamma_model():
    alphas, tail = composition_weights(0.9, 0.0, 3)  # a one-step model: MVE's discounts
    assert torch.allclose(alphas, torch.tensor([0.1, 0.09, 0.081])) and tail == pytest.approx(0.729)
    alphas, tail = composition_weights(0.9, 0.9, 2)
    assert alphas.tolist() == [1.0, 0.0] and tail == 0.0
    alphas, tail = composition_weights(0.99, 0.9, 5)
    assert float(alphas.sum()) + tail == pytest.approx(1.0)
    with pytest.raises(UserError, match="model discount 0.95"):
        composition_weights(0.9, 0.95, 1)


def test_the_gamma_mve_target_of_the_halving_system_equals_the_hand_computed_one():
    # gamma 0.9, g 0.5: beta 0.8, alpha = (0.2, 0.16), tail 0.64; x_1 = 3 / 3 = 1, x_2 = 1 / 3.
    # y = 1 + 9 (0.2 * 1 + 0.16 / 3) + 0.64 (2 x_2 - x_2) = 1 + 2.28 + 0.64 / 3
    target = gamma_mve_targets(MeanOccupancy(0.5), LinearAgent(0.9, 0.0, 2.0), batch([3.0], [1.0]), 2,
                               position, never)
    assert target.item() == pytest.approx(1 + 2.28 + 0.64 / 3, rel=1e-6)
    # The entropy bonus -alpha log pi = 0.5 at x_1 and x_2 adds 9 (0.2 + 0.16) 0.5; it cancels at the tail.
    target = gamma_mve_targets(MeanOccupancy(0.5), LinearAgent(0.9, 0.5, 2.0), batch([3.0], [1.0]), 2,
                               position, never)
    assert target.item() == pytest.approx(1 + 2.28 + 0.64 / 3 + 1.62, rel=1e-6)
    terminated = gamma_mve_targets(MeanOccupancy(0.5), LinearAgent(0.9, 0.5, 2.0), batch([3.0], [1.0], True), 2,
                                   position, never)
    assert terminated.item() == 1.0


@pytest.mark.parametrize("model_discount, horizon", [(0.0, 1), (0.0, 3), (0.5, 2), (0.9, 1), (0.8, 4)])
def test_with_the_exact_critic_the_target_is_the_exact_value_at_every_horizon(model_discount, horizon):
    # Q(x) = sum_k 0.9^k x / 2^k = x / 0.55; Q(s = 3, a) = r + 3 * 0.45 / 0.55.
    exact = LinearAgent(0.9, 0.0, 1 / 0.55)
    target = gamma_mve_targets(MeanOccupancy(model_discount), exact, batch([3.0], [1.0]), horizon, position, never)
    assert target.item() == pytest.approx(1 + 3 * 0.45 / 0.55, rel=1e-5)


def test_sampled_occupancy_draws_average_to_the_exact_value():
    rows = 40_000
    generator = torch.Generator().manual_seed(0)
    target = gamma_mve_targets(HalvingOccupancy(0.5), LinearAgent(0.9, 0.0, 1 / 0.55),
                               batch([3.0] * rows, [1.0] * rows), 3, position, never, generator)
    assert target.mean().item() == pytest.approx(1 + 3 * 0.45 / 0.55, abs=0.02)


END = 5.0


class Chain:
    """x' = x + 1 on 0..5 (any action); reaching 5 ends the episode; the reward is x."""

    discount = 0.0

    @staticmethod
    def sample(obs, act, generator=None):
        return (obs + 1).clamp(max=END)

    @staticmethod
    def termination(obs, act, next_obs):
        return next_obs[:, 0] >= END


def chain_value(x, gamma):
    """sum_k gamma^k x_k over the states before the end."""
    return sum(gamma ** k * (x + k) for k in range(int(END - x)))


class ChainOccupancy:
    """The chain's exact gamma-model, drawn by rolling the chain itself out."""

    def __init__(self, discount):
        self.discount, self.act_dim = discount, 1

    def sample(self, obs, act, generator=None):
        return rollout_occupancy(Chain, obs, lambda s: torch.zeros(s.shape[0], 1), self.discount, 1,
                                 Chain.termination, max_steps=50, generator=generator)[0]


def test_the_state_reward_is_zero_where_the_task_ends():
    rho, alive = occupancy_reward(position, Chain.termination, torch.tensor([[2.0], [5.0]]), torch.zeros(2, 1))
    assert rho.tolist() == [2.0, 0.0] and alive.tolist() == [1.0, 0.0]


def test_the_gamma_model_terminal_value_of_the_chain_matches_its_exact_value():
    generator = torch.Generator().manual_seed(0)
    value = GammaValue(ChainOccupancy(0.8), position, Chain.termination, torch.zeros(1), 100_000, generator)
    got = value(torch.tensor([[0.0], [2.0], [4.0], [5.0]]))
    expected = [chain_value(x, 0.8) for x in (0.0, 2.0, 4.0, 5.0)]  # 2 + 0.8 3 + 0.64 4 = 6.96 from 2
    assert expected[1] == pytest.approx(6.96) and expected[3] == 0.0
    assert got.tolist() == pytest.approx(expected, abs=0.05)


def to_go(obs, act, next_obs):
    return END - obs[:, 0]


@pytest.mark.slow
def test_a_gamma_model_trained_by_generative_td_values_the_chain_within_fifteen_percent():
    """Rewarded END - x and absorbing at END without an end (a reward that is smooth where the
    learned density smears the last state), V(x) = sum_k 0.8^k max(END - x - k, 0)."""
    from mbrl_zoo.buffer import ReplayBuffer
    generator = torch.Generator().manual_seed(0)
    buffer = ReplayBuffer(1, 1, 1000)
    for x in range(6):
        for _ in range(40):
            buffer.add([float(x)], [0.0], [float(min(x + 1, END))], END - x, False)
    model = GammaModel(1, 1, discount=0.8, components=6, hidden=64, layers=2, generator=generator)
    value = GammaValue(model, to_go, never, torch.zeros(1), 1000, generator)
    for _ in range(3):
        value.fit(buffer, updates=500, batch_size=128, lr=3e-3, tau=0.01, generator=generator)
    exact = [sum(0.8 ** k * max(END - x - k, 0.0) for k in range(6)) for x in (0.0, 2.0, 4.0)]
    assert exact == pytest.approx([11.5536, 5.24, 1.0])
    assert value(torch.tensor([[0.0], [2.0], [4.0]])).tolist() == pytest.approx(exact, rel=0.15)


def test_terminal_value_keeps_true_for_td_and_names_gamma():
    assert resolve("pets-value", {}).algorithm.value_kind == "td"
    assert resolve("pets", {}).algorithm.value_kind is None
    assert resolve("pets-gamma", {}).algorithm.value_kind == "gamma"
    with pytest.raises(UserError, match="expected bool or one of 'td', 'gamma'"):
        resolve("pets-gamma", {"algorithm": {"terminal_value": "flow"}})
    with pytest.raises(UserError, match="gamma_samples"):
        resolve("pets-gamma", {"algorithm": {"gamma_samples": 0}})


def test_gamma_is_taken_by_gamma_mve_and_refused_as_a_one_step_model():
    assert resolve("gamma-mve", {}).model_name == "gamma"
    with pytest.raises(UserError, match="needs a model that is occupancy.*Models that fit: gamma"):
        resolve("gamma-mve", {"model": {"name": "pe"}})
    for pairing in ("mve", "pets-gamma"):
        with pytest.raises(UserError, match="predicts discounted state occupancy"):
            resolve(pairing, {"model": {"name": "gamma"}})


def test_the_cli_check_builds_gamma_mve_without_the_one_step_contract():
    from mbrl_zoo.config import check_buildable
    check_buildable(resolve("gamma-mve", {"run": {"task": "InvertedPendulum-v5"}, "model": {"hidden": 16}}))

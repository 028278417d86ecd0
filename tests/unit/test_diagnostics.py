"""Value-estimate bias/variance by rollout length, and ensemble calibration (known answers)."""

import math

import pytest
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.models.base import DynamicsModel
from mbrl_zoo.models.diagnostics import (ensemble_predictive, fit_value_function, gaussian_nll, interval_coverage,
                                         policy_returns, reliability, value_error_decomposition, value_estimates)


class Drift(DynamicsModel):
    """s' = s + a + offset[member]: two members that disagree by a known constant."""

    def __init__(self, offsets=(0.0, 1.0)):
        super().__init__()
        self.obs_dim, self.act_dim, self.ensemble_size = 1, 1, len(offsets)
        self.offsets = torch.tensor(offsets, dtype=torch.float64)

    def predict(self, obs, act):
        means = obs + act + self.offsets[:, None, None]
        return means, torch.full_like(means, 0.25)

    def mean(self, obs, act, member=None):
        return obs + act + (self.offsets.mean() if member is None else self.offsets[member][:, None])

    def sample(self, obs, act, member=None, generator=None):
        return self.mean(obs, act, member)


def reward(obs, act, next_obs):
    return next_obs[:, 0]


def one(obs):
    return torch.ones_like(obs)


def test_value_estimates_known_answer_per_member_and_horizon():
    obs0 = torch.tensor([[0.0], [10.0]], dtype=torch.float64)
    est = value_estimates(Drift(), obs0, one, reward, lambda o: 100 * o[:, 0], horizons=[0, 1, 2], discount=0.5,
                          particles=2)
    assert est.shape == (3, 4, 2)
    # member 0: s_t = s0 + t; member 1: s_t = s0 + 2t
    s0 = obs0[:, 0]
    assert torch.allclose(est[0], (100 * s0).expand(4, 2))
    member0_h2 = (s0 + 1) + 0.5 * (s0 + 2) + 0.25 * 100 * (s0 + 2)
    member1_h2 = (s0 + 2) + 0.5 * (s0 + 4) + 0.25 * 100 * (s0 + 4)
    assert torch.allclose(est[2, 0], member0_h2) and torch.allclose(est[2, 1], member0_h2)
    assert torch.allclose(est[2, 2], member1_h2) and torch.allclose(est[2, 3], member1_h2)


def test_termination_stops_reward_and_terminal_value():
    obs0 = torch.zeros(1, 1, dtype=torch.float64)
    est = value_estimates(Drift((0.0,)), obs0, one, reward, lambda o: 100 * o[:, 0], horizons=[3], discount=1.0,
                          termination_fn=lambda o, a, n: n[:, 0] >= 1)
    assert est.item() == 1.0  # the reward of the terminating step, then nothing


def test_policy_returns_matches_value_estimate_without_critic():
    obs0 = torch.tensor([[0.0], [3.0]], dtype=torch.float64)
    model = Drift((0.0,))
    truth = policy_returns(model, obs0, one, reward, steps=4, discount=0.9)
    est = value_estimates(model, obs0, one, reward, lambda o: torch.zeros(len(o), dtype=o.dtype), [4], 0.9)
    assert torch.allclose(truth, est[0, 0])
    assert torch.allclose(truth[0], torch.tensor(sum(0.9**t * (t + 1) for t in range(4)), dtype=torch.float64))


def test_bad_horizons_raise():
    with pytest.raises(UserError, match="horizons"):
        value_estimates(Drift(), torch.zeros(1, 1), one, reward, lambda o: o[:, 0], [-1], 0.9)


def test_decomposition_is_exact_and_known():
    generator = torch.Generator().manual_seed(0)
    estimates = torch.randn(3, 2, 5, 7, generator=generator, dtype=torch.float64)
    truth = torch.randn(7, generator=generator, dtype=torch.float64)
    parts = value_error_decomposition(estimates, truth)
    direct = (estimates - truth).square().mean(dim=(0, 2, 3))
    assert torch.allclose(parts["mse"], direct)
    # two seeds, constant within each: no model variance, data variance 1, bias 0 against truth 0
    two = torch.tensor([1.0, -1.0], dtype=torch.float64)[:, None, None, None].expand(2, 1, 4, 3)
    parts = value_error_decomposition(two, torch.zeros(3, dtype=torch.float64))
    assert parts["bias2"].item() == 0 and parts["var_model"].item() == 0 and parts["var_data"].item() == 1
    with pytest.raises(UserError, match="truth"):
        value_error_decomposition(estimates, truth[:3])


def test_fit_value_function_learns_a_linear_value():
    generator = torch.Generator().manual_seed(0)
    obs = torch.randn(512, 2, generator=generator)
    value = fit_value_function(obs, 3 * obs[:, 0] - obs[:, 1], steps=300, generator=generator)
    test = torch.randn(64, 2, generator=generator)
    assert (value(test) - (3 * test[:, 0] - test[:, 1])).abs().mean() < 0.3


def test_ensemble_predictive_adds_member_spread():
    mean, var = ensemble_predictive(Drift(), torch.zeros(3, 1, dtype=torch.float64), torch.zeros(3, 1, dtype=torch.float64))
    assert torch.allclose(mean, torch.full((3, 1), 0.5, dtype=torch.float64))
    assert torch.allclose(var, torch.full((3, 1), 0.25 + 0.25, dtype=torch.float64))


def test_calibration_of_a_true_gaussian():
    generator = torch.Generator().manual_seed(0)
    target = 2.0 * torch.randn(20000, 2, generator=generator, dtype=torch.float64)
    mean, var = torch.zeros_like(target), torch.full_like(target, 4.0)
    covered = interval_coverage(mean, var, target, [1, 2])
    assert abs(covered[0] - 0.6827) < 0.01 and abs(covered[1] - 0.9545) < 0.01
    levels = (0.2, 0.5, 0.9)
    assert torch.allclose(reliability(mean, var, target, levels), torch.tensor(levels, dtype=torch.float64), atol=0.01)
    # an overconfident model (variance 4x too small) covers less than nominal
    assert (reliability(mean, var / 4, target, levels) < torch.tensor(levels, dtype=torch.float64)).all()
    nll = gaussian_nll(mean, var, target).mean()
    assert abs(nll - 0.5 * (1 + math.log(2 * math.pi * 4))) < 0.02

"""The gamma-model (Janner et al. 2020) against the known occupancy of a linear system
s' = s / 2 under discount 1/2 (E[s_e] = s / 3, E[s_e^2] = s^2 / 7), its TD targets (gamma = 0 is
the one-step model, terminal transitions absorb), Monte-Carlo occupancy from a one-step model,
save/load, and its refusal by the one-step algorithms and planners."""

import pytest
import torch

from mbrl_zoo.config import resolve
from mbrl_zoo.errors import UserError
from mbrl_zoo.models import GammaModel, build_model, fit_gamma, rollout_occupancy
import mbrl_zoo.app  # noqa: F401  (registers every component)
from mbrl_zoo.types import Batch


class Halving:
    """s' = s / 2 as a one-step model (the action is ignored)."""

    def sample(self, obs, act, member=None, generator=None):
        return 0.5 * obs


def zero_policy(obs):
    return torch.zeros(obs.shape[0], 1)


def halving_data(n: int = 2000, seed: int = 0, terminated: torch.Tensor | None = None) -> Batch:
    g = torch.Generator().manual_seed(seed)
    s = torch.rand(n, 1, generator=g) * 2 - 1
    done = torch.zeros(n, dtype=torch.bool) if terminated is None else terminated
    return Batch(s, torch.zeros(n, 1), 0.5 * s, torch.zeros(n), done, torch.zeros(n, dtype=torch.bool))


START = torch.tensor([[0.9], [-0.6], [0.3]])


def test_rollout_occupancy_matches_the_geometric_mixture_of_a_known_system():
    draws = rollout_occupancy(Halving(), START, zero_policy, 0.5, 40_000, generator=torch.Generator().manual_seed(1))
    assert draws.shape == (40_000, 3, 1)
    # sum_k (1 - g) g^(k-1) 2^-k = 1/3 and sum_k (1 - g) g^(k-1) 4^-k = 1/7 for g = 1/2
    torch.testing.assert_close(draws.mean(0), START / 3, atol=4e-3, rtol=0)
    torch.testing.assert_close(draws.square().mean(0), START.square() / 7, atol=4e-3, rtol=0)
    one_step = rollout_occupancy(Halving(), START, zero_policy, 0.0, 5)
    torch.testing.assert_close(one_step, (0.5 * START).expand(5, 3, 1))


def test_rollout_occupancy_absorbs_at_a_termination():
    def ends_below_half(obs, act, next_obs):
        return next_obs[:, 0].abs() < 0.5

    draws = rollout_occupancy(Halving(), torch.tensor([[0.9]]), zero_policy, 0.9, 2000, ends_below_half,
                              generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(draws, torch.full_like(draws, 0.45))  # 0.45 ends the episode and stays there


def test_td_targets_are_the_next_state_at_gamma_zero_and_at_terminal_transitions():
    data = halving_data(64, terminated=torch.arange(64) % 2 == 0)
    one_step = GammaModel(1, 1, discount=0.0, hidden=16, layers=1)
    one_step.set_normalizers(data)
    torch.testing.assert_close(one_step.td_targets(data, zero_policy(data.next_obs)), data.next_obs)
    loss, _ = one_step.td_loss(data, zero_policy(data.next_obs))
    torch.testing.assert_close(loss, one_step.density.loss(data)[0])
    far = GammaModel(1, 1, discount=0.9, hidden=16, layers=1)
    far.set_normalizers(data)
    targets = far.td_targets(data, zero_policy(data.next_obs), torch.Generator().manual_seed(0))
    torch.testing.assert_close(targets[data.terminated], data.next_obs[data.terminated])
    assert (targets[~data.terminated] != data.next_obs[~data.terminated]).float().mean() > 0.7  # ~90% bootstrapped


def test_generative_td_learns_the_discounted_occupancy_of_a_linear_system():
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = GammaModel(1, 1, discount=0.5, hidden=32, layers=2, generator=torch.Generator().manual_seed(0))
    stats = fit_gamma(model, halving_data(), zero_policy, 600, batch_size=128, tau=0.02, generator=generator)
    assert len(stats.losses) == 600
    with torch.no_grad():
        torch.testing.assert_close(model.mean(START, zero_policy(START)), START / 3, atol=0.05, rtol=0)
        # Q(s, a) for the state reward r(s) = s: E[s_e] / (1 - gamma) = 2 s / 3
        value = model.value(START, zero_policy(START), lambda s: s[:, 0], samples=4000, generator=generator)
        torch.testing.assert_close(value, 2 * START[:, 0] / 3, atol=0.1, rtol=0)


def test_save_and_load_round_trip_the_density_target_and_normalisers(tmp_path):
    data = halving_data(256)
    model = GammaModel(1, 1, discount=0.8, hidden=16, layers=1)
    fit_gamma(model, data, zero_policy, 5, generator=torch.Generator().manual_seed(0))
    torch.save(model.state_dict(), tmp_path / "gamma.pt")
    loaded = GammaModel(1, 1, discount=0.8, hidden=16, layers=1)
    loaded.load_state_dict(torch.load(tmp_path / "gamma.pt"))
    assert bool(loaded.fitted)
    torch.testing.assert_close(loaded.mean(START, zero_policy(START)), model.mean(START, zero_policy(START)))
    torch.testing.assert_close(loaded.target.mean(START, zero_policy(START)), model.target.mean(START, zero_policy(START)))


def test_bad_settings_and_one_step_consumers_are_refused():
    with pytest.raises(UserError, match=r"model\.discount=1\.0 is not allowed: it must lie in \[0, 1\)"):
        build_model("gamma", 1, 1, discount=1.0)
    with pytest.raises(UserError, match=r"model\.layers=0 is not allowed: it must be >= 1"):
        GammaModel(1, 1, layers=0)
    with pytest.raises(UserError, match="unknown key model.generatr"):
        GammaModel(1, 1, generatr=None)
    with pytest.raises(UserError, match="fit_gamma needs"):
        fit_gamma(GammaModel(1, 1, hidden=8, layers=1), halving_data(8), zero_policy, 1, tau=0.0)
    for bad in ({"lr": -1.0}, {"lr": float("nan")}, {"weight_decay": -1e-4}):
        with pytest.raises(UserError, match=f"{next(iter(bad))}="):
            fit_gamma(GammaModel(1, 1, hidden=8, layers=1), halving_data(8), zero_policy, 1, **bad)
    for pairing in ("pets", "dyna", "mbpo", "mve"):
        with pytest.raises(UserError, match="predicts discounted state occupancy"):
            resolve(pairing, {"run": {"task": "InvertedPendulum-v5"}, "model": {"name": "gamma"}})

"""Value expansion (MVE, Feinberg et al. 2018; STEVE, Buckman et al. 2018): the candidate and
TD-k targets against hand-computed values, terminations, the inverse-variance mix, T_0 = SAC's
own target, and STEVE falling back to short horizons when the ensemble disagrees."""

import numpy as np
import pytest
import torch

from algorithms.mve import mve_critic_batch
from algorithms.sac import SACAgent
from algorithms.steve import steve_target
from algorithms.value_expansion import Imagined, candidate_targets, imagine, inverse_variance_mix, td_k_targets
from mbrl_zoo.types import Batch

GAMMA, ALPHA = 0.5, 0.1


def hand_made(continues=((1.0,), (1.0,))) -> Imagined:
    """H = 2, one row: rewards 2, 3; log-probs -1, -2, -3; critic 0 values 10, 20, 30 at x_0..x_2,
    critic 1 one more."""
    tail = torch.tensor([[[10.0], [11.0]], [[20.0], [21.0]], [[30.0], [31.0]]])
    return Imagined(obs=torch.zeros(3, 1, 1), act=torch.zeros(3, 1, 1), log_prob=torch.tensor([[-1.0], [-2.0], [-3.0]]),
                    rew=torch.tensor([[2.0], [3.0]]), continues=torch.tensor(continues), tail=tail)


def test_candidate_targets_match_the_hand_computed_soft_expansions():
    targets = candidate_targets(torch.tensor([1.0]), torch.tensor([False]), hand_made(), GAMMA, ALPHA)
    # V_0 = 10 + 0.1; V_1 = (2 + 0.1) + 0.5 (20 + 0.2); V_2 = 2.1 + 0.5 (3 + 0.2) + 0.25 (30 + 0.3); T = 1 + 0.5 V
    expected = torch.tensor([[6.05, 6.55], [7.1, 7.35], [6.6375, 6.7625]])
    torch.testing.assert_close(targets[..., 0], expected)


def test_a_predicted_termination_stops_the_expansion_and_a_real_one_stops_all():
    ended_at_0 = hand_made(continues=((0.0,), (0.0,)))
    targets = candidate_targets(torch.tensor([1.0]), torch.tensor([False]), ended_at_0, GAMMA, ALPHA)[:, 0, 0]
    torch.testing.assert_close(targets, torch.tensor([6.05, 2.05, 2.05]))  # V_1 = V_2 = r_0 - alpha log pi_0
    real_end = candidate_targets(torch.tensor([1.0]), torch.tensor([True]), hand_made(), GAMMA, ALPHA)
    torch.testing.assert_close(real_end, torch.ones(3, 2, 1))


def test_td_k_targets_expand_every_imagined_pair_to_the_horizon():
    targets, alive = td_k_targets(hand_made(), GAMMA, ALPHA)
    # V(x_2) = 30 + 0.3 (the smaller critic); Q(x_1, a_1) = 3 + 0.5 V(x_2); Q(x_0, a_0) = 2 + 0.5 (Q_1 + 0.2)
    torch.testing.assert_close(targets[:, 0], torch.tensor([11.175, 18.15]))
    assert alive.tolist() == [[True], [True]]
    # The real pair's H-step target is r + gamma (Q(x_0, a_0) - alpha log pi_0): one expansion, two views.
    t_h = candidate_targets(torch.tensor([1.0]), torch.tensor([False]), hand_made(), GAMMA, ALPHA)[-1].min(0).values
    torch.testing.assert_close(t_h, 1.0 + GAMMA * (targets[0] + ALPHA * 1.0))
    ended, alive = td_k_targets(hand_made(continues=((0.0,), (1.0,))), GAMMA, ALPHA)
    assert ended[0, 0].item() == pytest.approx(2.0) and alive.tolist() == [[True], [False]]


def test_inverse_variance_mix_weights_horizons_by_their_precision():
    candidates = torch.tensor([[[0.0], [2.0]], [[3.0], [7.0]]])  # means 1 and 5, variances 1 and 4
    target, weights = inverse_variance_mix(candidates)
    torch.testing.assert_close(weights[:, 0], torch.tensor([0.8, 0.2]))
    torch.testing.assert_close(target, torch.tensor([1.8]))


class Shift:
    """A stand-in model: x' = x + 1 + 10 member (member 0 when None), NaN where x > ``nan_above``."""

    obs_dim, act_dim, ensemble_size, elites = 1, 1, 2, torch.tensor([0, 1])

    def __init__(self, nan_above: float = float("inf"), spread: float = 10.0):
        self.nan_above, self.spread = nan_above, spread

    def sample(self, obs, act, member=None, generator=None):
        step = 1.0 + (0.0 if member is None else self.spread * member.unsqueeze(-1).float())
        return torch.where(obs > self.nan_above, torch.nan, obs + step)


def agent(seed: int = 0) -> SACAgent:
    return SACAgent(1, 1, -np.ones(1), np.ones(1), hidden=(16, 16), discount=GAMMA, seed=seed)


def reward(obs, act, next_obs):
    return next_obs[:, 0]


def ends_above_2_5(obs, act, next_obs):
    return next_obs[:, 0] > 2.5


def test_imagine_follows_the_model_per_member_and_records_terminations():
    out = imagine(Shift(), agent(), torch.zeros(2, 1), 3, torch.tensor([0, 1]), reward, ends_above_2_5)
    assert out.obs[:, :, 0].tolist() == [[0, 0], [1, 11], [2, 22], [3, 33]]
    assert out.rew.tolist() == [[1, 11], [2, 22], [3, 33]]
    assert out.alive.tolist() == [[1, 1], [1, 0], [1, 0], [0, 0]]
    assert out.act.shape == (4, 2, 1) and out.log_prob.shape == (4, 2) and out.tail.shape == (4, 2, 2)
    assert bool((out.act.abs() <= 1).all())


def test_a_non_finite_prediction_ends_its_row_without_spreading_nan():
    out = imagine(Shift(nan_above=0.5), agent(), torch.tensor([[0.0], [1.0]]), 2, None, reward, ends_above_2_5)
    assert out.alive[:, 1].tolist() == [1, 0, 0] and out.alive[:, 0].tolist() == [1, 1, 0]  # row 0: NaN at x_1 = 1
    assert bool(torch.isfinite(out.obs).all() and torch.isfinite(out.rew).all() and torch.isfinite(out.tail).all())


def transitions(n: int = 8) -> Batch:
    g = torch.Generator().manual_seed(3)
    return Batch(obs=torch.randn(n, 1, generator=g), act=torch.rand(n, 1, generator=g) * 2 - 1,
                 next_obs=torch.randn(n, 1, generator=g) * 0.1, rew=torch.randn(n, generator=g),
                 terminated=torch.arange(n) == 0, truncated=torch.zeros(n, dtype=torch.bool))


def never(obs, act, next_obs):
    return torch.zeros(obs.shape[0], dtype=torch.bool)


def test_horizon_zero_candidate_is_sacs_own_target():
    learner, batch = agent(), transitions()
    state = learner.generator.get_state()
    imagined = imagine(Shift(), learner, batch.next_obs, 2, None, reward, never)
    t_0 = candidate_targets(batch.rew, batch.terminated, imagined, learner.discount, learner.alpha)[0].min(0).values
    learner.generator.set_state(state)  # the same policy draw at s'
    torch.testing.assert_close(t_0, learner.soft_td_target(batch))


def test_mve_critic_batch_holds_the_real_pairs_then_the_live_imagined_ones():
    batch = transitions()
    obs, act, target = mve_critic_batch(Shift(), agent(), batch, 3, reward, never)
    # 8 real pairs, then 3 imagined steps of the 7 rows whose real transition did not terminate
    assert obs.shape == (8 + 3 * 7, 1) and act.shape == (29, 1) and target.shape == (29,)
    torch.testing.assert_close(obs[:8], batch.obs)
    assert target[0].item() == pytest.approx(batch.rew[0].item())  # a terminal real transition: r alone


def test_steve_falls_back_to_short_horizons_when_the_members_disagree():
    batch = transitions()
    batch = Batch(batch.obs, batch.act, batch.next_obs, batch.rew, torch.zeros(8, dtype=torch.bool), batch.truncated)
    _, disagree = steve_target(Shift(spread=100.0), agent(), batch, 3, reward, never)
    _, agree = steve_target(Shift(spread=0.0), agent(), batch, 3, reward, never)
    assert disagree.shape == (4, 8)
    torch.testing.assert_close(disagree.sum(0), torch.ones(8))
    assert bool((disagree[0] > 0.99).all())  # members 100 apart: only T_0 is trusted
    longer = agree[1:].sum(0)  # members alike: the longer horizons count (spread by policy noise alone)
    assert bool((longer > 0.1).all()) and longer.mean().item() > 0.5

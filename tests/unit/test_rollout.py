"""Batched rollouts through a model with known (linear) dynamics: returns equal hand-computed
sums, PETS propagation assigns members as specified, termination stops accumulation."""

import math

import pytest
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.models.base import DynamicsModel
from mbrl_zoo.rollout import make_objective, rollout_returns

DECAY, GAIN = 0.9, 0.5


class LinearEnsemble(DynamicsModel):
    """``s' = DECAY * s + GAIN * sum(a) + offset[member]`` in every dimension, noise-free.

    Member m adds ``offset[m] = m / 10``, so the member that predicted a row can be read off;
    ``member=None`` averages the offsets (``mean``) or draws a member per row (``sample``).
    Every call's member tensor and row count are recorded.
    """

    def __init__(self, obs_dim=2, act_dim=1, ensemble_size=4, elites=None, learned_reward=False):
        super().__init__()
        self.obs_dim, self.act_dim, self.ensemble_size = obs_dim, act_dim, ensemble_size
        self._elites = elites
        self.offset = torch.arange(ensemble_size, dtype=torch.float32) / 10
        self.members, self.rows = [], []
        if learned_reward:
            self.reward_fn = lambda obs, act, next_obs: -next_obs[:, 0]

    @property
    def elites(self):
        return torch.arange(self.ensemble_size) if self._elites is None else torch.tensor(self._elites)

    def mean(self, obs, act, member=None):
        self.rows.append(obs.shape[0])
        offset = self.offset.mean() if member is None else self.offset[member].unsqueeze(-1)
        return DECAY * obs + GAIN * act.sum(-1, keepdim=True) + offset

    def sample(self, obs, act, member=None, generator=None):
        self.members.append(None if member is None else member.clone())
        if member is None:
            member = torch.randint(self.ensemble_size, (obs.shape[0],), generator=generator)
        return self.mean(obs, act, member)


def reward(obs, act, next_obs):
    """``sum(s') - 0.1 * sum(a^2)`` per row: (B,)."""
    return next_obs.sum(-1) - 0.1 * act.square().sum(-1)


def hand_return(obs0, actions, offset, discount=1.0, threshold=math.inf, value=None):
    """The return of one action sequence (H, A) from ``obs0`` with member offset ``offset``, by a
    plain Python loop: reward summed until (and including) the step where s'[0] > threshold."""
    obs, total, weight = [float(x) for x in obs0], 0.0, 1.0
    for act in actions.tolist():
        nxt = [DECAY * o + GAIN * sum(act) + offset for o in obs]
        total += weight * (sum(nxt) - 0.1 * sum(a * a for a in act))
        weight *= discount
        obs = nxt
        if nxt[0] > threshold:
            return total
    return total + (weight * value(obs) if value else 0.0)


OBS0 = torch.tensor([0.3, -0.2])
ACTIONS = torch.tensor([[[0.5], [-1.0], [0.2]], [[1.0], [1.0], [1.0]], [[-0.4], [0.0], [0.7]]])  # (N=3, H=3, A=1)


def test_expectation_matches_hand_computed_returns_with_one_model_call_per_step():
    model = LinearEnsemble()
    returns = rollout_returns(model, OBS0, ACTIONS, reward_fn=reward, particles=20, propagation="expectation")
    mean_offset = float(model.offset.mean())
    expected = [hand_return(OBS0, a, mean_offset) for a in ACTIONS]
    assert returns.shape == (3,)
    assert returns.tolist() == pytest.approx(expected, rel=1e-5)
    assert model.rows == [3, 3, 3]  # deterministic: particles collapse to one row per candidate


def test_tsinf_keeps_member_p_mod_e_for_particle_p_and_matches_hand_computed_returns():
    model = LinearEnsemble(ensemble_size=4)
    returns = rollout_returns(model, OBS0, ACTIONS, reward_fn=reward, particles=6, propagation="tsinf")
    assert model.rows == [18, 18, 18]  # one batch of N * P rows per step
    expected_members = torch.tensor([p % 4 for p in range(6)] * 3)
    assert all(torch.equal(m, expected_members) for m in model.members)
    expected = [sum(hand_return(OBS0, a, (p % 4) / 10) for p in range(6)) / 6 for a in ACTIONS]
    assert returns.tolist() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("propagation", ["tsinf", "ts1", "sample"])
def test_a_deterministic_single_member_model_is_rolled_out_once_per_candidate(propagation):
    model = LinearEnsemble(ensemble_size=1)
    model.deterministic = True
    returns = rollout_returns(model, OBS0, ACTIONS, reward_fn=reward, particles=20, propagation=propagation)
    assert model.rows == [3, 3, 3]
    assert returns.tolist() == pytest.approx([hand_return(OBS0, a, 0.0) for a in ACTIONS], rel=1e-5)
    several = LinearEnsemble(ensemble_size=2, elites=[0, 1])
    several.deterministic = True  # a deterministic ensemble still needs its particles
    rollout_returns(several, OBS0, ACTIONS, reward_fn=reward, particles=4, propagation=propagation)
    assert several.rows == [12, 12, 12]


def test_tsinf_uses_only_the_elites_when_the_model_names_them():
    model = LinearEnsemble(ensemble_size=5, elites=[1, 3])
    rollout_returns(model, OBS0, ACTIONS, reward_fn=reward, particles=4, propagation="tsinf")
    assert model.members[0].tolist() == [1, 3, 1, 3] * 3


def test_ts1_gives_each_member_an_equal_share_and_redraws_every_step():
    model = LinearEnsemble(ensemble_size=4)
    actions = torch.zeros(10, 5, 1)
    gen = torch.Generator().manual_seed(0)
    rollout_returns(model, OBS0, actions, reward_fn=reward, particles=8, propagation="ts1", generator=gen)
    assert len(model.members) == 5
    for members in model.members:
        assert torch.bincount(members, minlength=4).tolist() == [20, 20, 20, 20]
    assert not all(torch.equal(model.members[0], m) for m in model.members[1:])


def test_sample_propagation_leaves_the_member_to_the_model_and_is_seeded():
    def run(seed):
        model = LinearEnsemble()
        gen = torch.Generator().manual_seed(seed)
        out = rollout_returns(model, OBS0, ACTIONS, reward_fn=reward, particles=5, propagation="sample", generator=gen)
        assert model.members == [None, None, None]
        return out

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


def test_termination_stops_accumulation_and_discount_and_value_apply():
    """Rows whose s'[0] exceeds 0.6 stop earning reward (the terminating step still counts) and
    get no terminal value; live rows get discount^H * value(s_H)."""
    model = LinearEnsemble()

    def termination(obs, act, next_obs):
        return next_obs[:, 0] > 0.6

    def value_fn(obs):
        return 10 * obs[:, 1]

    returns = rollout_returns(
        model, OBS0, ACTIONS, reward_fn=reward, termination_fn=termination, particles=1,
        propagation="tsinf", discount=0.9, value_fn=value_fn,
    )
    expected = [hand_return(OBS0, a, 0.0, discount=0.9, threshold=0.6, value=lambda o: 10 * o[1]) for a in ACTIONS]
    assert returns.tolist() == pytest.approx(expected, rel=1e-5)
    assert expected[1] == pytest.approx(hand_return(OBS0, ACTIONS[1][:1], 0.0))  # terminated on step one


def test_nan_of_a_live_particle_poisons_the_candidate_but_not_after_termination():
    class NanAfter(LinearEnsemble):
        def sample(self, obs, act, member=None, generator=None):
            nxt = super().sample(obs, act, member, generator)
            return torch.where(obs[:, :1] > 1.0, torch.nan, nxt)

    model = NanAfter()
    big = torch.full((1, 3, 1), 2.0)
    assert torch.isnan(rollout_returns(model, OBS0, big, reward_fn=reward, particles=2, propagation="tsinf")).all()
    stop = lambda obs, act, next_obs: next_obs[:, 0] > 1.0  # noqa: E731
    out = rollout_returns(model, OBS0, big, reward_fn=reward, termination_fn=stop, particles=2, propagation="tsinf")
    assert torch.isfinite(out).all()


def test_make_objective_runs_in_inference_mode_unless_differentiable():
    model = LinearEnsemble()
    objective = make_objective(model, OBS0.numpy(), reward, particles=3, propagation="tsinf")
    out = objective(ACTIONS)
    assert out.is_inference() and out.shape == (3,)

    actions = torch.zeros(1, 4, 1, requires_grad=True)
    differentiable = make_objective(model, OBS0, reward, particles=1, propagation="tsinf", differentiable=True)
    differentiable(actions).sum().backward()
    # d return / d a_t = 2 dims * GAIN * sum_{k=0}^{H-1-t} DECAY^k (zero actions: no action-cost gradient)
    expected = [2 * GAIN * sum(DECAY**k for k in range(4 - t)) for t in range(4)]
    assert actions.grad.flatten().tolist() == pytest.approx(expected, rel=1e-5)


def test_make_objective_uses_a_learned_reward_head_or_refuses():
    learned = LinearEnsemble(learned_reward=True)
    out = make_objective(learned, OBS0, None, propagation="expectation")(ACTIONS)
    assert out.tolist() == pytest.approx(
        [-sum(first_dim(a, float(learned.offset.mean()))) for a in ACTIONS], rel=1e-5
    )
    with pytest.raises(UserError, match="no learned reward head"):
        make_objective(LinearEnsemble(), OBS0, None)


def first_dim(actions, offset):
    """s'[0] at each step of the linear model from OBS0."""
    obs, out = float(OBS0[0]), []
    for act in actions.flatten().tolist():
        obs = DECAY * obs + GAIN * act + offset
        out.append(obs)
    return out


def test_bad_inputs_are_refused_with_the_expected_shapes():
    model = LinearEnsemble()
    with pytest.raises(UserError, match="unknown propagation 'ts2'; expected one of expectation, sample, ts1, tsinf"):
        rollout_returns(model, OBS0, ACTIONS, reward_fn=reward, propagation="ts2")
    with pytest.raises(UserError, match=r"reward_fn returned shape \(60, 1\); expected \(60,\)"):
        rollout_returns(model, OBS0, ACTIONS, reward_fn=lambda o, a, n: n[:, :1], propagation="ts1")
    with pytest.raises(UserError, match=r"needs obs0 \(O,\) and actions \(N, H, A\)"):
        rollout_returns(model, OBS0, ACTIONS[0], reward_fn=reward)


class NoisyShift(DynamicsModel):
    """Two members predicting s' = s + c_e with Gaussian noise of std 0.5: c = (0, 2)."""

    ensemble_size = 2

    def __init__(self):
        super().__init__()
        self.obs_dim, self.act_dim = 1, 1

    def predict(self, obs, act):
        shift = torch.tensor([0.0, 2.0]).view(2, 1, 1)
        return obs.unsqueeze(0) + shift, torch.full((2, *obs.shape), 0.25)

    def sample(self, obs, act, member=None, generator=None):
        if member is None:
            member = torch.randint(2, obs.shape[:1], generator=generator)
        means, variances = self.predict(obs, act)
        mean = means[member, torch.arange(obs.shape[0])]
        return mean + 0.5 * torch.randn(mean.shape, generator=generator)


@pytest.mark.parametrize("propagation", ["ds", "mm"])
def test_distribution_sampling_and_moment_matching_keep_the_mixtures_moments(propagation):
    """One step from s = 0: the mixture of N(0, 0.25) and N(2, 0.25) has mean 1 and variance
    0.25 + 1 = 1.25, so a reward s'^2 averages 1 + 1.25 = 2.25 over many particles."""
    actions = torch.zeros(4, 1, 1)
    returns = rollout_returns(NoisyShift(), torch.zeros(1), actions, reward_fn=lambda o, a, n: n[:, 0] ** 2,
                              particles=20_000, propagation=propagation, generator=torch.Generator().manual_seed(0))
    assert returns.shape == (4,)
    assert torch.allclose(returns, torch.full((4,), 2.25), atol=0.08)

"""Hidden checks of assignment 3: run by the grader only, not copied into the student pack."""

import torch

from mbrl_zoo.app.assignments.a3_model_rollouts.public_checks import at_four, expect_batch, rollouts, starts
from mbrl_zoo.app.grade import check, expect, need
from mbrl_zoo.models.base import DynamicsModel


class _NoisyModel(DynamicsModel):
    """s' = s + N(0, 1) noise drawn from the generator; rows whose dim 0 exceeds ``nan_above``
    get a NaN prediction. Records the ``member`` argument of every call."""

    def __init__(self, nan_above=float("inf")):
        super().__init__()
        self.obs_dim, self.act_dim, self.ensemble_size = 2, 1, 3
        self.nan_above, self.members = nan_above, []

    def sample(self, obs, act, member=None, generator=None):
        self.members.append(member)
        out = obs + torch.randn(obs.shape, generator=generator)
        out[obs[:, 0] > self.nan_above] = float("nan")
        return out

    def mean(self, obs, act, member=None):
        out = obs.clone()
        out[obs[:, 0] > self.nan_above] = float("nan")
        return out

    def predict(self, obs, act):
        return obs[None].clone(), torch.ones_like(obs)[None]


def _policy(obs):
    return torch.zeros(obs.shape[0], 1)


def _reward(obs, act, next_obs):
    return next_obs[:, 0]


def _never(obs, act, next_obs):
    return torch.zeros(obs.shape[0], dtype=torch.bool)


@check(points=2, timeout_s=20)
def check_truncation_marks(submission):
    """Only the last transition of a rollout still alive after length steps is marked truncated;
    terminal transitions are not."""
    counters = [0.0, 2.0, 3.0]
    batch = rollouts(submission, starts(counters), 3, at_four)
    for i, counter in enumerate(counters):
        mine = batch.obs[:, 1] == i
        cut, done = batch.truncated[mine], batch.terminated[mine]
        alive_at_end = counter + 3 < 4
        expected = [False] * (int(mine.sum()) - 1) + [alive_at_end]
        expect(cut.tolist() == expected, f"truncated flags of the rollout from counter {counter:g}: {cut.tolist()}, "
                                         f"expected {expected}.")
        expect(not bool((cut & done).any()), "a transition is marked both terminated and truncated.")


@check(points=1, timeout_s=20)
def check_nonfinite_predictions_dropped(submission):
    """A NaN prediction is dropped and ends its rollout; the others go on."""
    model = _NoisyModel(nan_above=0.0)
    start = torch.tensor([[5.0, 0.0], [-1e6, 0.0], [-2e6, 1.0]])
    batch = expect_batch(need(submission, "branched_rollouts")(model, start, _policy, 3, _reward, _never,
                                                               torch.Generator().manual_seed(1)), 2, 1)
    expect(batch.obs.shape[0] == 6, f"start 0 predicts NaN at once (dropped, rollout over) and the two others run "
                                    f"3 steps: 6 transitions expected, got {batch.obs.shape[0]}.")


@check(points=1, timeout_s=20)
def check_rollouts_sample_the_model(submission):
    """Rollouts draw from model.sample(..., member=None, generator): the same generator seed gives
    the same transitions, another seed others."""
    fn = need(submission, "branched_rollouts")
    start = torch.zeros(4, 2)
    model = _NoisyModel()
    first = expect_batch(fn(model, start, _policy, 2, _reward, _never, torch.Generator().manual_seed(2)), 2, 1)
    again = expect_batch(fn(_NoisyModel(), start, _policy, 2, _reward, _never, torch.Generator().manual_seed(2)), 2, 1)
    other = expect_batch(fn(_NoisyModel(), start, _policy, 2, _reward, _never, torch.Generator().manual_seed(3)), 2, 1)
    expect(first.obs.shape[0] == 8, f"4 rollouts of 2 steps make 8 transitions; got {first.obs.shape[0]}.")
    expect(bool(model.members) and all(m is None for m in model.members),
           "call model.sample with member=None (a random ensemble member per row, as MBPO does).")
    expect(torch.equal(first.next_obs, again.next_obs), "the same generator seed gave different rollouts; pass "
                                                        "`generator` to model.sample.")
    expect(not torch.equal(first.next_obs, other.next_obs), "different generator seeds gave the same rollouts; draw "
                                                            "next states with model.sample, not model.mean.")

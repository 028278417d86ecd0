"""Branched model rollouts, the rollout-length schedule, model-buffer retention and mixed
minibatches (Janner et al. 2019), with a tiny hand-written model."""

import pytest
import torch

from algorithms.model_rollouts import (branched_rollouts, mixed_batch, model_buffer_capacity,
                                       rollout_length)
from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.errors import UserError
from mbrl_zoo.models.base import DynamicsModel
from mbrl_zoo.tasks.spec import TaskSpec
from mbrl_zoo.types import Batch


class Counter(DynamicsModel):
    """next_obs = obs + 1 in every dimension, or NaN for rows whose obs[0] is negative."""

    def __init__(self, obs_dim: int = 2, act_dim: int = 1):
        super().__init__()
        self.obs_dim, self.act_dim = obs_dim, act_dim

    def sample(self, obs, act, member=None, generator=None):
        out = obs + 1
        return torch.where((obs[:, :1] < 0), torch.full_like(out, float("nan")), out)


def zero_policy(obs):
    return torch.zeros(obs.shape[0], 1)


def reward_is_obs(obs, act, next_obs):
    return next_obs[:, 0]


def past_three(obs, act, next_obs):
    return next_obs[:, 0] >= 3


@pytest.mark.parametrize("schedule, lengths", [
    ((20, 100, 1, 15), {0: 1, 19: 1, 20: 1, 60: 8, 99: 14, 100: 15, 500: 15}),
    ((1, 15, 1, 1), {0: 1, 7: 1, 100: 1}),
    ((20, 100, 1, 25), {20: 1, 21: 1, 24: 2, 100: 25}),
    ((5, 5, 1, 4), {4: 1, 5: 4}),
])
def test_schedule_gives_the_lengths_at_epoch_boundaries(schedule, lengths):
    assert {epoch: rollout_length(epoch, schedule) for epoch in lengths} == lengths


def test_branched_rollouts_stop_at_termination():
    starts = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.5, 0.0], [-10.0, 0.0]])
    batch = branched_rollouts(Counter(), starts, zero_policy, 5, reward_is_obs, past_three)
    # Rows from 0 and 1 end on reaching 3 (3 and 2 transitions), 2.5 ends at once, -10 is NaN.
    assert len(batch) == 3 + 2 + 1
    assert batch.obs[:, 0].tolist() == [0.0, 1.0, 2.5, 1.0, 2.0, 2.0]
    assert batch.terminated.tolist() == [False, False, True, False, True, True]
    assert not (batch.obs[:, 0] >= 3).any(), "no transition starts from a terminal state"
    assert torch.equal(batch.rew, batch.next_obs[:, 0])
    assert torch.isfinite(batch.next_obs).all()


def test_rollouts_still_alive_at_the_end_are_truncated():
    starts = torch.zeros(3, 2)
    batch = branched_rollouts(Counter(), starts, zero_policy, 2, reward_is_obs, past_three)
    assert len(batch) == 6
    assert batch.truncated.tolist() == [False] * 3 + [True] * 3
    assert not batch.terminated.any()
    assert batch.act.shape == (6, 1)


def test_chunked_rollouts_equal_unchunked():
    starts = torch.rand(50, 2)
    whole = branched_rollouts(Counter(), starts, zero_policy, 3, reward_is_obs, past_three)
    parts = branched_rollouts(Counter(), starts, zero_policy, 3, reward_is_obs, past_three, chunk=7)
    assert torch.equal(whole.next_obs, parts.next_obs) and torch.equal(whole.terminated, parts.terminated)


def test_model_buffer_capacity_follows_the_retention_setting():
    # Janner et al. 2019: 100k rollouts every 250 steps of a 1000-step epoch.
    assert model_buffer_capacity(100_000, 1, 1000, 250, 1) == 400_000
    assert model_buffer_capacity(100_000, 15, 1000, 250, 1) == 6_000_000
    assert model_buffer_capacity(100_000, 1, 250, 250, 5) == 500_000
    assert model_buffer_capacity(10, 3, 100, 250, 1) == 30  # epochs shorter than the fit period


def test_model_buffer_retains_exactly_the_last_epochs():
    """Two rollout batches per epoch, retention 1 epoch: after three epochs the buffer holds
    the third epoch's rollouts only; when k grows the buffer grows and keeps what it had."""
    capacity = model_buffer_capacity(4, 1, 10, 5, 1)
    buffer = ReplayBuffer(1, 1, capacity)
    for batch_index in range(6):
        rew = torch.full((4,), float(batch_index))
        buffer.add_batch(Batch(torch.zeros(4, 1), torch.zeros(4, 1), torch.zeros(4, 1), rew,
                               torch.zeros(4, dtype=torch.bool), torch.zeros(4, dtype=torch.bool)))
    assert len(buffer) == capacity == 8
    assert sorted(set(buffer.all().rew.tolist())) == [4.0, 5.0]
    before = buffer.all().rew.tolist()
    buffer.resize(model_buffer_capacity(4, 2, 10, 5, 1))
    assert buffer.capacity == 16 and buffer.all().rew.tolist() == before


def test_mixed_batch_holds_the_real_ratio():
    real, imagined = ReplayBuffer(1, 1, 100), ReplayBuffer(1, 1, 100)
    ones = Batch(torch.zeros(50, 1), torch.zeros(50, 1), torch.zeros(50, 1), torch.ones(50),
                 torch.zeros(50, dtype=torch.bool), torch.zeros(50, dtype=torch.bool))
    real.add_batch(ones)
    assert mixed_batch(real, imagined, 64, 0.05).rew.sum() == 64, "all real while the model buffer is empty"
    imagined.add_batch(Batch(ones.obs, ones.act, ones.next_obs, torch.zeros(50), ones.terminated, ones.truncated))
    batch = mixed_batch(real, imagined, 256, 0.05, torch.Generator().manual_seed(0))
    assert len(batch) == 256 and batch.rew.sum() == int(256 * 0.05)
    assert mixed_batch(real, imagined, 10, 1.0).rew.sum() == 10
    assert mixed_batch(real, imagined, 10, 0.0).rew.sum() == 0

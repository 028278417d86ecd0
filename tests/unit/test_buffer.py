import torch
import pytest

from mbrl_zoo.buffer import ReplayBuffer, episode_spans
from mbrl_zoo.errors import UserError
from mbrl_zoo.types import Batch


def _batch(start: int, n: int) -> Batch:
    v = torch.arange(start, start + n, dtype=torch.float32)
    return Batch(v[:, None].repeat(1, 3), v[:, None], v[:, None].repeat(1, 3) + 1, v,
                 v % 2 == 0, torch.zeros(n, dtype=torch.bool))


def test_wraps_around_keeping_newest_in_order():
    buf = ReplayBuffer(3, 1, capacity=5)
    for i in range(7):
        buf.add([i] * 3, [i], [i + 1] * 3, float(i), i % 2 == 0)
    assert len(buf) == 5
    assert buf.all().rew.tolist() == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert buf.all().terminated.tolist() == [True, False, True, False, True]


def test_add_batch_equals_repeated_add_and_handles_oversized_batch():
    a, b = ReplayBuffer(3, 1, 4), ReplayBuffer(3, 1, 4)
    a.add_batch(_batch(0, 3))
    a.add_batch(_batch(3, 3))
    for i in range(6):
        b.add([i] * 3, [i], [i + 1] * 3, float(i), i % 2 == 0)
    assert torch.equal(a.all().obs, b.all().obs)
    c = ReplayBuffer(3, 1, 4)
    c.add_batch(_batch(0, 10))
    assert c.all().rew.tolist() == [6.0, 7.0, 8.0, 9.0]


def test_uniform_sample_is_seeded_and_covers_buffer():
    buf = ReplayBuffer(3, 1, 100)
    buf.add_batch(_batch(0, 10))
    s1 = buf.sample(2000, torch.Generator().manual_seed(1))
    s2 = buf.sample(2000, torch.Generator().manual_seed(1))
    assert torch.equal(s1.obs, s2.obs)
    counts = torch.bincount(s1.rew.long(), minlength=10)
    assert counts.min() > 150 and counts.max() < 250  # ~200 each
    assert torch.equal(s1.next_obs, s1.obs + 1)  # rows stay aligned


def test_bootstrap_indices_shape_and_resampling():
    buf = ReplayBuffer(3, 1, 50)
    buf.add_batch(_batch(0, 40))
    idx = buf.bootstrap_indices(5, torch.Generator().manual_seed(0))
    assert idx.shape == (5, 40) and idx.max() < 40
    # with replacement: ~63% unique rows per member, and members differ
    unique = [len(set(row.tolist())) for row in idx]
    assert all(15 < u < 35 for u in unique)
    assert not torch.equal(idx[0], idx[1])


def test_save_load_round_trip(tmp_path):
    buf = ReplayBuffer(3, 1, 6)
    buf.add_batch(_batch(0, 8))
    buf.save(tmp_path / "buf.pt")
    back = ReplayBuffer.load(tmp_path / "buf.pt")
    assert len(back) == 6
    for f in ("obs", "act", "next_obs", "rew", "terminated", "truncated"):
        assert torch.equal(getattr(back.all(), f), getattr(buf.all(), f))
    back.add([99] * 3, [99], [100] * 3, 99.0, False)
    buf.add([99] * 3, [99], [100] * 3, 99.0, False)
    assert torch.equal(back.all().rew, buf.all().rew)


def test_bad_capacity_and_empty_sample_raise():
    with pytest.raises(UserError, match="capacity"):
        ReplayBuffer(3, 1, 0)
    with pytest.raises(UserError, match="empty"):
        ReplayBuffer(3, 1, 5).sample(4)


def test_episode_spans_split_at_ends_and_leave_out_an_unfinished_episode():
    buffer = ReplayBuffer(1, 1, capacity=10)
    for i, (terminated, truncated) in enumerate([(0, 0), (1, 0), (0, 0), (0, 0), (0, 1), (0, 0)]):
        buffer.add([i], [0.0], [i + 1], 0.0, bool(terminated), bool(truncated))
    assert episode_spans(buffer.state_dict()) == [(0, 1), (2, 4)]
    assert episode_spans(ReplayBuffer(1, 1, capacity=3).state_dict()) == []
    for i in range(5):  # 11 transitions in 10 rows: the oldest was overwritten
        buffer.add([i], [0.0], [i], 0.0, True)
    with pytest.raises(UserError, match="wrapped around"):
        episode_spans(buffer.state_dict())

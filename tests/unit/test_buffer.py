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


def test_storage_grows_with_the_transitions_held_and_sampling_ignores_it():
    """A buffer allocates rows as it fills (doubling up to capacity); what it holds, samples and
    saves is that of a buffer allocated whole."""
    big = ReplayBuffer(2, 1, 100_000)
    assert big.obs.shape[0] == ReplayBuffer.INITIAL_ROWS
    for i in range(3000):
        big.add([i, -i], [0.5], [i + 1, -i], float(i), i % 7 == 0)
    assert big.obs.shape[0] == 4096 and len(big) == 3000
    assert big.all().rew.tolist() == [float(i) for i in range(3000)]
    whole = ReplayBuffer(2, 1, 3000)
    whole.load_state_dict(big.state_dict())
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(big.sample(64, g1).obs, whole.sample(64, g2).obs)


def test_resize_keeps_the_newest_transitions_in_order():
    buffer = ReplayBuffer(1, 1, 10)
    for i in range(13):
        buffer.add([i], [0], [i + 1], float(i), False)
    buffer.resize(4)
    assert buffer.capacity == 4 and buffer.all().rew.tolist() == [9.0, 10.0, 11.0, 12.0]
    buffer.resize(20)
    buffer.add([13], [0], [14], 13.0, False)
    assert buffer.all().rew.tolist() == [9.0, 10.0, 11.0, 12.0, 13.0]


def test_load_state_dict_takes_the_saved_capacity():
    saved = ReplayBuffer(1, 1, 5)
    for i in range(7):
        saved.add([i], [0], [i + 1], float(i), False)
    restored = ReplayBuffer(1, 1, 1)
    restored.load_state_dict(saved.state_dict())
    assert restored.capacity == 5 and restored.all().rew.tolist() == saved.all().rew.tolist()
    with pytest.raises(UserError, match="obs shape"):
        ReplayBuffer(2, 1, 5).load_state_dict(saved.state_dict())

"""DAgger-style model learning (Ross & Bagnell 2012): the expert/learner minibatch mix, the
no-aggregation ablation, best-iterate selection, the simulation-lemma diagnostics on the slides'
Model A / Model B example, and bad input refused before a run starts."""

import numpy as np
import pytest
import torch

import algorithms.dagger_model
from algorithms.dagger_model import better, gather, load_expert_dataset, train_in_model, union
from algorithms.sac import SACAgent
from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import check_buildable, resolve
from mbrl_zoo.errors import UserError
from mbrl_zoo.models.diagnostics import trajectory_errors
from mbrl_zoo.models.environment import EnvironmentModel
from mbrl_zoo.models.families import DeterministicMLP
from mbrl_zoo.models.fit import fit, mixed_count
from mbrl_zoo.types import Batch


def _batch(n: int, marker: float) -> Batch:
    g = torch.Generator().manual_seed(int(marker) + 3)
    obs = torch.randn(n, 2, generator=g)
    obs[:, 0] = marker
    return Batch(obs, torch.randn(n, 1, generator=g), obs + 0.1, torch.zeros(n), torch.zeros(n, dtype=torch.bool),
                 torch.zeros(n, dtype=torch.bool))


@pytest.mark.parametrize("share", [0.5, 0.3, 0.125])
def test_mixed_count_holds_the_share_over_many_minibatches(share):
    counts = [mixed_count(32, share, j) for j in range(1000)]
    assert abs(sum(counts) - share * 32 * 1000) <= 1
    assert max(counts) - min(counts) <= 1


@pytest.mark.parametrize("share", [0.5, 0.2])
def test_fit_draws_the_share_of_every_minibatch_from_the_second_set(share):
    # 400 learner rows (marker 0) against 40 expert rows (marker 1): the mix is set by the share,
    # not by the sizes of the two sets.
    model = DeterministicMLP(2, 1, hidden=8, layers=1)
    seen = []
    loss = model.loss

    def spy(batch):
        seen.append(batch.obs[..., 0].reshape(-1))
        return loss(batch)

    model.loss = spy
    fit(model, _batch(400, 0.0), other=_batch(40, 1.0), other_share=share, epochs=3, batch_size=32,
        holdout_ratio=0.0, generator=torch.Generator().manual_seed(0))
    rows = torch.cat(seen)
    assert len(seen) == 3 * -(-440 // 32)
    assert abs(float(rows.mean()) - share) < 1.5 / len(rows) * len(seen)
    assert all(abs(float(s.sum()) - share * 32) <= 1 for s in seen)


def test_fit_with_share_one_or_zero_uses_one_set():
    for share, expected in ((1.0, 1.0), (0.0, 0.0)):
        model = DeterministicMLP(2, 1, hidden=8, layers=1)
        seen = []
        loss = model.loss
        model.loss = lambda batch: (seen.append(batch.obs[..., 0]), loss(batch))[1]
        fit(model, _batch(64, 0.0), other=_batch(64, 1.0), other_share=share, epochs=1, batch_size=16,
            holdout_ratio=0.0, generator=torch.Generator().manual_seed(0))
        assert torch.cat(seen).eq(expected).all()


def _buffer(batch: Batch) -> ReplayBuffer:
    buffer = ReplayBuffer(2, 1, 1000)
    buffer.add_batch(batch)
    return buffer


@pytest.mark.parametrize("aggregate, markers", [(True, {2.0, 3.0}), (False, {3.0})])
def test_aggregate_false_keeps_only_the_latest_iteration(aggregate, markers):
    learner = ReplayBuffer(2, 1, 1000)
    for marker in (2.0, 3.0):
        gather(learner, _buffer(_batch(10, marker)), aggregate)
    assert set(learner.all().obs[:, 0].tolist()) == markers
    assert len(learner) == 10 * len(markers)


def test_best_iterate_is_the_highest_real_return():
    best_iteration, best_return = None, None
    for iteration, ret in enumerate([3.0, 7.0, 7.0, 5.0, -1.0], start=1):
        if better(ret, best_return):
            best_iteration, best_return = iteration, ret
    assert (best_iteration, best_return) == (2, 7.0)


def _chain_episode(start: float, steps: int) -> Batch:
    """s_{t+1} = s_t + a_t with a_t = 1 from ``start``; reward = s_{t+1}."""
    obs = start + torch.arange(steps, dtype=torch.float32).unsqueeze(1)
    act = torch.ones(steps, 1)
    return Batch(obs, act, obs + act, (obs + act)[:, 0], torch.zeros(steps, dtype=torch.bool),
                 torch.zeros(steps, dtype=torch.bool))


def model_a(obs, act):
    """Right everywhere but the first transition (from s = 0), where it predicts no move."""
    return torch.where(obs == 0, obs, obs + act)


def model_b(obs, act):
    """Right only on the first transition (from s = 0); elsewhere it predicts no move."""
    return torch.where(obs == 0, obs + act, obs)


def reward(obs, act, next_obs):
    return next_obs[:, 0]


def test_model_a_and_model_b_errors_by_hand():
    # The expert's episode: 0 -> 1 -> 2 -> 3 -> 4. Every real change is +1, so the normalised
    # error falls back to the plain squared error (no variance to divide by).
    expert = [_chain_episode(0.0, 4)]
    a = trajectory_errors(model_a, reward, expert, horizon=4)
    b = trajectory_errors(model_b, reward, expert, horizon=4)
    # One step: A misses 1 of 4 transitions by 1, B misses 3 of 4 by 1.
    assert a["one_step_nmse"] == pytest.approx(1 / 4) and b["one_step_nmse"] == pytest.approx(3 / 4)
    # Four steps open loop from 0: A never leaves 0 (off by 4), B goes 0,1,1,1,1 (off by 3): the
    # one error at the start compounds, and A is the worse model of the expert's trajectory.
    assert a["h_step_nmse"] == pytest.approx(16.0) and b["h_step_nmse"] == pytest.approx(9.0)
    # Predicted return: A 0+0+0+0 = 0, B 1+1+1+1 = 4; real 1+2+3+4 = 10.
    assert a["return_gap"] == pytest.approx(-10.0) and b["return_gap"] == pytest.approx(-6.0)
    # A learner that starts at 5 never meets s = 0: A is exact there, B wrong on every step.
    learner = [_chain_episode(5.0, 4)]
    a = trajectory_errors(model_a, reward, learner, horizon=2, stride=2)
    b = trajectory_errors(model_b, reward, learner, horizon=2, stride=2)
    assert a == {"one_step_nmse": 0.0, "h_step_nmse": 0.0, "return_gap": 0.0, "return_gap_abs": 0.0}
    # B: windows from 5 and 7 predict no move; 2 steps off by 2, return 5+5 vs 6+7 and 7+7 vs 8+9.
    assert b["one_step_nmse"] == pytest.approx(1.0) and b["h_step_nmse"] == pytest.approx(4.0)
    assert b["return_gap"] == pytest.approx(-3.0) and b["return_gap_abs"] == pytest.approx(3.0)


def test_h_step_figures_are_none_when_no_episode_is_long_enough():
    out = trajectory_errors(model_a, reward, [_chain_episode(0.0, 3)], horizon=5)
    assert out["one_step_nmse"] == pytest.approx(1 / 3) and out["h_step_nmse"] is None


def _resolve(pairing="dagger-model", task="cartpole-balance", **algorithm):
    return resolve(pairing, {"run": {"task": task}, "algorithm": algorithm})


@pytest.mark.parametrize("settings, message", [
    ({"expert_fraction": 1.5}, "algorithm.expert_fraction=1.5 is not allowed: it must lie in [0, 1]"),
    ({"expert_fraction": -0.1}, "algorithm.expert_fraction=-0.1 is not allowed: it must lie in [0, 1]"),
    ({"iterations": 0}, "algorithm.iterations=0 is not allowed: it must be >= 1"),
    ({"expert_steps": 0}, "expert_steps=0 collects none"),
    ({"expert_noise": -1.0}, "algorithm.expert_noise=-1.0 is not allowed: it must be >= 0"),
    ({"policy": "ppo"}, "algorithm.policy='ppo' is not allowed; choose one of: 'mpc', 'sac'"),
    ({"policy": "sac"}, "algorithm.discount=1.0, algorithm.policy='sac' are not allowed together: SAC's soft "
                        "Q-values need discount < 1"),
    ({"rollout_length": 3}, "algorithm.rollout_length=3 is not allowed: it trains the SAC policy, so it applies "
                            "only with algorithm.policy='sac'"),
    ({"hidden": [64]}, "algorithm.hidden=[64] is not allowed: it trains the SAC policy"),
    ({"policy": "sac", "discount": 0.99, "rollout_length": 0}, "algorithm.rollout_length=0 is not allowed: it must "
                                                               "be >= 1"),
    ({"policy": "sac", "discount": 0.99, "real_ratio": 1.5}, "algorithm.real_ratio=1.5 is not allowed: it must "
                                                             "lie in [0, 1]"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(UserError, match=None) as error:
        _resolve(**settings)
    assert message in str(error.value)


def _npz(tmp_path, **arrays):
    n = 5
    data = {"obs": np.zeros((n, 4)), "act": np.zeros((n, 1)), "next_obs": np.zeros((n, 4)), "reward": np.ones(n),
            "terminated": np.zeros(n, dtype=bool)}
    data.update(arrays)
    path = tmp_path / "expert.npz"
    np.savez(path, **{k: v for k, v in data.items() if v is not None})
    return path


def test_dataset_round_trip(tmp_path):
    path = _npz(tmp_path, truncated=np.array([0, 0, 1, 0, 1], dtype=bool))
    data = load_expert_dataset(path, 4, 1)
    assert len(data) == 5 and data.truncated.tolist() == [False, False, True, False, True]
    assert data.rew.dtype == torch.float32


@pytest.mark.parametrize("arrays, message", [
    ({"reward": None}, "lacks ['reward']"),
    ({"obs": np.full((5, 4), np.nan)}, "obs holds NaN"),
    ({"act": np.zeros((5, 2))}, "act has shape (5, 2), expected (5, 1)"),
])
def test_bad_dataset_is_refused(tmp_path, arrays, message):
    with pytest.raises(UserError) as error:
        load_expert_dataset(_npz(tmp_path, **arrays), 4, 1)
    assert message in str(error.value)


def test_bad_expert_sources_are_refused_before_a_run(tmp_path):
    with pytest.raises(UserError, match="observation is the state"):
        check_buildable(_resolve(task="Reacher-v5"))
    with pytest.raises(UserError, match="neither 'oracle', a run folder nor an .npz"):
        check_buildable(_resolve(expert=str(tmp_path / "nowhere")))
    with pytest.raises(UserError, match="has no config.json or checkpoint.pt"):
        check_buildable(_resolve(expert=str(tmp_path)))
    with pytest.raises(UserError, match="obs has shape .5, 3., expected .5, 4."):
        check_buildable(_resolve(expert=str(_npz(tmp_path, obs=np.zeros((5, 3))))))


@pytest.mark.parametrize("pairing, kind", [("dagger-model-sac", "agent"), ("dagger-model", "model")])
def test_a_dagger_model_run_as_expert_acts_with_its_best_iterate(tmp_path, monkeypatch, pairing, kind):
    saved = _resolve(pairing).to_dict()
    best = {"iteration": 2, "return": 180.0, "model": "model of iterate 2",
            "agent": "agent of iterate 2" if kind == "agent" else None}
    parts = {"model": "model of the last iterate", "best": best}
    if kind == "agent":
        parts["agent"] = "agent of the last iterate"
    monkeypatch.setattr(algorithms.dagger_model, "read_run", lambda path, task: (saved, {"parts": parts}))
    found, (_, state) = algorithms.dagger_model.expert_source(_resolve(expert=str(tmp_path)))
    assert (found, state) == (kind, f"{kind} of iterate 2")


def _filled(n: int, marker: float) -> ReplayBuffer:
    buffer = ReplayBuffer(4, 1, 100)
    buffer.add_batch(Batch(torch.full((n, 4), marker), torch.zeros(n, 1), torch.full((n, 4), marker), torch.ones(n),
                           torch.zeros(n, dtype=torch.bool), torch.zeros(n, dtype=torch.bool)))
    return buffer


def test_union_holds_both_buffers_in_order():
    both = union(_filled(3, 1.0), _filled(2, 2.0))
    assert both.all().obs[:, 0].tolist() == [1.0, 1.0, 1.0, 2.0, 2.0]
    assert len(union(_filled(0, 1.0), _filled(0, 2.0))) == 0


def test_train_in_model_takes_its_updates_and_rollout_rounds(monkeypatch):
    config = _resolve("dagger-model-sac", policy="sac", sac_updates_per_iteration=25, rollout_every=10,
                      rollout_batch_size=6, rollout_length=3, hidden=[8], batch_size=8)
    cfg = config.algorithm
    model = EnvironmentModel(config.make_model(4, 1), config.task_spec(), cfg)
    agent = SACAgent(4, 1, [-1.0], [1.0], hidden=(8,), discount=0.99)
    rounds = []
    rollouts = algorithms.dagger_model.branched_rollouts

    def spy(model, starts, policy, length, *args):
        rounds.append((starts.shape[0], length))
        return rollouts(model, starts, policy, length, *args)

    monkeypatch.setattr(algorithms.dagger_model, "branched_rollouts", spy)
    generator = torch.Generator().manual_seed(0)
    before = agent.state_dict()["networks"]["actor"]
    assert train_in_model(agent, model, _filled(0, 0.0), cfg, generator) == {}  # no state to branch from
    assert rounds == [] and all(torch.equal(v, agent.actor.state_dict()[k]) for k, v in before.items())
    stats = train_in_model(agent, model, _filled(20, 0.1), cfg, generator)
    # Rounds before updates 0, 10 and 20; 6 start states each, k = 3; one Adam step per update.
    assert rounds == [(6, 3)] * 3
    assert agent.actor_optim.state_dict()["state"][0]["step"] == 25
    assert 0 < stats["rollout_mean_steps"] <= 3 and "q_loss" in stats and "pi_loss" in stats

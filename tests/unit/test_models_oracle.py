import dataclasses

import numpy as np
import pytest
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.models import OracleModel, build_model, validate_model
from mbrl_zoo.models.diagnostics import (disagreement_vs_error, kstep_by_ensemble_size, kstep_error,
                                         random_transitions, simulate_open_loop)
from mbrl_zoo.registry import TASKS
from mbrl_zoo.tasks import TaskSpec, check_task, get_task
from mbrl_zoo.tasks.check import observation_state_mismatches


@pytest.fixture(scope="module")
def cheetah():
    return get_task("HalfCheetah-v5")


def test_oracle_reproduces_env_step_exactly(cheetah):
    env = cheetah.make_env()
    sim = env.unwrapped
    oracle = OracleModel(*cheetah.dims(), task=cheetah)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    worst = 0.0
    for t in range(40):
        act = rng.uniform(-1, 1, size=6)
        if t % 2 == 0:  # the env in exactly the state the oracle rebuilds: solver warm start cleared
            sim.data.qacc_warmstart[:] = 0.0
        next_obs, *_ = env.step(act)
        predicted = oracle.mean(torch.as_tensor(obs)[None], torch.as_tensor(act)[None])[0].numpy()
        if t % 2 == 0:
            assert np.array_equal(predicted, next_obs), t
        worst = max(worst, float(np.abs(predicted - next_obs).max()))
        obs = next_obs
    assert worst < 1e-9  # along the trajectory only the solver's warm start differs
    validate_model(oracle)
    assert torch.equal(oracle.sample(torch.as_tensor(obs)[None], torch.as_tensor(act)[None]),
                       oracle.predict(torch.as_tensor(obs)[None], torch.as_tensor(act)[None])[0][0])


def test_oracle_refuses_a_task_without_state_from_obs():
    with pytest.raises(UserError, match="state_from_obs.*'Pusher-v5'"):
        OracleModel(23, 7, task=get_task("Pusher-v5"))
    with pytest.raises(UserError, match="needs a MuJoCo task"):
        build_model("oracle", 18, 6)


def test_kstep_error_of_the_oracle_is_zero_and_grows_for_an_untrained_model(cheetah):
    data = simulate_open_loop(cheetah, starts=6, horizon=4, seed=0)
    assert data.obs.shape == (6, 5, 18) and data.act.shape == (6, 4, 6)
    oracle = build_model("oracle", 18, 6, task=cheetah)
    assert float(kstep_error(oracle, data).max()) < 1e-12
    model = build_model("pe", 18, 6, task=cheetah, hidden=16, layers=1)
    model.update_normalizers(random_transitions(cheetah, 50))
    errors = kstep_error(model, data)
    assert errors.shape == (4,) and bool((errors > 0).all())
    sampled = kstep_error(model, data, sample=True, generator=torch.Generator().manual_seed(0))
    assert sampled.shape == (4,)
    sizes = kstep_by_ensemble_size(model, data, sizes=(1, 7))
    assert set(sizes) == {1, 7}
    batch = random_transitions(cheetah, 30, seed=1)
    assert batch.obs.shape == (30, 18) and batch.rew.shape == (30,)
    disagreement, error, rank_corr = disagreement_vs_error(model, batch)
    assert disagreement.shape == error.shape == (30,) and -1 <= rank_corr <= 1


OBS_IS_STATE = ["InvertedPendulum-v5", "Swimmer-v5", "HalfCheetah-v5", "cartpole-balance", "cartpole-swingup"]
DISCRETE_OBS_IS_STATE = ["cartpole-balance-discrete"]  # the oracle model refuses discrete tasks


@pytest.mark.parametrize("name", OBS_IS_STATE)
def test_batched_oracle_equals_stepping_the_env_row_by_row(name):
    spec = get_task(name)
    oracle = OracleModel(*spec.dims(), task=spec)
    assert oracle.obs_is_state
    env = spec.make_env()
    env.action_space.seed(0)
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    starts = obs + rng.normal(0.0, 0.1, size=(64, obs.shape[0]))
    # actions up to 1.5x the bounds: MuJoCo clamps them (or the env clips them) the same way
    acts = rng.uniform(-1.5, 1.5, size=(64, env.action_space.shape[0])) * env.action_space.high
    batched = oracle.step(starts, acts)
    oracle.obs_is_state = False
    row_by_row = oracle.step(starts, acts)
    assert batched.shape == (64, obs.shape[0]) and np.array_equal(batched, row_by_row)
    oracle.obs_is_state = True
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)  # rows split between two MuJoCo data
        assert np.array_equal(oracle.step(starts, acts), batched)
    finally:
        torch.set_num_threads(threads)


def test_obs_is_state_is_set_exactly_where_the_observation_is_qpos_then_qvel():
    flagged = [name for name in TASKS.names() if get_task(name).obs_is_state]
    assert sorted(flagged) == sorted(OBS_IS_STATE + DISCRETE_OBS_IS_STATE)
    for name in OBS_IS_STATE + DISCRETE_OBS_IS_STATE:
        assert observation_state_mismatches(get_task(name), steps=20) == 0, name
    # Hopper's and Walker2d's observations clip qvel to [-10, 10], so they are left unflagged
    # although 20 random steps rarely reach the clip; these never match:
    for name in ("InvertedDoublePendulum-v5", "Reacher-v5", "Pusher-v5", "pusher-pets", "Ant-v5", "Pendulum-v1"):
        assert observation_state_mismatches(get_task(name), steps=20) == 20, name
    with pytest.raises(UserError, match="obs_is_state=True needs state_from_obs"):
        TaskSpec(name="x", env_id="Pusher-v5", reward_fn=None, obs_is_state=True)


def test_the_oracle_model_refuses_a_discrete_task_with_the_reason():
    spec = get_task("cartpole-balance-discrete")
    with pytest.raises(UserError, match="continuous actions to the simulator; task 'cartpole-balance-discrete' has 3 disc"):
        OracleModel(*spec.dims(), task=spec)


def test_check_task_counts_observations_that_are_not_the_state():
    spec = get_task("InvertedPendulum-v5")
    assert check_task(spec, transitions=50).state_mismatches == 0
    assert check_task(get_task("Reacher-v5"), transitions=50).state_mismatches is None
    wrong = dataclasses.replace(get_task("Reacher-v5"), obs_is_state=True)  # Reacher's obs is not (qpos, qvel)
    result = check_task(wrong, transitions=50)
    assert result.state_mismatches > 0 and not result.ok and "not (qpos, qvel)" in str(result)


def test_oracle_speed_benchmark_times_both_paths_and_finds_them_identical(run_benchmark):
    out = run_benchmark("oracle_speed", "--rows", "8", "--rounds", "1", "--threads", "1")
    assert sorted(out["tasks"]) == sorted(OBS_IS_STATE)
    for figures in out["tasks"].values():
        assert figures["identical"] and figures["rollout_us_per_row"] > 0 and figures["loop_us_per_row"] > 0

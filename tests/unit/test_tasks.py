"""The task library: every task agrees with its env, and the checks catch what they should."""

from __future__ import annotations

import dataclasses
import itertools
import textwrap

import gymnasium as gym
import numpy as np
import pytest
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import TASKS
from mbrl_zoo.tasks import TaskSpec, cartpole, check_task, classic, get_task, library, pusher
from mbrl_zoo.tasks.check import record_random_transitions
from mbrl_zoo.tasks.spec import never_terminates

TASK_NAMES = TASKS.names()
WITH_STATE_FROM_OBS = [name for name in TASK_NAMES if get_task(name).state_from_obs is not None]


def test_the_library_registers_all_thirteen_tasks():
    expected = {
        "InvertedPendulum-v5", "InvertedDoublePendulum-v5", "Reacher-v5", "Pusher-v5", "Swimmer-v5",
        "HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5", "Pendulum-v1",
        "cartpole-balance", "cartpole-swingup", "pusher-pets",
    }
    assert expected <= set(TASK_NAMES)
    assert all(get_task(name).description for name in expected)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_task_agrees_with_its_env(name):
    spec = get_task(name)
    result = check_task(spec)
    assert result.ok, str(result)
    if spec.termination_fn is not never_terminates:
        assert result.terminations > 0, f"{name}: the check saw no terminal transition"


def test_a_wrong_reward_is_reported():
    spec = get_task("HalfCheetah-v5")
    off_by_a_bit = dataclasses.replace(
        spec, reward_fn=lambda obs, act, next_obs: library.half_cheetah_reward(obs, act, next_obs) + 0.01
    )
    result = check_task(off_by_a_bit, transitions=50)
    assert not result.ok
    assert result.max_reward_error == pytest.approx(0.01, abs=1e-6)
    assert "FAILED" in str(result) and "1.00e-02" in str(result)


def test_a_wrong_termination_is_reported():
    never_falls = dataclasses.replace(get_task("Hopper-v5"), termination_fn=never_terminates)
    result = check_task(never_falls, transitions=100)
    assert not result.ok
    assert result.termination_mismatches == result.terminations > 0


def test_a_badly_shaped_output_is_a_user_error():
    summed = dataclasses.replace(
        get_task("Swimmer-v5"), reward_fn=lambda obs, act, next_obs: library.swimmer_reward(obs, act, next_obs).sum()
    )
    with pytest.raises(UserError, match=r"reward_fn.*returned \(\) for a batch of (\d+) .*shape \(\1,\)"):
        check_task(summed, transitions=20)


def test_a_task_without_reward_fn_is_checked_for_termination_only():
    hopper = get_task("Hopper-v5")
    learned_reward = TaskSpec(name="hopper-learned-reward", env_id="Hopper-v5", reward_fn=None,
                              termination_fn=library.hopper_termination, env_kwargs=hopper.env_kwargs)
    result = check_task(learned_reward, transitions=100)
    assert result.ok and result.max_reward_error is None
    assert "reward not checked" in str(result)


def test_an_unknown_task_name_lists_the_valid_names_and_the_closest():
    with pytest.raises(UserError) as error:
        get_task("HalfCheetah-v4")
    message = str(error.value)
    assert "Did you mean 'HalfCheetah-v5'?" in message
    assert all(name in message for name in TASK_NAMES)


def test_an_unknown_env_id_is_a_user_error():
    spec = TaskSpec(name="typo", env_id="HalfCheetha-v5", reward_fn=library.half_cheetah_reward)
    with pytest.raises(UserError, match="HalfCheetha-v5"):
        spec.make_env()
    with pytest.raises(UserError, match="HalfCheetha-v5"):
        check_task(spec)


def _first_literal_block(doc: str) -> str:
    """The code of the first ``::`` block of a docstring."""
    after = doc.split("::\n", 1)[1].splitlines()
    block = itertools.takewhile(lambda line: not line.strip() or line.startswith("    "), after)
    return textwrap.dedent("\n".join(block))


def test_the_documented_way_to_bring_any_gymnasium_env_works(capsys):
    """Runs the example of the library's module docstring as written."""
    try:
        exec(_first_literal_block(library.__doc__), {})
        assert "mountain-car: ok" in capsys.readouterr().out
        assert get_task("mountain-car").env_id == "MountainCarContinuous-v0"
    finally:
        if "mountain-car" in TASKS:
            TASKS.remove("mountain-car")


@pytest.mark.parametrize("name", TASK_NAMES)
def test_functions_are_batched_and_keep_float32(name):
    spec = get_task(name)
    batch = record_random_transitions(spec, transitions=8, seed=1)
    obs, act, next_obs = (x.float() for x in (batch.obs, batch.act, batch.next_obs))
    done = spec.termination_fn(obs, act, next_obs)
    assert done.shape == (len(batch),) and done.dtype == torch.bool
    reward = spec.reward_fn(obs, act, next_obs)
    assert reward.shape == (len(batch),) and reward.dtype == torch.float32
    torch.testing.assert_close(reward.double(), batch.rew, atol=1e-3, rtol=1e-4)


@pytest.mark.parametrize("name", ["Pendulum-v1", "cartpole-swingup"])
def test_rewards_clip_actions_as_the_env_does(name):
    spec = get_task(name)
    env = spec.make_env()
    obs, _ = env.reset(seed=0)
    too_big = env.action_space.high * 5
    next_obs, reward, *_ = env.step(too_big)
    as_batch = [torch.as_tensor(np.asarray(x, dtype=np.float64))[None] for x in (obs, too_big, next_obs)]
    assert spec.reward_fn(*as_batch).item() == pytest.approx(reward, abs=1e-5)


# Dims of the observation that are a function of (qpos, qvel) right after set_state: Ant's contact
# forces are only recomputed by a step.
OBS_DIMS_SET_BY_STATE = {"Ant-v5": slice(0, library.ANT_NQ + library.ANT_NV)}


@pytest.mark.parametrize("name", WITH_STATE_FROM_OBS)
def test_state_from_obs_round_trips(name):
    spec = get_task(name)
    real, replay = spec.make_env(), spec.make_env()
    real.action_space.seed(0)
    obs, _ = real.reset(seed=0)
    replay.reset(seed=1)
    for _ in range(5):
        act = real.action_space.sample()
        replay.unwrapped.set_state(*spec.state_from_obs(obs))
        dims = OBS_DIMS_SET_BY_STATE.get(name, slice(None))
        # Reacher's fingertip offset comes from positions mj_step leaves at its last RK4 stage.
        np.testing.assert_allclose(replay.unwrapped._get_obs()[dims], obs[dims], atol=1e-5)
        next_obs, *_ = real.step(act)
        replayed_next_obs, *_ = replay.step(act)
        np.testing.assert_allclose(replayed_next_obs, next_obs, atol=1e-9)
        obs = next_obs


def test_state_from_obs_is_given_exactly_where_the_observation_holds_the_state():
    assert set(WITH_STATE_FROM_OBS) == {
        "InvertedPendulum-v5", "Reacher-v5", "Swimmer-v5", "HalfCheetah-v5", "Ant-v5",
        "cartpole-balance", "cartpole-swingup", "cartpole-balance-discrete",
    }


def test_cartpole_swingup_starts_hanging_down_and_balance_upright():
    swingup, balance = get_task("cartpole-swingup").make_env(), get_task("cartpole-balance").make_env()
    for seed in range(10):
        x, theta, *_ = swingup.reset(seed=seed)[0]
        assert np.cos(theta) < -0.9 and abs(x) < 0.5
        x, theta, *_ = balance.reset(seed=seed)[0]
        assert abs(theta) <= 0.05 and abs(x) <= 0.05
    assert get_task("cartpole-swingup").action_bounds()[1] == pytest.approx([cartpole.ACTION_LIMIT])


def test_cartpole_swingup_has_the_physics_of_the_pets_benchmark():
    swingup = get_task("cartpole-swingup").make_env().unwrapped
    model = swingup.model
    assert swingup.dt == pytest.approx(0.04)  # 0.02 s steps, two per env step
    assert model.body("cart").mass[0] == pytest.approx(10.47, abs=0.01)
    assert model.body("pole").mass[0] == pytest.approx(5.02, abs=0.01)
    assert model.actuator_gear[0, 0] == 100 and list(model.dof_damping) == [1.0, 1.0]
    balance = get_task("cartpole-balance").make_env().unwrapped
    assert balance.dt == pytest.approx(0.02) and balance.model.body("pole").mass[0] == pytest.approx(0.1)


def test_cartpole_registration_is_idempotent():
    cartpole.register_envs()
    assert gym.spec(cartpole.SWINGUP_ID).max_episode_steps == 200
    assert gym.spec(cartpole.BALANCE_ID).kwargs == {"swing_up": False}
    assert gym.spec(cartpole.DISCRETE_BALANCE_ID).kwargs == {"swing_up": False, "force_levels": cartpole.FORCE_LEVELS}


DISCRETE_TASKS = {"CartPole-v1": 2, "Acrobot-v1": 3, "cartpole-balance-discrete": 3}


def test_the_discrete_tasks_declare_their_actions_and_take_them_one_hot():
    assert {name for name in TASK_NAMES if get_task(name).discrete} == set(DISCRETE_TASKS)
    for name, num_actions in DISCRETE_TASKS.items():
        spec = get_task(name)
        assert spec.num_actions == num_actions and spec.action_space_kind == "discrete"
        assert spec.dims()[1] == num_actions  # models see one-hot actions
        batch = record_random_transitions(spec, transitions=20)
        assert batch.act.shape == (len(batch), num_actions)
        assert batch.act.sum(1).tolist() == [1.0] * len(batch) and set(batch.act.unique().tolist()) == {0.0, 1.0}
        with pytest.raises(UserError, match="no action bounds"):
            spec.action_bounds()
    assert get_task("cartpole-balance").action_space_kind == "continuous"


def test_encode_and_decode_actions_round_trip_and_refuse_bad_input():
    spec = get_task("Acrobot-v1")
    one_hot = spec.encode_actions(torch.tensor([2, 0, 1]))
    assert one_hot.dtype == torch.float32 and one_hot.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    assert spec.decode_actions(one_hot).tolist() == [2, 0, 1]
    assert spec.encode_actions(torch.tensor([1]), dtype=torch.float64).dtype == torch.float64
    with pytest.raises(UserError, match=r"must lie in \[0, 3\), got values from 0 to 3"):
        spec.encode_actions(torch.tensor([0, 3]))
    with pytest.raises(UserError, match=r"integer action indices of shape \(B,\)"):
        spec.encode_actions(torch.tensor([0.5]))
    with pytest.raises(UserError, match=r"rows of shape \(B, 3\), got \(2, 2\)"):
        spec.decode_actions(torch.zeros(2, 2))
    with pytest.raises(UserError, match="'cartpole-balance' has continuous actions"):
        get_task("cartpole-balance").encode_actions(torch.tensor([0]))


def test_num_actions_must_be_valid_and_match_the_env():
    with pytest.raises(UserError, match="num_actions must be an int >= 2"):
        TaskSpec(name="x", env_id="CartPole-v1", reward_fn=None, num_actions=1)
    cartpole_v1 = get_task("CartPole-v1")
    mismatch = r"claims num_actions=3, but its env 'CartPole-v1' has action space Discrete\(2\)"
    with pytest.raises(UserError, match=mismatch):
        check_task(dataclasses.replace(cartpole_v1, num_actions=3), transitions=10)
    with pytest.raises(UserError, match="declare them with num_actions=2"):
        check_task(dataclasses.replace(cartpole_v1, num_actions=None), transitions=10)
    with pytest.raises(UserError, match="claims num_actions=2, but its env .* has action space Box"):
        check_task(dataclasses.replace(get_task("cartpole-balance"), num_actions=2), transitions=10)


def test_the_discrete_cartpole_pushes_with_its_force_levels():
    discrete, continuous = get_task("cartpole-balance-discrete").make_env(), get_task("cartpole-balance").make_env()
    for index, level in enumerate(cartpole.FORCE_LEVELS):
        obs, _ = discrete.reset(seed=3)
        expected, _ = continuous.reset(seed=3)
        for _ in range(5):
            obs = discrete.step(index)[0]
            expected = continuous.step(np.array([level]))[0]
        np.testing.assert_array_equal(obs, expected)
    assert cartpole.FORCE_LEVELS == (-1.0, 0.0, 1.0)


def test_a_learned_model_fits_a_discrete_task_through_one_hot_actions():
    from mbrl_zoo.models import build_model, fit

    task = get_task("CartPole-v1")
    data = record_random_transitions(task, transitions=500, seed=0)
    data = dataclasses.replace(data, **{key: getattr(data, key).float() for key in ("obs", "act", "next_obs", "rew")})
    model = build_model("deterministic", *task.dims(), task=task, hidden=32, layers=2)
    fit(model, data, epochs=30, generator=torch.Generator().manual_seed(0))
    obs = data.obs[:50]
    with torch.no_grad():
        left = model.mean(obs, task.encode_actions(torch.zeros(50, dtype=torch.long)))
        right = model.mean(obs, task.encode_actions(torch.ones(50, dtype=torch.long)))
    # Pushing right instead of left speeds the cart up by 0.39 m/s in one step (exactly, from
    # cartpole_step); the model has learned the sign of that from one-hot actions alone.
    assert bool((right[:, 1] > left[:, 1]).all())


def test_the_batched_cartpole_step_reproduces_the_env():
    env = gym.make("CartPole-v1")
    rng = np.random.default_rng(0)
    states, actions, next_states, terminated = [], [], [], []
    for episode in range(10):
        env.reset(seed=episode)
        done = False
        while not done:
            states.append(env.unwrapped.state.copy())
            actions.append(int(rng.integers(2)))
            _, reward, done, _, _ = env.step(actions[-1])
            assert reward == 1.0
            next_states.append(env.unwrapped.state.copy())
            terminated.append(done)
    next_obs, reward, ended = classic.cartpole_step(torch.tensor(np.array(states)), torch.tensor(actions))
    torch.testing.assert_close(next_obs, torch.tensor(np.array(next_states)), atol=1e-12, rtol=0)
    assert ended.tolist() == terminated and sum(terminated) == 10
    assert reward.tolist() == [1.0] * len(states)


def test_the_batched_acrobot_step_reproduces_the_env():
    def observation(state):  # the env's observation, from its float64 state
        q1, q2, dq1, dq2 = np.asarray(state, dtype=np.float64)
        return [np.cos(q1), np.sin(q1), np.cos(q2), np.sin(q2), dq1, dq2]

    env = gym.make("Acrobot-v1")
    rng = np.random.default_rng(0)
    obs, actions, next_obs, rewards, terminated = [], [], [], [], []
    for episode in range(6):
        env.reset(seed=episode)
        for _ in range(500):
            obs.append(observation(env.unwrapped.state))
            # Half the episodes swing up by torquing with the elbow's spin (they reach the goal in
            # 65-125 steps), half act at random (they never do).
            swing = 2 if obs[-1][5] > 0 else 0
            actions.append(swing if episode % 2 else int(rng.integers(3)))
            _, reward, done, truncated, _ = env.step(actions[-1])
            next_obs.append(observation(env.unwrapped.state))
            rewards.append(reward)
            terminated.append(done)
            if done or truncated:
                break
    predicted, reward, ended = classic.acrobot_step(torch.tensor(obs), torch.tensor(actions))
    torch.testing.assert_close(predicted, torch.tensor(next_obs), atol=1e-12, rtol=0)
    assert ended.tolist() == terminated and sum(terminated) == 3
    assert reward.tolist() == rewards


def test_pets_pusher_starts_the_cylinder_near_one_spot_and_runs_150_steps_of_0_04_s():
    def cylinder_starts(task):  # (300, 2) slide-joint coordinates of the cylinder after reset
        env = get_task(task).make_env()
        starts = []
        for seed in range(300):
            obs, _ = env.reset(seed=seed)
            np.testing.assert_allclose(obs[20:23], [0.45, -0.05, -0.323])  # the goal never moves
            starts.append(env.unwrapped.data.qpos[7:9].copy())
        return np.array(starts)

    starts = cylinder_starts("pusher-pets")
    np.testing.assert_allclose(starts.mean(0), pusher.CYLINDER_START, atol=0.005)
    np.testing.assert_allclose(starts.std(0), pusher.CYLINDER_START_STD, rtol=0.15)
    assert cylinder_starts("Pusher-v5").std(0).min() > 0.07  # uniform over [-0.3, 0] x [-0.2, 0.2]
    assert get_task("pusher-pets").make_env().unwrapped.dt == pytest.approx(0.04)
    assert gym.spec(pusher.PETS_PUSHER_ID).max_episode_steps == 150


def test_pets_pusher_reward_is_the_papers_weighted_l1_cost():
    obs = torch.zeros(1, 23)
    next_obs = torch.zeros(1, 23)
    next_obs[0, 14:17] = torch.tensor([0.1, 0.0, 0.0])   # fingertip
    next_obs[0, 17:20] = torch.tensor([0.0, 0.2, -0.1])  # cylinder
    next_obs[0, 20:23] = torch.tensor([0.3, 0.2, 0.0])   # goal
    act = torch.full((1, 7), 0.5)
    expected = -1.25 * (0.3 + 0.0 + 0.1) - 0.5 * (0.1 + 0.2 + 0.1) - 0.1 * 7 * 0.25
    assert pusher.pets_pusher_reward(obs, act, next_obs).item() == pytest.approx(expected, rel=1e-6)
    env = get_task("pusher-pets").make_env()
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.zeros(7))
    assert reward == pytest.approx(info["reward_dist"] + info["reward_near"] + info["reward_ctrl"])


def test_the_pusher_oracle_diagnostic_reads_the_whole_state_from_its_observation(benchmark_module):
    pusher_oracle = benchmark_module("pusher_oracle")
    rng = np.random.default_rng(0)
    for env_class in pusher_oracle.ENVS.values():
        env = pusher_oracle.with_cylinder_velocity(env_class)()
        obs, _ = env.reset(seed=1)
        assert obs.shape == env.observation_space.shape == (25,)
        for _ in range(30):
            qpos, qvel = pusher_oracle.state_from_obs(obs)
            np.testing.assert_allclose(qpos, env.data.qpos, atol=1e-12)
            np.testing.assert_allclose(qvel, env.data.qvel, atol=1e-12)
            obs = env.step(rng.uniform(-2, 2, size=7))[0]


def test_make_env_drops_only_the_bundled_asset_deprecation(capfd):
    """MuJoCo 4 warns that gymnasium's half_cheetah.xml uses ``settotalmass``; make_env drops that
    one warning, passes any other on (to stderr), and leaves MuJoCo's handler as it found it."""
    import mujoco

    from mbrl_zoo.tasks import spec as spec_module

    get_task("HalfCheetah-v5").make_env().close()
    captured = capfd.readouterr()
    assert "settotalmass" not in captured.out + captured.err
    assert mujoco.get_mju_user_warning() is None
    with spec_module._without_bundled_asset_deprecations():
        handler = mujoco.get_mju_user_warning()
        handler("compiler attribute 'settotalmass' is deprecated and will be removed")
        handler("Nan, Inf or huge value in QACC at DOF 0. The simulation is unstable.")
    err = capfd.readouterr().err
    assert "QACC" in err and "settotalmass" not in err
    assert mujoco.get_mju_user_warning() is None

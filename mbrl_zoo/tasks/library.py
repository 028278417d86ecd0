"""The zoo's tasks: gymnasium's MuJoCo envs, Pendulum, the PETS cart-poles, and discrete-action
tasks (CartPole-v1, Acrobot-v1 and the MuJoCo cart-pole with three force levels).

Each task's batched torch ``reward_fn`` and ``termination_fn`` reproduce its environment's own
reward and termination (``check_task`` holds them to it). Where the env's reward needs a
quantity the default observation leaves out, ``env_kwargs`` put it in: the root x position
(``exclude_current_positions_from_observation=False``) for the forward-velocity rewards, Ant's
clipped external contact forces for its contact cost. Constants (``dt`` = MuJoCo timestep x
frame skip, cost weights, healthy ranges) are gymnasium's v5 defaults. ``angle_dims`` lists
every observation dim that is a raw hinge angle in radians, limited joints included.

Known limits of "exactly":

* Hopper-v5, Walker2d-v5 and InvertedDoublePendulum-v5 clip joint velocities to [-10, 10] in the
  observation. InvertedDoublePendulum's velocity penalty uses the unclipped velocities, so
  ``reward_fn`` differs from the env when a pole turns faster than 10 rad/s (2 in 10,000 random
  transitions); Hopper's health check bounds unclipped velocities by 100, which the clipped
  observation cannot see (it takes them as healthy). Walker2d's uses no velocities.
* Ant-v5's forward velocity and InvertedDoublePendulum-v5's tip position are read by the env
  from body/site positions that ``mj_step`` leaves at its last RK4 stage, slightly behind the
  state it returns; ``reward_fn`` uses the returned state (Ant: typically 1e-3 off the env's
  reward, at most about 0.1). ``check_task`` compares with positions brought up to date (see
  :mod:`mbrl_zoo.tasks.check`), where both agree to 1e-6.

Bring your own env: any gymnasium env id works once you give its reward (and termination, if
it can end early) as batched torch functions of ``(obs (B, O), act (B, A), next_obs (B, O))``::

    from mbrl_zoo.registry import TASKS
    from mbrl_zoo.tasks import TaskSpec, check_task

    def at_flag(obs, act, next_obs):
        # (B,) bool: the car reached the flag (x >= 0.45) moving right.
        return (next_obs[..., 0] >= 0.45) & (next_obs[..., 1] >= 0.0)

    def mountain_car_reward(obs, act, next_obs):
        # (B,): 100 at the flag, minus 0.1 a^2.
        return 100.0 * at_flag(obs, act, next_obs) - 0.1 * act[..., 0].square()

    spec = TaskSpec(name="mountain-car", env_id="MountainCarContinuous-v0",
                    reward_fn=mountain_car_reward, termination_fn=at_flag, episode_length=999)
    print(check_task(spec))      # compare with the real env before trusting the functions
    TASKS.add(spec.name, spec)   # now usable by name, e.g. --set run.task=mountain-car

``reward_fn=None`` registers a task whose reward a model must learn (only its termination is
checked). A task with a ``Discrete(n)`` action space sets ``num_actions=n``; its functions then
receive one-hot actions (B, n) (see :class:`~mbrl_zoo.tasks.spec.TaskSpec`). An env id
gymnasium does not know raises ``UserError`` from ``spec.make_env()``.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import numpy as np
import torch

from mbrl_zoo.registry import TASKS
from mbrl_zoo.tasks import cartpole, classic, pusher
from mbrl_zoo.tasks.spec import TaskSpec, TerminationFn

Tensor = torch.Tensor


def _action_cost(act: Tensor, weight: float) -> Tensor:
    """``weight * |a|^2`` of actions (B, A): (B,)."""
    return weight * act.square().sum(-1)


def _forward_velocity(obs: Tensor, next_obs: Tensor, dt: float) -> Tensor:
    """Velocity of observation dim 0 (the root's x position) over one env step: (B,)."""
    return (next_obs[..., 0] - obs[..., 0]) / dt


def _all_finite(x: Tensor) -> Tensor:
    """True for rows (B, D) without NaN or inf: (B,) bool."""
    return torch.isfinite(x).all(-1)


def _within(x: Tensor, low: float, high: float) -> Tensor:
    """``low < x < high`` elementwise (False for NaN)."""
    return (x > low) & (x < high)


def _reward_while_alive(
    termination_fn: TerminationFn, obs: Tensor, act: Tensor, next_obs: Tensor
) -> Tensor:
    """1 for a transition that does not terminate, 0 for one that does: (B,)."""
    return (~termination_fn(obs, act, next_obs)).to(next_obs.dtype)


def _leading_qpos_qvel(nq: int, nv: int, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """State of an observation (O,) that starts with qpos (nq,) then qvel (nv,)."""
    obs = np.asarray(obs, dtype=np.float64)
    return obs[:nq].copy(), obs[nq : nq + nv].copy()


# InvertedPendulum-v5: obs (4,) = qpos [cart x, pole angle], qvel.
def inverted_pendulum_termination(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """The pole leaned past 0.2 rad (or the state is not finite): (B,) bool."""
    return ~_all_finite(next_obs) | (next_obs[..., 1].abs() > 0.2)


# InvertedDoublePendulum-v5: obs (9,) = [x, sin q1, sin q2, cos q1, cos q2, qvel (3) clipped to
# [-10, 10], hinge-constraint force]; both poles are 0.6 m and the tip site ends the second.
IDP_POLE_LENGTH = 0.6


def _double_pendulum_tip(next_obs: Tensor) -> tuple[Tensor, Tensor]:
    """World (x, z) of the second pole's tip, each (B,)."""
    x, sin1, sin2, cos1, cos2 = next_obs[..., :5].unbind(-1)
    sin12 = sin1 * cos2 + cos1 * sin2
    cos12 = cos1 * cos2 - sin1 * sin2
    return x + IDP_POLE_LENGTH * (sin1 + sin12), IDP_POLE_LENGTH * (cos1 + cos12)


def double_pendulum_termination(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """The tip dropped to 1 m or lower: (B,) bool."""
    return _double_pendulum_tip(next_obs)[1] <= 1.0


def double_pendulum_reward(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """10 while alive, minus tip distance from (0, 2) and pole-velocity penalties: (B,)."""
    tip_x, tip_z = _double_pendulum_tip(next_obs)
    alive_bonus = 10.0 * _reward_while_alive(double_pendulum_termination, obs, act, next_obs)
    distance_penalty = 0.01 * tip_x.square() + (tip_z - 2.0).square()
    velocity_penalty = 0.001 * next_obs[..., 6].square() + 0.005 * next_obs[..., 7].square()
    return alive_bonus - distance_penalty - velocity_penalty


# Reacher-v5: obs (10,) = [cos q (2), sin q (2), target xy, arm joint velocities (2),
# (fingertip - target) xy]; fingertip and target share a height, so the xy gap is the distance.
def reacher_reward(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """Minus fingertip-target distance, minus |a|^2: (B,)."""
    return -next_obs[..., 8:10].norm(dim=-1) - _action_cost(act, 1.0)


def reacher_state_from_obs(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """qpos (4,) = [arm angles, target xy], qvel (4,) = [arm velocities, 0, 0] (the target never
    moves). The shoulder angle comes back in (-pi, pi]: the same pose as any 2 pi shift of it."""
    obs = np.asarray(obs, dtype=np.float64)
    angles = np.arctan2(obs[2:4], obs[0:2])
    return np.concatenate([angles, obs[4:6]]), np.concatenate([obs[6:8], np.zeros(2)])


# Pusher-v5: obs (23,) = [arm qpos (7), arm qvel (7), fingertip xyz, cylinder xyz, goal xyz].
def pusher_reward(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """Minus cylinder-goal distance, minus 0.5 x fingertip-cylinder distance, minus 0.1 |a|^2: (B,)."""
    fingertip, cylinder, goal = next_obs[..., 14:17], next_obs[..., 17:20], next_obs[..., 20:23]
    cylinder_to_goal = (cylinder - goal).norm(dim=-1)
    fingertip_to_cylinder = (cylinder - fingertip).norm(dim=-1)
    return -cylinder_to_goal - 0.5 * fingertip_to_cylinder - _action_cost(act, 0.1)


# Swimmer-v5 (dt 0.04), HalfCheetah-v5 (dt 0.05): obs = qpos (root x first), qvel.
def swimmer_reward(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """Forward velocity minus 1e-4 |a|^2: (B,)."""
    return _forward_velocity(obs, next_obs, 0.04) - _action_cost(act, 1e-4)


def half_cheetah_reward(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """Forward velocity minus 0.1 |a|^2: (B,)."""
    return _forward_velocity(obs, next_obs, 0.05) - _action_cost(act, 0.1)


# Hopper-v5, Walker2d-v5 (dt 0.008): obs = qpos [x, z, torso angle, joints], qvel clipped to
# [-10, 10]. The reward pays 1 for every step that leaves the robot healthy.
def hopper_termination(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """Unhealthy: torso at 0.7 m or lower, tilted 0.2 rad or more, or a state entry past 100
    (velocities as observed, i.e. clipped to 10): (B,) bool."""
    z, angle = next_obs[..., 1], next_obs[..., 2]
    state_ok = _within(next_obs[..., 2:], -100.0, 100.0).all(-1)
    return ~(state_ok & (z > 0.7) & _within(angle, -0.2, 0.2))


def hopper_reward(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """Forward velocity + 1 while healthy - 1e-3 |a|^2: (B,)."""
    healthy = _reward_while_alive(hopper_termination, obs, act, next_obs)
    return _forward_velocity(obs, next_obs, 0.008) + healthy - _action_cost(act, 1e-3)


def walker_termination(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """Unhealthy: torso height outside (0.8, 2) m or torso angle outside (-1, 1) rad: (B,) bool."""
    z, angle = next_obs[..., 1], next_obs[..., 2]
    return ~(_within(z, 0.8, 2.0) & _within(angle, -1.0, 1.0))


def walker_reward(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """Forward velocity + 1 while healthy - 1e-3 |a|^2: (B,)."""
    healthy = _reward_while_alive(walker_termination, obs, act, next_obs)
    return _forward_velocity(obs, next_obs, 0.008) + healthy - _action_cost(act, 1e-3)


# Ant-v5 (dt 0.05): obs (107,) = qpos (15: torso xyz, quaternion, 8 joints), qvel (14), then
# the external contact forces of bodies 1..13 clipped to [-1, 1] (78; the world body's are 0).
ANT_NQ, ANT_NV = 15, 14


def ant_termination(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """Unhealthy: torso height outside [0.2, 1] m or a non-finite state: (B,) bool."""
    z = next_obs[..., 2]
    healthy = _all_finite(next_obs[..., : ANT_NQ + ANT_NV]) & (z >= 0.2) & (z <= 1.0)
    return ~healthy


def ant_reward(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """Forward velocity + 1 while healthy - 0.5 |a|^2 - 5e-4 |contact forces|^2: (B,)."""
    healthy = _reward_while_alive(ant_termination, obs, act, next_obs)
    contact_cost = 5e-4 * next_obs[..., ANT_NQ + ANT_NV :].square().sum(-1)
    return _forward_velocity(obs, next_obs, 0.05) + healthy - _action_cost(act, 0.5) - contact_cost


# Pendulum-v1: obs (3,) = [cos theta, sin theta, theta_dot]; the reward is a cost of the state
# before the step and of the torque clipped to [-2, 2].
def pendulum_reward(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """Minus (theta^2 + 0.1 theta_dot^2 + 0.001 u^2), theta in [-pi, pi]: (B,)."""
    theta = torch.atan2(obs[..., 1], obs[..., 0])
    torque = act[..., 0].clamp(-2.0, 2.0)
    return -(theta.square() + 0.1 * obs[..., 2].square() + 0.001 * torque.square())


WITH_ROOT_POSITION = {"exclude_current_positions_from_observation": False}

CARTPOLE_BALANCE = TaskSpec(
    name="cartpole-balance",
    env_id=cartpole.BALANCE_ID,
    reward_fn=partial(_reward_while_alive, cartpole.balance_termination),
    termination_fn=cartpole.balance_termination,
    episode_length=cartpole.EPISODE_LENGTH,
    angle_dims=(1,),
    state_from_obs=partial(_leading_qpos_qvel, 2, 2),
    obs_is_state=True,
    description="Keep a cart-pole upright for 200 steps (+1 per step; 200 = solved).",
    differentiable_reward=False,
)

LIBRARY = (
    TaskSpec(
        name="InvertedPendulum-v5",
        env_id="InvertedPendulum-v5",
        reward_fn=partial(_reward_while_alive, inverted_pendulum_termination),
        termination_fn=inverted_pendulum_termination,
        angle_dims=(1,),
        state_from_obs=partial(_leading_qpos_qvel, 2, 2),
        obs_is_state=True,
        description="Balance a pole on a cart; +1 per step until it leans past 0.2 rad.",
        differentiable_reward=False,
    ),
    TaskSpec(
        name="InvertedDoublePendulum-v5",
        env_id="InvertedDoublePendulum-v5",
        reward_fn=double_pendulum_reward,
        termination_fn=double_pendulum_termination,
        description="Balance two stacked poles on a cart; ends when the tip drops to 1 m.",
    ),
    TaskSpec(
        name="Reacher-v5",
        env_id="Reacher-v5",
        reward_fn=reacher_reward,
        episode_length=50,
        state_from_obs=reacher_state_from_obs,
        description="Move a 2-link arm's fingertip to a random target in the plane.",
    ),
    TaskSpec(
        name="Pusher-v5",
        env_id="Pusher-v5",
        reward_fn=pusher_reward,
        episode_length=100,
        angle_dims=tuple(range(7)),
        description="Push a cylinder to a goal with a 7-joint arm.",
    ),
    TaskSpec(
        name="pusher-pets",
        env_id=pusher.PETS_PUSHER_ID,
        reward_fn=pusher.pets_pusher_reward,
        episode_length=pusher.EPISODE_LENGTH,
        angle_dims=tuple(range(7)),
        description="PETS's pusher (Chua et al., 2018): Pusher-v5's arm, one cylinder start, 150 steps.",
    ),
    TaskSpec(
        name="Swimmer-v5",
        env_id="Swimmer-v5",
        reward_fn=swimmer_reward,
        env_kwargs=WITH_ROOT_POSITION,
        angle_dims=(2, 3, 4),
        state_from_obs=partial(_leading_qpos_qvel, 5, 5),
        obs_is_state=True,
        description="Swim forward (+x) with a 3-link swimmer in viscous fluid.",
    ),
    TaskSpec(
        name="HalfCheetah-v5",
        env_id="HalfCheetah-v5",
        reward_fn=half_cheetah_reward,
        env_kwargs=WITH_ROOT_POSITION,
        angle_dims=tuple(range(2, 9)),
        state_from_obs=partial(_leading_qpos_qvel, 9, 9),
        obs_is_state=True,
        description="Run forward (+x) with a planar cheetah; never terminates.",
    ),
    TaskSpec(
        name="Hopper-v5",
        env_id="Hopper-v5",
        reward_fn=hopper_reward,
        termination_fn=hopper_termination,
        env_kwargs=WITH_ROOT_POSITION,
        angle_dims=tuple(range(2, 6)),
        description="Hop forward (+x) on one leg without falling.",
    ),
    TaskSpec(
        name="Walker2d-v5",
        env_id="Walker2d-v5",
        reward_fn=walker_reward,
        termination_fn=walker_termination,
        env_kwargs=WITH_ROOT_POSITION,
        angle_dims=tuple(range(2, 9)),
        description="Walk forward (+x) on two legs without falling.",
    ),
    TaskSpec(
        name="Ant-v5",
        env_id="Ant-v5",
        reward_fn=ant_reward,
        termination_fn=ant_termination,
        env_kwargs={**WITH_ROOT_POSITION, "include_cfrc_ext_in_observation": True},
        angle_dims=tuple(range(7, ANT_NQ)),
        state_from_obs=partial(_leading_qpos_qvel, ANT_NQ, ANT_NV),
        description="Walk forward (+x) with a four-legged ant; contact forces are observed.",
    ),
    TaskSpec(
        name="Pendulum-v1",
        env_id="Pendulum-v1",
        reward_fn=pendulum_reward,
        episode_length=200,
        description="Swing a torque-limited pendulum up and hold it (classic control, no MuJoCo).",
    ),
    CARTPOLE_BALANCE,
    TaskSpec(
        name="cartpole-swingup",
        env_id=cartpole.SWINGUP_ID,
        reward_fn=cartpole.swingup_reward,
        episode_length=cartpole.EPISODE_LENGTH,
        angle_dims=(1,),
        state_from_obs=partial(_leading_qpos_qvel, 2, 2),
        obs_is_state=True,
        description="PETS cart-pole swing-up (Chua et al., 2018): swing the pole up from hanging.",
    ),
    TaskSpec(
        name="CartPole-v1",
        env_id="CartPole-v1",
        reward_fn=classic.cartpole_reward,
        termination_fn=classic.cartpole_termination,
        episode_length=classic.CARTPOLE_EPISODE_LENGTH,
        angle_dims=(2,),
        description="Classic cart-pole, 2 actions (push left or right); +1 per step, 500 = balanced throughout.",
        differentiable_reward=False,
        num_actions=2,
    ),
    TaskSpec(
        name="Acrobot-v1",
        env_id="Acrobot-v1",
        reward_fn=classic.acrobot_reward,
        termination_fn=classic.acrobot_termination,
        episode_length=classic.ACROBOT_EPISODE_LENGTH,
        description="Swing a two-link arm's tip above a height, 3 torques; -1 per step until it is there.",
        differentiable_reward=False,
        num_actions=3,
    ),
    dataclasses.replace(
        CARTPOLE_BALANCE,
        name="cartpole-balance-discrete",
        env_id=cartpole.DISCRETE_BALANCE_ID,
        description="cartpole-balance with 3 actions: push -10 N, 0 or +10 N (MuJoCo).",
        num_actions=len(cartpole.FORCE_LEVELS),
    ),
)

for _spec in LIBRARY:
    TASKS.add(_spec.name, _spec)

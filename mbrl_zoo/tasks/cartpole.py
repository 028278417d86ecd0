"""Cart-pole on MuJoCo: balance from upright (continuous force, or three force levels), and swing-up.

Two MJCFs with the same joints, sites and conventions. The observation (4,) is
``[x, theta, x_dot, theta_dot]`` = (qpos, qvel), with ``theta`` the unbounded pole angle from
upright (positive tilts towards +x); the action (1,) lies in ``[-3, 3]``; a 0.6 m pole.

* ``assets/cartpole_swingup.xml`` has the physical values of PETS's cart-pole (10.5 kg cart,
  5.0 kg pole, damping 1, 100 N per unit of action, 0.02 s steps, dt = 0.04 s; see the file).
* ``assets/cartpole.xml`` (balance) is the classic light cart-pole: a 1 kg cart, a 0.1 kg pole,
  10 N per unit of action, 0.01 s steps, dt = 0.02 s.

* ``mbrl_zoo/CartpoleSwingup-v0`` is the cart-pole swing-up benchmark of PETS (Chua et al.,
  "Deep Reinforcement Learning in a Handful of Trials using Probabilistic Dynamics Models",
  NeurIPS 2018): the pole starts hanging down (``theta = pi``, N(0, 0.1) noise on positions and
  velocities), 200 steps, no termination, and the reward is
  ``exp(-|tip - target|^2 / l^2) - 0.01 |a|^2`` with ``l`` the pole length and ``target`` the
  tip's position when the pole stands upright over ``x = 0``. The action is clipped to
  ``[-3, 3]`` before it is applied and costed.
* ``mbrl_zoo/CartpoleBalance-v0`` starts near upright (U(-0.05, 0.05) on every state entry) and
  terminates when ``|theta| > 0.2`` rad or ``|x| > 2.4`` m; the reward is 1 for every step that
  does not terminate, over at most 200 steps (return 200 = balanced throughout).
* ``mbrl_zoo/CartpoleBalanceDiscrete-v0`` is the same balance task with ``Discrete(3)`` actions:
  index i applies the action ``FORCE_LEVELS[i]`` = -1, 0 or +1 (-10 N, none, +10 N: classic
  CartPole's push, plus the option not to push).

Importing this module registers the three ids with gymnasium (re-importing is harmless: it checks
first). The batched torch :func:`swingup_reward` and :func:`balance_termination` below are the
tasks' versions for planners; the env computes the swing-up reward from the simulator's ``tip``
and ``target`` sites instead, so ``check_task`` compares two independent computations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
import torch
from gymnasium.envs.mujoco import MujocoEnv
from gymnasium.spaces import Box, Discrete

BALANCE_ASSET = Path(__file__).parent / "assets" / "cartpole.xml"
SWINGUP_ASSET = Path(__file__).parent / "assets" / "cartpole_swingup.xml"
BALANCE_ID = "mbrl_zoo/CartpoleBalance-v0"
SWINGUP_ID = "mbrl_zoo/CartpoleSwingup-v0"
DISCRETE_BALANCE_ID = "mbrl_zoo/CartpoleBalanceDiscrete-v0"
FORCE_LEVELS = (-1.0, 0.0, 1.0)
EPISODE_LENGTH = 200
FRAME_SKIP = 2

POLE_LENGTH = 0.6
ACTION_LIMIT = 3.0
ACTION_COST = 0.01
FALL_ANGLE = 0.2
TRACK_LIMIT = 2.4
BALANCE_START_NOISE = 0.05
SWINGUP_START_NOISE = 0.1


class CartpoleEnv(MujocoEnv):
    """Cart-pole balance (``swing_up=False``) or swing-up (``swing_up=True``); see the module doc.

    Observation (4,) float64 ``[x, theta, x_dot, theta_dot]``; action (1,) in ``[-3, 3]``, or, with
    ``force_levels`` given, an index into them (``Discrete(len(force_levels))``).
    """

    metadata = {"render_modes": ["human", "rgb_array", "depth_array"], "render_fps": 50}

    def __init__(self, swing_up: bool = False, force_levels: tuple[float, ...] | None = None, **kwargs: Any):
        self.swing_up = swing_up
        self.force_levels = None if force_levels is None else np.asarray(force_levels, dtype=np.float64)
        observation_space = Box(low=-np.inf, high=np.inf, shape=(4,), dtype=np.float64)
        if swing_up:  # dt = 0.04 s: 25 frames per second
            self.metadata = {**type(self).metadata, "render_fps": 25}
        super().__init__(
            str(SWINGUP_ASSET if swing_up else BALANCE_ASSET),
            FRAME_SKIP,
            observation_space=observation_space,
            default_camera_config={"trackbodyid": 0, "distance": 5.0},
            **kwargs,
        )
        self._tip = self.model.site("tip").id
        self._target = self.model.site("target").id
        if self.force_levels is not None:
            self.action_space = Discrete(len(self.force_levels))

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.force_levels is not None:
            action = self.force_levels[[int(action)]]
        else:
            action = np.clip(action, self.action_space.low, self.action_space.high)
        self.do_simulation(action, self.frame_skip)
        observation = self._get_obs()
        if self.swing_up:
            terminated = False
            # mj_step leaves site positions at its last RK4 stage; bring them to the new state.
            mujoco.mj_kinematics(self.model, self.data)
            tip_error = self.data.site_xpos[self._tip] - self.data.site_xpos[self._target]
            closeness = np.exp(-np.sum(np.square(tip_error)) / POLE_LENGTH**2)
            reward = float(closeness - ACTION_COST * np.sum(np.square(action)))
        else:
            x, theta = self.data.qpos
            terminated = bool(
                not np.isfinite(observation).all() or abs(theta) > FALL_ANGLE or abs(x) > TRACK_LIMIT
            )
            reward = float(not terminated)
        if self.render_mode == "human":
            self.render()
        return observation, reward, terminated, False, {}

    def reset_model(self) -> np.ndarray:
        if self.swing_up:
            qpos = np.array([0.0, np.pi]) + self.np_random.normal(0.0, SWINGUP_START_NOISE, size=2)
            qvel = self.np_random.normal(0.0, SWINGUP_START_NOISE, size=2)
        else:
            qpos = self.np_random.uniform(-BALANCE_START_NOISE, BALANCE_START_NOISE, size=2)
            qvel = self.np_random.uniform(-BALANCE_START_NOISE, BALANCE_START_NOISE, size=2)
        self.set_state(qpos, qvel)
        return self._get_obs()

    def _get_obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel])


def swingup_reward(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    """Swing-up reward of ``(obs (B, 4), act (B, 1), next_obs (B, 4))``: shape (B,)."""
    x, theta = next_obs[..., 0], next_obs[..., 1]
    tip_error_x = x + POLE_LENGTH * torch.sin(theta)
    tip_error_z = POLE_LENGTH * (torch.cos(theta) - 1.0)
    closeness = torch.exp(-(tip_error_x.square() + tip_error_z.square()) / POLE_LENGTH**2)
    force = act.clamp(-ACTION_LIMIT, ACTION_LIMIT)
    return closeness - ACTION_COST * force.square().sum(-1)


def balance_termination(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    """True where the pole fell past 0.2 rad or the cart left the track: (B,) bool."""
    x, theta = next_obs[..., 0], next_obs[..., 1]
    fallen = (theta.abs() > FALL_ANGLE) | (x.abs() > TRACK_LIMIT)
    return fallen | ~torch.isfinite(next_obs).all(-1)


def register_envs() -> None:
    """Register the three cart-pole ids with gymnasium, skipping ids already registered."""
    for env_id, kwargs in ((BALANCE_ID, {"swing_up": False}), (SWINGUP_ID, {"swing_up": True}),
                           (DISCRETE_BALANCE_ID, {"swing_up": False, "force_levels": FORCE_LEVELS})):
        if env_id not in gym.registry:
            gym.register(
                env_id,
                entry_point="mbrl_zoo.tasks.cartpole:CartpoleEnv",
                max_episode_steps=EPISODE_LENGTH,
                kwargs=kwargs,
            )


register_envs()

"""The pusher task of PETS (Chua et al., "Deep Reinforcement Learning in a Handful of Trials using
Probabilistic Dynamics Models", NeurIPS 2018), on gymnasium's Pusher-v5 arm and table.

``mbrl_zoo/PusherPETS-v0`` differs from Pusher-v5 where the paper's pusher does:

* the cylinder starts near one spot, ``(-0.25, 0.15) + N(0, 0.025^2)`` per coordinate in the
  object's slide-joint coordinates, instead of uniformly over ``[-0.3, 0] x [-0.2, 0.2]`` (at
  least 0.17 m from the goal); the goal is fixed in both, so PETS's task is one start of Pusher-v5's;
* 4 MuJoCo steps per env step (dt = 0.04 s) and 150 steps per episode (Pusher-v5: 5 and 100);
* the reward is ``-1.25 |object - goal|_1 - 0.5 |fingertip - object|_1 - 0.1 |a|^2``, with L1
  distances as in the paper's cost. As in Pusher-v5 it is computed after the step, from the
  positions the observation reports, so that it is a function of ``(obs, act, next_obs)`` as
  planners need (the paper's env took the positions before the step).

The observation (23,) is Pusher-v5's: arm qpos (7), arm qvel (7), fingertip, cylinder and goal
positions (3 each); the paper leaves out the fixed goal. ``info`` has the three reward terms
under Pusher-v5's names (``reward_dist``, ``reward_near``, ``reward_ctrl``), weighted.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import utils
from gymnasium.envs.mujoco.pusher_v5 import PusherEnv

PETS_PUSHER_ID = "mbrl_zoo/PusherPETS-v0"
EPISODE_LENGTH = 150
FRAME_SKIP = 4
CYLINDER_START = (-0.25, 0.15)
CYLINDER_START_STD = 0.025
DIST_WEIGHT, NEAR_WEIGHT, CONTROL_WEIGHT = 1.25, 0.5, 0.1


class PusherPETSEnv(PusherEnv):
    """Pusher-v5's arm with PETS's start, step length and reward (see the module doc)."""

    def __init__(self, **kwargs: Any):
        super().__init__(frame_skip=FRAME_SKIP, reward_near_weight=NEAR_WEIGHT, reward_dist_weight=DIST_WEIGHT,
                         reward_control_weight=CONTROL_WEIGHT, **kwargs)
        utils.EzPickle.__init__(self, **kwargs)  # rebuild (copy, pickle) with this class's arguments

    def reset_model(self) -> np.ndarray:
        qpos = self.init_qpos.copy()
        qpos[-4:-2] = np.asarray(CYLINDER_START) + self.np_random.normal(0.0, CYLINDER_START_STD, size=2)
        qpos[-2:] = 0.0
        qvel = self.init_qvel + self.np_random.uniform(low=-0.005, high=0.005, size=self.model.nv)
        qvel[-4:] = 0.0
        self.set_state(qpos, qvel)
        return self._get_obs()

    def _get_rew(self, action: np.ndarray) -> tuple[float, dict[str, float]]:
        near = -np.abs(self.get_body_com("object") - self.get_body_com("tips_arm")).sum() * NEAR_WEIGHT
        dist = -np.abs(self.get_body_com("object") - self.get_body_com("goal")).sum() * DIST_WEIGHT
        ctrl = -np.square(action).sum() * CONTROL_WEIGHT
        return float(dist + near + ctrl), {"reward_dist": float(dist), "reward_ctrl": float(ctrl),
                                           "reward_near": float(near)}


def pets_pusher_reward(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    """PETS's pusher reward of ``(obs (B, 23), act (B, 7), next_obs (B, 23))``: shape (B,)."""
    fingertip, cylinder, goal = next_obs[..., 14:17], next_obs[..., 17:20], next_obs[..., 20:23]
    dist = (cylinder - goal).abs().sum(-1)
    near = (cylinder - fingertip).abs().sum(-1)
    return -DIST_WEIGHT * dist - NEAR_WEIGHT * near - CONTROL_WEIGHT * act.square().sum(-1)


def register_env() -> None:
    """Register ``mbrl_zoo/PusherPETS-v0`` with gymnasium unless it is registered already."""
    if PETS_PUSHER_ID not in gym.registry:
        gym.register(PETS_PUSHER_ID, entry_point="mbrl_zoo.tasks.pusher:PusherPETSEnv",
                     max_episode_steps=EPISODE_LENGTH)


register_env()

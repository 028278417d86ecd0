"""Can the planner push at all? Plan Pusher with the simulator as the model (``oracle-cem``).

Pusher's observation leaves out the cylinder's velocity, so the library gives its tasks no
``state_from_obs`` and the exact oracle refuses them. This diagnostic runs a copy of the task
whose observation has the cylinder's velocity appended (25 dims: Pusher's 23, then the
cylinder's slide velocities), so that the observation is the whole simulator state; the reward
reads dims 14:23 as before. The oracle is then exact away from contacts; in contact it zeroes the
solver's warm start, which matters here (Pusher's MJCF caps the solver at 20 iterations), so its
cylinder motion is close to the real env's but not exact (results/pets/README.md gives the error),
and far closer than taking the cylinder at rest (no velocity). If CEM does not push the cylinder
towards the goal even with the simulator as its model, a learned model is not what is missing.

Usage: python benchmarks/pusher_oracle.py --task Pusher-v5 --steps 300 [mbrl-zoo run options, e.g.
--set planner.population_size=200 --set algorithm.horizon=25 --out DIR]
then ``python benchmarks/pusher_object_motion.py DIR/checkpoint.pt --first 0`` for where the
cylinder went in each episode. Exits with the CLI's code.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import gymnasium as gym
import numpy as np
from gymnasium.envs.mujoco.pusher_v5 import PusherEnv
from gymnasium.spaces import Box

from mbrl_zoo.app.cli import main as cli_main
from mbrl_zoo.registry import TASKS
from mbrl_zoo.tasks import get_task
from mbrl_zoo.tasks.pusher import PusherPETSEnv

# Pusher-v5's cylinder body sits at (0.45 + slide_x, -0.05 + slide_y); qpos[7:11] = obj_slidey,
# obj_slidex, goal_slidey, goal_slidex; the observation has the bodies' xyz at 17:20 and 20:23.
BODY_OFFSET_X, BODY_OFFSET_Y = 0.45, -0.05
ENVS = {"Pusher-v5": PusherEnv, "pusher-pets": PusherPETSEnv}


def with_cylinder_velocity(env_class: type) -> type:
    """``env_class`` whose observation (25,) ends with the cylinder's slide velocities qvel[7:9]."""

    class WithCylinderVelocity(env_class):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.observation_space = Box(low=-np.inf, high=np.inf, shape=(25,), dtype=np.float64)

        def _get_obs(self) -> np.ndarray:
            return np.concatenate([super()._get_obs(), self.data.qvel[7:9]])

    return WithCylinderVelocity


def state_from_obs(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(qpos (11,), qvel (11,)) of an observation (25,) of :func:`with_cylinder_velocity`'s env."""
    obs = np.asarray(obs, dtype=np.float64)
    slides = [obs[18] - BODY_OFFSET_Y, obs[17] - BODY_OFFSET_X, obs[21] - BODY_OFFSET_Y, obs[20] - BODY_OFFSET_X]
    return np.concatenate([obs[:7], slides]), np.concatenate([obs[7:14], obs[23:25], np.zeros(2)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="Pusher-v5", choices=sorted(ENVS))
    args, run_options = parser.parse_known_args()
    task = get_task(args.task)
    name = f"{args.task}-with-cylinder-velocity"
    gym.register(f"mbrl_zoo/{name}", entry_point=with_cylinder_velocity(ENVS[args.task]),
                 max_episode_steps=task.episode_length)
    TASKS.add(name, dataclasses.replace(task, name=name, env_id=f"mbrl_zoo/{name}", state_from_obs=state_from_obs))
    return cli_main(["run", "oracle-cem", "--task", name, *run_options])


if __name__ == "__main__":
    sys.exit(main())

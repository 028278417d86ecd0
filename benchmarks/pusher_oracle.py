"""Can the planner push at all? Plan Pusher with the simulator as the model (``oracle-cem``).

Pusher's observation leaves out the cylinder's velocity, so the library gives its tasks no
``state_from_obs`` and the exact oracle refuses them. This diagnostic registers a copy of the task
whose ``state_from_obs`` takes the cylinder (and the fixed goal) as at rest: qpos = [arm angles,
cylinder and goal slide positions], qvel = [arm velocities, 0, 0, 0, 0]. Every model step then
starts the cylinder from rest, an approximation only while the fingertip is pushing it (friction
stops it within a few steps in the real env). If CEM does not push the cylinder towards the goal
even with this near-perfect model, a learned model is not what is missing.

Usage: python benchmarks/pusher_oracle.py --task Pusher-v5 --steps 300 [mbrl-zoo run options, e.g.
--set planner.population_size=200 --set algorithm.horizon=25 --out DIR]
then ``python benchmarks/pusher_object_motion.py DIR/checkpoint.pt --first 0`` for where the
cylinder went in each episode. Exits with the CLI's code.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np

from mbrl_zoo.cli import main as cli_main
from mbrl_zoo.registry import TASKS
from mbrl_zoo.tasks import get_task

# Pusher-v5's cylinder body sits at (0.45 + slide_x, -0.05 + slide_y); qpos[7:11] = obj_slidey,
# obj_slidex, goal_slidey, goal_slidex; the observation has the bodies' xyz at 17:20 and 20:23.
BODY_OFFSET_X, BODY_OFFSET_Y = 0.45, -0.05


def state_with_cylinder_at_rest(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(qpos (11,), qvel (11,)) of a Pusher observation (23,), cylinder and goal velocities 0."""
    obs = np.asarray(obs, dtype=np.float64)
    slides = [obs[18] - BODY_OFFSET_Y, obs[17] - BODY_OFFSET_X, obs[21] - BODY_OFFSET_Y, obs[20] - BODY_OFFSET_X]
    return np.concatenate([obs[:7], slides]), np.concatenate([obs[7:14], np.zeros(4)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="Pusher-v5", choices=["Pusher-v5", "pusher-pets"])
    args, run_options = parser.parse_known_args()
    name = f"{args.task}-cylinder-at-rest"
    TASKS.add(name, dataclasses.replace(get_task(args.task), name=name, state_from_obs=state_with_cylinder_at_rest))
    return cli_main(["run", "oracle-cem", "--task", name, *run_options])


if __name__ == "__main__":
    sys.exit(main())

"""Cost of one oracle step per row: the batched ``mujoco.rollout`` path against the per-row env loop.

For each continuous task whose observation is the state (``TaskSpec.obs_is_state``), times
``OracleModel.step`` on ``--rows`` rows near a reset state with random actions, both ways, in
interleaved rounds, and checks that both give the same next observations bit for bit.

Usage: python benchmarks/oracle_speed.py [--rows 2000] [--threads 2] [--rounds 5]
Prints one JSON line: per task, median microseconds per row of each path and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from mbrl_zoo.models import OracleModel
from mbrl_zoo.registry import TASKS
from mbrl_zoo.tasks import get_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    figures = {}
    for name in TASKS.names():
        spec = get_task(name)
        if not spec.obs_is_state or spec.discrete:  # the oracle model steps continuous actions
            continue
        oracle = OracleModel(*spec.dims(), task=spec)
        env = spec.make_env()
        obs, _ = env.reset(seed=1)
        rng = np.random.default_rng(0)
        starts = obs + rng.normal(0.0, 0.05, size=(args.rows, obs.shape[0]))
        acts = rng.uniform(-1.0, 1.0, size=(args.rows, env.action_space.shape[0])) * env.action_space.high
        seconds: dict[str, list[float]] = {"rollout": [], "loop": []}
        outputs = {}
        for _ in range(args.rounds):
            for path, batched in (("rollout", True), ("loop", False)):
                oracle.obs_is_state = batched
                start = time.perf_counter()
                outputs[path] = oracle.step(starts, acts)
                seconds[path].append(time.perf_counter() - start)
        us = {path: statistics.median(values) / args.rows * 1e6 for path, values in seconds.items()}
        figures[name] = {"rollout_us_per_row": round(us["rollout"], 1), "loop_us_per_row": round(us["loop"], 1),
                         "speedup": round(us["loop"] / us["rollout"], 2),
                         "identical": bool(np.array_equal(outputs["rollout"], outputs["loop"]))}
        oracle.close()
        env.close()
    print(json.dumps({"benchmark": "oracle_speed", "rows": args.rows, "threads": args.threads,
                      "rounds": args.rounds, "tasks": figures}))


if __name__ == "__main__":
    main()

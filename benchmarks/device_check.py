"""Runs on a device (``run.device``) against the same runs on the CPU, and a resume across devices.

    python benchmarks/device_check.py [--device cuda] [--steps 1000] [--out runs/device-check]

For each pairing (PETS on cart-pole balance, the main job; SAC and MBPO on InvertedPendulum-v5 at
a short budget) it trains once on the CPU and once on ``--device``, then continues the device run
on the CPU for a few more steps with ``--resume`` (checkpoints load on either device). Prints one
JSON line: per pairing, wall seconds, the last whole episode's return and the number of episodes on
each device, and whether the resume across devices ran. The returns are not expected to match
(other random generators and kernels); a learning run should reach the same kind of return.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import algorithms  # noqa: F401  (registers the pairings)
import mbrl_zoo
from mbrl_zoo.runs import read_metrics

JOBS = [("pets", "cartpole-balance", 1.0), ("sac", "InvertedPendulum-v5", 0.5), ("mbpo", "InvertedPendulum-v5", 0.5)]
"""(pairing, task, share of --steps)."""


def last_whole_return(folder: Path) -> tuple[float | None, int]:
    rows = [row for row in read_metrics(folder) if not row.get("cut")]
    return (rows[-1]["return"] if rows else None), len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--out", default="runs/device-check")
    args = parser.parse_args()
    report = {"device": args.device, "steps": args.steps, "runs": []}
    for pairing, task, share in JOBS:
        steps = max(1, int(args.steps * share))
        entry = {"pairing": pairing, "task": task, "steps": steps}
        for device in ("cpu", args.device):
            start = time.perf_counter()
            folder = mbrl_zoo.train(pairing, task, steps=steps, device=device, quiet=True, overwrite=True,
                                    out=Path(args.out) / pairing / device)
            last, episodes = last_whole_return(folder)
            entry[device] = {"wall_s": round(time.perf_counter() - start, 1), "last_return": last,
                             "episodes": episodes}
        resumed = mbrl_zoo.train(pairing, task, steps=steps + 50, device="cpu", quiet=True, resume=True,
                                 out=Path(args.out) / pairing / args.device)
        entry["resumed_on_cpu_to_step"] = int(read_metrics(resumed)[-1]["env_step"])
        report["runs"].append(entry)
    print(json.dumps(report))


if __name__ == "__main__":
    main()

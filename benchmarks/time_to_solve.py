"""Wall-clock time and episodes until an MPC pairing solves a task, over several seeds.

Runs ``mbrl-zoo run PAIRING --task TASK --seed S`` for each seed (the pairing's settings with
the task's preset, plus any ``--set``), reads the run's ``metrics.csv`` and reports, per seed, the
first episode whose return reaches ``--target`` (default 190 of the 200 on cart-pole balance):
its number, the env steps and the wall-clock seconds of the run up to the end of that episode
(random exploration, model fits and planning included). A seed that never reaches it reports
null. One JSON line on stdout:

    python benchmarks/time_to_solve.py --seeds 0 1 2
    {"pairing": "pets", "task": "cartpole-balance", "target": 190, "seeds": [...],
     "solved": 3, "max_minutes": m, "median_minutes": m, ...}

The peer's figure for the same question comes from ``benchmarks/peers/compare.py pets-cartpole``
(mbrl-lib's own PETS on its continuous cart-pole), which runs both on the same machine.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import statistics
import sys
import tempfile
from pathlib import Path

import torch

from mbrl_zoo.app.cli import main as zoo


def first_solved(metrics: Path, target: float) -> dict | None:
    """The first row of ``metrics`` (a run's metrics.csv) with return >= ``target``, or None."""
    with open(metrics) as f:
        for row in csv.DictReader(f):
            if float(row["return"]) >= target:
                return {"episode": int(row["episode"]), "env_step": int(row["env_step"]),
                        "minutes": round(float(row["wall_s"]) / 60, 3)}
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairing", default="pets")
    parser.add_argument("--task", default="cartpole-balance")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=2000, help="env-step budget per seed")
    parser.add_argument("--target", type=float, default=190.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--out", default=None, help="keep the runs in OUT/seedS (default: a temporary folder)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    seeds = []
    with tempfile.TemporaryDirectory(prefix="time_to_solve_") as tmp:
        for seed in args.seeds:
            out = Path(args.out or tmp) / f"seed{seed}"
            argv = ["run", args.pairing, "--task", args.task, "--seed", str(seed), "--steps", str(args.steps),
                    "--out", str(out), "--quiet"]
            for item in args.set:
                argv += ["--set", item]
            with contextlib.redirect_stdout(sys.stderr):  # the run's own summary line
                code = zoo(argv)
            if code != 0:
                return code
            solved = first_solved(out / "metrics.csv", args.target)
            seeds.append({"seed": seed, **(solved or {"episode": None, "env_step": None, "minutes": None})})
            print(json.dumps(seeds[-1]), file=sys.stderr)
    minutes = [s["minutes"] for s in seeds if s["minutes"] is not None]
    print(json.dumps({
        "pairing": args.pairing, "task": args.task, "target": args.target, "threads": args.threads,
        "overrides": args.set, "seeds": seeds, "solved": len(minutes),
        "max_minutes": max(minutes) if len(minutes) == len(seeds) else None,
        "median_minutes": statistics.median(minutes) if minutes else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

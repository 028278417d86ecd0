"""Sweep throughput: cells per minute of one small grid, run one cell at a time, in two local
worker processes, and as Ray tasks on a Ray the sweep starts (one task per CPU).

The grid is ``rs-mpc`` on ``cartpole-balance`` over ``--seeds`` seeds with short cells (``--steps``
env steps, small planner and model), so that the figure shows what a sweep adds around its cells
(process start, imports, Ray start) as well as how the cells share the cores. One JSON line,
appended to ``results/benchmarks/sweep_throughput.jsonl`` unless ``--no-save``:

    python benchmarks/sweep_throughput.py --seeds 4
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

from compare import machine  # noqa: E402
from mbrl_zoo.app.cli import main as zoo  # noqa: E402

MODES = {"1 worker": ["--workers", "1"], "2 workers": ["--workers", "2"], "ray (local, 2 CPUs)": ["--ray"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=4, help="cells in the grid")
    parser.add_argument("--steps", type=int, default=300, help="env steps per cell (the first 100 random)")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    grid = ["sweep", "--pairings", "rs-mpc", "--tasks", "cartpole-balance", "--seeds",
            *[str(s) for s in range(args.seeds)], "--steps", str(args.steps), "--quiet",
            "--set", "planner.population_size=64", "--set", "algorithm.horizon=10",
            "--set", "model.hidden=32", "--set", "algorithm.fit_epochs=5", "--set", "algorithm.random_steps=100"]
    start = machine(threads=os.cpu_count())
    result = {}
    with tempfile.TemporaryDirectory(prefix="sweep_throughput_") as tmp:
        for name, flags in MODES.items():
            begin = time.perf_counter()
            with contextlib.redirect_stdout(sys.stderr):
                code = zoo([*grid, "--out", str(Path(tmp) / name.split()[0] / name.split()[1]), *flags])
            if code != 0:
                raise SystemExit(code)
            seconds = time.perf_counter() - begin
            result[name] = {"seconds": round(seconds, 2), "cells_per_minute": round(args.seeds / seconds * 60, 2)}
            print(f"{name}: {seconds:.1f} s", file=sys.stderr)
    line = json.dumps({"benchmark": "sweep_throughput", "grid": f"rs-mpc x cartpole-balance x {args.seeds} seeds",
                       "steps_per_cell": args.steps, "modes": result,
                       "machine": {**start, "load_avg_1min_end": os.getloadavg()[0]},
                       "command": "python benchmarks/sweep_throughput.py " + " ".join(sys.argv[1:])})
    print(line)
    if not args.no_save:
        out = ROOT / "results" / "benchmarks" / "sweep_throughput.jsonl"
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()

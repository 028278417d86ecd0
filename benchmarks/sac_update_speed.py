"""Time one SAC update (``SACAgent.update``) and compare it with this machine's matmul peak.

Settings are SAC's defaults (Haarnoja et al. 2018b, Table 1): batch 256, actor and twin critics
with two hidden layers of 256 ReLU units, at the observation/action sizes of Hopper-v5 (11, 3)
and HalfCheetah-v5 (17, 6). The batch is random: speed does not depend on the data.

FLOPs counted are the networks' matmuls only, as ``plan_speed.py`` counts them. A layer with
``a`` inputs and ``b`` outputs costs ``2 a b`` per row forward, as much again for its weight
gradient and as much again for its input gradient; with B rows, critics of widths
``C = (O + A, *hidden, 1)`` (2 members) and actor ``P = (O, *hidden, 2A)`` one update is

    target:      actor forward (B)  +  target critics forward (2B)
    critics:     forward (2B)  +  weight gradients (2B)  +  input gradients of layers 2.. (2B)
    actor:       actor forward (B)  +  critics forward (2B)  +  critics' input gradients, all
                 layers (2B)  +  actor weight gradients (B)  +  actor input gradients of layers 2.. (B)
    temperature: no matmul

(the first layer's input gradient is needed only where the input is the policy's action). At
Hopper's sizes this is 564 MFLOP per update. ``matmul_peak_gflops`` is
:func:`plan_speed.matmul_peak_gflops` measured in the same process at the same thread count.

    python benchmarks/sac_update_speed.py                  # Hopper and HalfCheetah, 1 and 2 threads
    python benchmarks/sac_update_speed.py --threads 1 --task Hopper-v5 --no-save

Each setting prints one JSON line and appends it to ``results/benchmarks/sac_update_speed.jsonl``
(CPU model, threads, torch version and date included).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from algorithms.sac import SACAgent  # noqa: E402
from benchmarks.plan_speed import matmul_peak_gflops  # noqa: E402
from mbrl_zoo.types import Batch  # noqa: E402

DIMS = {"Hopper-v5": (11, 3), "HalfCheetah-v5": (17, 6)}
"""(observation, action) sizes of the tasks timed."""
RESULTS = ROOT / "results" / "benchmarks" / "sac_update_speed.jsonl"


def layer_products(dims: tuple[int, ...]) -> list[int]:
    """``a * b`` of each layer of an MLP with widths ``dims``."""
    return [a * b for a, b in zip(dims[:-1], dims[1:])]


def update_flops(obs_dim: int, act_dim: int, hidden: tuple[int, ...], batch: int) -> int:
    """Matmul FLOPs of one SAC update (see the module docstring)."""
    critic = layer_products((obs_dim + act_dim, *hidden, 1))
    actor = layer_products((obs_dim, *hidden, 2 * act_dim))
    c_all, c_inner, a_all, a_inner = sum(critic), sum(critic[1:]), sum(actor), sum(actor[1:])
    rows_c, rows_a = 2 * batch, batch  # two critic members see every row
    target = rows_a * a_all + rows_c * c_all
    critics = rows_c * (c_all + c_all + c_inner)
    actor_step = rows_a * a_all + rows_c * (c_all + c_all) + rows_a * (a_all + a_inner)
    return 2 * (target + critics + actor_step)


def random_batch(obs_dim: int, act_dim: int, size: int, seed: int) -> Batch:
    """A batch of ``size`` random transitions with actions in [-1, 1]^A."""
    g = torch.Generator().manual_seed(seed)
    return Batch(
        obs=torch.randn(size, obs_dim, generator=g), act=torch.rand(size, act_dim, generator=g) * 2 - 1,
        next_obs=torch.randn(size, obs_dim, generator=g), rew=torch.randn(size, generator=g),
        terminated=torch.rand(size, generator=g) < 0.05, truncated=torch.zeros(size, dtype=torch.bool),
    )


def update_seconds(agent: SACAgent, batch: Batch, blocks: int, per_block: int) -> list[float]:
    """Seconds per update, one figure per block of ``per_block`` updates (after a warm-up block)."""
    for _ in range(per_block):
        agent.update(batch)
    times = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(per_block):
            agent.update(batch)
        times.append((time.perf_counter() - start) / per_block)
    return times


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def measure(task: str, threads: int, hidden: tuple[int, ...], batch_size: int, blocks: int,
            per_block: int) -> dict:
    torch.set_num_threads(threads)
    obs_dim, act_dim = DIMS[task]
    agent = SACAgent(obs_dim, act_dim, -np.ones(act_dim), np.ones(act_dim), hidden=hidden, seed=0)
    times = update_seconds(agent, random_batch(obs_dim, act_dim, batch_size, seed=0), blocks, per_block)
    peak = matmul_peak_gflops(max(hidden))
    seconds = statistics.median(times)
    flops = update_flops(obs_dim, act_dim, hidden, batch_size)
    return {
        "task": task, "obs_dim": obs_dim, "act_dim": act_dim, "hidden": list(hidden), "batch_size": batch_size,
        "threads": threads, "ms_per_update": round(seconds * 1e3, 3), "ms_per_update_min": round(min(times) * 1e3, 3),
        "mflop_per_update": round(flops / 1e6, 1), "gflops": round(flops / seconds / 1e9, 2),
        "matmul_peak_gflops": round(peak, 2), "fraction_of_peak": round(flops / seconds / 1e9 / peak, 3),
        "cpu": cpu_model(), "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", nargs="+", default=list(DIMS), choices=list(DIMS))
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--blocks", type=int, default=7, help="timed blocks (median reported)")
    parser.add_argument("--per-block", type=int, default=20, help="updates per timed block")
    parser.add_argument("--label", default="", help="free text stored with each line (e.g. which code was timed)")
    parser.add_argument("--no-save", action="store_true", help=f"do not append to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    for threads in args.threads:
        for task in args.task:
            result = measure(task, threads, tuple(args.hidden), args.batch_size, args.blocks, args.per_block)
            if args.label:
                result["label"] = args.label
            line = json.dumps(result)
            print(line, flush=True)
            if not args.no_save:
                RESULTS.parent.mkdir(parents=True, exist_ok=True)
                with RESULTS.open("a") as out:
                    out.write(line + "\n")


if __name__ == "__main__":
    main()

"""Speed of one ensemble forward pass against this machine's float32 matmul throughput.

Times the call PETS makes at every horizon step of a CEM iteration: ``model.sample(obs, act,
member, generator)`` on population x particles rows (350 x 20 = 7,000) with TS-1 members (a random
permutation giving every elite an equal share, a new one at each call as TS-1 draws one at each
step), for a 7-member 4x200 SiLU Gaussian ensemble (``pe``); ``sample_tsinf`` passes the same
members at every call, as TS-inf does (the model then reuses their routing, as does ``mean``
with per-row members); and the bare stacked MLP. Throughput counts the MLP's
matmul FLOPs only (2 x rows x (in x h + (L-1) x h^2 + h x out)); the reference is the best float32
GEMM throughput over a few shapes, measured in the same process, rounds interleaved with the
model timings. Other work on the machine disturbs timings (memory-bound element-wise work and
multi-threaded small matmuls most), so figures are given from the median and from the best
(least disturbed) timed block of each quantity; ``ratio`` is the median one for ``sample``.

Two stripped-down copies of the network's layer loop show where the rest goes: ``gemm_chain``
runs only its batched matmuls (same shapes, same grouping), ``gemm_silu_chain`` adds the SiLU
after each hidden layer but no bias; ``net`` is the whole network (bias and SiLU). Their ratios
bound what any eager PyTorch code with separate bias and activation passes can reach here.

Usage: python benchmarks/model_speed.py [--task HalfCheetah-v5] [--rows 7000] [--threads 2]
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from collections.abc import Callable

import torch

from mbrl_zoo.models import build_model
from mbrl_zoo.models.layers import Routing
from mbrl_zoo.tasks import get_task


def block_times(fn: Callable[[], object], budget_s: float) -> list[float]:
    """Mean seconds per call in each of 5 timed blocks of about ``budget_s / 5``."""
    fn()
    start = time.perf_counter()
    fn()
    reps = max(1, int(budget_s / 5 / max(time.perf_counter() - start, 1e-6)))
    blocks = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        blocks.append((time.perf_counter() - start) / reps)
    return blocks


MODEL_QUANTITIES = ("sample", "sample_tsinf", "mean", "net", "gemm_silu_chain", "gemm_chain")


def layer_chain(x: torch.Tensor, weights: list[torch.Tensor], scratch: list[torch.Tensor],
                activation: bool) -> torch.Tensor:
    """The network's batched matmuls alone, ``x`` (G, W, in) through ``weights`` [(G, a, b)],
    hidden activations written into the two ``scratch`` tensors (G, W, hidden) as the network
    does, with SiLU (in place) after each hidden layer when ``activation``; no bias."""
    for i, weight in enumerate(weights[:-1]):
        x = torch.bmm(x, weight, out=scratch[i % 2])
        if activation:
            torch.nn.functional.silu(x, inplace=True)
    return torch.bmm(x, weights[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="HalfCheetah-v5")
    parser.add_argument("--model", default="pe")
    parser.add_argument("--rows", type=int, default=7000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget-s", type=float, default=0.5, help="seconds per timed quantity per round")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    task = get_task(args.task)
    obs_dim, act_dim = task.dims()
    model = build_model(args.model, obs_dim, act_dim, task=task)
    generator = torch.Generator().manual_seed(0)
    obs, act = torch.randn(args.rows, obs_dim), torch.rand(args.rows, act_dim) * 2 - 1
    elites = model.elites
    # TS-1 draws new members at every step, so ``sample`` alternates between two draws (the model
    # reuses the routing of unchanged members); ``sample_tsinf`` passes the same members each call.
    members = [elites[torch.randperm(args.rows, generator=generator) % elites.numel()] for _ in range(2)]
    member = members[0]
    calls = itertools.count()
    widths = [layer.weight.shape[1:] for layer in model.net.layers]
    flops = 2 * args.rows * sum(int(i) * int(o) for i, o in widths)
    # The network's input as ``sample`` groups it: each member's rows in two slices (mlp._per_row).
    routing = Routing.of(member, model.ensemble_size, parts=2)
    grouped, grouped_members = routing.group_rows(torch.randn(args.rows, int(widths[0][0]))), routing.members

    gemms = {
        "2048x2048 @ 2048x2048": (torch.randn(2048, 2048), torch.randn(2048, 2048)),
        f"{args.rows}x200 @ 200x200": (torch.randn(args.rows, 200), torch.randn(200, 200)),
        f"(7,{args.rows // 7},200) @ (7,200,200)": (torch.randn(7, args.rows // 7, 200), torch.randn(7, 200, 200)),
    }
    timed: dict[str, Callable[[], object]] = {
        name: (lambda a=a, b=b: torch.matmul(a, b)) for name, (a, b) in gemms.items()
    }
    timed["sample"] = lambda: model.sample(obs, act, members[next(calls) % 2], generator)
    timed["sample_tsinf"] = lambda: model.sample(obs, act, member, generator)
    timed["mean"] = lambda: model.mean(obs, act, member)
    timed["net"] = lambda: model.net(grouped, grouped_members)
    weights = [layer.weight[grouped_members].detach() for layer in model.net.layers]
    scratch = [torch.empty(*grouped.shape[:2], int(widths[0][1])) for _ in range(2)]
    timed["gemm_chain"] = lambda: layer_chain(grouped, weights, scratch, activation=False)
    timed["gemm_silu_chain"] = lambda: layer_chain(grouped, weights, scratch, activation=True)
    blocks: dict[str, list[float]] = {name: [] for name in timed}
    with torch.inference_mode():
        for _ in range(args.rounds):
            for name, fn in timed.items():
                blocks[name] += block_times(fn, args.budget_s)
    figures = {}
    for summary, pick in (("median", statistics.median), ("best", min)):
        seconds = {name: pick(values) for name, values in blocks.items()}
        gemm = {name: 2 * a.shape[-2] * a.shape[-1] * b.shape[-1] * (a.shape[0] if a.dim() == 3 else 1)
                / seconds[name] / 1e9 for name, (a, b) in gemms.items()}
        reference = max(gemm.values())
        figures[summary] = {
            "matmul_gflops": round(reference, 1), "matmul_gflops_by_shape": {k: round(v, 1) for k, v in gemm.items()},
            **{f"{name}_ms": round(seconds[name] * 1e3, 2) for name in MODEL_QUANTITIES},
            **{f"{name}_gflops": round(flops / seconds[name] / 1e9, 1) for name in MODEL_QUANTITIES},
            **{f"{name}_ratio": round(flops / seconds[name] / 1e9 / reference, 3) for name in MODEL_QUANTITIES},
        }
    print(json.dumps({
        "benchmark": "model_speed", "model": args.model, "task": args.task, "rows": args.rows,
        "ensemble_size": model.ensemble_size, "elites": elites.numel(), "layers": len(widths) - 1,
        "hidden": int(widths[0][1]), "threads": args.threads, "rounds": args.rounds, "flops_per_call": flops,
        "ratio": figures["median"]["sample_ratio"], "median": figures["median"], "best": figures["best"],
    }))


if __name__ == "__main__":
    main()

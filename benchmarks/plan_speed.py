"""Time one PETS planning call on cart-pole and compare it with this machine's matmul peak.

Settings are mbrl-lib's default PETS cart-pole configuration (Chua et al. 2018 as packaged by
mbrl-lib 0.2.0): a probabilistic ensemble of 7 Gaussian MLPs (5 elites) with 4 hidden layers of
200 SiLU units, obs 4 + act 1 inputs; CEM with population 350, 10% elites, 5 iterations, momentum
0.1, horizon 15; 20 particles with TS-1 propagation. The model comes from the registry (``pe``)
untrained: speed does not depend on the weights.

FLOPs counted are the model's matmuls only, as in the peer's microbenchmark:
``rows = iterations * population * particles * horizon`` (each row through one member) times
``2 * (in * hid + (layers - 1) * hid^2 + hid * 2 * obs)`` per row = 525,000 rows x 245,200 FLOP =
128.7 GFLOP per call. ``matmul_peak_gflops`` is the best float32 matmul throughput measured in the
same process on large and ensemble-shaped GEMMs.

    python benchmarks/plan_speed.py --json             # one JSON line on stdout
    python benchmarks/plan_speed.py --json --profile   # + where the time goes, on stderr
    python benchmarks/plan_speed.py --json --matmul-dtype bfloat16   # network matmuls in bf16

With ``--matmul-dtype bfloat16`` the network runs on bf16 copies of its weights
(:func:`mbrl_zoo.models.base.matmuls_in`, what ``--set algorithm.matmul_dtype=bfloat16`` does in
a run) and the JSON line adds ``matmul_peak_gflops_bfloat16``, the bf16 peak on the same shapes;
``matmul_peak_gflops`` stays the float32 peak.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

import mbrl_zoo.models  # noqa: F401  (registers the models)
import planners  # noqa: F401  (registers the planners)
from mbrl_zoo.models.base import matmuls_in
from mbrl_zoo.registry import MODELS, PLANNERS
from mbrl_zoo.rollout import make_objective

OBS_DIM, ACT_DIM = 4, 1
X_LIMIT, THETA_LIMIT = 2.4, 12 * 2 * 3.141592653589793 / 360


def cartpole_termination(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    """Balance cart-pole (mbrl-lib's ``cartpole_continuous``, obs ``[x, x_dot, theta, theta_dot]``):
    done when the cart leaves the track or the pole tilts past 12 degrees; (B,) bool."""
    return (next_obs[:, 0].abs() > X_LIMIT) | (next_obs[:, 2].abs() > THETA_LIMIT)


def cartpole_reward(obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    """1 per step that does not end the episode; (B,)."""
    return (~cartpole_termination(obs, act, next_obs)).to(next_obs.dtype)


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    return median_wall_and_cpu(fn, repeats, warmup)[0]


def median_wall_and_cpu(fn: Callable[[], object], repeats: int, warmup: int = 1) -> tuple[float, float]:
    """Median wall-clock and median process CPU seconds of ``fn()`` over ``repeats`` calls after
    ``warmup`` calls. CPU seconds add up over threads; other work on the machine barely moves them."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def block_gflops(fn: Callable[[], object], flops: float, seconds: float) -> float:
    """GFLOP/s of ``fn`` from the median of 5 timed blocks of about ``seconds / 5`` each."""
    fn()
    start = time.perf_counter()
    fn()
    reps = max(1, int(seconds / 5 / max(time.perf_counter() - start, 1e-6)))
    return flops / median_seconds(lambda: [fn() for _ in range(reps)], 5, warmup=0) * reps / 1e9


def matmul_peak_gflops(hidden: int, seconds: float = 0.4, dtype: torch.dtype = torch.float32) -> float:
    """Best matmul GFLOP/s in ``dtype`` over a large square GEMM and the ensemble's hidden-layer shapes."""
    shapes = [(1, 2048, 2048, 2048), (1, 7000, hidden, hidden), (5, 1400, hidden, hidden), (7, 1000, hidden, hidden)]
    best = 0.0
    for members, rows, inner, outer in shapes:
        a, b = torch.randn(members, rows, inner, dtype=dtype), torch.randn(members, inner, outer, dtype=dtype)
        out = torch.empty(members, rows, outer, dtype=dtype)
        best = max(best, block_gflops(lambda: torch.bmm(a, b, out=out), 2 * members * rows * inner * outer, seconds))
    return best


def flops_per_row(in_dim: int, hidden: int, layers: int, out_dim: int) -> int:
    """Matmul FLOPs of one row through one member (Gaussian head: mean and log-variance)."""
    return 2 * (in_dim * hidden + (layers - 1) * hidden * hidden + hidden * 2 * out_dim)


def ideal_forward_seconds(members: int, rows: int, hidden: int, layers: int, repeats: int) -> float:
    """Time of the bare stacked-weight MLP (baddbmm + SiLU, no routing, normalisation or sampling)
    on ``rows`` split evenly over ``members``: the floor one model step could reach."""
    widths = [OBS_DIM + ACT_DIM] + [hidden] * layers + [2 * OBS_DIM]
    weights = [torch.randn(members, a, b) * 0.05 for a, b in zip(widths[:-1], widths[1:])]
    biases = [torch.zeros(members, 1, b) for b in widths[1:]]
    x = torch.randn(members, rows // members, widths[0])

    def forward():
        h = x
        for w, b in zip(weights[:-1], biases[:-1]):
            h = F.silu(torch.baddbmm(b, h, w))
        return torch.baddbmm(biases[-1], h, weights[-1])

    with torch.inference_mode():
        return median_seconds(forward, repeats, warmup=2)


def planning_setup(args: argparse.Namespace):
    """The untrained ``pe`` model, the CEM planner, the cart-pole objective and the planner's
    generator that one planning call at ``args``' settings uses (population, iterations,
    horizon, particles, ensemble, elites, hidden, layers, propagation)."""
    model = MODELS.get("pe").obj(
        obs_dim=OBS_DIM, act_dim=ACT_DIM, ensemble_size=args.ensemble, num_elites=args.elites,
        hidden=args.hidden, layers=args.layers, activation="silu",
    )
    model.eval()
    planner = PLANNERS.get("cem").obj(
        action_low=-torch.ones(ACT_DIM), action_high=torch.ones(ACT_DIM), horizon=args.horizon,
        population_size=args.population, elite_fraction=0.1, iterations=args.iterations, momentum=0.1,
    )
    obs = torch.tensor([0.01, -0.02, 0.03, 0.01])
    model_generator, plan_generator = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    objective = make_objective(
        model, obs, cartpole_reward, cartpole_termination, particles=args.particles,
        propagation=args.propagation, generator=model_generator,
    )
    return model, planner, objective, plan_generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON line on stdout")
    parser.add_argument("--reps", type=int, default=7, help="timed planning calls (median reported)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--population", type=int, default=350)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--horizon", type=int, default=15)
    parser.add_argument("--particles", type=int, default=20)
    parser.add_argument("--ensemble", type=int, default=7)
    parser.add_argument("--elites", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=200)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--propagation", default="ts1", choices=["ts1", "tsinf", "sample", "expectation"])
    parser.add_argument("--matmul-dtype", default="float32", choices=["float32", "bfloat16"],
                        help="precision of the network's matmuls while planning")
    parser.add_argument("--profile", action="store_true", help="print where the time goes on stderr")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model, planner, objective, plan_generator = planning_setup(args)
    matmul_dtype = getattr(torch, args.matmul_dtype)
    with matmuls_in(model, matmul_dtype):
        seconds, cpu_seconds = median_wall_and_cpu(lambda: planner.plan(objective, generator=plan_generator),
                                                   args.reps, args.warmup)
    peak = matmul_peak_gflops(args.hidden)

    rows = args.iterations * args.population * args.particles * args.horizon
    flops = rows * flops_per_row(OBS_DIM + ACT_DIM, args.hidden, args.layers, OBS_DIM)
    result = {
        "ms_per_call": seconds * 1e3,
        "cpu_ms_per_call": cpu_seconds * 1e3,
        "rows_per_s": rows / seconds,
        "gflops": flops / seconds / 1e9,
        "matmul_peak_gflops": peak,
    }
    if matmul_dtype != torch.float32:
        result["matmul_dtype"] = args.matmul_dtype
        result[f"matmul_peak_gflops_{args.matmul_dtype}"] = matmul_peak_gflops(args.hidden, dtype=matmul_dtype)
    if not args.json:
        print(f"one planning call: {seconds * 1e3:.0f} ms for {rows} rows, {flops / 1e9:.1f} GFLOP -> "
              f"{result['gflops']:.1f} GFLOP/s = {100 * result['gflops'] / peak:.0f}% of the {peak:.0f} GFLOP/s "
              "matmul peak")
    if args.profile:
        with matmuls_in(model, matmul_dtype):
            profile(model, planner, objective, plan_generator, args, seconds, flops, peak)
    print(json.dumps(result))


def profile(model, planner, objective, generator, args, seconds: float, flops: float, peak: float) -> None:
    """Split one planning call into the model's ``sample`` calls and everything else (planner
    sampling, ranking, rollout bookkeeping, reward and termination), and compare one model step
    with the bare stacked-weight MLP on the same rows."""
    inside = []
    sample = model.sample

    def timed_sample(*a, **k):
        start = time.perf_counter()
        out = sample(*a, **k)
        inside.append(time.perf_counter() - start)
        return out

    model.sample = timed_sample
    totals = []
    model_totals = []
    for _ in range(args.reps):
        inside.clear()
        start = time.perf_counter()
        planner.plan(objective, generator=generator)
        totals.append(time.perf_counter() - start)
        model_totals.append(sum(inside))
    del model.sample
    total, in_model = statistics.median(totals), statistics.median(model_totals)
    steps = args.iterations * args.horizon
    rows_per_step = args.population * args.particles
    ideal = ideal_forward_seconds(args.elites, rows_per_step, args.hidden, args.layers, 20) * steps
    lines = [
        f"planning call (profiled run): {total * 1e3:.0f} ms (unprofiled median {seconds * 1e3:.0f} ms)",
        f"  inside model.sample: {in_model * 1e3:.0f} ms ({100 * in_model / total:.1f}%), "
        f"{in_model / steps * 1e3:.2f} ms per step of {rows_per_step} rows",
        f"  outside the model (planner + rollout + reward/termination): {(total - in_model) * 1e3:.0f} ms "
        f"({100 * (total - in_model) / total:.1f}%)",
        f"  bare stacked MLP (baddbmm + SiLU, {args.elites} x {rows_per_step // args.elites} rows) x {steps} steps: "
        f"{ideal * 1e3:.0f} ms = {flops / ideal / 1e9:.1f} GFLOP/s ({100 * flops / ideal / 1e9 / peak:.0f}% of peak)",
        f"  model overhead beyond the bare MLP (routing, normalisation, noise): {(in_model - ideal) * 1e3:.0f} ms",
    ]
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    main()

"""How the cost of planning and of MBPO's env step grows with their size settings.

Planning (PETS: CEM over an ensemble, ``plan_speed.py``'s cart-pole setup): the time of one
planning call at a base setting and with each of population, particles, horizon and ensemble
size doubled alone. The model's work is ``iterations x population x particles x horizon`` rows,
each through one member, so doubling population, particles or horizon should double the time,
while doubling the ensemble (and its elites) leaves the rows, and so the FLOPs, unchanged.

MBPO (Janner et al. 2019; Hopper-v5 sizes, obs 11, act 3): the learning part of one env step,
``G`` SAC updates at batch 256 plus ``M`` one-step model rollouts (``rollout_batch_size /
refit_every`` per env step, done in one batch per refit), at a base ``G`` and ``M`` and at 2x
and 4x each. The model is the untrained ``pe`` ensemble of the Hopper preset: speed does not
depend on its weights.

For MBPO each point also carries ``part_ms``, the part that was scaled alone (the updates
for G, the rollouts for M), and its ratio to its own base. Each point is one JSON line appended to ``results/benchmarks/scaling.jsonl`` with its ratio to
the base point; the plot goes to ``results/benchmarks/scaling.png``. The base settings are
smaller than the defaults (population 100, particles 10) so that the whole script takes a few
minutes on a 2-core machine.

    python benchmarks/scaling.py
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from algorithms.model_rollouts import branched_rollouts  # noqa: E402
from algorithms.sac import SACAgent  # noqa: E402
from benchmarks.plan_speed import median_seconds, planning_setup  # noqa: E402
from benchmarks.sac_update_speed import cpu_model, random_batch  # noqa: E402
from mbrl_zoo.config import resolve  # noqa: E402
import mbrl_zoo.app  # noqa: E402,F401  (registers every component)

OUT = ROOT / "results" / "benchmarks"
PLAN_BASE = {"population": 100, "particles": 10, "horizon": 15, "ensemble": 7}
MBPO_BASE = {"G": 10, "M": 100}


def planning_ms(settings: dict, reps: int) -> float:
    args = argparse.Namespace(iterations=5, elites=max(1, settings["ensemble"] * 5 // 7), hidden=200, layers=4,
                              propagation="ts1", **settings)
    _, planner, objective, generator = planning_setup(args)
    with torch.inference_mode():
        return median_seconds(lambda: planner.plan(objective, generator=generator), reps, warmup=1) * 1e3


def mbpo_parts(reps: int):
    """Callables timing G SAC updates and M one-step rollouts, built once (Hopper sizes)."""
    config = resolve("mbpo", {"run": {"task": "Hopper-v5", "seed": 0}})
    spec = config.task_spec()
    obs_dim, act_dim = spec.dims()
    low, high = spec.action_bounds()
    model = config.make_model(obs_dim, act_dim)
    model.eval()
    agent = SACAgent(obs_dim, act_dim, low, high, seed=0)
    batch = random_batch(obs_dim, act_dim, 256, seed=0)
    generator = torch.Generator().manual_seed(0)
    starts = torch.randn(4 * MBPO_BASE["M"] * config.algorithm.refit_every, obs_dim) * 0.1

    def updates_ms(g: int) -> float:
        return median_seconds(lambda: [agent.update(batch) for _ in range(g)], reps, warmup=1) * 1e3

    def rollouts_ms(m: int) -> float:
        """Per env step: one batch of m x refit_every rollouts, divided by refit_every."""
        rows = m * config.algorithm.refit_every
        with torch.no_grad():
            seconds = median_seconds(lambda: branched_rollouts(
                model, starts[:rows], lambda o: agent.policy(o)[0], 1, spec.reward_fn, spec.termination_fn,
                generator), max(1, reps // 2), warmup=0)
        return seconds * 1e3 / config.algorithm.refit_every

    return updates_ms, rollouts_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=3, help="timed calls per point (median reported)")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    common = {"threads": args.threads, "cpu": cpu_model(), "torch": torch.__version__,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    points = []

    base_ms = planning_ms(PLAN_BASE, args.reps)
    points.append({"study": "planning", "setting": "base", "factor": 1, "ms": base_ms, **PLAN_BASE})
    for name in PLAN_BASE:
        settings = {**PLAN_BASE, name: 2 * PLAN_BASE[name]}
        points.append({"study": "planning", "setting": name, "factor": 2, "ms": planning_ms(settings, args.reps),
                       **settings})

    updates_ms, rollouts_ms = mbpo_parts(args.reps)
    base_updates, base_rollouts = updates_ms(MBPO_BASE["G"]), rollouts_ms(MBPO_BASE["M"])
    for factor in (1, 2, 4):
        g, m = factor * MBPO_BASE["G"], factor * MBPO_BASE["M"]
        step_g = (updates_ms(g) if factor > 1 else base_updates) + base_rollouts
        step_m = base_updates + (rollouts_ms(m) if factor > 1 else base_rollouts)
        part_g, part_m = step_g - base_rollouts, step_m - base_updates
        points.append({"study": "mbpo", "setting": "G", "factor": factor, "ms": step_g, "G": g, "M": MBPO_BASE["M"],
                       "part_ms": part_g, "part_ratio_to_base": round(part_g / base_updates, 3)})
        points.append({"study": "mbpo", "setting": "M", "factor": factor, "ms": step_m, "G": MBPO_BASE["G"], "M": m,
                       "part_ms": part_m, "part_ratio_to_base": round(part_m / base_rollouts, 3)})

    base = {"planning": base_ms, "mbpo": base_updates + base_rollouts}
    for point in points:
        point["ratio_to_base"] = round(point["ms"] / base[point["study"]], 3)
        point["ms"] = round(point["ms"], 2)
        if "part_ms" in point:
            point["part_ms"] = round(point["part_ms"], 2)
        line = json.dumps({**point, **common})
        print(line, flush=True)
        if not args.no_save:
            OUT.mkdir(parents=True, exist_ok=True)
            with (OUT / "scaling.jsonl").open("a") as out:
                out.write(line + "\n")
    plot(points, OUT / "scaling.png" if not args.no_save else None)


def plot(points: list[dict], path: Path | None) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    names = [p["setting"] for p in points if p["study"] == "planning"]
    left.bar(names, [p["ratio_to_base"] for p in points if p["study"] == "planning"], color="tab:blue")
    left.axhline(2.0, color="k", ls="--", lw=1, label="linear (2x)")
    left.set_title("PETS planning call, one setting doubled")
    left.set_ylabel("time / base time")
    left.legend()
    for setting, colour in (("G", "tab:orange"), ("M", "tab:green")):
        rows = [p for p in points if p["study"] == "mbpo" and p["setting"] == setting]
        right.plot([p["factor"] for p in rows], [p["ratio_to_base"] for p in rows], "o-", color=colour,
                   label=f"env step, {setting} x factor")
        right.plot([p["factor"] for p in rows], [p["part_ratio_to_base"] for p in rows], "s:", color=colour,
                   label="its part alone (" + ("SAC updates" if setting == "G" else "model rollouts") + ")")
    right.plot([1, 4], [1, 4], "k--", lw=1, label="proportional")
    right.set_title(f"MBPO env step (G={MBPO_BASE['G']}, M={MBPO_BASE['M']} base)")
    right.set_xlabel("factor")
    right.set_ylabel("time / base time")
    right.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()

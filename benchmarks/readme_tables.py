"""The README's results and speed tables, generated from what is committed under ``results/``.

    python benchmarks/readme_tables.py            # print both tables
    python benchmarks/readme_tables.py --write    # put them into README.md between their markers
    python benchmarks/readme_tables.py --check    # exit 1 when README.md is out of date (a test runs this)

The results table has one row per group of reference runs in :data:`GROUPS`: seeds, env steps,
the final return (mean of the last 5 scored episodes of each run; mean ± std over seeds) and the
env steps at which each run first reached the task's threshold ("none": no run did). The speed
table holds the latest line of each benchmark log (:data:`PEER_LOGS`, :data:`SAC_UPDATE_LOG`), with
its command and machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mbrl_zoo.results import final_return, load_runs, steps_to  # noqa: E402

GROUPS: list[tuple[str, float | None]] = [
    ("results/benchmark/rs-mpc/cartpole-balance", 190.0),
    ("results/benchmark/pets/cartpole-balance", 190.0),
    ("results/pets-value/InvertedPendulum-v5/seed[0-2]", 1000.0),
    ("results/mbpo/InvertedPendulum-v5", 1000.0),
    ("results/value-expansion/InvertedPendulum-v5/mve", 1000.0),
    ("results/value-expansion/InvertedPendulum-v5/steve", 1000.0),
    ("results/value-expansion/InvertedPendulum-v5/sac", 1000.0),
    ("results/value-expansion/InvertedPendulum-v5/gamma-mve", 1000.0),
    ("results/value-expansion/Hopper-v5/sac", 1000.0),
    ("results/value-expansion/Hopper-v5/mve", 1000.0),
    ("results/value-expansion/Hopper-v5/gamma-mve", 1000.0),
    ("results/pets/HalfCheetah-v5", 3000.0),
    ("results/sac/HalfCheetah-v5", 3000.0),
    ("results/dagger-model/cartpole-balance/dagger-model", 190.0),
    ("results/dagger-model/cartpole-swingup/dagger-model", 155.0),
    ("results/planning-studies/long/mcts-model/CartPole-v1", 475.0),
    ("results/planning-studies/oracle-mcts/Acrobot-v1", -100.0),
]
"""(folder or glob of run folders, return threshold) per row, in README order."""

PEER_LOGS = [("PETS planning call, mbrl-lib's cart-pole settings", "results/benchmarks/plan_call_vs_mbrl_lib.jsonl"),
             ("MBPO env step, Hopper preset (G = 20)", "results/benchmarks/mbpo_step_vs_mbrl_lib.jsonl")]
"""(what, JSON-lines log of ``benchmarks/peers/compare.py``) per speed row against the peer."""
SAC_UPDATE_LOG = "results/benchmarks/sac_update_speed.jsonl"

MARKERS = {"results": "<!-- results-table -->", "speed": "<!-- speed-table -->"}


def _folders(pattern: str) -> list[Path]:
    if any(ch in pattern for ch in "*?["):
        return sorted(p for p in ROOT.glob(pattern) if (p / "metrics.csv").exists())
    return [ROOT / pattern]


def results_table() -> str:
    lines = ["| task | pairing | seeds | env steps | final return | first return >= threshold (env steps) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for pattern, threshold in GROUPS:
        runs = load_runs(_folders(pattern))
        finals = [final_return(r.metrics, r.settings) for r in runs]
        finals = np.asarray([f for f in finals if f is not None], dtype=float)
        steps = [int(r.metrics["env_step"].iloc[-1]) for r in runs]
        reached = [steps_to(r.metrics, r.settings, threshold) for r in runs] if threshold is not None else []
        spread = f" ± {finals.std(ddof=1):,.0f}" if len(finals) > 1 else ""
        first = ", ".join(f"{s:,}" if s is not None else "not reached" for s in reached)
        if reached and all(s is None for s in reached):
            first = "none"
        env_steps = f"{min(steps):,}" if min(steps) == max(steps) else f"{min(steps):,}-{max(steps):,}"
        lines.append(f"| {runs[0].task} | {runs[0].pairing} | {len(runs)} | {env_steps} | "
                     f"{finals.mean():,.1f}{spread} | {first} (>= {threshold:g}) |")
    return "\n".join(lines)


def speed_table() -> str:
    """The latest line of each peer comparison (mbrl-lib's time over ours, wall clock and process
    CPU time) and of the SAC update's fraction of the matmul peak, each with its command and machine."""
    lines = ["| what | mbrl-zoo | mbrl-lib 0.2.0 | mbrl-lib / ours (wall, CPU) | machine | command |",
             "| --- | --- | --- | --- | --- | --- |"]
    for what, log in PEER_LOGS:
        path = ROOT / log
        if path.exists():
            last = json.loads(path.read_text().strip().splitlines()[-1])
            m = last["machine"]
            lines.append(f"| {what} | {last['ours_ms']:,.0f} ms | {last['mbrl_lib_ms']:,.0f} ms | "
                         f"{last['ratio']:.2f}, {last['cpu_ratio']:.2f} | {m['cpu']}, {m['threads']} thread(s), "
                         f"load {m['load_avg_1min']:.0f} | `{last['command'].strip()}` |")
    path = ROOT / SAC_UPDATE_LOG
    if path.exists():
        for line in path.read_text().strip().splitlines()[::-1]:
            last = json.loads(line)
            if last["threads"] == 1 and last["task"] == "Hopper-v5":
                lines.append(f"| SAC update, batch 256, Hopper sizes | {last['ms_per_update']:.0f} ms, "
                             f"{100 * last['fraction_of_peak']:.0f}% of the matmul peak | | | {last['cpu']}, 1 thread | "
                             f"`python benchmarks/sac_update_speed.py` |")
                break
    return "\n".join(lines)


def filled(readme: str, tables: dict[str, str]) -> str:
    """``readme`` with each marker followed by its table (replacing the table that followed it)."""
    out = []
    lines = readme.split("\n")
    i = 0
    while i < len(lines):
        out.append(lines[i])
        name = next((n for n, m in MARKERS.items() if lines[i].strip() == m), None)
        i += 1
        if name is None:
            continue
        while i < len(lines) and lines[i].startswith("|"):
            i += 1
        out.append(tables[name])
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md's tables")
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md's tables are out of date")
    args = parser.parse_args()
    tables = {"results": results_table(), "speed": speed_table()}
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    updated = filled(readme, tables)
    if args.check:
        if updated != readme:
            print("README.md's tables are out of date: run python benchmarks/readme_tables.py --write", file=sys.stderr)
            raise SystemExit(1)
        return
    if args.write:
        readme_path.write_text(updated)
        return
    print(tables["results"] + "\n\n" + tables["speed"])


if __name__ == "__main__":
    main()

"""The README's results and speed tables, generated from what is committed under ``results/``.

    python benchmarks/readme_tables.py            # print both tables
    python benchmarks/readme_tables.py --write    # put them into README.md between their markers
    python benchmarks/readme_tables.py --check    # exit 1 when README.md is out of date (a test runs this)

The results table is the reference matrix (``results/benchmark/matrix.yaml``) as a pairing x task
grid: in each cell the final return of its finished runs (mean of the last 5 scored episodes of
each run), mean ± std over seeds. The speed table holds the latest line of each benchmark log
(:data:`PEER_LOGS`, :data:`SAC_UPDATE_LOG`), with its command and machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mbrl_zoo.app.sweep import finished_cells  # noqa: E402
from mbrl_zoo.results import final_return, load_runs, short_cpu  # noqa: E402

MATRIX_SPEC = ROOT / "results" / "benchmark" / "matrix.yaml"

PEER_LOGS = [("PETS planning call, mbrl-lib's cart-pole settings", "results/benchmarks/plan_call_vs_mbrl_lib.jsonl"),
             ("MBPO env step, Hopper preset (G = 20)", "results/benchmarks/mbpo_step_vs_mbrl_lib.jsonl")]
"""(what, JSON-lines log of ``benchmarks/peers/compare.py``) per speed row against the peer."""
SAC_UPDATE_LOG = "results/benchmarks/sac_update_speed.jsonl"

MARKERS = {"results": "<!-- results-table -->", "speed": "<!-- speed-table -->"}


def results_table(spec_path: str | Path = MATRIX_SPEC) -> str:
    """A row per pairing and a column per task of the matrix spec (its env-step budget in the
    header), from the run folders beside the spec (``PAIRING/TASK/seedS``): the final return over
    the cell's finished seeds (those whose log reached the budget), mean ± std, with their count
    (n) where fewer than the spec's seeds finished; "-" where none has."""
    spec, done, _ = finished_cells(spec_path)
    budgets = {task: spec.budget(next(c for c in spec.cells() if c.task == task)) for task in spec.tasks}
    lines = ["| pairing | " + " | ".join(f"{task} ({budgets[task] / 1000:g}k)" for task in spec.tasks) + " |",
             "| --- |" + " --- |" * len(spec.tasks)]
    for pairing in spec.pairings:
        cells = []
        for task in spec.tasks:
            folders = [c.folder(Path(spec_path).parent) for c in done if (c.pairing, c.task) == (pairing, task)]
            finals = np.asarray([final_return(r.metrics, r.settings) for r in load_runs(folders)] if folders else [],
                                dtype=float)
            if not len(finals):
                cells.append("-")
                continue
            text = f"{finals.mean():,.0f}±{finals.std(ddof=1):,.0f}" if len(finals) > 1 else f"{finals[0]:,.0f}"
            cells.append(text if len(finals) == len(spec.seeds) else f"{text} (n={len(finals)})")
        lines.append(f"| {pairing} | " + " | ".join(cells) + " |")
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
                         f"{last['ratio']:.2f}, {last['cpu_ratio']:.2f} | {short_cpu(m['cpu'])}, {m['threads']} thread(s), "
                         f"load {m['load_avg_1min']:.0f} | `{last['command'].strip()}` |")
    path = ROOT / SAC_UPDATE_LOG
    if path.exists():
        for line in path.read_text().strip().splitlines()[::-1]:
            last = json.loads(line)
            if last["threads"] == 1 and last["task"] == "Hopper-v5":
                lines.append(f"| SAC update, batch 256, Hopper sizes | {last['ms_per_update']:.0f} ms, "
                             f"{100 * last['fraction_of_peak']:.0f}% of the matmul peak | | | {short_cpu(last['cpu'])}, 1 thread | "
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

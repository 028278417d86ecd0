"""``mbrl-zoo report``: a sweep's results as a Markdown table, for a README or a results page.

``mbrl-zoo report results/benchmark --threshold InvertedPendulum-v5=1000 --out table.md`` reads
the run folders below each path (or, where there are none, a sweep's ``summary.csv``) and writes
a row per pairing (with the settings that tell its variants apart) and task:

- the seeds, and the env steps each run took in all;
- the final return (:func:`mbrl_zoo.results.final_return`: the mean of each run's last ``window``
  scored episodes, never a budget-cut or random warm-up one) as mean ± standard deviation over
  seeds, and the 95% percentile bootstrap interval of that mean (Agarwal et al. 2021);
- for a task given a ``--threshold``, the env steps until a scored episode first reached it (mean
  ± std over the seeds that did, and how many did);
- the wall time per run, mean ± std;

and the machine the runs ran on (CPU model and torch threads, from each run folder's
``machine.json``; ``unknown`` where a run has none). Runs on more than one task add a table of
the interquartile mean across tasks of per-task normalised final returns with its stratified
bootstrap interval (:func:`mbrl_zoo.results.aggregate`), over the tasks every pairing has runs on
(the others are named as left out).

``mbrl-zoo report --spec results/benchmark/matrix.yaml`` reports the cells of a sweep spec that
have run their whole budget, with the spec's ``thresholds``; its across-task table covers all the
spec's tasks and the pairings finished on every one (naming the others), and it ends with the
cells still to run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mbrl_zoo.errors import UserError
from mbrl_zoo.results import (RunRecord, aggregate, complete_labels, final_return, group_stats, groups, label_runs,
                              load_runs, read_machine, run_folders, shared_tasks, short_cpu, steps_to)

SUMMARY = "summary.csv"


def parse_thresholds(assignments: Iterable[str]) -> dict[str, float]:
    """``["InvertedPendulum-v5=1000", ...]`` -> ``{"InvertedPendulum-v5": 1000.0}``."""
    out: dict[str, float] = {}
    for text in assignments:
        task, sep, raw = text.rpartition("=")
        try:
            value = float(raw)
        except ValueError:
            value = None
        if not sep or not task or value is None or not np.isfinite(value):
            raise UserError(f"--threshold {text!r} is not of the form TASK=RETURN (e.g. InvertedPendulum-v5=1000).")
        if task in out:
            raise UserError(f"--threshold gives task {task!r} twice; give one threshold per task.")
        out[task] = value
    return out


def run_rows(paths: Sequence[str | Path], thresholds: dict[str, float],
             window: int = 5) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """A dict per run, and the runs' ``(task, label)`` groups in reading order. Each run's dict:
    task, label, seed, env_steps, final_return, wall_s, steps_to (None where the task has no
    threshold or the run never reached it) and machine (a string, ``unknown`` if not recorded).
    Reads run folders, or a ``summary.csv`` where a path holds no run folder."""
    if not paths:
        raise UserError("report needs a sweep folder, a summary.csv or run folders.")
    runs: list[RunRecord] = []
    from_summary: list[tuple[RunRecord, dict[str, Any]]] = []
    folders = []
    for path in map(Path, paths):
        summary = path if path.suffix == ".csv" else path / SUMMARY
        if path.suffix != ".csv" and _has_runs(path):
            folders.append(path)
        elif summary.is_file():
            from_summary += _summary_records(summary)
        else:
            run_folders([path])  # raises: neither runs nor a summary.csv
    if folders:
        runs = load_runs(folders)
    if runs and from_summary:
        raise UserError("give either run folders or summary.csv files to one report, not both.")
    if from_summary and thresholds:
        raise UserError("--threshold needs each run's metrics.csv; give the sweep's folder with its run folders, "
                        "not only its summary.csv.")
    records = runs or label_runs([record for record, _ in from_summary])
    numbers = [n for _, n in from_summary]
    tasks = sorted({r.task for r in records})
    unknown = sorted(set(thresholds) - set(tasks))
    if unknown:
        raise UserError(f"--threshold names task {unknown[0]!r}, which no run here ran; tasks: {', '.join(tasks)}.")
    rows = []
    for i, run in enumerate(records):
        if run.metrics is None:  # a summary.csv row
            rows.append({"task": run.task, "label": run.label, "seed": run.seed, **numbers[i], "steps_to": None,
                         "machine": "unknown"})
            continue
        metrics = run.metrics
        threshold = thresholds.get(run.task)
        rows.append({"task": run.task, "label": run.label, "seed": run.seed,
                     "env_steps": int(metrics["env_step"].iloc[-1]) if len(metrics) else 0,
                     "final_return": final_return(metrics, run.settings, window),
                     "wall_s": float(metrics["wall_s"].iloc[-1]) if len(metrics) and "wall_s" in metrics else None,
                     "steps_to": None if threshold is None else steps_to(metrics, run.settings, threshold),
                     "machine": machine_text(read_machine(run.folder))})
    return rows, groups(records)


def _has_runs(path: Path) -> bool:
    try:
        return bool(run_folders([path]))
    except UserError:
        return False


def _summary_records(path: Path) -> list[tuple[RunRecord, dict[str, Any]]]:
    """``summary.csv``'s rows as runs without metrics (the grid columns as their settings), each
    with its numbers: env_steps, final_return, wall_s."""
    import pandas as pd

    from mbrl_zoo.app.sweep import SUMMARY_COLUMNS

    table = pd.read_csv(path)
    missing = [c for c in SUMMARY_COLUMNS if c not in table.columns]
    if missing:
        raise UserError(f"{str(path)!r} is not a sweep's summary.csv: it has no column {missing[0]!r}.")
    grid_keys = [c for c in table.columns if c not in SUMMARY_COLUMNS]
    records = []
    for row in table.to_dict("records"):
        numbers = {"env_steps": int(row["env_steps"]), "final_return": _number(row["final_return"]),
                   "wall_s": _number(row["wall_s"])}
        settings = {"pairing": row["pairing"], "run.task": row["task"], "run.seed": int(row["seed"]),
                    **{k: row[k] for k in grid_keys}}
        records.append((RunRecord(path, row["task"], row["pairing"], int(row["seed"]), settings, None), numbers))
    return records


def _number(value: Any) -> float | None:
    return None if value is None or not np.isfinite(float(value)) else float(value)


def machine_text(info: dict[str, Any] | None) -> str:
    """``CPU model, N torch threads``, or ``unknown``."""
    if not info or not info.get("cpu"):
        return "unknown"
    threads = info.get("threads")
    cpu = short_cpu(str(info["cpu"]))
    return f"{cpu}, {threads} torch thread{'s' if threads != 1 else ''}" if threads else cpu


def report(paths: Sequence[str | Path], thresholds: dict[str, float] | None = None, window: int = 5,
           all_tasks: Sequence[str] = ()) -> str:
    """The Markdown text: a table per pairing x task, the machine line, and an across-task table
    when the runs span more than one task (see the module docstring). With ``all_tasks`` (a
    study's tasks), the across-task table holds the pairings that have scored runs on every one
    of them, over all of them, and names the others as left out, when at least one has."""
    import pandas as pd

    thresholds = thresholds or {}
    if window < 1:
        raise UserError(f"--window must be >= 1 episode, got {window}.")
    rows, order = run_rows(paths, thresholds, window)
    machines = sorted({r["machine"] for r in rows})
    header = ["task", "pairing", "seeds", "env steps", "final return", "95% CI"]
    header += ["env steps to threshold"] if thresholds else []
    header += ["wall time"] + (["machine"] if len(machines) > 1 else [])
    lines = [_row(header), _row(["---"] * len(header))]
    for task, label in order:
        group = sorted((r for r in rows if r["task"] == task and r["label"] == label), key=lambda r: r["seed"])
        final = group_stats([r["final_return"] for r in group])
        cells = [task, label, str(len(group)), _span([r["env_steps"] for r in group]),
                 _mean_std(final, len(group)), _interval(final)]
        if thresholds:
            cells.append(_steps_to(group, thresholds.get(task)))
        cells.append(_wall([r["wall_s"] for r in group]))
        if len(machines) > 1:
            cells.append("; ".join(sorted({r["machine"] for r in group})))
        lines.append(_row(cells))
    text = "\n".join(lines) + "\n\n"
    text += (f"Final return: each run's mean return over its last {window} scored episodes (budget-cut and "
             "random warm-up episodes left out), mean ± standard deviation over seeds; 95% CI: percentile "
             "bootstrap interval of that mean.")
    if thresholds:
        text += " Thresholds: " + ", ".join(f"{t} ≥ {v:g}" for t, v in sorted(thresholds.items())) + "."
    text += "\n\n" + (f"Machine: {machines[0]}.\n" if len(machines) == 1 else "Machines: per row.\n")
    if len({r["task"] for r in rows}) > 1:
        finals = pd.DataFrame([{k: r[k] for k in ("task", "label", "seed", "final_return")} for r in rows])
        finals = finals.astype({"final_return": float})
        complete = complete_labels(finals, all_tasks) if all_tasks else []
        partial = sorted(set(finals.dropna(subset=["final_return"])["label"]) - set(complete)) if complete else []
        finals = finals[~finals["label"].isin(partial)]
        shared, every = shared_tasks(finals), sorted(set(finals.dropna(subset=["final_return"])["task"]))
        left_out = [t for t in every if t not in shared]
        if not shared:
            text += "\nAcross tasks: no task on which every pairing has a scored run, so no aggregate.\n"
            return text
        across = aggregate(finals)
        lines = [_row(["pairing", "tasks", "runs", "IQM", "95% CI"]), _row(["---"] * 5)]
        for row in across.to_dict("records"):
            lines.append(_row([row["label"], str(row["tasks"]), str(row["runs"]), f"{row['iqm']:.2f}",
                               f"[{row['iqm_low']:.2f}, {row['iqm_high']:.2f}]"]))
        which = ("every task, over the pairings with scored runs on all of them; left out: "
                 + ", ".join(partial)) if partial else None
        text += (f"\nAcross tasks ({', '.join(shared)}: " + (which or "the tasks every pairing has a scored run on"
                 + (f"; left out: {', '.join(left_out)}" if left_out else "")) + "): interquartile mean of final "
                 "returns normalised per task between the lowest (0) and highest (1) run shown, with a stratified "
                 "bootstrap interval (runs resampled within each task).\n\n" + "\n".join(lines) + "\n")
    return text


def spec_report(spec_path: str | Path, thresholds: dict[str, float] | None = None, window: int = 5) -> str:
    """:func:`report` of the finished cells of the sweep spec at ``spec_path`` (thresholds: the
    spec's and ``thresholds``, which may not give a task twice), then a line naming how many of
    its cells are finished and which are not."""
    from mbrl_zoo.app.sweep import describe_cells, finished_cells

    spec, done, left = finished_cells(spec_path)
    given = thresholds or {}
    twice = sorted(set(given) & set(spec.thresholds))
    if twice:
        raise UserError(f"--threshold gives task {twice[0]!r}, which spec {str(spec_path)!r} already gives "
                        f"({twice[0]}: {spec.thresholds[twice[0]]:g}); give it in one place.")
    unknown = sorted(set(given) - set(spec.tasks))
    if unknown:
        raise UserError(f"--threshold names task {unknown[0]!r}, which spec {str(spec_path)!r} does not run; "
                        f"its tasks: {', '.join(spec.tasks)}.")
    total = len(done) + len(left)
    ran = {cell.task for cell in done}
    chosen = {task: value for task, value in {**spec.thresholds, **given}.items() if task in ran}
    text = report([cell.folder(Path(spec_path).parent) for cell in done], chosen, window, spec.tasks)
    if not left:
        return text + f"\nCells: all {total} of the spec finished.\n"
    return text + f"\nCells: {len(done)} of the spec's {total} finished; not yet: {describe_cells(left, spec)}.\n"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def _mean_std(stats: dict[str, Any], runs: int) -> str:
    if stats["mean"] is None:
        return "-"
    text = f"{stats['mean']:.1f} ± {stats['std']:.1f}"
    return text if stats["n"] == runs else f"{text} ({stats['n']}/{runs} seeds)"


def _interval(stats: dict[str, Any]) -> str:
    return "-" if stats["mean"] is None else f"[{stats['ci_low']:.1f}, {stats['ci_high']:.1f}]"


def _span(values: Sequence[int]) -> str:
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


def _steps_to(group: Sequence[dict[str, Any]], threshold: float | None) -> str:
    if threshold is None:
        return "-"
    reached = [r["steps_to"] for r in group if r["steps_to"] is not None]
    if not reached:
        return f"not reached (0/{len(group)} seeds)"
    text = f"{np.mean(reached):.0f}" + (f" ± {np.std(reached, ddof=1):.0f}" if len(reached) > 1 else "")
    return text if len(reached) == len(group) else f"{text} ({len(reached)}/{len(group)} seeds)"


def _wall(values: Sequence[float | None]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    mean, std = float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    if mean >= 600:
        return f"{mean / 60:.1f} ± {std / 60:.1f} min"
    return f"{mean:.1f} ± {std:.1f} s"

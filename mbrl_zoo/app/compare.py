"""Runs side by side: one curve figure and a table of returns at equal environment steps.

``mbrl-zoo compare results/pets/HalfCheetah-v5 results/sac/HalfCheetah-v5 --at 10000 100000``
reads each run folder's ``config.json`` and ``metrics.csv`` (finished or still running) and writes
``OUT/comparison.csv`` and ``OUT/curves.png``. Runs are grouped by task and pairing; where runs of
one pairing on one task differ in other settings, those settings join the group's label (e.g.
``pets algorithm.matmul_dtype=bfloat16``), so variants of a pairing stay apart; a setting missing
from some of those runs' ``config.json`` (older runs) does not count. Sweeps draw their
``curves.png`` with the same function.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mbrl_zoo.errors import UserError
from mbrl_zoo.io import atomic_write, atomic_write_text

IGNORED_SETTINGS = frozenset({"pairing", "run.task", "run.seed", "run.steps"})
"""Settings that never split runs into groups: the grouping keys, the seed and the step budget."""


@dataclass(frozen=True)
class RunRecord:
    """One run folder: its task, seed, group label and ``metrics`` (one row per episode)."""

    folder: Path
    task: str
    pairing: str
    seed: int
    settings: dict[str, Any]
    metrics: Any  # pandas.DataFrame with at least env_step and return
    label: str = ""


def load_runs(folders: Sequence[str | Path]) -> list[RunRecord]:
    """Read every run folder (:func:`run_folders` of ``folders``) and label each run ``pairing``
    plus the settings that set it apart from other runs of its pairing on its task. Refuses
    (:class:`UserError`) a path holding no run, the same run twice, and two runs of one group and
    seed."""
    import pandas as pd

    if not folders:
        raise UserError("compare needs at least one run folder (a folder holding config.json and metrics.csv).")
    runs, seen = [], set()
    for folder in run_folders(folders):
        if folder.resolve() in seen:
            raise UserError(f"run folder {str(folder)!r} is given twice.")
        seen.add(folder.resolve())
        config = json.loads((folder / "config.json").read_text())
        settings = dict(_flatten(config))
        try:
            metrics = pd.read_csv(folder / "metrics.csv")
        except pd.errors.EmptyDataError:
            metrics = pd.DataFrame({"env_step": [], "episode": [], "return": []})
        runs.append(RunRecord(folder, settings["run.task"], settings["pairing"], int(settings["run.seed"]),
                              settings, metrics))
    labelled = [RunRecord(**{**vars(run), "label": _label(run, runs)}) for run in runs]
    keys: dict[tuple[str, str, int], Path] = {}
    for run in labelled:
        key = (run.task, run.label, run.seed)
        if key in keys:
            raise UserError(f"{str(keys[key])!r} and {str(run.folder)!r} are both {run.label!r} on {run.task} with "
                            f"seed {run.seed} and the same settings; compare them in separate calls.")
        keys[key] = run.folder
    return labelled


def run_folders(paths: Sequence[str | Path]) -> list[Path]:
    """``paths`` with each folder that is not itself a run folder (``config.json`` and
    ``metrics.csv``) replaced by the run folders below it, in sorted order (e.g. a sweep's folder,
    or ``results/pets/HalfCheetah-v5`` for all its seeds). Refuses a path with none."""
    found = []
    for path in map(Path, paths):
        if _is_run(path):
            found.append(path)
            continue
        below = sorted(p.parent for p in path.rglob("metrics.csv") if _is_run(p.parent)) if path.is_dir() else []
        if not below:
            raise UserError(f"{str(path)!r} is not a run folder (config.json and metrics.csv, as mbrl-zoo run writes) "
                            "and holds none.")
        found += below
    return found


def _is_run(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (folder / "metrics.csv").is_file()


def _flatten(config: dict[str, Any], prefix: str = ""):
    for key, value in config.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", tuple(value) if isinstance(value, list) else value


def _label(run: RunRecord, runs: list[RunRecord]) -> str:
    peers = [r for r in runs if r.task == run.task and r.pairing == run.pairing]
    # A setting absent from some config.json (written before the setting existed) is not compared.
    keys = sorted(set.intersection(*(set(r.settings) for r in peers)) - IGNORED_SETTINGS)
    differ = [k for k in keys if len({repr(r.settings[k]) for r in peers}) > 1]
    return " ".join([run.pairing] + [f"{k}={run.settings[k]}" for k in differ])


def returns_at(run: RunRecord, step: int, column: str = "return", window: int = 5) -> float | None:
    """Mean ``column`` over the last ``window`` episodes that ended at or before env step ``step``
    (fewer if fewer ended), or None when the run has not reached ``step`` or no episode ended by then."""
    _require_column(run, column)
    metrics = run.metrics
    if not len(metrics) or int(metrics["env_step"].iloc[-1]) < step:
        return None
    values = metrics.loc[metrics["env_step"] <= step, column].dropna().to_numpy(dtype=float)[-window:]
    return float(values.mean()) if len(values) else None


def _require_column(run: RunRecord, column: str) -> None:
    if column not in run.metrics.columns:
        raise UserError(f"run {str(run.folder)!r} has no column {column!r} in metrics.csv; its columns: "
                        f"{', '.join(run.metrics.columns)}.")


def comparison_table(runs: Sequence[RunRecord], at: Sequence[int], column: str = "return", window: int = 5):
    """A row per run (``seed`` its seed), each group's runs followed by the group's row (``seed`` =
    ``mean``: the mean over the seeds that reached the step, ``seeds_at_<s>`` of them): task,
    label, episodes, env steps and ``<column>@<s>`` = :func:`returns_at` for each ``s`` in ``at``."""
    import pandas as pd

    if any(s < 1 for s in at) or window < 1:
        raise UserError(f"--at steps must be >= 1 and --window >= 1; got {list(at)} and {window}.")
    for run in runs:
        _require_column(run, column)
    rows = []
    for task, label in sorted({(r.task, r.label) for r in runs}):
        group = sorted((r for r in runs if r.task == task and r.label == label), key=lambda r: r.seed)
        values = {s: [returns_at(run, s, column, window) for run in group] for s in at}
        for i, run in enumerate(group):
            rows.append({"task": task, "label": label, "seed": str(run.seed), "episodes": len(run.metrics),
                         "env_steps": int(run.metrics["env_step"].iloc[-1]) if len(run.metrics) else 0,
                         **{f"{column}@{s}": values[s][i] for s in at}})
        mean = {"task": task, "label": label, "seed": "mean", "episodes": None, "env_steps": None}
        for s in at:
            reached = [v for v in values[s] if v is not None]
            mean[f"{column}@{s}"] = sum(reached) / len(reached) if reached else None
            mean[f"seeds_at_{s}"] = len(reached)
        rows.append(mean)
    table = pd.DataFrame(rows, columns=["task", "label", "seed", "episodes", "env_steps",
                                        *(f"{column}@{s}" for s in at), *(f"seeds_at_{s}" for s in at)])
    return table.astype({c: "Int64" for c in ["episodes", "env_steps", *(f"seeds_at_{s}" for s in at)]})


def plot_runs(runs: Sequence[RunRecord], path: str | Path, column: str = "return", points: int = 100) -> None:
    """``path`` (PNG): a panel per task; every run's ``column`` against env steps as a thin line in its
    group's colour, and the group's mean over seeds (each run interpolated onto a common grid, up
    to the step all of the group's runs reached) as a thick line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({r.task for r in runs})
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4.2), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, task in zip(axes[0], tasks):
        labels = sorted({r.label for r in runs if r.task == task})
        for i, label in enumerate(labels):
            group = [r for r in runs if r.task == task and r.label == label and len(r.metrics.dropna(subset=[column]))]
            colour = colours[i % len(colours)]
            curves = [r.metrics.dropna(subset=[column]) for r in group]
            for curve in curves:
                ax.plot(curve["env_step"], curve[column], color=colour, alpha=0.35, linewidth=0.8)
            if not curves:
                continue
            end = min(int(c["env_step"].iloc[-1]) for c in curves)
            start = max(int(c["env_step"].iloc[0]) for c in curves)
            steps = np.linspace(start, end, points) if end > start else np.array([end])
            mean = np.mean([np.interp(steps, c["env_step"], c[column]) for c in curves], axis=0)
            ax.plot(steps, mean, color=colour, linewidth=2, label=f"{label} ({len(curves)} seeds)")
        ax.set_title(task)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("episode return" if column == "return" else column)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)


def compare(folders: Sequence[str | Path], out: str | Path, at: Sequence[int] = (), column: str = "return",
            window: int = 5):
    """Load the runs, then write ``out/comparison.csv`` and ``out/curves.png``; returns the table.
    Every input is checked before anything is written."""
    runs = load_runs(folders)
    table = comparison_table(runs, at, column, window)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} is a file; give a folder for comparison.csv and curves.png.")
    atomic_write_text(out / "comparison.csv", table.to_csv(index=False))
    plot_runs(runs, out / "curves.png", column)
    return table

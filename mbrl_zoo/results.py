"""Reading run folders back: one tidy table for notebooks, and the final return every summary uses.

    from mbrl_zoo import results
    frame = results.load(["results/pets/cartpole-balance", "runs/sweep"])
    frame[frame.scored].groupby(["task", "label"])["return"].describe()

A path that is a run folder (``config.json`` and ``metrics.csv``, as ``mbrl-zoo run`` writes) is
read as one run; any other folder stands for the run folders below it (a sweep's folder, or
``results/pets/HalfCheetah-v5`` for all its seeds). Runs are labelled ``pairing`` plus the settings
that set them apart from other runs of their pairing on their task (e.g. ``pets
planner.population_size=100`` in a sweep over that setting), so variants of a pairing stay apart.

Which episodes count. The return a run reached (:func:`final_return`, the sweep's
``final_return``, ``compare``'s and ``report``'s tables) is the mean of its last scored episodes,
and an episode is *scored* unless

- the step budget cut it short: ``metrics.csv``'s ``cut`` column is 1 (runs without the column
  mark no episode cut), or
- it acted only at random: it ended within the first ``algorithm.random_steps`` env steps of a
  run whose algorithm has that setting (its warm-up phase before any learning).
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mbrl_zoo.errors import UserError
from mbrl_zoo.stats import bootstrap_ci, iqm, normalise, stratified_bootstrap_ci

IGNORED_SETTINGS = frozenset({"pairing", "run.task", "run.seed", "run.steps"})
"""Settings that never split runs into groups: the grouping keys, the seed and the step budget."""

FINAL_WINDOW = 5
"""Scored episodes averaged into a run's final return."""

MACHINE_FILE = "machine.json"
"""Written into a run folder by the process that logged its episodes: CPU model, torch threads."""


@dataclass(frozen=True)
class RunRecord:
    """One run folder: its task, seed, group label, flattened ``settings`` (``section.key``) and
    ``metrics`` (a pandas DataFrame, one row per episode, with at least env_step and return)."""

    folder: Path
    task: str
    pairing: str
    seed: int
    settings: dict[str, Any]
    metrics: Any
    label: str = ""
    differ: tuple[str, ...] = ()
    """The settings in ``label``: those that differ between the runs of this pairing on this task."""


def run_folders(paths: Sequence[str | Path]) -> list[Path]:
    """``paths`` with each folder that is not itself a run folder (``config.json`` and
    ``metrics.csv``) replaced by the run folders below it, in sorted order. Refuses
    (:class:`UserError`) a path with none."""
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


def load_runs(paths: Sequence[str | Path]) -> list[RunRecord]:
    """Read every run folder (:func:`run_folders` of ``paths``) and label each run. Refuses
    (:class:`UserError`) no paths, a path holding no run, the same run twice, and two runs of one
    group and seed."""
    import pandas as pd

    if not paths:
        raise UserError("give at least one run folder (a folder holding config.json and metrics.csv).")
    runs, seen = [], set()
    for folder in run_folders(paths):
        if folder.resolve() in seen:
            raise UserError(f"run folder {str(folder)!r} is given twice.")
        seen.add(folder.resolve())
        settings = dict(_flatten(json.loads((folder / "config.json").read_text())))
        try:
            metrics = pd.read_csv(folder / "metrics.csv")
        except pd.errors.EmptyDataError:
            metrics = pd.DataFrame({"env_step": [], "episode": [], "return": []})
        runs.append(RunRecord(folder, settings["run.task"], settings["pairing"], int(settings["run.seed"]),
                              settings, metrics))
    return label_runs(runs)


def label_runs(runs: Sequence[RunRecord]) -> list[RunRecord]:
    """``runs`` with ``label`` and ``differ`` set: each run's pairing plus the settings in which
    the runs of its pairing on its task differ (a setting that some of them lack is not compared).
    Refuses (:class:`UserError`) two runs with the same task, label and seed."""
    labelled = []
    for run in runs:
        differ = _differing(run, runs)
        label = " ".join([run.pairing] + [f"{k}={run.settings[k]}" for k in differ])
        labelled.append(RunRecord(**{**vars(run), "label": label, "differ": differ}))
    keys: dict[tuple[str, str, int], Path] = {}
    for run in labelled:
        key = (run.task, run.label, run.seed)
        if key in keys:
            raise UserError(f"{str(keys[key])!r} and {str(run.folder)!r} are both {run.label!r} on {run.task} with "
                            f"seed {run.seed} and the same settings; give them in separate calls.")
        keys[key] = run.folder
    return labelled


def _is_run(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (folder / "metrics.csv").is_file()


def _flatten(config: dict[str, Any], prefix: str = ""):
    for key, value in config.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", tuple(value) if isinstance(value, list) else value


def groups(runs: Sequence[RunRecord]) -> list[tuple[str, str]]:
    """The ``(task, label)`` groups of ``runs`` in reading order: by task, pairing, then each
    differing setting's value, numbers by size (so ``population_size=8`` comes before ``=16``)."""
    order = {}
    for run in runs:
        values = tuple((k, *_sortable(run.settings[k])) for k in run.differ)
        order[(run.task, run.label)] = (run.task, run.pairing, values, run.label)
    return sorted(order, key=order.__getitem__)


def _sortable(value: Any) -> tuple[int, float, str]:
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, repr(value))


def _differing(run: RunRecord, runs: Sequence[RunRecord]) -> tuple[str, ...]:
    peers = [r for r in runs if r.task == run.task and r.pairing == run.pairing]
    # A setting absent from some config.json (written before the setting existed) is not compared.
    keys = sorted(set.intersection(*(set(r.settings) for r in peers)) - IGNORED_SETTINGS)
    return tuple(k for k in keys if len({repr(r.settings[k]) for r in peers}) > 1)


# which episodes count -----------------------------------------------------------------------------
def scored(metrics, settings: dict[str, Any]) -> np.ndarray:
    """A bool per row of ``metrics``: True for an episode that counts toward a final return (not
    cut by the step budget, not wholly in the random warm-up; see the module docstring)."""
    keep = np.ones(len(metrics), dtype=bool)
    if "cut" in metrics.columns:
        keep &= metrics["cut"].fillna(0).to_numpy(dtype=float) != 1
    warmup = settings.get("algorithm.random_steps")
    if isinstance(warmup, (int, float)) and not isinstance(warmup, bool):
        keep &= metrics["env_step"].to_numpy(dtype=float) > warmup
    return keep


def not_cut(metrics):
    """``metrics`` without the episodes the step budget cut short (``cut`` == 1)."""
    if "cut" not in metrics.columns:
        return metrics
    return metrics[metrics["cut"].fillna(0).to_numpy(dtype=float) != 1]


def final_return(metrics, settings: dict[str, Any], window: int = FINAL_WINDOW, column: str = "return") -> float | None:
    """Mean ``column`` of the last ``window`` scored episodes (fewer if fewer); None when none is
    scored (a run that never left its random warm-up, or whose only episode was cut)."""
    if window < 1:
        raise UserError(f"the final-return window must be >= 1 episode, got {window}.")
    values = metrics.loc[scored(metrics, settings), column].dropna().to_numpy(dtype=float)[-window:]
    return float(values.mean()) if len(values) else None


def best_return(metrics, settings: dict[str, Any]) -> float | None:
    """The highest return of a scored episode, or None when none is scored."""
    values = metrics.loc[scored(metrics, settings), "return"].dropna().to_numpy(dtype=float)
    return float(values.max()) if len(values) else None


def steps_to(metrics, settings: dict[str, Any], threshold: float) -> int | None:
    """The env step at which the first scored episode with a return of at least ``threshold``
    ended, or None when none did."""
    rows = metrics.loc[scored(metrics, settings)]
    hit = rows.loc[rows["return"].to_numpy(dtype=float) >= threshold, "env_step"]
    return int(hit.iloc[0]) if len(hit) else None


# the tidy table ----------------------------------------------------------------------------------
def load(paths: Sequence[str | Path]):
    """One tidy pandas DataFrame of every episode of every run under ``paths``: columns
    ``pairing, task, seed, label``, then one column per setting that sets runs of a pairing on a
    task apart (empty for runs it does not split), ``folder``, every ``metrics.csv`` column
    (``env_step, episode, return, ...``; columns a run lacks are empty), and ``scored``."""
    import pandas as pd

    runs = load_runs(paths)
    differ = sorted({k for run in runs for k in run.differ})
    frames = []
    for run in runs:
        frame = run.metrics.copy()
        frame.insert(0, "folder", str(run.folder))
        for key in reversed(differ):
            frame.insert(0, key, [run.settings[key]] * len(frame) if key in run.differ else None)
        for name, value in reversed((("pairing", run.pairing), ("task", run.task), ("seed", run.seed),
                                     ("label", run.label))):
            frame.insert(0, name, value)
        frame["scored"] = scored(run.metrics, run.settings)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True, sort=False) if frames else pd.DataFrame()
    ordered = [c for c in table.columns if c != "scored"] + ["scored"]
    return table[ordered].astype({"seed": int, "scored": bool})


# summaries ---------------------------------------------------------------------------------------
def group_stats(values: Sequence[float], seed: int = 0) -> dict[str, float | int | None]:
    """``n``, ``mean``, ``std`` (sample, ddof 1; 0 for one value) and the 95% percentile bootstrap
    interval of the mean (``ci_low``, ``ci_high``) over ``values``, one per seed."""
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if not len(values):
        return {"n": 0, "mean": None, "std": None, "ci_low": None, "ci_high": None}
    low, high = bootstrap_ci(values, seed=seed)
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return {"n": len(values), "mean": float(values.mean()), "std": std, "ci_low": float(low), "ci_high": float(high)}


def shared_tasks(finals) -> list[str]:
    """The tasks on which every label of ``finals`` (columns ``task, label, final_return``) has a
    scored run, sorted: the only tasks an aggregate can compare every label on."""
    finals = finals.dropna(subset=["final_return"])
    per_label = [set(runs["task"]) for _, runs in finals.groupby("label")]
    return sorted(set.intersection(*per_label)) if per_label else []


def complete_labels(finals, tasks: Sequence[str]) -> list[str]:
    """The labels of ``finals`` (columns ``task, label, final_return``) with a scored run on every
    one of ``tasks``, sorted."""
    scored = finals.dropna(subset=["final_return"]).groupby("label")["task"].agg(set)
    return sorted(label for label, ran in scored.items() if set(tasks) <= ran)


def aggregate(finals, seed: int = 0, tasks: Sequence[str] = ()):
    """Scores across tasks, per label: ``finals`` has columns ``task, label, final_return`` (one row
    per run). Only the tasks every label has runs on count (:func:`shared_tasks`), so that each
    label is scored on the same tasks. With ``tasks`` (a study's tasks), the labels that have
    scored runs on all of them are scored over all of them and the others are left out, when at
    least one label has them all (a partly run study is then ranked on its whole task set). Each
    task's final returns are normalised to [0, 1] between the lowest and highest of the runs
    scored on that task (so the aggregate ranks the groups compared together, not against an
    outside reference), then pooled; returns a DataFrame with a row per label: ``tasks``, ``runs``, ``iqm`` and its stratified bootstrap interval ``iqm_low``,
    ``iqm_high`` (runs resampled within each task), and the ``mean`` normalised score; no rows
    when no task is shared."""
    import pandas as pd

    finals = finals.dropna(subset=["final_return"])
    complete = complete_labels(finals, tasks) if tasks else []
    if complete:
        finals = finals[finals["label"].isin(complete)]
    finals = finals[finals["task"].isin(shared_tasks(finals))]
    ranges = finals.groupby("task")["final_return"].agg(["min", "max"])
    rows = []
    for label, runs in finals.groupby("label", sort=True):
        per_task = [normalise(group["final_return"].to_numpy(), *ranges.loc[task])
                    for task, group in runs.groupby("task", sort=True)]
        point, low, high = stratified_bootstrap_ci(per_task, iqm, seed=seed)
        rows.append({"label": label, "tasks": len(per_task), "runs": len(runs), "iqm": point, "iqm_low": low,
                     "iqm_high": high, "mean": float(np.concatenate(per_task).mean())})
    return pd.DataFrame(rows, columns=["label", "tasks", "runs", "iqm", "iqm_low", "iqm_high", "mean"])


# the machine -------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """This process's machine: CPU model, torch threads, logical CPUs, torch version, platform."""
    import torch

    return {"cpu": _cpu_model(), "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "platform": platform.platform()}


def short_cpu(model: str) -> str:
    """A CPU model name without its trademark signs and filler words, as tables show it:
    ``Intel(R) Xeon(R) Processor @ 2.80GHz`` -> ``Intel Xeon @ 2.80GHz``."""
    words = re.sub(r"\((R|TM|tm)\)", "", model).split()
    return " ".join(w for w in words if w not in ("Processor", "CPU"))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def read_machine(folder: str | Path) -> dict[str, Any] | None:
    """The :data:`MACHINE_FILE` of a run folder, or None when it has none (or it is unreadable)."""
    try:
        return json.loads((Path(folder) / MACHINE_FILE).read_text())
    except (OSError, ValueError):
        return None

"""Runs side by side: one curve figure and a table of returns, with confidence intervals over seeds.

``mbrl-zoo compare results/pets/HalfCheetah-v5 results/sac/HalfCheetah-v5 --at 10000 100000``
reads each run folder's ``config.json`` and ``metrics.csv`` (finished or still running; see
:mod:`mbrl_zoo.results`) and writes ``OUT/comparison.csv`` and ``OUT/curves.png``. Runs are
grouped by task and label: the pairing plus the settings that set runs of that pairing on that
task apart (e.g. ``pets planner.population_size=100`` in a sweep over that setting).

The table has a row per run and a row per group (``seed`` = ``mean``) holding the mean over its
seeds and a 95% percentile bootstrap interval of that mean (Agarwal et al. 2021), for each run's
final return (the mean of its last ``window`` scored episodes, :func:`mbrl_zoo.results.final_return`)
and, for each ``--at`` step, the return it had then. Runs spanning several tasks also get
``OUT/aggregate.csv``: per label, the interquartile mean of per-task normalised final returns with
a stratified bootstrap interval (:func:`mbrl_zoo.results.aggregate`). Sweeps draw their
``curves.png`` with :func:`plot_runs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mbrl_zoo.errors import UserError
from mbrl_zoo.io import atomic_write, atomic_write_text
from mbrl_zoo.results import RunRecord, aggregate, final_return, group_stats, groups, load_runs, not_cut
from mbrl_zoo.runs import new_figure
from mbrl_zoo.stats import bootstrap_ci

__all__ = ["compare", "comparison_table", "load_runs", "plot_runs", "returns_at", "format_table", "rounded"]

SIGNIFICANT = 6
"""Significant digits kept in written tables: enough for any return, none of the float noise."""


def returns_at(run: RunRecord, step: int, column: str = "return", window: int = 5) -> float | None:
    """Mean ``column`` over the last ``window`` episodes that ended at or before env step ``step``
    (fewer if fewer ended; episodes cut by the step budget left out), or None when the run has not
    reached ``step`` or no episode ended by then."""
    _require_column(run, column)
    metrics = run.metrics
    if not len(metrics) or int(metrics["env_step"].iloc[-1]) < step:
        return None
    metrics = not_cut(metrics)
    values = metrics.loc[metrics["env_step"] <= step, column].dropna().to_numpy(dtype=float)[-window:]
    return float(values.mean()) if len(values) else None


def _require_column(run: RunRecord, column: str) -> None:
    if column not in run.metrics.columns:
        raise UserError(f"run {str(run.folder)!r} has no column {column!r} in metrics.csv; its columns: "
                        f"{', '.join(run.metrics.columns)}.")


def comparison_table(runs: Sequence[RunRecord], at: Sequence[int] = (), column: str = "return", window: int = 5):
    """A row per run (``seed`` its seed), each group's runs followed by the group's row (``seed`` =
    ``mean``). Columns: task, label, seed, episodes, env steps; ``final_<column>`` (the run's final
    value, :func:`mbrl_zoo.results.final_return`) and, for each ``s`` in ``at``, ``<column>@<s>``
    (:func:`returns_at`). On a group's row each of those is the mean over the seeds that have it,
    with ``..._low`` / ``..._high``, the 95% bootstrap interval of that mean, and the number of
    those seeds (``seeds``, ``seeds_at_<s>``)."""
    import pandas as pd

    if any(s < 1 for s in at) or window < 1:
        raise UserError(f"--at steps must be >= 1 and --window >= 1; got {list(at)} and {window}.")
    for run in runs:
        _require_column(run, column)
    final = f"final_{column}"
    measures = [(final, "seeds")] + [(f"{column}@{s}", f"seeds_at_{s}") for s in at]
    rows = []
    for task, label in groups(runs):
        group = sorted((r for r in runs if r.task == task and r.label == label), key=lambda r: r.seed)
        values = {final: [final_return(run.metrics, run.settings, window, column) for run in group]}
        values.update({f"{column}@{s}": [returns_at(run, s, column, window) for run in group] for s in at})
        for i, run in enumerate(group):
            rows.append({"task": task, "label": label, "seed": str(run.seed), "episodes": len(run.metrics),
                         "env_steps": int(run.metrics["env_step"].iloc[-1]) if len(run.metrics) else 0,
                         **{name: values[name][i] for name, _ in measures}})
        mean = {"task": task, "label": label, "seed": "mean", "episodes": None, "env_steps": None}
        for name, count in measures:
            stats = group_stats(values[name])
            mean.update({name: stats["mean"], f"{name}_low": stats["ci_low"], f"{name}_high": stats["ci_high"],
                         count: stats["n"]})
        rows.append(mean)
    columns = ["task", "label", "seed", "episodes", "env_steps"]
    for name, count in measures:
        columns += [name, f"{name}_low", f"{name}_high", count]
    table = pd.DataFrame(rows, columns=columns)
    return table.astype({c: "Int64" for c in ["episodes", "env_steps", *(count for _, count in measures)]})


def rounded(table):
    """``table`` with every float rounded to :data:`SIGNIFICANT` significant digits (so
    ``15.100000000000001`` is written ``15.1``), for the tables written to disk."""
    out = table.copy()
    for name in out.columns:
        if out[name].dtype.kind == "f":
            out[name] = [float(f"{v:.{SIGNIFICANT}g}") if np.isfinite(v) else v for v in out[name]]
    return out


def format_table(table, decimals: int = 1) -> str:
    """``table`` (:func:`comparison_table`'s, or :func:`mbrl_zoo.results.aggregate`'s) as text:
    floats to ``decimals`` places, ``-`` where empty, and each interval beside its value
    (``12.3 [10.1, 14.0]``) instead of in columns of its own."""
    def number(value) -> str:
        return f"{value:.{decimals}f}"

    shown = table.drop(columns=[c for c in table.columns if c.endswith(("_low", "_high"))]).astype(object)
    for name in shown.columns:
        if f"{name}_low" in table.columns:
            shown[name] = [v if _missing(v) or _missing(lo) else f"{number(v)} [{number(lo)}, {number(hi)}]"
                           for v, lo, hi in zip(table[name], table[f"{name}_low"], table[f"{name}_high"])]
    shown = shown.where(table[shown.columns].notna(), "-")
    return shown.to_string(index=False, formatters={
        c: (lambda v: number(v) if isinstance(v, float) else str(v)) for c in shown.columns})


def _missing(value) -> bool:
    """True for None, NaN and pandas' NA."""
    import pandas as pd

    return bool(pd.isna(value))


PANELS_PER_ROW = 3


def label_colours(runs: Sequence[RunRecord]) -> dict[str, str]:
    """A colour of matplotlib's cycle per group label, in the order :func:`groups` first meets
    them, so that a pairing keeps its colour in every task's panel."""
    import matplotlib

    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    labels = dict.fromkeys(label for _, label in groups(runs))
    return {label: cycle[i % len(cycle)] for i, label in enumerate(labels)}


def plot_runs(runs: Sequence[RunRecord], path: str | Path, column: str = "return", points: int = 100) -> None:
    """``path`` (PNG): a panel per task, three to a row; every run's ``column`` against env steps
    as a thin line in its group's colour (one colour per group in every panel; episodes cut by the
    step budget left out), the group's mean over seeds as a thick line and the 95% bootstrap
    interval of that mean shaded (each run interpolated onto a common grid, up to the step all of
    the group's runs reached)."""
    tasks = sorted({r.task for r in runs})
    columns = min(len(tasks), PANELS_PER_ROW)
    rows = -(-len(tasks) // columns)
    fig = new_figure(figsize=(6 * columns, 4.2 * rows))
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[len(tasks):]:
        ax.set_visible(False)
    colour_of = label_colours(runs)
    for ax, task in zip(axes, tasks):
        labels = [label for t, label in groups(runs) if t == task]
        for label in labels:
            group = [r for r in runs if r.task == task and r.label == label]
            curves = [c for c in (not_cut(r.metrics).dropna(subset=[column]) for r in group) if len(c)]
            colour = colour_of[label]
            for curve in curves:
                ax.plot(curve["env_step"], curve[column], color=colour, alpha=0.35, linewidth=0.8)
            if not curves:
                continue
            end = min(int(c["env_step"].iloc[-1]) for c in curves)
            start = max(int(c["env_step"].iloc[0]) for c in curves)
            steps = np.linspace(start, end, points) if end > start else np.array([end])
            values = np.array([np.interp(steps, c["env_step"], c[column]) for c in curves])  # (seeds, points)
            ax.plot(steps, values.mean(axis=0), color=colour, linewidth=2, label=f"{label} ({len(curves)} seeds)")
            if len(curves) > 1:
                low, high = bootstrap_ci(values)
                ax.fill_between(steps, low, high, color=colour, alpha=0.2, linewidth=0)
        ax.set_title(f"{task}: mean over seeds, 95% bootstrap CI shaded", fontsize=10)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("episode return" if column == "return" else column)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))


def final_returns(runs: Sequence[RunRecord], column: str = "return", window: int = 5):
    """A DataFrame with a row per run: task, label, seed, ``final_return`` (of ``column``)."""
    import pandas as pd

    return pd.DataFrame([{"task": r.task, "label": r.label, "seed": r.seed,
                          "final_return": final_return(r.metrics, r.settings, window, column)} for r in runs],
                        columns=["task", "label", "seed", "final_return"]).astype({"final_return": float})


def compare(folders: Sequence[str | Path], out: str | Path, at: Sequence[int] = (), column: str = "return",
            window: int = 5, tasks: Sequence[str] = ()):
    """Load the runs, then write ``out/comparison.csv``, ``out/curves.png`` and, for runs on more
    than one task, ``out/aggregate.csv`` (over ``tasks``, a study's tasks, when given: see
    :func:`mbrl_zoo.results.aggregate`); returns ``(table, aggregate or None)``. Every input is
    checked before anything is written."""
    runs = load_runs(folders)
    table = comparison_table(runs, at, column, window)
    several = len({r.task for r in runs}) > 1
    across = aggregate(final_returns(runs, column, window), tasks=tasks) if several else None
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} is a file; give a folder for comparison.csv and curves.png.")
    atomic_write_text(out / "comparison.csv", rounded(table).to_csv(index=False))
    if across is not None:
        atomic_write_text(out / "aggregate.csv", rounded(across).to_csv(index=False))
    plot_runs(runs, out / "curves.png", column)
    return table, across

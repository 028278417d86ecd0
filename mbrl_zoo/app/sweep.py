"""Grids of pairings x tasks x seeds: run every cell, then one summary table and one plot.

``mbrl-zoo sweep --pairings pets rs-mpc --tasks cartpole-balance Reacher-v5 --seeds 0 1 2`` writes
``OUT/PAIRING/TASK/seedS/`` for every cell (the folder ``mbrl-zoo run`` would write), then
``OUT/summary.csv`` (a row per cell) and ``OUT/curves.png`` (a panel per task: each pairing's mean
episode return over seeds against env steps, each seed's curve drawn thin beside it). Every cell's config
is resolved and built before any cell runs, so bad input leaves nothing behind. Re-running the
same command resumes unfinished cells from their checkpoints and skips finished ones.

Cells run one after another by default, in ``workers`` local processes, or as Ray tasks
(``ray_address``: ``"local"`` starts Ray on this machine, bound to loopback, and stops it after
the sweep; anything else, e.g. ``127.0.0.1:6379`` for a cluster started with ``ray start --head``,
is passed to ``ray.init(address=...)``; every node needs this package and the plugins installed).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mbrl_zoo.errors import UserError
from mbrl_zoo.io import atomic_write_json, atomic_write_text

SUMMARY_COLUMNS = ("pairing", "task", "seed", "episodes", "env_steps", "final_return", "best_return", "wall_s")


@dataclass(frozen=True)
class Cell:
    """One run of a sweep."""

    pairing: str
    task: str
    seed: int

    def folder(self, root: Path) -> Path:
        return root / self.pairing / self.task / f"seed{self.seed}"

    def overrides(self, base: dict[str, dict[str, Any]], steps: int | None) -> dict[str, dict[str, Any]]:
        run = {**base.get("run", {}), "task": self.task, "seed": self.seed}
        if steps is not None:
            run["steps"] = steps
        return {**base, "run": run}


def grid(pairings: Sequence[str], tasks: Sequence[str], seeds: Sequence[int]) -> list[Cell]:
    """Every (pairing, task, seed) combination, in that nesting order."""
    if not pairings or not tasks or not seeds:
        raise UserError("a sweep needs at least one pairing, one task and one seed.")
    for flag, values in (("--pairings", pairings), ("--tasks", tasks), ("--seeds", [int(s) for s in seeds])):
        repeated = sorted({str(v) for v in values if list(values).count(v) > 1})
        if repeated:
            # Two cells would share one folder (and, with workers, write it at the same time).
            raise UserError(f"{flag} names {', '.join(repeated)} more than once; give each value once.")
    return [Cell(p, t, int(s)) for p in pairings for t in tasks for s in seeds]


def check_cells(cells: Sequence[Cell], base: dict[str, dict[str, Any]], steps: int | None,
                root: str | Path | None = None) -> None:
    """Resolve and build every cell's config (once per pairing and task), and check that each
    cell already under ``root`` can be resumed with it: bad input fails here, before any cell runs."""
    from mbrl_zoo.config import check_buildable, resolve
    from mbrl_zoo.runs import check_resumable

    seen: set[tuple[str, str]] = set()
    for cell in cells:
        config = resolve(cell.pairing, cell.overrides(base, steps))
        if root is not None and (cell.folder(Path(root)) / "checkpoint.pt").exists():
            check_resumable(cell.folder(Path(root)), config.to_dict())
        if (cell.pairing, cell.task) not in seen:
            check_buildable(config)
            seen.add((cell.pairing, cell.task))


def run_cell(cell: Cell, base: dict[str, dict[str, Any]], steps: int | None, root: str,
             plugins: Sequence[str] = (), threads: int | None = None, quiet: bool = True) -> dict[str, Any]:
    """Run (or resume, or skip when finished) one cell into its folder; return its summary row.
    Self-contained so that it can run in another process or on a Ray worker."""
    import torch

    from mbrl_zoo.config import resolve
    from mbrl_zoo.app import load_plugins
    from mbrl_zoo.registry import ALGORITHMS
    from mbrl_zoo.runs import Run

    load_plugins(plugins)
    if threads:
        torch.set_num_threads(threads)
    config = resolve(cell.pairing, cell.overrides(base, steps))
    out = cell.folder(Path(root))
    run = Run(out, config.to_dict(), total_steps=config.run.steps, quiet=quiet,
              resume=(out / "checkpoint.pt").exists())
    try:
        ALGORITHMS.get(config.algorithm_name).obj.train(config, run)
    finally:
        run.close()
    return summary_row(cell, run.rows)


def summary_row(cell: Cell, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A cell's line of ``summary.csv``: final return = mean of the last 5 episodes (fewer if fewer)."""
    returns = [float(r["return"]) for r in rows]
    return {"pairing": cell.pairing, "task": cell.task, "seed": cell.seed, "episodes": len(rows),
            "env_steps": int(rows[-1]["env_step"]) if rows else 0,
            "final_return": float(np.mean(returns[-5:])) if returns else None,
            "best_return": max(returns) if returns else None,
            "wall_s": float(rows[-1]["wall_s"]) if rows else 0.0}


def run_sweep(cells: Sequence[Cell], base: dict[str, dict[str, Any]], steps: int | None, root: str | Path,
              plugins: Sequence[str] = (), workers: int = 1, ray_address: str | None = None,
              quiet: bool = False) -> list[dict[str, Any]]:
    """Check every cell, run them (sequentially, in ``workers`` processes or on Ray), then write
    ``summary.csv``, ``curves.png`` and ``sweep.json`` under ``root``. Returns the summary rows."""
    root = Path(root)
    if workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}.")
    if ray_address is not None:
        _require_ray()
    check_cells(cells, base, steps, root)
    atomic_write_json(root / "sweep.json", {"cells": [vars(c) for c in cells], "overrides": base, "steps": steps})
    jobs = [(cell, base, steps, str(root), tuple(plugins)) for cell in cells]
    if ray_address is not None:
        rows = _run_on_ray(jobs, ray_address)
    elif workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        import torch

        threads = max(1, torch.get_num_threads() // workers)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            rows = list(pool.map(_run_job, [job + (threads,) for job in jobs]))
    else:
        rows = [run_cell(*job, quiet=quiet) for job in jobs]
    write_summary(rows, root)
    return rows


def _run_job(job: tuple) -> dict[str, Any]:
    return run_cell(*job)


def _require_ray():
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray installed: pip install -e '.[ray]' (on every node of the cluster).") from None
    return ray


RAY_LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Environment variable that, set to 0 before Ray is imported (in the driver and for ``ray start``),
keeps Ray's node address and servers on 127.0.0.1: a single-machine cluster on loopback only."""


def _run_on_ray(jobs: list[tuple], address: str) -> list[dict[str, Any]]:
    """Run ``jobs`` as Ray tasks of one CPU and one torch thread each. Unless Ray was already
    initialised in this process, connect first and disconnect after (stopping the Ray that
    ``address="local"`` started), so that a later sweep in this process can use another address."""
    if address == "local":
        # Ray swaps a loopback node address for the machine's network address and its servers
        # listen on every interface, unless multi-node clusters are switched off (read when Ray
        # is first imported): a Ray this sweep starts for itself stays on loopback.
        os.environ.setdefault(RAY_LOOPBACK_SWITCH, "0")
    ray = _require_ray()
    connect = not ray.is_initialized()  # a Ray the caller connected to is used and left as it is
    if connect and address == "local":
        ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
    elif connect:
        ray.init(address=address, log_to_driver=False)
    try:
        remote_cell = ray.remote(num_cpus=1)(run_cell)
        return ray.get([remote_cell.remote(*job, 1) for job in jobs])
    finally:
        if connect:
            ray.shutdown()


def write_summary(rows: list[dict[str, Any]], root: Path) -> None:
    """``summary.csv`` (a row per cell) and ``curves.png`` (:func:`mbrl_zoo.app.compare.plot_runs`)."""
    import pandas as pd

    from mbrl_zoo.app.compare import load_runs, plot_runs

    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    atomic_write_text(root / "summary.csv", table.to_csv(index=False))
    plot_runs(load_runs([Cell(r["pairing"], r["task"], r["seed"]).folder(root) for r in rows]), root / "curves.png")

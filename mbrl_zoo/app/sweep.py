"""Grids of pairings x tasks x settings x seeds: run every cell, then one summary table and one plot.

``mbrl-zoo sweep --pairings pets rs-mpc --tasks cartpole-balance Reacher-v5 --seeds 0 1 2`` writes
``OUT/PAIRING/TASK/seedS/`` for every cell (the folder ``mbrl-zoo run`` would write), then
``OUT/summary.csv`` (a row per cell) and ``OUT/curves.png`` (:func:`mbrl_zoo.app.compare.plot_runs`:
a panel per task, each group's mean over seeds with its 95% bootstrap interval, each seed thin).

Settings. ``--grid SECTION.KEY=V1,V2,...`` (repeatable) sweeps a setting too: the cells are the
product of every grid with the pairings, tasks and seeds, and each grid value adds a folder level
named ``KEY=VALUE``, e.g. ``OUT/pets/cartpole-balance/planner.population_size=100/seed0``, and a
column to ``summary.csv``. Values parse as YAML scalars, as ``--set`` values do; values that hold
commas themselves go in one YAML list, ``--grid 'algorithm.hidden=[[64,64],[128,128]]'``. ``run.task``, ``run.seed`` and ``run.steps`` have their own
flags and are refused as grid keys.

A study is a YAML spec, ``mbrl-zoo sweep --spec results/STUDY/study.yaml``::

    pairings: [pets, mbpo]                 # required
    tasks: [InvertedPendulum-v5]           # required
    seeds: [0, 1, 2]                       # default [0, 1, 2]
    steps: 5000                            # env steps per cell, or per task ({task: steps});
                                           # default each pairing's own
    grid:                                  # SECTION.KEY: [values]; default none
      algorithm.horizon: [5, 10, 25]
    set:                                   # SECTION.KEY: value, fixed in every cell; default none
      algorithm.fit_epochs: 5
    pairing_set:                           # PAIRING: {SECTION.KEY: value}, fixed in that pairing's
      pets: {planner.population_size: 100} # cells alone (keys other pairings lack); default none
    thresholds:                            # TASK: return; mbrl-zoo report --spec counts the env
      InvertedPendulum-v5: 1000            # steps each run took to reach it; default none

The sweep writes beside its spec (``--out`` may name another folder), so a committed spec and its
results stay together and one command reproduces them. What the spec holds it alone decides:
``--steps``, ``--set``, ``--grid`` and ``--config`` beside ``--spec`` are refused; ``--pairings``,
``--tasks`` and ``--seeds`` pick a part of its cells (values the spec lists), to run a large study
piece by piece (``summary.csv`` and ``curves.png`` then cover that part). How it runs (``--out``,
``--workers``, ``--ray``, ``--threads``, ``--quiet``) is up to the command line.
``mbrl-zoo report --spec`` and ``mbrl-zoo compare --spec`` read the cells of a spec that have run
their whole budget (:func:`finished_cells`) and name the ones that have not, so a study can be
reported at any point of its way.

Every cell's config is resolved and built before any cell runs, so bad input (an unknown grid
key, a value of the wrong type) leaves nothing behind. Re-running the same command resumes
unfinished cells from their checkpoints and skips finished ones, with or without their checkpoints
(committed results leave them out). Each cell that ends prints one
line (pairing, task, grid values, seed, final return, wall time) with the count of cells done and
an estimate of the time left.

Cells run one after another by default, in ``workers`` local processes (one torch thread each
unless ``threads`` says otherwise), or as Ray tasks (``ray_address``: ``"local"`` starts Ray on
this machine, bound to loopback, and stops it after the sweep; anything else, e.g.
``127.0.0.1:6379`` for a cluster started with ``ray start --head``, is passed to
``ray.init(address=...)``; every node needs this package and the plugins installed).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mbrl_zoo.config import read_yaml
from mbrl_zoo.errors import UserError
from mbrl_zoo.io import atomic_write_json, atomic_write_text

SUMMARY_COLUMNS = ("pairing", "task", "seed", "episodes", "env_steps", "final_return", "best_return", "wall_s")
"""``summary.csv``'s columns; each grid key adds one after ``task``."""

DEFAULT_SEEDS = (0, 1, 2)
RUN_FLAGS = {"run.task": "--tasks", "run.seed": "--seeds", "run.steps": "--steps"}
SPEC_KEYS = ("pairings", "tasks", "seeds", "steps", "grid", "set", "pairing_set", "thresholds")


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: a pairing on a task with one seed and one value per grid key."""

    pairing: str
    task: str
    seed: int
    settings: tuple[tuple[str, Any], ...] = ()
    """``(SECTION.KEY, value)`` for each grid key, in the grid's order."""
    fixed: tuple[tuple[str, Any], ...] = ()
    """``(SECTION.KEY, value)`` fixed for this cell's pairing alone (a spec's ``pairing_set``); unlike
    grid values they add no folder level."""

    def folder(self, root: Path) -> Path:
        return Path(root, self.pairing, self.task, *(f"{k}={value_text(v)}" for k, v in self.settings),
                    f"seed{self.seed}")

    def name(self) -> str:
        """``pairing task KEY=VALUE ... seedS``, as progress lines show the cell."""
        return " ".join([self.pairing, self.task, *(f"{k}={value_text(v)}" for k, v in self.settings),
                         f"seed{self.seed}"])

    def overrides(self, base: dict[str, dict[str, Any]], steps: int | dict[str, int] | None
                  ) -> dict[str, dict[str, Any]]:
        """The cell's settings; ``steps`` is one budget for every cell or a budget per task."""
        out = {section: dict(values) for section, values in base.items()}
        for key, value in (*self.fixed, *self.settings):
            section, name = key.split(".", 1)
            out.setdefault(section, {})[name] = value
        out["run"] = {**out.get("run", {}), "task": self.task, "seed": self.seed}
        budget = steps.get(self.task) if isinstance(steps, dict) else steps
        if budget is not None:
            out["run"]["steps"] = budget
        return out


def value_text(value: Any) -> str:
    """A grid value as its folder name and label show it: strings as they are, anything else as
    compact JSON (``100``, ``0.5``, ``true``, ``[64,64]``)."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def grid(pairings: Sequence[str], tasks: Sequence[str], seeds: Sequence[int],
         settings: dict[str, Sequence[Any]] | None = None,
         pairing_set: dict[str, dict[str, Any]] | None = None) -> list[Cell]:
    """Every (pairing, task, grid values, seed) combination, in that nesting order; ``settings``
    maps ``SECTION.KEY`` to its values (:func:`parse_grid`), ``pairing_set`` a pairing to the
    ``SECTION.KEY`` values fixed in its cells alone."""
    settings, pairing_set = settings or {}, pairing_set or {}
    if not pairings or not tasks or not seeds:
        raise UserError("a sweep needs at least one pairing, one task and one seed.")
    for flag, values in (("--pairings", list(pairings)), ("--tasks", list(tasks)), ("--seeds", [int(s) for s in seeds]),
                         *((f"--grid {key}", list(v)) for key, v in settings.items())):
        texts = [value_text(v) for v in values]
        repeated = sorted({t for t in texts if texts.count(t) > 1})
        if repeated:
            # Two cells would share one folder (and, with workers, write it at the same time).
            raise UserError(f"{flag} names {', '.join(repeated)} more than once; give each value once.")
    combos = list(itertools.product(*([(k, v) for v in values] for k, values in settings.items())))
    return [Cell(p, t, int(s), tuple(combo), tuple(pairing_set.get(p, {}).items()))
            for p in pairings for t in tasks for combo in combos for s in seeds]


def parse_grid(assignments: Iterable[str]) -> dict[str, list[Any]]:
    """``["planner.population_size=100,200", ...]`` -> ``{"planner.population_size": [100, 200]}``;
    each value parses as a YAML scalar, or the whole as one YAML list when it starts with ``[``. Refuses a malformed item, a key given twice, a ``run.task``,
    ``run.seed`` or ``run.steps`` key, and a value that cannot name a folder."""
    out: dict[str, list[Any]] = {}
    for text in assignments:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not raw.strip():
            raise UserError(f"--grid {text!r} is not of the form SECTION.KEY=V1,V2,... "
                            "(e.g. planner.population_size=100,200).")
        if key in out:
            raise UserError(f"--grid {key} is given twice; list all its values in one --grid.")
        out[key] = _values(key, raw.strip())
    return check_grid(out, "--grid")


def _values(key: str, raw: str) -> list[Any]:
    """``100,200`` -> ``[100, 200]`` (YAML scalars); ``[[64,64],[128,128]]`` -> that YAML list, for
    values that hold commas themselves."""
    if not raw.startswith("["):
        return [_scalar(part.strip()) for part in raw.split(",")]
    try:
        values = read_yaml(raw)
    except yaml.YAMLError as error:
        raise UserError(f"--grid {key}={raw!r} starts with '[' but is not a YAML list of values "
                        f"(e.g. {key}=[[64,64],[128,128]]): {str(error).splitlines()[0]}") from None
    return values


def _scalar(text: str) -> Any:
    try:
        return read_yaml(text)
    except yaml.YAMLError:
        return text


def check_grid(settings: dict[str, Any], where: str) -> dict[str, list[Any]]:
    """Check grid keys (``SECTION.KEY``, not the run flags) and values (a non-empty list whose
    items can name a folder); the values' types are checked later, against each pairing's config."""
    for key, values in settings.items():
        _split_key(key, where)
        if key in RUN_FLAGS:
            raise UserError(f"{where} {key}: the sweep sets {key} from {RUN_FLAGS[key]}; give the values there.")
        if not isinstance(values, list) or not values:
            raise UserError(f"{where} {key} needs a non-empty list of values, got {values!r}.")
        for value in values:
            text = value_text(value)
            if not text or "/" in text or "\\" in text or text.startswith(".") or value is None:
                raise UserError(f"{where} {key}={text!r}: a grid value names a folder, so it must be non-empty, "
                                "not null, not start with '.' and hold no '/' or '\\'.")
    return settings


def _split_key(key: str, where: str) -> tuple[str, str]:
    from mbrl_zoo.config import SECTIONS

    section, dot, name = str(key).partition(".")
    if not dot or not name or section not in SECTIONS:
        raise UserError(f"{where} key {key!r} is not SECTION.KEY with a section among {', '.join(SECTIONS)} "
                        "(e.g. planner.population_size).")
    return section, name


# specs -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """A study's sweep as its YAML file states it (see the module docstring)."""

    pairings: list[str]
    tasks: list[str]
    seeds: list[int] = field(default_factory=lambda: list(DEFAULT_SEEDS))
    steps: int | dict[str, int] | None = None
    grid: dict[str, list[Any]] = field(default_factory=dict)
    set: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Fixed overrides, nested by section as :func:`mbrl_zoo.config.merge` takes them."""
    pairing_set: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per pairing, ``SECTION.KEY: value`` fixed in its cells alone."""
    thresholds: dict[str, float] = field(default_factory=dict)
    """Per task, the return whose first reaching ``mbrl-zoo report --spec`` counts env steps to."""

    def cells(self) -> list[Cell]:
        """Every cell the spec states."""
        return grid(self.pairings, self.tasks, self.seeds, self.grid, self.pairing_set)

    def budget(self, cell: Cell) -> int:
        """``cell``'s env-step budget: the spec's (per task), else its pairing's own."""
        if isinstance(self.steps, dict):
            return self.steps[cell.task]
        if self.steps is not None:
            return self.steps
        from mbrl_zoo.config import resolve

        return resolve(cell.pairing, cell.overrides(self.set, None)).run.steps


def load_spec(path: str | Path) -> Spec:
    """Read and check a sweep spec; refuses (:class:`UserError`) a missing or malformed file, an
    unknown top-level key and values of the wrong kind."""
    where = f"spec {str(path)!r}:"
    try:
        data = read_yaml(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"spec file {str(path)!r} does not exist.") from None
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"spec file {str(path)!r} cannot be read as YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{where} expected a mapping with keys {', '.join(SPEC_KEYS)}, got {type(data).__name__}.")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise UserError(f"{where} unknown key {unknown[0]!r}; valid keys: {', '.join(SPEC_KEYS)}.")
    missing = [k for k in ("pairings", "tasks") if not data.get(k)]
    if missing:
        raise UserError(f"{where} needs {' and '.join(missing)} (lists of names).")

    def names(key: str, kind: type) -> list:
        value = data.get(key)
        value = [value] if isinstance(value, (str, int)) and not isinstance(value, bool) else value
        if not isinstance(value, list) or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
            raise UserError(f"{where} {key} must be a list of {kind.__name__}s, got {data.get(key)!r}.")
        return value

    steps = data.get("steps")
    budgets = list(steps.values()) if isinstance(steps, dict) else [steps]
    if steps is not None and not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in budgets):
        raise UserError(f"{where} steps must be a whole number of env steps >= 1, or a mapping of task to one; "
                        f"got {steps!r}.")
    if isinstance(steps, dict) and set(steps) != set(names("tasks", str)):
        raise UserError(f"{where} steps per task must name exactly the spec's tasks {names('tasks', str)}; "
                        f"got {sorted(steps)}.")
    fixed: dict[str, dict[str, Any]] = {}
    for key, value in _mapping(data.get("set"), f"{where} set").items():
        section, name = _split_key(key, f"{where} set")
        if key in RUN_FLAGS:
            raise UserError(f"{where} set {key}: give it as the spec's {RUN_FLAGS[key].lstrip('-')} instead.")
        fixed.setdefault(section, {})[name] = value
    settings = check_grid(_mapping(data.get("grid"), f"{where} grid"), f"{where} grid")
    pairing_set: dict[str, dict[str, Any]] = {}
    for pairing, values in _mapping(data.get("pairing_set"), f"{where} pairing_set").items():
        if pairing not in names("pairings", str):
            raise UserError(f"{where} pairing_set names {pairing!r}, which is not among the spec's pairings "
                            f"{names('pairings', str)}.")
        pairing_set[pairing] = _mapping(values, f"{where} pairing_set {pairing}")
        for key in pairing_set[pairing]:
            section, name = _split_key(key, f"{where} pairing_set {pairing}")
            if key in RUN_FLAGS:
                raise UserError(f"{where} pairing_set {pairing} {key}: give it as the spec's "
                                f"{RUN_FLAGS[key].lstrip('-')} instead.")
            if name in fixed.get(section, {}) or key in settings:
                raise UserError(f"{where} {key} is given both in pairing_set {pairing} and in "
                                f"{'set' if key not in settings else 'grid'}; give it once.")
    thresholds = _mapping(data.get("thresholds"), f"{where} thresholds", "tasks to returns")
    for task, value in thresholds.items():
        if task not in names("tasks", str):
            raise UserError(f"{where} thresholds names task {task!r}, which is not among the spec's tasks "
                            f"{names('tasks', str)}.")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise UserError(f"{where} thresholds {task}: expected a finite return, got {value!r}.")
    return Spec(pairings=names("pairings", str), tasks=names("tasks", str),
                seeds=names("seeds", int) if "seeds" in data else list(DEFAULT_SEEDS), steps=steps,
                grid=settings, set=fixed, pairing_set=pairing_set,
                thresholds={task: float(value) for task, value in thresholds.items()})


def finished_cells(path: str | Path) -> tuple[Spec, list[Cell], list[Cell]]:
    """The spec at ``path``, its cells whose run folders beside it (``cell.folder(path's
    folder)``) have logged their whole budget, and its cells that have not (never started, or
    stopped part way). Refuses a spec none of whose cells has finished."""
    spec = load_spec(path)
    root = Path(path).parent
    cells = spec.cells()
    finished = [_logged_steps(cell.folder(root)) >= spec.budget(cell) for cell in cells]
    if not any(finished):
        raise UserError(f"none of the {len(cells)} cells of spec {str(path)!r} has finished; run "
                        f"mbrl-zoo sweep --spec {path} first.")
    return (spec, [cell for cell, done in zip(cells, finished) if done],
            [cell for cell, done in zip(cells, finished) if not done])


def describe_cells(cells: Sequence[Cell], spec: Spec) -> str:
    """``cells`` of ``spec`` in a few words, by pairing (with its grid values) then task, e.g.
    ``pets on every task; rs-mpc on Pendulum-v1 (seed 2), HalfCheetah-v5``."""
    def label(cell: Cell) -> str:
        return " ".join([cell.pairing, *(f"{k}={value_text(v)}" for k, v in cell.settings)])

    parts = []
    for name in dict.fromkeys(map(label, cells)):
        mine = [c for c in cells if label(c) == name]
        tasks = list(dict.fromkeys(c.task for c in mine))
        if len(mine) == len(spec.tasks) * len(spec.seeds):
            parts.append(f"{name} on every task")
            continue
        words = []
        for task in tasks:
            seeds = [c.seed for c in mine if c.task == task]
            words.append(task if len(seeds) == len(spec.seeds) else
                         f"{task} (seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))})")
        parts.append(f"{name} on {', '.join(words)}")
    return "; ".join(parts)


def _mapping(value: Any, where: str, what: str = "SECTION.KEY to values") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{where} must map {what}, got {value!r}.")
    return {str(k): v for k, v in value.items()}


# checking and running ----------------------------------------------------------------------------
def check_cells(cells: Sequence[Cell], base: dict[str, dict[str, Any]], steps: int | dict[str, int] | None,
                root: str | Path | None = None) -> list[dict[str, Any]]:
    """Resolve and build every cell's config (once per distinct setting, whatever the seed), and
    check that each cell already under ``root`` can be resumed with it: bad input fails here,
    before any cell runs. Returns each cell's resolved config (a ``config.json`` dict)."""
    from mbrl_zoo.config import check_buildable, resolve
    from mbrl_zoo.runs import check_resumable

    for key, _ in cells[0].settings if cells else ():
        section, name = key.split(".", 1)
        if name in base.get(section, {}):
            raise UserError(f"{key} is given both as a fixed value (--set, --config or the spec's set) and as a "
                            "grid; give it once.")
    configs, built = [], {}
    for cell in cells:
        config = resolve(cell.pairing, cell.overrides(base, steps))
        as_dict = config.to_dict()
        folder = None if root is None else cell.folder(Path(root))
        if folder is not None and ((folder / "checkpoint.pt").exists() or (folder / "metrics.csv").exists()):
            check_resumable(folder, as_dict)
            logged = _logged_steps(folder)
            if not (folder / "checkpoint.pt").exists() and logged < as_dict["run"]["steps"]:
                raise UserError(f"cell {cell.name()!r} holds a run of {logged} env steps in {str(folder)!r} but no "
                                f"checkpoint.pt to continue it to {as_dict['run']['steps']} (results are kept without "
                                "their checkpoints); delete that folder to run the cell again.")
        same = json.dumps({**as_dict, "run": {**as_dict["run"], "seed": None}}, sort_keys=True, default=str)
        where = cell.folder(Path()).parent  # the cell's folder but for its seed
        if same in built and built[same][1] != where:
            raise UserError(f"cells {built[same][0]!r} and {cell.name()!r} resolve to the same settings (grid values "
                            "that differ only in how they are written); give each value once.")
        if same not in built:
            check_buildable(config)
            built[same] = (cell.name(), where)
        configs.append(as_dict)
    return configs


def plan_text(cells: Sequence[Cell], base: dict[str, dict[str, Any]], steps: int | dict[str, int] | None,
              root: str | Path) -> str:
    """What :func:`run_sweep` would do, checked as it checks (bad input raises) but running and
    writing nothing: a line per cell (finished, to resume from its checkpoint, or to run, with
    its env steps) and a count."""
    configs = check_cells(cells, base, steps, root)
    lines, finished = [], 0
    for cell, config in zip(cells, configs):
        budget, logged = config["run"]["steps"], _logged_steps(cell.folder(Path(root)))
        finished += logged >= budget
        state = ("finished" if logged >= budget else f"resumes at env step {logged} of {budget}" if logged
                 else f"runs {budget} env steps")
        lines.append(f"{cell.name()}: {state}")
    lines.append(f"{len(cells)} cells: {finished} finished, {len(cells) - finished} to run, in {root}")
    return "\n".join(lines)


def run_cell(cell: Cell, base: dict[str, dict[str, Any]], steps: int | dict[str, int] | None, root: str,
             plugins: Sequence[str] = (), threads: int | None = None, quiet: bool = True) -> dict[str, Any]:
    """Run (or resume, or skip when finished) one cell into its folder; return its summary row.
    Self-contained so that it can run in another process or on a Ray worker."""

    from mbrl_zoo.app import load_plugins, train

    load_plugins(plugins)
    out = cell.folder(Path(root))
    if _logged_steps(out) and not (out / "checkpoint.pt").exists():
        return summary_row(cell, out)  # finished, kept without its checkpoint (check_cells refuses an unfinished one)
    train(cell.pairing, overrides=cell.overrides(base, steps), threads=threads, out=out,
          resume=(out / "checkpoint.pt").exists(), quiet=quiet, label=cell.name())
    return summary_row(cell, out)


def summary_row(cell: Cell, folder: Path) -> dict[str, Any]:
    """A cell's line of ``summary.csv``, from its run folder: episodes, env steps, final return
    (mean of the last 5 scored episodes, :func:`mbrl_zoo.results.final_return`), best scored
    return and wall time; empty returns when no episode is scored yet."""
    from mbrl_zoo.results import best_return, final_return, load_runs

    [run] = load_runs([folder])
    metrics = run.metrics
    return {"pairing": cell.pairing, "task": cell.task, **dict(cell.settings), "seed": cell.seed,
            "episodes": len(metrics), "env_steps": int(metrics["env_step"].iloc[-1]) if len(metrics) else 0,
            "final_return": final_return(metrics, run.settings), "best_return": best_return(metrics, run.settings),
            "wall_s": float(metrics["wall_s"].iloc[-1]) if len(metrics) else 0.0}


def _logged_steps(folder: Path) -> int:
    from mbrl_zoo.runs import read_metrics

    rows = read_metrics(folder)
    return rows[-1]["env_step"] if rows else 0


def run_sweep(cells: Sequence[Cell], base: dict[str, dict[str, Any]], steps: int | dict[str, int] | None, root: str | Path,
              plugins: Sequence[str] = (), workers: int = 1, ray_address: str | None = None,
              quiet: bool = False, threads: int | None = None) -> list[dict[str, Any]]:
    """Check every cell, run them (sequentially, in ``workers`` processes or on Ray), then write
    ``summary.csv``, ``curves.png`` and ``sweep.json`` under ``root``. ``threads``: torch threads
    per cell (default: torch's own when cells run one after another, 1 in workers and on Ray).
    Unless ``quiet``, prints a line per finished cell on stderr. Returns the summary rows."""
    root = Path(root)
    if workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}.")
    if threads is not None and threads < 1:
        raise UserError(f"threads must be >= 1, got {threads}.")
    if ray_address is not None:
        _require_ray()
    configs = check_cells(cells, base, steps, root)
    grid_keys = [k for k, _ in cells[0].settings] if cells else []
    atomic_write_json(root / "sweep.json", {"cells": [vars(c) for c in cells], "grid": grid_keys,
                                            "overrides": base, "steps": steps})
    finished = [_logged_steps(c.folder(root)) >= config["run"]["steps"] for c, config in zip(cells, configs)]
    progress = Progress(cells, finished, quiet)
    jobs = [(cell, base, steps, str(root), tuple(plugins)) for cell in cells]
    if ray_address is not None:
        rows = _run_on_ray(jobs, ray_address, threads or 1, progress)
    elif workers > 1:
        progress.parallel = workers
        rows = _run_in_processes(jobs, workers, threads or 1, progress.cell_done)
    else:
        rows = []
        for i, job in enumerate(jobs):
            rows.append(run_cell(*job, threads=threads, quiet=quiet))
            progress.cell_done(i, rows[-1])
    progress.close()
    write_summary(cells, rows, root)
    return rows


class Progress:
    """The sweep's feedback on stderr: a line per cell that ends (``[k/n] CELL: final return R,
    wall time``) with the time left, estimated as the mean wall time of the cells run so far times
    the cells left to run, over ``parallel`` (the cells that run at once), and a closing count."""

    def __init__(self, cells: Sequence[Cell], finished: Sequence[bool], quiet: bool = False,
                 stream=None, clock: Callable[[], float] = time.monotonic):
        self.cells, self.finished, self.quiet = list(cells), list(finished), quiet
        self.stream, self.clock = stream, clock
        self.start = clock()
        self.done, self.cell_seconds, self.parallel = 0, [], 1

    def cell_done(self, index: int, row: dict[str, Any]) -> None:
        self.done += 1
        skipped = self.finished[index]
        wall = float(row.get("wall_s") or 0.0)
        if not skipped:
            self.cell_seconds.append(wall)
        final = row.get("final_return")
        text = f"final return {final:.1f}" if final is not None else "no scored episode"
        line = (f"[{self.done}/{len(self.cells)}] {self.cells[index].name()}: "
                f"{'already finished, ' if skipped else ''}{text}, {duration(wall)}")
        to_run = sum(not f for f in self.finished) - len(self.cell_seconds)
        if self.cell_seconds and to_run:
            eta = sum(self.cell_seconds) / len(self.cell_seconds) * to_run / max(1, self.parallel)
            line += f"; ETA {duration(eta)}"
        self._print(line)

    def close(self) -> None:
        skipped = sum(self.finished)
        self._print(f"{len(self.cells)} cells{f' ({skipped} already finished)' if skipped else ''} "
                    f"in {duration(self.clock() - self.start)}")

    def _print(self, line: str) -> None:
        if not self.quiet:
            print(line, file=self.stream or sys.stderr, flush=True)


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 20 s``, ``2 h 05 min``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _run_in_processes(jobs: list[tuple], workers: int, threads: int,
                      done: Callable[[int, dict[str, Any]], None]) -> list[dict[str, Any]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    rows: list[dict[str, Any] | None] = [None] * len(jobs)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(run_cell, *job, threads): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            i = futures[future]
            rows[i] = future.result()
            done(i, rows[i])
    except BaseException:
        # Ctrl-C, SIGTERM (the CLI raises it as an exception) or a failed cell: stop the other
        # workers now rather than wait for their cells; each resumes from its checkpoint.
        for worker in multiprocessing.active_children():
            worker.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return rows


def _require_ray():
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray installed: pip install -e '.[ray]' (on every node of the cluster).") from None
    return ray


RAY_LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Environment variable that, set to 0 before Ray is imported (in the driver and for ``ray start``),
keeps Ray's node address and servers on 127.0.0.1: a single-machine cluster on loopback only."""


def _run_on_ray(jobs: list[tuple], address: str, threads: int, progress: Progress) -> list[dict[str, Any]]:
    """Run ``jobs`` as Ray tasks of ``threads`` CPUs and torch threads each. Unless Ray was already
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
        progress.parallel = max(1, int(ray.cluster_resources().get("CPU", 1) // threads))
        remote_cell = ray.remote(num_cpus=threads)(run_cell)
        pending = {remote_cell.remote(*job, threads): i for i, job in enumerate(jobs)}
        rows: list[dict[str, Any] | None] = [None] * len(jobs)
        while pending:
            [ready], _ = ray.wait(list(pending), num_returns=1)
            i = pending.pop(ready)
            rows[i] = ray.get(ready)
            progress.cell_done(i, rows[i])
        return rows
    finally:
        if connect:
            ray.shutdown()


def write_summary(cells: Sequence[Cell], rows: list[dict[str, Any]], root: Path) -> None:
    """``summary.csv`` (a row per cell, a column per grid key after ``task``) and ``curves.png``
    (:func:`mbrl_zoo.app.compare.plot_runs`)."""
    import pandas as pd

    from mbrl_zoo.app.compare import plot_runs
    from mbrl_zoo.results import load_runs

    grid_keys = [k for k, _ in cells[0].settings] if cells else []
    columns = [*SUMMARY_COLUMNS[:2], *grid_keys, *SUMMARY_COLUMNS[2:]]
    table = pd.DataFrame(rows, columns=columns)
    atomic_write_text(root / "summary.csv", table.to_csv(index=False))
    plot_runs(load_runs([cell.folder(root) for cell in cells]), root / "curves.png")

"""The application layer: the command line, sweeps, comparisons and the one Python entry point.

This is the composition root of the zoo. The library (the rest of :mod:`mbrl_zoo`) knows nothing
of ``planners`` or ``algorithms``; this package imports both, which registers every planner,
algorithm and pairing, and joins them to a user's plug-in files.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

import algorithms  # noqa: F401  (registers every algorithm and pairing)
import mbrl_zoo.models  # noqa: F401  (registers every model)
import mbrl_zoo.tasks  # noqa: F401  (registers every task)
import planners  # noqa: F401  (registers every planner)
from mbrl_zoo.errors import UserError, located


def load_plugins(plugins: Iterable[str] = ()) -> None:
    """Import each plug-in: a path to a ``.py`` file (a student's model in one file) or an
    importable module name; importing it runs its ``register_*`` decorators. Any error while
    importing it is a :class:`UserError` naming the file, the line and the error. Errors in its
    components come later, also as UserErrors naming file and line: a constructor argument
    without a default when the config is resolved (:mod:`mbrl_zoo.registry`), a constructor that
    raises when the component is first built (:meth:`mbrl_zoo.registry.Entry.build`), a model
    that breaks its contract on its first call (:func:`mbrl_zoo.models.base.validate_model`)."""
    for plugin in plugins:
        path = Path(plugin)
        if plugin.endswith(".py"):
            if not path.is_file():
                raise UserError(f"plugin file {plugin!r} does not exist.")
            module_name = f"mbrl_zoo_plugin_{path.stem}"
            if module_name in sys.modules:
                continue
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except UserError:
                del sys.modules[module_name]
                raise
            except Exception as exc:  # a student's file may fail in any way; report where
                del sys.modules[module_name]
                raise UserError(f"plugin {plugin!r} failed to import: {located(exc, path)}") from None
        else:
            try:
                importlib.import_module(plugin)
            except UserError:
                raise
            except ModuleNotFoundError as exc:
                raise UserError(f"plugin module {plugin!r} cannot be imported: {exc}.") from None
            except Exception as exc:
                raise UserError(f"plugin module {plugin!r} failed to import: {located(exc)}") from None


def _print_warning(text: str) -> None:
    print(text, file=sys.stderr)


def train(pairing: str, task: str | None = None, *, steps: int | None = None, seed: int | None = None,
          threads: int | None = None, device: str | None = None, out: str | Path | None = None,
          overrides: Mapping[str, Mapping[str, Any]] | None = None, resume: bool = False, overwrite: bool = False,
          quiet: bool = False, label: str | None = None, warn=None) -> Path:
    """Train ``pairing`` on ``task`` and return its results folder.

    ``threads`` and ``device`` set ``run.threads`` and ``run.device``; ``overrides`` maps sections to settings, e.g. ``{"planner": {"population_size": 200}}``; the
    run folder defaults to ``runs/PAIRING/TASK/seedS`` (the committed reference runs live under
    ``results/``); ``label`` names the run on its progress bar (default ``PAIRING TASK seedS``);
    ``warn(text)`` receives one line when the budget ends before learning starts (default: print
    it on stderr). Bad input raises :class:`UserError` before any folder
    exists. A run that logs episodes records its machine in the folder's ``machine.json``
    (:func:`mbrl_zoo.results.machine`). ``mbrl-zoo run`` is this function.
    """
    from mbrl_zoo.config import check_buildable, merge, resolve
    from mbrl_zoo.device import on_device
    from mbrl_zoo.io import atomic_write_json
    from mbrl_zoo.registry import ALGORITHMS
    from mbrl_zoo.results import MACHINE_FILE, machine
    from mbrl_zoo.runs import Run, read_metrics

    if resume and overwrite:
        raise UserError("--resume continues the run in the results folder and --overwrite replaces it; pass one of them.")
    flags = {k: v for k, v in (("task", task), ("seed", seed), ("steps", steps), ("threads", threads),
                                                  ("device", device)) if v is not None}
    config = resolve(pairing, merge({k: dict(v) for k, v in (overrides or {}).items()}, {"run": flags}))
    check_buildable(config)
    warm_up = getattr(config.algorithm, "random_steps", 0)
    if config.run.steps <= warm_up and config.model_name != "oracle":
        (warn or _print_warning)(
            f"warning: run.steps={config.run.steps} ends within the random warm-up (algorithm.random_steps="
            f"{warm_up}): this run only acts at random and learns nothing. Pass --steps above {warm_up} or "
            "--set algorithm.random_steps=... to learn.")
    torch.set_num_threads(config.run.threads)
    out = Path(out) if out else Path("runs") / config.pairing / config.run.task / f"seed{config.run.seed}"
    run = Run(out, config.to_dict(), total_steps=config.run.steps, quiet=quiet, resume=resume, overwrite=overwrite,
              label=label or f"{config.pairing} {config.run.task} seed{config.run.seed}")
    logged = len(read_metrics(out))
    try:
        with on_device(config.run.device):
            ALGORITHMS.get(config.algorithm_name).obj.train(config, run)
    finally:
        run.close()
        if len(run.rows) > logged or not (out / MACHINE_FILE).exists():
            atomic_write_json(out / MACHINE_FILE, machine())
    return out

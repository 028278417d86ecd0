import importlib.util
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "disable")

import pytest
import torch

torch.set_num_threads(1)

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    yield


@pytest.fixture(autouse=True)
def _registry_restored():
    """Components a test registers (a plug-in file, a test's own model) are gone after it, with
    the plug-in modules, so that tests which list every registered component see the zoo's own."""
    import sys

    from mbrl_zoo import registry

    tables = [registry.TASKS, registry.MODELS, registry.PLANNERS, registry.ALGORITHMS, registry.PAIRINGS]
    before = [dict(table._entries) for table in tables]
    yield
    for table, entries in zip(tables, before):
        table._entries.clear()
        table._entries.update(entries)
    for name in [m for m in sys.modules if m.startswith("mbrl_zoo_plugin_")]:
        del sys.modules[name]


def write_run(folder, pairing, seed, returns, *, task="cartpole-balance", episode_steps=100, cut=None,
              wall_s=None, machine=None, **sections):
    """A run folder as ``mbrl-zoo run`` writes one: ``config.json`` (``sections`` maps a section to
    its settings, e.g. ``algorithm={"random_steps": 200}``), ``metrics.csv`` with an episode per
    return ending every ``episode_steps`` env steps (a ``cut`` column when given) and, when given,
    ``machine.json``."""
    import json

    import pandas as pd

    folder.mkdir(parents=True)
    config = {"pairing": pairing, "run": {"task": task, "seed": seed, "steps": episode_steps * len(returns)},
              "algorithm": {"horizon": 15, **sections.get("algorithm", {})},
              "model": sections.get("model"), "planner": sections.get("planner")}
    (folder / "config.json").write_text(json.dumps(config))
    metrics = {"env_step": [episode_steps * (i + 1) for i in range(len(returns))],
               "episode": list(range(1, len(returns) + 1)), "return": returns,
               "wall_s": wall_s or [float(i + 1) for i in range(len(returns))]}
    if cut is not None:
        metrics["cut"] = cut
    pd.DataFrame(metrics).to_csv(folder / "metrics.csv", index=False)
    if machine is not None:
        (folder / "machine.json").write_text(json.dumps(machine))
    return folder


@pytest.fixture
def make_run():
    """:func:`write_run`, for tests that build run folders by hand."""
    return write_run


def _load_benchmark(name: str):
    module_spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.fixture
def benchmark_module():
    """``benchmark_module(name)``: ``benchmarks/<name>.py`` imported as a module (the folder is not a
    package)."""
    return _load_benchmark


@pytest.fixture
def run_benchmark(monkeypatch, capsys):
    """``run_benchmark(name, *args)``: run ``benchmarks/<name>.py``'s ``main()`` with command-line
    ``args`` and return the JSON line it printed, as a dict; torch's thread count is restored."""

    def run(name: str, *args: str) -> dict:
        module = _load_benchmark(name)
        monkeypatch.setattr(sys, "argv", [f"{name}.py", *args])
        threads = torch.get_num_threads()
        try:
            module.main()
        finally:
            torch.set_num_threads(threads)
        return json.loads(capsys.readouterr().out)

    return run

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

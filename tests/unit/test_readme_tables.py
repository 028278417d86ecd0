"""The README's results and speed tables are generated from the committed results, and up to date;
the README and every other document speak of the project, not of how it was developed."""

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "benchmarks" / "readme_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_holds_the_tables_the_script_generates():
    tables = _module()
    readme = (ROOT / "README.md").read_text()
    assert tables.filled(readme, {"results": tables.results_table(), "speed": tables.speed_table()}) == readme, \
        "README.md's tables are out of date: run python benchmarks/readme_tables.py --write"


def test_filled_replaces_only_the_table_after_each_marker():
    tables = _module()
    text = "intro\n<!-- results-table -->\n| old |\n| row |\nafter\n<!-- speed-table -->\ntail"
    assert tables.filled(text, {"results": "| new |", "speed": "| fast |"}) == \
        "intro\n<!-- results-table -->\n| new |\nafter\n<!-- speed-table -->\n| fast |\ntail"


def test_the_readme_is_a_users_document():
    readme = (ROOT / "README.md").read_text()
    assert len(readme) < 12_000
    for word in ("stop ", "session", "commit "):
        assert word not in readme.lower(), word


DEVELOPMENT_WORDS = re.compile(r"\bsessions?\b|\bstop \d+\b|\bengineers?\b|\bcommit [0-9a-f]{7,40}\b", re.IGNORECASE)
"""Words about how the project was developed (development stops and sessions, who developed it,
commit hashes), which no document, docstring or comment holds."""


def test_no_document_or_comment_speaks_of_the_development():
    try:
        listed = subprocess.run(["git", "ls-files", "README.md", "setup.cfg", "*.md", "*.py", "*.ipynb", "*.yaml",
                                 "*.sh"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    this = Path(__file__).resolve()
    found = []
    for name in listed:
        path = ROOT / name
        if path.resolve() == this or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".ipynb":  # the cells' text, not the outputs' images
            text = "\n".join(line for line in text.splitlines() if "image/png" not in line)
        found += [f"{name}: {match.group(0)!r}" for match in DEVELOPMENT_WORDS.finditer(text)]
    assert not found, found


def _fake_run(folder: Path, pairing: str, task: str, seed: int, returns: list[float], budget: int) -> None:
    """A run folder whose episodes of 100 steps return ``returns``, the last one cut at ``budget``."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(
        {"pairing": pairing, "run": {"task": task, "seed": seed, "steps": budget}, "algorithm": {"random_steps": 0}}))
    steps = [100 * (i + 1) for i in range(len(returns))]
    rows = [f"{s},{i},{r},100,0" for i, (s, r) in enumerate(zip(steps, returns))]
    (folder / "metrics.csv").write_text("env_step,episode,return,episode_steps,cut\n" + "\n".join(rows)
                                        + f"\n{budget},{len(returns)},7.0,{budget - steps[-1]},1\n")


def test_the_results_table_is_the_matrix_of_finished_seeds(tmp_path):
    tables = _module()
    spec = tmp_path / "matrix.yaml"
    spec.write_text("pairings: [rs-mpc, pets]\ntasks: [cartpole-balance, Reacher-v5]\nseeds: [0, 1]\n"
                    "steps: {cartpole-balance: 3000, Reacher-v5: 500}\n")
    # rs-mpc on balance: two finished seeds, final returns 100 and 200 (mean of the last 5 scored)
    _fake_run(tmp_path / "rs-mpc/cartpole-balance/seed0", "rs-mpc", "cartpole-balance", 0, [0.0] + [100.0] * 5, 3000)
    _fake_run(tmp_path / "rs-mpc/cartpole-balance/seed1", "rs-mpc", "cartpole-balance", 1, [200.0] * 6, 3000)
    # pets on Reacher: one finished seed, one still running (its log stops short of the budget)
    _fake_run(tmp_path / "pets/Reacher-v5/seed0", "pets", "Reacher-v5", 0, [-10.0] * 3, 500)
    _fake_run(tmp_path / "pets/Reacher-v5/seed1", "pets", "Reacher-v5", 1, [-5.0] * 2, 400)
    assert tables.results_table(spec).splitlines() == [
        "| pairing | cartpole-balance (3k) | Reacher-v5 (0.5k) |",
        "| --- | --- | --- |",
        f"| rs-mpc | 150±{np.std([100, 200], ddof=1):,.0f} | - |",
        "| pets | - | -10 (n=1) |"]


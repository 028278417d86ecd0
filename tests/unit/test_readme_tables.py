"""The README's results and speed tables are generated from the committed results, and up to date;
the README and every other document speak of the project, not of how it was developed."""

import importlib.util
import re
import subprocess
from pathlib import Path

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

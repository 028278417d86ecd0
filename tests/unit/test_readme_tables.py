"""The README's results and speed tables are generated from the committed results, and up to date."""

import importlib.util
from pathlib import Path

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

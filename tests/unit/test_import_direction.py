"""Imports flow one way: mbrl_zoo <- planners <- algorithms <- mbrl_zoo.app (DESIGN.md)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "mbrl_zoo" / "app"
FORBIDDEN = {"mbrl_zoo": {"planners", "algorithms"}, "planners": {"algorithms"}}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "mbrl_zoo.app" or node.module.startswith("mbrl_zoo.app."):
                names.add("mbrl_zoo.app")
            names.add(node.module.split(".")[0])
    return names


def _library_files(package: str):
    return [p for p in (ROOT / package).rglob("*.py") if APP not in p.parents]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_downstream(package):
    offenders = {str(path.relative_to(ROOT)): sorted(_imported_packages(path) & FORBIDDEN[package])
                 for path in _library_files(package)}
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("package", ["planners", "algorithms"])
def test_components_do_not_import_the_application_layer(package):
    offenders = [str(p.relative_to(ROOT)) for p in _library_files(package) if "mbrl_zoo.app" in _imported_packages(p)]
    assert offenders == []


def test_library_imports_no_module_by_string():
    """Components are joined by static imports in the application layer, not by importlib."""
    offenders = [str(p.relative_to(ROOT)) for package in ("mbrl_zoo", "planners", "algorithms")
                 for p in _library_files(package) if "importlib" in _imported_packages(p)]
    assert offenders == []

"""Every notebook runs top to bottom (quick mode) and draws its figures."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def numbers_after(text: str, prefix: str) -> list[float]:
    """The comma-separated numbers of the first printed line starting with ``prefix``."""
    line = next(l for l in text.splitlines() if l.startswith(prefix))
    return [float(x) for x in line.split(":", 1)[1].strip(" []").split(",")]


def check_model_drift(text: str, outputs: list) -> None:
    errors = numbers_after(text, "relative return error")
    assert len(errors) == 3 and all(e >= 0 and e == e for e in errors)


def check_rollout_length(text: str, outputs: list) -> None:
    line = next(l for l in text.splitlines() if l.startswith("value MSE by H"))
    assert "'small'" in line and "'large'" in line
    best = next(l for l in text.splitlines() if l.startswith("best H per data size"))
    assert any(f": {h}" in best for h in (0, 1, 2, 5, 10, 20, 40))


def check_ensemble_size(text: str, outputs: list) -> None:
    line = next(l for l in text.splitlines() if l.startswith("held-out NLL by E"))
    assert "1:" in line and "best E" in line


def check_objective_mismatch(text: str, outputs: list) -> None:
    assert "Spearman rank correlation" in text
    tables = "".join(o.get("data", {}).get("text/plain", "") for o in outputs if o.output_type == "execute_result")
    assert "spearman(NLL, return)" in tables
    # The Model A / Model B example: A errs less on the expert's states, B plans to the higher return.
    assert "expert return: 10.0" in text and "-2.0" in tables


def check_search_budget(text: str, outputs: list) -> None:
    line = next(l for l in text.splitlines() if l.startswith("return by (B, B')"))
    assert "B'=1" in line and "B=1" in line
    assert "training returns by B" in text


# per notebook: figures it must draw (at least) and a check of its printed results
EXPECTED = {
    "model_drift": (3, check_model_drift),  # k-step error, disagreement, value drift
    "rollout_length": (2, check_rollout_length),  # bias/variance by H, PETS return by H
    "ensemble_size": (3, check_ensemble_size),  # accuracy/calibration, k-step/disagreement/cost, return by E
    "objective_mismatch": (1, check_objective_mismatch),  # return against held-out NLL
    "search_budget": (3, check_search_budget),  # training curves by B, the B x B' table, committed runs
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_and_plots(path, monkeypatch, tmp_path):
    monkeypatch.setenv("MBRL_ZOO_QUICK", "1")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    figures, check = EXPECTED[path.stem]
    assert len(images) >= figures
    check("".join(o.get("text", "") for o in outputs if o.output_type == "stream"), outputs)


def test_there_is_a_notebook():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"


def test_every_notebook_has_expectations():
    assert {p.stem for p in NOTEBOOKS} == set(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_keeps_its_outputs(path):
    """The committed copy is executed at full settings, so it opens with its figures."""
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code)
    assert any("image/png" in o.get("data", {}) for cell in code for o in cell.get("outputs", []))

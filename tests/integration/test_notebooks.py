"""Every notebook runs top to bottom (quick mode) and draws its figures."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_and_plots(path, monkeypatch, tmp_path):
    monkeypatch.setenv("MBRL_ZOO_QUICK", "1")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    CHECKS[path.stem](images, text, outputs)


def _model_drift(images, text, outputs):
    assert len(images) >= 3  # k-step error, disagreement, value drift
    line = next(l for l in text.splitlines() if l.startswith("relative return error"))
    errors = [float(x) for x in line.split(":", 1)[1].strip(" []").split(",")]
    assert len(errors) == 3 and all(e >= 0 and e == e for e in errors)


def _objective_mismatch(images, text, outputs):
    assert len(images) >= 1  # return against NLL
    assert "Spearman rank correlation" in text
    tables = "".join(o.get("data", {}).get("text/plain", "") for o in outputs if o.output_type == "execute_result")
    assert "spearman(NLL, return)" in tables
    # The Model A / Model B example: A errs less on the expert's states, B plans to the higher return.
    assert "expert return: 10.0" in text and "-2.0" in tables


CHECKS = {"model_drift": _model_drift, "objective_mismatch": _objective_mismatch}


def test_there_is_a_notebook():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"

"""The notebooks in notebooks/ execute without error (so they cannot rot).

Each notebook runs in a fresh kernel from the notebooks' folder with
``SERVICESIM_NOTEBOOK_FAST=1``, which the notebooks read to shrink their budgets (shorter
horizon, fewer replications and targets).  They write only to temporary folders.
"""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CELL_TIMEOUT = 120  # seconds per cell


@pytest.mark.parametrize("name", ["01_service_vs_roi.ipynb", "02_what_if_planning.ipynb"])
def test_notebook_executes(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = NOTEBOOKS / name
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells
               if cell.cell_type == "code"), f"{name} is committed with outputs"
    monkeypatch.setenv("SERVICESIM_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [out for cell in notebook.cells if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"]
    assert not errors, errors
    # the charts were drawn
    images = [out for cell in notebook.cells if cell.cell_type == "code"
              for out in cell.outputs if "image/png" in out.get("data", {})]
    assert images, f"{name} drew no chart"

"""notebooks/prepaid-analysis.ipynb runs top to bottom on a freshly built demo warehouse."""

import json
from datetime import date
from pathlib import Path

import nbclient
import nbformat

from transforms.run.nightly import run_nightly

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "prepaid-analysis.ipynb"


def test_notebook__demo_warehouse__executes_every_cell_and_draws_the_charts(tmp_path, monkeypatch):
    warehouse = tmp_path / "w.duckdb"
    run_nightly(ROOT / "data" / "demo", warehouse, tmp_path / "out", date(2026, 3, 31), "UTC",
                reports_enabled=False)
    monkeypatch.setenv("PREPAID_WAREHOUSE", str(warehouse))  # the kernel inherits the environment
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # Agg keeps every figure open: count them after the last cell (a cell added here only).
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import matplotlib; print(matplotlib.get_backend().lower(), len(plt.get_fignums()))"))
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert str(warehouse) in text and "C-1001" in text
    # run-out per pool, expiring value by month, pending hours, overage by month
    assert notebook.cells[-1].outputs[0].text == "agg 4\n"


def test_notebook__committed_without_outputs():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)

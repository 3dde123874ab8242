"""examples/first_hour.ipynb runs top to bottom in a fresh kernel (nbclient), in an empty
folder, and shows what its text says: the derivation typeset, the verdicts coloured with the
planted slip wrong, and the generated module trained to solve XOR. It is kept without outputs."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "first_hour.ipynb"


def test_notebook_is_committed_without_outputs():
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)


def test_notebook_executes(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    data = [o.get("data", {}) for o in outputs]

    latex = [d["text/latex"] for d in data if "text/latex" in d]
    assert latex and latex[0].startswith("$$\\begin{aligned}net_{h1} &=")
    html = next(d["text/html"] for d in data if "text/html" in d)
    assert html.count("#1a7f37") == 2 and html.count("#cf222e") == 1  # correct, correct, wrong
    verdicts = next(d["text/plain"] for d in data if "[(1, " in d.get("text/plain", ""))
    assert ast.literal_eval(verdicts) == [(1, "correct"), (2, "correct"), (3, "wrong")]
    assert (tmp_path / "xor_net.py").is_file()

    streams = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "δ_h1 = δ_o1 w7 · out_h1 (1 − out_h1)" in streams
    # the trained net: outputs on the four XOR inputs, rounded, from the last expression
    result = next(d["text/plain"] for d in data if d.get("text/plain", "").startswith("array("))
    predicted = [float(x) for x in result.replace("array(", "").strip("()").replace("[", "")
                 .replace("]", "").split(",") if x.strip()]  # fmt: skip
    assert [round(p) for p in predicted] == [0, 1, 1, 0]
    assert all(abs(p - t) < 0.1 for p, t in zip(predicted, [0, 1, 1, 0]))
    assert any("image/png" in d for d in data)

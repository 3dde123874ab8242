"""``symbackprop verify SPEC homework.tex``: a student's whole LaTeX document graded line by line.

The three homework documents in examples/homework/ are graded as a teacher would expect; each
expected verdict is pinned to the source line found by a piece of its text, so the line numbers
are checked too. The numbers in the documents were computed with ``symbackprop derive``; the
planted errors are the ones named in the lists below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symbackprop.cli.commands import main
from symbackprop.spec.load import load_spec
from symbackprop.verify.document import (
    extract_claims,
    format_document,
    is_document,
    verify_document,
)

ROOT = Path(__file__).resolve().parent.parent
HOMEWORK = ROOT / "examples" / "homework"
_REPORTS: dict[str, object] = {}


def report_of(spec: str, name: str):  # noqa: ANN201 - a Report, graded once per session
    if name not in _REPORTS:
        path = HOMEWORK / name
        text = path.read_text(encoding="utf-8")
        _REPORTS[name] = verify_document(load_spec(spec), text, source=str(path))
    return _REPORTS[name]


def line_of(name: str, anchor: str) -> int:
    """The line of the document holding ``anchor`` (which must occur exactly once); an anchor
    ending in a newline names the line that is exactly that text (indentation aside)."""
    lines = (HOMEWORK / name).read_text(encoding="utf-8").splitlines()
    if anchor.endswith("\n"):
        found = [i for i, line in enumerate(lines, 1) if line.strip() == anchor.strip()]
    else:
        found = [i for i, line in enumerate(lines, 1) if anchor in line]
    assert len(found) == 1, (anchor, found)
    return found[0]


def expected(name: str, rows: list[tuple[str, str]]) -> list[tuple[int, str]]:
    return [(line_of(name, anchor), verdict) for anchor, verdict in rows]


# ------------------------------------------------------------------------------ extraction
def test_chains_labels_and_cleaning():
    doc = r"""\documentclass{article}
\usepackage{amsmath}
% $a = b$ in a comment is no claim
\begin{document}
Inline $w_5$ is skipped, $w_5 = 0.40$ is a claim, as is \(E_{\text{total}} = 0.3\).
\begin{align}
net_{h1} &= w_1 i_1 + b_1 \cdot 1 \label{eq:a}\\
 &= 0.15 \cdot 0.05 + 0.35 \nonumber \\[2pt]
 &\approx 0.3575. \nonumber
\end{align}
\[ \delta_{o1} = -(t - o)\, o(1 - o) \quad \text{(chain rule)} \]
$$ w_5^+ = 0.35, \quad w_6^+ = 0.4 $$
\begin{verbatim}
$x = 1$
\end{verbatim}
\begin{equation*}
  y = \begin{cases} 1 & x = 0 \\ 2 & x = 1 \end{cases}
\end{equation*}
\end{document}
"""
    assert is_document(doc)
    got = [(c.line, c.label, c.text) for c in extract_claims(doc)]
    assert got == [
        (5, None, "w_5 = 0.40"),
        (5, None, "E_{total} = 0.3"),
        (7, "eq:a", r"net_{h1} = w_1 i_1 + b_1 \cdot 1"),
        (8, None, r"w_1 i_1 + b_1 \cdot 1 = 0.15 \cdot 0.05 + 0.35"),
        (9, None, r"0.15 \cdot 0.05 + 0.35 = 0.3575"),
        (11, None, r"\delta_{o1} = -(t - o) o(1 - o)"),
        (12, None, "w_5^+ = 0.35"),
        (12, None, "w_6^+ = 0.4"),
        (17, None, r"y = \begin{cases} 1 & x = 0 \\ 2 & x = 1 \end{cases}"),
    ]


def test_rows_without_relation_continue_the_expression_and_fragments_are_documents():
    doc = "\\begin{align*}\nE\n  &= a + b \\\\\n  &\\quad + c \\\\\n  &= d\n\\end{align*}\n"
    assert is_document(doc)
    got = [(c.line, c.text) for c in extract_claims(doc)]
    assert got == [(2, "E = a + b + c"), (5, "a + b + c = d")]  # E's row is the first


def test_align_pairs_and_escaped_dollars():
    doc = "\\begin{align}\na &= b & c &= d\n\\end{align}\nIt costs \\$5 and $x$ \\$ $y = 2$."
    got = [(c.line, c.text) for c in extract_claims(doc)]
    assert got == [(2, "a = b"), (2, "c = d"), (4, "y = 2")]


def test_claims_files_are_no_documents():
    for name in ("nielsen_bp.tex", "seed000_mazur.txt", "seed001_essa.txt"):
        assert not is_document((ROOT / "examples" / "claims" / name).read_text(encoding="utf-8"))
    for path in HOMEWORK.glob("*.tex"):
        assert is_document(path.read_text(encoding="utf-8")), path


# ------------------------------------------------------------------------- graded homework
MAZUR = "mazur_sheet.tex"
MAZUR_EXPECTED = [
    *[("inputs $i_1", "correct")] * 2,
    *[("weights $w_1", "correct")] * 4,
    *[("and $w_5 = 0.40$", "correct")] * 4,
    *[("$b_1 = 0.35$", "correct")] * 4,
    ("learning rate $\\eta = 0.5$", "correct"),
    ("\\label{eq:neth1}", "correct"),
    ("&= 0.15 \\cdot 0.05", "correct"),
    ("&= 0.3775,", "correct"),
    ("out_{h1} &= \\frac{1}", "correct"),
    ("in the same way", "correct"),
    ("net_{o1} &= w_5", "correct"),
    ("&= 0.4 \\cdot 0.593269992", "correct"),
    ("out_{o1} &=", "correct"),
    ("net_{o2} &=", "correct"),
    ("out_{o2} &= 0.772928465", "correct"),
    ("E_{o1} = \\tfrac", "correct"),
    ("E_{o2} = \\tfrac", "wrong"),  # planted: the 1/2 forgotten in the number
    ("E_{total} = E_{o1}", "correct"),
    ("\\frac{\\partial E_{total}}{\\partial w_5}\n", "correct"),
    ("\\label{eq:do1}", "correct"),
    ("&= -(0.01 - 0.75136507)", "correct"),
    ("&= 0.138498562.", "correct"),
    ("Hence $", "correct"),
    ("\\label{eq:dw6}", "correct"),
    ("\\label{eq:do2}", "correct"),
    ("\\label{eq:dw7}", "wrong"),  # planted: out_{h2} where out_{h1} is meant
    ("\\label{eq:dw8}", "correct"),
    ("The updates with", "correct"),
    ("w_5^+ = w_5", "correct"),
    ("w_6^+ &= w_6", "wrong"),  # planted: + instead of - in the update
    *[("w_7^+ &=", "correct")] * 2,
    ("\\delta_{h1} &= \\left(", "correct"),
    ("&= (0.138498562", "correct"),
    ("&= 0.0087713547,", "correct"),
    ("\\label{eq:dw1}", "correct"),
    ("so that $w_1^+", "correct"),
]


def test_mazur_sheet_graded_line_by_line():
    report = report_of("mazur", MAZUR)
    want = expected(MAZUR, MAZUR_EXPECTED)
    got = [(v.line, v.verdict) for v in report.verdicts]
    assert got == want
    assert report.score() == "44/47 correct, 3 wrong, 0 unreadable"
    assert report.exit_code() == 3
    wrong = {v.label: v for v in report.verdicts if v.verdict == "wrong"}
    assert set(wrong) == {"eq:eo2", "eq:dw7", "eq:w6"}
    # the correct values are derived, not read from the document
    assert float(wrong["eq:eo2"].correct) == pytest.approx(0.5 * (0.99 - 0.772928465) ** 2)
    assert float(wrong["eq:w6"].correct) == pytest.approx(0.45 - 0.5 * 0.0826676278, rel=1e-8)
    assert "out_{h1}" in wrong["eq:dw7"].factor


NIELSEN = "nielsen_bp_proof.tex"
NIELSEN_EXPECTED = [
    ("quadratic cost $C", "correct"),
    ("$b^l$; $z^l_j", "correct"),
    ("$a^l_j = \\sigma(z^l_j)$ its", "correct"),
    ("\\label{eq:delta}", "correct"),
    ("\\delta^L_j &=", "correct"),
    ("\\label{eq:bp1}", "correct"),
    ("and for the quadratic cost", "correct"),
    ("$\\delta^L = \\nabla_a C", "correct"),
    ("\\delta^l_j &= \\sum_k", "correct"),
    ("&= \\sum_k \\delta^{l+1}_k", "correct"),
    ("Since $z^{l+1}_k", "correct"),
    ("\\frac{\\partial z^{l+1}_k}{\\partial z^l_j} = w", "correct"),
    ("\\label{eq:bp2}", "correct"),
    ("In matrix form this is", "correct"),
    ("and $\\frac{\\partial z^l_j}{\\partial b^l_j} = 1$", "correct"),
    ("\\frac{\\partial C}{\\partial b^l_j}\n", "correct"),
    ("\\label{eq:dzdw}", "wrong"),  # planted: a^{l-1}_j where a^{l-1}_k is meant
    ("\\frac{\\partial C}{\\partial w^l_{jk}}\n", "correct"),
    ("In matrix form, $", "correct"),
]


def test_bp_proof_graded_line_by_line():
    report = report_of("nielsen", NIELSEN)
    want = expected(NIELSEN, NIELSEN_EXPECTED)
    assert [(v.line, v.verdict) for v in report.verdicts] == want
    assert report.score() == "18/19 correct, 1 wrong, 0 unreadable"
    (wrong,) = [v for v in report.verdicts if v.verdict == "wrong"]
    assert wrong.label == "eq:dzdw"


ESSA = "essa_momentum.tex"


def test_momentum_derivation_graded():
    """The momentum lines: μ at the spec's 0.9, the step with and without time arguments on δ
    and y, and the unrolled sum, proved for every t by induction (and run for t = 0, 1, 2);
    every line is reported at its place."""
    report = report_of("essa", ESSA)
    settled = [
        ("$E = \\frac{1}{2}", {"correct"}),
        ("\\label{eq:dk}", {"correct"}),
        ("\\label{eq:dj}", {"correct"}),
        ("\\Delta w_{i,j} = -\\alpha", {"correct"}),
        ("\\Delta w_{i,j} = -\\alpha", {"correct"}),  # the bias update in \text{...}
        ("where $0 < \\mu < 1$", {"correct"}),  # mu = 0.9 in the spec
        ("\\label{eq:momentum}", {"correct"}),
        ("&= -\\alpha\\, \\delta_j(t+1)", {"correct"}),
        ("&= -\\sum_{s=1}^{t+1}", {"correct"}),
    ]
    got = report.verdicts
    assert [v.line for v in got] == [line_of(ESSA, a) for a, _ in settled]
    for v, (anchor, allowed) in zip(got, settled, strict=True):
        assert v.verdict in allowed, (anchor, v)
    assert got[4].text == "\\Delta w_{0,j} = -\\alpha \\delta_j"
    assert got[6].label == "eq:momentum" and got[8].label == "eq:unrolled"
    assert got[8].method == "proved for every t by induction"
    assert report.score() == "9/9 correct, 0 wrong, 0 unreadable"


# ------------------------------------------------------------------------------- the CLI
SMALL = r"""\documentclass{article}
\usepackage{amsmath}
\begin{document}
The net input of $h_1$ is
\begin{align}
net_{h1} &= w_1 i_1 + w_2 i_2 + b_1 \label{eq:net}\\
         &= 0.3785 \label{eq:slip}
\end{align}
and $out_{h1} = \sigma(net_{h1})$.
\end{document}
"""


def test_cli_text_json_and_exit_codes(capsys, tmp_path):
    doc = tmp_path / "hw.tex"
    doc.write_text(SMALL, encoding="utf-8")
    code = main(["verify", "mazur", str(doc)])
    out = capsys.readouterr().out
    assert code == 3
    assert out.splitlines()[0] == "line 6 [eq:net]: correct: net_{h1} = w_1 i_1 + w_2 i_2 + b_1"
    assert out.splitlines()[1] == "line 7 [eq:slip]: WRONG: w_1 i_1 + w_2 i_2 + b_1 = 0.3785"
    assert "correct: 0.3775" in out
    assert out.rstrip().endswith("hw.tex: 2/3 correct, 1 wrong, 0 unreadable")
    code = main(["verify", "mazur", str(doc), "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 3
    assert [(r["line"], r["label"], r["verdict"]) for r in rows] == [
        (6, "eq:net", "correct"),
        (7, "eq:slip", "wrong"),
        (9, None, "correct"),
    ]
    assert rows[2]["text"] == "out_{h1} = \\sigma(net_{h1})"
    assert {"line", "label", "text", "verdict", "message"} <= set(rows[0])
    # a document whose claims are all right exits 0, one with an unreadable line 2 (as verify)
    doc.write_text("\\[ net_{h1} = w_1 i_1 + w_2 i_2 + b_1 = 0.3775 \\]\n", encoding="utf-8")
    assert main(["verify", "mazur", str(doc)]) == 0
    assert "1/1 correct, 0 wrong, 0 unreadable" in capsys.readouterr().out
    doc.write_text("\\[ net_{h1} = \\frob{x} \\]\n", encoding="utf-8")
    assert main(["verify", "mazur", str(doc)]) == 2
    assert "0/1 correct, 0 wrong, 1 unreadable" in capsys.readouterr().out


def test_cli_refusals(capsys, tmp_path):
    claims = ROOT / "examples" / "claims" / "seed000_mazur.txt"
    assert main(["verify", "mazur", str(claims), "--annotate", str(tmp_path / "x.pdf")]) == 2
    assert "--annotate needs a LaTeX document" in capsys.readouterr().err
    empty = tmp_path / "empty.tex"
    empty.write_text("\\documentclass{article}\\begin{document}Prose, $x$.\\end{document}\n")
    assert main(["verify", "mazur", str(empty)]) == 2
    assert "no equations with a relation" in capsys.readouterr().err
    assert main(["verify", "mazur", str(HOMEWORK / MAZUR), "--annotate", "out.png"]) == 2
    assert "no .pdf" in capsys.readouterr().err
    unclosed = tmp_path / "open.tex"
    unclosed.write_text("\\begin{document}\nok $a = b$\n\\begin{align}\na &= b\n")
    assert main(["verify", "mazur", str(unclosed)]) == 2
    err = capsys.readouterr().err
    assert "open.tex:3: math opened by '\\begin{align}' is never closed" in err


# ------------------------------------------------------------------------------- notebook
def test_verdicts_and_reports_render_in_a_notebook():
    report = verify_document(load_spec("mazur"), SMALL, source="hw.tex")
    right, wrong, _ = report.verdicts
    html = wrong._repr_html_()
    assert "#cf222e" in html and "wrong" in html and "line 7 [eq:slip]" in html
    assert "\\(w_1 i_1 + w_2 i_2 + b_1 = 0.3785\\)" in html and "correct: \\(0.3775" in html
    assert "#1a7f37" in right._repr_html_() and "#cf222e" not in right._repr_html_()
    latex = wrong._repr_latex_()
    assert latex.startswith("$") and latex.endswith("$") and "\\color{red}" in latex
    assert "w_1 i_1 + w_2 i_2 + b_1 = 0.3785" in latex
    assert "\\color{green}" in right._repr_latex_()
    table = report._repr_html_()
    assert "hw.tex: 2/3 correct, 1 wrong, 0 unreadable" in table
    assert table.count("<tr>") == 4  # the head and one row a claim
    assert report._repr_latex_().count("\\color{red}") == 1
    assert format_document(report).endswith("hw.tex: 2/3 correct, 1 wrong, 0 unreadable")


ADAM = "adam_macros.tex"


def test_adam_homework_with_macros_graded():
    """A student's Adam exercise written with their own macros (\\newcommand with an optional
    argument, \\def with a parameter): the moments, their bias correction and the step in Kingma
    and Ba's notation, one weight's m̂ with a time argument, and the unrolled first moment
    (proved for every t). Two planted slips: β1 in v̂'s correction (β2 is meant) and m̂ at t + 1
    corrected with β1^t (the step count is t + 1)."""
    report = report_of("essa", ADAM)
    settled = [
        ("\\label{eq:grad}", "correct", None),
        ("\\label{eq:m}", "correct", None),
        ("\\label{eq:v}", "correct", None),
        ("\\label{eq:mhat}", "correct", None),
        ("\\label{eq:vhat}", "wrong", "\\beta_{1} where \\beta_{2} is meant"),
        ("\\label{eq:step}", "correct", None),
        ("\\hat m_{ij}(t+1) =", "wrong", "wrong power of \\beta_{1}: one less than the step"),
        ("m_{ij}(t+1) = (1 - \\bb1)", "correct", None),
    ]
    got = report.verdicts
    assert [v.line for v in got] == [line_of(ADAM, a) for a, _, _ in settled]
    for v, (anchor, want, factor) in zip(got, settled, strict=True):
        assert v.verdict == want, (anchor, v)
        if factor:
            assert factor in v.factor, (anchor, v.factor)
    assert got[3].text == "\\hat{m}_{t} = \\frac{m_{t}}{1 - \\beta_{1}^{t}}"  # expanded
    assert got[7].method == "proved for every t by induction"
    assert report.score() == "6/8 correct, 2 wrong, 0 unreadable"

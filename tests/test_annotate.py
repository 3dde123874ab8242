"""``verify --annotate OUT.pdf``: the student's document compiled with a mark in the margin of
each checked line; correct expressions are typeset only when they are safe LaTeX."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from symbackprop.cli.commands import main
from symbackprop.verify.annotate import PREAMBLE, annotated_tex, correct_tex
from symbackprop.verify.document import DocClaim, Report, extract_claims
from symbackprop.verify.run import Verdict

HOMEWORK = Path(__file__).resolve().parent.parent / "examples" / "homework"


def test_correct_values_and_expressions_are_safe_latex():
    assert correct_tex("0.02356002565") == "$0.0235600257$"
    assert correct_tex("-4.97712735e-05") == "$-4.97712735e-5$"
    # the unit level's text form: scripts braced, Greek names as commands, * a thin space
    assert correct_tex("delta_o2*out_h1") == r"$\delta _{o2}\,out_{h1}$"
    assert correct_tex("net_h2 = w3*i1 + b1") == r"$net_{h2} = w_{3}\,i_{1} + b_{1}$"
    assert correct_tex("∂E_total/∂w6") == r"$\partial E_{total}/\partial w_{6}$"
    layer = r"\delta^{2}_{j} = \left(\sum_{k=1}^{10} w^{3}_{kj} \delta^{3}_{k}\right)"
    assert correct_tex(layer) == f"${layer}$"
    # anything else is escaped text: no command, no unbalanced brace reaches the document
    assert (
        correct_tex(r"a \input{/etc/passwd}") == r"\texttt{a \textbackslash{}input\{/etc/passwd\}}"
    )
    assert correct_tex("x_1 % y } $") == r"\texttt{x\_1 \% y \} \$}"
    assert correct_tex("x ⊕ y") == r"\texttt{x ? y}"
    assert "report" in correct_tex("w_1 + " * 40)


def _report(claims: list[DocClaim], verdicts: list[str]) -> Report:
    vs = [
        Verdict(c.line, c.label, c.text, v, correct="0.3775" if v == "wrong" else None)
        for c, v in zip(claims, verdicts, strict=True)
    ]
    return Report("hw.tex", vs, claims)


def test_marks_go_at_the_end_of_each_row_and_the_preamble_before_the_document():
    doc = (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
        "Here $a = 1$ and $b = 2$.\n"
        "\\begin{align}\nx &= y \\label{l}\\\\\n  &= z\n\\end{align}\n\\end{document}\n"
    )
    claims = extract_claims(doc)
    tex = annotated_tex(doc, _report(claims, ["correct", "wrong", "correct", "unreadable"]))
    head, body = tex.split("\\begin{document}")
    assert head.endswith(PREAMBLE) and "\\usepackage{amsmath}" in head
    # the two inline claims of one source line share one mark, after the last: a cross
    assert "Here $a = 1$ and $b = 2$\\SBPwrong{$0.3775$}." in body
    assert "x &= y \\label{l}\\SBPok{}\\\\" in body
    assert "&= z\\SBPunread{}\n\\end{align}" in body


def test_marks_in_footnotes_tables_and_headings_are_plain_marks():
    doc = (
        "\\begin{document}\nA $x = 1$\nand\\footnote{see $y = 1$\n} \\textbf{$z = 2$\n}"
        "\\begin{tabular}{c} $u = 1$\n\\end{tabular} \\section{$v = 1$}\n\\end{document}\n"
    )
    claims = extract_claims(doc)
    assert [c.text for c in claims] == ["x = 1", "y = 1", "z = 2", "u = 1", "v = 1"]
    tex = annotated_tex(doc, _report(claims, ["correct"] * 5))
    body = tex.split("\\begin{document}")[1]
    for math in ("$x = 1$", "$y = 1$", "$z = 2$", "$u = 1$", "$v = 1$"):
        assert math + "\\SBPok{}" in body


def test_a_fragment_is_wrapped_in_an_article():
    doc = "\\[ x = y \\]\n"
    tex = annotated_tex(doc, _report(extract_claims(doc), ["correct"]))
    assert tex.startswith("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n")
    assert "\\begin{document}\n\\[ x = y\\SBPok{} \\]\n\n\\end{document}" in tex


def test_annotated_pdf_shows_the_marks(require_pdflatex, tmp_path, capsys):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not found")
    out = tmp_path / "marked.pdf"
    code = main(["verify", "mazur", str(HOMEWORK / "mazur_sheet.tex"), "--annotate", str(out)])
    printed = capsys.readouterr().out
    assert code == 3
    assert printed.rstrip().endswith(f"wrote {out}")
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Exercise Sheet 3" in text and "Exercise 4: the hidden layer" in text
    # one mark per place: 47 claims in 36 places (the inline claims of one source line, and
    # the two claims of one row, share a mark): 3 crosses and 33 ticks
    assert text.count("✗") == 3
    assert text.count("✓") == 33
    # the correct values beside the crosses, derived by the checker
    assert "✗ 0.0235600257" in text and "✗ 0.408666186" in text
    # the corrected claim for ∂E/∂w7, in the sheet's notation, names out_{h1}
    assert re.search(r"✗ ∂E.{0,400}?outh1", text, re.S)
    # a PDF not written by us is refused before any grading
    foreign = tmp_path / "mine.pdf"
    foreign.write_bytes(b"%PDF-1.4 mine")
    code = main(["verify", "mazur", str(HOMEWORK / "mazur_sheet.tex"), "--annotate", str(foreign)])
    assert code == 4 and foreign.read_bytes() == b"%PDF-1.4 mine"


OVERFULL = r"""\documentclass{article}
\usepackage{amsmath}
\begin{document}
Inline: $w_5 = 0.4$ and text.
\begin{align}
\delta_{o1} &= -(t - o)\, o (1 - o) \\
w_5^+ &= w_5 - \eta \frac{\partial E_{total}}{\partial w_5}
\end{align}
\begin{equation}
w_6 = 0.45 + 0.0000000000 + 0.0000000000 + 0.0000000000 + 0.0000000000 + 0.0000000000
+ 0.000000
\end{equation}
\begin{equation}
w_7 = 0.5 + 0.0000000000 + 0.0000000000 + 0.0000000000 + 0.0000000000 + 0.0000000000
+ 0.0000000000 + 0.0000000000 + 0.0000000000 + 0.0000000000 + 0.0000000000
\end{equation}
Text after.
\end{document}
"""


def _boxes(pdf: Path) -> list[tuple[str, float, float, float, float]]:
    xml = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<'
    return [(w, float(a), float(b), float(c), float(d))
            for a, b, c, d, w in re.findall(pattern, xml)]  # fmt: skip


def test_a_mark_never_covers_the_line_text(require_pdflatex, tmp_path, capsys):
    """Marks against every word of the page, as pdftotext places them: no mark's box meets a
    word's box, also beside an equation running into the margin (w_6: the mark goes right after
    it) and one running off the page (w_7: the mark goes below the line, in the margin)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not found")
    doc, out = tmp_path / "over.tex", tmp_path / "over.pdf"
    doc.write_text(OVERFULL, encoding="utf-8")
    assert main(["verify", "mazur", str(doc), "--annotate", str(out)]) in (0, 2)
    capsys.readouterr()
    boxes = _boxes(out)
    marks = [b for b in boxes if b[0] in ("✓", "✗", "?")]
    words = [b for b in boxes if b[0] not in ("✓", "✗", "?", "unreadable")]
    assert len(marks) == 5  # the inline claim, two align rows, two equations
    for m in marks:
        for w in words:
            apart = m[3] <= w[1] or w[3] <= m[1] or m[4] <= w[2] or w[4] <= m[2]
            assert apart, (m, w)
    (w6,) = [w for w in words if w[0].startswith("0.45+")]
    beside = [m for m in marks if m[2] < w6[4] and w6[2] < m[4]]  # level with the w_6 line
    assert beside and beside[0][1] > w6[3]  # right after the text, in the margin


CROWDED = r"""\documentclass{article}
\usepackage{amsmath}
\begin{document}
The rate is $\eta = 0.5$ and the weight $w_5 = 0.4$, and then at once:
\begin{align}
net_{h1} &= w_1 i_1 + w_2 i_2 \\
net_{h2} &= w_3 i_1 + w_4 i_2 \\
w_5 &= 0.4 \\
w_6 &= 0.45
\end{align}
\end{document}
"""


def _mark_boxes(pdf: Path) -> list[tuple[float, float, float, float]]:
    """Each mark with its note as one box (x0, y0, x1, y1), top to bottom: a mark's glyph and
    the margin words beside and below it, up to the next glyph."""
    words = _boxes(pdf)
    glyphs = sorted((w for w in words if w[0] in ("✓", "✗", "?")), key=lambda g: g[2])
    left = min(g[1] for g in glyphs) - 0.5
    out = [list(g[1:]) for g in glyphs]
    for w in words:
        if w[0] in ("✓", "✗", "?") or w[1] < left:
            continue
        # the lowest mark whose glyph is at most 6 pt under the word's top (a fraction's
        # numerator rises above its glyph)
        mine = [i for i, g in enumerate(glyphs) if g[2] - 6 <= w[2]]
        box = out[mine[-1]]
        box[:] = [min(box[0], w[1]), min(box[1], w[2]), max(box[2], w[3]), max(box[3], w[4])]
    return [tuple(b) for b in out]


def _annotated_boxes(text: str, tmp_path, capsys, exit_code: int):
    """The mark boxes of ``text`` annotated by ``verify mazur`` (which must exit ``exit_code``)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not found")
    doc, out = tmp_path / "doc.tex", tmp_path / "doc.pdf"
    doc.write_text(text, encoding="utf-8")
    assert main(["verify", "mazur", str(doc), "--annotate", str(out)]) == exit_code
    capsys.readouterr()
    return _mark_boxes(out)


def _assert_apart(boxes) -> None:
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_marks_and_their_notes_never_overlap(require_pdflatex, tmp_path, capsys):
    """Two wrong rows in a row, each with a correction note taking several lines, right after
    an inline claim: every mark goes below the one before it when they would meet."""
    boxes = _annotated_boxes(CROWDED, tmp_path, capsys, 3)
    assert len(boxes) == 5  # the inline line, four rows
    notes = [b for b in boxes if b[3] - b[1] > 12]  # the two corrections span lines
    assert len(notes) == 2, boxes
    _assert_apart(boxes)


PLACES = r"""\documentclass{article}
\usepackage{amsmath}
\begin{document}
\tableofcontents
A $w_5 = 0.4$
and\footnote{see $w_6 = 0.45$
} \textbf{$w_7 = 0.5$
}\begin{tabular}{c} $w_8 = 0.55$
\end{tabular} \section{$w_1 = 0.15$}
Text.
\end{document}
"""


def test_marks_of_one_line_a_footnote_and_a_heading_are_all_apart(
    require_pdflatex, tmp_path, capsys
):
    """Three marks of one printed line (one in bold, one in a table) with a footnote's mark
    between them in the source, and a heading's (not repeated in the contents): five marks,
    each apart from every other."""
    boxes = _annotated_boxes(PLACES, tmp_path, capsys, 0)
    assert len(boxes) == 5
    _assert_apart(boxes)

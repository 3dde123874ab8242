"""Verdicts and reports in a notebook: ``_repr_html_`` and ``_repr_latex_`` call these.

The claim is typeset (HTML output leaves ``\\(...\\)`` to the notebook's MathJax, the LaTeX
output is one display formula) and the verdict coloured: correct green, wrong red, anything else
(unreadable, undecided) grey. A wrong verdict shows the correct expression and the message.
"""

from __future__ import annotations

import html
import re

COLOURS = {"correct": "#1a7f37", "wrong": "#cf222e"}
GREY = "#6e7781"
_MARKS = {"correct": "\u2713", "wrong": "\u2717"}
_LABEL = re.compile(r"^\s*\[[A-Za-z][\w.:-]*\]\s*")


def _claim_math(text: str) -> str:
    """The claim's math without a leading ``[label]`` and ``$`` signs."""
    return _LABEL.sub("", text).replace("$", "").strip()


def _verdict_cell(v) -> str:  # noqa: ANN001 - a Verdict
    colour = COLOURS.get(v.verdict, GREY)
    mark = _MARKS.get(v.verdict, "?")
    return f'<span style="color:{colour};font-weight:bold">{mark} {html.escape(v.verdict)}</span>'


def _details(v) -> str:  # noqa: ANN001
    parts = []
    if v.verdict != "correct" and v.message:
        parts.append(html.escape(v.message))
    if v.verdict == "wrong" and v.correct:  # LaTeX in the claim's notation: typeset
        parts.append(f"correct: \\({html.escape(v.correct)}\\)")
    if v.verdict == "wrong" and v.factor:
        parts.append("differs: " + html.escape(v.factor))
    if v.verdict == "correct" and v.method:
        parts.append(html.escape(v.method))
    return "<br>".join(parts)


def verdict_html(v) -> str:  # noqa: ANN001
    where = f"line {v.line}" + (f" [{html.escape(v.label)}]" if v.label else "")
    details = _details(v)
    return (
        f"<div>{_verdict_cell(v)} <small>{where}</small> "
        f"\\({html.escape(_claim_math(v.text))}\\)"
        + (f'<div style="margin-left:2em;color:{GREY}">{details}</div>' if details else "")
        + "</div>"
    )


def _latex_verdict(v) -> str:  # noqa: ANN001
    colour = {"correct": "green", "wrong": "red"}.get(v.verdict, "gray")
    word = v.verdict.replace("_", " ")
    return rf"\color{{{colour}}}{{\text{{{_MARKS.get(v.verdict, '?')} {word}}}}}"


def verdict_latex(v) -> str:  # noqa: ANN001
    line = rf"\text{{line {v.line}}}\quad {_claim_math(v.text)} \quad {_latex_verdict(v)}"
    if v.verdict == "wrong" and v.correct:
        line += rf" \quad \text{{correct: }} {v.correct}"
    return f"$\\displaystyle {line}$"


def report_html(report) -> str:  # noqa: ANN001 - a document.Report
    rows = []
    for v in report.verdicts:
        rows.append(
            f"<tr><td>{v.line}</td><td>{html.escape(v.label or '')}</td>"
            f"<td style='text-align:left'>\\({html.escape(_claim_math(v.text))}\\)</td>"
            f"<td>{_verdict_cell(v)}</td>"
            f"<td style='text-align:left'><small>{_details(v)}</small></td></tr>"
        )
    head = "<tr><th>line</th><th>label</th><th>claim</th><th>verdict</th><th></th></tr>"
    return (
        f"<div><b>{html.escape(report.source)}: {html.escape(report.score())}</b>"
        f"<table>{head}{''.join(rows)}</table></div>"
    )


def report_latex(report) -> str:  # noqa: ANN001
    rows = [rf"{v.line} & {_claim_math(v.text)} & {_latex_verdict(v)}" for v in report.verdicts]
    score = report.score()
    body = r" \\ ".join(rows)
    return rf"$$\begin{{array}}{{rll}} {body} \\ & \text{{{score}}} & \end{{array}}$$"

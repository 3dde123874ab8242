"""What the :class:`derived.Derived` methods return besides text.

Each object's ``str()`` is the text the matching command prints, and in a notebook (Jupyter,
VS Code) it renders itself as HTML: the check report as a table, the verdicts coloured.

- :class:`CheckReport` — ``d.check()``: the report of :mod:`check.unit` (the same fields, ``ok``);
- :class:`Verdicts` — ``d.verify(claims)``: a list of :class:`verify.run.Verdict`, ``ok`` when all
  are correct;
- :class:`Written` — ``d.module(path)``, ``d.handout(path)``: which files were written.
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

from symbackprop.check.unit import Report

_COLOURS = {"correct": "#1a7f37", "wrong": "#cf222e", "unreadable": "#9a6700"}
_OTHER = "#57606a"  # a verdict this module does not know (a newer verify's), in grey
_CELL = "padding:2px 8px;text-align:left;vertical-align:top"


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _row(cells) -> str:
    return "<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in cells) + "</tr>"


class CheckReport(Report):
    """``check``'s report: ``ok``, ``params`` (per parameter: the derived gradient at the first
    point, the generated code's and the finite differences' worst relative errors), ``str()``
    the table ``symbackprop check`` prints."""

    @classmethod
    def of(cls, report: Report) -> CheckReport:
        return cls(**{f.name: getattr(report, f.name) for f in fields(report)})

    def __str__(self) -> str:
        from symbackprop.check.unit import format_report

        return format_report(self)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        def sci(x: float) -> str:
            return "not sampled" if math.isnan(x) else f"{x:.2e}"

        rows = []
        for p in self.params:
            bad = p.numpy_error > self.tolerance or p.fd_error > p.fd_allowed
            mark = f'<span style="color:{_COLOURS["wrong"]}">disagrees</span>' if bad else "ok"
            cells = (
                f"<code>{_esc(p.name)}</code>",
                f"{p.derived:.9g}",
                sci(p.numpy_error),
                sci(p.fd_error),
                sci(p.fd_allowed),
                mark,
            )
            rows.append(_row(cells))
        heads = ("parameter", "derived", "numpy", "fin. diff.", "allowed", "")
        head = "<tr>" + "".join(f'<th style="{_CELL}">{h}</th>' for h in heads) + "</tr>"
        verdict = (
            f'<b style="color:{_COLOURS["correct"]}">ok</b>: derived = generated NumPy = '
            "finite differences"
            if self.ok
            else f'<b style="color:{_COLOURS["wrong"]}">FAILED</b>: the routes disagree'
        )
        return (
            f"<div><p>check <code>{_esc(self.network)}</code> at {self.points} random points "
            f"(tolerance {self.tolerance:g}; worst relative error per parameter)</p>"
            f"<table>{head}{''.join(rows)}</table><p>{verdict}</p></div>"
        )


class Verdicts(list):
    """The verdicts of ``verify``, one :class:`verify.run.Verdict` per claim line (``line``,
    ``label``, ``text``, ``verdict``, ``correct``, ``message``, …); ``ok`` when every claim is
    correct; ``str()`` what ``symbackprop verify`` prints."""

    @property
    def ok(self) -> bool:
        return bool(self) and all(v.verdict == "correct" for v in self)

    def __str__(self) -> str:
        from symbackprop.verify.run import format_text

        return format_text(list(self))

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = []
        for v in self:
            colour = _COLOURS.get(v.verdict, _OTHER)
            detail = []
            if v.verdict == "correct":
                detail.append(_esc(v.method or "") + (f"; {_esc(v.message)}" if v.message else ""))
            else:
                detail.append(_esc(v.message))
            if getattr(v, "correct", None) is not None:
                detail.append(f"correct: <code>{_esc(v.correct)}</code>")
            if getattr(v, "factor", None):
                detail.append(f"differs: {_esc(v.factor)}")
            example = getattr(v, "counterexample", None)
            if example:
                point = ", ".join(f"{k}={val}" for k, val in example.get("point", {}).items())
                detail.append(
                    f"at the {_esc(example.get('at', 'point'))}"
                    + (f" ({_esc(point)})" if point else "")
                    + f": {_esc(example.get('lhs'))} vs {_esc(example.get('rhs'))}"
                )
            cells = (
                str(v.line) + (f" [{_esc(v.label)}]" if v.label else ""),
                f"<code>{_esc(v.text)}</code>",
                f'<b style="color:{colour}">{_esc(v.verdict)}</b>',
                "<br>".join(d for d in detail if d),
            )
            rows.append(_row(cells))
        heads = ("line", "claim", "verdict", "why")
        head = "<tr>" + "".join(f'<th style="{_CELL}">{h}</th>' for h in heads) + "</tr>"
        counts = {}
        for v in self:
            counts[v.verdict] = counts.get(v.verdict, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in counts.items())
        return (
            f"<div><table>{head}{''.join(rows)}</table>"
            f"<p>{len(self)} claims: {_esc(summary)}</p></div>"
        )


def verify_claims(
    network, claims: str | os.PathLike, *, source: str, style: str | None = None  # noqa: ANN001
) -> Verdicts:
    """The verdicts of ``symbackprop verify`` on ``claims`` (the text, or a path to a file),
    through its entry point :func:`verify.run.run_verify` and its JSON form."""
    from symbackprop.verify.run import Verdict, run_verify

    out: list[str] = []
    with tempfile.TemporaryDirectory(prefix="symbackprop-claims-") as tmp:
        if isinstance(claims, os.PathLike):
            path = Path(claims)
        else:
            path = Path(tmp) / "claims.txt"
            path.write_text(claims, encoding="utf-8")
        run_verify(
            str(source),
            str(path),
            fmt="json",
            say=out.append,
            load=lambda _: network,
            style=style,
        )
    return Verdicts(Verdict(**item) for item in json.loads(out[-1]))


@dataclass(frozen=True)
class Written:
    """The files ``d.module(path)`` or ``d.handout(path)`` wrote (or left as they were, when
    their content would not change); ``str()`` the lines the commands print."""

    files: tuple[Path, ...]
    changed: tuple[Path, ...]

    @property
    def path(self) -> Path:
        """The main file: the module, or the handout's ``.tex``."""
        return self.files[0]

    @property
    def pdf(self) -> Path | None:
        """The handout's PDF, when one was asked for and made."""
        return next((p for p in self.files if p.suffix == ".pdf"), None)

    def __str__(self) -> str:
        return "\n".join(f"{'wrote' if p in self.changed else 'unchanged'} {p}" for p in self.files)

    def __repr__(self) -> str:
        return str(self)

"""``verify --annotate OUT.pdf``: the student's own document, compiled with a mark in the margin.

Each checked line gets a green tick, a red cross followed by the correct expression or value,
or a grey question mark (unreadable) in the right margin, level with the line. The marks are
TikZ overlays inserted into the source at the end of each graded row, placed at ``current page``
coordinates, so they work inside ``align`` and change nothing of the document's layout; pdflatex
runs twice (the second run places them). A mark goes at the margin, or further right when the
row's text runs into the margin (an overfull equation), or below the line when the text runs
off the page: never over the line's own text. After inline math (one mark for the claims of a source
line, after its last closing ``$``) the mark is a ``\\marginpar``, which LaTeX stacks so that the
marks of one printed line do not overlap, wherever a ``\\marginpar`` is allowed
(:func:`_marginpar_safe`: not in a table, float, box, footnote or heading). The preamble gains
``tikz`` and ``pifont`` just before ``\\begin{document}``; a fragment without
``\\documentclass`` is wrapped in an ``article`` with ``amsmath`` and ``amssymb``.

The correct expression comes from the verdict as text. It is typeset as math only when it is a
number or LaTeX made of known commands with balanced braces; anything else is shown as escaped
typewriter text, so no message can break the student's document. The document is compiled in
the pdflatex sandbox (:mod:`handout.latexrun`): it cannot read files beside it (no ``\\input``
of the student's other files, no images) and the PDF is written atomically (:mod:`output.writer`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from symbackprop.errors import InvalidInput, PdflatexFailed
from symbackprop.verify.document import Report

MAX_CORRECT = 160  # characters of a correct expression shown in the margin

PREAMBLE = r"""% --- added by symbackprop verify --annotate: margin marks
\usepackage{tikz}
\usetikzlibrary{calc}
\usepackage{pifont}
\makeatletter
\newlength\SBP@x
\newif\ifSBP@note
\newcommand\SBPinmargin{\global\SBP@notetrue}
\newcommand\SBPmark[2]{\ifSBP@note\global\SBP@notefalse
  \marginpar{\raggedright\scriptsize\color{#1}#2}\else
  \setlength\SBP@x{\dimexpr 1in+\hoffset+\oddsidemargin+\textwidth+\marginparsep\relax}%
  \tikz[remember picture,overlay]\path let \p1=(0,0), \p2=(current page.west|-0,0),
  \p3=(current page.east), \n1={\x1+\marginparsep+2em>\x3} in
  node[anchor=base west,inner sep=0pt,text width=\marginparwidth,align=left,
  font=\scriptsize,text=#1] at ({ifthenelse(\n1,\x2+\SBP@x,max(\x2+\SBP@x,\x1+\marginparsep))},
  {ifthenelse(\n1,\y1-\baselineskip,\y1)}) {#2};\fi}
\makeatother
\newcommand\SBPok{\SBPmark{green!50!black}{\ding{51}}}
\newcommand\SBPwrong[1]{\SBPmark{red!80!black}{\ding{55}~#1}}
\newcommand\SBPunread{\SBPmark{black!50}{? unreadable}}
% ---
"""
# Where a mark after inline math may be a \marginpar (which LaTeX stacks so that marks of one
# printed line do not overlap): not inside these environments, nor inside the argument of any
# command but these (a footnote, a caption, a box or a heading cannot hold a \marginpar).
NO_MARGINPAR_ENVS = frozenset(
    "tabular tabular* tabularx tabulary longtable array minipage figure figure* table table* "
    "tikzpicture picture multicols multicols* wrapfigure frame columns column tcolorbox "
    "mdframed framed".split()
)
TEXT_GROUPS = frozenset("emph textbf textit textsl textsc textup textmd textrm textsf".split())
_GROUP_RE = re.compile(
    r"\\begin\s*\{([^{}]*)\}|\\end\s*\{([^{}]*)\}|\\([A-Za-z]+)\*?\s*(?:\[[^\]]*\]\s*)?(?=\{)"
    r"|\\.|[{}]"
)


def _marginpar_safe(text: str, offsets: list[int]) -> set[int]:
    """The offsets (after inline math) where a \\marginpar is allowed: one pass over the
    environments and brace groups open there."""
    from symbackprop.verify.document import _blank_comments

    src = _blank_comments(text)
    envs: list[str] = []
    groups: list[str | None] = []
    pending: str | None = None  # the command whose argument the next brace opens
    safe, todo = set(), sorted(offsets)
    for m in _GROUP_RE.finditer(src):
        while todo and todo[0] <= m.start():
            at = todo.pop(0)
            if not set(envs) & NO_MARGINPAR_ENVS and all(g in TEXT_GROUPS or g is None
                                                         for g in groups):  # fmt: skip
                safe.add(at)
        tok = m.group()
        if m.group(1) is not None:
            envs.append(m.group(1).strip())
        elif m.group(2) is not None:
            if m.group(2).strip() in envs:
                del envs[len(envs) - 1 - envs[::-1].index(m.group(2).strip()) :]
        elif m.group(3) is not None:
            pending = m.group(3)
            continue
        elif tok == "{":
            groups.append(pending)
        elif tok == "}" and groups:
            groups.pop()
        pending = None
    return safe


_GREEK = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu "
    "xi pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
    "Phi Psi Omega"
).split()
_SAFE_CMDS = frozenset(
    _GREEK
    + (
        "frac dfrac tfrac partial sum prod left right big Big bigl bigr Bigl Bigr odot cdot "
        "times top exp log ln tanh sqrt mathrm operatorname nabla quad qquad cdots ldots dots "
        "max min mathbf boldsymbol hat bar tilde prime infty in leq geq neq approx mid"
    ).split()
)
_UNICODE = {
    "∂": r"\partial ",
    "δ": r"\delta ",
    "Δ": r"\Delta ",
    "η": r"\eta ",
    "σ": r"\sigma ",
    "α": r"\alpha ",
    "μ": r"\mu ",
    "ε": r"\varepsilon ",
    "λ": r"\lambda ",
    "β": r"\beta ",
    "γ": r"\gamma ",
    "ρ": r"\rho ",
    "θ": r"\theta ",
    "⁺": "^{+}",
    "−": "-",
    "·": r"\cdot ",
    "×": r"\times ",
    "²": "^{2}",
    "ᵀ": "^{T}",
    "⊙": r"\odot ",
    "∑": r"\sum ",
    "√": r"\sqrt ",
    "′": "'",
}
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?")


def correct_tex(text: str) -> str:
    """The correct expression or value of a verdict as safe LaTeX (text mode)."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return f"${float(text):.9g}$".replace("e-0", "e-").replace("e+0", "e+")
    if len(text) > MAX_CORRECT:
        return r"\textit{(the correct form is in the report)}"
    candidate = text if "\\" in text else _plain_to_tex(text)
    if candidate is not None and _safe_math(candidate):
        return f"${candidate}$"
    return r"\texttt{" + _escape(text) + "}"


def _plain_to_tex(text: str) -> str | None:
    """``net_h2 = w3*i1 + b1`` (the unit level's text form) as math: scripts braced, ``*`` a
    thin space, the Unicode symbols of the notation as commands."""
    for char, tex in _UNICODE.items():
        text = text.replace(char, tex)
    if not text.isascii():
        return None
    greek = r"(?<![\\A-Za-z])(" + "|".join(_GREEK) + r")(?![A-Za-z])"
    text = re.sub(greek, r"\\\1 ", text)  # delta_o2 -> \delta _o2
    text = re.sub(r"(?<=[A-Za-z ])_([A-Za-z0-9]+)", r"_{\1}", text)
    text = re.sub(r"(?<![_{\\A-Za-z])([A-Za-z]+)(\d+)\b", r"\1_{\2}", text)  # w3 -> w_{3}
    return text.replace("**", "^").replace("*", r"\,")


def _safe_math(tex: str) -> bool:
    """Only known commands, balanced braces, no character TeX treats specially in math."""
    if not tex.isascii() or re.search(r"[#%$&~]|\\\\|\^\^", tex):
        return False
    for cmd in re.findall(r"\\([A-Za-z]+)", tex):
        if cmd not in _SAFE_CMDS:
            return False
    depth = 0
    for c in re.sub(r"\\[{}]", "", tex):
        depth += (c == "{") - (c == "}")
        if depth < 0:
            return False
    return depth == 0


def _escape(text: str) -> str:
    text = "".join(c if c.isascii() and c.isprintable() else "?" for c in text)
    out = []
    for c in text:
        if c in "\\{}$&#%_^~":
            out.append({"\\": r"\textbackslash{}", "~": r"\textasciitilde{}",
                        "^": r"\textasciicircum{}"}.get(c, "\\" + c))  # fmt: skip
        else:
            out.append(c)
    return "".join(out)


def _mark(verdicts: list) -> str:
    """One mark for the verdicts at one place: a tick when all are correct."""
    wrong = [v for v in verdicts if v.verdict == "wrong"]
    if wrong:
        shown = [correct_tex(v.correct) for v in wrong if v.correct]
        return r"\SBPwrong{" + "; ".join(shown) + "}"
    if all(v.verdict == "correct" for v in verdicts):
        return r"\SBPok{}"
    if any(v.verdict == "unreadable" for v in verdicts):
        return r"\SBPunread{}"
    kinds = sorted({v.verdict for v in verdicts} - {"correct"})
    return r"\SBPmark{black!50}{? " + _escape(", ".join(kinds)) + "}"


def annotated_tex(text: str, report: Report) -> str:
    """The document ``text`` with a mark after each graded row and the marks' preamble."""
    last: dict[int, int] = {}  # inline claims: one mark per source line, after the last
    for claim in report.claims:
        if claim.inline:
            last[claim.line] = max(last.get(claim.line, claim.mark_at), claim.mark_at)
    places: dict[int, list] = {}
    for claim, verdict in zip(report.claims, report.verdicts, strict=True):
        at = last[claim.line] if claim.inline else claim.mark_at
        places.setdefault(at, []).append(verdict)
    notes = _marginpar_safe(text, list(last.values()))
    out = text
    for at in sorted(places, reverse=True):
        mark = ("\\SBPinmargin" if at in notes else "") + _mark(places[at])
        out = out[:at] + mark + out[at:]
    begin = re.search(r"\\begin\s*\{document\}", out)
    if begin is None:
        if re.search(r"\\documentclass", out):
            raise InvalidInput("the document has \\documentclass but no \\begin{document}")
        head = "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n" + PREAMBLE
        return head + "\\begin{document}\n" + out + "\n\\end{document}\n"
    return out[: begin.start()] + PREAMBLE + out[begin.start() :]


def writer(
    out: str | None, text: str, *, force: bool, say: Callable, json: bool = False
) -> Callable[[Report], None] | None:
    """For ``--annotate OUT.pdf``: checks the target now (before grading) and returns the
    function that compiles the marked document and writes the PDF; None without the option."""
    if out is None:
        return None
    from symbackprop.handout.latexrun import compile_pdf, find_pdflatex
    from symbackprop.output.writer import (
        check_all,
        pdf_is_current,
        resolve_inside,
        stamp_pdf,
        write_all,
    )

    if Path(out).suffix.lower() != ".pdf":
        raise InvalidInput(f"--annotate names the PDF to write, but '{out}' is no .pdf")
    target = resolve_inside(None, out)
    check_all([(target, None)], force=force)
    if find_pdflatex() is None:
        raise PdflatexFailed("pdflatex not found", hint="install TeX Live to get --annotate")

    def write(report: Report) -> None:
        tex = annotated_tex(text, report)
        changed = False
        if not pdf_is_current(target, tex):
            try:
                pdf = compile_pdf(tex)
            except PdflatexFailed as err:
                raise PdflatexFailed(
                    err.message,
                    hint="no PDF was written; the document must compile on its own, without "
                    "files beside it (\\input, images)",
                ) from None
            changed = bool(write_all([(target, stamp_pdf(pdf, tex))], force=force))
        message = f"{'wrote' if changed else 'unchanged'} {target}"
        if json:  # standard output holds the JSON alone
            print(f"symbackprop: {message}", file=sys.stderr)
        else:
            say(message)

    return write

"""``verify --annotate OUT.pdf``: the student's own document, compiled with a mark in the margin.

Each checked line gets a green tick, a red cross followed by the correct expression or value,
or a grey question mark (unreadable) in the right margin, level with the line. The marks are
TikZ overlays inserted into the source at the end of each graded row (after inline math: one
mark for the claims of a source line, after its last closing ``$``), placed at ``current page``
coordinates, so they work inside ``align``, footnotes and tables and change nothing of the
document's layout. pdflatex runs twice: the first run records where each mark's row ends
(``\\pdfsavepos``, written to the ``.aux`` at shipout with its page) and its box's size, the
second places it. A mark goes at the margin, or further right when the row's text runs into the
margin (an overfull equation), or below the line when the text runs off the page: never over
the line's own text. A mark that would meet the one before it on the page (a correction note
takes several lines) goes just below it, so marks and notes never overlap each other. The
preamble gains ``tikz`` and ``pifont`` just before ``\\begin{document}``; a fragment without
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
\usepackage{pifont}
\makeatletter
\newcounter{SBPmark}% a LaTeX counter: amsmath restores it after measuring an align
\newsavebox\SBP@box
\newdimen\SBP@mx \newdimen\SBP@px \newdimen\SBP@py \newdimen\SBP@ht \newdimen\SBP@dp
\newdimen\SBP@low \newdimen\SBP@high \newcount\SBP@k \newif\ifSBP@moved
% mark #1 as the last run shipped it: page #2, its row's end at (#3, #4) sp from the page's
% lower left corner, its box's height #5 and depth #6
\def\SBPat#1#2#3#4#5#6{\global\@namedef{SBP@at@#1}{{#2}{#3}{#4}{#5}{#6}}}
\def\SBP@unpack#1#2#3#4#5{\def\SBP@page{#1}\SBP@px=#2sp\relax\SBP@py=#3sp\relax
  \SBP@ht=#4\relax\SBP@dp=#5\relax}
\def\SBP@prev#1#2#3#4{\def\SBP@prevpage{#1}\SBP@low=\dimexpr#2-#4-3pt\relax
  \SBP@high=\dimexpr#2+#3+3pt\relax}
\newcommand\SBPmark[2]{\stepcounter{SBPmark}%
  \sbox\SBP@box{\parbox[t]{\marginparwidth}{\raggedright\scriptsize\leavevmode\color{#1}#2}}%
  \edef\SBP@w{\write\@auxout{\string\SBPat{\theSBPmark}{\noexpand\the\c@page}%
    {\noexpand\the\pdflastxpos}{\noexpand\the\pdflastypos}{\the\ht\SBP@box}{\the\dp\SBP@box}}}%
  \pdfsavepos\SBP@w
  \@ifundefined{SBP@at@\theSBPmark}{\tikz[remember picture,overlay]\path(0,0);}{\SBP@place}}
% (The first run only records: one picture a mark in each run, as remember picture needs.)
% The mark at the margin, further right when its row runs into the margin, a line lower when
% the row runs off the page; then, going back over the earlier marks of the page (the note of
% a wrong line can take several lines; a footnote's mark comes between two of the text's),
% just below each one it would meet.
\def\SBP@place{%
  \expandafter\expandafter\expandafter\SBP@unpack\csname SBP@at@\theSBPmark\endcsname
  \SBP@mx=\dimexpr 1in+\hoffset+\oddsidemargin+\textwidth+\marginparsep\relax
  \ifdim\dimexpr\SBP@px+\marginparsep+2em\relax>\paperwidth
    \SBP@px=\SBP@mx \advance\SBP@py by -\baselineskip
  \else
    \advance\SBP@px by \marginparsep
    \ifdim\SBP@px<\SBP@mx \SBP@px=\SBP@mx \fi
  \fi
  \SBP@settle
  \expandafter\xdef\csname SBP@fin@\theSBPmark\endcsname{{\SBP@page}{\the\SBP@py}%
    {\the\SBP@ht}{\the\SBP@dp}}%
  \tikz[remember picture,overlay]\node[anchor=base west,inner sep=0pt] at
    ([xshift=\SBP@px,yshift=\SBP@py]current page.south west) {\usebox\SBP@box};}
% one pass back over the page's earlier marks, again while a pass moves this one down
\def\SBP@settle{\SBP@movedfalse \SBP@k=\value{SBPmark}%
  \loop\advance\SBP@k by -1 \ifnum\SBP@k>0
    \@ifundefined{SBP@fin@\the\SBP@k}{\def\SBP@prevpage{}}{%
      \expandafter\expandafter\expandafter\SBP@prev\csname SBP@fin@\the\SBP@k\endcsname}%
    \ifx\SBP@page\SBP@prevpage
      \ifdim\dimexpr\SBP@py+\SBP@ht\relax>\SBP@low
        \ifdim\dimexpr\SBP@py-\SBP@dp\relax<\SBP@high
          \SBP@py=\dimexpr\SBP@low-\SBP@ht\relax \SBP@movedtrue
        \fi
      \fi
    \else \SBP@k=0 % an earlier page: done
    \fi
  \repeat
  \ifSBP@moved\expandafter\SBP@settle\fi}
% a mark in a heading is not repeated in the table of contents (or of figures, tables)
\let\SBP@starttoc\@starttoc
\def\@starttoc#1{\begingroup\let\SBPmark\@gobbletwo\SBP@starttoc{#1}\endgroup}
\makeatother
\DeclareRobustCommand\SBPok{\SBPmark{green!50!black}{\ding{51}}}
\DeclareRobustCommand\SBPwrong[1]{\SBPmark{red!80!black}{\ding{55}~#1}}
\DeclareRobustCommand\SBPunread{\SBPmark{black!50}{? unreadable}}
% ---
"""


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
    out = text
    for at in sorted(places, reverse=True):
        out = out[:at] + _mark(places[at]) + out[at:]
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

"""Grade a whole LaTeX document: every equation line is a claim, each verdict at its source line.

``symbackprop verify SPEC homework.tex`` reads a student's document when the whole file is one
(:func:`is_document`: ``\\documentclass``, ``\\begin{document}``, any ``\\begin{...}``, ``\\[``
or ``$$``); any other file is a claims file, one claim a line (:mod:`verify.run`).

What is read (:func:`extract_claims`), in the body (after ``\\begin{document}`` when there is
one), TeX comments and verbatim/comment environments skipped:

- display math: ``equation``, ``align``, ``gather``, ``multline``, ``flalign``, ``alignat``,
  ``eqnarray`` (starred or not), ``displaymath``, ``\\[ \\]``, ``$$ $$``; ``split``, ``aligned``
  and ``gathered`` inside them; rows split at ``\\\\`` (not inside ``cases`` or a matrix);
- inline math ``$...$`` and ``\\( \\)``: a claim only when it holds a relation (``$w_5$`` is
  skipped, ``$w_5 = 0.4$`` is checked).

Each row is cleaned: ``\\label{x}`` becomes the claim's label; ``\\nonumber``, ``\\notag``,
``\\tag``, ``\\displaystyle``, ``\\left.``, ``\\,``, ``\\;``, ``\\!``, ``&`` and a trailing ``,``
or ``.`` are dropped; ``\\approx`` and ``:=`` read as ``=``; ``\\mathrm{net}`` is ``net`` (and
``\\text{total}`` in a script is ``total``); ``\\frac12`` is ``\\frac{1}{2}``. ``\\quad``,
``\\text{...}``, ``\\Rightarrow`` and ``\\implies`` separate independent claims on one row (the
prose in ``\\text`` is dropped), and so do top-level commas when every part holds a relation
(``$w_5 = 0.4,\\ w_6 = 0.45$``).

Chains: a row that starts with a relation continues the one above, and each link is its own
claim: ``a &= b \\\\ &= c`` is the claim ``a = b`` (line 1) and the claim ``b = c`` (line 2), so a
slip is marked on the line where it is made and a later step that is right about the line above
stays correct. A row with no relation continues the expression above (a long right-hand side
broken over rows). Within one row, ``a = b = c`` is one claim checked link by link.

Each claim goes through the claims checker one at a time (unit or layer level, as ``verify``),
and its verdict carries the document's line number and label. The score counts the verdicts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from symbackprop.errors import InvalidInput
from symbackprop.verify.macros import MacroError, Macros, collect

# Display environments whose body is math, rows split at \\ .
DISPLAY_ENVS = frozenset(
    f"{name}{star}"
    for name in ("equation", "align", "gather", "multline", "flalign", "alignat", "eqnarray")
    for star in ("", "*")
) | {"displaymath", "math"}
# Inside display math: markers only (their \\ split rows); the rest of the name is dropped.
INNER_ENVS = frozenset("split aligned alignedat gathered multlined".split())
# Inside display math: a \\ in these is no row break (cases, matrices, arrays).
OPAQUE_ENVS = frozenset(
    "cases dcases rcases matrix pmatrix bmatrix Bmatrix vmatrix Vmatrix smallmatrix array "
    "subarray".split()
)
SKIP_ENVS = frozenset("verbatim verbatim* Verbatim lstlisting minted comment".split())

_DOC_RE = re.compile(r"\\documentclass|\\begin\s*\{[A-Za-z*]+\}|(?<!\\)\\\[|\$\$")
_COMMENT_RE = re.compile(r"(?<!\\)((?:\\\\)*)%[^\n]*")
_SCAN_RE = re.compile(
    r"\\\\|\\\$|\\\[|\\\(|\\begin\s*\{([A-Za-z*]+)\}|\$\$|\$|\\end\s*\{document\}"
)
_REL_RE = re.compile(r"=|<|>|\\(?:leq?|geq?|leqslant|geqslant|neq?|lt|gt|equiv|ll|gg)(?![A-Za-z])")
_SEPARATOR_RE = re.compile(
    r"\\(?:q?quad|Rightarrow|Longrightarrow|implies|iff|Leftrightarrow|therefore|hence)"
    r"(?![A-Za-z])"
)
_TEXT_CMDS = "text textrm textit textbf textsf mbox intertext shortintertext".split()
_FONT_CMDS = "mathrm mathit mathsf mathbf mathnormal operatorname boldsymbol bm".split()
# \text{...} with one level of nested braces in its argument
_TEXT_RE = re.compile(r"\\(?:" + "|".join(_TEXT_CMDS) + r")\s*\{(?:[^{}]|\{[^{}]*\})*\}")


@dataclass
class DocClaim:
    """One claim found in a document: where it is, what it says, where its mark goes."""

    line: int
    label: str | None
    text: str  # the cleaned claim, as handed to the checker
    mark_at: int  # offset in the document where the margin mark is inserted
    inline: bool = False
    error: str | None = None  # a macro call that cannot be expanded: the claim is unreadable


@dataclass
class Report:
    """The verdicts on a document (or a claims file) and their score; renders in notebooks."""

    source: str
    verdicts: list = field(default_factory=list)
    claims: list[DocClaim] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"correct": 0, "wrong": 0, "unreadable": 0}
        for v in self.verdicts:
            out[v.verdict] = out.get(v.verdict, 0) + 1
        return out

    def score(self) -> str:
        """``7/10 correct, 2 wrong, 1 unreadable`` (other verdict kinds appended when present)."""
        counts = self.counts()
        rest = ", ".join(f"{n} {k}" for k, n in counts.items() if k != "correct")
        return f"{counts['correct']}/{len(self.verdicts)} correct, {rest}"

    def exit_code(self) -> int:
        """As ``verify`` (:func:`verify.run.exit_code`): 2 unreadable, 3 wrong, 7 undecided."""
        from symbackprop.verify.run import exit_code

        return exit_code(self.verdicts)

    def to_json(self) -> str:
        return json.dumps([asdict(v) for v in self.verdicts], indent=2, ensure_ascii=False)

    def _repr_html_(self) -> str:
        from symbackprop.verify.display import report_html

        return report_html(self)

    def _repr_latex_(self) -> str:
        from symbackprop.verify.display import report_latex

        return report_latex(self)


# ----------------------------------------------------------------------------- detection
def is_document(text: str) -> bool:
    """Is this whole text a LaTeX document (or a fragment with environments), not a claims
    file? Decided on the text without its TeX comments, never line by line."""
    return _DOC_RE.search(_blank_comments(text)) is not None


def _blank_comments(text: str) -> str:
    """TeX comments replaced by spaces (offsets and line numbers unchanged)."""
    return _COMMENT_RE.sub(lambda m: m.group(1) + " " * (len(m.group()) - len(m.group(1))), text)


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


# ----------------------------------------------------------------------------- extraction
def extract_claims(text: str, *, source: str = "<document>") -> list[DocClaim]:
    """Every claim of the document ``text``, in document order (see the module docstring)."""
    try:
        macros, src = collect(_blank_comments(text))
    except MacroError as err:
        raise InvalidInput(str(err), where=source) from None
    begin = re.search(r"\\begin\s*\{document\}", src)
    pos = begin.end() if begin else 0
    claims: list[DocClaim] = []
    while m := _SCAN_RE.search(src, pos):
        tok, env = m.group(), m.group(1)
        pos = m.end()
        if tok.startswith("\\end"):
            break
        if tok in ("\\\\", "\\$") or (env is not None and env not in DISPLAY_ENVS | SKIP_ENVS):
            continue
        if env in SKIP_ENVS:
            end = src.find(f"\\end{{{env}}}", pos)
            pos = len(src) if end < 0 else end + len(env) + 6
            continue
        if env is not None:
            close = re.compile(r"\\end\s*\{" + re.escape(env) + r"\}")
            if env.startswith("alignat"):  # \begin{alignat}{2}: the column count
                pos = _skip_arg(src, pos)
            inline = env == "math"
        else:
            close = {"\\[": re.compile(r"\\\]"), "\\(": re.compile(r"\\\)")}.get(tok)
            close = close or re.compile(re.escape(tok))
            inline = tok in ("$", "\\(")
        end = _find_close(src, pos, close)
        if end is None:
            raise InvalidInput(
                f"math opened by '{tok}' is never closed",
                where=f"{source}:{_line_of(src, m.start())}",
            )
        found = _segment_claims(
            src,
            pos,
            end.start(),
            inline,
            pairs=not (env or "").startswith("eqnarray"),
            macros=macros,
        )
        for claim in found if inline else ():
            claim.mark_at = end.end()  # after the closing $: the mark is text, not math
        claims += found
        pos = end.end()
    return claims


def _skip_arg(src: str, pos: int) -> int:
    m = re.compile(r"\s*\{[^{}]*\}").match(src, pos)
    return m.end() if m else pos


def _find_close(src: str, pos: int, close: re.Pattern) -> re.Match | None:
    """The closing delimiter after ``pos``, skipping ``\\\\`` and an escaped dollar."""
    scan = re.compile(r"\\\\|\\\$|(" + close.pattern + ")")
    while (m := scan.search(src, pos)) is not None:
        if m.group(1) is not None:
            return m
        pos = m.end()
    return None


def _rows(src: str, start: int, end: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each row of a display body: split at top-level ``\\\\`` (with its
    ``*`` and ``[2pt]``), not inside braces or an opaque environment."""
    rows, depth, opaque, row_start, i = [], 0, 0, start, start
    env_re = re.compile(r"\\(begin|end)\s*\{([A-Za-z*]+)\}")
    while i < end:
        c = src[i]
        if c == "\\" and src.startswith("\\\\", i):
            if depth == 0 and opaque == 0:
                rows.append((row_start, i))
                m = re.compile(r"\*?(?:\s*\[[^\]\n]*\])?").match(src, i + 2)
                i = row_start = m.end()
                continue
            i += 2
            continue
        if c == "\\":
            m = env_re.match(src, i)
            if m and m.group(2) in OPAQUE_ENVS:
                opaque += 1 if m.group(1) == "begin" else -1
                i = m.end()
                continue
            i += 2  # an escaped character: \{ \} \& \%
            continue
        depth += (c == "{") - (c == "}")
        i += 1
    rows.append((row_start, end))
    return rows


def _cells(src: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a row at its top-level ``&`` (not ``\\&``, not inside braces or environments)."""
    cells, depth, cell_start, i = [], 0, start, start
    while i < end:
        c = src[i]
        if c == "\\":
            m = re.compile(r"\\(begin|end)\s*\{([A-Za-z*]+)\}").match(src, i)
            if m and m.group(2) not in INNER_ENVS:
                depth += 1 if m.group(1) == "begin" else -1
                i = m.end()
                continue
            i += 2
            continue
        depth += (c == "{") - (c == "}")
        if c == "&" and depth == 0:
            cells.append((cell_start, i))
            cell_start = i + 1
        i += 1
    cells.append((cell_start, end))
    return cells


def _segment_claims(
    src: str,
    start: int,
    end: int,
    inline: bool,
    *,
    pairs: bool = True,
    macros: Macros | None = None,
) -> list[DocClaim]:
    """The claims of one math segment (a display environment or an inline formula)."""
    out: list[DocClaim] = []
    chain_last: str | None = None  # the last side of the row above, for rows starting '='
    last: DocClaim | None = None  # the claim of the row above, for rows with no relation
    for row_start, row_end in _rows(src, start, end) if not inline else [(start, end)]:
        raw = src[row_start:row_end]
        label = _label(raw)
        stripped = raw.rstrip()
        if not stripped.strip():
            continue
        mark_at = row_start + len(stripped)
        line = _line_of(src, row_start + len(raw) - len(raw.lstrip()))
        cells = _cells(src, row_start, row_end)
        groups = [cells]
        if pairs and len(cells) > 2:  # align: a &= b & c &= d holds two equations
            groups = [cells[i : i + 2] for i in range(0, len(cells), 2)]
        for g, group in enumerate(groups):
            text = " ".join(src[a:b] for a, b in group)
            if macros:  # the student's own macros, as defined before this row
                try:
                    text = macros.expand(text, row_start)
                except MacroError as err:
                    out.append(DocClaim(line, label, _clean(text), mark_at, inline, str(err)))
                    continue
            pieces = _pieces(_clean(text))
            for p, piece in enumerate(pieces):
                rels = list(_top_relations(piece))
                leads = g == 0 and p == 0 and not inline
                if leads and rels and rels[0].start() == 0:
                    claim_text = f"{chain_last} {piece}" if chain_last else piece
                elif rels:
                    claim_text = piece
                elif leads and last is not None:  # a right-hand side broken over rows
                    last.text += " " + piece
                    chain_last = f"{chain_last} {piece}" if chain_last else piece
                    continue
                elif leads:
                    chain_last = piece  # a left-hand side alone on its row
                    continue
                else:
                    continue  # prose or an expression: no claim
                claim = DocClaim(line, label, claim_text, mark_at, inline)
                out.append(claim)
                if leads:
                    last = claim
                    seps = list(_top_relations(piece))
                    chain_last = piece[seps[-1].end() :].strip() if seps else piece
    return out


def _label(raw: str) -> str | None:
    m = re.search(r"\\label\s*\{([^{}]*)\}", raw)
    return m.group(1).strip() if m else None


def _top_relations(text: str):  # noqa: ANN202 - a generator of re.Match
    """Relations (``=``, ``<``, ``\\le`` ...) outside braces and brackets."""
    depth = 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            m = _REL_RE.match(text, i)
            if m and depth == 0:
                yield m
                i = m.end()
                continue
            m = re.compile(r"\\[A-Za-z]+|\\.").match(text, i)
            i = m.end() if m else i + 1
            continue
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth = max(0, depth - 1)
        elif depth == 0 and c in "=<>":
            yield _REL_RE.match(text, i)
        i += 1


# ------------------------------------------------------------------------------- cleaning
def _clean(text: str) -> str:
    """A row's math as the claims parser reads it (see the module docstring)."""
    text = re.sub(r"\\label\s*\{[^{}]*\}", " ", text)
    text = re.sub(r"\\tag\*?\s*\{[^{}]*\}", " ", text)
    text = re.sub(
        r"\\(?:begin|end)\s*\{(?:" + "|".join(INNER_ENVS) + r")\}(?:\s*\[[a-z]\])?", " ", text
    )
    text = re.sub(
        r"\\(?:nonumber|notag|displaystyle|textstyle|scriptstyle|allowbreak)(?![A-Za-z])", " ", text
    )
    text = re.sub(r"\\(?:left|right|bigl|bigr|Bigl|Bigr)\s*\.", " ", text)
    text = re.sub(r"\\[hv]?phantom\s*\{[^{}]*\}", " ", text)
    # \text{...} inside a script is a name (E_{\text{total}}); elsewhere it is prose
    script_text = (
        r"([_^]\s*\{?\s*)\\(?:" + "|".join(_TEXT_CMDS + _FONT_CMDS) + r")\s*\{([A-Za-z0-9 ]*)\}"
    )
    text = re.sub(script_text, lambda m: m.group(1) + m.group(2).replace(" ", ""), text)
    font = r"\\(?:" + "|".join(_FONT_CMDS) + r")\s*\{([A-Za-z0-9]*)\}"
    text = re.sub(font, lambda m: m.group(1), text)
    text = re.sub(r"\\([dt]?frac)\s*(\d)\s*(\d)", r"\\\1{\2}{\3}", text)
    text = re.sub(r"\\(?:approx|coloneqq|doteq|simeq)(?![A-Za-z])|:=", "=", text)
    text = re.sub(r"\\\\|\\[,;:!> ]|~", lambda m: m.group() if m.group() == "\\\\" else " ", text)
    text = text.replace("\n", " ").replace("\t", " ")
    return re.sub(r"\s+", " ", text).strip()


def _pieces(text: str) -> list[str]:
    """Split a cleaned row at separators (``\\quad``, ``\\text{...}``, ``\\Rightarrow``) and at
    top-level commas when every part holds a relation; each piece trimmed of end punctuation."""
    text = _TEXT_RE.sub(r" \\quad ", text)  # prose between claims separates them
    parts = _SEPARATOR_RE.split(text)
    out = []
    for part in parts:
        commas = _top_commas(part)
        if len(commas) > 1 and all(any(True for _ in _top_relations(c)) for c in commas):
            out += commas
        else:
            out.append(part)
    return [p for p in (re.sub(r"[\s,.;:]+$", "", q).strip() for q in out) if p]


def _top_commas(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth = max(0, depth - 1)
        elif c == "," and depth == 0 and (i == 0 or text[i - 1] != "\\"):
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


# ------------------------------------------------------------------------------- checking
def verify_document(
    network, text: str, *, source: str = "<document>", style: str | None = None  # noqa: ANN001
) -> Report:
    """Check every claim of the LaTeX document ``text`` against ``network`` (layer numbers as
    the handout in ``style`` numbers them)."""
    from symbackprop.verify.run import Verdict, check_line, make_checker

    claims = extract_claims(text, source=source)
    if not claims:
        raise InvalidInput(
            "no equations with a relation (=, <, ...) found in the document", where=source
        )
    checker = make_checker(network, style)
    verdicts = []
    for claim in claims:
        if claim.error is not None:
            verdicts.append(Verdict(claim.line, claim.label, claim.text, "unreadable",
                                    message=claim.error))  # fmt: skip
            continue
        # A document's math is LaTeX however it is written: the trailing thin space says so
        # (it moves no column, and a claim read as LaTeX anyway is read the same).
        verdict = check_line(checker, claim.text + " \\,", claim.line, source)
        verdicts.append(replace(verdict, line=claim.line, label=claim.label, text=claim.text))
    return Report(source, verdicts, claims)


def document_text(claims: str) -> str | None:
    """The text of the file ``claims`` when it is a LaTeX document, else None (a claims file,
    standard input, or a file ``verify`` reports on itself: missing, a directory, a pipe)."""
    from symbackprop.verify.run import _read

    if claims == "-" or not Path(claims).is_file():
        return None
    text = _read(claims)
    return text if is_document(text) else None


def grade(spec: str, path: str | Path, *, style: str | None = None) -> Report:
    """The Python entry point: grade the document at ``path`` against the spec ``spec`` (a
    built-in example's name or a TOML file); ``style`` as ``verify --style``."""
    from symbackprop.spec.load import load_spec
    from symbackprop.verify.run import _read

    return verify_document(load_spec(spec), _read(str(path)), source=str(path), style=style)


# -------------------------------------------------------------------------------- output
def format_document(report: Report) -> str:
    """Every claim with its line, label, verdict and text; details below wrong and unreadable
    ones; the score last."""
    lines = []
    for v in report.verdicts:
        head = f"line {v.line}" + (f" [{v.label}]" if v.label else "")
        text = v.text if len(v.text) <= 100 else v.text[:97] + "..."
        if v.verdict == "correct":
            lines.append(f"{head}: correct: {text}")
            continue
        lines.append(f"{head}: {v.verdict.upper()}: {text}")
        if v.message:
            lines.append(f"    {v.message}")
        if v.correct:
            lines.append(f"    correct: {v.correct}")
        if v.factor:
            lines.append(f"    differs: {v.factor}")
    lines.append(f"{report.source}: {report.score()}")
    return "\n".join(lines)


def run_verify_document(
    network,  # noqa: ANN001
    text: str,
    *,
    source: str,
    fmt: str,
    say: Callable,
    annotate: Callable | None = None,
    style: str | None = None,
) -> int:
    """Grade ``text``, print the report (``fmt``: text or json), hand the report to
    ``annotate`` (writes the marked PDF), return verify's exit code."""
    report = verify_document(network, text, source=source, style=style)
    say(report.to_json() if fmt == "json" else format_document(report))
    if annotate is not None:
        annotate(report)
    return report.exit_code()

"""Long display lines broken over several rows of an ``align*``, so that none runs off the page.

The printers mark where a line may break (:data:`BREAK`, before the ``+``/``-`` of a sum and
before each ``=`` of a chain), as TeX's ``\\allowbreak`` would; :func:`pack` then fills each
row up to the text width and continues on an indented row, ``&\\quad + …``. Only marks outside
braces count (a sum inside a fraction or an exponent stays whole); a sum in parentheses that is
broken gets fixed-size ``\\bigl(``/``\\bigr)``, which, unlike ``\\left``/``\\right``, may open
on one row and close on another.

Widths are estimated from the LaTeX (in em of an 11 pt font: a digit ½ em, an operator with its
spacing about 1.2 em, a fraction as wide as its wider part, scripts at 70 %), not measured;
:data:`LINE_EM` leaves room for the estimate's error (the box-warning tests compile random
nets of the widest kind the handouts print).
"""

from __future__ import annotations

import re

BREAK = "\u2063"  # a possible line break; never reaches the .tex (pack removes every one)

LINE_EM = 38.0  # the handout's text width is about 42.8 em (16.6 cm at 11 pt)
INDENT_EM = 1.0  # the \quad of a continued row

_OPERATOR_EM = 1.2
_COMMAND_EM = {
    "times": _OPERATOR_EM,
    "cdot": _OPERATOR_EM,
    "odot": _OPERATOR_EM,
    "quad": 1.0,
    "qquad": 2.0,
    "partial": 0.6,
    "left": 0.0,
    "right": 0.0,
    "bigl": 0.0,
    "bigr": 0.0,
    "Bigl": 0.0,
    "Bigr": 0.0,
    "log": 1.5,
    "tanh": 2.2,
    "sigma": 0.6,
    "sum": 1.2,
    "text": 0.0,
    "operatorname": 0.0,
    "mathrm": 0.0,
    "since": 0.0,
}
_NARROW = set(".,;:!|'()[]")


def _group(text: str, start: int) -> int:
    """Index just past the brace group opening at ``text[start] == '{'``."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def width(text: str) -> float:
    """Estimated width of math-mode LaTeX ``text``, in em."""
    total, i = 0.0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", text[i:])
            name = m.group(1)
            i += len(m.group(0))
            if name == "frac":
                top_end = _group(text, i)
                bottom_end = _group(text, top_end)
                total += max(
                    width(text[i + 1 : top_end - 1]), width(text[top_end + 1 : bottom_end - 1])
                )
                total += 0.2
                i = bottom_end
            elif (
                name in ("text", "mathrm", "operatorname", "texttt")
                and i < len(text)
                and text[i] == "{"
            ):
                end = _group(text, i)
                total += 0.5 * len(text[i + 1 : end - 1])
                i = end
            elif name in (",", ";", " "):
                total += 0.25
            elif len(name) == 1:
                total += 0.5
            else:
                total += _COMMAND_EM.get(name, 0.7)
        elif ch in "_^":
            i += 1
            if i < len(text) and text[i] == "{":
                end = _group(text, i)
                total += 0.7 * width(text[i + 1 : end - 1])
                i = end
            elif i < len(text):
                total += 0.35
                i += 1
        elif ch in "{}" or ch == BREAK:
            i += 1
        elif ch in "+-=<>":
            total += _OPERATOR_EM
            i += 1
        elif ch == " ":
            i += 1
        elif ch in _NARROW:
            total += 0.3
            i += 1
        else:
            total += 0.5
            i += 1
    return total


def _depths(text: str) -> list[int]:
    """The nesting depth before each character: braces and ``\\left``/``\\right`` pairs."""
    depths, depth, i = [], 0, 0
    while i < len(text):
        if text.startswith("\\left", i) and not text[i + 5 : i + 6].isalpha():
            depths += [depth] * 5
            depth += 1
            i += 5
            continue
        if text.startswith("\\right", i) and not text[i + 6 : i + 7].isalpha():
            depth -= 1
            depths += [depth] * 6
            i += 6
            continue
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
        depths.append(depth)
        i += 1
    return depths


def breakable(text: str) -> bool:
    """Whether ``text`` has a mark outside braces and ``\\left``/``\\right`` pairs."""
    return any(ch == BREAK and d == 0 for ch, d in zip(text, _depths(text)))


def _pieces(text: str) -> list[str]:
    """``text`` cut at the marks outside groups; marks inside groups are dropped."""
    pieces, current = [], []
    for ch, depth in zip(text, _depths(text)):
        if ch == BREAK:
            if depth == 0:
                pieces.append("".join(current))
                current = []
            continue
        current.append(ch)
    pieces.append("".join(current))
    return [p for p in pieces if p.strip()]


def strip(text: str) -> str:
    """``text`` without its break marks (for one-row use)."""
    return text.replace(BREAK, "")


def pack(
    lines: list[tuple[str, str]] | tuple[tuple[str, str], ...], limit: float = LINE_EM
) -> tuple[tuple[str, str], ...]:
    """The ``(left, right)`` rows of an ``align*`` with every right side that would pass
    ``limit`` em (with the widest left side of the block) broken at its marks."""
    lines = list(lines)
    left = max((width(lhs) for lhs, _ in lines), default=0.0)
    out: list[tuple[str, str]] = []
    for lhs, rhs in lines:
        pieces = _pieces(rhs)
        if not pieces:
            out.append((lhs, ""))
            continue
        rows: list[str] = [pieces[0]]
        for piece in pieces[1:]:
            indent = INDENT_EM if len(rows) > 1 and not rows[-1].lstrip().startswith("=") else 0.0
            room = limit - left - indent
            if width(rows[-1] + piece) <= room:
                rows[-1] += piece
            else:
                rows.append(piece)
        out.append((lhs, rows[0].rstrip()))
        for row in rows[1:]:
            row = row.strip()
            out.append(("", row if row.startswith("=") else r"\quad " + row))
    return tuple(out)

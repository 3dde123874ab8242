"""Making slide content fit: estimated widths of LaTeX math, sums broken across rows, frames split.

A frame is 16:9 Beamer (14 cm of text, about 6.6 cm of height under the title). Widths are
estimated in em of the slides' ``\\small`` math from the LaTeX text, on the generous side; the
template also bounds every equation block by the column (``adjustbox``'s ``max width`` and
``max totalheight``), so an estimate that is too small shrinks a block a little instead of
running off the frame, and the pdflatex log stays free of overfull boxes.
"""

from __future__ import annotations

import re

# em per character class at the same size (Computer Modern, rounded up)
_WIDTHS = {"digit": 0.52, "letter": 0.58, "narrow": 0.3, "op": 1.3, "rel": 1.35}
_COMMAND_WIDTHS = {
    "left": 0.45,
    "right": 0.45,
    "times": 1.3,
    "cdot": 0.8,
    "partial": 0.6,
    "sum": 1.4,
    "quad": 1.0,
    "qquad": 2.0,
    ",": 0.17,
    ";": 0.28,
    "!": 0.0,
    "odot": 1.3,
    "Bigl": 0.5,
    "Bigr": 0.5,
    "biggl": 0.6,
    "biggr": 0.6,
    "bigl": 0.45,
    "bigr": 0.45,
    "mathrm": 0.0,
    "displaystyle": 0.0,
    "prime": 0.3,
}
_SCRIPT = 0.72  # a sub- or superscript's size relative to the base


def _group(tex: str, i: int) -> tuple[str, int]:
    """The brace group starting at ``tex[i] == "{"`` (its contents) and the index after it; a
    single token when there is no brace."""
    if i >= len(tex):
        return "", i
    if tex[i] != "{":
        m = re.match(r"\\[A-Za-z]+|.", tex[i:], re.S)
        return m.group(0), i + len(m.group(0))
    depth = 0
    for j in range(i, len(tex)):
        if tex[j] == "{":
            depth += 1
        elif tex[j] == "}":
            depth -= 1
            if depth == 0:
                return tex[i + 1 : j], j + 1
    return tex[i + 1 :], len(tex)


def math_width(tex: str) -> float:
    """The estimated width of inline-display math ``tex``, in em."""
    width, i = 0.0, 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:], re.S)
            word = m.group(1)
            i += len(m.group(0))
            if word in ("frac", "dfrac"):
                top, i = _group(tex, i)
                bottom, i = _group(tex, i)
                width += max(math_width(top), math_width(bottom)) + 0.3
            elif word == "text":
                body, i = _group(tex, i)
                width += 0.5 * len(body)
            elif word in _COMMAND_WIDTHS:
                width += _COMMAND_WIDTHS[word]
            else:
                width += 0.65  # a Greek letter, \sigma, \log ...
            continue
        if ch in "_^":
            body, i = _group(tex, i + 1)
            width += _SCRIPT * math_width(body)
            continue
        if ch in "{} ":
            pass
        elif ch.isdigit():
            width += _WIDTHS["digit"]
        elif ch.isalpha():
            width += _WIDTHS["letter"]
        elif ch in "+-":
            width += _WIDTHS["op"]
        elif ch in "=<>":
            width += _WIDTHS["rel"]
        elif ch in ".,;()[]|'":
            width += _WIDTHS["narrow"]
        else:
            width += _WIDTHS["letter"]
        i += 1
    return width


def join_terms(terms: list[str]) -> str:
    """Printed terms of a sum joined with their signs (``a + b - c``)."""
    out = terms[0] if terms else "0"
    for term in terms[1:]:
        out += f" - {term[1:].lstrip()}" if term.startswith("-") else f" + {term}"
    return out


def broken_sum(terms: list[str], budget: float, lead: str = "= ") -> list[str]:
    """A sum's printed terms as rows of at most ``budget`` em: ``lead`` t1 + t2 …, then rows
    beginning ``\\quad + t_k`` (a row holds at least one term)."""
    rows: list[list[str]] = [[]]
    for term in terms:
        trial = rows[-1] + [term]
        if rows[-1] and math_width(join_terms(trial)) + 2.5 > budget:
            rows.append([term])
        else:
            rows[-1] = trial
    out = []
    for k, row in enumerate(rows):
        text = join_terms(row)
        if k == 0:
            out.append(lead + text)
        else:
            sign = "-" if text.startswith("-") else "+"
            body = text[1:].lstrip() if text.startswith("-") else text
            out.append(rf"\quad {sign} {body}")
    return out


def chunks(items: list, size: int) -> list[list]:
    """``items`` in consecutive runs of at most ``size`` (one empty run for no items)."""
    return [items[k : k + size] for k in range(0, len(items), size)] or [[]]

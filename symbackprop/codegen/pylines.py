"""The lines of a generated module that pyformat formats without black, and their shapes.

A *simple statement* is one line ``name = expression`` (or ``name["key"] = ...``) made of
names, numbers and identifier-like strings in the forms black leaves as they are, arithmetic,
brackets, commas and colons, with at most a plain trailing comment; no keyword, comparison,
unpacking or version-specific syntax. Black writes it like any other simple statement of the
same *shape* (letters mapped to ``a``, digits to ``0``) at the same depth, its words aside.
A *comment line* is ``# text`` in printable ASCII, which black leaves as it is.

Where a line starts a logical line is tracked through strings, brackets and backslashes, so text
inside a docstring or a bracket is never taken for a simple line.
"""

from __future__ import annotations

import bisect
import keyword
import re
import string
from dataclasses import dataclass
from itertools import accumulate

_KEYWORDS = "|".join(sorted(keyword.kwlist + keyword.softkwlist, key=len, reverse=True))
_NAME = rf"(?!(?:{_KEYWORDS})(?!\w))[A-Za-z_]\w*"
_NUMBER = r"\d+(?:\.\d+)?(?:e-?\d+)?(?![\w.])"  # only forms black leaves as they are
_STRING = r"(?<![\w'\"])(?:\"\w+\"|'\w+')"  # only identifier-like text: quotes black may swap
_OPERATOR = r"\*\*|//|[-+*/%(),.:\[\]{}]"  # no comparison, `=`, `@`, `~`, bit operator
_TOKEN = rf"(?:{_STRING}|{_NUMBER}|{_NAME}|{_OPERATOR})"
_COMMENT = r"# (?!type:)[ -~]*[!-~]"  # one black leaves alone: `# ` then printable ASCII
# A simple statement: `target = expression`, optionally with a trailing comment.
# Possessive and atomic: a token matches one way, or a long line backtracks exponentially.
SIMPLE = re.compile(rf"( *)({_NAME}(?:\[{_STRING}\])? = (?: *(?>{_TOKEN}))++)(  {_COMMENT})?", re.A)
_COMMENT_LINE = re.compile(rf" *{_COMMENT}", re.A)
# Unpacking (`*a`, `**k`) and implicit string concatenation change how black splits or what
# Python versions it targets, so a statement with them is not simple.
_UNSAFE = re.compile(r"[=(\[{,] *\*|['\"] *['\"]")
_TOKENS = re.compile(rf" *({_TOKEN})", re.A)
_OPERAND_END = re.compile(r"[\w)\]}'\"]$", re.A)  # a + or - after this is binary
WORD = re.compile(r"\w+", re.A)
SHAPE = str.maketrans("_" + string.ascii_letters + string.digits, "a" * 53 + "0" * 10)
_KINDS = re.compile(r"(a)[a0]*|0+(a)[a0]*|0+")  # in a shape: a name, an exponent, a number
_CODE_SPECIAL = re.compile(r"\"\"\"|'''|[\"'#()\[\]{}]|\\$")
_STRING_END = {q: re.compile(r"\\.|" + q) for q in ('"', "'", '"""', "'''")}


def _scan(line: str, quote: str, depth: int) -> tuple[str, int, bool]:
    """Open string quote, bracket depth and backslash continuation after ``line``."""
    pos = 0
    while True:
        if quote:
            match = _STRING_END[quote].search(line, pos)
            if match is None:
                return quote, depth, False  # the string goes on in the next line
            if match.group()[0] != "\\":
                quote = ""
            pos = match.end()
            continue
        match = _CODE_SPECIAL.search(line, pos)
        if match is None or match.group() == "#":
            return "", depth, False
        found = match.group()
        if found == "\\":
            return "", depth, True
        if found in "([{":
            depth += 1
        elif found in ")]}":
            depth -= 1
        else:
            quote = found
        pos = match.end()


def line_kinds(lines: list[str]) -> list[int]:
    """Per line: 1 a simple statement, 2 a comment line, 0 anything else (for black itself)."""
    kinds = []
    quote, depth, continued = "", 0, False
    for line in lines:
        if not (quote or depth or continued):  # the line starts a logical line
            match = SIMPLE.fullmatch(line)
            code = match and match.group(2)
            if code and not _UNSAFE.search(code) and _balanced(code):
                kinds.append(1)
                continue
            if _COMMENT_LINE.fullmatch(line):
                kinds.append(2)
                continue
        kinds.append(0)
        quote, depth, continued = _scan(line, quote, depth)
    return kinds


def _balanced(code: str) -> bool:
    return all(code.count(a) == code.count(b) for a, b in ("()", "[]", "{}"))


def simple_runs(lines: list[str], kinds: list[int]) -> list[tuple[int, int]]:
    """Maximal runs of simple lines at one indentation, from a statement to a statement."""
    runs, i = [], 0
    while i < len(lines):
        if kinds[i] != 1:
            i += 1
            continue
        indent, j, end = indent_of(lines[i]), i + 1, i + 1
        while j < len(lines) and kinds[j] and indent_of(lines[j]) == indent:
            end = j + 1 if kinds[j] == 1 else end
            j += 1
        runs.append((i, end))
        i = end
    return runs


def indent_of(line: str) -> int:
    """The number of spaces a line starts with."""
    return len(line) - len(line.lstrip(" "))


def interleave(parts: list[str], words: list[str]) -> str:
    """``parts[0] + words[0] + parts[1] + ...``: a shape's black output with a line's words."""
    pieces = [""] * (2 * len(words) + 1)
    pieces[::2] = parts
    pieces[1::2] = words
    return "".join(pieces)


def signature(item: str) -> str:
    """An item's shape up to lengths (names, numbers, numbers with an exponent): black's spacing
    inside an item depends on no more than that."""
    return _KINDS.sub(lambda m: "a" if m[1] else "e" if m[2] else "0", item.translate(SHAPE))


@dataclass(frozen=True)
class Reduction:
    """A statement with a long comma list or sum, and the same with its middle items cut out."""

    short: str
    items: list[str]  # every item of the list, in order (a sum's items carry their + or -)
    head: int  # items kept at the start
    tail: int  # items kept at the end
    words_before: int  # words of the statement before the first item
    commas: bool  # a comma list, else a sum


def cut_down(statement: str, line_length: int) -> Reduction | None:
    """The statement's longest comma list or sum cut down to its ends, when that is safe.

    Each end is longer than a line and every middle item has the shape (up to lengths) of a
    kept item, so whatever black decides from lengths, bracket and delimiter kinds, or counts
    of one and of more than one, is decided the same on the short statement.
    """
    code_end = SIMPLE.fullmatch(statement).end(2)
    tokens = list(_TOKENS.finditer(statement, statement.index(" = ") + 3, code_end))
    regions, stack = [], [(-1, [], [])]  # (opening token, commas, binary + and -)
    for i in range(len(tokens)):
        text = tokens[i].group(1)
        if text in "([{":
            stack.append((i, [], []))
        elif text in ")]}":
            regions.append((*stack.pop(), i))
        elif text == ",":
            stack[-1][1].append(i)
        elif text in "+-" and i and _OPERAND_END.search(tokens[i - 1].group(1)):
            stack[-1][2].append(i)
    regions.append((-1, [], stack[0][2], len(tokens)))  # the right-hand side: sums only
    best = None
    for opening, commas, signs, closing in regions:
        if commas and commas[-1] == closing - 1:
            continue  # a trailing comma: black keeps such a list exploded anyway
        delimiters = commas or signs
        if delimiters and (best is None or len(delimiters) > len(best[1])):
            best = (opening, delimiters, closing, bool(commas))
    if best is None:
        return None
    opening, delimiters, closing, commas = best
    starts = [opening + 1] + [d + 1 if commas else d for d in delimiters]
    ends = [d - 1 for d in delimiters] + [closing - 1]
    spans = [(tokens[a].start(1), tokens[b].end(1)) for a, b in zip(starts, ends)]
    items = [statement[a:b] for a, b in spans]
    sizes = [len(item) - item.count(" ") for item in items]
    # How many items from either end it takes to be longer than a line.
    head = bisect.bisect_right(list(accumulate(sizes)), line_length) + 1
    tail = bisect.bisect_right(list(accumulate(reversed(sizes))), line_length) + 1
    if head < 2 or tail < 2 or head + tail >= len(items) or not all(map(WORD.search, items)):
        return None
    # Kept items that black writes as middle items are: (sums) all but the first, each line
    # starting with its sign; (lists) all but the last, each line ending with a comma.
    interior = items[int(not commas) : head] + items[-tail : len(items) - commas]
    known = {signature(item) for item in interior}
    if any(signature(item) not in known for item in items[head:-tail]):
        return None
    short = statement[: spans[head][0]] + statement[spans[-tail][0] :]
    words_before = len(WORD.findall(statement, 0, spans[0][0]))
    return Reduction(short, items, head, tail, words_before, commas)

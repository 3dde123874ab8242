"""Black's exact output for a generated module, in time linear in the module's size.

Black costs about 0.2 ms per output line, and the unit-level module of a 10,000-parameter net has
~10^5 of them. But such a module is mostly runs of one-line statements of a few shapes
(``w7 = _params["w7"]``, ``net_h3 = w9*i1 + ... + b_h3``), and black formats one logical line at
a time: what it does to a line depends on the line's depth and on its tokens' kinds and lengths,
never on the letters of a name or the digits of a number. So black runs on

- the *skeleton*: the module with each run of simple statements and comments at one indentation
  replaced by one stub assignment; blank lines and everything that is not simple stay black's own;
- one statement per *shape* and depth (the shape maps letters to ``a`` and digits to ``0``):
  every other statement of that shape takes its output with its own words put back in place;
- of a long comma list or sum, only the first and last items, each end longer than a line, so that
  every length test black makes is decided inside them; each middle item is written like a kept
  item of the same shape.

:mod:`codegen.pylines` says which lines are simple and what their shapes are. The result is
byte-identical to ``black.format_str`` (tests/test_codegen_format.py compares the two); a module
this does not recognise goes to plain black whole.
"""

from __future__ import annotations

import ast
import re

import black

from symbackprop.codegen import pylines
from symbackprop.codegen.pylines import WORD, Reduction

_STUB = "_sbp_stub_"


class _Unexpected(Exception):
    """Black did something this module does not model: format the whole module with black."""


def format_module(source: str, mode: black.Mode) -> str:
    """``black.format_str(source, mode=mode)``, computed in time linear in the module's size."""
    try:
        return _Formatter(mode).format(source)
    except (MemoryError, RecursionError):
        raise  # black alone would need more of the same: give up (the CLI's exit 5 or 1)
    except Exception:  # noqa: BLE001 - anything unexpected (or invalid source): black decides
        # The time limit (deadline.TimeLimitExpired) is a BaseException and passes through.
        return black.format_str(source, mode=mode)


class _Formatter:
    """One module's formatting: black's mode and the outputs of the shapes seen so far."""

    def __init__(self, mode: black.Mode) -> None:
        self.mode = mode
        self.shapes: dict[tuple[int, str], list[str] | None] = {}

    def format(self, source: str) -> str:
        mode = self.mode
        if mode.preview or mode.unstable or mode.enabled_features or mode.is_pyi or mode.is_ipynb:
            raise _Unexpected("only black's stable style is modelled")
        if mode.skip_source_first_line or not mode.magic_trailing_comma:
            raise _Unexpected("only black's stable style is modelled")
        if any(c in source for c in "\t\r\f\v\0") or re.search(f"fmt:|yapf:|{_STUB}", source):
            raise _Unexpected("tabs, form feeds, fmt directives or stub names")
        lines = source.split("\n")
        kinds = pylines.line_kinds(lines)
        runs = pylines.simple_runs(lines, kinds)
        skeleton, previous = [], 0
        for k, (start, end) in enumerate(runs):
            skeleton += lines[previous:start]
            skeleton.append(" " * pylines.indent_of(lines[start]) + f"{_STUB}{k} = 0")
            previous = end
        skeleton += lines[previous:]
        formatted = black.format_str("\n".join(skeleton), mode=self.mode)
        out = formatted.split("\n")
        for index, k, depth in self._stubs(formatted, len(runs)):
            start, end = runs[k]
            pad = "    " * depth  # comment lines: black only re-indents them
            out[index] = "\n".join(
                self.statement(line.lstrip(" "), depth) if kind == 1 else pad + line.lstrip(" ")
                for line, kind in zip(lines[start:end], kinds[start:end])
            )
        return "\n".join(out)

    @staticmethod
    def _stubs(formatted: str, count: int) -> list[tuple[int, int, int]]:
        """(line index, run, depth) of each stub, checked to be a whole line and a statement
        (not text in a string that a wrong guess of where strings end took for code)."""
        lines, found = formatted.split("\n"), []
        for node in ast.walk(ast.parse(formatted)):
            name = getattr(node, "targets", [None])[0]
            if isinstance(name, ast.Name) and name.id.startswith(_STUB):
                k, index, column = int(name.id[len(_STUB) :]), node.lineno - 1, node.col_offset
                if lines[index] != " " * column + f"{_STUB}{k} = 0" or column % 4:
                    raise _Unexpected("a stub is not a line of its own")
                found.append((index, k, column // 4))
        if sorted(k for _, k, _ in found) != list(range(count)):
            raise _Unexpected("a stub is missing")
        return found

    def statement(self, statement: str, depth: int) -> str:
        """Black's output for one simple statement at ``depth``, from the memo of its shape."""
        key = (depth, statement.translate(pylines.SHAPE))
        parts = self.shapes.get(key, ())
        words = WORD.findall(statement)
        if parts == ():
            text = self._fresh(statement, depth)
            # Black keeps every word; if it ever did not, this shape goes to black each time.
            parts = WORD.split(text) if WORD.findall(text) == words else None
            self.shapes[key] = parts
            return text
        if parts is None:
            return self._fresh(statement, depth)
        return pylines.interleave(parts, words)

    def _fresh(self, statement: str, depth: int) -> str:
        reduction = pylines.cut_down(statement, self.mode.line_length)
        if reduction is not None:
            text = self._expand(reduction, depth)
            if text is not None:
                return text
        return self._black(statement, depth)

    def _black(self, statement: str, depth: int) -> str:
        head = ["    " * i + "if x:" for i in range(depth)]
        source = "\n".join(head + ["    " * depth + statement, ""])
        # The Python versions black infers from this snippet may differ from the module's, but
        # they change only trailing commas after unpacking, which simple statements exclude.
        lines = black.format_str(source, mode=self.mode).split("\n")
        if lines[:depth] != head or lines[-1]:
            raise _Unexpected(f"black moved the statement {statement[:60]!r}")
        return "\n".join(lines[depth:-1])

    def _expand(self, reduction: Reduction, depth: int) -> str | None:
        """The long statement's output: the short one's, with the middle items' lines put in."""
        lines = self.statement(reduction.short, depth).split("\n")
        line_of_words, first = {}, 0
        for index, line in enumerate(lines):
            count = len(WORD.findall(line))
            line_of_words[first, first + count] = index
            first += count
        items, head, tail = reduction.items, reduction.head, reduction.tail
        kept = items[:head] + items[-tail:]
        rows, first = [], reduction.words_before
        for item in kept:
            count = len(WORD.findall(item))
            rows.append(line_of_words.get((first, first + count)))
            first += count
        # Each kept item alone on its line, one after the other, all at one indentation: the
        # list was split at every delimiter, and middle items go between the two ends.
        if None in rows or rows != list(range(rows[0], rows[0] + len(kept))):
            return None
        if len({pylines.indent_of(lines[row]) for row in rows}) != 1:
            return None
        interior = range(int(not reduction.commas), len(kept) - reduction.commas)
        templates = {}
        for j in interior:
            templates.setdefault(pylines.signature(kept[j]), WORD.split(lines[rows[j]]))
        middle = []
        for item in items[head:-tail]:
            line = pylines.interleave(templates[pylines.signature(item)], WORD.findall(item))
            if len(line) > self.mode.line_length:
                return None  # black would split this item further
            middle.append(line)
        cut = rows[head - 1] + 1
        return "\n".join(lines[:cut] + middle + lines[cut:])

"""Macros a student defines in a LaTeX document, expanded before its claims are read.

Read (anywhere in the document, in order; a later definition of a name replaces an earlier
one, and a claim sees the definitions made before it):

- ``\\newcommand{\\dd}[2]{\\frac{\\partial #1}{\\partial #2}}`` (also ``\\newcommand\\dd``,
  ``\\renewcommand``, ``\\providecommand`` and the starred forms), with up to nine arguments
  ``#1``..``#9`` and one optional first argument with its default
  (``\\newcommand{\\w}[2][l]{w^{#1}_{#2}}``: ``\\w{jk}`` is ``w^{l}_{jk}``, ``\\w[2]{jk}``
  ``w^{2}_{jk}``);
- ``\\def\\x{...}`` and ``\\def\\f#1#2{...}`` (undelimited parameters only);
- ``\\DeclareMathOperator{\\sigm}{sigm}``: ``\\sigm`` is ``\\operatorname{sigm}`` (the claims
  reader takes that as the word ``sigm``).

Expansion is bounded: at most ``MAX_EXPANSIONS`` macro calls per claim and ``MAX_OUTPUT``
characters of growth, so a recursive macro (``\\def\\a{\\a\\a}``) is a :class:`MacroError` (the
claim is unreadable with that message) in milliseconds, never a hang; reading the definitions is
linear in the text (at most ``MAX_DEFINITIONS`` of them).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

MAX_EXPANSIONS = 2_000  # macro calls expanded in one claim
MAX_OUTPUT = 20_000  # characters of one expanded claim
MAX_DEFINITIONS = 10_000


class MacroError(Exception):
    """A definition or a call that cannot be expanded (the message says why)."""


class _Unclosed(MacroError):
    """A brace never closed: every later definition is inside it, so reading stops."""


@dataclass(frozen=True)
class Macro:
    name: str  # without the backslash
    nargs: int
    default: str | None  # the optional first argument's default; None: no optional argument
    body: str


_NEW_RE = re.compile(r"\\(?:re)?newcommand\*?|\\providecommand\*?")
_DEF_RE = re.compile(r"\\[egx]?def(?![A-Za-z])")
_OP_RE = re.compile(r"\\DeclareMathOperator(\*?)")
_START_RE = re.compile(_NEW_RE.pattern + "|" + _DEF_RE.pattern + "|" + _OP_RE.pattern)
_CS_RE = re.compile(r"\s*(?:\{\s*\\([A-Za-z]+|.)\s*\}|\\([A-Za-z]+|.))")


def _closing(text: str, i: int, closer: str) -> int | None:
    """Where ``closer`` (``}`` or ``]``) closes the group that starts at ``i``: the first one
    outside nested braces (escaped characters skipped); None when it never does."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == closer and depth == 0:
            return i
        depth += (c == "{") - (c == "}")
        i += 1
    return None


def _group(text: str, pos: int) -> tuple[str, int]:
    """The braced group at ``pos`` (white space before it skipped): its inside and the end."""
    m = re.compile(r"\s*\{").match(text, pos)
    if m is None:
        raise MacroError("a definition needs its body in braces")
    end = _closing(text, m.end(), "}")
    if end is None:
        raise _Unclosed("a definition's braces are not closed")
    return text[m.end() : end], end + 1


def _one(text: str, pos: int, what: str) -> tuple[str, int]:
    """One macro argument at ``pos``: a braced group, a control word or one character."""
    m = re.compile(r"\s*").match(text, pos)
    pos = m.end()
    if pos >= len(text):
        raise MacroError(f"{what} is missing an argument")
    if text[pos] == "{":
        return _group(text, pos)
    cs = re.compile(r"\\(?:[A-Za-z]+|.)").match(text, pos)
    if cs:
        return cs.group(), cs.end()
    if text[pos] == "}":
        raise MacroError(f"{what} is missing an argument")
    return text[pos], pos + 1


def _bracket(text: str, pos: int) -> tuple[str | None, int]:
    """``[...]`` at ``pos`` (brackets inside braces allowed): its inside, or None."""
    m = re.compile(r"\s*\[").match(text, pos)
    if m is None:
        return None, pos
    end = _closing(text, m.end(), "]")
    if end is None:
        raise MacroError("an optional argument's '[' is not closed")
    return text[m.end() : end], end + 1


def _definition(text: str, m: re.Match) -> tuple[Macro, int]:
    """The definition starting at the match ``m``, and where it ends."""
    head = m.group()
    cs = _CS_RE.match(text, m.end())
    if cs is None:
        raise MacroError(f"{head} needs the name of the command it defines")
    name = cs.group(1) or cs.group(2)
    pos = cs.end()
    if _OP_RE.fullmatch(head):
        word, end = _group(text, pos)
        return Macro(name, 0, None, f"\\operatorname{{{word}}}"), end
    if _DEF_RE.fullmatch(head):  # \def\f#1#2{...}
        params = re.compile(r"(?:#[1-9])*").match(text, pos)
        marks = re.findall(r"#([1-9])", params.group())
        if marks != [str(i) for i in range(1, len(marks) + 1)]:
            raise MacroError(f"\\def\\{name}: parameters must be #1#2... in order")
        body, end = _group(text, params.end())
        return Macro(name, len(marks), None, body), end
    count, pos = _bracket(text, pos)
    nargs = 0
    if count is not None:
        if not re.fullmatch(r"\s*[0-9]\s*", count):
            raise MacroError(f"\\{name}: the number of arguments must be 0 to 9")
        nargs = int(count)
    default, pos = _bracket(text, pos) if nargs else (None, pos)
    body, end = _group(text, pos)
    return Macro(name, nargs, default, body), end


class Macros:
    """The definitions of one document, each with the offset where it takes effect."""

    def __init__(self) -> None:
        self._at: list[int] = []
        self._defs: list[Macro] = []
        self._seen: tuple[int, dict] = (0, {})  # the last visible() (claims come in order)

    def __bool__(self) -> bool:
        return bool(self._defs)

    def visible(self, pos: int) -> dict[str, Macro]:
        """The macros defined before offset ``pos`` (a later definition wins)."""
        upto = bisect_right(self._at, pos)
        last, found = self._seen
        if upto < last:
            last, found = 0, {}
        found = {**found, **{d.name: d for d in self._defs[last:upto]}}
        self._seen = (upto, found)
        return found

    def expand(self, text: str, pos: int) -> str:
        """``text`` (a claim found at ``pos``) with the macros defined before it expanded."""
        macros = self.visible(pos)
        return expand(text, macros) if macros else text


def collect(text: str) -> tuple[Macros, str]:
    """The definitions in ``text`` (TeX comments already blanked) and ``text`` with each
    definition replaced by spaces (newlines kept: offsets and line numbers stay)."""
    found = Macros()
    out: list[str] = []
    last = 0
    pos = 0
    while m := _START_RE.search(text, pos):
        try:
            macro, end = _definition(text, m)
        except _Unclosed:
            break  # the rest of the text is inside that brace: no scan over it again
        except MacroError:
            pos = m.end()  # not a definition we read: left as it is
            continue
        if len(found._defs) >= MAX_DEFINITIONS:
            raise MacroError(f"more than {MAX_DEFINITIONS} macro definitions")
        found._at.append(end)
        found._defs.append(macro)
        out.append(text[last : m.start()])
        out.append(re.sub(r"[^\n]", " ", text[m.start() : end]))
        last = pos = end
    out.append(text[last:])
    return found, "".join(out)


def expand(text: str, macros: dict[str, Macro]) -> str:
    """``text`` with every call of ``macros`` expanded (results rescanned), bounded by
    ``MAX_EXPANSIONS`` calls and ``MAX_OUTPUT`` characters."""
    if not macros:
        return text
    call = re.compile(r"\\([A-Za-z]+|[^A-Za-z\s])")
    limit = len(text) + MAX_OUTPUT
    calls = 0
    pos = 0
    while m := call.search(text, pos):
        macro = macros.get(m.group(1))
        if macro is None:
            pos = m.end()
            continue
        calls += 1
        if calls > MAX_EXPANSIONS:
            raise MacroError(
                f"\\{macro.name} expands more than {MAX_EXPANSIONS} times (a recursive macro?)"
            )
        args: list[str] = []
        end = m.end()
        what = f"\\{macro.name}"
        if macro.default is not None:
            given, end = _bracket(text, end)
            args.append(macro.default if given is None else given)
        while len(args) < macro.nargs:
            arg, end = _one(text, end, what)
            args.append(arg)
        body = _substitute(macro.body, args, what)
        if re.fullmatch(r"[A-Za-z]", text[end : end + 1]) and re.search(r"\\[A-Za-z]+$", body):
            body += " "  # \x ends in a control word: the letter after it stays separate
        text = text[: m.start()] + body + text[end:]
        if len(text) > limit:
            raise MacroError(
                f"\\{macro.name} expands to more than {MAX_OUTPUT} characters (a recursive "
                "macro?)"
            )
        pos = m.start()  # the result is read again: macros in it expand too
    return text


def _substitute(body: str, args: list[str], what: str) -> str:
    """``body`` with ``#1``..``#9`` replaced by the arguments and ``##`` by ``#``."""

    def one(m: re.Match) -> str:
        if m.group() == "##":
            return "#"
        i = int(m.group(1))
        if i > len(args):
            raise MacroError(f"{what} uses #{i} but takes {len(args)} arguments")
        return args[i - 1]

    return re.sub(r"##|#([1-9])", one, body)

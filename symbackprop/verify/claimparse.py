"""Parse hand-written derivation claims (LaTeX as on the slides, or plain math) into data.

A claims text has one claim per line; blank lines and lines starting with ``#`` or ``%`` are
skipped; ``[label]`` may prefix a claim. A claim is a chain ``A = B = C ...`` (>= 2 sides). A
line holding a backslash or ``{`` is LaTeX, any other line plain math. Nothing is evaluated:
a tokenizer (one regex pass, columns kept) feeds lark's LALR parser (``claims.lark``), whose
callbacks run at each reduction, so no input reaches Python's recursion limit.

Data model (frozen dataclasses): ``Claim(line, label, text, syntax, sides)``; nodes ``Num(value,
digits, decimals)`` (exact Rational; significant digits and digits after the point as printed,
for tolerances), ``Name(base, sub, sup)`` (as written: ``\\delta_{o1}`` -> ``delta``/``o1``;
plain ``delta_o1`` the same; ``w5`` stays ``w5``), ``Partial``, ``Call(func, arg, prime)``,
n-ary ``Add``/``Mul``/``Hadamard``, ``Neg``, ``Div``, ``Pow``, ``Sum(index, body, over, lower,
upper)``, ``Transpose``.

Parsing rules (resolver-independent, so a claim parses the same for every network):
- Claims are ASCII. Pasted math characters are read as what they stand for (U+2212 minus and an
  en dash as ``-``; ``×``, ``·``, ``⋅`` as ``*``; ``′`` as ``'``; a byte-order mark and
  non-breaking or thin spaces as a space); any other non-ASCII character is refused at its column.
- Calls are only ``\\sigma \\exp \\log \\ln \\tanh`` and the words ``sigmoid sigma exp log ln
  tanh relu f g`` (``'`` = derivative) followed by ``(``; so ``y_j(1-y_j)`` is a product.
- A letter run is one name (``out_{h1}``, ``net``; write ``a b`` for a product). In LaTeX an
  unbraced ``_`` takes one character (``w_5``, ``y_jy_k``); plain ``delta_o1`` splits at ``_``.
- ``^T``, ``^{T}``, ``^\\top`` is a transpose. On a name, ``^`` of ``+``, ``*``, 1-3 letters
  (optionally ``+-n``), digits or ``(n)`` is a superscript (``w^{l+1}_{kj}``, ``w_5^+``, ``a^2_1``);
  any other exponent is a power. An unbraced exponent is one token: ``x^23`` is ``x^{23}``.
- ``\\sum`` takes the rest of its product as body (``\\sum_k w_{jk}\\delta_k + b`` ends at ``+``);
  ``\\odot`` splits a product into operands; ``a/b c`` is ``(a/b) c``.
- ``\\log L`` (a capital letter, no parenthesis) is the one name ``logL`` (Jacobs' log-likelihood).
- ``\\nabla_a C`` is ``\\frac{\\partial C}{\\partial a^L}`` (Nielsen's ∇_a C).
- ``\\hat m``, ``\\hat{m}``, ``\\widehat{v}`` are the names ``hat:m``, ``hat:v`` (Adam's
  bias-corrected moments), scripts after them as on any name.
- ``dX/dY`` is grouped tightly (same value either way); ``\\partial`` only inside
  ``\\frac{\\partial A}{\\partial B}`` or as ``\\partial A/\\partial B`` (the same);
  ``\\nabla_{w_{ij}} E`` is ``\\frac{\\partial E}{\\partial w_{ij}}``; plain ``name+`` (updated
  weight) only starts a claim; ``%`` starts a TeX comment in a LaTeX line.
Conversion rules (``to_sympy``, they ask the resolver): ``e^{x}`` is ``exp`` only when ``e`` is not
a declared name; ``dE/dw5`` is a partial derivative unless ``dE`` or ``dw5`` is declared (the
declared name wins); a digit superscript no symbol carries (``out_{h1}^2``) is a power. In scripts,
a word of <= 3 characters whose letters are all lowercase index letters (``resolver.is_index`` or
bound by a ``\\sum``) is indices: ``W_{jk}``, ``w_{k1}``; ``o1``, ``total``, ``5`` are literal.
``free_indices(claim, resolver)`` lists the unbound ones; the caller binds them per unit.

Limits (``InvalidInput``, exit 2, each failing in milliseconds): 1 MB of text, 10,000 characters
a line, bracket depth 100 (scanned before parsing), node depth 200, 30 digits a number, numeric
exponents |e| <= 64, exponents nested at most 2 deep (``9^{9^{9^9}}``), exact powers <= 20,000
bits. ``to_sympy`` raises ``ResourceLimit`` beyond 50,000 node conversions (nested sums).
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import lru_cache, reduce
from pathlib import Path
from typing import NamedTuple, Protocol, Union, get_args

import sympy
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput
from lark.lexer import Lexer
from sympy.matrices.exceptions import ShapeError

from symbackprop.errors import InvalidInput, ResourceLimit

MAX_TEXT = 1_000_000  # characters of claims text
MAX_LINE = 10_000
MAX_NESTING = 100  # bracket depth, checked by a linear scan before anything else
MAX_NODE_DEPTH = 200  # node depth (a/b/c/... chains nest without brackets)
MAX_DIGITS = 30
MAX_EXPONENT = 64
MAX_POWER_BITS = 20_000  # an exact numeric power larger than this is refused before computing
MAX_EXPANDED = 50_000  # node conversions per to_sympy call: bounds nested \sum expansion
MAX_TOWER = 2  # exponent inside exponent: e^{x^2} passes, 9^{9^{9^9}} does not


@dataclass(frozen=True)
class Num:
    value: sympy.Rational
    digits: int  # significant digits as printed: 0.0009954255 -> 7, 0.40 -> 2
    decimals: int  # digits after the point: 0.0009954255 -> 10


@dataclass(frozen=True)
class Name:
    base: str
    sub: str | None = None  # script text without spaces: "o1", "kj", "l+1", "i,j"
    sup: str | None = None


@dataclass(frozen=True)
class Partial:
    of: Node
    wrt: Node


@dataclass(frozen=True)
class Call:
    func: str  # normalised: sigma, exp, log, tanh, relu, f, g
    arg: Node
    prime: bool = False


@dataclass(frozen=True)
class Add:
    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Mul:
    factors: tuple[Node, ...]


@dataclass(frozen=True)
class Neg:
    arg: Node


@dataclass(frozen=True)
class Div:
    num: Node
    den: Node


@dataclass(frozen=True)
class Pow:
    base: Node
    exp: Node


@dataclass(frozen=True)
class Sum:
    index: str
    body: Node
    over: str | None = None  # \sum_{k \in K}
    lower: str | None = None  # \sum_{k=1}^{4}
    upper: str | None = None


@dataclass(frozen=True)
class Hadamard:
    factors: tuple[Node, ...]


@dataclass(frozen=True)
class Transpose:
    arg: Node


Node = Union[Num, Name, Partial, Call, Add, Mul, Neg, Div, Pow, Sum, Hadamard, Transpose]
NODE_TYPES = get_args(Node)


def map_children(node: Node, fn: Callable[[Node], Node]) -> Node:
    """``node`` with ``fn`` applied to each node below it (fields holding a node or a tuple of
    nodes); a product left with one factor is that factor."""
    changes = {}
    for name, value in vars(node).items():
        if isinstance(value, tuple):
            changes[name] = tuple(fn(v) for v in value)
        elif isinstance(value, NODE_TYPES):
            changes[name] = fn(value)
    if isinstance(node, Mul) and len(changes.get("factors", (1, 1))) == 1:
        return changes["factors"][0]
    return replace(node, **changes) if changes else node


@dataclass(frozen=True)
class Claim:
    line: int
    label: str | None
    text: str
    syntax: str  # "latex" or "plain"
    sides: tuple[Node, ...]
    relations: tuple[str, ...] = ()  # per link: "=", "<", "<=", ">", ">=" (empty: all "=")


class Resolver(Protocol):
    """What a network tells ``to_sympy``; anything unknown raises ``InvalidInput``.

    ``symbol``: a written name with bound index letters substituted (``W_{jk}``, j=3, k=5 ->
    ``("W", "35", None)``; ``w_5^+`` -> ``("w", "5", "+")``; plain ``w5`` -> ``("w5", None,
    None)``).
    ``partial``: the network's derivative of ``of`` with respect to ``wrt``.
    ``function``: ``sigma exp log tanh relu f g`` (``f``/``g``: the activation); ``prime`` asks
    for the derivative. ``is_index``: is this lowercase letter an index variable (j, k; not o)?
    ``index_range``: the values (script text) a summation index takes in ``where``, whose
    ``over``/``lower``/``upper`` hold ``\\sum_{k \\in K}`` / ``\\sum_{k=1}^{K}``; ``bindings``
    are the enclosing ones (e.g. the layer ``l``).
    """

    def symbol(self, base: str, sub: str | None, sup: str | None) -> sympy.Expr: ...

    def partial(self, of: sympy.Expr, wrt: sympy.Expr) -> sympy.Expr: ...

    def function(self, name: str, arg: sympy.Expr, prime: bool) -> sympy.Expr: ...

    def is_index(self, letter: str) -> bool: ...

    def index_range(self, index: str, where: Sum, bindings: Mapping[str, str]) -> Sequence[str]: ...


# ---------------------------------------------------------------------------------- tokenizer
class _Error(Exception):
    def __init__(self, col: int | None, message: str, hint: str | None = None):
        super().__init__(message)
        self.col, self.message, self.hint = col, message, hint


class _Parsed(Exception):  # noqa: N818 - a control-flow signal, not an error
    def __init__(self, sides: tuple):
        super().__init__()
        self.sides = sides


class _Tok(Token):
    __slots__ = ("payload",)  # the Num, Name, (func, prime) or \sum limits behind the token


_GREEK = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu "
    "xi pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
    "Phi Psi Omega".split()
)
_MUST_CALL = {"\\exp": "exp", "\\log": "log", "\\ln": "log", "\\tanh": "tanh"}
_FUNCS = {"sigmoid": "sigma", "sigma": "sigma", "relu": "relu", "f": "f", "g": "g", **_MUST_CALL}
_FUNCS.update({k[1:]: v for k, v in _MUST_CALL.items()}, **{"\\sigma": "sigma"})


def _function_words() -> dict[str, str]:
    """The callable words: the fixed ones, and every registry activation's claim names (a
    spec's own activation included), normalised to the registry name."""
    from symbackprop.rules.registry import claim_words

    return {**claim_words(), **_FUNCS}


_FONTS = frozenset("text mathrm operatorname mathbf mathit mathsf mathcal boldsymbol bm".split())
_CMDS = dict.fromkeys(["\\frac", "\\dfrac", "\\tfrac"], "_FRAC")
_CMDS.update({"\\partial": "_PARTIAL", "\\odot": "ODOT", "\\sum": "SUM"})
_CMDS.update(dict.fromkeys(["\\times", "\\cdot", "\\ast"], "TIMES"))
_CMDS.update(
    dict.fromkeys("\\left \\right \\big \\Big \\bigl \\bigr \\Bigl \\Bigr \\limits".split(), "")
)
_OPS = {"+": "PLUS", "-": "MINUS", "*": "TIMES", "/": "DIV", "=": "EQ", "^": "POW", "**": "POW"}
_OPS.update({"<": "REL", ">": "REL", "<=": "REL", ">=": "REL"})
RELATIONS = {"\\lt": "<", "\\gt": ">", "\\le": "<=", "\\leq": "<=", "\\ge": ">=", "\\geq": ">="}
_PAIRS = {"(": ")", "[": "]", "\\{": "\\}", "{": "}"}
_LATEX_RE = re.compile(
    r"(?P<ws>[\s&$]+|\\[,;:! ]|\\q?quad\b)|(?P<cmd>\\[A-Za-z]+)|(?P<br>\\[{}]|[()\[\]{}])"
    r"|(?P<num>\d+\.?\d*|\.\d+)|(?P<word>[A-Za-z][A-Za-z0-9]*)|(?P<op>[<>]=?|[-+*/=^'])"
)
_PLAIN_RE = re.compile(
    r"(?P<ws>[\s$]+)|(?P<br>[()\[\]])|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|[<>]=?|[-+*/=^'])"
)
_SUP_RE = re.compile(r"[+*]|[A-Za-z]{1,3}(?:[+-]\d+)?|\d+|\(\d+\)")  # w^+ y^* w^{l+1} x^{(1)}
_SUB_RE = re.compile(r"[A-Za-z0-9+\-*,]+")
_SUM_RE = re.compile(r"([A-Za-z])(?:\\in([A-Za-z0-9]+)|=([A-Za-z0-9]+))?")
_CALL_RE = re.compile(r"\s*'?\s*(?:\\(?:left|bigl?|Bigl?)\s*)?\(")
# Plain math never puts a subscript after a superscript (a^2_1) nor a + or * alone in a
# superscript (w_5^+, y^*_1): such a line is LaTeX without a backslash or a brace.
_LATEXISH = re.compile(r"\^\s*[A-Za-z0-9]+\s*_|(?<=[A-Za-z0-9])\s*\^\s*[+*](?![\w(.])")
_LABEL_RE = re.compile(r"\s*\[([A-Za-z][\w.:-]*)\]\s*")


# Characters pasted from word processors and PDFs, each read as the one ASCII character it
# stands for (one for one, so columns in messages stay right); any other non-ASCII is refused.
_PASTED = {
    "\u2212": "-",  # MINUS SIGN
    "\u2013": "-",  # EN DASH, typed for a minus
    "\u00d7": "*",  # MULTIPLICATION SIGN
    "\u00b7": "*",  # MIDDLE DOT
    "\u22c5": "*",  # DOT OPERATOR
    "\u2217": "*",  # ASTERISK OPERATOR
    "\u00f7": "/",  # DIVISION SIGN
    "\u2215": "/",  # DIVISION SLASH
    "\u2032": "'",  # PRIME
    "\ufeff": " ",  # BYTE ORDER MARK (ZERO WIDTH NO-BREAK SPACE) left in the text
    **dict.fromkeys("\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f", " "),
}
_PASTED_TABLE = str.maketrans(_PASTED)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # tab is white space


def _ascii_line(line: str) -> str:
    """``line`` with pasted math characters made ASCII; ``_Error`` at the first other one."""
    line = line.translate(_PASTED_TABLE)
    if not line.isascii() or _CONTROL.search(line):
        # Refused by code point, never echoed: a raw ESC would reach the user's terminal.
        col, ch = next(
            (i, c) for i, c in enumerate(line, 1) if not c.isascii() or _CONTROL.match(c)
        )
        label = unicodedata.name(ch, "(a control character)")
        hint = (
            "claims are ASCII (LaTeX or plain math); the Unicode minus, times, dot, prime and "
            "non-breaking spaces are read as -, *, ' and space"
        )
        greek = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER ([A-Z]+)", label)
        if greek:
            word = greek.group(2).lower()
            hint = "write it in LaTeX: \\" + (word if greek.group(1) == "SMALL" else word.title())
        raise _Error(col, f"unexpected character U+{ord(ch):04X} {label}", hint)
    return line


def _number(text: str, col: int) -> Num:
    mant, _, exp10 = text.lower().partition("e")
    whole, _, frac = mant.partition(".")
    if len(whole + frac) > MAX_DIGITS:
        raise _Error(col, f"number '{text}' has more than {MAX_DIGITS} digits")
    shift = int(exp10 or 0)
    if abs(shift) > MAX_EXPONENT:
        raise _Error(col, f"exponent of '{text}' exceeds {MAX_EXPONENT}")
    value = sympy.Rational(int(whole + frac or "0"), 10 ** len(frac)) * sympy.Rational(10) ** shift
    return Num(value, max(len((whole + frac).lstrip("0")), 1), max(len(frac) - shift, 0))


def _script(line: str, pos: int) -> tuple[str | None, int]:
    """Argument of ``_``/``^`` at ``pos``: braced text (spaces dropped) or one char/command."""
    m = re.compile(r" *(?:\{([^{}]*)\}|(\\[A-Za-z]+|[A-Za-z0-9+*]))").match(line, pos)
    if m is None:  # nested braces are never a plain script: the grammar parses them
        return None, pos
    if m.group(2) is not None:
        return m.group(2), m.end()
    # w^{3}_{14\,1}, w_{14 1}: a space between two unit numbers separates them (w_{14,1})
    text = m.group(1)
    if not re.search(r"\\[A-Za-z]", text):  # not inside \sum_{k \in K}
        text = re.sub(r"(?<=[A-Za-z0-9])(?:\s|\\[,;:! ]|~)+(?=[A-Za-z0-9])", ",", text)
    return re.sub(r"\s+|\\[,;: !]|~", "", text), m.end()


def _tokens(line: str, pos: int, latex: bool) -> list[Token]:
    """Tokens of one claim from ``pos`` (after a label); brackets must pair up by kind."""
    out: list[Token] = []
    stack: list[tuple[str, int]] = []

    def emit(kind: str, text: str, col: int, payload: object = None) -> None:
        out.append(_Tok(kind, text, start_pos=col - 1, line=1, column=col))
        out[-1].payload = payload

    def name(base: str, pos: int, col: int) -> int:  # LaTeX name, scripts in either order
        sub = sup = None
        while m := re.compile(r" *([_^])").match(line, pos):
            arg, end = _script(line, m.end())
            if m.group(1) == "_" and sub is None:
                font = re.match(r" *\{?\\([A-Za-z]+)", line[m.end() :])
                if font and font.group(1) in _FONTS:
                    raise _Error(m.end() + 1, f"unknown symbol '{font.group(1)}'")
                if arg is None or not _SUB_RE.fullmatch(arg):
                    raise _Error(m.end() + 1, "unsupported subscript", "letters, digits, + - * ,")
                sub, pos = arg, end
            elif m.group(1) == "^" and sup is None and arg and _SUP_RE.fullmatch(arg):
                if arg == "T" or (base == "e" and sub is None):
                    break  # transpose or Euler's e: the main loop emits the operator
                sup, pos = arg, end
            else:
                break
        emit("NAME", line[col - 1 : pos], col, Name(base, sub, sup))
        return pos

    m = None if latex else re.compile(r"([A-Za-z]\w*)\+(?=\s*=)").match(line, pos)
    if m:  # plain `w5+ = ...`: the updated weight, only at the start of a claim
        base, _, sub = m.group(1).partition("_")
        emit("NAME", m.group(), pos + 1, Name(base, sub or None, "+"))
        pos = m.end()
    funcs = _function_words()
    while pos < len(line):
        m = (_LATEX_RE if latex else _PLAIN_RE).match(line, pos)
        col = pos + 1
        if m is None:
            raise _Error(col, f"unexpected '{line[pos]}'")
        kind, text, pos = m.lastgroup, m.group(), m.end()
        if kind == "ws" or _CMDS.get(text) == "":
            continue
        if text in funcs and _CALL_RE.match(line, pos):  # only these names can be called
            prime = line[pos:].lstrip().startswith("'")
            pos = line.index("'", pos) + 1 if prime else pos
            emit("FUNC", text, col, (funcs[text], prime))
        elif text == "\\sqrt" and re.compile(r" *\{").match(line, pos):
            emit("FUNC", text, col, ("sqrt", False))  # \sqrt{G}: the grammar reads the braces
        elif text in ("\\log", "\\ln") and (
            m := re.compile(r" *([A-Z])(?![A-Za-z(])").match(line, pos)
        ):
            pos = name("log" + m.group(1), m.end(), col)  # \log L: a log-likelihood, one name
        elif text in _MUST_CALL:
            raise _Error(col, f"{text} needs a parenthesised argument: {text}(x)")
        elif kind == "num":
            emit("NUMBER", text, col, _number(text, col))
        elif kind == "br" and text in _PAIRS:
            stack.append((text, col))
            emit("_LBRACE" if text == "{" else "_LPAR", text, col)
        elif kind == "br":
            if not stack or _PAIRS[stack.pop()[0]] != text:
                raise _Error(col, f"unmatched '{text}'")
            emit("_RBRACE" if text == "}" else "_RPAR", text, col)
        elif text == "\\sum":
            pos = _sum(line, pos, col, emit)
        elif text in _CMDS:
            emit(_CMDS[text], text, col)
        elif kind == "word" and not latex:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*", text):
                raise _Error(col, f"unknown symbol '{text}'", "names are letters, digits and _")
            base, _, sub = text.partition("_")
            emit("NAME", text, col, Name(base, sub or None))
        elif kind == "word" or text[1:] in _GREEK:
            pos = name(text.lstrip("\\"), pos, col)
        elif text == "\\nabla":
            pos = _nabla(line, pos, col, emit)
        elif text in ("\\hat", "\\widehat"):  # \hat m, \hat{m}_t, \widehat{v}: Adam's m̂, v̂
            m = _HAT_RE.match(line, pos)
            if m is None:
                raise _Error(col, f"unsupported {text}", f"write {text}{{m}} or {text} m")
            pos = name("hat:" + (m.group(1) or m.group(2)).lstrip("\\"), m.end(), col)
        elif text in RELATIONS:  # \le, \geq, \lt: a comparison between numbers
            emit("REL", RELATIONS[text], col)
        elif kind == "cmd" and text[1:] in _FONTS:
            raise _Error(col, f"unknown symbol '{text[1:]}'", "\\text-like commands unsupported")
        elif kind == "cmd":
            raise _Error(col, f"unknown command '{text}'")
        elif text == "'":
            raise _Error(col, 'unexpected "\'"', "a prime only follows \\sigma, f or g")
        elif text == "^" and _script(line, pos)[0] in ("T", "\\top"):
            pos = _script(line, pos)[1]
            emit("TRANSPOSE", line[col - 1 : pos], col)
        else:
            emit(_OPS[text], text, col)
    if stack:
        raise _Error(stack[-1][1], f"unclosed '{stack[-1][0]}'")
    return _slashed_partials(out)


_SLASHED = ("_PARTIAL", "NAME", "DIV", "_PARTIAL", "NAME")


def _slashed_partials(tokens: list[Token]) -> list[Token]:
    """``\\partial E/\\partial w_{ij}`` as the tokens of ``\\frac{\\partial E}{\\partial
    w_{ij}}`` (the same derivative, written inline)."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        window = tokens[i : i + len(_SLASHED)]
        if tuple(t.type for t in window) != _SLASHED:
            out.append(tokens[i])
            i += 1
            continue
        part, of, _div, part2, wrt = window

        def brace(kind: str, like: Token) -> Token:
            tok = _Tok(kind, str(like), start_pos=like.start_pos, line=1, column=like.column)
            tok.payload = None
            return tok

        out += [brace("_FRAC", part), brace("_LBRACE", part), part, of, brace("_RBRACE", of)]
        out += [brace("_LBRACE", part2), part2, wrt, brace("_RBRACE", wrt)]
        i += len(_SLASHED)
    return out


_HAT_RE = re.compile(r" *(?:\{ *(\\?[A-Za-z]+) *\}|([A-Za-z]|\\[A-Za-z]+))")
_NABLA_RE = re.compile(r" *_ *(?:\{ *a *(?:\^ *\{? *L *\}?)? *\}|a) *([A-Za-z])(?![A-Za-z0-9_^])")


_NABLA_W_RE = re.compile(  # \nabla_{w_{ij}} E, \nabla_w E: ∂E/∂w_ij, ∂E/∂w
    r" *_ *(?:\{ *([A-Za-z]+) *(?:_ *(\{[^{}]*\}|[A-Za-z0-9]))? *\}|([A-Za-z]))"
    r" *([A-Za-z]+)(?: *_ *(\{[^{}]*\}|[A-Za-z0-9]))?(?![A-Za-z0-9_^])"
)


def _plain_script(text: str | None) -> str | None:
    return None if text is None else re.sub(r"[{}\s~]|\\[,;: !]", "", text) or None


def _nabla(line: str, pos: int, col: int, emit: Callable[..., None]) -> int:
    """``\\nabla_a C`` (Nielsen's gradient of C in the output activations): the tokens of
    ``\\frac{\\partial C}{\\partial a^L}``, so it means what that means."""
    m = _NABLA_RE.match(line, pos)
    if m is None:
        m = _NABLA_W_RE.match(line, pos)
        if m is None:
            raise _Error(
                col, "unsupported \\nabla", "write \\nabla_a C or \\nabla_{w_{ij}} E (∂E/∂w_ij)"
            )
        wrt = Name(m.group(1) or m.group(3), _plain_script(m.group(2)))
        of = Name(m.group(4), _plain_script(m.group(5)))
    else:
        of, wrt = Name(m.group(1)), Name("a", None, "L")
    text = line[col - 1 : m.end()]
    kinds = ["_FRAC", "_LBRACE", "_PARTIAL", of, "_RBRACE", "_LBRACE", "_PARTIAL", wrt, "_RBRACE"]
    for kind in kinds:
        payload, kind = (kind, "NAME") if isinstance(kind, Name) else (None, kind)
        emit(kind, text, col, payload)
    return m.end()


def _sum(line: str, pos: int, col: int, emit: Callable[..., None]) -> int:
    sub = upper = None
    while m := re.compile(r" *([_^])").match(line, pos):
        arg, pos = _script(line, m.end())
        if arg is None or not re.fullmatch(r"[\\A-Za-z0-9=]+|t[+-][0-9]+", arg):
            raise _Error(m.end(), "unsupported \\sum limits", "write \\sum_k or \\sum_{k=1}^{K}")
        sub, upper = (arg, upper) if m.group(1) == "_" else (sub, arg)
    m = _SUM_RE.fullmatch(sub or "")
    if m is None:
        raise _Error(col, "\\sum needs an index", "\\sum_k, \\sum_{k \\in K} or \\sum_{k=1}^{K}")
    emit("SUM", line[col - 1 : pos], col, (m.group(1), m.group(2), m.group(3), upper))
    return pos


# ------------------------------------------------------------------------------------ parser
class _V(NamedTuple):  # a node on the parser stack, with its depth (checked as it grows)
    node: Node
    depth: int


def _mk(node: Node, *kids: _V) -> _V:
    depth = 1 + max((k.depth for k in kids), default=0)
    if depth > MAX_NODE_DEPTH:
        raise _Error(None, f"expression nested deeper than {MAX_NODE_DEPTH}")
    return _V(node, depth)


def _neg(v: _V) -> _V:  # --x is x, so '-' * 9999 + '4' stays shallow
    return _V(v.node.arg, v.depth - 1) if isinstance(v.node, Neg) else _mk(Neg(v.node), v)


def _group(vs: list[_V], cls: type) -> _V:
    return vs[0] if len(vs) == 1 else _mk(cls(tuple(v.node for v in vs)), *vs)


def _is_d(node: Node) -> bool:
    return isinstance(node, Name) and node.base[0] == "d" and len(node.base) > 1 and not node.sup


class _Build(Transformer):
    """Callbacks the LALR parser runs at each reduction: no tree is built, nothing recurses."""

    num = name = staticmethod(lambda c: _V(c[0].payload, 1))
    neg, pos = staticmethod(lambda c: _neg(c[1])), staticmethod(lambda c: c[1])
    frac = staticmethod(lambda c: _mk(Div(c[0].node, c[1].node), *c))
    partial = staticmethod(lambda c: _mk(Partial(c[0].node, c[1].node), *c))
    pow = staticmethod(lambda c: _mk(Pow(c[0].node, c[2].node), c[0], c[2]))
    transpose = staticmethod(lambda c: _mk(Transpose(c[0].node), c[0]))
    call = staticmethod(lambda c: _mk(Call(*c[0].payload[:1], c[1].node, c[0].payload[1]), c[1]))
    start = staticmethod(lambda c: tuple(v if isinstance(v, Token) else v.node for v in c))

    @staticmethod
    def factors(c: list) -> list:  # one accumulator of (operator, value), appended in place
        if len(c) == 1:
            return [(None, c[0])]
        c[0].append((c[1].type if len(c) == 3 else None, c[-1]))
        return c[0]

    @staticmethod
    def chain(c: list) -> _V:
        items = c[0] if isinstance(c[0], list) else []
        if len(c) > 1 and isinstance(c[-2], Token) and c[-2].type == "SUM":
            index, over, lower, upper = c[-2].payload
            op = c[-3].type if len(c) == 4 else None  # \times, / or \odot before the \sum
            items = items + [(op, _mk(Sum(index, c[-1].node, over, lower, upper), c[-1]))]
        operands: list[_V] = []
        run: list[_V] = []
        for op, v in items:  # left to right: a/b c is (a/b) c; \odot splits the operands
            if op == "DIV" and _is_d(run[-1].node) and _is_d(v.node):  # dE/dw5 stays one unit
                run[-1] = _mk(Div(run[-1].node, v.node), run[-1], v)
            elif op == "DIV":
                left = _group(run, Mul)
                run = [_mk(Div(left.node, v.node), left, v)]
            elif op == "ODOT":
                operands, run = operands + [_group(run, Mul)], [v]
            else:
                run.append(v)
        return _group(operands + [_group(run, Mul)], Hadamard)

    @staticmethod
    def add(c: list) -> _V:
        signs = [op.type for op in c[1::2]]
        terms = [_neg(v) if s == "MINUS" else v for s, v in zip(signs, c[2::2], strict=True)]
        return _group([c[0], *terms], Add)


class _ListLexer(Lexer):
    __future_interface__ = 2  # lark hands our token list to lex() untouched

    def __init__(self, conf: object) -> None:
        pass

    def lex(self, state, parser_state):  # noqa: ANN001, ANN201 - lark's interface
        yield from state.text


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = Path(__file__).with_name("claims.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer=_ListLexer, transformer=_Build(), strict=True)


_PRETTY = {
    "EQ": "'='",
    "REL": "a comparison",
    "_RPAR": "')'",
    "_RBRACE": "'}'",
    "_LBRACE": "'{'",
    "NAME": "a name",
}
_PRETTY.update(NUMBER="a number", _LPAR="'('", MINUS="'-'", _PARTIAL="'\\partial'")


def parse_claim_line(line: str, *, lineno: int = 1, source: str = "<claims>") -> Claim:
    """Parse one claim line; errors are ``InvalidInput`` naming source, line and column."""
    try:
        if len(line) > MAX_LINE:
            raise _Error(None, f"claim longer than {MAX_LINE} characters")
        line = _ascii_line(line)
        depth = 0
        for i, ch in enumerate(line):  # linear bracket-depth scan before any parsing
            depth += (ch in "([{") - (ch in ")]}")
            if depth > MAX_NESTING:
                raise _Error(i + 1, f"brackets nested deeper than {MAX_NESTING}")
        label = _LABEL_RE.match(line)
        start = label.end() if label else 0
        forced = "\\" in line or "{" in line
        latex = forced or bool(_LATEXISH.search(line, start))
        line = re.sub(r"(?<!\\)%.*", "", line) if latex else line  # a TeX comment ends the line
        try:
            try:
                sides = _parser().parse(_tokens(line, start, latex))
            except (UnexpectedInput, _Error) as first:
                syntax = isinstance(first, UnexpectedInput) or first.message.startswith("unexp")
                if forced or not syntax:  # a limit is the same in either syntax
                    raise
                # Decided by the whole claim: a line that only the other syntax reads is that.
                try:
                    sides = _parser().parse(_tokens(line, start, not latex))
                except (UnexpectedInput, _Error):
                    pass
                else:
                    latex = not latex
                    raise _Parsed(sides) from None
                raise
        except _Parsed as done:
            sides = done.sides
        except UnexpectedInput as exc:
            tok, expected = getattr(exc, "token", None), getattr(exc, "expected", ())
            if tok is None or tok.type == "$END":
                two = "EQ" in expected
                what = "a claim needs two sides: A = B" if two else "unexpected end of claim"
                raise _Error(len(line) + 1, what) from None
            hint = "expected " + ", ".join(sorted(_PRETTY.get(t, t.lower()) for t in expected))
            if "\\partial" in line:
                hint = (
                    "\\partial is only supported as \\frac{\\partial A}{\\partial B} or "
                    "\\partial A/\\partial B"
                )
            raise _Error(tok.column, f"unexpected '{tok}'", hint) from None
    except _Error as err:
        msg = f"col {err.col}: {err.message}" if err.col else err.message
        raise InvalidInput(msg, where=f"{source}:{lineno}", hint=err.hint) from None
    syntax = "latex" if latex else "plain"
    nodes = tuple(n for n in sides if not isinstance(n, Token))
    relations = tuple(str(t) if t.type == "REL" else "=" for t in sides if isinstance(t, Token))
    return Claim(
        lineno,
        label.group(1) if label else None,
        line.strip(),
        syntax,
        nodes,
        relations if any(r != "=" for r in relations) else (),
    )


def parse_claims(text: str, *, source: str = "<claims>") -> list[Claim]:
    """Parse a claims text: one claim per line, ``#``/``%`` comments and blank lines skipped."""
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"claims text larger than {MAX_TEXT} characters", where=source)
    lines = enumerate(text.splitlines(), start=1)
    return [
        parse_claim_line(line, lineno=lineno, source=source)
        for lineno, line in lines
        if (bare := line.translate(_PASTED_TABLE).strip()) and bare[0] not in "#%"
    ]


# ------------------------------------------------------------------------------- conversion
def _index_word(word: str, is_idx: Callable[[str], bool], labelled: bool = False) -> bool:
    # "kj", "k1" (seed 004's w_{k1}); "o1" only when o is an index letter; "total" never. With
    # labelled indices (Mazur: o stands for the labels o1, o2) a word with a digit is a label,
    # or labels and index letters mixed (w_{h1o}).
    return index_pieces(word, is_idx, labelled) is not None


def index_pieces(
    word: str, is_idx: Callable[[str], bool], labelled: bool = False
) -> list[tuple[str, bool]] | None:
    """The parts of an index word, each with whether it is an index letter; None for a word
    that is no index word (a label, a name). Mazur's ``h1o`` is the label h1 and the letter o."""
    letters = [c for c in word if not c.isdigit()]
    plain = bool(letters) and len(word) <= 3 and all(c.islower() and is_idx(c) for c in letters)
    if not labelled or len(letters) == len(word):
        return [(c, not c.isdigit()) for c in word] if plain else None
    parts = re.findall(r"[a-z]\d*", word)  # labels are a letter and digits: h1o is h1, o
    if "".join(parts) != word or len(parts) > 3:
        return None
    letters = [p for p in parts if len(p) == 1]
    if not letters or not all(is_idx(p) for p in letters):
        return None
    return [(p, len(p) == 1) for p in parts]


def labelled(resolver: object) -> bool:
    """Do the resolver's index letters stand for unit labels (Mazur's o: o1, o2)?"""
    return bool(getattr(resolver, "labelled", False))


def _subst(text: str | None, bound: Mapping[str, object], resolver: Resolver) -> str | None:
    lab = labelled(resolver)

    def repl(m: re.Match) -> str:
        w = m.group()
        pieces = index_pieces(w, lambda c: c in bound or resolver.is_index(c), lab)
        if pieces is not None:
            parts = [str(bound.get(c, c)) if is_index else c for c, is_index in pieces]
            # w_{kj} with k = 14, j = 1 is w_{14,1}: unit numbers of several digits are separated
            sep = "," if not lab and len(parts) > 1 and any(len(p) > 1 for p in parts) else ""
            return sep.join(parts)
        return w

    out = None if text is None else re.sub(r"[A-Za-z0-9]+", repl, text)
    if out and re.fullmatch(r"\d+(?:[+-]\d+)+", out):  # l+1 with l bound to 2 -> "3"
        out = str(sum(int(t) for t in re.findall(r"[+-]?\d+", out)))
    return out


def _symbol(name: Name, resolver: Resolver, bound: Mapping[str, object]) -> sympy.Expr:
    sub, sup = _subst(name.sub, bound, resolver), _subst(name.sup, bound, resolver)
    try:
        return resolver.symbol(name.base, sub, sup)
    except InvalidInput:
        if not (sup and sup.isdigit() and _known(Name(name.base, name.sub), resolver, bound)):
            raise
    # out_{h1}^2: a square, since no symbol carries the superscript 2
    return _power(resolver.symbol(name.base, sub, None), sympy.Integer(sup))


def _known(name: Node, resolver: Resolver, bound: Mapping[str, object]) -> bool:
    try:
        _symbol(name, resolver, bound)
    except InvalidInput:
        return False
    return True


def _is_matrix(value: object) -> bool:
    return getattr(value, "is_Matrix", False)


def _power(base: sympy.Expr, exp: sympy.Expr) -> sympy.Expr:
    if _is_matrix(base) or _is_matrix(exp):
        raise InvalidInput("a power of an array is not supported", hint="write the product")
    if base == 0 and exp.is_negative:
        raise InvalidInput("division by zero")
    if exp.is_Number and abs(exp) > MAX_EXPONENT:
        raise InvalidInput(f"exponent {exp} exceeds {MAX_EXPONENT}")
    bits = base.p.bit_length() + base.q.bit_length() if base.is_Rational else 0
    if exp.is_Integer and abs(int(exp)) * bits > MAX_POWER_BITS:
        raise InvalidInput("number too large: a power exceeds the size limit")
    return base**exp


def _fold(args: list, cls: type) -> sympy.Expr:  # matrices need operators, scalars the n-ary op
    if not any(_is_matrix(a) for a in args):
        return cls(*args)
    if cls is sympy.Add and not all(_is_matrix(a) for a in args):
        raise InvalidInput("an array and a number cannot be added")
    try:
        return reduce(operator.add if cls is sympy.Add else operator.mul, args)
    except ShapeError as err:
        raise ShapeMismatch(f"array shapes do not fit: {_shape_text(err)}") from None


class ShapeMismatch(InvalidInput):
    """Arrays whose shapes do not fit (a product or ⊙): the claim cannot hold as written."""


def _shape_text(err: Exception) -> str:
    text = re.sub(r"Matrix size mismatch: |\.$", "", str(err))
    return re.sub(r"\((\d+), (\d+)\)", r"\1×\2", text).replace(" * ", " times ")


def _divide(num: sympy.Expr, den: sympy.Expr) -> sympy.Expr:
    if _is_matrix(den):
        raise InvalidInput("division by an array is not supported")
    if den == 0:
        raise InvalidInput("division by zero")
    return num / den


def to_sympy(
    node: Node,
    resolver: Resolver,
    *,
    bindings: Mapping[str, object] = {},  # noqa: B006 - never mutated
    where: str | None = None,
) -> sympy.Expr:
    """Convert a parsed side through ``resolver``. ``bindings`` map index letters to values
    (``str(value)`` goes into scripts); ``where`` (``"claims.txt:3"``) is put on errors."""

    work = [0]

    def conv(n: Node, bound: Mapping[str, object], tower: int) -> sympy.Expr:
        def c(m: Node) -> sympy.Expr:
            return conv(m, bound, tower)

        work[0] += 1  # nested sums multiply: \sum_i \sum_j \sum_k ... must not run for hours
        if work[0] > MAX_EXPANDED:
            raise ResourceLimit(f"claim expands beyond {MAX_EXPANDED} nodes", where=where)

        if isinstance(n, Num):
            return n.value
        if isinstance(n, Name):
            return _symbol(n, resolver, bound)
        if isinstance(n, Partial):
            return resolver.partial(c(n.of), c(n.wrt))
        if isinstance(n, Call):
            return resolver.function(n.func, c(n.arg), n.prime)
        if isinstance(n, Add):
            return _fold([c(t) for t in n.terms], sympy.Add)
        if isinstance(n, (Mul, Hadamard)):
            args = [c(f) for f in n.factors]
            if isinstance(n, Hadamard) and all(_is_matrix(a) for a in args):
                if len({a.shape for a in args}) > 1:
                    shapes = " and ".join(f"{a.shape[0]}×{a.shape[1]}" for a in args)
                    raise ShapeMismatch(f"\\odot needs arrays of one shape, not {shapes}")
                return sympy.hadamard_product(*args)
            return _fold(args, sympy.Mul)  # a Hadamard product of scalars is their product
        if isinstance(n, Neg):
            return -c(n.arg)
        if isinstance(n, Transpose):
            arg = c(n.arg)
            return arg.T if _is_matrix(arg) else arg  # a scalar is its own ᵀ
        if isinstance(n, Div) and _is_d(n.num) and _is_d(n.den):
            if not (_known(n.num, resolver, bound) or _known(n.den, resolver, bound)):
                of, wrt = Name(n.num.base[1:], n.num.sub), Name(n.den.base[1:], n.den.sub)
                return resolver.partial(c(of), c(wrt))  # dE/dw5 is ∂E/∂w5
        if isinstance(n, Div):
            return _divide(c(n.num), c(n.den))
        if isinstance(n, Pow):
            if tower >= MAX_TOWER:
                raise InvalidInput(f"power tower higher than {MAX_TOWER} refused")
            exp = conv(n.exp, bound, tower + 1)
            if n.base == Name("e") and not _known(n.base, resolver, bound):
                return resolver.function("exp", exp, False)  # Euler's e: e^ with e undeclared
            return _power(c(n.base), exp)
        if isinstance(n, Sum):
            values = resolver.index_range(n.index, n, {k: str(v) for k, v in bound.items()})
            terms = [conv(n.body, {**bound, n.index: v}, tower) for v in values]
            return _fold(terms, sympy.Add) if terms else sympy.Integer(0)
        raise TypeError(f"not a claim node: {n!r}")

    try:
        return conv(node, bindings, 0)
    except InvalidInput as err:
        if where is None or err.where is not None:
            raise
        raise type(err)(err.message, where=where, hint=err.hint) from None


def free_indices(claim: Claim | Node, resolver: Resolver) -> set[str]:
    """Index letters used in scripts (per ``resolver.is_index``) and not bound by a ``\\sum``:
    the caller instantiates the claim once per value of each, through ``bindings``."""
    found: set[str] = set()
    lab = labelled(resolver)
    todo = [(s, frozenset()) for s in (claim.sides if isinstance(claim, Claim) else (claim,))]
    while todo:  # iterative walk
        n, bound = todo.pop()
        for text in (n.sub, n.sup) if isinstance(n, Name) else ():
            for w in re.findall(r"[A-Za-z0-9]+", text or ""):
                pieces = index_pieces(w, lambda c, b=bound: c in b or resolver.is_index(c), lab)
                found.update(c for c, is_index in pieces or () if is_index and c not in bound)
        inner = bound | {n.index} if isinstance(n, Sum) else bound
        for f in fields(n):
            for kid in getattr(n, f.name) if f.type.startswith("tuple") else [getattr(n, f.name)]:
                if f.type in ("Node", "tuple[Node, ...]"):
                    todo.append((kid, inner))
    return found

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

Rules that do not depend on the network:
- Calls are only ``\\sigma \\exp \\log \\ln \\tanh`` and the words ``sigmoid sigma exp log ln tanh
  relu f g`` (``'`` = derivative) directly followed by ``(``; ``y_j(1-y_j)`` is a product.
- Letter runs are one name (``out_{h1}``, ``net``): write ``a b`` for a product.
- ``^T``, ``^{T}``, ``^\\top`` is a transpose. On a name, ``^`` of ``+ *``, 1-3 letters (+-n) or
  digits is a superscript (``w^{l+1}_{kj}``, ``w_5^+``); other exponents are powers.
- ``\\sum`` takes the rest of its product as body; ``\\odot`` splits a product into operands.
- ``dX/dY`` is grouped tightly (value-preserving); ``\\partial`` only in ``\\frac{\\partial A}
  {\\partial B}``; plain ``name+`` (updated weight) only starts a claim.
Rules decided when converting (``to_sympy``): ``e^{x}`` is ``exp`` unless ``e`` is a declared
name; ``dE/dw5`` is a partial derivative unless ``dE`` or ``dw5`` is declared (declared wins);
a digit superscript the resolver does not know (``out^2``) is a power. Subscript words of <= 3
lowercase letters that are all index letters (``resolver.is_index`` or bound) are indices
(``W_{jk}``); anything else (``o1``, ``total``, ``5``) is literal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache, reduce
from pathlib import Path
from typing import NamedTuple, Protocol, Union

import sympy
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput
from lark.lexer import Lexer

from symbackprop.errors import InvalidInput

MAX_TEXT = 1_000_000  # characters of claims text
MAX_LINE = 10_000
MAX_NESTING = 100  # bracket depth, checked by a linear scan before anything else
MAX_NODE_DEPTH = 300  # node depth (a/b/c/... chains nest without brackets)
MAX_DIGITS = 30
MAX_EXPONENT = 64
MAX_POWER_BITS = 20_000  # an exact numeric power larger than this is refused before computing
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


@dataclass(frozen=True)
class Claim:
    line: int
    label: str | None
    text: str
    syntax: str  # "latex" or "plain"
    sides: tuple[Node, ...]


class Resolver(Protocol):
    """What a network tells the converter; unknown things raise ``InvalidInput``."""

    def symbol(self, base: str, sub: str | None, sup: str | None) -> sympy.Expr: ...

    def partial(self, of: sympy.Expr, wrt: sympy.Expr) -> sympy.Expr: ...

    def function(self, name: str, arg: sympy.Expr, prime: bool) -> sympy.Expr: ...

    def is_index(self, letter: str) -> bool: ...

    def index_range(self, index: str, where: Sum, bindings: Mapping[str, str]) -> Sequence[str]:
        """Values ``index`` runs over in ``where`` (its over/lower/upper), given outer bindings."""
        ...


# ---------------------------------------------------------------------------------- tokenizer
class _Error(Exception):
    def __init__(self, col: int | None, message: str, hint: str | None = None):
        super().__init__(message)
        self.col, self.message, self.hint = col, message, hint


class _Tok(Token):
    __slots__ = ("payload",)


_GREEK = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu "
    "xi pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
    "Phi Psi Omega".split()
)
_CMD_FUNCS = {"exp": "exp", "log": "log", "ln": "log", "tanh": "tanh"}
_WORD_FUNCS = {"sigmoid": "sigma", "sigma": "sigma", "relu": "relu", "f": "f", "g": "g"}
_WORD_FUNCS.update(_CMD_FUNCS)
_FONTS = frozenset("text mathrm operatorname mathbf mathit mathsf mathcal boldsymbol bm mbox".split())
_IGNORED = frozenset("left right big Big bigg Bigg bigl bigr Bigl Bigr limits quad qquad".split())
_SIMPLE = {"frac": "_FRAC", "dfrac": "_FRAC", "tfrac": "_FRAC", "partial": "_PARTIAL"}
_SIMPLE.update(times="TIMES", cdot="TIMES", ast="TIMES", odot="ODOT")
_PAIRS = {"(": ")", "[": "]", "\\{": "\\}", "{": "}"}
_LATEX_RE = re.compile(
    r"(?P<ws>[\s&$]+|\\[,;:! ])|(?P<cmd>\\[A-Za-z]+)|(?P<br>\\[{}]|[()\[\]{}])"
    r"|(?P<num>\d+\.?\d*|\.\d+)|(?P<word>[A-Za-z][A-Za-z0-9]*)|(?P<op>[-+*/=^'])"
)
_PLAIN_RE = re.compile(
    r"(?P<ws>[\s$]+)|(?P<br>[()\[\]])|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|[-+*/=^'])"
)
_OPS = {"+": "PLUS", "-": "MINUS", "*": "TIMES", "/": "DIV", "=": "_EQ", "^": "POW", "**": "POW"}
_SUP_RE = re.compile(r"[+*]|[A-Za-z]{1,3}(?:[+-]\d+)?|\d+")
_SUB_RE = re.compile(r"[A-Za-z0-9+\-*,]+")
_SUM_RE = re.compile(r"([A-Za-z])(?:\\in([A-Za-z0-9]+)|=([A-Za-z0-9]+))?")
_CALL_RE = re.compile(r"\s*'?\s*(?:\\(?:left|bigl?|Bigl?)\s*)?\(")
_LABEL_RE = re.compile(r"\s*\[([A-Za-z][\w.:-]*)\]\s*")


def _number(text: str, col: int) -> Num:
    mant, _, exp10 = text.lower().partition("e")
    whole, _, frac = mant.partition(".")
    digits = (whole + frac).lstrip("0")
    if len(whole + frac) > MAX_DIGITS:
        raise _Error(col, f"number '{text}' has more than {MAX_DIGITS} digits")
    shift = int(exp10 or 0)
    if abs(shift) > MAX_EXPONENT:
        raise _Error(col, f"exponent of '{text}' exceeds {MAX_EXPONENT}")
    value = sympy.Rational(int(whole + frac or "0"), 10 ** len(frac)) * sympy.Rational(10) ** shift
    return Num(value, max(len(digits), 1), max(len(frac) - shift, 0))


def _script(line: str, pos: int) -> tuple[str | None, int]:
    """Argument of ``_``/``^`` at ``pos``: braced text (spaces dropped) or one char/command."""
    while pos < len(line) and line[pos] == " ":
        pos += 1
    if line.startswith("{", pos):
        end = line.find("}", pos)
        inner = line[pos + 1 : end] if end > 0 else "{"
        if "{" in inner:  # nested groups are never a plain script; let the grammar try
            return None, pos
        return re.sub(r"\s+", "", inner), end + 1
    m = re.compile(r"\\[A-Za-z]+|[A-Za-z0-9+*]").match(line, pos)
    return (m.group(), m.end()) if m else (None, pos)


def _check_script(text: str, col: int) -> None:
    bad = re.search(r"\\([A-Za-z]+)", text)
    if bad and bad.group(1) in _FONTS:
        raise _Error(col, f"unknown symbol '{bad.group(1)}'", "write the name without a font")
    if not _SUB_RE.fullmatch(text):
        raise _Error(col, f"unsupported subscript '{text}'", "use letters, digits, + - * ,")


def _tokens(line: str, start: int, latex: bool) -> list[Token]:
    out: list[Token] = []
    stack: list[tuple[str, int]] = []
    pat, pos, n = (_LATEX_RE if latex else _PLAIN_RE), start, len(line)

    def emit(kind: str, text: str, col: int, payload: object = None) -> None:
        tok = _Tok(kind, text, start_pos=col - 1, line=1, column=col)
        tok.payload = payload
        out.append(tok)

    def name(base: str, pos: int, col: int) -> int:  # LaTeX name with scripts, in any order
        sub = sup = None
        while True:
            p = pos
            while p < n and line[p] == " ":
                p += 1
            mark = line[p : p + 1]
            if mark == "_" and sub is None:
                sub, pos = _script(line, p + 1)
                _check_script(line[p + 1 : p + 40] if sub is None else sub, p + 2)
            elif mark == "^" and sup is None:
                arg, end = _script(line, p + 1)
                if arg in (None, "T", "\\top") or (base == "e" and sub is None):
                    break  # transpose, e^{...} or a general power: the main loop decides
                if not _SUP_RE.fullmatch(arg):
                    break
                sup, pos = arg, end
            else:
                break
        emit("NAME", line[col - 1 : pos], col, Name(base, sub, sup))
        return pos

    if not latex:  # plain `w5+ = ...`: the updated weight, only at the start of a claim
        m = re.compile(r"([A-Za-z]\w*)\+(?=\s*=)").match(line, pos)
        if m:
            base, _, sub = m.group(1).partition("_")
            emit("NAME", m.group(), pos + 1, Name(base, sub or None, "+"))
            pos = m.end()
    while pos < n:
        m = pat.match(line, pos)
        col = pos + 1
        if m is None:
            raise _Error(col, f"unexpected '{line[pos]}'")
        kind, text, pos = m.lastgroup, m.group(), m.end()
        if kind == "ws":
            continue
        if kind == "num":
            emit("NUMBER", text, col, _number(text, col))
        elif kind == "br":
            if text in _PAIRS:
                stack.append((text, col))
                emit("_LBRACE" if text == "{" else "_LPAR", text, col)
            elif not stack or _PAIRS[stack[-1][0]] != text:
                raise _Error(col, f"unmatched '{text}'")
            else:
                stack.pop()
                emit("_RBRACE" if text == "}" else "_RPAR", text, col)
        elif kind == "word":
            func = _WORD_FUNCS.get(text)
            if func and _CALL_RE.match(line, pos):
                prime = line[pos:].lstrip().startswith("'")
                pos = line.index("'", pos) + 1 if prime else pos
                emit("FUNC", text, col, (func, prime))
            elif latex:
                pos = name(text, pos, col)
            elif not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*", text):
                raise _Error(col, f"unknown symbol '{text}'", "names are letters, digits and _")
            else:
                base, _, sub = text.partition("_")
                emit("NAME", text, col, Name(base, sub or None))
        elif kind == "op" and text == "^":
            arg, end = _script(line, pos) if latex else (None, pos)
            if not latex and re.match(r"\s*T\b", line[pos:]):
                arg, end = "T", line.index("T", pos) + 1
            if arg in ("T", "\\top"):
                emit("TRANSPOSE", line[col - 1 : end], col)
                pos = end
            elif latex and arg and len(arg) == 1 and arg.isalnum() and line[pos] != "{":
                # TeX takes one character as exponent: e^x, x^2 (x^23 is x^{2}3)
                emit("POW", text, col)
                emit("NUMBER" if arg.isdigit() else "NAME", arg, end, _number(arg, end)
                     if arg.isdigit() else Name(arg))  # fmt: skip
                pos = end
            else:
                emit("POW", text, col)
        elif kind == "op":
            if text == "'":
                raise _Error(col, "unexpected \"'\"", "a prime only follows \\sigma, f or g")
            emit(_OPS[text], text, col)
        else:  # a LaTeX command
            cmd = text[1:]
            if cmd in _IGNORED:
                continue
            if cmd in _SIMPLE:
                emit(_SIMPLE[cmd], text, col)
            elif cmd == "sum":
                pos = _sum(line, pos, col, emit)
            elif cmd in _CMD_FUNCS or (cmd == "sigma" and _CALL_RE.match(line, pos)):
                if not _CALL_RE.match(line, pos):
                    raise _Error(col, f"{text} needs a parenthesised argument: {text}(x)")
                prime = line[pos:].lstrip().startswith("'")
                pos = line.index("'", pos) + 1 if prime else pos
                emit("FUNC", text, col, (_WORD_FUNCS[cmd], prime))
            elif cmd in _GREEK:
                pos = name(cmd, pos, col)
            elif cmd in _FONTS:
                raise _Error(col, f"unknown symbol '{cmd}'", "\\text-like commands are unsupported")
            else:
                raise _Error(col, f"unknown command '{text}'")
    if stack:
        raise _Error(stack[-1][1], f"unclosed '{stack[-1][0]}'")
    return out


def _sum(line: str, pos: int, col: int, emit: Callable[..., None]) -> int:
    sub = upper = None
    while line[pos : pos + 1] in ("_", "^"):
        arg, end = _script(line, pos + 1)
        if arg is None or not re.fullmatch(r"[\\A-Za-z0-9=]+", arg):
            raise _Error(pos + 1, "unsupported \\sum limits", "write \\sum_k or \\sum_{k=1}^{K}")
        sub, upper = (arg, upper) if line[pos] == "_" else (sub, arg)
        pos = end
    m = _SUM_RE.fullmatch(sub or "")
    if m is None:
        raise _Error(col, "\\sum needs an index", "write \\sum_k, \\sum_{k \\in K}, \\sum_{k=1}^{K}")
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


def _neg(v: _V) -> _V:  # --x is x: keeps '-'*9999 + '4' shallow
    return _V(v.node.arg, v.depth - 1) if isinstance(v.node, Neg) else _mk(Neg(v.node), v)


def _is_d(node: Node) -> bool:
    return isinstance(node, Name) and node.base[0] == "d" and len(node.base) > 1 and not node.sup


def _group(vs: list[_V], cls: type) -> _V:
    return vs[0] if len(vs) == 1 else _mk(cls(tuple(v.node for v in vs)), *vs)


class _Build(Transformer):
    """Callbacks run by the LALR parser at each reduction (no tree, no recursion)."""

    def num(self, c: list) -> _V:
        return _V(c[0].payload, 1)

    def name(self, c: list) -> _V:
        return _V(c[0].payload, 1)

    def call(self, c: list) -> _V:
        return _mk(Call(c[0].payload[0], c[1].node, c[0].payload[1]), c[1])

    def frac(self, c: list) -> _V:
        return _mk(Div(c[0].node, c[1].node), *c)

    def partial(self, c: list) -> _V:
        return _mk(Partial(c[0].node, c[1].node), *c)

    def pow(self, c: list) -> _V:
        return _mk(Pow(c[0].node, c[2].node), c[0], c[2])

    def transpose(self, c: list) -> _V:
        return _mk(Transpose(c[0].node), c[0])

    def neg(self, c: list) -> _V:
        return _neg(c[1])

    def pos(self, c: list) -> _V:
        return c[1]

    def factors(self, c: list) -> list:  # accumulator of (operator, value), appended in place
        if len(c) == 1:
            return [(None, c[0])]
        c[0].append((c[1].type if len(c) == 3 else None, c[-1]))
        return c[0]

    def chain(self, c: list) -> _V:
        items = c[0] if isinstance(c[0], list) else []
        if isinstance(c[-1], _V) and isinstance(c[-2], Token) and c[-2].type == "SUM":
            index, over, lower, upper = c[-2].payload
            items = items + [(None, _mk(Sum(index, c[-1].node, over, lower, upper), c[-1]))]
        operands: list[_V] = []
        run: list[_V] = []
        for op, v in items:
            if op == "DIV":
                if _is_d(run[-1].node) and _is_d(v.node):  # dE/dw5 stays one unit
                    run[-1] = _mk(Div(run[-1].node, v.node), run[-1], v)
                else:
                    run = [_mk(Div(_group(run, Mul).node, v.node), _group(run, Mul), v)]
            elif op == "ODOT":
                operands.append(_group(run, Mul))
                run = [v]
            else:
                run.append(v)
        return _group(operands + [_group(run, Mul)], Hadamard)

    def add(self, c: list) -> _V:
        terms = [c[0]] + [_neg(v) if op.type == "MINUS" else v for op, v in zip(c[1::2], c[2::2])]
        return _group(terms, Add)

    def start(self, c: list) -> tuple[Node, ...]:
        return tuple(v.node for v in c)


class _ListLexer(Lexer):
    __future_interface__ = 2  # lark hands over our token list untouched

    def __init__(self, conf: object) -> None:
        pass

    def lex(self, state, parser_state):  # noqa: ANN001, ANN201 - lark's interface
        yield from state.text


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = Path(__file__).with_name("claims.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer=_ListLexer, transformer=_Build(), strict=True)


_PRETTY = {"_EQ": "'='", "_RPAR": "')'", "_RBRACE": "'}'", "_LBRACE": "'{'", "NAME": "a name"}
_PRETTY.update(NUMBER="a number", _LPAR="'('", MINUS="'-'", _PARTIAL="'\\partial'")


def parse_claim_line(line: str, *, lineno: int = 1, source: str = "<claims>") -> Claim:
    """Parse one claim line; errors are ``InvalidInput`` naming source, line and column."""
    where = f"{source}:{lineno}"
    try:
        if len(line) > MAX_LINE:
            raise _Error(None, f"claim longer than {MAX_LINE} characters")
        depth = 0
        for i, ch in enumerate(line):  # linear bracket-depth scan before any parsing
            depth += (ch in "([{") - (ch in ")]}")
            if depth > MAX_NESTING:
                raise _Error(i + 1, f"brackets nested deeper than {MAX_NESTING}")
        m = _LABEL_RE.match(line)
        start = m.end() if m else 0
        latex = "\\" in line or "{" in line
        toks = _tokens(line, start, latex)
        try:
            sides = _parser().parse(toks)
        except UnexpectedInput as exc:
            tok = getattr(exc, "token", None)
            if tok is None or tok.type == "$END":
                if "_EQ" in getattr(exc, "expected", ()):
                    raise _Error(len(line) + 1, "a claim needs two sides: A = B") from None
                raise _Error(len(line) + 1, "unexpected end of claim") from None
            exp = sorted(_PRETTY.get(t, t.lower()) for t in getattr(exc, "expected", ()))
            hint = "expected " + ", ".join(exp) if exp else None
            if "\\partial" in line:
                hint = "\\partial is only supported as \\frac{\\partial A}{\\partial B}"
            raise _Error(tok.column, f"unexpected '{tok}'", hint) from None
    except _Error as err:
        msg = f"col {err.col}: {err.message}" if err.col else err.message
        raise InvalidInput(msg, where=where, hint=err.hint) from None
    label = m.group(1) if m else None
    return Claim(lineno, label, line.strip(), "latex" if latex else "plain", sides)


def parse_claims(text: str, *, source: str = "<claims>") -> list[Claim]:
    """Parse a claims text: one claim per line, ``#``/``%`` comments and blank lines skipped."""
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"claims text larger than {MAX_TEXT} characters", where=source)
    claims = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip() and line.lstrip()[0] not in "#%":
            claims.append(parse_claim_line(line, lineno=lineno, source=source))
    return claims


# ------------------------------------------------------------------------------- conversion
def _index_word(word: str, is_idx: Callable[[str], bool]) -> bool:
    return word.isalpha() and word.islower() and len(word) <= 3 and all(map(is_idx, word))


def _subst(text: str | None, bindings: Mapping[str, object], resolver: Resolver) -> str | None:
    if text is None:
        return None

    def repl(m: re.Match) -> str:
        w = m.group()
        if _index_word(w, lambda c: c in bindings or resolver.is_index(c)):
            return "".join(str(bindings.get(c, c)) for c in w)
        return w

    out = re.sub(r"[A-Za-z0-9]+", repl, text)
    if re.fullmatch(r"\d+(?:[+-]\d+)+", out):  # l+1 with l bound to 2 -> "3"
        out = str(sum(int(t) for t in re.findall(r"[+-]?\d+", out)))
    return out


def _known(name: Name, resolver: Resolver, bindings: Mapping[str, object]) -> bool:
    try:
        _symbol(name, resolver, bindings)
    except InvalidInput:
        return False
    return True


def _symbol(name: Name, resolver: Resolver, bindings: Mapping[str, object]) -> sympy.Expr:
    sub, sup = _subst(name.sub, bindings, resolver), _subst(name.sup, bindings, resolver)
    try:
        return resolver.symbol(name.base, sub, sup)
    except InvalidInput:
        if not (sup and sup.isdigit()):
            raise
        try:  # out_{h1}^2: a square, once no symbol carries the superscript 2
            base = resolver.symbol(name.base, sub, None)
        except InvalidInput:
            pass
        else:
            return _power(base, sympy.Integer(sup))
        raise


def _power(base: sympy.Expr, exp: sympy.Expr) -> sympy.Expr:
    if exp.is_Number and abs(exp) > MAX_EXPONENT:
        raise InvalidInput(f"exponent {exp} exceeds {MAX_EXPONENT}")
    if base.is_Rational and exp.is_Integer:
        if abs(int(exp)) * (base.p.bit_length() + base.q.bit_length()) > MAX_POWER_BITS:
            raise InvalidInput("number too large: a power exceeds the size limit")
    return base**exp


def _combine(args: list, op: Callable, cls: type) -> sympy.Expr:
    if any(getattr(a, "is_Matrix", False) for a in args):
        return reduce(op, args)
    return cls(*args)


def to_sympy(
    node: Node, resolver: Resolver, *, bindings: Mapping[str, object] = {}  # noqa: B006
) -> sympy.Expr:
    """Convert a parsed side to SymPy through ``resolver``; ``bindings`` map index letters to
    values (``str(value)`` is substituted into scripts). Free indices must be bound."""

    def conv(n: Node, bound: Mapping[str, object], tower: int) -> sympy.Expr:
        if isinstance(n, Num):
            return n.value
        if isinstance(n, Name):
            return _symbol(n, resolver, bound)
        if isinstance(n, Partial):
            return resolver.partial(conv(n.of, bound, tower), conv(n.wrt, bound, tower))
        if isinstance(n, Call):
            return resolver.function(n.func, conv(n.arg, bound, tower), n.prime)
        if isinstance(n, Add):
            return _combine([conv(t, bound, tower) for t in n.terms], lambda a, b: a + b, sympy.Add)
        if isinstance(n, (Mul, Hadamard)):
            args = [conv(f, bound, tower) for f in n.factors]
            if isinstance(n, Hadamard) and all(getattr(a, "is_Matrix", False) for a in args):
                return sympy.hadamard_product(*args)
            return _combine(args, lambda a, b: a * b, sympy.Mul)
        if isinstance(n, Neg):
            return -conv(n.arg, bound, tower)
        if isinstance(n, Transpose):
            arg = conv(n.arg, bound, tower)
            return arg.T if getattr(arg, "is_Matrix", False) else arg  # a scalar is its own ᵀ
        if isinstance(n, Div):
            a, b = n.num, n.den
            if _is_d(a) and _is_d(b) and not (_known(a, resolver, bound) or _known(b, resolver, bound)):
                of, wrt = Name(a.base[1:], a.sub), Name(b.base[1:], b.sub)  # dE/dw5: ∂E/∂w5
                return resolver.partial(conv(of, bound, tower), conv(wrt, bound, tower))
            return conv(a, bound, tower) / conv(b, bound, tower)
        if isinstance(n, Pow):
            if tower >= MAX_TOWER:
                raise InvalidInput(f"power tower higher than {MAX_TOWER} refused")
            exp = conv(n.exp, bound, tower + 1)
            if n.base == Name("e") and not _known(n.base, resolver, bound):
                return resolver.function("exp", exp, False)  # Euler's e: undeclared e with ^
            return _power(conv(n.base, bound, tower), exp)
        if isinstance(n, Sum):
            values = resolver.index_range(n.index, n, {k: str(v) for k, v in bound.items()})
            terms = [conv(n.body, {**bound, n.index: v}, tower) for v in values]
            return _combine(terms, lambda a, b: a + b, sympy.Add) if terms else sympy.Integer(0)
        raise TypeError(f"not a claim node: {n!r}")

    return conv(node, bindings, 0)


def free_indices(claim: Claim | Node, resolver: Resolver) -> set[str]:
    """Index letters used in scripts (per ``resolver.is_index``) and not bound by a ``\\sum``:
    the caller instantiates the claim once per value of each (``bindings``)."""
    found: set[str] = set()
    todo = [(s, frozenset()) for s in (claim.sides if isinstance(claim, Claim) else (claim,))]
    while todo:  # iterative walk: no recursion on user-shaped trees
        n, bound = todo.pop()
        if isinstance(n, Name):
            for text in (n.sub, n.sup):
                for w in re.findall(r"[A-Za-z0-9]+", text or ""):
                    if _index_word(w, lambda c: c in bound or resolver.is_index(c)):
                        found.update(c for c in w if c not in bound)
            continue
        inner = bound | {n.index} if isinstance(n, Sum) else bound
        for f in fields(n):
            val = getattr(n, f.name)
            for kid in val if isinstance(val, tuple) else (val,):
                if not isinstance(kid, (str, bool, sympy.Basic, int)) and kid is not None:
                    todo.append((kid, inner))
    return found

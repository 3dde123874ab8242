"""The one allow-listed parser for expressions written in TOML specs.

User text never reaches ``eval``, ``exec``, ``compile``, ``sympify``, ``parse_expr`` or
``lambdify``: ``ast.parse`` only builds a tree, which is walked twice, iteratively, so no input
can reach Python's recursion limit. Pass 1 checks every node against the allow-list (numbers,
declared names, ``+ - * / ** ^``, unary ``+ -``, positional calls of allowed functions) and the
size limits; of all violations it reports attribute/subscript access and forbidden calls first,
then other forbidden syntax, then unknown names, each group by position (so
``__import__('os').system(...)`` names ``__import__``). Pass 2 builds SymPy bottom-up, checking
numeric powers *before* SymPy computes them (``9**9**9`` fails on ``9**387420489`` at once).

Names mean only what ``symbols`` and ``functions`` say (``E``, ``I``, ``N``, ``S``, ``pi`` are
ordinary names); floats become exact rationals from their source text (``0.15`` is ``3/20``);
``^`` is power, as on the slides. Columns in messages are 1-based.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import math
import unicodedata
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sympy

from symbackprop.errors import InvalidInput


@dataclass(frozen=True)
class Limits:
    """Size limits that keep every parse well under a second."""

    max_length: int = 10_000  # characters of source text
    max_depth: int = 100  # AST nesting; a chain like a + b + c counts as one level
    max_nodes: int = 5_000
    max_int_digits: int = 30  # digits of a literal, or of a computed numeric power
    max_exponent: int = 64  # absolute value of a numeric exponent


# Readable names for node types whose class name alone would puzzle a user.
_FRIENDLY = {"JoinedStr": "f-string", "IfExp": "conditional expression", "NamedExpr": "':='"}
_OPS = {ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd}
_GROUP = {ast.Add: "add", ast.Sub: "add", ast.Mult: "mul", ast.Div: "mul"}
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)


def _chain(node: ast.expr) -> tuple[list[ast.expr], list[type]] | None:
    """Unroll a left-nested ``a + b - c`` (or ``a * b / c``) chain into operands and ops.

    Chains are built as one n-ary Add/Mul (pairwise building is quadratic in SymPy) and count
    as one nesting level, so a long sum is not "deep".
    """
    if not isinstance(node, ast.BinOp) or type(node.op) not in _GROUP:
        return None
    group, operands, ops = _GROUP[type(node.op)], [], []
    while isinstance(node, ast.BinOp) and _GROUP.get(type(node.op)) == group:
        operands.append(node.right)
        ops.append(type(node.op))
        node = node.left
    return [node, *operands[::-1]], ops[::-1]


def _kids(node: ast.expr) -> list[ast.expr]:
    chain = _chain(node)
    if chain:
        return chain[0]
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    return list(node.args) if isinstance(node, ast.Call) else []


def _quiet_parse(source: str, mode: str) -> ast.AST:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings would print to stderr
        return ast.parse(source, mode=mode)


class _Parser:
    def __init__(self, text, symbols, functions, where, limits, suggest=None):
        self.symbols, self.functions, self.where, self.limits = symbols, functions, where, limits
        self.suggest = symbols if suggest is None else suggest
        stripped = text.lstrip()  # ast.parse rejects leading indentation
        self.text, self.shift = text, len(text) - len(stripped)
        # '^' is power, as on the slides. Python's '^' is XOR and binds more loosely than '/'
        # ('x^2/2' would be x^(2/2)), so it becomes '**' before parsing; ``origin`` maps each
        # offset in the rewritten source back to the user's text, so columns stay theirs.
        self.source = stripped.replace("^", "**")
        self.origin = [j for j, ch in enumerate(stripped) for _ in range(2 if ch == "^" else 1)]
        self.origin.append(len(stripped))
        self.src_lines = [0] + [i + 1 for i, ch in enumerate(self.source) if ch == "\n"]
        self.all_lines = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self.allowed = ", ".join(sorted(functions)) or "none"
        self.syntax_hint = f"allowed: numbers, symbols, + - * / ** ^, calls of: {self.allowed}"
        self.found: list[tuple] = []  # (priority, offset, sequence, message, hint)
        self.used: set[str] = set()
        self.floats: dict[int, sympy.Rational] = {}

    def offset(self, lineno: int, col: int) -> int:
        # Columns are UTF-8 byte offsets in ast, equal to characters since the text is ASCII.
        at = min(self.src_lines[lineno - 1] + col, len(self.origin) - 1)
        return self.origin[at] + self.shift

    def loc(self, offset: int) -> str:
        line = bisect.bisect_right(self.all_lines, offset)
        col = offset - self.all_lines[line - 1] + 1
        return f"col {col}" if len(self.all_lines) == 1 else f"line {line}, col {col}"

    def fail(self, message: str, offset: int | None = None, hint: str | None = None):
        message = message if offset is None else f"{self.loc(offset)}: {message}"
        raise InvalidInput(message, where=self.where, hint=hint)

    def bad(self, priority: int, at: int, message: str, hint=None) -> None:
        """Record a violation; ``hint`` may be a callable, evaluated only if it is reported."""
        self.found.append((priority, at, len(self.found), message, hint))

    def after(self, node: ast.expr) -> int:
        """Offset of the token after ``node`` (its '.', '[' or operator), skipping ')'."""
        i = self.offset(node.end_lineno, node.end_col_offset)
        while i < len(self.text) and self.text[i] in " \t\n)":
            i += 1
        return i

    def parse(self) -> ast.Expression:
        for i, ch in enumerate(self.text):
            if not ch.isascii():  # also keeps NFKC look-alikes (ﬁ -> fi) out of names
                name = unicodedata.name(ch, "unnamed character")
                hint = "spell names out (e.g. 'delta_1') and use ASCII operators"
                self.fail(f"expressions must be ASCII: U+{ord(ch):04X} {name}", i, hint)
        try:
            return _quiet_parse(self.source, "eval")
        except (RecursionError, MemoryError):  # the C parser's own stack limits
            hint = "Python's parser gave up; shorten long chains or reduce nesting"
            self.fail("expression too deeply nested or too long", hint=hint)
        except (SyntaxError, ValueError) as exc:
            msg = getattr(exc, "msg", str(exc))
            if "Exceeds the limit" in msg:  # Python's own cap on int literals (4300 digits)
                self.fail(f"integer literal too long (limit {self.limits.max_int_digits} digits)")
            if "too many nested" in msg:
                self.fail("expression too deeply nested", hint=msg)
            try:  # a parse as statements tells 'x; y' or 'x = 1' apart from plain typos
                body = _quiet_parse(self.source, "exec").body
            except _PARSE_ERRORS:
                body = []
            for stmt in body:
                if not isinstance(stmt, ast.Expr) or stmt is not body[0]:
                    at = self.offset(stmt.lineno, stmt.col_offset)
                    kind = type(stmt).__name__
                    self.fail(f"{kind} statement not allowed in expressions", at, "one formula")
            lineno = min(getattr(exc, "lineno", None) or 1, len(self.src_lines))
            col = (getattr(exc, "offset", None) or 1) - 1
            at = self.loc(min(self.offset(lineno, col), len(self.text)))
            self.fail(f"syntax error at {at}: {msg}")
        raise AssertionError("unreachable")

    # -- pass 1: allow-list, size and depth ---------------------------------------------------
    def check(self, tree: ast.Expression) -> None:
        lim, count, bad = self.limits, 0, self.bad
        stack: list[tuple[ast.expr, int]] = [(tree.body, 1)]
        while stack:
            node, depth = stack.pop()
            pos, kids = self.offset(node.lineno, node.col_offset), _kids(node)
            count += 1 + (len(kids) - 2 if _chain(node) else 0)
            if count > lim.max_nodes:
                self.fail(f"expression too large: more than {lim.max_nodes} nodes")
            if depth > lim.max_depth:
                self.fail("expression too deeply nested", pos, f"limit {lim.max_depth} levels")
            if isinstance(node, (ast.BinOp, ast.UnaryOp)) and type(node.op) not in _OPS:
                at = self.after(node.left) if isinstance(node, ast.BinOp) else pos
                right = node.right if isinstance(node, ast.BinOp) else node.operand
                op = self.text[at : self.offset(right.lineno, right.col_offset)].strip(" (")
                bad(1, at, f"operator '{op}' not allowed", self.syntax_hint)
            elif isinstance(node, ast.Constant):
                problem = self.check_constant(node)
                if problem:
                    bad(1, pos, problem)
            elif isinstance(node, ast.Name):
                self.used.add(node.id)
                if node.id in self.functions and node.id not in self.symbols:
                    bad(2, pos, f"'{node.id}' is a function: call it as {node.id}(...)")
                elif node.id not in self.symbols:  # hint later, once all used names are known
                    bad(2, pos, f"unknown symbol '{node.id}'", lambda n=node.id: self.name_hint(n))
            elif isinstance(node, ast.Call):
                if not isinstance(node.func, ast.Name):
                    bad(0, self.after(node.func), "only named functions can be called")
                    kids = [node.func, *kids]
                elif node.func.id not in self.functions:
                    hint = f"allowed functions: {self.allowed}"
                    bad(0, pos, f"call to '{node.func.id}' not allowed", hint)
                for kw in node.keywords:
                    bad(1, self.offset(kw.lineno, kw.col_offset), "keyword arguments not allowed")
            elif isinstance(node, (ast.Attribute, ast.Subscript)):
                what = "attribute" if isinstance(node, ast.Attribute) else "subscript"
                bad(0, self.after(node.value), f"{what} access not allowed")
                kids = [node.value]
            elif not isinstance(node, (ast.BinOp, ast.UnaryOp)):
                # Forbidden syntax; its insides are not inspected, one error is enough.
                kind = type(node).__name__
                extra = f" ({_FRIENDLY[kind]})" if kind in _FRIENDLY else ""
                bad(1, pos, f"{kind}{extra} not allowed in expressions", self.syntax_hint)
            stack.extend((kid, depth + 1) for kid in kids)
        if self.found:
            _, at, _, message, hint = min(self.found)
            self.fail(message, at, hint() if callable(hint) else hint)

    def check_constant(self, node: ast.Constant) -> str | None:
        """Return what is wrong with a literal, or None; records the exact value of floats."""
        value, digits = node.value, self.limits.max_int_digits
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{type(value).__name__} literal not allowed in expressions"
        if isinstance(value, int):  # bit_length first: str() of a huge int is slow or refused
            too_long = value.bit_length() > 4 * digits or len(str(value)) > digits
            return f"integer literal too long (limit {digits} digits)" if too_long else None
        source = (ast.get_source_segment(self.source, node) or "").replace("_", "")
        try:  # the exact value of what was written, not of the nearest binary float
            number = Decimal(source)
        except InvalidOperation:
            return f"invalid number '{source}'"
        parts = number.as_tuple()
        if len(parts.digits) > digits or abs(int(parts.exponent)) > self.limits.max_exponent:
            return f"number '{source}' has too many digits or too large an exponent"
        self.floats[id(node)] = sympy.Rational(*number.as_integer_ratio())
        return None

    def name_hint(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self.symbols), n=1)
        unused = sorted(set(self.suggest) - self.used)
        if close or len(unused) == 1:  # the one declared symbol not yet used is a likely intent
            return f"did you mean '{(close or unused)[0]}'?"
        names = sorted(self.symbols)
        listed = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        return f"declared symbols: {listed}" if names else "no symbols are declared"

    # -- pass 2: build SymPy objects ----------------------------------------------------------
    def build(self, tree: ast.Expression) -> sympy.Expr:
        stack, values = [(tree.body, False)], []
        while stack:  # post-order without recursion
            node, ready = stack.pop()
            kids = _kids(node)
            if not ready:
                stack.append((node, True))
                stack.extend((kid, False) for kid in reversed(kids))
                continue
            split = len(values) - len(kids)
            args = values[split:]
            del values[split:]
            values.append(self.combine(node, kids, args))
        if values[0].has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            self.fail("expression is undefined or infinite")
        if values[0].has(sympy.I):
            self.fail("expression is not real")
        return values[0]

    def combine(self, node: ast.expr, kids: list[ast.expr], args: list) -> sympy.Expr:
        chain = _chain(node)
        if chain:
            ops, terms = chain[1], [args[0]]
            for i, (op, arg) in enumerate(zip(ops, args[1:], strict=True)):
                if op is ast.Div and arg == 0:  # structural: is_zero may run evalf
                    self.fail("division by zero", self.after(kids[i]))
                terms.append(-arg if op is ast.Sub else 1 / arg if op is ast.Div else arg)
            return sympy.Add(*terms) if _GROUP[ops[0]] == "add" else sympy.Mul(*terms)
        if isinstance(node, ast.BinOp):
            return self.power(args[0], args[1], self.after(node.left))
        if isinstance(node, ast.UnaryOp):
            return -args[0] if isinstance(node.op, ast.USub) else args[0]
        if isinstance(node, ast.Constant):
            value = node.value
            return self.floats[id(node)] if isinstance(value, float) else sympy.Integer(value)
        if isinstance(node, ast.Name):
            return self.symbols[node.id]
        for i, arg in enumerate(args, 1):
            # Numeric arguments stay rational so no tower like exp(exp(10**29)) ever reaches
            # evalf, which SymPy runs even to print or order terms.
            if not arg.free_symbols and not arg.is_Rational:
                message = f"numeric argument {i} of '{node.func.id}' must be a rational number"
                self.fail(message, self.offset(kids[i - 1].lineno, kids[i - 1].col_offset))
        try:
            return self.functions[node.func.id](*args)
        except (TypeError, ValueError, ArithmeticError) as exc:
            at = self.offset(node.lineno, node.col_offset)
            self.fail(f"bad arguments to '{node.func.id}': {exc}", at)

    def power(self, base: sympy.Expr, exp: sympy.Expr, at: int) -> sympy.Expr:
        lim = self.limits
        if not exp.free_symbols and not exp.is_Rational:
            self.fail("numeric exponent must be a rational number", at)
        # The rational parts of a symbolic exponent are multiplied out too (2**(x + 3) may
        # become 8*2**x), so they are checked like numeric exponents. Messages never print
        # SymPy expressions: printing orders terms by evaluating them.
        for part in _rational_parts(exp):
            if abs(part) > lim.max_exponent:
                self.fail(f"exponent {_short(part)} too large (limit {lim.max_exponent})", at)
            if part.q > lim.max_exponent:  # SymPy's polys turn x**(p/q) into degree p
                self.fail(f"exponent {_short(part)}: denominator over {lim.max_exponent}", at)
            # Roots count like integer powers: SymPy factors the base to simplify them.
            if _magnitude(base) * max(abs(float(part)), 1.0) >= lim.max_int_digits:
                self.fail(f"power too large: more than {lim.max_int_digits} digits", at)
        if exp.is_Rational and base == 0 and exp < 0:
            self.fail("division by zero (0 to a negative power)", at)
        if exp.is_Rational and base.is_Rational and base < 0 and not exp.is_integer:
            self.fail(f"negative number to the power {_short(exp)} is not real", at)
        return base**exp  # other non-real results are caught by the final check for I


def _short(number: sympy.Rational) -> str:
    # str() of an int over 4300 digits raises ValueError in Python >= 3.11.
    return str(number) if max(number.p.bit_length(), number.q.bit_length()) < 100 else "(huge)"


def _rational_parts(expr: sympy.Expr) -> list[sympy.Rational]:
    """The rational numbers in ``expr`` reachable through sums and products only."""
    parts, stack = [], [expr]
    while stack:
        item = stack.pop()
        if item.is_Rational:
            parts.append(item)
        elif item.is_Add or item.is_Mul:
            stack.extend(item.args)
    return parts


def _magnitude(expr: sympy.Expr) -> float:
    """Upper bound on log10 of the numbers SymPy may multiply out when raising ``expr``.

    SymPy distributes a power over the numeric factors of a product and into powers of
    numbers, but never into sums or function arguments, so only those are visited.
    """
    best, stack = 0.0, [(expr, 1.0)]
    while stack:
        item, scale = stack.pop()
        if item.is_Rational:
            sizes = (math.log10(abs(n)) if n else 0.0 for n in (item.p, item.q))
            best = max(best, scale * max(sizes))
        elif item.is_Mul:
            stack.extend((arg, scale) for arg in item.args)
        elif item.is_Pow and item.exp.is_Rational:
            stack.append((item.base, scale * abs(float(item.exp))))
    return best


_DEFAULT_LIMITS = Limits()


def parse_expression(
    text: str,
    symbols: Mapping[str, sympy.Symbol],
    functions: Mapping[str, Callable[..., sympy.Expr]],
    *,
    where: str | None = None,
    limits: Limits = _DEFAULT_LIMITS,
    suggest: Collection[str] | None = None,
) -> sympy.Expr:
    """Parse one spec expression into SymPy, allowing only a small safe subset of Python.

    Args:
        text: The expression as written by the user, e.g. ``"-(t - y)**2/2"``.
        symbols: The only names a bare identifier may refer to.
        functions: The only names that may be called, each with positional arguments.
        where: Location for error messages, e.g. ``"spec.toml:12"``.
        limits: Size, depth and number limits.
        suggest: Names an unknown symbol may have meant when no declared name is close: if
            exactly one of them is unused here, the message asks about it (default: all
            ``symbols``). A spec passes the leaves no expression uses yet.

    Returns:
        The SymPy expression, built with normal evaluation.

    Raises:
        InvalidInput: Forbidden syntax, unknown names, a limit exceeded, or an undefined,
            infinite or non-real value; the message gives the column.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"expression must be a string, got {type(text).__name__}", where=where)
    if len(text) > limits.max_length:
        message = f"expression too long: {len(text)} characters (limit {limits.max_length})"
        raise InvalidInput(message, where=where)
    if not text.strip():
        raise InvalidInput("empty expression", where=where)
    parser = _Parser(text, symbols, functions, where, limits, suggest)
    tree = parser.parse()
    parser.check(tree)
    try:
        return parser.build(tree)
    except RecursionError:  # inside SymPy's own evaluation; our walks are iterative
        raise InvalidInput("expression too complex to evaluate", where=where) from None

"""A cheap look at a numeric expression before SymPy evaluates it to many digits.

``evalf`` guarantees its digits by raising the working precision as far as the expression
needs, and SymPy calls it even to compare or order numbers. Some valid inputs need absurd
precision: ``exp(log(w) - exp(10**29))`` needs ``exp(10**29)`` to 10^29 bits before the outer
``exp`` is known to one digit, and ``exp(exp(exp(100)))`` likewise; such a run would take
minutes or fill the memory inside C code that a time limit cannot interrupt. Others have no
real value at all (``log`` of a negative number, ``0**-1``), and ``evalf`` then returns a
complex number or ``zoo`` that the rest of the code cannot use.

:func:`check_range` evaluates an expression bottom-up with mpmath at a fixed, low precision,
taking symbols' values from an environment (so SymPy never builds, and so never evaluates, the
substituted expression). Every intermediate value must be real and its magnitude within
10^±:data:`MAX_DECADE`; then every argument of ``exp``, ``log`` and the rest is bounded too, and
``evalf`` on the same expression is cheap. Otherwise :class:`OutOfRange` says what and why:
``complex (log of -0.5)``, ``too large (exp of 1.0e+29)``, ``undefined (division by zero)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import mpmath
import sympy as sp

from symbackprop.errors import InvalidInput

MAX_DECADE = 10_000  # |value| of every intermediate between 10**-MAX_DECADE and 10**MAX_DECADE
MAX_EXACT_DIGITS = 2_000  # digits of the exact rationals SymPy may build for one expression
GUARD_DPS = 30  # digits carried by the look-ahead; signs are decided at this precision

_MP = mpmath.mp
_LIMIT = mpmath.mpf(10) ** MAX_DECADE
_FUNCTIONS = {  # SymPy function → mpmath function of the same name and meaning
    sp.exp: "exp",
    sp.tanh: "tanh",
    sp.sinh: "sinh",
    sp.cosh: "cosh",
    sp.sin: "sin",
    sp.cos: "cos",
    sp.tan: "tan",
    sp.atan: "atan",
    sp.erf: "erf",
}


class OutOfRange(InvalidInput):
    """A numeric expression has no real value of a sane size (exit 2): ``kind`` is complex,
    undefined, too large or too small, ``detail`` the operation (``log of -0.5``)."""

    def __init__(self, kind: str, detail: str = "", *, thing: str = "", at: str = "", **kwargs):
        self.kind, self.detail = kind, detail
        message = f"{thing} is {kind} at {at}" if thing else kind
        super().__init__(f"{message} ({detail})" if detail else message, **kwargs)

    def naming(self, thing: str, at: str) -> OutOfRange:
        """The same problem naming the quantity and the point: ``node 'h' is complex at the
        example values (log of -0.5)``."""
        return OutOfRange(self.kind, self.detail, thing=thing, at=at, where=self.where)


def exact_digits(expr: sp.Basic, env: Mapping[sp.Symbol, sp.Basic] | None = None) -> float:
    """An upper bound on the decimal digits of the exact rationals SymPy builds when it
    substitutes ``env`` into ``expr``: ``z**262144`` of a 17-digit ``z`` has 4.5 million, and
    Python computes such a power in C, out of reach of the time limit. Compare with
    :data:`MAX_EXACT_DIGITS` and evaluate in floating point beyond it."""
    env = env or {}
    stack, values = [(expr, False)], []
    while stack:
        node, ready = stack.pop()
        if not ready and node.args and not node.is_Number:
            stack.append((node, True))
            stack.extend((arg, False) for arg in reversed(node.args))
            continue
        args = values[len(values) - len(node.args) :] if ready else []
        del values[len(values) - len(args) :]
        if node.is_Symbol:
            node = env.get(node, sp.S.Zero)
            node = node if isinstance(node, sp.Basic) else sp.S.Zero
        if node.is_Rational:
            digits = 0.30103 * (int(node.p).bit_length() + int(node.q).bit_length()) + 2
        elif node.is_Pow and node.exp.is_Rational:
            digits = args[0] * max(abs(int(node.exp.p)), 1)
        else:
            digits = sum(args)
        values.append(digits)
    return values[0]


def _show(value) -> str:
    return mpmath.nstr(value, 3, min_fixed=-4, max_fixed=6)


def check_range(expr: sp.Basic, env: Mapping[sp.Symbol, sp.Basic] | None = None) -> None:
    """Raise :class:`OutOfRange` unless ``expr`` (its symbols valued by ``env``) is real, finite
    and of sane size at every step. A symbol with no value is skipped (the caller reports it)."""
    from symbackprop.rules.registry import to_elementary

    env = env or {}
    expr = to_elementary(expr) if expr.has(sp.Function) else expr
    with _MP.workdps(GUARD_DPS):
        stack, values = [(expr, False)], []
        while stack:  # post-order without recursion
            node, ready = stack.pop()
            if not ready and node.args and not node.is_Number:
                stack.append((node, True))
                stack.extend((arg, False) for arg in reversed(node.args))
                continue
            split = len(values) - (len(node.args) if ready else 0)
            args = values[split:]
            del values[split:]
            values.append(None if None in args else _apply(node, args, env))


def _apply(node: sp.Basic, args: list, env: Mapping):
    """The mpmath value of ``node`` from its arguments' values (None: unknown, skip)."""
    if node.is_Rational:
        value = mpmath.mpf(int(node.p)) / int(node.q)
    elif node.is_Float:
        value = mpmath.mpf(node._mpf_)
    elif node.is_Symbol:
        known = env.get(node)
        if isinstance(known, int | float):
            known = sp.Integer(known) if isinstance(known, int) else sp.Float(known)
        if known is None or known.free_symbols:
            return None
        return _apply(known, [], {}) if not known.args else _number(known)
    elif node in (sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise OutOfRange("undefined", "division by zero" if node is sp.zoo else "")
    elif node is sp.I:
        raise OutOfRange("complex", "the imaginary unit")
    elif node.is_NumberSymbol:
        value = mpmath.mpf(node.evalf(GUARD_DPS + 5)._mpf_)
    elif node.is_Add:
        value = mpmath.fsum(args)
    elif node.is_Mul:
        value = mpmath.fprod(args)
    elif node.is_Pow:
        value = _power(*args)
    elif isinstance(node, sp.log):
        if args[0] <= 0:
            raise OutOfRange("undefined" if args[0] == 0 else "complex", f"log of {_show(args[0])}")
        value = mpmath.log(args[0])
    elif node.func in _FUNCTIONS:
        if node.func is sp.exp and abs(args[0]) > MAX_DECADE * 2.31:  # ln 10 < 2.31
            word = "too large" if args[0] > 0 else "too small"
            raise OutOfRange(word, f"exp of {_show(args[0])}")
        value = getattr(mpmath, _FUNCTIONS[node.func])(*args)
    elif isinstance(node, sp.Max | sp.Min):
        value = (max if isinstance(node, sp.Max) else min)(args)
    elif isinstance(node, sp.Heaviside):
        value = mpmath.mpf(1 if args[0] > 0 else 0 if args[0] < 0 else args[1] if args[1:] else 0.5)
    elif isinstance(node, sp.Abs):
        value = abs(args[0])
    elif isinstance(node, sp.sign):
        value = mpmath.sign(args[0])
    else:
        return None  # not modelled (a matrix, a relation): evalf decides as before
    if not isinstance(value, mpmath.mpf):
        raise OutOfRange("complex", f"{node.func.__name__} of {_show(args[0])}")
    if mpmath.isnan(value) or mpmath.isinf(value):
        raise OutOfRange("undefined", f"{node.func.__name__} of {_show(args[0])}")
    if value and not 1 / _LIMIT < abs(value) < _LIMIT:
        word = "too large" if abs(value) > 1 else "too small"
        decade = int(mpmath.floor(mpmath.log10(abs(value))))
        raise OutOfRange(word, f"a value of magnitude 10^{decade}, beyond 10^±{MAX_DECADE}")
    return value


def _number(value: sp.Basic):
    """An environment value that is an expression of numbers (exact, such as exp(1/4))."""
    check_range(value)
    result = sp.N(value, GUARD_DPS)
    return mpmath.mpf(result._mpf_) if result.is_Float else None


def _power(base, exp):
    if base == 0:
        if exp < 0:
            raise OutOfRange("undefined", "division by zero")
        return mpmath.mpf(0) if exp > 0 else mpmath.mpf(1)
    if base < 0 and exp != int(exp):
        raise OutOfRange("complex", f"{_show(base)} to the power {_show(exp)}")
    decades = exp * mpmath.log10(abs(base))
    if abs(decades) > MAX_DECADE:
        word = "too large" if decades > 0 else "too small"
        raise OutOfRange(word, f"{_show(base)} to the power {_show(exp)}")
    return mpmath.power(base, exp)

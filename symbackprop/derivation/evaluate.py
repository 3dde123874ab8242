"""Evaluate a derivation at the worked example's numbers, and format numbers for handouts.

Evaluation is exact where SymPy can be (the spec's decimals are rationals) and otherwise carried
at 40 significant digits, so printed digits are correct digits. Used by the handout (numbers at
every step) and by ``check`` as one of the independent routes to the gradient. Each quantity is
first looked at cheaply (:mod:`derivation.numrange`): one that is complex, undefined or absurdly
large at
the point is an :class:`InvalidInput` naming it, e.g. ``node 'h' is complex at the example
values (log of -0.5)``, instead of minutes of evalf or a complex number in the handout.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Mapping

import sympy as sp

from symbackprop.derivation.equations import Derivation
from symbackprop.derivation.numrange import MAX_EXACT_DIGITS, OutOfRange, check_range, exact_digits

PRECISION = 40


@dataclass(frozen=True)
class Worked:
    """Values of every quantity of a derivation at one point.

    Attributes:
        values: symbol → value for leaves, forward nodes and δ's.
        gradients: parameter → ∂E/∂p.
        updated: parameter → its value after one step.
        by_gradient_symbol: the gradients keyed by their symbols (``dE/dw5``).
    """

    values: dict[sp.Symbol, sp.Expr]
    gradients: dict[sp.Symbol, sp.Expr]
    updated: dict[sp.Symbol, sp.Expr]
    by_gradient_symbol: dict[sp.Symbol, sp.Expr]

    @property
    def all(self) -> dict[sp.Symbol, sp.Expr]:
        """Values of leaves, nodes, δ's and gradient symbols together."""
        return {**self.values, **self.by_gradient_symbol}


def _value(expr: sp.Expr, env: dict[sp.Symbol, sp.Expr]) -> sp.Expr:
    """The value of ``expr``: exact when it is rational, else a Float of PRECISION digits;
    :class:`OutOfRange` when it has no real value of a sane size."""
    check_range(expr, env)  # before SymPy builds the numeric expression and evaluates it
    if exact_digits(expr, env) > MAX_EXACT_DIGITS:  # exact numbers of millions of digits
        env = {s: sp.Float(env[s], PRECISION + 10) for s in expr.free_symbols if s in env}
    exact = expr.xreplace(env).doit()
    if exact.is_Rational:
        return exact
    result = exact.evalf(PRECISION)
    if result.free_symbols:
        names = ", ".join(sorted(s.name for s in result.free_symbols))
        raise ValueError(f"no value for {names}")
    if not result.is_Float:  # what check_range does not model (a Piecewise) may still be so
        raise OutOfRange("complex" if result.is_finite else "undefined", f"value {result}")
    return sp.Float(result, PRECISION)


def evaluate(derivation: Derivation, point: Mapping[sp.Symbol, sp.Expr] | None = None) -> Worked:
    """Evaluate every equation of ``derivation`` in order at ``point`` (default: the example).

    Raises:
        InvalidInput: a quantity is complex, undefined, too large or too small there.
    """
    net = derivation.network
    env: dict[sp.Symbol, sp.Expr] = dict(point if point is not None else net.value_map)
    example = point is None or dict(point) == dict(net.value_map)
    shown = ", ".join(f"{s}={sp.N(v, 3)}" for s, v in list(env.items())[:6])
    at = "the example values" if example else f"the point {shown}"

    def value(expr: sp.Expr, thing: str, values: dict) -> sp.Expr:
        try:
            return _value(expr, values)
        except OutOfRange as err:
            raise err.naming(thing, at) from None

    for eq in derivation.forward:
        env[eq.symbol] = value(eq.expr, f"node '{eq.symbol}'", env)
    for delta in derivation.deltas:
        env[delta.symbol] = value(delta.expr, f"'{delta.symbol}'", env)
    gradients = {
        g.param: value(g.expr, f"the gradient of '{g.param}'", env) for g in derivation.gradients
    }
    grad_env = {derivation.gradient_symbol(p): v for p, v in gradients.items()}
    updated = {
        u.param: value(u.expr, f"the update of '{u.param}'", {**env, **grad_env})
        for u in derivation.updates
    }
    return Worked(env, gradients, updated, grad_env)


def format_number(value: sp.Expr | float | int, digits: int = 9) -> str:
    """``value`` to ``digits`` significant digits, trailing zeros kept (0.358916480).

    Fixed notation between 1e-5 and 1e9, otherwise ``m \\times 10^{e}`` (LaTeX). Exact
    decimals with fewer digits (a spec's 0.15) print as they are.
    """
    if isinstance(value, sp.Rational) and _is_short_decimal(value, digits):
        # exact values with few digits print as written: 0.3775, not 0.377500000
        return _plain(Decimal(int(value.p)) / Decimal(int(value.q)))
    number = Decimal(str(sp.Float(value, PRECISION)))
    if number == 0:
        return "0"
    exponent = number.adjusted()
    quantum = Decimal(1).scaleb(exponent - digits + 1)
    rounded = number.quantize(quantum, rounding=ROUND_HALF_EVEN)
    if rounded.adjusted() != exponent:  # 9.9999 → 10.000: one digit fewer after the point
        exponent = rounded.adjusted()
        rounded = number.quantize(Decimal(1).scaleb(exponent - digits + 1), ROUND_HALF_EVEN)
    if -5 <= exponent < 9:
        return format(rounded, "f")
    mantissa = rounded.scaleb(-exponent)
    return rf"{format(mantissa, 'f')} \times 10^{{{exponent}}}"


def _is_short_decimal(value: sp.Rational, digits: int) -> bool:
    q = int(value.q)
    for prime in (2, 5):
        while q % prime == 0:
            q //= prime
    if q != 1:
        return False
    text = _plain(Decimal(int(value.p)) / Decimal(int(value.q)))
    return len(text.replace("-", "").replace(".", "").lstrip("0")) <= digits


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return text

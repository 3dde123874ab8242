"""Fast numeric values of claim expressions for ``verify``: a walk of the SymPy tree in mpmath.

SymPy's own route (``xreplace`` then ``evalf``) builds a new expression for every value and
costs milliseconds; this walk computes the same number at ``DPS`` digits in microseconds,
sharing the values of repeated subtrees. It covers what claims and derivations are made of
(sums, products, powers, exp, log, tanh, the registry's activations, Abs, Max, Min,
Piecewise, Heaviside, comparisons). Anything else, and anything that could be out of range
(exp of more than ``MAX_EXP``, a log or a fractional power of a number <= 0, a magnitude past
``MAX_MAGNITUDE``), raises :class:`Slow`: the caller then takes SymPy's route, whose range
checks name the problem.
"""

from __future__ import annotations

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import expm1

from symbackprop.rules import registry as rules

DPS = 60
MAX_EXP = 10_000
_CTX = mpmath.MPContext()
_CTX.dps = DPS
MAX_MAGNITUDE = _CTX.mpf(10) ** 10_000
_T = sp.Symbol("t_fast")


class Slow(Exception):  # noqa: N818 - a signal to take the slow, checked route
    """This expression is left to SymPy's evaluation (see the module docstring)."""


def mpf(value: sp.Basic) -> object:
    """A SymPy number (or an mpf, a float) as an mpf of this module's context."""
    if isinstance(value, (int, float)) or type(value).__name__ == "mpf":
        return _CTX.mpf(value)
    if value.is_Integer:
        return _CTX.mpf(int(value))
    if value.is_Rational:
        return _CTX.mpf(int(value.p)) / int(value.q)
    if value.is_Float:
        return _CTX.mpf(value._mpf_)
    if value is sp.E:
        return _CTX.e
    if value is sp.pi:
        return _CTX.pi
    if value.is_number:
        number = value.evalf(DPS)
        if number.is_Float:
            return _CTX.mpf(number._mpf_)
    raise Slow(type(value).__name__)


def to_sympy(value: object, prec: int) -> sp.Float:
    return sp.Float(value, prec)


_DEFINITIONS: dict[str, sp.Expr] = {}


def _definition(rule: object) -> sp.Expr:
    if rule.name not in _DEFINITIONS:
        _DEFINITIONS[rule.name] = rule.definition(_T)
    return _DEFINITIONS[rule.name]


class Evaluator:
    """Values of expressions at one point: ``lookup(symbol)`` gives a leaf's SymPy value."""

    def __init__(self, lookup):  # noqa: ANN001 - a function of a Symbol
        self.lookup = lookup
        self.leaves: dict[sp.Symbol, object] = {}
        self.memo: dict[sp.Basic, object] = {}  # values of subtrees, shared across calls

    def value(self, expr: sp.Basic) -> object:
        with _CTX.workdps(DPS):
            return self._walk(expr, self.memo)

    def set(self, sym: sp.Symbol, value: object) -> None:
        """Give a leaf its value (an mpf): the quantities of a derivation, in order."""
        self.leaves[sym] = value

    def _leaf(self, sym: sp.Symbol) -> object:
        if sym not in self.leaves:
            try:
                found = self.lookup(sym)
            except KeyError:
                raise Slow(sym.name) from None
            self.leaves[sym] = mpf(found)
        return self.leaves[sym]

    def _walk(self, e: sp.Basic, memo: dict) -> object:  # noqa: C901, PLR0911, PLR0912
        if e.is_Symbol:
            return self._leaf(e)
        if e.is_Number or e.is_NumberSymbol:
            return mpf(e)
        if e in memo:
            return memo[e]
        args = [self._walk(a, memo) for a in e.args] if not isinstance(e, sp.Piecewise) else []
        ctx = _CTX
        if e.is_Add:
            out = ctx.fsum(args)
        elif e.is_Mul:
            out = args[0]
            for a in args[1:]:
                out = out * a
        elif e.is_Pow:
            base, exp = args
            if base == 0 and exp <= 0:
                raise Slow("0 to a power <= 0")
            if base < 0 and not e.exp.is_Integer:
                raise Slow("a fractional power of a negative number")
            out = ctx.power(base, exp)
        elif isinstance(e, sp.exp):
            if abs(args[0]) > MAX_EXP:
                raise Slow("exp of a large number")
            out = ctx.exp(args[0])
        elif isinstance(e, sp.log):
            if args[0] <= 0:
                raise Slow("log of a number <= 0")
            out = ctx.log(args[0])
        elif isinstance(e, sp.tanh):
            out = ctx.tanh(args[0])
        elif isinstance(e, expm1):
            out = ctx.expm1(args[0])
        elif isinstance(e, sp.Abs):
            out = abs(args[0])
        elif isinstance(e, sp.sign):
            out = ctx.mpf(ctx.sign(args[0]))
        elif isinstance(e, sp.Max):
            out = max(args)
        elif isinstance(e, sp.Min):
            out = min(args)
        elif isinstance(e, sp.Heaviside):
            x = args[0]
            half = args[1] if len(args) > 1 else ctx.mpf(0)
            out = ctx.mpf(1) if x > 0 else ctx.mpf(0) if x < 0 else half
        elif isinstance(e, (sp.StrictGreaterThan, sp.GreaterThan, sp.StrictLessThan, sp.LessThan)):
            ops = {
                sp.StrictGreaterThan: lambda a, b: a > b,
                sp.GreaterThan: lambda a, b: a >= b,
                sp.StrictLessThan: lambda a, b: a < b,
                sp.LessThan: lambda a, b: a <= b,
            }
            out = ops[type(e)](*args)
        elif isinstance(e, sp.Piecewise):
            out = None
            for piece, cond in e.args:
                if cond == sp.true or self._walk(cond, memo):
                    out = self._walk(piece, memo)
                    break
            if out is None:
                raise Slow("a Piecewise without a true branch")
        elif isinstance(e, rules.ActivationBase):
            inner = Evaluator(self.lookup)
            inner.leaves[_T] = args[0]
            out = inner._walk(_definition(e.rule), {})
        else:
            raise Slow(type(e).__name__)
        if not isinstance(out, bool) and (
            not ctx.isfinite(out) or abs(out) > MAX_MAGNITUDE or ctx.im(out) != 0
        ):
            raise Slow("out of range")
        memo[e] = out
        return out

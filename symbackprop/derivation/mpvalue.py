"""Evaluate a per-unit rule of the derivation (f', ∂C/∂a, the fused δ^L, a registry definition)
at mpmath numbers: the small tree walker that the worked layer-level values
(:mod:`derivation.layer_values`) and ``symbackprop check`` (:mod:`check.layer`) share."""

from __future__ import annotations

import mpmath
import sympy as sp

from symbackprop.rules import registry as rules

# SymPy functions of one argument and their mpmath counterparts (the derivation's rules and
# the registry's definitions use no others; ``expm1`` is the code's form, via numeric_kernels).
_MP_FUNCTIONS = {
    "exp": mpmath.exp,
    "log": mpmath.log,
    "tanh": mpmath.tanh,
    "expm1": mpmath.expm1,
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "erf": mpmath.erf,
    "Abs": abs,
}
_MP_RELATIONS = {
    sp.StrictGreaterThan: lambda p, q: p > q,
    sp.GreaterThan: lambda p, q: p >= q,
    sp.StrictLessThan: lambda p, q: p < q,
    sp.LessThan: lambda p, q: p <= q,
}


def mp_value(expr: sp.Expr, env: dict[sp.Symbol, mpmath.mpf]) -> mpmath.mpf:
    """Evaluate a per-unit rule at mpmath numbers: arithmetic, the functions of
    ``_MP_FUNCTIONS``, Max, Min, Heaviside, Piecewise, comparisons and registry activations
    (through their elementary definitions)."""
    if expr.is_Symbol:
        return env[expr]
    if expr.is_Rational:
        return mpmath.mpf(int(expr.p)) / int(expr.q)
    if expr.is_Number:
        return mpmath.mpf(str(expr))
    if expr.is_NumberSymbol:  # pi, E
        return mpmath.mpf(str(expr.evalf(mpmath.mp.dps + 10)))
    if isinstance(expr, sp.Piecewise):
        for piece in expr.args:
            if piece.cond == sp.true or mp_value(piece.cond, env):
                return mp_value(piece.expr, env)
        raise ValueError("no piece of a Piecewise holds")  # pragma: no cover
    if isinstance(expr, rules.ActivationBase):
        t = sp.Symbol("t_arg")
        return mp_value(expr.rule.definition(t), {t: mp_value(expr.args[0], env)})
    args = [mp_value(arg, env) for arg in expr.args]
    if expr.is_Add:
        return mpmath.fsum(args)
    if expr.is_Mul:
        return mpmath.fprod(args)
    if expr.is_Pow:
        return args[0] ** args[1]
    if type(expr) in _MP_RELATIONS:
        return _MP_RELATIONS[type(expr)](*args)
    if isinstance(expr, sp.Max):
        return max(args)
    if isinstance(expr, sp.Min):
        return min(args)
    if isinstance(expr, sp.Heaviside):
        h0 = args[1] if len(args) > 1 else mpmath.mpf(0)
        return mpmath.mpf(1) if args[0] > 0 else (mpmath.mpf(0) if args[0] < 0 else h0)
    name = type(expr).__name__
    if name in _MP_FUNCTIONS and len(args) == 1:
        return _MP_FUNCTIONS[name](args[0])
    raise TypeError(f"cannot evaluate {name}")  # pragma: no cover

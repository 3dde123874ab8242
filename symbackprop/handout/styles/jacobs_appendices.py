"""Jacobs' appendices as data: the output δ of a Bernoulli and of a multinomial log-likelihood.

Appendix A (binary classification): one logistic output unit, ``y = σ(s)``, and
``log L = y* log y + (1 − y*) log(1 − y)``; step by step, ``∂log L/∂s = y* − y``.
Appendix B (multiway classification): softmax outputs ``y_i = e^{s_i} / Σ_k e^{s_k}``, their
Jacobian ``∂y_k/∂s_i = y_k(δ_ik − y_i)`` with the Kronecker δ, ``log L = Σ_k y*_k log y_k``, and
through the sum over every output ``∂log L/∂s_i = y*_i − y_i`` (using ``Σ_k y*_k = 1``).

Each derivation is a list of SymPy expressions written in the shape the page shows (sums and
products unevaluated); consecutive ones are equal, which the tests check with SymPy against
``sympy.diff`` of the log-likelihood itself (the Bernoulli one with ``y = σ(s)`` put in, the
softmax one expanded at three classes). The symbols are passed in, so one derivation prints in
the lecture's letters (``y``, ``y*``, ``s``) or in Nielsen's (``a^L``, ``y``, ``z^L``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symbackprop.printers.printing import NotationLatexPrinter
from symbackprop.rules.registry import _mul, _sub


def _add(*terms: sp.Expr) -> sp.Expr:
    return sp.Add(*terms, evaluate=False)


def _div(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    return sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False)


@dataclass(frozen=True)
class Bernoulli:
    """Appendix A for one logistic output ``y = σ(s)`` with target ``t`` (Jacobs' y*).

    Attributes:
        loglik: ``log L`` of one pattern, ``t log y + (1 − t) log(1 − y)``.
        logistic: ``σ(s) = 1/(1 + e^{−s})``, the output as a function of its net input.
        complement: ``1 − σ(s)`` written as ``e^{−s}/(1 + e^{−s})`` (used in ``dy_ds``).
        dlogl_dy: ``∂log L/∂y``, as SymPy's derivative and as written (eq. 31).
        dy_ds: ``∂y/∂s``: the derivative of ``logistic``, split as ``σ(s) · e^{−s}/(1 + e^{−s})``,
            then in terms of ``y`` (eq. 33), since ``1 − y = e^{−s}/(1 + e^{−s})``.
        dlogl_ds: the chain ``∂log L/∂y · ∂y/∂s``, multiplied out, then ``t − y``.
    """

    y: sp.Symbol
    t: sp.Symbol
    s: sp.Symbol
    loglik: sp.Expr
    logistic: sp.Expr
    complement: sp.Expr
    dlogl_dy: tuple[sp.Expr, ...]
    dy_ds: tuple[sp.Expr, ...]
    dlogl_ds: tuple[sp.Expr, ...]


def bernoulli(y: sp.Symbol, t: sp.Symbol, s: sp.Symbol) -> Bernoulli:
    one = sp.Integer(1)
    loglik = _add(_mul(t, sp.log(y)), _mul(_sub(one, t), sp.log(_sub(one, y))))
    denominator = _add(one, sp.exp(-s))
    logistic = sp.Pow(denominator, -1, evaluate=False)
    ratio = _sub(_div(t, y), _div(_sub(one, t), _sub(one, y)))
    local = _mul(y, _sub(one, y))
    dlogl_dy = (ratio,)
    dy_ds = (
        _div(sp.exp(-s), sp.Pow(denominator, 2, evaluate=False)),
        # two fractions side by side (a plain product would print as one fraction)
        _mul(sp.UnevaluatedExpr(logistic), sp.UnevaluatedExpr(_div(sp.exp(-s), denominator))),
        local,
    )
    dlogl_ds = (
        _mul(ratio, local),
        _sub(_mul(t, _sub(one, y)), _mul(_sub(one, t), y)),
        _sub(_add(t, _mul(-1, t, y)), _add(y, _mul(-1, t, y))),
        _sub(t, y),
    )
    complement = _div(sp.exp(-s), denominator)
    return Bernoulli(y, t, s, loglik, logistic, complement, dlogl_dy, dy_ds, dlogl_ds)


@dataclass(frozen=True)
class Softmax:
    """Appendix B for ``K`` softmax outputs (indexed ``y[k]``, ``t[k]``, ``s[k]``).

    Attributes:
        density: ``p(t | x) = Π_k y_k^{t_k}`` (eq. 35).
        output: ``y_i = e^{s_i} / Σ_k e^{s_k}`` (eq. 37).
        jacobian: ``∂y_k/∂s_i = y_k(δ_ik − y_i)`` (the step in eq. 40).
        loglik: ``Σ_k t_k log y_k`` (eq. 36, one pattern).
        chain: ``∂log L/∂s_i`` from the sum over every output (eq. 39, 40) down to
            ``t_i − y_i``; the last step uses ``Σ_k t_k = 1``.
    """

    y: sp.IndexedBase
    t: sp.IndexedBase
    s: sp.IndexedBase
    i: sp.Symbol
    k: sp.Symbol
    K: sp.Symbol
    density: sp.Expr
    output: sp.Expr
    jacobian: sp.Expr
    loglik: sp.Expr
    chain: tuple[sp.Expr, ...]


def softmax(y: str, t: str, s: str) -> Softmax:
    """The softmax derivation over indexed bases named ``y``, ``t``, ``s`` (their printed
    names: ``ystar`` prints ``y^{*}`` in Jacobs' notation, ``a__L`` prints ``a^{L}``)."""
    Y, T, S = sp.IndexedBase(y), sp.IndexedBase(t), sp.IndexedBase(s)
    i, k = sp.symbols("i k", integer=True, positive=True)
    K = sp.Symbol("K", integer=True, positive=True)

    def total(expr):
        return sp.Sum(expr, (k, 1, K))

    kron = sp.KroneckerDelta(i, k, evaluate=False)
    density = sp.Product(sp.Pow(Y[k], T[k], evaluate=False), (k, 1, K))
    output = _div(sp.exp(S[i]), total(sp.exp(S[k])))
    jacobian = _mul(Y[k], _sub(kron, Y[i]))
    loglik = total(_mul(T[k], sp.log(Y[k])))
    chain = (
        total(_mul(_div(T[k], Y[k]), jacobian)),
        total(_mul(T[k], _sub(kron, Y[i]))),
        _sub(total(_mul(T[k], kron)), _mul(Y[i], total(T[k]))),
        _sub(T[i], _mul(Y[i], total(T[k]))),
        _sub(T[i], Y[i]),
    )
    return Softmax(Y, T, S, i, k, K, density, output, jacobian, loglik, chain)


class IndexedLatexPrinter(NotationLatexPrinter):
    """A notation printer that prints ``y[k]`` as the symbol ``y_k`` would print (so an
    indexed base named ``ystar`` prints ``y^{*}_{k}`` in Jacobs' notation) and ``Σ_k``, ``Π_k``
    without their limits, as the lecture writes them."""

    def _print_Indexed(self, expr) -> str:
        index = "".join(str(i) for i in expr.indices)
        return self._print(sp.Symbol(f"{expr.base.label.name}_{index}"))

    def _print_Pow(self, expr) -> str:
        if isinstance(expr.base, sp.Indexed) and "^" in self._print(expr.base):
            return rf"{{{self._print(expr.base)}}}^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr)

    def _print_Sum(self, expr) -> str:
        (var, _, _), body = expr.limits[0], expr.function
        if body.could_extract_minus_sign():
            return "- " + self._print(sp.Sum(-body, *expr.limits))
        inner = self._print(body)
        if body.is_Add:
            inner = rf"\left({inner}\right)"
        return rf"\sum_{{{self._print(var)}}} {inner}"

    def _print_Product(self, expr) -> str:
        (var, _, _), body = expr.limits[0], expr.function
        return rf"\prod_{{{self._print(var)}}} {self._print(body)}"

    def _print_KroneckerDelta(self, expr, exp=None) -> str:
        i, j = (self._print(a) for a in expr.args)
        return rf"\delta_{{{i}{j}}}"

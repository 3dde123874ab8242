"""The quantities of a layer-level net at random points, in float64, for ``verify``.

At each of ``POINTS`` points (parameters and input uniform in [−1, 1], targets as
:func:`check.layer.random_point` draws them: normalised rows for the fused softmax losses, whose
δ^L = a^L − y needs Σ_j y_j = 1) this computes, for one example (a batch of one, so the mean and
the sum reductions agree): z^l, a^l (a^0 = x), δ^l, ∂C/∂a^l, ∂C/∂W^l, ∂C/∂b^l, f_l'(z^l) and C,
from the derivation's own per-unit rules (BP1 as :mod:`derivation.layer` states it, f' from the
activation registry) by matrix products over every unit at once.

Each array comes with a *magnitude*: a bound, of the same shape, on the absolute values of the
terms that were added and multiplied to make it (|W| |a| + |b| for z = W a + b, and so on).
Rounding in float64 is at most a small multiple of 2⁻⁵³ times that, so ``verify`` compares the
two sides of a claim within ``REL_TOL`` (1e-10, about 5·10⁵ units of rounding) times the sum
of their magnitudes. For a rule r(z, a, y) (f', ∂C/∂a^L, δ^L) the magnitude is
|r| + |∂r/∂z| m_z + |∂r/∂a| m_a + |∂r/∂y| m_y, from the rule's own derivatives.

The gradients are checked once against :func:`check.layer.derived_gradients` (the same
equations evaluated at 30 digits by another route) on nets of at most ``CROSS_CHECK_PARAMS``
parameters (784-30-10 has 23,860; that check takes about 1.5 s there and grows with the size);
a difference is an internal error.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1

from symbackprop import budget
from symbackprop.check.layer import derived_gradients, random_point
from symbackprop.derivation.layer import LayerDerivation, derive_layers
from symbackprop.rules import registry as rules
from symbackprop.rules.layer_losses import SOFTMAX, activation_derivative, activation_value
from symbackprop.rules.layer_losses import a as a_sym
from symbackprop.rules.layer_losses import y as y_sym
from symbackprop.rules.layer_losses import z as z_sym

POINTS = 3
CROSS_CHECK_PARAMS = 50_000


def np_value(expr: sp.Expr, env: dict) -> np.ndarray:
    """A per-unit rule evaluated elementwise on arrays (Add, Mul, Pow, exp, log, tanh, Max,
    Heaviside, registry activations): :func:`derivation.mpvalue.mp_value`'s walk, for NumPy."""
    if expr.is_Symbol:
        return env[expr]
    if expr.is_Number or expr.is_NumberSymbol:
        return np.float64(float(expr))
    if expr == sp.true:
        return np.True_
    if isinstance(expr, sp.Piecewise):
        conds = [np_value(c, env) if c != sp.true else np.True_ for _, c in expr.args]
        values = [np_value(e, env) for e, _ in expr.args]
        shape = np.broadcast_shapes(*(np.shape(v) for v in values + conds))
        return np.select([np.broadcast_to(c, shape) for c in conds], values, default=np.nan)
    if isinstance(expr, sp.DiracDelta):  # the derivative of a step: 0 away from the kink
        return np.zeros_like(np_value(expr.args[0], env), dtype=float)
    args = [np_value(arg, env) for arg in expr.args]
    if expr.is_Add:
        return sum(args[1:], args[0])
    if expr.is_Mul:
        out = args[0]
        for arg in args[1:]:
            out = out * arg
        return out
    if expr.is_Pow:
        return np.power(args[0], args[1])
    table = {
        sp.exp: np.exp,
        sp.log: np.log,
        sp.tanh: np.tanh,
        sp.Abs: np.abs,
        sp.sign: np.sign,
        expm1: np.expm1,
        sp.sinh: np.sinh,
        sp.cosh: np.cosh,
    }
    if type(expr) in table:
        return table[type(expr)](args[0])
    relations = {
        sp.StrictGreaterThan: np.greater,
        sp.GreaterThan: np.greater_equal,
        sp.StrictLessThan: np.less,
        sp.LessThan: np.less_equal,
    }
    if type(expr) in relations:
        return relations[type(expr)](args[0], args[1])
    if isinstance(expr, sp.Max):
        return np.maximum.reduce(np.broadcast_arrays(*args))
    if isinstance(expr, sp.Min):
        return np.minimum.reduce(np.broadcast_arrays(*args))
    if isinstance(expr, sp.Heaviside):
        return np.heaviside(args[0], args[1] if len(args) > 1 else 0.0)
    if isinstance(expr, rules.ActivationBase):
        t = sp.Symbol("t_arg")
        return np_value(expr.rule.definition(t), {t: args[0]})
    raise TypeError(f"cannot evaluate {type(expr).__name__}")  # pragma: no cover


def elementwise(expr: sp.Expr):  # noqa: ANN201 - a NumPy function of (z, a, y)
    """``expr`` (in the registry's z, a, y) as a vectorised NumPy function of (z, a, y)."""
    rule = rules.to_elementary(expr)
    return lambda zv, av, yv: np_value(rule, {z_sym: zv, a_sym: av, y_sym: yv})


def sensitivity(expr: sp.Expr):  # noqa: ANN201 - a NumPy function of (z, a, y, mz, ma, my)
    """A rounding bound for ``expr`` (in z, a, y): |∂e/∂z| m_z + |∂e/∂a| m_a + |∂e/∂y| m_y + |e|,
    where m_q bounds the rounding scale of each input."""
    parts = [elementwise(sp.diff(rules.to_elementary(expr), s)) for s in (z_sym, a_sym, y_sym)]
    value = elementwise(expr)

    def bound(zv, av, yv, mz, ma, my):  # noqa: ANN001, ANN202
        out = np.abs(np.broadcast_to(value(zv, av, yv), np.shape(av)))
        for part, m in zip(parts, (mz, ma, my), strict=True):
            out = out + np.abs(np.broadcast_to(part(zv, av, yv), np.shape(av))) * m
        return out

    return bound


def activation_pair(name: str):  # noqa: ANN201 - (f, f') as NumPy functions
    """f(u) and f'(u) of an elementwise activation (a registry name or ``linear``)."""
    value = elementwise(activation_value(name, z_sym))
    slope = elementwise(activation_derivative(name))

    def f(u: np.ndarray) -> np.ndarray:
        return np.broadcast_to(value(u, 0.0, 0.0), np.shape(u)).astype(float)

    def fprime(u: np.ndarray) -> np.ndarray:
        return np.broadcast_to(slope(u, f(u), 0.0), np.shape(u)).astype(float)

    return f, fprime


def softmax(u: np.ndarray) -> np.ndarray:
    e = np.exp(u - u.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class LayerValues:
    """Arrays with a leading axis of points: ``W[l]`` (P, n_l, n_{l−1}), vectors (P, n)."""

    derivation: LayerDerivation
    W: dict = field(default_factory=dict)
    b: dict = field(default_factory=dict)
    z: dict = field(default_factory=dict)
    a: dict = field(default_factory=dict)  # a[0] is x
    y: np.ndarray | None = None
    delta: dict = field(default_factory=dict)
    dCda: dict = field(default_factory=dict)  # ∂C/∂a^l, l = 0 … L
    gW: dict = field(default_factory=dict)
    gb: dict = field(default_factory=dict)
    fprime: dict = field(default_factory=dict)  # f_l'(z^l); absent for softmax
    C: np.ndarray | None = None
    mag: dict = field(default_factory=dict)  # (kind, l) -> magnitude array

    @property
    def net(self):  # noqa: ANN201
        return self.derivation.net


def compute(
    net, points: int = POINTS, seed: int = 0, cross_check: bool = True, drawn: list | None = None
) -> LayerValues:
    """Every quantity of ``net`` at ``points`` random points (see the module docstring), or at
    the points ``drawn`` ((params, x batch, t batch) each: the spec's worked example)."""
    n = budget.layer_params(net.sizes)
    cross_check = cross_check and n <= CROSS_CHECK_PARAMS
    budget.require(
        f"verify on '{net.name}'",
        memory=8 * 10 * n * points + 3 * budget.MPF_BYTES * n,
        seconds=points * 20 * n * budget.FLOP_SECONDS
        + (3 * n * budget.MPF_SECONDS if cross_check else 0)
        + net.depth * budget.LAYER_SECONDS,
    )
    d = derive_layers(net)
    rng = np.random.default_rng(seed)
    if drawn is None:
        drawn = [random_point(net, rng, batch=1) for _ in range(points)]
    v = LayerValues(d)
    L = net.depth
    for l in range(1, L + 1):
        v.W[l] = np.stack([p[f"W{l}"] for p, _, _ in drawn])
        v.b[l] = np.stack([p[f"b{l}"] for p, _, _ in drawn])
        v.mag["w", l], v.mag["b", l] = np.abs(v.W[l]), np.abs(v.b[l])
    v.a[0] = np.stack([x[0] for _, x, _ in drawn])
    v.y = np.stack([t[0] for _, _, t in drawn])
    v.mag["a", 0], v.mag["y", 0] = np.abs(v.a[0]), np.abs(v.y)
    for l in range(1, L + 1):  # forward
        v.z[l] = np.einsum("pjk,pk->pj", v.W[l], v.a[l - 1]) + v.b[l]
        v.mag["z", l] = np.einsum("pjk,pk->pj", v.mag["w", l], v.mag["a", l - 1]) + v.mag["b", l]
        f = net.activations[l - 1]
        if f == SOFTMAX:
            v.a[l] = softmax(v.z[l])
            v.mag["a", l] = v.a[l] * (1 + 2 * v.mag["z", l])
        else:
            fn, fp = activation_pair(f)
            v.a[l], v.fprime[l] = fn(v.z[l]), fp(v.z[l])
            v.mag["a", l] = np.abs(v.a[l]) + np.abs(v.fprime[l]) * v.mag["z", l]
            fp_bound = sensitivity(activation_derivative(f))
            v.mag["fp", l] = fp_bound(v.z[l], v.a[l], 0.0, v.mag["z", l], v.mag["a", l], 0.0)
    rule, aL, zL, y = d.output, v.a[L], v.z[L], v.y
    v.dCda[L] = np.broadcast_to(elementwise(rule.dC_da)(zL, aL, y), aL.shape).astype(float)
    ms = (v.mag["z", L], v.mag["a", L], v.mag["y", 0])
    v.mag["dCda", L] = sensitivity(rule.dC_da)(zL, aL, y, *ms)
    if rule.delta is not None:  # BP1 as the derivation states it (fused where it simplifies)
        v.delta[L] = np.broadcast_to(elementwise(rule.delta)(zL, aL, y), aL.shape).astype(float)
    else:  # the softmax Jacobian: δ_j = a_j (g_j − Σ_k a_k g_k)
        g = v.dCda[L]
        v.delta[L] = aL * (g - np.sum(aL * g, axis=1, keepdims=True))
    if rule.delta is not None:
        v.mag["delta", L] = sensitivity(rule.delta)(zL, aL, y, *ms)
    else:
        m_g = v.mag["dCda", L]
        spread = m_g + np.sum(v.mag["a", L] * np.abs(g) + aL * m_g, axis=1, keepdims=True)
        v.mag["delta", L] = v.mag["a", L] * (np.abs(g) + spread) + np.abs(v.delta[L])
    for l in range(L - 1, -1, -1):  # BP2, and ∂C/∂a^l = (W^{l+1})^T δ^{l+1}
        up, mup = v.delta[l + 1], v.mag["delta", l + 1]
        v.dCda[l] = np.einsum("pkj,pk->pj", v.W[l + 1], up)
        v.mag["dCda", l] = np.einsum("pkj,pk->pj", v.mag["w", l + 1], mup)
        if l >= 1:
            v.delta[l] = v.dCda[l] * v.fprime[l]
            v.mag["delta", l] = v.mag["dCda", l] * v.mag["fp", l]
    lam = net.weight_decay
    sign = -1.0 if rule.maximize else 1.0
    for l in range(1, L + 1):  # BP3, BP4 (with the decay term the derivation adds)
        v.gb[l], v.mag["gb", l] = v.delta[l], v.mag["delta", l]
        outer = np.einsum("pj,pk->pjk", v.delta[l], v.a[l - 1])
        v.gW[l] = outer + sign * lam * v.W[l]
        v.mag["gw", l] = (
            np.einsum("pj,pk->pjk", v.mag["delta", l], v.mag["a", l - 1]) + lam * v.mag["w", l]
        )
    term = elementwise(rules.loss(net.loss).term(a_sym, y_sym))
    terms = np.broadcast_to(term(zL, aL, y), aL.shape)
    decay = sum(np.sum(v.W[l] ** 2, axis=(1, 2)) for l in range(1, L + 1))
    v.C = np.sum(terms, axis=1) + sign * lam / 2 * decay
    v.mag["C", 0] = np.sum(np.abs(terms) + v.mag["dCda", L], axis=1) + lam * decay
    if cross_check:
        _cross_check(v, drawn[0])
    return v


def _cross_check(v: LayerValues, point: tuple) -> None:
    """The gradients at the first point against check.layer's 30-digit evaluation."""
    params, x, t = point
    with mpmath.workdps(30):
        exact = derived_gradients(v.derivation, params, x, t)
    for l in range(1, v.net.depth + 1):
        for mine, theirs, m in (
            (v.gW[l][0], exact[f"W{l}"], v.mag["gw", l][0]),
            (v.gb[l][0], exact[f"b{l}"], v.mag["gb", l][0]),
        ):
            if np.any(np.abs(mine - theirs) > 1e-9 * (m + np.abs(theirs)) + 1e-300):
                raise RuntimeError(f"verify: layer {l} gradients disagree with check.layer")

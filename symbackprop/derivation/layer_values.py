"""One worked example of a layer-level net: BP1–BP4 and one update, evaluated at 30 digits.

The route is the one :mod:`check.layer` takes (the derivation's own per-unit rules, f', ∂C/∂a and
the fused δ^L, evaluated by :func:`derivation.mpvalue.mp_value`; the sums of F, BP2 and BP4 written
out), kept here with every intermediate: z^l and a^l of the forward pass, δ^L (BP1), δ^l (BP2),
∂C/∂b^l (BP3) and ∂C/∂W^l (BP4), then one step of the net's optimizer from a zero state on this
example alone (a batch of one, so the L2 term's λ/n is λ). The generated module plays no part.

The example is the first row of the spec's ``[data]``, or (without data) the first row of the
synthetic set the handout's training curve uses; the parameters are those of the generated
module's ``init_params(seed=0)`` — w ~ N(0, 1/n_{l−1}) from NumPy's ``default_rng(0)``, biases
0 — drawn here the same way (:func:`initial_params`), so the example starts where the curve does,
except for the entries the spec's ``[values]`` gives (:func:`example_params`).
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from symbackprop.derivation.layer import LayerDerivation
from symbackprop.derivation.mpvalue import mp_value
from symbackprop.rules import optimizers as opt
from symbackprop.rules import registry as rules
from symbackprop.rules.layer_losses import SOFTMAX, activation_value
from symbackprop.rules.layer_losses import a as a_sym
from symbackprop.rules.layer_losses import y as y_sym
from symbackprop.rules.layer_losses import z as z_sym
from symbackprop.rules.optimizers import optimizer

DIGITS = 30
Vector = list  # of mpmath.mpf
Matrix = list  # of rows of mpmath.mpf


@dataclass(frozen=True)
class WorkedLayer:
    """Layer l of the example: its parameters before and after the step, and every value."""

    layer: int
    activation: str
    W: Matrix  # noqa: N815 - the maths' name
    b: Vector
    z: Vector
    a: Vector
    delta: Vector
    grad_W: Matrix  # noqa: N815 - BP4, with the L2 term when the net has one
    grad_b: Vector  # BP3
    new_W: Matrix  # noqa: N815
    new_b: Vector


@dataclass(frozen=True)
class WorkedExample:
    """The example (x, y), its layers from 1 to L, the cost before and after the step."""

    x: Vector
    y: Vector
    layers: tuple[WorkedLayer, ...]
    cost: mpmath.mpf
    cost_after: mpmath.mpf
    maximize: bool
    one_hot_ok: bool  # False when a fused softmax δ^L = a − y meets a target not summing to 1


def initial_params(sizes) -> dict[str, np.ndarray]:
    """The generated module's ``init_params(seed=0)``: w ~ N(0, 1/n_{l−1}), biases 0."""
    rng = np.random.default_rng(0)
    params = {}
    for l in range(1, len(sizes)):
        scale = 1.0 / np.sqrt(sizes[l - 1])
        params[f"W{l}"] = rng.standard_normal((sizes[l], sizes[l - 1])) * scale
        params[f"b{l}"] = np.zeros(sizes[l])
    return params


def example_params(net) -> dict[str, np.ndarray]:
    """The worked example's parameters: :func:`initial_params`, with the entries the spec's
    ``[values]`` gives put in their places."""
    params = initial_params(net.sizes)
    for (name, index), value in net.values:
        params[name][index] = value
    return params


def _mp(values) -> list:
    return [mpmath.mpf(float(v)) for v in values]


def _forward(d: LayerDerivation, Ws, bs, x):
    """z^l and a^l for l = 1 … L (F_l), and the cost of the example without the L2 term."""
    net = d.net
    acts, pres = [x], [None]
    for l in range(1, net.depth + 1):
        W, b = Ws[l - 1], bs[l - 1]
        zs = [mpmath.fsum(w * av for w, av in zip(row, acts[-1])) + bj for row, bj in zip(W, b)]
        f = net.activations[l - 1]
        if f == SOFTMAX:
            top = max(zs)
            es = [mpmath.exp(zj - top) for zj in zs]
            total = mpmath.fsum(es)
            acts.append([e / total for e in es])
        else:
            acts.append([mp_value(activation_value(f, z_sym), {z_sym: zj}) for zj in zs])
        pres.append(zs)
    return pres, acts


def bp_values(d: LayerDerivation, Ws, bs, x, y):
    """z^l, a^l (F_l) and δ^l (BP1, BP2) of one example at mpmath numbers: the derivation's own
    per-unit rules evaluated, the sums written out. ``Ws``/``bs`` are nested lists by layer."""
    net = d.net
    L = net.depth
    pres, acts = _forward(d, Ws, bs, x)
    rule = d.output
    units = range(net.sizes[L])

    def at(jj):
        return {a_sym: acts[L][jj], y_sym: y[jj], z_sym: pres[L][jj]}

    if rule.delta is not None:  # BP1, specialised (fused where the pair simplifies)
        top = [mp_value(rule.delta, at(jj)) for jj in units]
    else:  # BP1 through the softmax Jacobian
        g = [mp_value(rule.dC_da, at(jj)) for jj in units]
        mean = mpmath.fsum(av * gv for av, gv in zip(acts[L], g))
        top = [acts[L][jj] * (g[jj] - mean) for jj in units]
    deltas = {L: top}
    for dl in d.deltas[1:]:  # BP2, from L − 1 down
        l, W = dl.layer, Ws[dl.layer]
        up = deltas[l + 1]
        deltas[l] = [
            mpmath.fsum(W[kk][jj] * up[kk] for kk in range(len(up)))
            * mp_value(dl.fprime, {z_sym: pres[l][jj], a_sym: acts[l][jj]})
            for jj in range(net.sizes[l])
        ]
    return pres, acts, deltas


def _cost(d: LayerDerivation, a_out, y, Ws):
    """C of the example: Σ_j ℓ(a^L_j, y_j), with ± λ/2 Σ w² (a batch of one)."""
    term = rules.loss(d.net.loss).term(a_sym, y_sym)
    cost = mpmath.fsum(mp_value(term, {a_sym: aj, y_sym: yj}) for aj, yj in zip(a_out, y))
    lam = mpmath.mpf(d.net.weight_decay)
    if lam:
        squares = mpmath.fsum(w * w for W in Ws for row in W for w in row)
        cost += (-1 if d.output.maximize else 1) * lam / 2 * squares
    return cost


def _step(rule, settings: dict, rate, theta, g):
    """θ after the first step (zero state, step 1) of an optimizer rule for one entry: the rule's
    own updates (:mod:`rules.optimizers`) evaluated in order on mpmath numbers."""
    scope = {sp.Symbol(k, real=True): v for k, v in settings.items()}
    scope.update({opt.p: theta, opt.g: g, opt.lr: rate, opt.step: mpmath.mpf(1)})
    scope.update({sp.Symbol(s, real=True): mpmath.mpf(0) for s in rule.state})
    for target, expr in rule.updates:
        scope[target] = mp_value(expr, scope)
    return scope[opt.p]


def worked_example(
    d: LayerDerivation, params: dict[str, np.ndarray], x, t, *, digits: int = DIGITS
) -> WorkedExample:
    """Every value of BP1–BP4 and one optimizer step at (params, x, t), at ``digits`` digits."""
    net = d.net
    L = net.depth
    with mpmath.workdps(digits):
        Ws = [[_mp(row) for row in np.atleast_2d(params[f"W{l}"])] for l in range(1, L + 1)]
        bs = [_mp(params[f"b{l}"]) for l in range(1, L + 1)]
        xs, ys = _mp(x), _mp(t)
        pres, acts, deltas = bp_values(d, Ws, bs, xs, ys)
        rule = d.output
        lam = mpmath.mpf(net.weight_decay)
        sign = -1 if rule.maximize else 1
        settings = {k: mpmath.mpf(v) for k, v in net.optimizer.settings}
        update_rule = optimizer(net.optimizer.name)
        rate = mpmath.mpf(net.learning_rate)
        layers, new_Ws, new_bs = [], [], []

        def step(theta, grad):
            # The optimizer minimises: for a log-likelihood it is given g = −∂ log L/∂θ.
            return _step(update_rule, settings, rate, theta, sign * grad)

        for l in range(1, L + 1):
            W, b, dls = Ws[l - 1], bs[l - 1], deltas[l]
            grad_b = list(dls)  # BP3
            grad_W = [  # BP4, plus the L2 term's ± λ w (n = 1)
                [av * dj + (sign * lam * w if lam else 0) for av, w in zip(acts[l - 1], row)]
                for dj, row in zip(dls, W)
            ]
            # The optimizer minimises: for a log-likelihood it is given g = −∂ log L/∂θ.
            new_W = [[step(w, gw) for w, gw in zip(r, gr)] for r, gr in zip(W, grad_W)]
            new_b = [step(bj, gb) for bj, gb in zip(b, grad_b)]
            new_Ws.append(new_W)
            new_bs.append(new_b)
            layers.append(
                WorkedLayer(
                    l,
                    net.activations[l - 1],
                    W,
                    b,
                    pres[l],
                    acts[l],
                    dls,
                    grad_W,
                    grad_b,
                    new_W,
                    new_b,
                )
            )
        cost = _cost(d, acts[L], ys, Ws)
        _, after = _forward(d, new_Ws, new_bs, xs)
        cost_after = _cost(d, after[L], ys, new_Ws)
        one_hot_ok = not (
            rule.activation == SOFTMAX
            and rule.fused
            and abs(mpmath.fsum(ys) - 1) > mpmath.mpf(10) ** (-12)
        )
    return WorkedExample(xs, ys, tuple(layers), cost, cost_after, rule.maximize, one_hot_ok)


def is_finite(example: WorkedExample) -> bool:
    """True when every value of the example is a finite number."""
    values = [example.cost, example.cost_after]
    for lay in example.layers:
        values += lay.z + lay.a + lay.delta + lay.grad_b + lay.new_b
        values += [v for rows in (lay.grad_W, lay.new_W) for row in rows for v in row]
    return all(mpmath.isfinite(v) for v in values)


def example_cost(sizes) -> float:
    """Multiply-adds at 30 digits: forward twice, BP2, BP4 and the step, per weight."""
    n = sum(sizes[i] * sizes[i - 1] + sizes[i] for i in range(1, len(sizes)))
    return 8.0 * n

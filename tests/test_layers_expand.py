"""Every layer-level equation = unit-level sympy.diff, expanded at small concrete sizes.

The oracle here is built independently of :mod:`derivation.layer`: plain symbols per unit,
each activation's and loss's elementary definition, and ``sympy.diff``. Values are compared at
random points to 25 digits (ReLU kinks have probability zero at random points).
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import random

import pytest
import sympy as sp

from symbackprop.derivation.layer import LayerNet, derive_layers
from symbackprop.derivation.layer_expand import expand_delta, expand_gradients, unit_symbol
from symbackprop.rules import registry as rules
from symbackprop.rules.layer_losses import SOFTMAX, softmax_value

LAM = sp.Symbol("lambda")
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "softplus"]


def _activate(name, zs):
    if name == SOFTMAX:
        return [softmax_value(i, zs) for i in range(len(zs))]
    if name == "linear":
        return list(zs)
    return [rules.activation(name).definition(zj) for zj in zs]


def _upward(net, start_layer, below):
    """Unit-level outputs a^L from the activations ``below`` of layer start_layer − 1."""
    acts = below
    for l in range(start_layer, net.depth + 1):
        zs = [
            sum(
                unit_symbol(f"w__{l}", (jj, kk)) * acts[kk - 1]
                for kk in range(1, net.sizes[l - 1] + 1)
            )
            + unit_symbol(f"b__{l}", (jj,))
            for jj in range(1, net.sizes[l] + 1)
        ]
        acts = _activate(net.activations[l - 1], zs)
    return acts


def _cost(net, outputs):
    term = rules.loss(net.loss).term
    ys = [unit_symbol("y", (jj,)) for jj in range(1, net.sizes[-1] + 1)]
    cost = sum(term(aj, yj).doit() for aj, yj in zip(outputs, ys))
    if net.weight_decay:
        weights = [
            unit_symbol(f"w__{l}", (jj, kk))
            for l in range(1, net.depth + 1)
            for jj in range(1, net.sizes[l] + 1)
            for kk in range(1, net.sizes[l - 1] + 1)
        ]
        cost += LAM / 2 * sum(w**2 for w in weights)
    return cost


def _point(net, seed):
    rng = random.Random(seed)
    point = {LAM: sp.Rational(3, 10)}
    for l in range(1, net.depth + 1):
        for jj in range(1, net.sizes[l] + 1):
            point[unit_symbol(f"b__{l}", (jj,))] = sp.Rational(rng.randint(-90, 90), 100)
            for kk in range(1, net.sizes[l - 1] + 1):
                point[unit_symbol(f"w__{l}", (jj, kk))] = sp.Rational(rng.randint(-90, 90), 100)
    for kk in range(1, net.sizes[0] + 1):
        point[unit_symbol("x", (kk,))] = sp.Rational(rng.randint(-100, 100), 100)
    ys = [sp.Rational(rng.randint(5, 95), 100) for _ in range(net.sizes[-1])]
    if net.activations[-1] == SOFTMAX:  # the fused δ^L = a − y needs Σ y = 1
        ys = [v / sum(ys) for v in ys]
    for jj, v in enumerate(ys, start=1):
        point[unit_symbol("y", (jj,))] = v
    return point


def _close(left, right, point):
    # Floats of 40 digits: SymPy then evaluates while substituting (registry functions through
    # their elementary definitions) instead of simplifying exact exponentials of rationals.
    floats = {s: sp.Float(v, 40) for s, v in point.items()}
    lv = sp.N(left.xreplace(floats), 30)
    rv = sp.N(right.xreplace(floats), 30)
    assert abs(lv - rv) <= 1e-25 * max(1, abs(rv)), (lv, rv)


def _net(sizes, hidden, out, loss, decay=0.0):
    acts = (hidden,) * (len(sizes) - 2) + (out,)
    return LayerNet("t", tuple(sizes), acts, loss, weight_decay=decay)


def _output_for(loss, hidden):
    return {
        "bce": "sigmoid",
        "bernoulli_loglik": "sigmoid",
        "cross_entropy": SOFTMAX,
        "multinomial_loglik": SOFTMAX,
    }.get(loss, hidden)


LOSSES = (
    "half_sse",
    "bce",
    "cross_entropy",
    "bernoulli_loglik",
    "multinomial_loglik",
    "gaussian_loglik",
)
# Every activation (hidden and output) and every loss at 3-4-3; all the other pairs at 2-2-2,
# which proves the same index equations at lower cost.
CASES = [((3, 4, 3), h, h, "half_sse", 0.0) for h in HIDDEN]
CASES += [((3, 4, 3), "tanh", _output_for(loss, "tanh"), loss, 0.0) for loss in LOSSES[1:]]
CASES += [
    ((2, 2, 2), h, _output_for(loss, h), loss, 0.0)
    for h in HIDDEN
    for loss in LOSSES
    if (h, loss) != ("tanh", "half_sse")
]
CASES = [c for i, c in enumerate(CASES) if c[:2] != ((2, 2, 2), "tanh") or i < 0]
CASES += [
    ((3, 4, 3), "sigmoid", SOFTMAX, "half_sse", 0.0),
    ((2, 3, 3), "relu", SOFTMAX, "gaussian_loglik", 0.0),
    ((3, 4, 3), "sigmoid", "sigmoid", "half_sse", 0.5),
    ((2, 3, 2, 2), "tanh", SOFTMAX, "cross_entropy", 0.1),
    ((2, 2, 3, 2, 2), "softplus", "sigmoid", "bce", 0.0),
    ((3, 3), "sigmoid", "linear", "half_sse", 0.0),
]


@pytest.mark.parametrize("sizes, hidden, out, loss, decay", CASES)
def test_bp3_bp4_equal_unit_level_diff(sizes, hidden, out, loss, decay):
    net = _net(sizes, hidden, out, loss, decay)
    derivation = derive_layers(net)
    cost = _cost(net, _upward(net, 1, [unit_symbol("x", (kk,)) for kk in range(1, sizes[0] + 1)]))
    point = _point(net, hash((sizes, hidden, loss)) % 1000)
    for param, expr in expand_gradients(derivation).items():
        _close(expr, sp.diff(cost, param), point)


@pytest.mark.parametrize("sizes, hidden, out, loss, decay", CASES[::3] + CASES[-6:])
@pytest.mark.parametrize("general", [False, True])
def test_bp1_bp2_equal_unit_level_diff(sizes, hidden, out, loss, decay, general):
    net = _net(sizes, hidden, out, loss, decay)
    derivation = derive_layers(net)
    inputs = [unit_symbol("x", (kk,)) for kk in range(1, sizes[0] + 1)]
    point = _point(net, 7)
    for layer in range(1, net.depth + 1):
        zs = [sp.Symbol(f"Z_{jj}", real=True) for jj in range(1, sizes[layer] + 1)]
        acts = _activate(net.activations[layer - 1], zs)
        cost = _cost(net, _upward(net, layer + 1, acts))
        # the unit-level z^layer as a function of the inputs, to put δ in the same variables
        lower = inputs
        for l in range(1, layer + 1):
            pre = [
                sum(
                    unit_symbol(f"w__{l}", (jj, kk)) * lower[kk - 1]
                    for kk in range(1, sizes[l - 1] + 1)
                )
                + unit_symbol(f"b__{l}", (jj,))
                for jj in range(1, sizes[l] + 1)
            ]
            lower = _activate(net.activations[l - 1], pre)
        for jj in range(1, sizes[layer] + 1):
            oracle = sp.diff(cost, zs[jj - 1]).xreplace(dict(zip(zs, pre)))
            _close(expand_delta(derivation, layer, jj, general=general), oracle, point)


def test_fused_softmax_delta_needs_targets_summing_to_one():
    net = _net((2, 3), "tanh", SOFTMAX, "cross_entropy")
    derivation = derive_layers(net)
    inputs = [unit_symbol("x", (kk,)) for kk in (1, 2)]
    cost = _cost(net, _upward(net, 1, inputs))
    point = _point(net, 3)
    point[unit_symbol("y", (1,))] += sp.Rational(1, 2)  # Σ y = 3/2: the fused form is wrong
    param = unit_symbol("b__1", (1,))
    floats = {s: sp.Float(v, 40) for s, v in point.items()}
    fused = sp.N(expand_gradients(derivation)[param].xreplace(floats), 30)
    exact = sp.N(sp.diff(cost, param).xreplace(floats), 30)
    assert abs(fused - exact) > 1e-3

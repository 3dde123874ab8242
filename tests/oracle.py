"""Independent oracles shared by the tests.

``expanded_gradients`` never looks at the δ-recursion: it substitutes every node's definition
into the loss (activations replaced by their elementary formulas) and applies ``sympy.diff`` to
the result, then evaluates at the point with 40 digits.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from symbackprop.model.layered import LayerSpec, build_layered
from symbackprop.model.network import Network
from symbackprop.rules.registry import to_elementary


def expanded_loss(network: Network) -> sp.Expr:
    expr = network.node(network.loss).expr
    definitions = {n.symbol: to_elementary(n.expr.doit()) for n in network.nodes}
    for node in reversed(network.nodes[:-1]):
        expr = expr.xreplace({node.symbol: definitions[node.symbol]})
        definitions = {
            k: v.xreplace({node.symbol: definitions[node.symbol]}) for k, v in definitions.items()
        }
    return to_elementary(expr.doit())


def expanded_gradients(network: Network, point: dict) -> dict[sp.Symbol, sp.Float]:
    loss = expanded_loss(network)
    out = {}
    for p in network.params:
        out[p] = sp.N(sp.diff(loss, p).xreplace(point), 40)
    return out


def random_point(network: Network, seed: int) -> dict[sp.Symbol, sp.Rational]:
    """Exact rational values for every leaf, away from ReLU kinks with probability one."""
    rng = np.random.default_rng(seed)

    def value(low: float, high: float) -> sp.Rational:
        return sp.Rational(int(rng.integers(low * 1000, high * 1000)), 1000)

    point = {s: value(-1, 1) for s in (*network.params, *network.inputs)}
    point.update({s: value(0.05, 0.95) for s in network.targets})
    point[network.learning_rate] = sp.Rational(1, 10)
    return point


def small_net(
    sizes: tuple[int, ...], activation: str, notation: str = "mazur", bias: str = "unit"
) -> Network:
    layers = [LayerSpec(n, activation, bias) for n in sizes[1:]]
    return build_layered(name="t", inputs=sizes[0], layers=layers, notation=notation)


def _forward_loss(network: Network, point: dict, digits: int) -> sp.Float:
    """The loss at ``point`` by a forward pass: each node's elementary definition evaluated at
    ``digits`` digits from the values of the nodes before it."""
    env = dict(point)
    for node in network.nodes:
        env[node.symbol] = sp.N(to_elementary(node.expr.doit()).xreplace(env), digits)
    return env[network.loss]


def finite_difference_gradients(
    network: Network, point: dict, *, digits: int = 80, step: str = "1e-25"
) -> dict[sp.Symbol, sp.Float]:
    """Central differences of the loss at ``digits`` digits with step h: error O(h²) ≈ 1e-50
    relative, exact far beyond float64. For activations whose expanded loss sympy.diff cannot
    handle in reasonable time (GELU's cubic nested under tanh, layer after layer)."""
    h = sp.Float(step, digits)
    out = {}
    for p in network.params:
        plus = _forward_loss(network, {**point, p: point[p] + h}, digits)
        minus = _forward_loss(network, {**point, p: point[p] - h}, digits)
        out[p] = (plus - minus) / (2 * h)
    return out

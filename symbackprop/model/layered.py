"""Builder for layered (fully connected) networks at unit level.

Given the input width and, per layer, a width, an activation and a bias mode, it writes every
unit as SymPy nodes in a notation preset's names: ``net_h1 = w1 i1 + w2 i2 + b1`` (kept in the
order written, so handouts read like the notes) and ``out_h1 = σ(net_h1)``; then one loss node
from the loss rule. Weights are numbered layer by layer, destination unit first, then source
unit (Mazur's w1: i1→h1, w2: i2→h1, w3: i1→h2 …).

Bias modes: ``"unit"`` one bias per unit, ``"shared"`` one bias per layer shared by its units
(seed 000's b1, b2), ``"none"``.

A softmax output layer (``activation = "softmax"``, output layer only, at least 2 units) writes
``a_k = e^{z_k} / Σ_j e^{z_j}`` for each unit, with the local derivatives
``∂a_i/∂z_k = a_i(δ_ik − a_k)`` as textbook forms (seed 003 appendix B). With cross-entropy or
the multinomial log-likelihood (softmax), or binary cross-entropy or the Bernoulli
log-likelihood (sigmoid), the network records the pairing (:class:`MatchedOutput`) and the
derivation simplifies the output δ to ``a − y``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import sympy as sp

from symbackprop.errors import InvalidInput
from symbackprop.model.network import Layout, MatchedOutput, Network, Node, build_network
from symbackprop.model.notation import Notation, Unit, preset
from symbackprop.rules import registry as rules

BIAS_MODES = ("unit", "shared", "none")
SOFTMAX = "softmax"  # an output layer, not a registry activation: each a_k depends on every z_j
# Losses that take the log of the outputs, and the output activation that makes them
# probabilities (and cancels in the output δ). Another output is allowed, with a warning.
_PROBABILITY_OUTPUT = {
    "bce": ("sigmoid", "outputs in (0, 1)"),
    "bernoulli_loglik": ("sigmoid", "outputs in (0, 1)"),
    "cross_entropy": ("softmax", "outputs that are probabilities summing to 1"),
    "multinomial_loglik": ("softmax", "outputs that are probabilities summing to 1"),
}
MAX_UNITS = 100_000


@dataclass(frozen=True)
class LayerSpec:
    """One non-input layer: its width, activation name and bias mode."""

    units: int
    activation: str = "sigmoid"
    bias: str = "unit"


def _check_layers(n_inputs: int, layers: Sequence[LayerSpec]) -> None:
    if not layers:
        raise InvalidInput("a network needs at least one layer after the inputs")
    widths = [("inputs", n_inputs)] + [
        (f"layer {i + 1} units", s.units) for i, s in enumerate(layers)
    ]
    for what, width in widths:
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise InvalidInput(f"{what} must be an integer >= 1, got {width!r}")
    total = sum(w for _, w in widths)
    if total > MAX_UNITS:
        raise InvalidInput(f"{total} units is more than the limit of {MAX_UNITS}")
    for i, spec in enumerate(layers):
        if spec.activation == SOFTMAX:
            if i != len(layers) - 1:
                raise InvalidInput("softmax is an output activation only", where=f"layer {i + 1}")
            if spec.units < 2:
                raise InvalidInput(
                    "a softmax over 1 unit is always 1,"
                    " so the loss would not depend on the weights",
                    where=f"layer {i + 1}",
                    hint='use at least 2 output units, or a sigmoid output with loss = "bce"',
                )
        elif spec.activation != rules.LINEAR:
            rules.activation(spec.activation, where=f"layer {i + 1}")
        if spec.bias not in BIAS_MODES:
            raise InvalidInput(
                f"layer {i + 1}: bias must be one of {', '.join(BIAS_MODES)}, got {spec.bias!r}"
            )


def _units(n_inputs: int, layers: Sequence[LayerSpec]) -> list[list[Unit]]:
    widths = [n_inputs] + [s.units for s in layers]
    depth = len(layers)
    grid: list[list[Unit]] = []
    number = 0
    for layer, width in enumerate(widths):
        row = []
        for j in range(1, width + 1):
            number += 1
            row.append(Unit(layer, j, number, layer == depth, width, depth))
        grid.append(row)
    return grid


def _textbook_sum(terms: list[sp.Expr]) -> sp.Expr:
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


def softmax_nodes(pres: Sequence[sp.Symbol], outs: Sequence[sp.Symbol], units: Sequence[str]):
    """The nodes ``a_i = e^{z_i} / Σ_k e^{z_k}`` of a softmax layer, each with its local
    derivatives ``∂a_i/∂z_k = a_i(δ_ik − a_k)``: ``a_i(1 − a_i)`` for k = i, ``−a_i a_k`` else."""
    total = sp.Add(*[sp.exp(z) for z in pres], evaluate=False)
    nodes = []
    for i, (z_i, a_i) in enumerate(zip(pres, outs)):
        expr = sp.Mul(sp.exp(z_i), sp.Pow(total, -1, evaluate=False), evaluate=False)
        local = tuple(
            (
                z_k,
                (
                    rules._mul(a_i, rules._sub(sp.Integer(1), a_k))
                    if k == i
                    else rules._neg(rules._mul(a_i, a_k))
                ),
            )
            for k, (z_k, a_k) in enumerate(zip(pres, outs))
        )
        nodes.append(Node(a_i, expr, unit=units[i], local=local, softmax=True))
    return nodes


_MATCHED = {
    (SOFTMAX, "cross_entropy"),
    (SOFTMAX, "multinomial_loglik"),
    ("sigmoid", "bce"),
    ("sigmoid", "bernoulli_loglik"),
}


def build_layered(
    *,
    name: str,
    inputs: int,
    layers: Sequence[LayerSpec],
    loss: str = "half_sse",
    notation: str | Notation = "mazur",
    values: Mapping[str, object] | None = None,
    title: str = "",
    reduction: str = "sum",
) -> Network:
    """Build a fully connected network at unit level in a notation preset.

    Args:
        name: the network's name.
        inputs: number of input units.
        layers: the non-input layers, first hidden to output.
        loss: a loss rule name from :mod:`rules.registry`.
        notation: a preset name or object from :mod:`model.notation`.
        values: worked-example numbers keyed by the preset's names.
        reduction: how a batch combines per-example losses: ``"sum"`` or ``"mean"``.
    """
    _check_layers(inputs, layers)
    style = preset(notation) if isinstance(notation, str) else notation
    loss_rule = rules.loss(loss)
    grid = _units(inputs, layers)

    input_syms = [sp.Symbol(style.input(u)) for u in grid[0]]
    params: list[str] = []
    nodes: list[Node] = []
    edges: list[tuple[str, str, str]] = []
    biases: list[tuple[str, tuple[str, ...]]] = []
    below = input_syms
    count = 0
    for spec, row, prev in zip(layers, grid[1:], grid):
        shared = sp.Symbol(style.bias(None, row[0].layer)) if spec.bias == "shared" else None
        layer_biases = [] if shared is None else [shared.name]
        if shared is not None:
            biases.append((shared.name, tuple(style.label(u) for u in row)))
        linear = spec.activation == rules.LINEAR
        softmax = spec.activation == SOFTMAX
        outs, pres = [], []
        for u in row:
            terms = []
            for src_unit, src in zip(prev, below):
                count += 1
                w = sp.Symbol(style.weight(u, src_unit, count))
                params.append(w.name)
                edges.append((style.label(src_unit), style.label(u), w.name))
                terms.append(sp.Mul(w, src, evaluate=False))
            bias = shared
            if spec.bias == "unit":
                bias = sp.Symbol(style.bias(u, u.layer))
                layer_biases.append(bias.name)
                biases.append((bias.name, (style.label(u),)))
            if bias is not None:
                terms.append(bias)
            out = sp.Symbol(style.act(u))
            if linear and style.merge_linear:
                nodes.append(Node(out, _textbook_sum(terms), unit=style.label(u)))
            else:
                pre = sp.Symbol(style.pre(u))
                pres.append(pre)
                nodes.append(Node(pre, _textbook_sum(terms), unit=style.label(u)))
                if not softmax:
                    f = pre if linear else rules.activation(spec.activation).function(pre)
                    nodes.append(Node(out, f, unit=style.label(u)))
            outs.append(out)
        if softmax:
            nodes.extend(softmax_nodes(pres, outs, [style.label(u) for u in row]))
        params.extend(layer_biases)  # weights first, then biases: the notes' order
        below = outs

    targets = [sp.Symbol(style.target(u)) for u in grid[-1]]
    loss_terms = [loss_rule.term(y, t) for y, t in zip(below, targets)]
    local = tuple((y, loss_rule.dterm(y, t, style.error_form)) for y, t in zip(below, targets))
    loss_node = Node(sp.Symbol(style.loss_name), _textbook_sum(loss_terms), local=local)
    output = layers[-1].activation
    matched = None
    if (output, loss) in _MATCHED:
        matched = MatchedOutput(output, loss, tuple(pres), tuple(below), tuple(targets))
    layout = Layout(
        columns=tuple(tuple(style.label(u) for u in row) for row in grid),
        edges=tuple(edges),
        biases=tuple(biases),
    )
    network = build_network(
        name=name,
        inputs=input_syms,
        targets=targets,
        params=params,
        nodes=nodes,
        loss=loss_node,
        learning_rate=style.rate_name,
        maximize=loss_rule.maximize,
        values=values,
        notation=style,
        title=title,
        layout=layout,
        reduction=reduction,
        matched=matched,
    )
    needed = _PROBABILITY_OUTPUT.get(loss)
    if needed is not None and output != needed[0]:
        warning = (
            f"loss '{loss}' takes the log of {needed[1]} (a {needed[0]} output layer),"
            f" but the output layer is '{output}'"
        )
        network = replace(network, warnings=(*network.warnings, warning))
    return network

"""Fausett's index form of backpropagation for a unit-level net, in the net's notation.

The lecture (after L. Fausett, ch. 6) states the algorithm for one unit of each kind: k an
output unit, j a hidden unit, i a unit feeding j (an input, or the bias unit 0 whose output is
1)::

    δ_k = (y_k − t_k) f'(x_k)            δ_j = f'(x_j) Σ_k W_jk δ_k
    Δw_ij = −α δ_j y_i                    Δw_0j = −α δ_j

Here each rule is data: an :class:`IndexRule` holds its generic SymPy expression, whose symbols
are the notation's names of a generic unit (``y_k``, ``W_{jk}``; Mazur's ``out_o``,
``w_{ho}``), and :meth:`IndexForm.instances` substitutes every concrete unit of the net, so the
tests compare each rule with the derivation's own δ's, gradients and updates. The generic names
come from the notation preset's own naming methods (:mod:`model.notation`) called on units whose
index is a letter, so no notation is spelt out here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from symbackprop.derivation.layer import _rebuilt  # keeps the order terms are written in
from symbackprop.model.notation import Unit
from symbackprop.rules import registry as rules

LINEAR = rules.LINEAR


class _Letter(int):
    """A unit index that prints as a letter (``k``) and compares as the small number 1, so a
    notation's ``f"y_{u.number}"`` gives ``y_k`` and its ``max(...) > 9`` test stays false."""

    letter: str

    def __new__(cls, letter: str):
        obj = super().__new__(cls, 1)
        obj.letter = letter
        return obj

    def __format__(self, spec: str) -> str:
        return self.letter

    def __str__(self) -> str:
        return self.letter


@dataclass(frozen=True)
class Role:
    """One of the lecture's unit kinds: its index letter, layer, activation and units."""

    letter: str  # the letter as printed in sums (k, or Mazur's o)
    layer: int
    activation: str  # registry name, "linear" or "softmax"
    labels: tuple[str, ...]  # the net's units of this kind, by label


@dataclass(frozen=True)
class IndexRule:
    """``lhs = factor × Σ_{over} summand`` (no sum when ``over`` is None), generic; for an
    update (``name`` ``update_…`` or ``bias_…``) ``lhs`` is the weight and the rule gives its
    change Δw.

    ``roles`` lists the letters whose units the rule is stated for (``("k",)`` for δ_k,
    ``("i", "j")`` for Δw_ij).
    """

    name: str
    lhs: sp.Expr
    factor: sp.Expr
    summand: sp.Expr | None = None
    over: str | None = None
    roles: tuple[str, ...] = ()


@dataclass
class IndexForm:
    """The rules for one net, with the names of its generic and concrete units."""

    notation: object
    roles: dict[str, Role]
    rules: list[IndexRule]
    generic: dict[str, dict[str, sp.Symbol]]  # letter → {"pre", "act", "target", "delta", ...}
    concrete: dict[str, dict[str, sp.Symbol]]  # unit label → the same keys
    weights: dict[tuple[str, str], sp.Symbol]  # (src label, dst label) → weight
    generic_weights: dict[tuple[str, str], sp.Symbol]  # (letter, letter) → generic weight
    shared_bias: dict[int, sp.Symbol] = field(default_factory=dict)  # layer → shared bias

    def substitution(self, units: dict[str, str]) -> dict[sp.Symbol, sp.Symbol]:
        """generic → concrete symbols for the letters of ``units`` (letter → unit label)."""
        sub = {}
        for letter, label in units.items():
            for key, sym in self.generic[letter].items():
                if key in self.concrete[label]:
                    sub[sym] = self.concrete[label][key]
        for (a, b), sym in self.generic_weights.items():
            if a in units and b in units and (units[a], units[b]) in self.weights:
                sub[sym] = self.weights[(units[a], units[b])]
        return sub

    def instance(self, rule: IndexRule, units: dict[str, str]) -> tuple[sp.Expr, sp.Expr]:
        """``(lhs, rhs)`` of ``rule`` for concrete units (the sum over every unit of its kind
        that the unit feeds)."""
        sub = self.substitution(units)
        rhs = rule.factor.xreplace(sub)
        if rule.summand is not None:
            terms = []
            for label in self.roles[rule.over].labels:
                inner = {**units, rule.over: label}
                if all((inner[a], inner[b]) in self.weights for a, b in self._pairs(rule)):
                    terms.append(rule.summand.xreplace(self.substitution(inner)))
            rhs = rhs * sp.Add(*terms)
        return rule.lhs.xreplace(sub), rhs

    def _pairs(self, rule: IndexRule) -> list[tuple[str, str]]:
        found = rule.summand.free_symbols if rule.summand is not None else set()
        return [pair for pair, sym in self.generic_weights.items() if sym in found]


def _units_of(net) -> list[list[Unit]]:
    """The layout's columns as notation units (numbered as the layered builder numbers them)."""
    columns = net.layout.columns
    depth = len(columns) - 1
    grid, number = [], 0
    for layer, column in enumerate(columns):
        row = []
        for j in range(1, len(column) + 1):
            number += 1
            row.append(Unit(layer, j, number, layer == depth, len(column), depth))
        grid.append(row)
    return grid


def _names(notation, u: Unit) -> dict[str, sp.Symbol]:
    """A unit's quantities by role, in the notation."""
    label = notation.label(u)
    if u.layer == 0:
        return {"act": sp.Symbol(notation.input(u))}
    names = {
        "pre": sp.Symbol(notation.pre(u)),
        "act": sp.Symbol(notation.act(u)),
        "delta": sp.Symbol(notation.delta(label)),
    }
    if u.last:
        names["target"] = sp.Symbol(notation.target(u))
    return names


def _generic_unit(notation, layer: int, width: int, depth: int, letter: str) -> Unit:
    index = _Letter("" if notation.labelled_indices else letter)
    return Unit(layer, index, index, layer == depth, width, depth)


def _weight_name(notation, dst: Unit, src: Unit) -> sp.Symbol:
    """The notation's weight from ``src`` to ``dst``; a notation that numbers its weights
    (Mazur's w5) is written ``w_{src dst}`` with the units' letters."""
    name = notation.weight(dst, src, 987654)
    if "987654" in name:
        name = f"w_{notation.label(src)}{notation.label(dst)}"
    return sp.Symbol(name)


def _activation_of_layer(net, labels: tuple[str, ...]) -> str:
    """The activation of a layer's units, from its first unit's nodes."""
    label = labels[0]
    nodes = [n for n in net.nodes if n.unit == label]
    if any(n.softmax for n in nodes):
        return "softmax"
    for node in nodes:
        rule = rules.activation_of(node.expr)
        if rule is not None:
            return rule.name
    return LINEAR


def f_prime(activation: str, pre: sp.Symbol, act: sp.Symbol) -> sp.Expr:
    """f'(x) in the textbook's form (σ' = y(1 − y), tanh' = 1 − y²; linear 1)."""
    if activation == LINEAR:
        return sp.Integer(1)
    return rules.activation(activation).derivative(pre, act)


def index_form(derivation) -> IndexForm | None:
    """The rules for a layered unit-level net; None for a net given as a graph."""
    net = derivation.network
    layout = net.layout
    if layout is None or len(layout.columns) < 2:
        return None
    notation = net.notation
    grid = _units_of(net)
    depth = len(grid) - 1
    labels = [tuple(notation.label(u) for u in row) for row in grid]
    if tuple(labels) != tuple(layout.columns):
        return None  # units not named by this notation's layered builder
    letters = ("i", "j", "k") if depth >= 2 else ("i", "k")
    layers = (depth - 2, depth - 1, depth) if depth >= 2 else (0, 1)
    roles, generic_units = {}, {}
    for letter, layer in zip(letters, layers):
        u = _generic_unit(notation, layer, len(grid[layer]), depth, letter)
        generic_units[letter] = u
        shown = notation.label(u) if notation.labelled_indices else letter
        activation = _activation_of_layer(net, labels[layer]) if layer > 0 else LINEAR
        roles[letter] = Role(shown, layer, activation, labels[layer])
    generic = {letter: _names(notation, u) for letter, u in generic_units.items()}
    concrete = {}
    for row in grid:
        for u in row:
            concrete[notation.label(u)] = _names(notation, u)
    # the δ's as the derivation names them (by the unit of the net input they belong to)
    for delta in derivation.deltas:
        unit = net.node(delta.of).unit
        if unit in concrete:
            concrete[unit]["delta"] = delta.symbol
    weights = {(src, dst): sp.Symbol(p) for src, dst, p in layout.edges}
    pairs = [(letters[n], letters[n + 1]) for n in range(len(letters) - 1)]
    generic_weights = {
        (a, b): _weight_name(notation, generic_units[b], generic_units[a]) for a, b in pairs
    }
    shared, per_unit = {}, {}
    for name, units in layout.biases:
        if len(units) > 1:
            layer = next(n for n, col in enumerate(labels) if units[0] in col)
            shared[layer] = sp.Symbol(name)
        else:
            per_unit[units[0]] = sp.Symbol(name)
    for label, sym in per_unit.items():
        concrete[label]["bias"] = sym
    for letter, u in generic_units.items():
        if u.layer > 0 and any(lab in per_unit for lab in roles[letter].labels):
            generic[letter]["bias"] = sp.Symbol(notation.bias(u, u.layer))
    form = IndexForm(notation, roles, [], generic, concrete, weights, generic_weights, shared)
    form.rules = _rules(derivation, form, letters)
    return form


def _output_delta(derivation, form: IndexForm, k: str) -> sp.Expr:
    """δ_k: the loss's derivative (the loss node's own rule for the first output, renamed to
    the generic unit) times f'(x_k); for a matched output layer the simplified y_k − t_k."""
    net = derivation.network
    g = form.generic[k]
    y, t = g["act"], g["target"]
    if net.matched is not None:  # the loss cancels the output's f' (derivation.simplification)
        return rules._sub(t, y) if net.maximize else rules._sub(y, t)
    first = form.concrete[form.roles[k].labels[0]]
    error = net.node(net.loss).local[0][1]
    error = _rebuilt(error, {first["act"]: y, first["target"]: t}.get)
    slope = f_prime(form.roles[k].activation, g["pre"], y)
    return rules._mul(error, *(slope.args if slope.is_Mul else (slope,)))


def _rules(derivation, form: IndexForm, letters: tuple[str, ...]) -> list[IndexRule]:
    net = derivation.network
    rate = net.learning_rate
    sign = 1 if net.maximize else -1
    k = letters[-1]
    g = form.generic
    out = [IndexRule("delta_k", g[k]["delta"], _output_delta(derivation, form, k), roles=(k,))]
    if len(letters) == 3:
        j = letters[1]
        factor = f_prime(form.roles[j].activation, g[j]["pre"], g[j]["act"])
        summand = sp.Mul(form.generic_weights[(j, k)], g[k]["delta"], evaluate=False)
        out.append(IndexRule("delta_j", g[j]["delta"], factor, summand, k, roles=(j,)))
    feeds = [(letters[n], letters[n + 1]) for n in range(len(letters) - 1)]
    for src, dst in reversed(feeds):
        weight = form.generic_weights[(src, dst)]
        change = rules._mul(sign, rate, g[dst]["delta"], g[src]["act"])
        out.append(IndexRule(f"update_{src}{dst}", weight, change, roles=(src, dst)))
        if "bias" in g[dst]:
            change = rules._mul(sign, rate, g[dst]["delta"])
            out.append(IndexRule(f"bias_{dst}", g[dst]["bias"], change, roles=(dst,)))
    return out

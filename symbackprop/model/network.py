"""The network: a DAG of named SymPy nodes, validated once.

A network has inputs, targets and parameters (plain SymPy symbols), intermediate nodes each
defined by a SymPy expression over earlier names, and one scalar loss node. A node's ``unit``
label (``h1``) names the neuron it belongs to; its δ is named from it by the notation.

Validation (in :func:`build_network`): every name is a valid identifier declared once; every
expression uses only declared names; the graph is acyclic (``graphlib``); the loss is one node;
parameters that do not reach the loss are reported as warnings. Nodes are stored in a topological
order that keeps the user's order wherever the dependencies allow it, so derivations are
deterministic.

A :class:`MatchedOutput` marks an output layer whose activation and loss are made for each other
(softmax with cross-entropy or the multinomial log-likelihood; sigmoid with binary cross-entropy
or the Bernoulli log-likelihood): the derivation then simplifies the output δ to ``a − y``
(``y − a`` for a log-likelihood). The softmax simplification needs targets that sum to 1, so a
worked example whose softmax targets do not is refused here.
"""

from __future__ import annotations

import graphlib
import heapq
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping, Sequence

import sympy as sp

from symbackprop.errors import InvalidInput
from symbackprop.model.names import check_unique, validate_name
from symbackprop.model.notation import Notation, preset
from symbackprop.rules.optimizers import OptimizerSpec

Symbol = sp.Symbol
_UNIT_LABEL = re.compile(r"[A-Za-z0-9_]{1,32}")


@dataclass(frozen=True)
class Node:
    """An intermediate quantity ``symbol = expr``.

    Attributes:
        symbol: the node's symbol (its name is its rendering: ``net_h1`` → ``net_{h1}``).
        expr: its definition over inputs, targets, parameters and earlier nodes.
        unit: the neuron this node belongs to (``h1``), or None for a free-standing node.
        local: textbook forms of ``∂expr/∂s`` for some arguments ``s`` (a loss rule's
            ``−(t − y)``); the derivation uses them instead of ``sympy.diff`` for those.
        softmax: True for an output of a softmax layer, ``a_i = e^{z_i} / Σ_k e^{z_k}``: like an
            activation it gets no δ of its own (its ``local`` holds ``∂a_i/∂z_k``).
    """

    symbol: Symbol
    expr: sp.Expr
    unit: str | None = None
    local: tuple[tuple[Symbol, sp.Expr], ...] = ()
    softmax: bool = False


@dataclass(frozen=True)
class MatchedOutput:
    """An output layer whose activation and loss cancel in the output δ (module docstring).

    Attributes:
        activation: ``"softmax"`` or ``"sigmoid"``.
        loss: the loss rule's name.
        pre, out, targets: per output unit k, its net input z_k, output a_k and target y_k.
    """

    activation: str
    loss: str
    pre: tuple[Symbol, ...]
    out: tuple[Symbol, ...]
    targets: tuple[Symbol, ...]

    @property
    def targets_sum_to_one(self) -> bool:
        """True when the simplification uses Σ_k y_k = 1 (the softmax)."""
        return self.activation == "softmax"


@dataclass(frozen=True)
class Layout:
    """Where units sit in the figure: columns of unit labels and labelled edges."""

    columns: tuple[tuple[str, ...], ...]
    edges: tuple[tuple[str, str, str], ...]  # (from unit, to unit, parameter name)
    biases: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (bias name, units it feeds)


@dataclass(frozen=True)
class Network:
    """A validated network. Build it with :func:`build_network` or the layered builder."""

    name: str
    inputs: tuple[Symbol, ...]
    targets: tuple[Symbol, ...]
    params: tuple[Symbol, ...]
    nodes: tuple[Node, ...]
    loss: Symbol
    outputs: tuple[Symbol, ...]
    learning_rate: Symbol
    maximize: bool = False
    values: tuple[tuple[Symbol, sp.Rational], ...] = ()
    notation: Notation = field(default_factory=lambda: preset("plain"))
    title: str = ""
    layout: Layout | None = None
    warnings: tuple[str, ...] = ()
    reduction: str = "sum"
    matched: MatchedOutput | None = None
    # the spec's optimizers: the first is optimizer_step's, the handout works each
    optimizers: tuple[OptimizerSpec, ...] = (OptimizerSpec(),)
    # the handout's document style (handout.styles); empty: the notation's lecture's
    style: str = ""

    def node(self, symbol: Symbol) -> Node:
        """The node defining ``symbol`` (KeyError for leaves)."""
        return self._nodes_by_symbol[symbol]

    @cached_property
    def _nodes_by_symbol(self) -> dict[Symbol, Node]:
        return {node.symbol: node for node in self.nodes}

    @cached_property
    def value_map(self) -> dict[Symbol, sp.Rational]:
        return dict(self.values)

    @property
    def has_example(self) -> bool:
        """True when the spec gives a value to every input, target, parameter and the rate."""
        known = self.value_map
        needed = (*self.inputs, *self.targets, *self.params, self.learning_rate)
        return all(s in known for s in needed)


def _as_symbol(value: str | Symbol, what: str) -> Symbol:
    name = value.name if isinstance(value, sp.Symbol) else value
    return sp.Symbol(validate_name(name, what=what))


def _as_node(item: tuple[str | Symbol, sp.Expr] | Node, what: str) -> Node:
    if isinstance(item, Node):
        _as_symbol(item.symbol, what)
        if item.unit is not None and not _UNIT_LABEL.fullmatch(item.unit):
            raise InvalidInput(
                f"invalid unit label {item.unit!r}: ASCII letters, digits and '_' (at most 32)"
            )
        return item
    return Node(_as_symbol(item[0], what), item[1])


def _order(defs: dict[Symbol, sp.Expr], declared: set[Symbol]) -> list[Symbol]:
    """Topological order of the node definitions; raises on cycles and unknown names."""
    graph: dict[Symbol, list[Symbol]] = {}
    for sym, expr in defs.items():
        deps = []
        for free in sorted(expr.free_symbols, key=lambda s: s.name):
            if free in defs:
                deps.append(free)
            elif free not in declared:
                names = sorted(s.name for s in (*declared, *defs))
                raise InvalidInput(
                    f"node '{sym.name}' uses unknown name '{free.name}'",
                    hint=f"declared: {', '.join(names)}",
                )
        graph[sym] = deps
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        raise InvalidInput("cycle: " + " -> ".join(s.name for s in cycle)) from None
    # Kahn's algorithm, always taking the ready node the user listed first, so a unit's
    # activation follows its net input (net_h1, out_h1, net_h2 …) as in the notes.
    rank = {sym: i for i, sym in enumerate(defs)}
    waiting = {sym: len(deps) for sym, deps in graph.items()}
    users: dict[Symbol, list[Symbol]] = {sym: [] for sym in graph}
    for sym, deps in graph.items():
        for dep in deps:
            users[dep].append(sym)
    ready = [(rank[sym], sym) for sym, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[Symbol] = []
    while ready:
        _, sym = heapq.heappop(ready)
        order.append(sym)
        for user in users[sym]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, (rank[user], user))
    return order


def build_network(
    *,
    name: str,
    inputs: Sequence[str | Symbol],
    targets: Sequence[str | Symbol],
    params: Sequence[str | Symbol],
    nodes: Sequence[tuple[str | Symbol, sp.Expr] | Node],
    loss: tuple[str | Symbol, sp.Expr] | Node,
    learning_rate: str | Symbol = "eta",
    maximize: bool = False,
    values: Mapping[str | Symbol, object] | None = None,
    notation: Notation | None = None,
    title: str = "",
    layout: Layout | None = None,
    reduction: str = "sum",
    matched: MatchedOutput | None = None,
) -> Network:
    """Validate a network given as named SymPy expressions and return it.

    Args:
        name: the network's name (used in generated headers).
        inputs, targets, params: declared leaf names.
        nodes: ``(name, expr)`` pairs or :class:`Node` objects, in any order.
        loss: the scalar loss as ``(name, expr)`` or a :class:`Node`.
        learning_rate: the symbol of the step size (η).
        maximize: True when the loss is a log-likelihood to ascend.
        values: a worked example: numbers for inputs, targets, parameters and the rate.
        matched: the output layer's activation/loss pairing, when it simplifies the output δ.

    Raises:
        InvalidInput: bad or duplicate names, unknown references, cycles, bad values.
    """
    leaves = {
        "input": [_as_symbol(s, "input") for s in inputs],
        "target": [_as_symbol(s, "target") for s in targets],
        "parameter": [_as_symbol(s, "parameter") for s in params],
    }
    rate = _as_symbol(learning_rate, "learning rate")
    all_nodes = [_as_node(n, "node") for n in nodes]
    loss_node = _as_node(loss, "loss")
    all_nodes.append(loss_node)

    entries = [(s.name, f"{kind} '{s.name}'") for kind, syms in leaves.items() for s in syms]
    entries += [(n.symbol.name, f"node '{n.symbol.name}'") for n in all_nodes]
    entries.append((rate.name, f"learning rate '{rate.name}'"))
    check_unique(entries)

    declared = {s for syms in leaves.values() for s in syms}
    defs = {n.symbol: _as_expr(n.expr, n.symbol.name) for n in all_nodes}
    order = _order(defs, declared)
    by_symbol = {n.symbol: n for n in all_nodes}
    if order[-1] != loss_node.symbol and loss_node.symbol in _used_by_others(defs):
        raise InvalidInput(f"the loss '{loss_node.symbol.name}' must not feed another node")
    order.remove(loss_node.symbol)
    order.append(loss_node.symbol)
    ordered = tuple(by_symbol[s] for s in order)

    reach = _reaching(defs, loss_node.symbol)
    warnings = [
        f"parameter '{p.name}' does not reach the loss; its gradient is zero"
        for p in leaves["parameter"]
        if p not in reach
    ]
    outputs = tuple(
        s for s in sorted(defs[loss_node.symbol].free_symbols, key=order_key(order)) if s in defs
    )
    checked_values = _check_values(values or {}, declared | {rate})
    if matched is not None and matched.targets_sum_to_one:
        _check_target_sum(dict(checked_values), matched)
    return Network(
        name=name,
        inputs=tuple(leaves["input"]),
        targets=tuple(leaves["target"]),
        params=tuple(leaves["parameter"]),
        nodes=ordered,
        loss=loss_node.symbol,
        outputs=outputs,
        learning_rate=rate,
        maximize=maximize,
        values=checked_values,
        notation=notation or preset("plain"),
        title=title,
        layout=layout,
        warnings=tuple(warnings),
        reduction=reduction,
        matched=matched,
    )


def _check_target_sum(values: dict[Symbol, sp.Rational], matched: MatchedOutput) -> None:
    """A softmax output's worked-example targets must be a distribution: δ_k = a_k − y_k uses
    Σ_k y_k = 1 (one-hot targets, as seed 003 appendix B)."""
    if not all(t in values for t in matched.targets):
        return
    total = sum(values[t] for t in matched.targets)
    if total != 1 or any(values[t] < 0 for t in matched.targets):
        names = " + ".join(t.name for t in matched.targets)
        raise InvalidInput(
            f"the targets of a softmax output with loss '{matched.loss}' must be >= 0 and sum"
            f" to 1 (one-hot or probabilities), got {names} = {sp.N(total, 6)}",
            where="[values]",
            hint="give one-hot targets such as 1, 0, 0",
        )


def _as_expr(expr: object, name: str) -> sp.Expr:
    """Node definitions are SymPy objects (text goes through :mod:`spec.exprparse` first)."""
    if isinstance(expr, bool):
        raise InvalidInput(f"node '{name}' must be defined by an expression, got {expr!r}")
    if isinstance(expr, int):
        return sp.Integer(expr)
    if isinstance(expr, sp.Expr):
        return expr
    raise InvalidInput(f"node '{name}' must be defined by a SymPy expression, got {expr!r}")


def order_key(order: Sequence[Symbol]):
    rank = {s: i for i, s in enumerate(order)}
    return lambda s: rank.get(s, -1)


def _used_by_others(defs: dict[Symbol, sp.Expr]) -> set[Symbol]:
    return {s for expr in defs.values() for s in expr.free_symbols}


def _reaching(defs: dict[Symbol, sp.Expr], loss: Symbol) -> set[Symbol]:
    """All names the loss depends on, directly or through nodes."""
    seen: set[Symbol] = set()
    stack = [loss]
    while stack:
        sym = stack.pop()
        for free in defs.get(sym, sp.Integer(0)).free_symbols:
            if free not in seen:
                seen.add(free)
                stack.append(free)
    return seen


def _check_values(values: Mapping[str | Symbol, object], declared: set[Symbol]):
    by_name = {s.name: s for s in declared}
    out = []
    for key, value in values.items():
        name = key.name if isinstance(key, sp.Symbol) else key
        if name not in by_name:
            raise InvalidInput(f"value given for unknown name '{name}'")
        if isinstance(value, bool) or not isinstance(value, (int, float, str, sp.Rational)):
            raise InvalidInput(f"value of '{name}' must be a number, got {value!r}")
        number = sp.Rational(str(value)) if not isinstance(value, sp.Rational) else value
        out.append((by_name[name], number))
    return tuple(sorted(out, key=lambda kv: kv[0].name))

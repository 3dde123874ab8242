"""Reverse-mode chain rule over the network graph, producing the δ-recursion as data.

Pure: same network in, same :class:`Derivation` out, in a fixed order; no I/O, no printing.

The rule, for a node ``n`` and the nodes ``c`` that use it::

    ∂E/∂n = Σ_c ∂E/∂c · ∂c/∂n

Every node except the loss and *pass-through* nodes carries a δ symbol, ``δ_n = ∂E/∂n``. A
pass-through node is an activation ``out = f(net)`` (or an identity ``out = net``): its
adjoint is written into the δ of its argument instead of getting a name, which is exactly the
lecture notes' ``δ_h1 = (δ_o1 w5 + δ_o2 w7) · out_h1(1 − out_h1)``. Local derivatives
``∂c/∂n`` come from, in order: the node's own textbook forms (loss rules), the activation
registry (written in terms of the output), or ``sympy.diff`` of the node's small local
expression. Each node's expression is differentiated once per argument, so the cost is linear
in the size of the graph, never in the size of the expanded loss.

A softmax output ``a_i = e^{z_i}/Σ_k e^{z_k}`` is a pass-through node too, with one argument per
output unit: the δ of ``z_k`` sums over every ``a_i``, with ``∂a_i/∂z_k = a_i(δ_ik − a_k)`` from
the node's textbook forms. When the output layer's activation and loss are matched (softmax with
cross-entropy, sigmoid with binary cross-entropy, and their log-likelihoods), the output δ's are
then simplified to ``a − y`` by :mod:`matched`, which keeps the steps as data.

A parameter's gradient is ``Σ_c δ_c · ∂c/∂p`` (δ × input; a shared bias sums the δ's of the
units it feeds), and its update ``p⁺ = p − η ∂E/∂p`` (``+`` when maximising a likelihood).
"""

from __future__ import annotations

from collections import defaultdict

import sympy as sp

from symbackprop.derivation.equations import (
    Delta,
    DeltaTerm,
    Derivation,
    Forward,
    Gradient,
    GradientTerm,
    Partial,
    Update,
    gradient_symbol,
)
from symbackprop.derivation.matched import simplify_outputs
from symbackprop.errors import InvalidInput
from symbackprop.model.names import validate_name
from symbackprop.model.network import Network, Node
from symbackprop.rules.registry import _mul, activation_of

Symbol = sp.Symbol


def _sum(terms: list[sp.Expr]) -> sp.Expr:
    if not terms:
        return sp.Integer(0)
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


def _term_diff(term: sp.Expr, sym: Symbol) -> sp.Expr:
    """``sp.diff(term, sym)``, without SymPy's general machinery for the terms net inputs are
    made of: a symbol (a bias) and a product of distinct symbols and numbers (``w*x``). The
    Leibniz rule leaves the product of the other factors, built exactly as SymPy builds it;
    that machinery costs ~0.3 ms a call, most of the derivation of a wide net."""
    if term == sym:
        return sp.Integer(1)
    args = term.args
    if (
        term.is_Mul
        and all(a.is_Symbol or a.is_Number for a in args)
        and args.count(sym) == 1
        and len(set(args)) == len(args)
    ):
        return sp.Mul(*[a for a in args if a != sym])
    return sp.diff(term, sym)


def textbook_local(consumer: Node, sym: Symbol) -> sp.Expr | None:
    """``∂consumer/∂sym`` where a rule gives its textbook form, else None.

    In order: the node's own forms (a loss rule's ``−(t − y)``), the activation registry
    (``out(1 − out)``, written in terms of the output), an identity node (1). Otherwise the
    caller differentiates the node's expression.
    """
    for arg, expr in consumer.local:
        if arg == sym:
            return expr
    rule = activation_of(consumer.expr)
    if rule is not None and consumer.expr.args[0] == sym:
        return rule.derivative(sym, consumer.symbol)
    if consumer.expr == sym:
        return sp.Integer(1)
    return None


class _Deriver:
    """Holds the graph indexes and memo tables of one derivation."""

    def __init__(self, network: Network):
        self.net = network
        self.nodes = {n.symbol: n for n in network.nodes}
        self.rank = {n.symbol: i for i, n in enumerate(network.nodes)}
        self.consumers: dict[Symbol, list[Node]] = defaultdict(list)
        for node in network.nodes:
            for sym in sorted(node.expr.free_symbols, key=lambda s: s.name):
                self.consumers[sym].append(node)
        for users in self.consumers.values():
            users.sort(key=lambda n: self.rank[n.symbol])
        self.passthrough = {
            n.symbol for n in network.nodes if n.symbol != network.loss and self._is_passthrough(n)
        }
        self.delta_of: dict[Symbol, Symbol] = {}
        taken = {s.name for s in (*network.inputs, *network.targets, *network.params)}
        taken |= {s.name for s in self.nodes}
        for node in network.nodes:
            if node.symbol == network.loss or node.symbol in self.passthrough:
                continue
            name = validate_name(network.notation.delta(node.unit or node.symbol.name), what="δ")
            if name in taken:
                raise InvalidInput(
                    f"the δ of node '{node.symbol.name}' would be named '{name}', "
                    "which is already a name in the network",
                    hint="rename that node or parameter",
                )
            taken.add(name)
            self.delta_of[node.symbol] = sp.Symbol(name)
        self._terms: dict[Symbol, tuple[DeltaTerm, ...]] = {}
        self._chains: dict[Symbol, tuple[Partial, ...]] = {}
        self._local_diffs: dict[Symbol, dict[Symbol, sp.Expr]] = {}
        self._upstream: dict[Symbol, sp.Expr] = {}

    def upstream(self, sym: Symbol) -> sp.Expr:
        """``∂E/∂sym`` as the sum over the paths out of ``sym``. Memoised, like ``terms`` and
        ``chain_to``: each node's sum is built once, which keeps the derivation linear."""
        if sym not in self._upstream:
            self._upstream[sym] = _sum([_mul(t.upstream, t.local) for t in self.terms(sym)])
        return self._upstream[sym]

    def _is_passthrough(self, node: Node) -> bool:
        expr = node.expr
        if node.softmax or expr in self.nodes:
            return True
        return activation_of(expr) is not None and expr.args[0] in self.nodes

    def local(self, consumer: Node, sym: Symbol) -> sp.Expr:
        """``∂consumer/∂sym`` in textbook form."""
        found = textbook_local(consumer, sym)
        return found if found is not None else self._diffs(consumer)[sym]

    def _diffs(self, node: Node) -> dict[Symbol, sp.Expr]:
        """``∂expr/∂s`` for every free symbol ``s`` of a node, memoised.

        A sum is differentiated term by term, each term only by its own symbols, so a
        net input over ``n`` inputs costs O(n) rather than O(n) per input (O(n²) per unit).
        """
        if node.symbol in self._local_diffs:
            return self._local_diffs[node.symbol]
        terms = node.expr.args if isinstance(node.expr, sp.Add) else (node.expr,)
        parts: dict[Symbol, list[sp.Expr]] = defaultdict(list)
        for term in terms:
            for sym in sorted(term.free_symbols, key=lambda s: s.name):
                parts[sym].append(_term_diff(term, sym))
        diffs = {sym: _sum([p for p in found if p != 0]) for sym, found in parts.items()}
        self._local_diffs[node.symbol] = diffs
        return diffs

    def chain_to(self, carrier: Symbol) -> tuple[Partial, ...]:
        """The local factors from the loss down to a δ-carrying node (memoised)."""
        if carrier in self._chains:
            return self._chains[carrier]
        loss = self.net.loss
        users = self.consumers[carrier]
        if len(users) == 1 and users[0].symbol in self.passthrough:
            out = users[0].symbol
            local = self.local(users[0], carrier)
            chain = (Partial(loss, out, self.upstream(out)), Partial(out, carrier, local))
        else:
            chain = (Partial(loss, carrier, self.delta_of[carrier]),)
        self._chains[carrier] = chain
        return chain

    def terms(self, sym: Symbol) -> tuple[DeltaTerm, ...]:
        """The paths out of ``sym``: one per node that uses it."""
        if sym in self._terms:
            return self._terms[sym]
        loss = self.net.loss
        out = []
        for user in self.consumers[sym]:
            local = self.local(user, sym)
            if user.symbol == loss:
                out.append(DeltaTerm(local, sp.Integer(1), (Partial(loss, sym, local),)))
            elif user.symbol in self.passthrough:
                upstream = self.upstream(user.symbol)
                chain = (Partial(loss, user.symbol, upstream), Partial(user.symbol, sym, local))
                out.append(DeltaTerm(upstream, local, chain))
            else:
                chain = (*self.chain_to(user.symbol), Partial(user.symbol, sym, local))
                out.append(DeltaTerm(self.delta_of[user.symbol], local, chain))
        self._terms[sym] = tuple(out)
        return self._terms[sym]

    def delta(self, node: Node, label: str) -> Delta:
        users = self.consumers[node.symbol]
        if len(users) == 1 and users[0].symbol in self.passthrough:
            through = users[0].symbol
            factor = self.local(users[0], node.symbol)
            terms = self.terms(through)
        else:
            through, factor, terms = None, sp.Integer(1), self.terms(node.symbol)
        total = self.upstream(through if through is not None else node.symbol)
        expr = _mul(total, factor)
        return Delta(label, self.delta_of[node.symbol], node.symbol, expr, terms, through, factor)

    def gradient(self, param: Symbol, label: str) -> Gradient:
        loss = self.net.loss
        terms = []
        for user in self.consumers[param]:
            local = Partial(user.symbol, param, self.local(user, param))
            if user.symbol == loss:
                terms.append(GradientTerm(sp.Integer(1), local, ()))
            else:
                delta = self.delta_of[user.symbol]
                terms.append(GradientTerm(delta, local, self.chain_to(user.symbol)))
        expr = _sum([_mul(t.delta, t.local.expr) for t in terms])
        return Gradient(label, param, expr, tuple(terms))

    def forward_kind(self, node: Node) -> str:
        if node.symbol == self.net.loss:
            return "loss"
        if node.symbol in self.passthrough:
            return "act"
        return "pre" if node.unit else "node"


def derive(network: Network) -> Derivation:
    """Derive the δ-recursion, gradients and updates of ``network``.

    Returns:
        A :class:`Derivation`: forward assignments in evaluation order, δ's from the output
        backwards (each δ uses only δ's defined before it), gradients from the output layer
        backwards, and one update per gradient.
    """
    d = _Deriver(network)
    forward = tuple(
        Forward(f"F{i}", n.symbol, n.expr, d.forward_kind(n))
        for i, n in enumerate(network.nodes, start=1)
    )
    height = _heights(network, d)
    carriers = sorted(
        (n for n in network.nodes if n.symbol in d.delta_of),
        key=lambda n: (height[n.symbol], d.rank[n.symbol]),
    )
    deltas = tuple(d.delta(n, f"D{i}") for i, n in enumerate(carriers, start=1))
    deltas, simplifications = simplify_outputs(network, deltas)

    def backward_rank(p: Symbol) -> int:
        return min((height[u.symbol] for u in d.consumers[p]), default=len(height) + 1)

    params = sorted(network.params, key=backward_rank)  # stable: declaration order within a layer
    gradients = tuple(d.gradient(p, f"G{i}") for i, p in enumerate(params, start=1))
    rate = network.learning_rate
    updates = []
    for i, g in enumerate(gradients, start=1):
        gsym = gradient_symbol(network.loss, g.param)
        step = _mul(rate, gsym)
        expr = sp.Add(g.param, step if network.maximize else _mul(-1, step), evaluate=False)
        updates.append(Update(f"U{i}", g.param, expr, gsym))
    return Derivation(network, forward, deltas, gradients, tuple(updates), simplifications)


def _heights(network: Network, d: _Deriver) -> dict[Symbol, int]:
    """Distance of each node from the loss along its longest path (loss = 0).

    Sorting by height gives the order the notes use: output layer first, and within a layer the
    units in their declared order; every δ comes after the δ's it uses.
    """
    height: dict[Symbol, int] = {}
    for node in reversed(network.nodes):
        users = d.consumers[node.symbol]
        height[node.symbol] = 1 + max((height[u.symbol] for u in users), default=-1)
    return height

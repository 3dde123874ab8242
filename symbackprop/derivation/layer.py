"""Layer-level derivation: BP1–BP4 for fully connected nets of any depth and width.

Conventions (Nielsen's symbols, seed 004): the input is a^0 = x (Nielsen numbers the input
layer 1; we number it 0, so the first weight matrix is W^1 and the parameters are W1, b1, W2 …);
for l = 1 … L, z^l = W^l a^{l−1} + b^l and a^l = f_l(z^l); W^l has shape (n_l, n_{l−1}) and its
entry (j, k) is w^l_{jk}, the weight from unit k of layer l − 1 to unit j of layer l; y is the
target, C the cost of one example x, δ^l_j = ∂C/∂z^l_j.

The equations are built from per-layer rules (the activation registry and
:mod:`rules.layer_losses`), never by differentiating SymPy ``Sum``/``Indexed``/``MatrixSymbol``
expressions, which SymPy gets wrong in places. Each equation is kept twice: in general form
(with the markers :class:`FPrime` for f'(z) and :class:`DCDa` for ∂C/∂a) and specialised to the
net's activations and loss. :mod:`derivation.layer_expand` expands either at concrete sizes, and
the tests
compare the result with unit-level ``sympy.diff``.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from symbackprop.rules import registry as rules
from symbackprop.rules.layer_losses import (
    SOFTMAX,
    OutputRule,
    activation_derivative,
    activation_value,
    output_rule,
)
from symbackprop.rules.layer_losses import a as a_sym
from symbackprop.rules.layer_losses import y as y_sym
from symbackprop.rules.layer_losses import z as z_sym
from symbackprop.rules.optimizers import OptimizerSpec

j, k = sp.symbols("j k", integer=True, positive=True)
x_base = sp.IndexedBase("x")
y_base = sp.IndexedBase("y")


class FPrime(sp.Function):
    """f_l'(arg) in a general equation: ``FPrime(arg, Symbol(activation name))``."""


class DCDa(sp.Function):
    """∂C/∂a^L_j in the general BP1: ``DCDa(a^L_j)``."""


def W(l: int) -> sp.IndexedBase:  # noqa: N802 - the maths' name
    return sp.IndexedBase(f"w__{l}")


def b(l: int) -> sp.IndexedBase:
    return sp.IndexedBase(f"b__{l}")


def z(l: int) -> sp.IndexedBase:
    return sp.IndexedBase(f"z__{l}")


def a(l: int) -> sp.IndexedBase:
    """a^l; a^0 is the input x."""
    return x_base if l == 0 else sp.IndexedBase(f"a__{l}")


def delta(l: int) -> sp.IndexedBase:
    return sp.IndexedBase(f"delta__{l}")


@dataclass(frozen=True)
class LayerNet:
    """A fully connected net at layer level.

    Attributes:
        sizes: (n_0, n_1, …, n_L), input width first.
        activations: f_1 … f_L; ``"softmax"`` only on the output layer.
        loss: a loss registry key; ``reduction`` ``"sum"`` (online / Σ over the batch) or
            ``"mean"`` (seed 004's C = 1/2n Σ_x ‖y − a^L‖², seed 001's E_av).
        weight_decay: λ of the L2 term λ/2 Σ w² (weights only), divided by n with ``"mean"``
            (seed 001's λ/2m Σ θ²).
        data: example inputs and targets, rows of numbers (may be empty).
        values: parameter entries of the spec's ``[values]`` for the handout's worked example,
            ``(("W1", (j, k)), v)`` or ``(("b1", (j,)), v)`` with 0-based indices (may be empty).
        style: the handout's document style (:mod:`handout.styles`); empty: the default.
    """

    name: str
    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str = "half_sse"
    reduction: str = "sum"
    weight_decay: float = 0.0
    learning_rate: float = 0.1
    optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    title: str = ""
    data_x: tuple[tuple[float, ...], ...] = ()
    data_t: tuple[tuple[float, ...], ...] = ()
    warnings: tuple[str, ...] = ()
    values: tuple[tuple[tuple[str, tuple[int, ...]], float], ...] = ()
    style: str = ""  # the handout's document style (handout.styles); empty: nielsen

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(n for l in range(1, self.depth + 1) for n in (f"W{l}", f"b{l}"))


@dataclass(frozen=True)
class LayerForward:
    """F_l: z^l_j = Σ_k w^l_{jk} a^{l−1}_k + b^l_j and a^l_j = f_l(z^l_j)."""

    layer: int
    activation: str
    z: sp.Eq
    a: sp.Eq


@dataclass(frozen=True)
class LayerDelta:
    """BP1 (output layer) or BP2 (hidden layer): δ^l_j, general and specialised."""

    label: str
    layer: int
    general: sp.Eq
    specialised: sp.Eq
    fprime: sp.Expr | None  # f_l' in the registry's (z, a); None for softmax


@dataclass(frozen=True)
class LayerGradient:
    """BP3 (∂C/∂b^l_j = δ^l_j) or BP4 (∂C/∂w^l_{jk} = a^{l−1}_k δ^l_j [+ λ w^l_{jk}])."""

    label: str
    layer: int
    param: str
    index: sp.Eq
    decay: bool


@dataclass(frozen=True)
class LayerDerivation:
    net: LayerNet
    output: OutputRule
    forward: tuple[LayerForward, ...]
    deltas: tuple[LayerDelta, ...]  # from the output layer down, δ^L first
    gradients: tuple[LayerGradient, ...]  # layer by layer: BP4 then BP3
    cost: sp.Expr  # C of one example, Σ_j ℓ(a^L_j, y_j)

    def __str__(self) -> str:
        from symbackprop.printers.text import layer_derivation_text  # printers read us

        return layer_derivation_text(self)

    def __repr__(self) -> str:
        sizes = "-".join(str(n) for n in self.net.sizes)
        return f"<LayerDerivation of '{self.net.name}': {sizes}, loss {self.net.loss}>"


def grad_symbol(param: sp.Indexed) -> sp.Symbol:
    """∂C/∂param as a symbol; the name is not an identifier, so it cannot clash."""
    return sp.Symbol(f"dC/d{sp.srepr(param)}")


def _rebuilt(expr: sp.Expr, leaf) -> sp.Expr:
    """``expr`` with ``leaf(node)`` put wherever it is not None; sums, products and powers keep
    the order the rules wrote them in (``xreplace`` and ``replace`` re-sort them, which turns
    the slides' a - y into -y + a)."""
    new = leaf(expr)
    if new is not None:
        return new
    if not expr.args:
        return expr
    args = [_rebuilt(arg, leaf) for arg in expr.args]
    if isinstance(expr, sp.Mul):
        return rules._mul(*args)  # a factor f'(z) = 1 (linear) drops out
    if isinstance(expr, sp.Add):
        terms = [t for t in args if t != 0]
        return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)
    if isinstance(expr, sp.Pow):
        return sp.Pow(*args, evaluate=False)
    return expr.func(*args)


def _specialise_fprime(expr: sp.Expr, l: int) -> sp.Expr:
    """Replace FPrime(z^l_j, f) by the registry rule, written in z^l_j and a^l_j."""

    def rule(node):
        if not isinstance(node, FPrime):
            return None
        arg, name = node.args
        on_unit = {z_sym: arg, a_sym: a(l)[arg.indices]}
        return _rebuilt(activation_derivative(name.name), on_unit.get)

    return _rebuilt(expr, rule)


def _forward(net: LayerNet, l: int) -> LayerForward:
    f = net.activations[l - 1]
    weighted = sp.Mul(W(l)[j, k], a(l - 1)[k], evaluate=False)
    pre = sp.Add(sp.Sum(weighted, (k, 1, net.sizes[l - 1])), b(l)[j], evaluate=False)
    if f == SOFTMAX:
        act = sp.exp(z(l)[j]) / sp.Sum(sp.exp(z(l)[k]), (k, 1, net.sizes[l]))
    else:
        act = activation_value(f, z(l)[j])
    return LayerForward(
        l, f, sp.Eq(z(l)[j], pre, evaluate=False), sp.Eq(a(l)[j], act, evaluate=False)
    )


def _output_delta(net: LayerNet, rule: OutputRule) -> LayerDelta:
    L = net.depth
    n = net.sizes[L]
    on_unit = {a_sym: a(L)[j], y_sym: y_base[j], z_sym: z(L)[j]}
    if rule.activation == SOFTMAX:
        # Σ_k ∂C/∂a_k ∂a_k/∂z_j with the softmax Jacobian ∂a_k/∂z_j = a_k (δ_kj − a_j).
        kronecker = sp.KroneckerDelta(k, j, evaluate=False)  # δ_kj, as seed 003 writes it
        jac = sp.Mul(a(L)[k], rules._sub(kronecker, a(L)[j]), evaluate=False)
        general = sp.Sum(sp.Mul(DCDa(a(L)[k]), jac, evaluate=False), (k, 1, n))
        if rule.delta is not None:
            special = _rebuilt(rule.delta, on_unit.get)
        else:
            g = rule.dC_da.xreplace({a_sym: a(L)[k], y_sym: y_base[k]})
            g_j = rule.dC_da.xreplace(on_unit)
            special = a(L)[j] * (g_j - sp.Sum(a(L)[k] * g, (k, 1, n)))
        return LayerDelta(
            "BP1",
            L,
            sp.Eq(delta(L)[j], general, evaluate=False),
            sp.Eq(delta(L)[j], special, evaluate=False),
            None,
        )
    general = sp.Mul(DCDa(a(L)[j]), FPrime(z(L)[j], sp.Symbol(rule.activation)), evaluate=False)
    special = _rebuilt(rule.delta, on_unit.get)
    return LayerDelta(
        "BP1",
        L,
        sp.Eq(delta(L)[j], general, evaluate=False),
        sp.Eq(delta(L)[j], special, evaluate=False),
        rule.fprime,
    )


def _hidden_delta(net: LayerNet, l: int) -> LayerDelta:
    f = net.activations[l - 1]
    weighted = sp.Mul(W(l + 1)[k, j], delta(l + 1)[k], evaluate=False)
    upstream = sp.Sum(weighted, (k, 1, net.sizes[l + 1]))
    general = sp.Mul(upstream, FPrime(z(l)[j], sp.Symbol(f)), evaluate=False)
    special = _specialise_fprime(general, l)
    return LayerDelta(
        "BP2",
        l,
        sp.Eq(delta(l)[j], general, evaluate=False),
        sp.Eq(delta(l)[j], special, evaluate=False),
        activation_derivative(f),
    )


def _gradients(net: LayerNet, l: int) -> tuple[LayerGradient, LayerGradient]:
    decay = net.weight_decay != 0
    dw = sp.Mul(a(l - 1)[k], delta(l)[j], evaluate=False)
    if decay:  # λ/2 Σ w² is subtracted from a log-likelihood, so its gradient −λ w is too
        lam = sp.Symbol("lambda")
        term = sp.Mul(lam, W(l)[j, k], evaluate=False)
        if rules.loss(net.loss).maximize:
            term = sp.Mul(-1, lam, W(l)[j, k], evaluate=False)
        dw = sp.Add(dw, term, evaluate=False)
    bp4 = LayerGradient(
        "BP4", l, f"W{l}", sp.Eq(grad_symbol(W(l)[j, k]), dw, evaluate=False), decay
    )
    bp3 = LayerGradient(
        "BP3", l, f"b{l}", sp.Eq(grad_symbol(b(l)[j]), delta(l)[j], evaluate=False), False
    )
    return bp4, bp3


def derive_layers(net: LayerNet) -> LayerDerivation:
    """BP1–BP4 for every layer of ``net``, general and specialised (pure; no I/O)."""
    rule = output_rule(net.loss, net.activations[-1])
    forward = tuple(_forward(net, l) for l in range(1, net.depth + 1))
    deltas = [_output_delta(net, rule)]
    deltas += [_hidden_delta(net, l) for l in range(net.depth - 1, 0, -1)]
    grads = tuple(g for l in range(1, net.depth + 1) for g in _gradients(net, l))
    from symbackprop.rules.registry import (
        loss as loss_rule,  # the per-unit term, as the registry states it
    )

    term = loss_rule(net.loss).term(a(net.depth)[k], y_base[k])
    cost = sp.Sum(term, (k, 1, net.sizes[-1]))
    return LayerDerivation(net, rule, forward, tuple(deltas), grads, cost)

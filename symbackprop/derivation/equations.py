"""Equations as data: what a derivation produces and printers and templates read.

All types are frozen dataclasses holding SymPy expressions in textbook shape (unevaluated
products and sums kept in the order the notes write them); ``.doit()`` gives the canonical
value. Labels (``F1``, ``D2``, ``G5``, ``U5``) are shared by the handout's equation tags and the
comments in generated code, so a line of code points at its equation.

- :class:`Forward`  — ``symbol = expr`` of the forward pass, in evaluation order;
- :class:`Partial`  — one local factor ``∂num/∂den = expr`` of a chain;
- :class:`DeltaTerm`— one consumer's share of a δ: ``(δ of the consumer or ∂E/∂out) × local``;
- :class:`Delta`    — ``δ_n = ∂E/∂n``, recursive in the δ's of the units ``n`` feeds;
- :class:`Gradient` — ``∂E/∂p`` as δ × input, summed over the units ``p`` feeds, with its chain;
- :class:`Update`   — ``p⁺ = p − η ∂E/∂p`` (``+`` for gradient ascent);
- :class:`Simplification` — how a matched output layer's δ reduces to ``a − y``, step by step
  (softmax through the Kronecker δ, seed 003 appendix B);
- :class:`Derivation` — all of the above for one network.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symbackprop.model.network import Network

Symbol = sp.Symbol


@dataclass(frozen=True)
class Forward:
    label: str
    symbol: Symbol
    expr: sp.Expr
    kind: str  # "pre", "act", "node" or "loss"


@dataclass(frozen=True)
class Partial:
    """The local derivative ``∂num/∂den``, equal to ``expr``."""

    num: Symbol
    den: Symbol
    expr: sp.Expr


@dataclass(frozen=True)
class DeltaTerm:
    """One path out of a node: ``upstream × local``.

    ``upstream`` is the δ symbol of the consumer, or (when the consumer is the loss) the
    expression ``∂E/∂consumer``; ``chain`` lists the local factors from the loss down to the
    node, as the handout writes them (``∂E/∂out_o × ∂out_o/∂net_o × ∂net_o/∂out_h1``).
    """

    upstream: sp.Expr
    local: sp.Expr
    chain: tuple[Partial, ...]


@dataclass(frozen=True)
class Delta:
    """``symbol = ∂E/∂of = (Σ terms) × activation factor``.

    For a pre-activation ``net`` whose unit has an activation ``out = f(net)``, ``through`` is
    ``out`` and ``factor`` is f' written in terms of ``out``; the terms are then the paths out of
    ``out``. Otherwise ``through`` is None, ``factor`` is 1, and the terms leave ``of`` itself.
    """

    label: str
    symbol: Symbol
    of: Symbol
    expr: sp.Expr
    terms: tuple[DeltaTerm, ...]
    through: Symbol | None
    factor: sp.Expr


@dataclass(frozen=True)
class GradientTerm:
    """One node the parameter feeds: ``δ_node × ∂node/∂p``, with the chain that δ stands for."""

    delta: sp.Expr
    local: Partial
    via: tuple[Partial, ...]


@dataclass(frozen=True)
class Gradient:
    label: str
    param: Symbol
    expr: sp.Expr
    terms: tuple[GradientTerm, ...]


@dataclass(frozen=True)
class Update:
    label: str
    param: Symbol
    expr: sp.Expr  # in terms of the param, the rate and the gradient symbol
    gradient: Symbol


@dataclass(frozen=True)
class Simplification:
    """``δ_k = steps[0] = steps[1] = … = steps[-1]`` for an output unit k of a matched layer.

    For a softmax output the steps are the chain rule through every output (the Kronecker δ
    kept unevaluated, ``KroneckerDelta(i, k)``), the cancelled ``a_i``, the sum split, and
    ``a_k − y_k``; the last step uses ``condition`` (Σ_i y_i = 1). For a sigmoid output with
    binary cross-entropy: ``∂C/∂a · a(1 − a)`` and ``a − y`` (no condition). The simplified form
    (the last step) is the δ's ``expr``: what the handout evaluates and the code computes.

    Attributes:
        label: shared with the handout (``S1`` …).
        delta: the δ symbol.
        of: the output unit's net input z_k.
        steps: successive forms, each equal to the one before (``.doit()`` evaluates δ_ik).
        condition: ``Eq(Σ_i y_i, 1)`` when the last step uses it, else None.
        jacobian: ``(a_i, z_k, a_i(δ_ik − a_k))`` for every output i: the softmax's local
            derivatives with the Kronecker δ unevaluated (empty for a sigmoid).
    """

    label: str
    delta: Symbol
    of: Symbol
    steps: tuple[sp.Expr, ...]
    condition: sp.Eq | None
    jacobian: tuple[tuple[Symbol, Symbol, sp.Expr], ...] = ()


@dataclass(frozen=True)
class Derivation:
    network: Network
    forward: tuple[Forward, ...]
    deltas: tuple[Delta, ...]
    gradients: tuple[Gradient, ...]
    updates: tuple[Update, ...]
    simplifications: tuple[Simplification, ...] = ()

    def simplification(self, delta: Symbol) -> Simplification | None:
        """The simplification of the δ ``delta``, if it has one."""
        return next((s for s in self.simplifications if s.delta == delta), None)

    def gradient_symbol(self, param: Symbol) -> Symbol:
        return gradient_symbol(self.network.loss, param)

    def __str__(self) -> str:
        from symbackprop.printers.text import derivation_text  # printers read us, not the reverse

        return derivation_text(self)

    def __repr__(self) -> str:
        return (
            f"<Derivation of '{self.network.name}': {len(self.forward)} forward, "
            f"{len(self.deltas)} δ, {len(self.gradients)} gradients>"
        )

    def _repr_latex_(self) -> str:
        from symbackprop.printers.printing import (
            derivation_latex,  # printing depends on us, not the reverse
        )

        return derivation_latex(self)


def gradient_symbol(loss: Symbol, param: Symbol) -> Symbol:
    """The symbol standing for ``∂loss/∂param``; its name is not an identifier, so it can never
    clash with a user's name, and printers render it as a fraction."""
    return sp.Symbol(f"d{loss.name}/d{param.name}")


def split_gradient_symbol(symbol: Symbol) -> tuple[str, str] | None:
    """``(loss, param)`` names of a :func:`gradient_symbol`, or None for any other symbol."""
    name = symbol.name
    if name.startswith("d") and "/d" in name:
        loss, param = name[1:].split("/d", 1)
        return loss, param
    return None

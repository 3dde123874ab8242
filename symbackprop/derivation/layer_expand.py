"""Expand layer-level equations at concrete sizes into unit-level SymPy expressions.

This is how every layer-level equation is proved: at small sizes (up to 3-4-3), an equation of
:mod:`derivation.layer` is expanded — its index symbols set to numbers, its sums written out, every
``x_k``, ``w^l_{jk}``, ``b^l_j`` replaced by a plain unit-level symbol (``x_1``, ``w2_1_3``,
``b2_1``), every ``z``, ``a`` and ``δ`` by its own expansion — and compared with ``sympy.diff``
of the unit-level cost built independently (in the tests). General forms expand too: the
markers f'(z) and ∂C/∂a become ``sympy.diff`` of the activation's and loss's definitions, so the
chain-rule shape of BP1–BP4 is checked separately from the registry's derivative rules.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import sympy as sp

from symbackprop.derivation.layer import DCDa, FPrime, LayerDerivation
from symbackprop.rules import registry as rules
from symbackprop.rules.layer_losses import SOFTMAX

_t = sp.Symbol("t_local", real=True)


def unit_symbol(base: str, indices: tuple[int, ...]) -> sp.Symbol:
    """The unit-level leaf for an indexed leaf: ``w__2[1, 3]`` → ``w2_1_3``, ``x[2]`` → ``x_2``."""
    name = base.replace("__", "")
    return sp.Symbol(f"{name}_{'_'.join(str(i) for i in indices)}", real=True)


class Expansion:
    """Expands the equations of one derivation at the net's (small) sizes, with memoisation."""

    def __init__(self, derivation: LayerDerivation):
        self.derivation = derivation
        self.net = derivation.net
        self._cache: dict[tuple[str, tuple[int, ...]], sp.Expr] = {}

    def value(self, base: str, indices: tuple[int, ...]) -> sp.Expr:
        """The unit-level expression of one indexed quantity."""
        key = (base, indices)
        if key in self._cache:
            return self._cache[key]
        kind, _, layer = base.partition("__")
        if kind in ("x", "y", "w", "b"):
            result = unit_symbol(base, indices)
        elif kind in ("z", "a"):
            eq = self.derivation.forward[int(layer) - 1]
            result = self.expand((eq.z if kind == "z" else eq.a).rhs, j=indices[0])
        elif kind == "delta":
            eq = next(d for d in self.derivation.deltas if d.layer == int(layer))
            result = self.expand(eq.specialised.rhs, j=indices[0])
        else:  # pragma: no cover - a bug in derivation/layer.py
            raise KeyError(base)
        self._cache[key] = result
        return result

    def expand(self, expr: sp.Expr, **at: int) -> sp.Expr:
        """``expr`` with j, k set to the given numbers, sums written out, leaves unit-level."""
        expr = expr.xreplace({sp.Symbol(n, integer=True, positive=True): v for n, v in at.items()})
        expr = expr.doit(deep=True)
        expr = expr.replace(FPrime, self._fprime).replace(DCDa, self._dcda)
        return expr.replace(
            lambda e: isinstance(e, sp.Indexed),
            lambda e: self.value(e.base.label.name, tuple(int(i) for i in e.indices)),
        )

    def _fprime(self, arg: sp.Expr, name: sp.Symbol) -> sp.Expr:
        if name.name == rules.LINEAR:
            return sp.Integer(1)
        definition = rules.activation(name.name).definition(_t)
        return sp.diff(definition, _t).subs(_t, arg)

    def _dcda(self, arg: sp.Indexed) -> sp.Expr:
        term = rules.loss(self.net.loss).term(_t, sp.IndexedBase("y")[arg.indices]).doit()
        return sp.diff(term, _t).subs(_t, arg)


def expand_delta(derivation: LayerDerivation, layer: int, unit: int, *, general: bool = False):
    """δ^layer_unit expanded, from the specialised (default) or the general equation."""
    ex = Expansion(derivation)
    eq = next(d for d in derivation.deltas if d.layer == layer)
    return ex.expand((eq.general if general else eq.specialised).rhs, j=unit)


def expand_gradients(derivation: LayerDerivation) -> dict[sp.Symbol, sp.Expr]:
    """∂C/∂p for every unit-level parameter symbol, from BP3 and BP4 expanded."""
    ex = Expansion(derivation)
    sizes = derivation.net.sizes
    out: dict[sp.Symbol, sp.Expr] = {}
    for g in derivation.gradients:
        l = g.layer
        for jj in range(1, sizes[l] + 1):
            if g.label == "BP3":
                out[unit_symbol(f"b__{l}", (jj,))] = ex.expand(g.index.rhs, j=jj)
                continue
            for kk in range(1, sizes[l - 1] + 1):
                out[unit_symbol(f"w__{l}", (jj, kk))] = ex.expand(g.index.rhs, j=jj, k=kk)
    return out


def is_softmax_output(derivation: LayerDerivation) -> bool:
    return derivation.net.activations[-1] == SOFTMAX

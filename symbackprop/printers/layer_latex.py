"""LaTeX of layer-level equations in Nielsen's symbols (seed 004).

``w__2[j, k]`` prints ``w^{2}_{jk}`` (indices run together, as on the slides), the general-form
markers print as ``\\sigma'(z^{2}_{j})`` and ``\\frac{\\partial C}{\\partial a^{2}_{j}}``, and the
Kronecker delta as ``\\delta_{kj}`` (seed 003 appendix B). Only reads equations.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import sympy as sp

from symbackprop.derivation.layer import LayerDerivation
from symbackprop.model.notation import preset
from symbackprop.printers.printing import NotationLatexPrinter
from symbackprop.rules import registry as rules
from symbackprop.rules.layer_losses import SOFTMAX


def activation_latex(name: str) -> str:
    if name == SOFTMAX:
        return r"\operatorname{softmax}"
    if name == rules.LINEAR:
        return r"\operatorname{id}"
    return rules.activation(name).latex


class LayerLatexPrinter(NotationLatexPrinter):
    """Nielsen's notation for indexed layer quantities."""

    def __init__(self, **settings):
        super().__init__(preset("nielsen"), **settings)

    def _print_Indexed(self, expr) -> str:
        base = self._print(expr.base.label)
        indices = "".join(self._print(i) for i in expr.indices)
        # Braced, so a power prints {a^{1}_{j}}^{2}, not a double superscript.
        return f"{{{base}_{{{indices}}}}}"

    def _print_Pow(self, expr, rational=False) -> str:
        base, exp = expr.args
        if isinstance(base, sp.Indexed) and exp.is_Integer and exp > 0:
            # (a^{1}_{j})^{2}: the layer's superscript and the power must not run together.
            return rf"\left({self._print(base)}\right)^{{{self._print(exp)}}}"
        return super()._print_Pow(expr)

    def _print_FPrime(self, expr) -> str:
        return rf"{activation_latex(expr.args[1].name)}'\left({self._print(expr.args[0])}\right)"

    def _print_DCDa(self, expr) -> str:
        return rf"\frac{{\partial C}}{{\partial {self._print(expr.args[0])}}}"

    def _print_KroneckerDelta(self, expr, exp=None) -> str:
        i, jj = (self._print(arg) for arg in expr.args)
        return rf"\delta_{{{i}{jj}}}"


def tex(expr: sp.Expr) -> str:
    """One expression in Nielsen's notation."""
    return LayerLatexPrinter().doprint(expr)


def layer_equations(d: LayerDerivation) -> list[dict]:
    """Per layer, from the output down: its BP lines (label, left side, general, specialised)."""
    out = []
    grads = {(g.layer, g.label): g for g in d.gradients}
    for delta in d.deltas:
        l = delta.layer
        fwd = d.forward[l - 1]
        bp4 = grads[(l, "BP4")]
        lines = [
            dict(
                label="BP1" if delta.label == "BP1" else "BP2",
                lhs=tex(delta.general.lhs),
                general=tex(delta.general.rhs),
                special=tex(delta.specialised.rhs),
            ),
            dict(
                label="BP3",
                lhs=rf"\frac{{\partial C}}{{\partial b^{{{l}}}_{{j}}}}",
                general=tex(grads[(l, "BP3")].index.rhs),
                special="",
            ),
            dict(
                label="BP4",
                lhs=rf"\frac{{\partial C}}{{\partial w^{{{l}}}_{{jk}}}}",
                general=tex(bp4.index.rhs),
                special="",
            ),
        ]
        out.append(
            dict(
                layer=l,
                activation=activation_latex(fwd.activation),
                forward=[(tex(eq.lhs), tex(eq.rhs)) for eq in (fwd.z, fwd.a)],
                lines=lines,
            )
        )
    return out

"""LaTeX of layer-level equations in Nielsen's symbols (seed 004).

``w__2[j, k]`` prints ``w^{2}_{jk}`` (indices run together, as on the slides), the general-form
markers print as ``\\sigma'(z^{2}_{j})`` and ``\\frac{\\partial C}{\\partial a^{2}_{j}}``, and the
Kronecker delta as ``\\delta_{kj}`` (seed 003 appendix B). Only reads equations.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import re

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


_LAYER_NAME = re.compile(r"^(?P<base>[A-Za-z]+)__(?P<layer>\d+)$")


class LayerLatexPrinter(NotationLatexPrinter):
    """Nielsen's notation for indexed layer quantities.

    ``first`` is the number printed for the layer the derivation calls 1 minus one, i.e. the
    input layer's number: 0 (the derivation's own, a^0 = x, W^1 first) or 1 (Nielsen's, a^1 = x,
    w^2 first); every layer superscript is shifted by it."""

    def __init__(self, first: int = 0, **settings):
        super().__init__(preset("nielsen"), **settings)
        self.first = first

    def _print_Indexed(self, expr) -> str:
        label = expr.base.label
        found = _LAYER_NAME.match(str(label))
        if found and self.first:
            label = sp.Symbol(f"{found['base']}__{int(found['layer']) + self.first}")
        base = self._print(label)
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


def tex(expr: sp.Expr, first: int = 0) -> str:
    """One expression in Nielsen's notation (the input layer numbered ``first``)."""
    return LayerLatexPrinter(first).doprint(expr)


def layer_equations(d: LayerDerivation, first: int = 0) -> list[dict]:
    """Per layer, from the output down: its BP lines (label, left side, general, specialised);
    layers numbered from ``first`` for the input (0: W^1 first; 1: Nielsen's, w^2 first)."""
    out = []
    grads = {(g.layer, g.label): g for g in d.gradients}

    def printed(expr):
        return LayerLatexPrinter(first).doprint(expr)

    for delta in d.deltas:
        l = delta.layer
        n = l + first  # the layer's printed number
        fwd = d.forward[l - 1]
        bp4 = grads[(l, "BP4")]
        lines = [
            dict(
                label="BP1" if delta.label == "BP1" else "BP2",
                lhs=printed(delta.general.lhs),
                general=printed(delta.general.rhs),
                special=printed(delta.specialised.rhs),
            ),
            dict(
                label="BP3",
                lhs=rf"\frac{{\partial C}}{{\partial b^{{{n}}}_{{j}}}}",
                general=printed(grads[(l, "BP3")].index.rhs),
                special="",
            ),
            dict(
                label="BP4",
                lhs=rf"\frac{{\partial C}}{{\partial w^{{{n}}}_{{jk}}}}",
                general=printed(bp4.index.rhs),
                special="",
            ),
        ]
        out.append(
            dict(
                layer=n,
                activation=activation_latex(fwd.activation),
                forward=[(printed(eq.lhs), printed(eq.rhs)) for eq in (fwd.z, fwd.a)],
                lines=lines,
            )
        )
    return out


# Worked numbers: vectors and matrices of a layer net, truncated to fit a page.
MAX_ROWS = 8  # a longer vector or taller matrix shows its first HEAD_ROWS rows and its last
HEAD_ROWS = 5
MAX_COLS = 6  # a wider matrix shows its first HEAD_COLS columns and its last
HEAD_COLS = 4
SIGNIFICANT = 4


def number(value, digits: int = SIGNIFICANT) -> str:
    """A number rounded to ``digits`` significant digits, in LaTeX: ``0.1235``, ``-3``,
    ``1.5 \\times 10^{-6}`` (powers of ten below 10^{-4} and from 10^{6})."""
    import mpmath

    v = mpmath.mpf(value)
    if v == 0:
        return "0"
    text = mpmath.nstr(v, digits, min_fixed=-4, max_fixed=6, strip_zeros=True)
    if "e" in text:
        mantissa, exponent = text.split("e")
        mantissa = mantissa[:-2] if mantissa.endswith(".0") else mantissa
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text[:-2] if text.endswith(".0") else text


def shown(count: int, limit: int, head: int) -> list[int | None]:
    """The 0-based indices shown of ``count`` entries: all up to ``limit``, else the first
    ``head``, ``None`` (the dots) and the last."""
    if count <= limit:
        return list(range(count))
    return [*range(head), None, count - 1]


def _span(indices: list[int | None], count: int) -> str:
    """Which 1-based entries ``indices`` shows, in words: '1--5 and 30 of 30'."""
    kept = [i + 1 for i in indices if i is not None]
    if len(kept) == count:
        return ""
    return f"{kept[0]}--{kept[-2]} and {kept[-1]} of {count}"


def _layout(values) -> tuple[int, int]:
    """How an array's shown entries print: the power of ten taken out (when they are all
    small, below 0.01, or large, from 10^4; else 0) and the decimals that give the largest
    entry ``SIGNIFICANT`` significant digits."""
    import mpmath

    top = max((abs(mpmath.mpf(v)) for v in values), default=mpmath.mpf(0))
    if top == 0:
        return 0, 0
    top = mpmath.mpf(mpmath.nstr(top, SIGNIFICANT))  # 0.0099999 prints as 0.01
    power = int(mpmath.floor(mpmath.log10(top)))
    scale = power if power < -2 or power > 3 else 0
    return scale, max(0, SIGNIFICANT - 1 - (power - scale))


EXTRA_DECIMALS = 3  # a small entry gets up to this many decimals more than the largest


def _entry(value, power: int, decimals: int) -> str:
    """One entry in fixed point: ``SIGNIFICANT`` significant digits, but between ``decimals``
    and ``decimals + EXTRA_DECIMALS`` decimals, so a column stays narrow (no powers of ten
    inside an array); trailing zeros dropped."""
    import mpmath

    v = mpmath.mpf(value) / mpmath.mpf(10) ** power
    if v == 0:
        return "0"
    own = SIGNIFICANT - 1 - int(mpmath.floor(mpmath.log10(abs(v))))
    places = min(max(own, decimals), decimals + EXTRA_DECIMALS)
    text = f"{float(v):.{places}f}"  # |v| < 10^4 after the power is taken out
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if float(text) == 0 else text  # no "-0"


def _scaled(tex: str, power: int) -> str:
    return rf"10^{{{power}}} {tex}" if power else tex


def vector_latex(values) -> tuple[str, str]:
    """A column vector as a ``pmatrix`` (small or large entries with a power of ten taken
    out), and which entries it shows ('' when all)."""
    rows = shown(len(values), MAX_ROWS, HEAD_ROWS)
    power, decimals = _layout([values[i] for i in rows if i is not None])
    cells = [r"\vdots" if i is None else _entry(values[i], power, decimals) for i in rows]
    body = r" \\ ".join(cells)
    span = _span(rows, len(values))
    tex = _scaled(rf"\begin{{pmatrix}} {body} \end{{pmatrix}}", power)
    return tex, (f"entries {span}" if span else "")


def matrix_latex(values) -> tuple[str, str]:
    """A matrix (list of rows) as a ``pmatrix`` with ``\\cdots``/``\\vdots``/``\\ddots`` where
    rows or columns are left out (small or large entries with a power of ten taken out), and
    which entries it shows ('' when all)."""
    rows = shown(len(values), MAX_ROWS, HEAD_ROWS)
    cols = shown(len(values[0]), MAX_COLS, HEAD_COLS)
    power, decimals = _layout(
        [values[r][c] for r in rows if r is not None for c in cols if c is not None]
    )
    lines = []
    for r in rows:
        if r is None:
            cells = [r"\ddots" if c is None else r"\vdots" for c in cols]
        else:
            cells = [
                r"\cdots" if c is None else _entry(values[r][c], power, decimals) for c in cols
            ]
        lines.append(" & ".join(cells))
    body = r" \\ ".join(lines)
    parts = [
        f"{what} {span}"
        for what, span in (
            ("rows", _span(rows, len(values))),
            ("columns", _span(cols, len(values[0]))),
        )
        if span
    ]
    return _scaled(rf"\begin{{pmatrix}} {body} \end{{pmatrix}}", power), ", ".join(parts)

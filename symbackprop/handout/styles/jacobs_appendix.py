"""The jacobs style's appendices, printed: A, a logistic output with the Bernoulli
log-likelihood; B, softmax outputs with the multinomial log-likelihood.

The derivations are the data of :mod:`jacobs_appendices`; here they are printed in the lecture's
letters at the unit level (``y``, ``y*``, ``s``, ``h_j``, ``w_j``) and in Nielsen's at the layer
level (``a^L_j``, ``y_j``, ``z^L_j``), with what changes in the δ recursion. When the network's
own output layer is of the appendix's kind the appendix says so, in the network's symbols (the
unit handout's matched-output strings, or the layer handout's BP1).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symbackprop.handout.styles import SectionInput
from symbackprop.handout.styles.jacobs_appendices import (
    IndexedLatexPrinter,
    bernoulli,
    softmax,
)
from symbackprop.handout.styles.jacobs_unit import block
from symbackprop.model.notation import preset
from symbackprop.rules.layer_losses import SOFTMAX


@dataclass(frozen=True)
class Letters:
    """The names an appendix prints with, by level.

    ``y``, ``t``, ``s``: symbol names of the output, target and net input (the softmax's
    indexed bases have these names, the one-unit symbols of appendix A add ``_j`` at the layer
    level); ``h``, ``w``: LaTeX of the input an output weight carries and of that weight;
    ``delta``: the output δ's symbol name.
    """

    printer: IndexedLatexPrinter
    y: str
    t: str
    s: str
    h: str
    w: str
    delta: str

    def p(self, expr: sp.Expr) -> str:
        return self.printer.doprint(expr)

    def sym(self, name: str) -> str:
        return self.p(sp.Symbol(name))


UNIT = dict(y="y", t="ystar", s="s", h="h_{j}", w="w_{j}", delta="delta__y")
LAYER = dict(y="a__L", t="y", s="z__L", h="a^{L-1}_{k}", w="w^{L}_{jk}", delta="delta__L")
LOG_L = r"\log L"


def d(num: str, den: str) -> str:
    """``∂num/∂den`` of two LaTeX strings."""
    return rf"\frac{{\partial {num}}}{{\partial {den}}}"


def dd(num: str, den: str) -> str:
    """``∂num/∂den`` for running text (a slash, not a small fraction)."""
    return rf"\partial {num}/\partial {den}"


def letters(level: str, j: str = "") -> Letters:
    """The appendix's letters at ``level``; ``j`` is appended to the one-unit names (the layer
    level's ``a^L_j``)."""
    names = UNIT if level == "unit" else LAYER
    printer = IndexedLatexPrinter(preset("jacobs" if level == "unit" else "nielsen"))
    suffix = f"_{j}" if j else ""
    return Letters(
        printer,
        y=names["y"] + suffix,
        t=names["t"] + suffix,
        s=names["s"] + suffix,
        h=names["h"],
        w=names["w"],
        delta=names["delta"] + suffix,
    )


def _lines(first: str, exprs, p) -> list[tuple[str, str]]:
    return [(first if k == 0 else "", "= " + p(e)) for k, e in enumerate(exprs)]


def appendix_a(inp: SectionInput) -> dict:
    """Appendix A: ∂log L/∂s = y* − y for one logistic output, step by step, and the δ
    recursion with it."""
    unit = inp.level == "unit"
    L = letters(inp.level, "" if unit else "j")
    b = bernoulli(sp.Symbol(L.y), sp.Symbol(L.t), sp.Symbol(L.s))
    y, t, s = L.sym(L.y), L.sym(L.t), L.sym(L.s)
    log_l = LOG_L
    which = "the output unit" if unit else "each output unit $j$"
    blocks = [
        block(
            text=(
                f"For a binary classification the target ${t}$ is a class label, $0$ or $1$, "
                f"and {which} gives the probability of class $1$: $p({t} = 1 \\mid "
                f"\\mathbf{{x}}) = {y}$ and $p({t} = 0 \\mid \\mathbf{{x}}) = 1 - {y}$, that is "
                f"$p({t} \\mid \\mathbf{{x}}) = {{{y}}}^{{{t}}} (1 - {y})^{{1 - {t}}}$, a "
                f"Bernoulli distribution with mean ${y}$. Its logarithm is the log-likelihood of "
                f"one "
                f"pattern (summed over the patterns of an epoch"
                + ("" if unit else ", and over the output units")
                + "):"
            ),
            lines=[(log_l, "= " + L.p(b.loglik))],
        ),
        block(
            text="An output weight's derivative has the three stages of the main text,",
            lines=[(d(log_l, L.w), f"= {d(log_l, y)}\\, {d(y, s)}\\, {d(s, L.w)}")],
            after=f"the last one ${L.h}$ as before. The first stage:",
        ),
        block(
            lines=_lines(d(log_l, y), b.dlogl_dy, L.p),
        ),
        block(
            text="The output unit is logistic:",
            lines=[(y, "= " + L.p(b.logistic)), (f"1 - {y}", "= " + L.p(b.complement))]
            + _lines(d(y, s), b.dy_ds, L.p),
            after="The first two stages together:",
        ),
        block(
            lines=[
                (
                    d(log_l, s),
                    "= " + d(log_l, y) + " " + d(y, s),
                )
            ]
            + _lines("", b.dlogl_ds, L.p),
        ),
    ]
    delta = L.sym(L.delta)
    after = (
        f"What changes in the $\\delta$ recursion is the output unit's $\\delta$ only: the "
        f"factor ${L.p(b.dy_ds[-1])}$ of the logistic cancels the denominators of "
        f"${dd(log_l, y)}$, so ${delta} = {dd(log_l, s)} = {L.p(b.dlogl_ds[-1])}$, "
        "the same form as a linear output with the Gaussian log-likelihood. An output weight's "
        f"gradient is ${delta}\\, {L.h}$, and the hidden units' $\\delta$'s follow from "
        "the output $\\delta$ as in the main text."
    )
    blocks.append(block(text=after + own_output_a(inp)))
    return dict(title="Appendix A: binary classification", blocks=blocks)


def own_output_a(inp: SectionInput) -> str:
    """What the appendix means for this network's own output layer, when it is of its kind."""
    if inp.level == "unit":
        matched = inp.context["matched"]
        if matched["kind"] != "sigmoid":
            return ""
        return (
            f" This network's output is of this kind: in its symbols "
            f"${matched['delta']}$, the output $\\delta$ of its backward step."
        )
    rule = inp.derivation.output
    if not (rule.activation == "sigmoid" and rule.fused):
        return ""
    sign = "y - a^L" if rule.maximize else "a^L - y"
    # the code's per-unit loss from the net input (rules.layer_losses: sign × (softplus − y z))
    stable = (
        r"y_j z^L_j - \operatorname{softplus}(z^L_j)"
        if rule.maximize
        else r"\operatorname{softplus}(z^L_j) - y_j z^L_j"
    )
    return (
        " This network's output layer is of this kind"
        + ("" if rule.maximize else r", with the cross-entropy $C = -\log L$")
        + f": BP1 gives $\\delta^L = {sign}$, which the code computes, with the loss from "
        f"the net inputs as ${stable}$ (finite for any $z^L_j$)."
    )


def appendix_b(inp: SectionInput) -> dict:
    """Appendix B: the softmax's Jacobian with the Kronecker δ, the multinomial log-likelihood,
    and ∂log L/∂s_i = y*_i − y_i through the sum over every output."""
    L = letters(inp.level)
    m = softmax(L.y, L.t, L.s)
    i, k = m.i, m.k
    y_i, y_k, s_i, t_i = (L.p(e) for e in (m.y[i], m.y[k], m.s[i], m.t[i]))
    t_k = L.p(m.t[k])
    log_l = LOG_L
    blocks = [
        block(
            text=(
                "For a classification into $K \\ge 3$ classes each class $k$ has an indicator "
                f"target ${t_k}$, $1$ if the input belongs to class $k$ and $0$ otherwise (exactly "
                "one is $1$), and output unit $k$ gives the probability of class $k$. Given the "
                "input, the targets have a multinomial distribution, and its logarithm is the "
                "log-likelihood of one pattern (summed over the patterns of an epoch):"
            ),
            lines=[
                (
                    (
                        r"p(\mathbf{y}^{*} \mid \mathbf{x})"
                        if inp.level == "unit"
                        else r"p(y \mid \mathbf{x})"
                    ),
                    "= " + L.p(m.density),
                ),
                (log_l, "= " + L.p(m.loglik)),
            ],
        ),
        block(
            text="The output units use the softmax,",
            lines=[(y_i, "= " + L.p(m.output))],
            after=(
                "which is not local: every output depends on the net input of every output "
                "unit. With the Kronecker delta $\\delta_{ik}$ ($1$ when $i = k$, else $0$) its "
                f"derivatives are ${dd(y_k, s_i)} = {L.p(m.jacobian)}$, so the derivative with "
                f"respect to ${s_i}$ sums over every output $k$:"
            ),
        ),
        block(
            lines=[
                (d(log_l, s_i), rf"= \sum_k {d(log_l, y_k)}\, {d(y_k, s_i)}"),
                *[("", "= " + L.p(e)) for e in m.chain[:-1]],
                ("", "= " + L.p(m.chain[-1]) + rf" \qquad \text{{since }} \sum_k {t_k} = 1"),
            ],
            after=(
                f"The sum over $k$ of ${t_k} \\delta_{{ik}}$ keeps the one term $k = i$: that is "
                "how the Kronecker delta takes care of the non-local dependencies."
            ),
        ),
    ]
    delta_i = L.p(sp.Symbol(L.delta + "_i"))
    text = (
        f"In the $\\delta$ recursion the output $\\delta$ is again ${delta_i} = {t_i} - {y_i}$, "
        "as for a logistic output (Appendix~A) and for a linear output with the Gaussian "
        f"log-likelihood; an output weight's gradient is ${delta_i}$ times the input it carries "
        "and the hidden units' $\\delta$'s follow as in the main text."
    )
    blocks.append(block(text=text + own_output_b(inp)))
    if inp.level == "unit" and inp.context["matched"]["kind"] == SOFTMAX:
        matched = inp.context["matched"]
        blocks.append(
            block(
                text="This network's output layer is a softmax layer. In its own symbols,",
                lines=[
                    ("", matched["softmax"] + ","),
                    ("", matched["jacobian"] + ","),
                    ("", matched["delta"]),
                ],
                after=(
                    f"using ${matched['condition']}$: these are the output $\\delta$'s of its "
                    "backward step."
                ),
            )
        )
    return dict(title="Appendix B: multiway classification", blocks=blocks)


def own_output_b(inp: SectionInput) -> str:
    """What appendix B means for this network's own output layer, when it is a softmax."""
    if inp.level == "unit":
        return ""  # the unit level's own softmax layer gets a block of its own
    rule = inp.derivation.output
    if rule.activation != SOFTMAX:
        return ""
    if not rule.fused:
        return (
            " This network's output layer is a softmax layer, but its loss is not the "
            "multinomial log-likelihood: its BP1 keeps the sum over every output, "
            r"$\delta^L = a^L \odot \bigl(\nabla_{a^L} C - (a^L \cdot \nabla_{a^L} C)\,"
            r"\mathbf{1}\bigr)$."
        )
    sign = "y - a^L" if rule.maximize else "a^L - y"
    return (
        " This network's output layer is of this kind"
        + ("" if rule.maximize else r", with the cross-entropy $C = -\log L$")
        + f": BP1 gives $\\delta^L = {sign}$, which the code computes; it takes $\\ln a^L$ as a "
        "log-softmax with the largest net input subtracted, so that the loss and its gradient "
        "stay finite for any net inputs."
    )

"""The layer handout's worked example: one example through BP1–BP4 and one update, in numbers.

The numbers come from :mod:`layer_values` (30 digits, the derivation's own rules); this module
prints them as LaTeX blocks (prose, then display lines) that the template lays out. Vectors and
matrices too large for a page are cut to their first and last entries (:mod:`layer_latex`) and
each block says which entries it shows. When the section cannot be made (the 30-digit route
would not fit the time or memory left, or a value is not finite), :func:`worked_section` says
why in one sentence, which the handout prints in place of the numbers and the command warns with.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import numpy as np

from symbackprop import budget
from symbackprop.derivation.layer import LayerDerivation
from symbackprop.derivation.layer_values import (
    WorkedExample,
    example_cost,
    example_params,
    is_finite,
    worked_example,
)
from symbackprop.errors import ResourceLimit
from symbackprop.handout.course import settings_latex
from symbackprop.handout.unit import escape_text
from symbackprop.printers.layer_latex import activation_latex, matrix_latex, number, vector_latex
from symbackprop.rules.layer_losses import SOFTMAX
from symbackprop.rules.optimizers import optimizer


def _shape(values) -> str:
    return rf"{len(values)} \times {len(values[0])}"


class _Block:
    """Prose, display lines, and a note of the entries shown where arrays were cut."""

    def __init__(self, title: str, text: str):
        self.title, self.text, self.equations, self.cut = title, text, [], []

    def vector(self, lhs: str, values, what: str, rel: str = "=") -> str:
        tex, span = vector_latex(values)
        if span:
            self.cut.append(f"of ${what}$ ({len(values)} entries) {span}")
        return f"{lhs} {rel} {tex}"

    def matrix(self, lhs: str, values, what: str, rel: str = "=") -> str:
        tex, span = matrix_latex(values)
        if span:
            self.cut.append(f"of ${what}$ (${_shape(values)}$) {span}")
        return f"{lhs} {rel} {tex}"

    def as_dict(self) -> dict:
        note = ""
        if self.cut:
            note = "Shown: " + "; ".join(self.cut) + "."
        return dict(title=self.title, text=self.text, equations=self.equations, note=note)


def _bp1(d: LayerDerivation, first: int = 0) -> str:
    """δ^L in vector form, as this net's output rule computes it (the output layer numbered
    ``depth + first``)."""
    L, rule = d.net.depth + first, d.output
    if rule.fused:
        return f"y - a^{{{L}}}" if rule.maximize else f"a^{{{L}}} - y"
    if rule.activation == SOFTMAX:
        return (
            rf"a^{{{L}}} \odot \bigl(\nabla_{{a^{{{L}}}}} C - "
            rf"(a^{{{L}}} \cdot \nabla_{{a^{{{L}}}}} C)\,\mathbf{{1}}\bigr)"
        )
    f = activation_latex(rule.activation)
    return rf"\nabla_{{a^{{{L}}}}} C \odot {f}'(z^{{{L}}})"


def _blocks(d: LayerDerivation, ex: WorkedExample, first: int = 0) -> list[dict]:
    net = d.net
    L = net.depth + first

    def n(l: int) -> int:  # layer l's printed number (the input is layer ``first``)
        return l + first

    blocks = []

    b = _Block(
        "The example and the parameters",
        rf"The input $a^{first} = x$, the target $y$, and the weights and biases of each layer.",
    )
    b.equations.append(
        b.vector(f"a^{{{first}}} = x", ex.x, "x") + r", \qquad " + b.vector("y", ex.y, "y")
    )
    for lay in ex.layers:
        l = lay.layer
        b.equations.append(b.matrix(f"W^{{{n(l)}}}", lay.W, f"W^{{{n(l)}}}"))
        b.equations.append(b.vector(f"b^{{{n(l)}}}", lay.b, f"b^{{{n(l)}}}"))
    blocks.append(b.as_dict())

    cost = "\\log L" if ex.maximize else "C"
    b = _Block(
        "Forward pass",
        "Each layer's weighted input and activation, then the cost of the example"
        + (" (with the L2 term)" if net.weight_decay else "")
        + ".",
    )
    for lay in ex.layers:
        l = lay.layer
        f = activation_latex(lay.activation)
        b.equations.append(
            b.vector(
                f"z^{{{n(l)}}} = W^{{{n(l)}}} a^{{{n(l - 1)}}} + b^{{{n(l)}}}",
                lay.z,
                f"z^{{{n(l)}}}",
            )
            + r", \qquad "
            + b.vector(f"a^{{{n(l)}}} = {f}(z^{{{n(l)}}})", lay.a, f"a^{{{n(l)}}}")
        )
    b.equations.append(f"{cost} = {number(ex.cost)}")
    blocks.append(b.as_dict())

    b = _Block(
        "Backward pass",
        "The output error by BP1, then each hidden layer's error by BP2, from the top down.",
    )
    top = ex.layers[-1]
    b.equations.append(
        b.vector(rf"\delta^{{{L}}} = {_bp1(d, first)}", top.delta, rf"\delta^{{{L}}}")
        + r" \tag{BP1}"
    )
    for lay in reversed(ex.layers[:-1]):
        l = lay.layer
        f = activation_latex(lay.activation)
        lhs = (
            rf"\delta^{{{n(l)}}} = \bigl((W^{{{n(l + 1)}}})^{{T}} \delta^{{{n(l + 1)}}}\bigr) "
            rf"\odot {f}'(z^{{{n(l)}}})"
        )
        b.equations.append(b.vector(lhs, lay.delta, rf"\delta^{{{n(l)}}}") + r" \tag{BP2}")
    blocks.append(b.as_dict())

    decay = ""
    if net.weight_decay:
        decay = (r" - " if ex.maximize else r" + ") + r"\lambda W^{%d}"
    b = _Block(
        "Gradients",
        r"BP3 and BP4 for every layer"
        + (
            rf"; the L2 term adds ${'-' if ex.maximize else '+'}\lambda W^l$ with "
            rf"$\lambda = {number(net.weight_decay)}$ (a batch of one, $n = 1$)"
            if net.weight_decay
            else ""
        )
        + ".",
    )
    for lay in ex.layers:
        l = lay.layer
        dc = r"\log L" if ex.maximize else "C"
        b.equations.append(
            b.vector(
                rf"\frac{{\partial {dc}}}{{\partial b^{{{n(l)}}}}} = \delta^{{{n(l)}}}",
                lay.grad_b,
                rf"\partial {dc}/\partial b^{{{n(l)}}}",
            )
            + r" \tag{BP3}"
        )
        rhs = rf"\delta^{{{n(l)}}} (a^{{{n(l - 1)}}})^{{T}}" + (decay % n(l) if decay else "")
        b.equations.append(
            b.matrix(
                rf"\frac{{\partial {dc}}}{{\partial W^{{{n(l)}}}}} = {rhs}",
                lay.grad_W,
                rf"\partial {dc}/\partial W^{{{n(l)}}}",
            )
            + r" \tag{BP4}"
        )
    blocks.append(b.as_dict())

    opt = optimizer(net.optimizer.name)
    settings = settings_latex(net.optimizer.settings)
    settings = f", {settings}" if settings else ""
    sign = (
        r"g = -\partial \log L/\partial\theta" if ex.maximize else r"g = \partial C/\partial\theta"
    )
    b = _Block(
        f"One update: {escape_text(opt.title)}",
        f"The first step of the update rule above from a zero state, with ${sign}$ from the "
        rf"gradients above, $\eta = {number(net.learning_rate)}${settings}.",
    )
    for lay in ex.layers:
        l = lay.layer
        b.equations.append(b.matrix(f"W^{{{n(l)}}}", lay.new_W, f"W^{{{n(l)}}}", r"\leftarrow"))
        b.equations.append(b.vector(f"b^{{{n(l)}}}", lay.new_b, f"b^{{{n(l)}}}", r"\leftarrow"))
    b.equations.append(
        rf"{cost}_{{\text{{before}}}} = {number(ex.cost)}, \qquad "
        rf"{cost}_{{\text{{after}}}} = {number(ex.cost_after)}"
    )
    blocks.append(b.as_dict())
    better = ex.cost_after > ex.cost if ex.maximize else ex.cost_after < ex.cost
    verb = "rises" if ex.maximize else "falls"
    if better:
        outcome = f"the example's ${cost}$ {verb}"
    else:
        outcome = (
            f"the example's ${cost}$ does not {verb[:-1]}: the step overshoots (the learning "
            "rate is too large for this example)"
        )
    blocks[-1][
        "text"
    ] += f" The last line evaluates the same example again with the new parameters: {outcome}."
    return blocks


def _cost_limits(sizes) -> tuple[float, float]:
    n = budget.layer_params(sizes)
    return 6 * budget.MPF_BYTES * n, example_cost(sizes) * budget.MPF_SECONDS


def worked_section(
    d: LayerDerivation, x: np.ndarray, t: np.ndarray, *, synthetic: bool, first: int = 0
) -> tuple[dict, list[str]]:
    """The section's data for the template, and the warnings to print (one line each).

    ``x``, ``t``: the rows of the spec's data (or of the synthetic set when ``synthetic``); the
    first row is the example. ``first``: the input layer's number (0, or 1 as Nielsen). The
    data also hold the values themselves, ``example`` (a :class:`WorkedExample`), for the
    sections of a style that print more of them.
    """
    net = d.net
    memory, seconds = _cost_limits(net.sizes)
    try:
        budget.require("the worked example", memory=memory, seconds=seconds)
    except ResourceLimit as exc:
        why = str(exc.args[0])
        return dict(available=False, reason=escape_text(why)), [f"no worked example: {why}"]
    params = example_params(net)
    ex = worked_example(d, params, x[0], t[0])
    if not is_finite(ex):
        why = "a value of the example is not a finite number"
        return dict(available=False, reason=escape_text(why)), [f"no worked example: {why}"]
    warnings = []
    if synthetic:
        where = (
            "The spec has no \\texttt{[data]}, so the example is the first row of the synthetic "
            "set of the training curve above (inputs uniform in $[0, 1]$, labelled by a random "
            "teacher network)."
        )
    else:
        where = (
            f"The example is the first row of the spec's \\texttt{{[data]}} (of {len(x)} "
            f"row{'s' if len(x) != 1 else ''})."
        )
    total = budget.layer_params(net.sizes)
    given = len(net.values)
    if given == total:
        origin = r" The parameters are the spec's \texttt{[values]}. The "
    else:
        origin = (
            (
                f" {given:,} of the {total:,} parameters are the spec's \\texttt{{[values]}}; "
                "the others are"
                if given
                else " The parameters are"
            )
            + r" those of the generated module's \texttt{init\_params(seed=0)}, where the "
            r"training curve starts: every $w^l_{jk}$ drawn from $N(0, 1/n_{l-1})$ by NumPy's "
            r"\texttt{default\_rng(0)}, every bias $0$. The "
        )
    intro = (
        where
        + origin
        + "numbers are BP1--BP4 evaluated at 30 significant digits and printed to 4 (in an array, "
        "to the decimals that give its largest entry 4, and at most 3 more for a small entry; a "
        "power of ten in front of an array multiplies every entry)."
    )
    if not ex.one_hot_ok:
        why = (
            "the worked example's target does not sum to 1, so its delta^L = a^L - y is not the "
            "gradient of the cross-entropy there"
        )
        warnings.append(why)
        intro += (
            r" \textbf{Note:} this target does not sum to 1, so the code's "
            r"$\delta^L = a^L - y$ (which assumes $\sum_k y_k = 1$) is not the gradient of the "
            "cross-entropy at this example; the numbers below follow the code."
        )
    # ``example``: the numbers themselves, for a style that prints more of them
    blocks = _blocks(d, ex, first)
    return dict(available=True, intro=intro, blocks=blocks, example=ex), warnings

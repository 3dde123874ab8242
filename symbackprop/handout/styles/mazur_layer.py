"""The mazur style's own sections at the layer level: the tutorial's worked numbers first.

The worked example of :mod:`handout.layer_worked` (one example through BP1–BP4 and one update,
at 30 digits) is laid out in the tutorial's order (seed 000): the example's starting values
(the first units only: a table of the first inputs, targets, weights and biases, saying how
many of each it shows), the algorithm box, the forward pass, the error per output (each
output's share of the cost, then their sum), and, after the training curve, the backward pass,
the gradients and the update. The equations (BP1–BP4 with their proofs) follow.

Every number is the worked example's own (``worked["example"]``); the templates
``sections/mazur_layer_*.tex.jinja`` only lay out what is printed here.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import mpmath
import sympy as sp

from symbackprop.handout.styles import SectionInput
from symbackprop.printers.layer_latex import activation_latex, number, vector_latex
from symbackprop.rules import registry as rules

FIRST_INPUTS = 4  # the inputs and targets the table shows, at most
FIRST_UNITS = 2  # the units of each layer it shows, at most
FIRST_SOURCES = 3  # the weights into each of those units it shows, at most
LISTED_OUTPUTS = 4  # the error's sum is written term by term up to this many outputs


def _worked(inp: SectionInput) -> dict:
    return inp.context["worked"]


def _blocks(inp: SectionInput) -> dict[str, dict]:
    """The worked example's blocks by what they show (:func:`layer_worked._blocks`' order)."""
    blocks = _worked(inp)["blocks"]
    names = ("start", "forward", "backward", "gradients", "update")
    assert len(blocks) == len(names), [b["title"] for b in blocks]
    return dict(zip(names, blocks))


def _cells(prefix: str, values, count: int) -> list[str]:
    return [f"{prefix}_{{{j + 1}}} = {number(values[j])}" for j in range(count)]


def start_tables(inp: SectionInput) -> tuple[list[dict], str]:
    """The starting values of the first units, as table rows (a title, then cells), and a
    sentence saying how many of each are shown."""
    ex = _worked(inp)["example"]
    sizes = inp.network.sizes
    n_in, n_out = min(len(ex.x), FIRST_INPUTS), min(len(ex.y), FIRST_INPUTS)
    rows = [
        dict(title="Input $x$", cells=_cells("x", ex.x, n_in)),
        dict(title="Target $y$", cells=_cells("y", ex.y, n_out)),
    ]
    said = [_of(n_in, len(ex.x), "input"), _of(n_out, len(ex.y), "target")]
    for lay in ex.layers:
        l = lay.layer
        units = min(FIRST_UNITS, sizes[l])
        sources = min(FIRST_SOURCES, sizes[l - 1])
        for j in range(units):
            weights = [
                f"w^{{{l}}}_{{{j + 1}{k + 1}}} = {number(lay.W[j][k])}" for k in range(sources)
            ]
            rows.append(
                dict(
                    title=f"Unit {j + 1} of layer {l}",
                    cells=weights + [f"b^{{{l}}}_{{{j + 1}}} = {number(lay.b[j])}"],
                )
            )
        below = "input" if l == 1 else f"unit of layer {l - 1}"
        said.append(
            f"{_of(units, sizes[l], f'unit of layer {l}')}, each with its weights from "
            f"{_of(sources, sizes[l - 1], below, article=True)} and its bias"
        )
    columns = max(len(r["cells"]) for r in rows)
    for r in rows:
        r["cells"] = r["cells"] + [""] * (columns - len(r["cells"]))
    return [dict(columns=columns, rows=rows)], "The table shows " + _listing(said) + "."


def _of(shown: int, total: int, what: str, article: bool = False) -> str:
    """``the first 4 of the 784 inputs``, ``the 2 targets``, ``the input``."""
    plural = what if total == 1 else _plural(what)
    if shown == total:
        if total == 1:
            return f"the {what}"
        return f"the {total} {plural}" if not article else f"all {total} {plural}"
    return f"the first {shown} of the {total:,} {plural}"


def _plural(what: str) -> str:
    head, sep, tail = what.partition(" of ")
    return head + "s" + sep + tail


def _listing(items: list[str]) -> str:
    return items[0] if len(items) < 2 else "; ".join(items[:-1]) + "; and " + items[-1]


def start(inp: SectionInput) -> dict:
    """The example and its starting values: the worked example's introduction (where its data
    and parameters come from) and the table of the first units' values."""
    worked = _worked(inp)
    if not worked["available"]:
        return dict(available=False, reason=worked["reason"])
    # the training curve is further on in this style
    intro = worked["intro"].replace("training curve above", "training curve below")
    tables, said = start_tables(inp)
    return dict(available=True, intro=intro, tables=tables, said=said)


# --- the algorithm box ---------------------------------------------------------------------


def algorithm(inp: SectionInput) -> dict:
    """The tutorial's Algorithm 1 in Nielsen's vector notation, for this net: its activations,
    its loss, its output δ (BP1 as the code computes it) and its update rule."""
    from symbackprop.handout.layer_worked import _bp1
    from symbackprop.rules.optimizers import optimizer

    net, d, ctx = inp.network, inp.derivation, inp.context
    L = net.depth
    cost = r"\log L" if d.output.maximize else "C"
    fs = sorted({activation_latex(a) for a in net.activations[:-1]})
    steps = [
        dict(
            title="Forward pass",
            text="From the input $a^{0} = x$, layer by layer:",
            lines=[
                (r"z^{l}", r"= W^{l} a^{l-1} + b^{l}"),
                (r"a^{l}", rf"= f_l(z^{{l}}), \qquad {_range(L)}"),
            ],
            after=_activations(net),
        )
    ]
    term, _ = per_output_term(inp)
    lines = [(cost, rf"= \sum_j {cost}_j" + _decay(inp)), (rf"{cost}_j", "= " + term)]
    what = "log-likelihood" if d.output.maximize else "error"
    steps.append(
        dict(
            title="Error",
            text=f"The {what} of the outputs $a^{{{L}}}$ against the target $y$, a sum over "
            "the outputs:",
            lines=lines,
            after="",
        )
    )
    steps.append(
        dict(
            title="Output deltas",
            text=rf"$\delta^{{{L}}} = \partial {cost}/\partial z^{{{L}}}$ (BP1):",
            lines=[(rf"\delta^{{{L}}}", "= " + _bp1(d))],
            after="",
        )
    )
    if L > 1:
        steps.append(
            dict(
                title="Hidden deltas",
                text="Backwards, from the layer below the output to the first (BP2):",
                lines=[
                    (
                        r"\delta^{l}",
                        r"= \bigl((W^{l+1})^{T} \delta^{l+1}\bigr) \odot f_l'(z^{l}), "
                        rf"\qquad {_range(L - 1, down=True)}",
                    )
                ],
                after=f"with ${', '.join(fs)}$ differentiated at $z^l$." if fs else "",
            )
        )
    decay = ""
    if net.weight_decay:
        decay = (" - " if d.output.maximize else " + ") + r"\lambda W^{l}"
    steps.append(
        dict(
            title="Gradients",
            text="For every layer (BP3, BP4):",
            lines=[
                (rf"\frac{{\partial {cost}}}{{\partial b^{{l}}}}", r"= \delta^{l}"),
                (
                    rf"\frac{{\partial {cost}}}{{\partial W^{{l}}}}",
                    r"= \delta^{l} (a^{l-1})^{T}" + decay,
                ),
            ],
            after="",
        )
    )
    opt = optimizer(net.optimizer.name)
    sign = r"-\partial \log L/\partial\theta" if d.output.maximize else r"\partial C/\partial\theta"
    steps.append(
        dict(
            title="Updates",
            text=f"Every weight and bias $\\theta$, with $g = {sign}$ and "
            f"$\\eta = {ctx['learning_rate']}$"
            + (f", {ctx['settings']}" if ctx["settings"] else "")
            + ":",
            lines=[("", eq) for eq in opt.equations],
            after="",
        )
    )
    intro = (
        f"Training repeats, for each example (or batch), a forward pass, the {what} and a "
        "backward pass that gives every weight's gradient; then it updates the weights. The "
        "steps in vector form, for this network (the worked example below follows them with "
        "the numbers):"
    )
    return dict(steps=steps, what=what, intro=intro)


def _activations(net) -> str:
    names = ", ".join(
        f"$f_{{{l}}} = {activation_latex(a)}$" for l, a in enumerate(net.activations, start=1)
    )
    return f"with {names}."


def _decay(inp: SectionInput) -> str:
    net = inp.network
    if not net.weight_decay:
        return ""
    sign = "-" if inp.derivation.output.maximize else "+"
    return rf" {sign} \frac{{\lambda}}{{2}} \sum w^2"


def per_output_term(inp: SectionInput) -> tuple[str, sp.Expr]:
    """One output's share of the loss, ``C_j = ½(y_j − a^L_j)²``, printed, and the rule's term
    as a SymPy expression of ``a`` and ``y`` (:mod:`rules.layer_losses`' symbols)."""
    from symbackprop.printers.printing import NotationLatexPrinter
    from symbackprop.rules.layer_losses import a, y

    L = inp.network.depth
    term = rules.loss(inp.network.loss).term(a, y)
    names = {a: sp.Symbol(f"a^{L}_j"), y: sp.Symbol("y_j")}
    printer = NotationLatexPrinter(order="none", ln_notation=True)
    return printer.doprint(term.xreplace(names)), term


# --- the worked forward pass and the error per output --------------------------------------


def output_errors(inp: SectionInput) -> list:
    """Each output's share of the example's cost, at 30 digits (the loss rule's own term, as
    :func:`layer_values._cost` sums it)."""
    from symbackprop.derivation.layer_values import DIGITS
    from symbackprop.derivation.mpvalue import mp_value
    from symbackprop.rules.layer_losses import a, y

    ex = _worked(inp)["example"]
    _, term = per_output_term(inp)
    with mpmath.workdps(DIGITS):
        return [mp_value(term, {a: aj, y: yj}) for aj, yj in zip(ex.layers[-1].a, ex.y)]


def error_block(inp: SectionInput) -> dict:
    """The error per output: the first output's share with its numbers, every share as a
    vector (cut like the other arrays), then their sum (and the L2 term), which is the cost."""
    from symbackprop.derivation.layer_values import DIGITS
    from symbackprop.printers.printing import NotationLatexPrinter
    from symbackprop.rules.layer_losses import a, y

    net, ex = inp.network, _worked(inp)["example"]
    L = net.depth
    maximize = inp.derivation.output.maximize
    cost = r"\log L" if maximize else "C"
    text, term = per_output_term(inp)
    shares = output_errors(inp)
    # the first output whose share is not 0 (a one-hot target's zeros say little)
    k = next((j for j, share in enumerate(shares) if share != 0), 0)
    first = rules.loss(net.loss).term(a, y).xreplace({a: sp.Symbol("A"), y: sp.Symbol("Y")})
    numbers = NotationLatexPrinter(
        values={sp.Symbol("A"): number(ex.layers[-1].a[k]), sp.Symbol("Y"): number(ex.y[k])},
        order="none",
        ln_notation=True,
    ).doprint(first)
    equations = [
        rf"{cost}_j = {text}",
        rf"{cost}_{{{k + 1}}} = {numbers} = {number(shares[k])}",
    ]
    vector, span = vector_latex(shares)
    note = f"Shown: of the {len(shares)} shares, {span}." if span else ""
    equations.append(rf"\bigl({cost}_j\bigr)_{{j = 1, \dots, {len(shares)}}} = {vector}")
    with mpmath.workdps(DIGITS):
        squares = mpmath.fsum(w * w for lay in ex.layers for row in lay.W for w in row)
        decay = mpmath.mpf(net.weight_decay) / 2 * squares
    line = rf"{cost} = \sum_j {cost}_j" + _decay(inp)
    sign = "-" if maximize else "+"
    if len(shares) <= LISTED_OUTPUTS:
        line += " = " + " + ".join(_term(s) for s in shares)
        if net.weight_decay:
            line += rf" {sign} {number(decay)}"
    elif net.weight_decay:
        with mpmath.workdps(DIGITS):
            line += f" = {number(mpmath.fsum(shares))} {sign} {number(decay)}"
    equations.append(line + f" = {number(ex.cost)}")
    return dict(
        title="The error per output",
        text=rf"The example's {'log-likelihood' if maximize else 'error'} ${cost}$ is a sum over"
        f" the {len(shares)} outputs, each output's share ${cost}_j$ from its activation "
        rf"$a^{{{L}}}_j$ and its target $y_j$; one with its numbers, then all of them and"
        " their sum"
        + (
            r" with the L2 term $\frac{\lambda}{2}\sum w^2$ over the weights"
            if net.weight_decay
            else ""
        )
        + ".",
        equations=equations,
        note=note,
    )


def _term(value) -> str:
    text = number(value)
    return f"({text})" if text.startswith("-") else text


def _range(last: int, down: bool = False) -> str:
    r"""``l = 1, \dots, 3`` (``l = 3, \dots, 1`` going down); ``l = 1, 2``; ``l = 1``."""
    if last == 1:
        return "l = 1"
    if last == 2:
        return "l = 2, 1" if down else "l = 1, 2"
    return rf"l = {last}, \dots, 1" if down else rf"l = 1, \dots, {last}"


def forward(inp: SectionInput) -> dict:
    """The worked forward pass, then the error per output."""
    if not _worked(inp)["available"]:
        return dict(available=False, blocks=[])
    return dict(available=True, blocks=[_blocks(inp)["forward"], error_block(inp)])


def backward(inp: SectionInput) -> dict:
    """The worked backward pass, gradients and update."""
    if not _worked(inp)["available"]:
        return dict(available=False, blocks=[])
    blocks = _blocks(inp)
    return dict(available=True, blocks=[blocks[k] for k in ("backward", "gradients", "update")])

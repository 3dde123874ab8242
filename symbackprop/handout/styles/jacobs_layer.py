"""The jacobs style's own sections at the layer level, in Nielsen's letters.

The log-likelihood view of the layer net's loss (:func:`likelihood_section`: the distribution of
one target ``y_j`` about its output ``a^L_j``, SymPy's logarithm, the sum over the output layer
and gradient ascent written for ``W^l``), and batch training over the data set the training curve
uses (:func:`batch_section`: the spec's rows, or the synthetic set when it has none). The
blocks are laid out by ``templates/latex/sections/jacobs_blocks.tex.jinja``.
"""

from __future__ import annotations

import sympy as sp

from symbackprop.handout.styles import SectionInput
from symbackprop.handout.styles.jacobs_appendices import IndexedLatexPrinter
from symbackprop.handout.styles.jacobs_likelihood import (
    KIND,
    density,
    likelihood,
    log_2pi,
    registry_term,
)
from symbackprop.handout.styles.jacobs_unit import DISTRIBUTION, LOSS_NAME, block
from symbackprop.model.notation import preset
from symbackprop.rules import registry as rules

LOG_L = r"\log L"
DESCENT_DELTA = r"$\delta^l = \partial C/\partial z^l = -\partial \log L/\partial z^l$"


def _given(target: str) -> str:
    return rf"p\left({target} \mid x\right)"


def likelihood_section(inp: SectionInput) -> dict:
    """``log p(y | x)`` for the net's loss, summed over the ``n_L`` outputs, against ``C_x``;
    then ``W^l(n+1) = W^l(n) + η ∂log L(n)/∂W^l(n)``."""
    net, ctx = inp.network, inp.context
    title = "The log-likelihood and gradient ascent"
    kind = KIND.get(net.loss)
    if kind is None:
        return dict(title=title, blocks=[])
    p = IndexedLatexPrinter(preset("nielsen"))
    A, Y = sp.IndexedBase("a__L"), sp.IndexedBase("y")
    j = sp.Symbol("j", integer=True, positive=True)
    n_out = net.sizes[-1]
    term = registry_term(net.loss)
    maximize = bool(ctx["maximize"])
    # one output unit's log-density, and its constant (the sum over the layer has n_L of them)
    cost = rules.LOSSES[net.loss].term(A[j], Y[j])
    one = likelihood(kind, [A[j]], [Y[j]], cost, maximize, term)
    own = LOG_L + "_x" if maximize else "-C_x"
    intro = (
        "Jacobs first chooses a log-likelihood that fits the task and then trains by gradient "
        "ascent on it. " + DISTRIBUTION[kind].format(t=p.doprint(Y[j]), y=p.doprint(A[j]))
    )
    total = sp.Sum(term(A[j], Y[j]), (j, 1, n_out))
    if kind == "multinomial":
        product = sp.Product(sp.Pow(A[j], Y[j], evaluate=False), (j, 1, n_out))
        lines = [
            (_given("y"), "= " + p.doprint(product)),
            (rf"\log {_given('y')}", "= " + p.doprint(total) + f" = {own}"),
        ]
        after = ""
    else:
        constant = ""
        if one.constant != 0:
            ratio = sp.nsimplify(one.constant / sp.log(2 * sp.pi)) * n_out
            constant = " - " + p.doprint(log_2pi(-ratio))
        y_j = p.doprint(Y[j])
        lines = [
            (_given(y_j), "= " + p.doprint(density(kind, A[j], Y[j]))),
            (rf"\log {_given(y_j)}", "= " + p.doprint(one.log_density)),
            (rf"\log {_given('y')}", rf"= \sum_{{j}} \log {_given(y_j)}"),
            ("", "= " + p.doprint(total) + constant + f" = {own}" + constant),
        ]
        units = "the output unit" if n_out == 1 else f"the ${n_out}$ output units"
        after = f"The sums run over {units}; the logarithms are SymPy's expansions."
    blocks = [block(text=intro, lines=lines, after=after)]
    dropped = " (its constant left out: it does not depend on the weights)"
    if maximize:
        view = (
            f"The loss of an example is this log-likelihood, $C_x = {LOG_L}_x$"
            + (dropped if one.constant != 0 else "")
            + "; training maximises it by gradient ascent on every weight matrix:"
        )
    else:
        what = LOSS_NAME[kind]
        view = (
            f"The loss of an example, {what}, is $C_x = -{LOG_L}_x$"
            + (" up to a constant" if one.constant != 0 else "")
            + ": maximising the log-likelihood is minimising $C$, $\\partial "
            + LOG_L
            + "/\\partial W^l = -\\partial C/\\partial W^l$, and gradient ascent on "
            + f"${LOG_L}$ is gradient descent on $C$:"
        )
    update = [
        (
            "W^l(n+1)",
            rf"= W^l(n) + \eta\, \frac{{\partial {LOG_L}(n)}}{{\partial W^l(n)}}"
            + ("" if maximize else r" = W^l(n) - \eta\, \frac{\partial C(n)}{\partial W^l(n)}"),
        ),
    ]
    notes = []
    if ctx["mean"]:
        notes.append(
            "The cost averages over the $n$ examples of a batch, $C = "
            + ("" if maximize else "-")
            + f"\\frac{{1}}{{n}}\\sum_x {LOG_L}_x$"
            + ("" if maximize or one.constant == 0 else " up to a constant")
            + ": the same maximum, the steps scaled by $1/n$."
        )
    if ctx["decay"]:
        notes.append(
            "The L2 term, $\\lambda$ times half the sum of the squared weights, is up to a "
            "constant minus the log of "
            "a Gaussian prior on the weights (mean $0$, variance $1/\\lambda$): with it the "
            "training maximises the log of the posterior instead of the likelihood."
        )
    blocks.append(block(text=view, lines=update, after=" ".join(notes)))
    return dict(title=title, blocks=blocks)


def batch_section(inp: SectionInput) -> dict:
    """The log-likelihood of the data set as a sum over its examples, the gradient as the sum
    of per-example gradients (BP3, BP4 summed), one update per epoch."""
    ctx = inp.context
    rows, sign = ctx["rows"], "" if ctx["maximize"] else "-"
    data = (
        f"The spec gives no data, so the data set here is the one of the training curve below: "
        f"{rows} synthetic examples (inputs uniform in $[0, 1]$, labelled by a random teacher "
        "network)."
        if ctx["synthetic"]
        else f"The data set here is the spec's {rows} examples."
    )
    text = (
        "Jacobs trains in batches: $n$ counts the epochs (passes through all the data; in this "
        "section only, elsewhere $n$ is the size of a batch) and $t$ the examples of an epoch. "
        "The weights stay the same within an epoch; the "
        "log-likelihood of the data set is the sum of the examples' log-likelihoods, and its "
        "gradient the sum of the per-example gradients of BP3 and BP4"
        + ("" if ctx["maximize"] else f" (with {DESCENT_DELTA})")
        + ". "
        + data
    )
    lines = [
        (rf"{LOG_L}(n)", rf"= \sum_{{t=1}}^{{{rows}}} {LOG_L}(t)"),
        (
            rf"\frac{{\partial {LOG_L}(n)}}{{\partial W^l(n)}}",
            rf"= {sign}\sum_{{t}} \delta^l(t)\, \bigl(a^{{l-1}}(t)\bigr)^{{T}}, \qquad "
            rf"\frac{{\partial {LOG_L}(n)}}{{\partial b^l(n)}} = {sign}\sum_{{t}} \delta^l(t)",
        ),
        ("W^l(n+1)", rf"= W^l(n) + \eta\, \frac{{\partial {LOG_L}(n)}}{{\partial W^l(n)}}"),
    ]
    if ctx["batch"]:
        after = (
            f"That is one update per epoch. The training curve below updates instead after "
            f"every mini-batch of {ctx['batch']} examples, drawn afresh each epoch, nearer the "
            "lecture's on-line training: each step follows the gradient of a part of the data."
        )
    else:
        after = (
            "That is one update per epoch, as the training curve below runs it: every step "
            "is on the whole data set."
        )
    return dict(title="Batch training", blocks=[block(text=text, lines=lines, after=after)])

"""The jacobs style's own sections at the unit level, printed for the section templates.

In the lecture's order: the log-likelihood of the task and gradient ascent on it
(:func:`likelihood_section`), batch training over an epoch (:func:`batch_section`), the worked
example's reading of the δ's (:func:`example_section`; the forward and backward steps are the
common sections), then the appendices (:mod:`jacobs_appendix`). Each section is a title and
blocks (``heading``, ``text``, ``lines`` of an ``align*``, ``after``) that
``templates/latex/sections/jacobs_blocks.tex.jinja`` lays out. These sections print symbols
only, never an example's number, so no exercise's answer can appear in them.
"""

from __future__ import annotations

import sympy as sp

from symbackprop.handout.styles import SectionInput
from symbackprop.handout.styles.jacobs_likelihood import (
    KIND,
    likelihood,
    log_2pi,
    loss_rule_of,
    registry_term,
)
from symbackprop.printers.latex_lines import BREAK, pack
from symbackprop.printers.printing import partial_latex

LOG_L = r"\log L"
# The loss each likelihood's negative is, in words.
LOSS_NAME = {
    "gaussian": "half the sum of squared errors",
    "bernoulli": "the binary cross-entropy",
    "multinomial": "the cross-entropy",
}

DISTRIBUTION = {
    "gaussian": (
        "For a regression task the target is the function the network models plus Gaussian "
        "noise of unit variance, independent for each output: each target is normal about its "
        "output, ${t} \\sim N({y}, 1)$, with the density"
    ),
    "bernoulli": (
        "For a binary classification task each target is a class label, $0$ or $1$, and the "
        "output is the probability of class $1$: each target is a Bernoulli variable,"
    ),
    "multinomial": (
        "For a classification into several classes the targets are indicators, one of them "
        "$1$ and the others $0$, and the outputs are the probabilities of the classes: the "
        "targets have the multinomial distribution"
    ),
}


def block(heading: str = "", text: str = "", lines=(), after: str = "") -> dict:
    """One block of a section: optional heading, prose, display lines, prose after."""
    return dict(heading=heading, text=text, lines=pack(list(lines)), after=after)


def _given(w, targets, inputs: str = r"\mathbf{x}") -> str:
    """``p(t_1, t_2 | x)``: the targets listed (first and last when there are many)."""
    names = [w.inline(t) for t in targets]
    if len(names) > 3:
        names = [names[0], r"\dots", names[-1]]
    return rf"p\left({', '.join(names)} \mid {inputs}\right)"


def _update_lines(w, net, sign: int) -> list[tuple[str, str]]:
    """``w(n+1) = w(n) + ε ∂log L(n)/∂w(n)`` (and ``= w(n) − η ∂E(n)/∂w(n)`` for a loss that
    is −log L up to a constant), in the net's rate and loss symbols."""
    rate = w.inline(net.learning_rate)
    ascent = rf"= w(n) + {rate}\, \frac{{\partial {LOG_L}(n)}}{{\partial w(n)}}"
    lines = [("w(n+1)", ascent)]
    if sign < 0:
        loss = w.inline(net.loss)
        lines.append(("", rf"= w(n) - {rate}\, \frac{{\partial {loss}(n)}}{{\partial w(n)}}"))
    return lines


def likelihood_section(inp: SectionInput) -> dict:
    """The log-likelihood of one pattern for this net's loss, derived by SymPy from the
    distribution of the targets, and gradient ascent on it."""
    w, net = inp.writer, inp.network
    name = loss_rule_of(net)
    title = "The log-likelihood and gradient ascent"
    if name is None:
        rate, loss = w.inline(net.learning_rate), w.inline(net.loss)
        text = (
            f"Jacobs starts from a log-likelihood fit for the task. This network's loss "
            f"${loss}$ is none of the lecture's (Gaussian, Bernoulli or multinomial), so it is "
            f"{'ascended' if net.maximize else 'descended'} as it stands: read as "
            f"${LOG_L} = {'' if net.maximize else '-'}{loss}$, each weight moves by "
            f"${rate}\\, \\partial {LOG_L}/\\partial w$."
        )
        return dict(title=title, blocks=[block(text=text)])
    kind = KIND[name]
    loss_expr = net.node(net.loss).expr
    lik = likelihood(kind, net.outputs, net.targets, loss_expr, net.maximize, registry_term(name))
    y, t = net.outputs[0], net.targets[0]
    first = _given(w, [t])
    blocks = []
    intro = (
        "Jacobs first chooses a log-likelihood that fits the task and then trains the network "
        "by gradient ascent on it. " + DISTRIBUTION[kind].format(t=w.inline(t), y=w.inline(y))
    )
    if kind == "multinomial":
        density_lines = [(_given(w, net.targets), "= " + w.s(lik.density))]
        log_lines = [(rf"\log {_given(w, net.targets)}", "= " + w.s(lik.log_density))]
        blocks.append(block(text=intro, lines=density_lines + log_lines))
    else:
        density_lines = [(first, "= " + w.s(lik.density))]
        log_lines = [(rf"\log {first}", "= " + w.s(lik.log_density))]
        blocks.append(block(text=intro, lines=density_lines + log_lines))
    loss = w.inline(net.loss)
    own = LOG_L if lik.sign > 0 else f"-{loss}"
    total_lines = []
    if kind != "multinomial" and len(net.outputs) > 1:
        parts = [rf"\log {_given(w, [tk])}" for tk in net.targets]
        terms = [registry_term(name)(yk, tk) for yk, tk in zip(net.outputs, net.targets)]
        total_lines = [
            (rf"\log {_given(w, net.targets)}", "= " + (BREAK + " + ").join(parts)),
            ("", "= " + w.s(sp.Add(*terms, evaluate=False)) + _constant(w, lik.constant)),
            ("", f"= {own}" + _constant(w, lik.constant)),
        ]
    elif lik.constant != 0:
        total_lines = [(rf"\log {first}", f"= {own}" + _constant(w, lik.constant))]
    rate = w.inline(net.learning_rate)
    if lik.sign > 0:
        text = f"Over the outputs of one pattern the logarithms add up to the network's ${LOG_L}$:"
        if not total_lines:
            text = f"This is the network's log-likelihood ${LOG_L}$ of one pattern."
        after = (
            f"Training maximises ${LOG_L}$, each weight moving up its gradient with step size "
            f"${rate}$:"
        )
        if lik.constant != 0:
            after = "The constant does not depend on the weights, so it is left out. " + after
    else:
        what = LOSS_NAME[kind]
        text = (
            f"This network's loss ${loss}$ is {what}, so its log-likelihood is "
            f"${LOG_L} = -{loss}$" + (" up to a constant" if lik.constant != 0 else "") + ":"
        )
        after = (
            f"Maximising the log-likelihood is minimising ${loss}$: "
            f"$\\partial {LOG_L}/\\partial w = -\\partial {loss}/\\partial w$, so gradient "
            f"ascent on ${LOG_L}$ is gradient descent on ${loss}$, the update of this handout:"
        )
    blocks.append(block(text=text, lines=total_lines, after=after))
    blocks.append(block(lines=_update_lines(w, net, lik.sign)))
    return dict(title=title, blocks=blocks)


def _constant(w, constant: sp.Expr) -> str:
    """`` − log 2π`` after a printed expression (nothing for 0)."""
    if constant == 0:
        return ""
    ratio = sp.nsimplify(constant / sp.log(2 * sp.pi))
    text = w.inline(log_2pi(-ratio) if ratio.is_Rational else -constant)
    return f" - {text}"


def batch_section(inp: SectionInput) -> dict:
    """Batch training: the log-likelihood of an epoch is the sum over its patterns, so is its
    gradient, and the weights change once per epoch; this handout's data are one pattern."""
    w, net = inp.writer, inp.network
    rate = w.inline(net.learning_rate)
    text = (
        "Jacobs trains in batches: $n$ counts the epochs (passes through all the training "
        "patterns) and $t$ the patterns of an epoch. The weights stay the same within an "
        "epoch, the log-likelihood of the data set is the sum of the patterns' log-likelihoods, "
        "and so is its gradient, a sum of per-pattern gradients:"
    )
    lines = [
        (rf"{LOG_L}(n)", rf"= \sum_t {LOG_L}(t)"),
        (
            rf"\frac{{\partial {LOG_L}(n)}}{{\partial w(n)}}",
            rf"= \sum_t \frac{{\partial {LOG_L}(t)}}{{\partial w(n)}}",
        ),
    ]
    chains, hidden_stage = [], ""
    d = inp.derivation
    unit_of = {delta.symbol: net.node(delta.of).unit for delta in d.deltas}
    first: dict[bool, object] = {}
    for grad in d.gradients:
        if len(grad.terms) == 1 and grad.terms[0].delta in unit_of:
            first.setdefault(unit_of[grad.terms[0].delta] in w.outputs, grad)
    for is_output in (True, False):
        grad = first.get(is_output)
        if grad is None:
            continue
        term = grad.terms[0]
        factors = (*term.via, term.local)
        chain = " ".join(partial_latex(p.num, p.den, w.sym) for p in factors)
        chains.append((partial_latex(net.loss, grad.param, w.sym), "= " + chain))
        if not is_output:
            top, bottom = (w.sym.name_latex(x.name) for x in (factors[0].num, factors[0].den))
            hidden_stage = rf"\partial {top}/\partial {bottom}"
    after = (
        "Each weight changes once per epoch, by "
        rf"${rate}\, \partial {LOG_L}(n)/\partial w(n)$. By the chain rule each pattern's term "
        "is a product of stages (Jacobs' three for a unit with its own activation); for a "
        "weight into an output unit and for one into a hidden unit of this network"
        + ("" if net.maximize else f", written for its loss ${w.inline(net.loss)}$")
        + ":"
    )
    ending = (
        "This handout's data set is its one example, a single pattern: the sums over $t$ have "
        "one term, an epoch is one update, and batch and on-line training coincide."
    )
    if hidden_stage:
        ending = (
            f"The hidden unit's first stage, ${hidden_stage}$, sums over the units it feeds: "
            "the error signals travel from the outputs back to the hidden units, hence the name "
            "backpropagation. " + ending
        )
    blocks = [block(text=text, lines=lines, after=after if chains else "")]
    blocks.append(block(lines=chains, after=ending))
    return dict(title="Batch training", blocks=blocks)


def example_section(inp: SectionInput) -> dict:
    """How the worked example below names the lecture's quantities: each δ is the derivative
    of the log-likelihood with respect to a unit's net input."""
    w, net, d = inp.writer, inp.network, inp.derivation
    seen, names = set(), []
    for delta in d.deltas:
        layer = w.layer_of(net.node(delta.of).unit)
        if layer in seen:
            continue
        seen.add(layer)
        names.append((w.s(delta.symbol), "= " + partial_latex(net.loss, delta.of, w.sym)))
    numbers = (
        " The forward and backward steps below work them for this network's example, "
        "in symbols and then with its numbers."
        if inp.context["has_numbers"]
        else " The forward and backward steps below work them for this network in symbols."
    )
    text = (
        "Jacobs writes the derivative of the log-likelihood with respect to a unit's net input "
        "as it is, the error signal the unit sends back. Here it is named $\\delta$, one per "
        "unit; for the first unit of each layer:"
    )
    after = (
        "An output unit's $\\delta$ is the first two stages of the chain rule, a hidden unit's "
        "sums the $\\delta$'s of the units it feeds, each times the weight between them, and "
        "every weight's gradient is the $\\delta$ of the unit it feeds times the input it "
        "carries." + numbers
    )
    kind = inp.context["matched"]["kind"]
    if kind == "softmax":
        after += (
            " The output units are softmax units: their $\\delta$'s, through the Kronecker "
            "$\\delta$, are derived in Appendix~B."
        )
    elif kind == "sigmoid":
        after += (
            " The output unit is logistic with the Bernoulli log-likelihood: its $\\delta$ is "
            "derived in Appendix~A."
        )
    blocks = [block(text=text, lines=names, after=after)] if names else []
    return dict(title="The worked example", blocks=blocks)


def backward_section(inp: SectionInput) -> dict:
    """The common backward step, with its matched-output paragraph left to the appendices."""
    return dict(matched=dict(inp.context["matched"], kind=""))

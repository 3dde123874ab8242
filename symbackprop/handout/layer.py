"""The layer-level handout: BP1–BP4 with their proofs in Nielsen's symbols (seed 004).

Python prints every formula here (the proofs' fixed steps are LaTeX constants, the net's own
equations come from :mod:`printers.layer_latex`); ``templates/latex/layer_handout.tex.jinja`` only
lays
them out. The loss-over-iterations figure is made by running the generated module (in a child
process, :mod:`check.subrun`; its memory and time estimated first, :func:`curve_cost`) on the spec's
data (or, without data, on a fixed synthetic set drawn from a random teacher net of the same
shape, which the caption says). The worked example (:mod:`layer_worked`) takes the first row
of the same data through BP1–BP4 and one update, in numbers.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from symbackprop import __version__, budget
from symbackprop.check import subrun
from symbackprop.codegen.layer import generate_layer_module
from symbackprop.derivation.layer import LayerDerivation, LayerNet, derive_layers
from symbackprop.handout.course import (
    loss_formula,
    number_latex,
    optimizer_note,
    settings_latex,
    source_text,
)
from symbackprop.handout.layer_exercises import layer_exercises
from symbackprop.handout.layer_figure import gradient_costs, layer_figure
from symbackprop.handout.layer_worked import worked_section
from symbackprop.handout.plot import coordinates, training_axes
from symbackprop.handout.styles import SectionInput, build_sections, choose_style
from symbackprop.handout.training import finite_prefix
from symbackprop.handout.unit import escape_text as latex_escape
from symbackprop.printers.layer_latex import activation_latex, layer_equations
from symbackprop.rules.layer_losses import SOFTMAX
from symbackprop.rules.optimizers import optimizer

EPOCHS = 40  # passes over the data in the training curve
BATCH = 10  # rows per mini-batch (Nielsen's chapter 1 trains with 10); fewer rows: full batch
SYNTHETIC_ROWS = 200

# The chain-rule proofs of seed 004, one line of an align* each: (left, right) pairs.
PROOFS = {
    "BP1": [
        (
            r"\delta^L_j",
            r"= \frac{\partial C}{\partial z^L_j} = \sum_k \frac{\partial C}"
            r"{\partial a^L_k} \frac{\partial a^L_k}{\partial z^L_j}",
        ),
        (
            "",
            r"= \frac{\partial C}{\partial a^L_j} \frac{\partial a^L_j}{\partial z^L_j} "
            r"= \frac{\partial C}{\partial a^L_j}\, f_L'(z^L_j) \quad \text{(}a^L_k"
            r"\text{ depends on } z^L_j \text{ only for } k = j\text{)}",
        ),
    ],
    "BP2": [
        (
            r"\delta^l_j",
            r"= \frac{\partial C}{\partial z^l_j} = \sum_k \frac{\partial C}"
            r"{\partial z^{l+1}_k} \frac{\partial z^{l+1}_k}{\partial z^l_j} = \sum_k "
            r"\frac{\partial z^{l+1}_k}{\partial z^l_j}\, \delta^{l+1}_k",
        ),
        (
            r"z^{l+1}_k",
            r"= \sum_j w^{l+1}_{kj} a^l_j + b^{l+1}_k = \sum_j w^{l+1}_{kj}\, "
            r"f_l(z^l_j) + b^{l+1}_k \;\Rightarrow\; \frac{\partial z^{l+1}_k}{\partial z^l_j}"
            r" = w^{l+1}_{kj}\, f_l'(z^l_j)",
        ),
        (r"\delta^l_j", r"= \sum_k w^{l+1}_{kj}\, \delta^{l+1}_k\, f_l'(z^l_j)"),
    ],
    "BP3": [
        (
            r"\frac{\partial C}{\partial b^l_j}",
            r"= \sum_m \frac{\partial C}{\partial z^l_m}"
            r" \frac{\partial z^l_m}{\partial b^l_j} = \delta^l_j\, \frac{\partial(\sum_k "
            r"w^l_{jk} a^{l-1}_k + b^l_j)}{\partial b^l_j} = \delta^l_j",
        )
    ],
    "BP4": [
        (
            r"\frac{\partial C}{\partial w^l_{jk}}",
            r"= \sum_m \frac{\partial C}{\partial "
            r"z^l_m} \frac{\partial z^l_m}{\partial w^l_{jk}} = \delta^l_j\, \frac{\partial"
            r"(\sum_{k'} w^l_{jk'} a^{l-1}_{k'} + b^l_j)}{\partial w^l_{jk}} = a^{l-1}_k"
            r"\, \delta^l_j",
        )
    ],
}
SOFTMAX_STEPS = [
    (
        r"\delta^L_j",
        r"= \sum_k \frac{\partial C}{\partial a^L_k}\, \frac{\partial a^L_k}"
        r"{\partial z^L_j} \qquad \text{(softmax is not local: every } a^L_k \text{ depends on "
        r"} z^L_j\text{)}",
    ),
    (
        "",
        r"= \sum_k \Bigl(-\frac{y_k}{a^L_k}\Bigr)\, a^L_k\, (\delta_{kj} - a^L_j) \qquad "
        r"\Bigl(\frac{\partial a^L_k}{\partial z^L_j} = a^L_k(\delta_{kj} - a^L_j)\Bigr)",
    ),
    ("", r"= -\sum_k y_k\, \delta_{kj} + a^L_j \sum_k y_k = -y_j + a^L_j \sum_k y_k"),
    ("", r"= a^L_j - y_j \qquad \text{using } \sum_k y_k = 1"),
]


def algorithm(first: int = 0) -> list[str]:
    """The five steps, the input layer numbered ``first`` (0; or 1 as Nielsen: a^1 = x and
    l = 2, ..., L)."""
    return [
        rf"\textbf{{Input}} $x$: set $a^{first} = x$.",
        rf"\textbf{{Feedforward}}: for $l = {first + 1}, \dots, L$ compute $z^l = W^l a^{{l-1}} "
        r"+ b^l$ and $a^l = f_l(z^l)$.",
        r"\textbf{Output error} $\delta^L$: BP1.",
        rf"\textbf{{Backpropagate the error}}: for $l = L-1, \dots, {first + 1}$ compute "
        r"$\delta^l = ((W^{l+1})^{T} \delta^{l+1}) \odot f_l'(z^l)$ (BP2).",
        r"\textbf{Output}: $\partial C/\partial w^l_{jk} = a^{l-1}_k \delta^l_j$ and "
        r"$\partial C/\partial b^l_j = \delta^l_j$ (BP3, BP4), averaged or summed over the batch.",
    ]


def _data(net: LayerNet) -> tuple[np.ndarray, np.ndarray, bool]:
    if net.data_x:
        return np.array(net.data_x), np.array(net.data_t), False
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(SYNTHETIC_ROWS, net.sizes[0]))
    teacher = rng.standard_normal((net.sizes[-1], net.sizes[0])) / np.sqrt(net.sizes[0])
    logits = (x - 0.5) @ teacher.T * 4
    if net.activations[-1] == SOFTMAX:
        t = np.eye(net.sizes[-1])[np.argmax(logits, axis=1)]
    else:
        t = 1 / (1 + np.exp(-logits))
    return x, t, True


def curve_cost(net: LayerNet) -> tuple[float, float]:
    """Bytes and seconds of the training run (see :mod:`budget`): the data, the activations
    and deltas of every layer for every row, the parameters with their gradient and up to two
    optimizer buffers; three matmuls per weight and row in each iteration."""
    rows = len(net.data_x) if net.data_x else SYNTHETIC_ROWS
    n = budget.layer_params(net.sizes)
    memory = 8 * (4 * rows * sum(net.sizes) + 4 * n) * 2  # parent and child copies
    # each epoch: forward and backward over every row (6 n per row), then the loss (2 n per row)
    seconds = (EPOCHS + 1) * 8 * n * rows * budget.FLOP_SECONDS
    return memory, seconds


def batch_size(net: LayerNet) -> int | None:
    """Rows per mini-batch of the training curve; None for the full batch (few rows)."""
    rows = len(net.data_x) if net.data_x else SYNTHETIC_ROWS
    return BATCH if rows > BATCH else None


def loss_curve(
    d: LayerDerivation, module_text: str
) -> tuple[list[tuple[int, float]], bool, int | None, int | None]:
    """Run the generated module in a child process (:mod:`check.subrun`): :data:`EPOCHS` epochs
    of the spec's optimizer on mini-batches of :data:`BATCH` shuffled rows (or full-batch steps
    when the data have no more rows than that), the loss on all the data before each epoch and
    after the last; whether the data are synthetic; the epoch (or step) at which the loss
    overflowed (the curve stops before it), or None; and the rows per mini-batch (None: full
    batch). A run that overflows within its first epochs would draw one point or two: it is run
    again in full-batch steps, so that the curve shows each step up to the overflow."""
    x, t, synthetic = _data(d.net)
    batch = batch_size(d.net)
    while True:
        job = subrun.Job()
        job.optimizer_curve(x, t, EPOCHS, seed=0, batch=batch)
        (rows,) = subrun.run(module_text, job, what="the handout's training run")
        points, diverged = finite_prefix(rows)
        if diverged is None or batch is None or len(points) > 2:
            return points, synthetic, diverged, batch
        batch = None


def stderr_warning(message: str) -> None:
    """One line on stderr, as the command line's own warnings."""
    print(f"symbackprop: warning: {message}", file=sys.stderr)


def generate_layer_handout(
    net: LayerNet,
    *,
    source: str,
    show_solutions: bool = True,
    style: str | None = None,
    warn: Callable[[str], None] = stderr_warning,
) -> str:
    """The LaTeX handout for a layer-level net, in ``style`` (default: the spec's, else
    ``nielsen``; :mod:`handout.styles`); what it cannot show is passed to ``warn`` (by default
    one line on stderr) and said in the handout."""
    from symbackprop.output.render import render

    memory, seconds = curve_cost(net)
    budget.require_layer_codegen(f"the handout of '{net.name}'", net.sizes)
    budget.require(f"the handout's training run of '{net.name}'", memory=memory, seconds=seconds)
    chosen = choose_style("layer", "", style or net.style)
    first = chosen.first_layer  # the input layer's number in this style (Nielsen: 1)
    d = derive_layers(net)
    curve, synthetic, diverged, batch = loss_curve(d, generate_layer_module(d, source=source))
    x, t, _ = _data(net)
    axes = training_axes(curve, maximize=d.output.maximize, end=EPOCHS)
    drawn = [v for _, v in axes.points]
    learned = diverged is None and len(drawn) > 1 and drawn[-1] < drawn[0]
    worked, warnings = worked_section(d, x, t, synthetic=synthetic, first=first)
    for message in warnings:
        warn(message)
    opt = optimizer(net.optimizer.name)
    rule = d.output
    context = dict(
        title=latex_escape(net.title or f"Backpropagation for {net.name}"),
        version=__version__,
        source=latex_escape(source),
        notation=source_text("nielsen"),
        sizes="--".join(str(s) for s in net.sizes),
        depth=net.depth,
        activations=", ".join(
            f"$f_{{{i}}} = {activation_latex(a)}$"
            for i, a in enumerate(net.activations, start=1 + first)
        ),
        loss=loss_formula(net.loss),
        mean=net.reduction == "mean",
        maximize=rule.maximize,
        decay=net.weight_decay != 0,
        lam=f"{net.weight_decay:g}",
        proofs=PROOFS,
        layers=layer_equations(d, first),
        softmax_fused=rule.activation == SOFTMAX and rule.fused,
        sigmoid_fused=rule.activation == "sigmoid" and rule.fused,
        assumption=rule.assumption,
        algorithm=algorithm(first),
        first_layer=first,
        softmax_steps=SOFTMAX_STEPS,
        optimizer_title=latex_escape(_title(opt, batch)),
        optimizer_equations=list(opt.equations),
        optimizer_note=optimizer_note(opt.name),
        learning_rate=number_latex(net.learning_rate),
        settings=settings_latex(net.optimizer.settings),
        curve=coordinates(axes.points),
        log_axis=axes.log,
        negated=axes.negated,
        epochs=EPOCHS,
        batch=batch or 0,
        rows=f"{len(x):,}",
        loss_start=f"{curve[0][1]:.3g}" if curve else "",
        loss_end=f"{curve[-1][1]:.3g}" if curve else "",
        learned=learned,
        synthetic=synthetic,
        diverged="" if diverged is None else f"{diverged:,}",
        show_solutions=show_solutions,
        figure=layer_figure(net, first),
        exercises=layer_exercises(net, first),
        costs=_costs_text(net),
        worked=worked,
    )
    context["sections"] = build_sections(
        chosen,
        SectionInput(
            level="layer",
            network=net,
            derivation=d,
            context=context,
            show_solutions=show_solutions,
        ),
    )
    return render("latex", "layer_handout.tex.jinja", **context)


def _title(opt, batch: int | None) -> str:
    """The update rule's name as run: plain SGD on the full batch is gradient descent."""
    if opt.name == "sgd":
        return "stochastic gradient descent" if batch else "gradient descent"
    return opt.title


def _costs_text(net: LayerNet) -> dict:
    """The cost comparison's numbers, printed (thousands separated, as prose)."""
    c = gradient_costs(net)
    return dict(
        params=f"{c.params:,}",
        forward=f"{c.forward_macs:,}",
        passes=f"{c.finite_difference_passes:,}",
        fd=f"{c.finite_difference_macs:,}",
        bp=f"{c.backprop_macs:,}",
        ratio=f"{c.ratio:,.0f}",
    )

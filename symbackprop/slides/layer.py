"""The layer-level deck: BP1–BP4 and this network's equations per layer, as slides (seed 004).

Frames: the network as a chain of layers (:mod:`handout.layer_figure`), the forward pass, the
cost, the four equations uncovered one by one, then for each layer from the output down its δ
(BP1 or BP2, general, then for this layer's activation and cost) and its gradients (BP3, BP4),
beside the chain with the path from that layer's weights to the cost highlighted, and the update.

A question deck keeps the general equations and asks for each layer's specialised δ and its
gradients (``= ?``): none of the specialised forms appears in it.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

from symbackprop.derivation.layer import LayerNet, derive_layers
from symbackprop.handout.course import number_latex
from symbackprop.handout.layer_figure import layer_figure
from symbackprop.handout.styles import choose_style
from symbackprop.handout.unit import escape_text
from symbackprop.printers.layer_latex import layer_equations
from symbackprop.rules.optimizers import optimizer
from symbackprop.slides.deck import TEXT_CM, Chain, ChainArrow, Deck, Frame, Row

ASK = r"= \;?"
GENERAL = [
    (r"\delta^L_j", r"= \frac{\partial C}{\partial a^L_j}\, f_L'(z^L_j)", "BP1"),
    (r"\delta^l_j", r"= \sum_k w^{l+1}_{kj}\, \delta^{l+1}_k\, f_l'(z^l_j)", "BP2"),
    (r"\frac{\partial C}{\partial b^l_j}", r"= \delta^l_j", "BP3"),
    (r"\frac{\partial C}{\partial w^l_{jk}}", r"= a^{l-1}_k\, \delta^l_j", "BP4"),
]


_SETTING = {"beta1": r"\beta_1", "beta2": r"\beta_2", "eps": r"\epsilon", "momentum": r"\mu"}


def chain(net: LayerNet, layer: int = 0, first: int = 0) -> Chain:
    """The layer figure (the input numbered ``first``); with ``layer`` = l (the derivation's
    number, W^1 first), the path from W^l to the cost and back to δ^l emphasised."""
    fig = layer_figure(net, first)
    forward = tuple(
        ChainArrow(a.src, a.dst, a.label, emph=bool(layer) and k >= layer - 1)
        for k, a in enumerate(fig.forward)
    )
    backward = tuple(
        ChainArrow(a.src, a.dst, a.label, emph=bool(layer) and int(a.dst[1:]) >= layer)
        for a in fig.backward
    )
    width = float(fig.boxes[-1].x) + 1.6
    return Chain(fig.boxes, forward, backward, f"{min(0.75, (TEXT_CM - 0.5) / width):.3f}")


def _tagged(rhs: str, tag: str) -> str:
    return rf"{rhs} \qquad \text{{({tag})}}"


def layer_deck(net: LayerNet, *, source: str, show_solutions: bool = True) -> Deck:
    """The deck of a layer-level network (module docstring)."""
    d = derive_layers(net)
    # layers numbered as the spec's handout numbers them (the nielsen style: the input is 1)
    first = choose_style("layer", "", net.style).first_layer
    layers = layer_equations(d, first)
    L = net.depth
    frames = [
        Frame(
            "The network",
            text=(
                f"A {'--'.join(str(s) for s in net.sizes)} fully connected network: "
                r"$z^l = W^l a^{l-1} + b^l$, $a^l = f_l(z^l)$, "
                rf"$l = {1 + first}, \dots, {L + first}$, with $a^{{{first}}} = x$. Solid "
                r"arrows: the forward pass; dashed: $\delta$ going back."
            ),
            chain=chain(net, first=first),
        )
    ]
    rows, step = [], 1
    for layer in reversed(layers):
        for lhs, rhs in layer["forward"]:
            rows.append(Row(lhs, "= " + rhs, step))
        step += 1
    frames.append(Frame("The forward pass", rows=tuple(rows)))
    rows = [Row(lhs, rhs, k + 1) for k, (lhs, rhs, _) in enumerate(GENERAL)]
    rows = [Row(r.lhs, _tagged(r.rhs, GENERAL[k][2]), r.step) for k, r in enumerate(rows)]
    frames.append(
        Frame(
            "The four equations of backpropagation",
            text=r"With $\delta^l_j = \partial C / \partial z^l_j$, the error of unit $j$ "
            r"in layer $l$:",
            rows=tuple(rows),
        )
    )
    for layer in layers:
        n = layer["layer"]  # as printed
        l = n - first  # the derivation's number
        rows, step = [], 1
        for line in layer["lines"]:
            rows.append(Row(line["lhs"], _tagged("= " + line["general"], line["label"]), step))
            step += 1
            if line["special"]:
                rhs = "= " + line["special"] if show_solutions else ASK
                rows.append(Row("", rhs, step))
                step += 1
        if not show_solutions:
            rows = [r for r in rows if r.rhs == ASK or r.lhs.startswith(r"{\delta")]
            rows += [Row(r"\frac{\partial C}{\partial W^{%d}}" % n, ASK, step)]
        title = f"Layer {n}" + (" (output)" if l == L else "") + f": ${layer['activation']}$"
        frames.append(
            Frame(
                title,
                rows=tuple(rows),
                chain=chain(net, l, first),
                question=not show_solutions,
                note=rf"Dashed arrows: $\delta^{{{n}}}$ is computed from "
                + ("the cost." if l == L else rf"$\delta^{{{n + 1}}}$ and $W^{{{n + 1}}}$."),
            )
        )
    opt = optimizer(net.optimizer.name)
    # A log-likelihood is ascended: the rules descend its negative (seed 003).
    grad, ascent = r"\partial C / \partial \theta", ""
    if d.output.maximize:
        grad, ascent = r"-\partial \log L / \partial \theta", " (gradient ascent on $\\log L$)"
    rows = [Row("", eq, k + 1) for k, eq in enumerate(opt.equations)]
    settings = [rf"\eta = {number_latex(net.learning_rate)}"] + [
        f"{_SETTING.get(key, escape_text(key))} = {number_latex(value)}"
        for key, value in net.optimizer.settings
    ]
    frames.append(
        Frame(
            f"The update: {escape_text(opt.title)}",
            text=rf"With $g = {grad}$ for each parameter $\theta${ascent} and $"
            + r",\ ".join(settings)
            + "$:",
            rows=tuple(rows),
        )
    )
    subtitle = "BP1--BP4, layer by layer" + ("" if show_solutions else " (questions)")
    return Deck(
        title=escape_text(net.title or f"Backpropagation for {net.name}"),
        subtitle=subtitle,
        source=escape_text(source),
        frames=tuple(frames),
        show_solutions=show_solutions,
    )

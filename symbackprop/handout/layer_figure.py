"""The layer handout's figure and its cost comparison, as data (seed 004).

The figure draws the network as a chain of layers, not of units (a 784-unit column helps
nobody): the input, each layer's activations a^l with their width, and the cost C. Solid arrows
are the forward pass (W^l, b^l, f_l), dashed ones carry δ back from C to layer 1 (BP1, then BP2).
The template only places what :func:`layer_figure` returns.

:func:`gradient_costs` counts what seed 004's "why backpropagation is fast" compares: finite
differences need one extra forward pass per parameter; backpropagation one forward and one
backward pass. Counts are multiply-adds of the matrix products, per example.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

from dataclasses import dataclass

from symbackprop.derivation.layer import LayerNet
from symbackprop.printers.layer_latex import activation_latex

STEP_CM = 3.0  # box to box: room for an arrow's two-line label between 1.5 cm boxes
WIDTH_CM = 14.0  # wider chains are scaled down to the text width (about 16.6 cm)


@dataclass(frozen=True)
class FigureBox:
    ident: str
    x: str  # cm, printed
    label: str  # LaTeX


@dataclass(frozen=True)
class FigureArrow:
    src: str
    dst: str
    label: str  # LaTeX


@dataclass(frozen=True)
class LayerFigure:
    boxes: tuple[FigureBox, ...]
    forward: tuple[FigureArrow, ...]
    backward: tuple[FigureArrow, ...]
    scaled: bool  # too many layers for the page at STEP_CM: scale to the text width


def layer_figure(net: LayerNet, first: int = 0) -> LayerFigure:
    """The chain of layers; the input layer is numbered ``first`` (0, or 1 as Nielsen)."""
    scaled = (net.depth + 1) * STEP_CM > WIDTH_CM  # depth + 2 boxes: input, layers, cost
    named = f"a^{{{first}}} = x" if first else "x"  # Nielsen's input is the activation a^1
    labels = [rf"${named} \in \mathbb{{R}}^{{{net.sizes[0]}}}$"]
    labels += [
        rf"$a^{{{l + first}}} \in \mathbb{{R}}^{{{net.sizes[l]}}}$" for l in range(1, net.depth + 1)
    ]
    labels.append("$C$")
    boxes = tuple(FigureBox(f"n{i}", f"{i * STEP_CM:.2f}", text) for i, text in enumerate(labels))
    forward = tuple(
        FigureArrow(
            f"n{l - 1}",
            f"n{l}",
            rf"$W^{{{l + first}}}, b^{{{l + first}}}$\\"
            rf"${activation_latex(net.activations[l - 1])}$",
        )
        for l in range(1, net.depth + 1)
    )
    last = net.depth + 1
    forward += (FigureArrow(f"n{last - 1}", f"n{last}", r"$y$"),)
    backward = tuple(
        FigureArrow(f"n{l + 1}", f"n{l}", rf"$\delta^{{{l + first}}}$")
        for l in range(net.depth, 0, -1)
    )
    return LayerFigure(boxes, forward, backward, scaled)


@dataclass(frozen=True)
class GradientCosts:
    params: int
    forward_macs: int  # one forward pass
    finite_difference_passes: int  # forward passes for one gradient by finite differences
    finite_difference_macs: int
    backprop_macs: int  # one forward and one backward pass
    ratio: float  # finite differences / backpropagation


def gradient_costs(net: LayerNet) -> GradientCosts:
    products = [net.sizes[l] * net.sizes[l - 1] for l in range(1, net.depth + 1)]
    forward = sum(products)
    params = forward + sum(net.sizes[1:])
    passes = params + 1  # C(w) once, and C(w + ε e_j) for every parameter j
    # Backward: BP4's δ^l (a^{l-1})^T in every layer, BP2's (W^{l+1})^T δ^{l+1} below the top.
    bp = forward + forward + sum(products[1:])
    fd = passes * forward
    return GradientCosts(params, forward, passes, fd, bp, fd / bp)

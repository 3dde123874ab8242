"""Exercises for the layer handout, each answered by deriving a variant of the network.

After the exercises of Nielsen's chapter 2 (seed 004): "backpropagation with linear neurons"
(every f that the loss leaves free becomes f(z) = z), and "a different activation" (layer 1's f
swapped). The answers are never written by hand: the variant net goes through
:func:`layers.derive_layers` and its specialised δ lines are printed like the handout's own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from symbackprop.derivation.layer import LayerNet, derive_layers
from symbackprop.printers.layer_latex import activation_latex, tex
from symbackprop.rules.layer_losses import LINEAR, required_output

# Layer 1's activation in the "different activation" exercise, by its own.
SWAPPED = {"sigmoid": "tanh"}
SWAP_DEFAULT = "sigmoid"


@dataclass(frozen=True)
class Exercise:
    question: str  # LaTeX prose
    intro: str  # LaTeX prose before the answer's lines
    lines: tuple[tuple[str, str], ...]  # align* lines: left side, right side (from "=")


def _delta_lines(net: LayerNet, layers=None, first: int = 0) -> tuple[tuple[str, str], ...]:
    d = derive_layers(net)
    return tuple(
        (tex(delta.specialised.lhs, first), f"= {tex(delta.specialised.rhs, first)}")
        for delta in d.deltas
        if layers is None or delta.layer in layers
    )


def _linear(net: LayerNet, first: int = 0) -> Exercise | None:
    output = required_output(net.loss) or LINEAR
    activations = tuple(LINEAR for _ in net.activations[:-1]) + (output,)
    if activations == net.activations:
        return None
    kept = ""
    if output != LINEAR:
        kept = f" (the output keeps ${activation_latex(output)}$, which the loss needs)"
    return Exercise(
        question=(
            "Backpropagation with linear neurons: suppose every layer used $f(z) = z$" + kept + "."
            r" What do BP1 and BP2 become for this network?"
        ),
        intro=r"With $f'(z) = 1$ every factor $f'(z^l_j)$ drops out:",
        lines=_delta_lines(replace(net, activations=activations), first=first),
    )


def _swapped(net: LayerNet, first: int = 0) -> Exercise | None:
    if net.depth < 2:
        return None
    old = net.activations[0]
    new = SWAPPED.get(old, SWAP_DEFAULT)
    variant = replace(net, activations=(new,) + net.activations[1:])
    return Exercise(
        question=(
            f"Suppose layer {1 + first} used ${activation_latex(new)}$ instead of "
            f"${activation_latex(old)}$. Which of BP1--BP4 change, and how?"
        ),
        intro=(
            rf"Only $f_{1 + first}'$ changes, and it enters only $\delta^{1 + first}$ (BP2); BP3 "
            rf"and BP4 keep their form, with the new $a^{1 + first}$:"
        ),
        lines=_delta_lines(variant, layers={1}, first=first),
    )


def layer_exercises(net: LayerNet, first: int = 0) -> tuple[Exercise, ...]:
    """The exercises that apply to ``net`` (none changes its own derivation); layers numbered
    from ``first`` for the input (0, or 1 as Nielsen)."""
    return tuple(e for e in (_linear(net, first), _swapped(net, first)) if e is not None)

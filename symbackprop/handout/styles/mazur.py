"""The mazur style: the Hull "Tutorial on Backpropagation" after Matt Mazur (seed 000).

The tutorial's order at the unit level: the network with its starting values (its Figure 1,
with the numbers on it, and a table of them), the algorithm (its Algorithm 1, a framed box),
the forward step, the total error split per output (``E_{o1}``, ``E_{o2}``), the softmax
remark, the plot of the error over time, the backward step (a δ for each unit, the chain rule
for each weight, exercises), the updates, and the error after the update.

At the layer level (:mod:`mazur_layer`) the worked example with numbers leads: the starting
values of the first units, the algorithm box, the forward pass, the error per output, the
training curve, the backward pass, gradients and update; then the equations (BP1–BP4 with
their proofs) and the exercises.
"""

from __future__ import annotations

from symbackprop.handout.styles import SectionInput, Style


def _unit(name: str):
    def build(inp: SectionInput) -> dict:
        from symbackprop.handout.styles import mazur_unit

        return getattr(mazur_unit, name)(inp)

    return build


def _layer(name: str):
    def build(inp: SectionInput) -> dict:
        from symbackprop.handout.styles import mazur_layer

        return getattr(mazur_layer, name)(inp)

    return build


STYLE = Style(
    name="mazur",
    lecture=(
        "Matt Mazur's step-by-step example, as taught in the Tutorial on Backpropagation "
        "(University of Hull)"
    ),
    unit=(
        "mazur_start",
        "mazur_algorithm",
        "unit_forward",
        "mazur_error",
        "mazur_softmax",
        "mazur_plot",
        "unit_backward",
        "unit_updates",
        "mazur_after",
        "unit_optimizers",
    ),
    layer=(
        "layer_network",
        "mazur_layer_start",
        "mazur_layer_algorithm",
        "mazur_layer_forward",
        "layer_fused",
        "layer_update",
        "mazur_layer_backward",
        "layer_bp",
        "layer_vectorised",
        "layer_equations",
        "layer_exercises",
        "layer_fast",
    ),
    builders={
        "mazur_start": _unit("start"),
        "mazur_algorithm": _unit("algorithm"),
        "mazur_error": _unit("error"),
        "mazur_softmax": _unit("softmax"),
        "mazur_layer_start": _layer("start"),
        "mazur_layer_algorithm": _layer("algorithm"),
        "mazur_layer_forward": _layer("forward"),
        "mazur_layer_backward": _layer("backward"),
    },
)

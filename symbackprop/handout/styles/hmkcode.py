"""The hmkcode style, after hmkcode's "Backpropagation Step by Step" (2019): the network and its
example, the forward pass as row vectors times weight matrices, the error, the backward pass
(Δ = prediction − actual, each weight's gradient), the updates in scalar form and then in
matrix form (the old matrix less the learning rate times the outer product of the layer's
inputs and δ's), and the new prediction with the updated weights.

At the layer level the same story for W^l as matrices: the forward pass and the update of each
layer in matrix form on the first example, the new prediction after that update, then the
equations. The builders are in :mod:`hmkcode_unit` and :mod:`hmkcode_layer`.
"""

from __future__ import annotations

from symbackprop.handout.styles import SectionInput, Style


def _unit(name: str):
    def build(inp: SectionInput) -> dict:
        from symbackprop.handout.styles import hmkcode_unit

        return getattr(hmkcode_unit, name)(inp)

    return build


def _layer(name: str):
    def build(inp: SectionInput) -> dict:
        from symbackprop.handout.styles import hmkcode_layer

        return getattr(hmkcode_layer, name)(inp)

    return build


STYLE = Style(
    name="hmkcode",
    lecture="Backpropagation Step by Step (hmkcode)",
    unit=(
        "hmkcode_figure",
        "hmkcode_forward",
        "unit_forward",
        "unit_loss",
        "hmkcode_reducing",
        "unit_backward",
        "unit_updates",
        "hmkcode_updates",
        "hmkcode_new_prediction",
        "unit_plot",
        "unit_optimizers",
    ),
    layer=(
        "layer_network",
        "hmkcode_layer_forward",
        "hmkcode_layer_updates",
        "hmkcode_layer_new_prediction",
        "layer_update",
        "layer_equations",
        "layer_bp",
        "layer_fused",
        "layer_exercises",
    ),
    builders={
        "hmkcode_figure": _unit("figure_section"),
        "hmkcode_forward": _unit("forward_section"),
        "hmkcode_reducing": _unit("reducing_section"),
        "hmkcode_updates": _unit("updates_section"),
        "hmkcode_new_prediction": _unit("new_prediction_section"),
        "hmkcode_layer_forward": _layer("forward_section"),
        "hmkcode_layer_updates": _layer("updates_section"),
        "hmkcode_layer_new_prediction": _layer("new_prediction_section"),
    },
)

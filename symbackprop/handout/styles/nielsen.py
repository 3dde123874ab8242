"""The nielsen style: its sections at each level and their builders.

In the order of "How the backpropagation algorithm works" (S. Ramalingam, University of Utah,
after M. Nielsen's chapter 2): the notation with the input as layer 1, the cost and its two
assumptions, the Hadamard product, the error δ, BP1–BP4 with their proofs and the derivatives
they use, the algorithm in five steps, finite differences (one derivative in numbers, then the
cost of all), and backpropagation as a sum over paths; then this handout's exercises, update
and worked example. At the unit level the same order, for each unit.
"""

from __future__ import annotations

from symbackprop.handout.styles import SectionInput, Style


def _level(layer, unit):
    """A builder that calls the layer-level or the unit-level one (imported when used)."""

    def build(inp: SectionInput) -> dict:
        if inp.level == "layer":
            from symbackprop.handout.styles import nielsen_layer as module

            return {**getattr(module, layer)(inp), "level": "layer"}
        from symbackprop.handout.styles import nielsen_unit as module

        return {**getattr(module, unit)(inp), "level": "unit"}

    return build


STYLE = Style(
    name="nielsen",
    lecture=(
        "M. Nielsen, Neural Networks and Deep Learning, ch. 2, as taught in How the "
        "backpropagation algorithm works (University of Utah)"
    ),
    unit=(
        "unit_figure",
        "nielsen_layers",
        "unit_forward",
        "unit_loss",
        "nielsen_hadamard",
        "nielsen_bp",
        "nielsen_backward",
        "unit_updates",
        "nielsen_fd",
        "nielsen_paths",
        "unit_plot",
        "unit_optimizers",
    ),
    layer=(
        "nielsen_network",
        "nielsen_hadamard",
        "nielsen_delta",
        "layer_bp",
        "nielsen_derivatives",
        "layer_vectorised",
        "layer_equations",
        "layer_fused",
        "layer_algorithm",
        "nielsen_fd",
        "layer_fast",
        "nielsen_paths",
        "layer_exercises",
        "layer_update",
        "layer_worked",
    ),
    builders={
        "nielsen_network": _level("network", None),
        "nielsen_hadamard": _level("hadamard", "hadamard"),
        "nielsen_derivatives": _level("derivatives", None),
        "nielsen_fd": _level("fd", "fd"),
        "nielsen_paths": _level("sum_over_paths", "sum_over_paths"),
        "nielsen_layers": _level(None, "layers"),
        "nielsen_bp": _level(None, "bp"),
        "nielsen_backward": _level(None, "backward"),
    },
    first_layer=1,
)

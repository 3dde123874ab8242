"""The nielsen style: its sections at each level and their builders."""

from __future__ import annotations

from symbackprop.handout.styles import LAYER_SECTIONS, UNIT_SECTIONS, Style

STYLE = Style(
    name="nielsen",
    lecture=(
        "M. Nielsen, Neural Networks and Deep Learning, ch. 2, as taught in How the "
        "backpropagation algorithm works (University of Utah)"
    ),
    unit=UNIT_SECTIONS,
    layer=LAYER_SECTIONS,
    builders={},
)

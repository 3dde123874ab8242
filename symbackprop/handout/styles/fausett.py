"""The fausett style: its sections at each level and their builders."""

from __future__ import annotations

from symbackprop.handout.styles import LAYER_SECTIONS, UNIT_SECTIONS, Style

STYLE = Style(
    name="fausett",
    lecture=(
        "L. Fausett's backpropagation, as taught in Lecture 6: Backpropagation Algorithm "
        "(Mansoura University)"
    ),
    unit=UNIT_SECTIONS,
    layer=LAYER_SECTIONS,
    builders={},
)

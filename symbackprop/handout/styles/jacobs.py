"""The jacobs style: its sections at each level and their builders."""

from __future__ import annotations

from symbackprop.handout.styles import LAYER_SECTIONS, UNIT_SECTIONS, Style

STYLE = Style(
    name="jacobs",
    lecture=("R. Jacobs, Backpropagation Algorithm (University of Rochester)"),
    unit=UNIT_SECTIONS,
    layer=LAYER_SECTIONS,
    builders={},
)

"""The hmkcode style: its sections at each level and their builders."""

from __future__ import annotations

from symbackprop.handout.styles import LAYER_SECTIONS, UNIT_SECTIONS, Style

STYLE = Style(
    name="hmkcode",
    lecture=("Backpropagation Step by Step (hmkcode)"),
    unit=UNIT_SECTIONS,
    layer=LAYER_SECTIONS,
    builders={},
)

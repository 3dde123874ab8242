"""The mazur style: its sections at each level and their builders."""

from __future__ import annotations

from symbackprop.handout.styles import LAYER_SECTIONS, UNIT_SECTIONS, Style

STYLE = Style(
    name="mazur",
    lecture=(
        "Matt Mazur's step-by-step example, as taught in the Tutorial on Backpropagation "
        "(University of Hull)"
    ),
    unit=UNIT_SECTIONS,
    layer=LAYER_SECTIONS,
    builders={},
)

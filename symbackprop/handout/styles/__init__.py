"""Document styles: which sections a handout has, in which order, after which lecture.

A style is named after a lecture (``mazur``, ``fausett``, ``hmkcode``, ``jacobs``,
``nielsen``) and works for any net: it lists the sections of the unit-level handout and of the
layer-level one. A section is a template, ``templates/latex/sections/<name>.tex.jinja``, plus,
when it needs more than the handout's common context, a builder: a function of a
:class:`SectionInput` returning the strings the template lays out (stored in the context under
the section's name). Builders run only for the sections the style uses.

The spec chooses a style with ``style = "..."`` (default: the style of its notation's lecture,
:data:`NOTATION_STYLES`, else ``mazur`` at the unit level and ``nielsen`` at the layer level);
``symbackprop handout --style`` and ``Derived.handout(style=)`` override it.

Each style lives in its own module here, so that a lecture's sections are found in one place.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from symbackprop.errors import InvalidInput


@dataclass(frozen=True)
class SectionInput:
    """What a section builder may use.

    ``level`` is ``"unit"`` or ``"layer"``; ``network`` and ``derivation`` are that level's;
    ``context`` is the handout's common context, already printed (read it, do not change it);
    ``hidden`` holds the symbols whose values are exercise answers when solutions are hidden
    (unit level): a builder must not print them; ``writer`` is the unit level's printer
    (:class:`handout.unit._Writer`, ``None`` at the layer level).
    """

    level: str
    network: Any
    derivation: Any
    context: dict
    digits: int = 9
    show_solutions: bool = True
    hidden: frozenset = frozenset()
    writer: Any = None


Builder = Callable[[SectionInput], dict]


@dataclass(frozen=True)
class Style:
    """A document style: its sections at each level, in order, and their builders.

    ``unit`` and ``layer`` are section names (``templates/latex/sections/<name>.tex.jinja``);
    ``builders`` maps a section name to its builder (sections without one lay out the common
    context only); ``lecture`` says after which lecture, for ``--help`` and the README;
    ``first_layer`` is the input layer's number in the layer-level handout (equations, figure,
    worked example): 0 (a^0 = x, W^1 first) or 1 (Nielsen's a^1 = x, w^2 first).
    """

    name: str
    lecture: str
    unit: tuple[str, ...]
    layer: tuple[str, ...]
    builders: dict[str, Builder] = field(default_factory=dict)
    first_layer: int = 0

    def sections(self, level: str) -> tuple[str, ...]:
        return self.unit if level == "unit" else self.layer


# The sections every handout has today, in order; each style starts from these.
UNIT_SECTIONS = (
    "unit_figure",
    "unit_forward",
    "unit_loss",
    "unit_backward",
    "unit_updates",
    "unit_plot",
    "unit_optimizers",
)
LAYER_SECTIONS = (
    "layer_network",
    "layer_bp",
    "layer_vectorised",
    "layer_equations",
    "layer_fused",
    "layer_algorithm",
    "layer_fast",
    "layer_exercises",
    "layer_update",
    "layer_worked",
)

# The style of each notation preset's lecture.
NOTATION_STYLES = {
    "mazur": "mazur",
    "essa": "fausett",
    "hmkcode": "hmkcode",
    "jacobs": "jacobs",
    "nielsen": "nielsen",
}
LEVEL_STYLES = {"unit": "mazur", "layer": "nielsen"}


# The styles, each in the module of its name here (imported when first used).
NAMES = ("fausett", "hmkcode", "jacobs", "mazur", "nielsen")


def check_style_name(name: str, *, where: str | None = None) -> str:
    """``name`` if it is a style; else one clear error listing the styles."""
    if name not in NAMES:
        raise InvalidInput(
            f"unknown style '{name}'", where=where, hint=f"known: {', '.join(NAMES)}"
        )
    return name


def style_named(name: str) -> Style:
    """The style ``name`` (checked)."""
    check_style_name(name)
    return importlib.import_module(f"{__name__}.{name}").STYLE


def choose_style(level: str, notation: str, name: str | None = None) -> Style:
    """The style asked for (``name``), else the notation's lecture's, else the level's."""
    return style_named(name or NOTATION_STYLES.get(notation, LEVEL_STYLES[level]))


def build_sections(style: Style, inp: SectionInput) -> list[dict]:
    """The style's sections at ``inp.level``, each ``{"template": path, "data": dict}``: the
    template under ``templates/latex`` and what its builder made (empty without one)."""
    out = []
    for name in style.sections(inp.level):
        builder = style.builders.get(name)
        out.append(
            dict(template=f"sections/{name}.tex.jinja", data=builder(inp) if builder else {})
        )
    return out

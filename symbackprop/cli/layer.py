"""The layer level behind the CLI commands: text, module and handout for a :class:`LayerNet`.

:mod:`cli.commands` calls these when the spec resolves to the layer level (see :mod:`spec.layer`).
"""

from __future__ import annotations

from symbackprop.budget import require_layer_codegen
from symbackprop.codegen.layer import generate_layer_module
from symbackprop.derivation.layer import LayerNet, derive_layers
from symbackprop.handout.layer import generate_layer_handout
from symbackprop.printers.layer_latex import layer_equations
from symbackprop.printers.text import layer_derivation_text


def derivation_text(net: LayerNet, *, latex: bool = False) -> str:
    """BP1–BP4 of every layer, general and specialised, as text (or LaTeX lines)."""
    d = derive_layers(net)
    if latex:
        lines = []
        for layer in layer_equations(d):
            lines += [f"{lhs} = {rhs}" for lhs, rhs in layer["forward"]]
            lines += [
                f"{x['lhs']} = {x['general']}" + (f" = {x['special']}" if x["special"] else "")
                for x in layer["lines"]
            ]
        return "\n".join(lines)
    return layer_derivation_text(d)


def module_text(net: LayerNet, *, source: str, optimizers=None) -> str:
    """The generated matmul module (without header); refused up front when clearly too deep
    for the time left (:mod:`budget`)."""
    require_layer_codegen(f"code generation for '{net.name}'", net.sizes)
    return generate_layer_module(derive_layers(net), source=source, optimizers=optimizers)


def handout_text(net: LayerNet, *, source: str, show_solutions: bool = True) -> str:
    """The LaTeX handout (without header)."""
    return generate_layer_handout(net, source=source, show_solutions=show_solutions)

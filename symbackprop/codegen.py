"""NumPy module generation: equations → printed statements → jinja2 template → black.

Python prints every expression to a string here; the template only places them. The result is
checked before anyone writes it: it must compile, import only numpy and define the interface of
DESIGN.md (see :mod:`audit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import black
import sympy as sp

from . import __version__
from .audit import audit_module
from .equations import Derivation
from .printing import numpy_code
from .render import render
from .rules import ActivationBase


@dataclass(frozen=True)
class Statement:
    """``target = code  # comment``: one line of generated code."""

    target: str
    code: str
    comment: str


def _float(value: sp.Expr) -> str:
    return repr(float(value))


def _helpers(derivation: Derivation) -> set[str]:
    used = set()
    for eq in derivation.forward:
        for f in eq.expr.atoms(ActivationBase):
            used.add(f.rule.name)
    return used


def _plain(expr: sp.Expr) -> str:
    """A one-line, human form of an equation for comments (``sstr``: ``w5*out_h1``)."""
    return sp.sstr(expr, order="none")


def unit_context(derivation: Derivation, *, source: str) -> dict:
    """Everything the unit-level template needs, already printed."""
    net = derivation.network
    values = net.value_map
    loss_eq = derivation.forward[-1]
    forward = [
        Statement(
            f.symbol.name, numpy_code(f.expr), f"{f.label}: {f.symbol.name} = {_plain(f.expr)}"
        )
        for f in derivation.forward[:-1]
    ]
    deltas = [
        Statement(
            d.symbol.name,
            numpy_code(d.expr),
            f"{d.label}: {d.symbol.name} = d{net.loss.name}/d{d.of.name}",
        )
        for d in derivation.deltas
    ]
    gradients = [
        Statement(
            g.param.name,
            numpy_code(g.expr),
            f"{g.label}: d{net.loss.name}/d{g.param.name} = {_plain(g.expr)}",
        )
        for g in derivation.gradients
    ]
    sign = "+" if net.maximize else "-"
    used = _helpers(derivation)
    has_example = net.has_example
    return dict(
        name=net.name,
        description=net.title or f"Spec: {source}. symbackprop {__version__}.",
        inputs=[s.name for s in net.inputs],
        inputs_tuple=repr(tuple(s.name for s in net.inputs)),
        targets_tuple=repr(tuple(s.name for s in net.targets)),
        outputs_tuple=repr(tuple(s.name for s in net.outputs)),
        params_tuple=repr(tuple(s.name for s in net.params)),
        initial_dict=repr({p.name: float(values[p]) for p in net.params if p in values}),
        targets=[s.name for s in net.targets],
        outputs=[s.name for s in net.outputs],
        params=[s.name for s in net.params],
        loss_name=net.loss.name,
        loss_code=numpy_code(loss_eq.expr),
        loss_comment=f"{loss_eq.label}: {net.loss.name} = {_plain(loss_eq.expr)}",
        learning_rate=_float(values.get(net.learning_rate, sp.Rational(1, 10))),
        has_example=has_example,
        example_x=[_float(values[s]) for s in net.inputs] if has_example else [],
        example_t=[_float(values[s]) for s in net.targets] if has_example else [],
        has_initial=all(p in values for p in net.params),
        maximize=net.maximize,
        mean=net.reduction == "mean",
        reduce="np.mean" if net.reduction == "mean" else "np.sum",
        forward=forward,
        deltas=deltas,
        gradients=gradients,
        update_rule=f"p{'+'} = p {sign} lr * d{net.loss.name}/dp",
        use_sigmoid="sigmoid" in used,
        use_relu="relu" in used,
        use_softplus="softplus" in used,
    )


def format_python(source: str) -> str:
    """Format generated Python with black, in-process."""
    return black.format_str(source, mode=black.Mode(line_length=100))


def generate_module(derivation: Derivation, *, source: str) -> str:
    """The generated module's text (without the do-not-edit header), formatted and audited."""
    text = render("numpy", "unit.py.jinja", **unit_context(derivation, source=source))
    text = format_python(text)
    audit_module(text, expected=("init_params", "forward", "loss", "gradients", "sgd_step"))
    return text

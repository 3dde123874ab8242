"""The update rules of :mod:`rules.optimizers` as generated code, for modules of both levels.

Each rule's ``(target, expression)`` updates print as one statement each, with the NumPy printer
of every other generated expression. State arrays and the parameter are changed in place, so the
caller's dicts see the new values: an update that adds to, subtracts from or multiplies its own
target prints as ``+=``, ``-=`` or ``*=`` (``v ← μ v`` is ``v *= momentum``), any other as
``target[...] = …``; a temporary (Adam's ``m_hat``) is a plain assignment. The template
``optimizers.py.jinja`` lays the functions out; a level's template includes it and says, through
:func:`optimizer_context`, how it computes the gradients of a step.
"""

from __future__ import annotations

import sympy as sp

from symbackprop.codegen.unit import Statement
from symbackprop.printers.printing import numpy_code
from symbackprop.rules.optimizers import OPTIMIZERS, Optimizer, OptimizerSpec, p, settings_for
from symbackprop.rules.optimizers import step as step_symbol


def _statement(target: sp.Symbol, expr: sp.Expr, in_place: bool) -> str:
    """``target op= code`` for one update (see the module docstring)."""
    name = target.name
    if expr.is_Add and target in expr.args:
        rest = expr - target
        if rest.could_extract_minus_sign():
            return f"{name} -= {numpy_code(-rest)}"
        return f"{name} += {numpy_code(rest)}"
    if expr.is_Mul and target in expr.args:
        return f"{name} *= {numpy_code(expr / target)}"
    return f"{name}{'[...]' if in_place else ''} = {numpy_code(expr)}"


def update_statements(rule: Optimizer) -> list[Statement]:
    """The statements of one rule's update of one parameter ``p`` with gradient ``g``."""
    kept = {p.name, *rule.state}
    out = []
    for target, expr in rule.updates:
        code = _statement(target, expr, target.name in kept)
        equation = f"{target.name} <- {sp.sstr(expr, order='none')}"
        out.append(Statement("", code, f"U ({rule.title}): {equation}"))
    return out


def _functions() -> list[dict]:
    out = []
    for opt in OPTIMIZERS.values():
        out.append(
            dict(
                name=opt.name,
                title=opt.title,
                note=opt.note,
                state=list(opt.state),
                signature="".join(f", {k}={v!r}" for k, v in opt.settings),
                call="".join(f", {k}={k}" for k, _ in opt.settings),
                statements=update_statements(opt),
                uses_step=any(step_symbol in e.free_symbols for _, e in opt.updates),
                wrapper=opt.name != "sgd",  # sgd_step(params, x, t, lr) is the stateless one
            )
        )
    return out


def optimizer_context(spec: OptimizerSpec, *, gradients: str, release: str, updatable: str) -> dict:
    """What ``optimizers.py.jinja`` needs: every rule's functions and the spec's choice.

    Args:
        spec: the spec's optimizer, which ``optimizer_init`` / ``optimizer_step`` use.
        gradients: the level's statement computing ``value, grads`` at ``(params, x, t)``.
        release: a statement run once ``grads`` is used up (empty for none).
        updatable: the function refusing parameters that cannot be updated in place.
    """
    chosen = settings_for(spec.name, dict(spec.settings))
    return dict(
        optimizers=_functions(),
        optimizer=spec.name,
        optimizer_call="".join(f", {k}={v!r}" for k, v in chosen.items()),
        step_gradients=gradients,
        step_release=release,
        updatable=updatable,
    )

"""The update rules of :mod:`rules.optimizers` as generated code, for modules of both levels.

Every rule, plain SGD included, gets the same three functions: ``<name>_init(params)`` (the
state: a step count and zeros like each parameter for each state array), ``<name>_update(params,
grads, state, lr, …)`` and ``<name>_step(params, state, x, t, lr, …, check_inputs=False)``; the
spec's first rule is also bound to ``optimizer_init`` / ``optimizer_step``. Only the rules the
spec names are emitted unless the caller asks for more (``codegen --optimizers``), and the
settings the spec gives a rule are the defaults of that rule's functions (PyTorch's otherwise).

Each rule's ``(target, expression)`` updates print as one statement each, with the NumPy printer
of every other generated expression: the rules' data is the single source of the generated code,
of the unit handout's worked steps (:mod:`derivation.optimizer_steps`) and of the layer
handout's display. State arrays and the parameter are changed in place, so the caller's dicts
see the new values: an update that adds to, subtracts from or multiplies its own target prints as
``+=``, ``-=`` or ``*=`` (``v ← μ v`` is ``v *= momentum``), any other as ``target[...] = …``; a
temporary (Adam's ``m_hat``) is a plain assignment. The comment above the statements that update
one target is the equation they implement together, with time indices (``v(t) = g(t) +
v(t-1)*momentum``), composed from the same updates. The template ``optimizers.py.jinja`` lays the
functions out; a level's template includes it and says, through :func:`optimizer_context`, how it
computes the gradients of a step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import sympy as sp

from symbackprop.errors import InvalidInput
from symbackprop.printers.printing import numpy_code
from symbackprop.rules.optimizers import OPTIMIZERS, Optimizer, OptimizerSpec, g, p, settings_for
from symbackprop.rules.optimizers import step as step_symbol

# What ``codegen --optimizers`` accepts besides rule names.
ALL = "all"


@dataclass(frozen=True)
class UpdateGroup:
    """The statements updating one target in a row, and the equation they implement."""

    equation: str
    statements: tuple[str, ...]


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


def _plain(expr: sp.Expr) -> str:
    return sp.sstr(expr, order="none")


def update_groups(rule: Optimizer) -> list[UpdateGroup]:
    """The statements of one rule's update of one parameter ``p`` with gradient ``g``, grouped
    by target: consecutive updates of one target (``v *= momentum``, ``v += g``) are one
    equation, composed by substitution as the handout composes them, and written with time
    indices, as the textbook writes it: ``v(t) = momentum*v(t-1) + g(t)``."""
    kept = {p.name, *rule.state}
    groups: list[tuple[sp.Symbol, sp.Expr, list[str]]] = []
    for target, expr in rule.updates:
        code = _statement(target, expr, target.name in kept)
        if groups and groups[-1][0] == target:
            composed = expr.xreplace({target: groups[-1][1]})
            groups[-1] = (target, composed, groups[-1][2] + [code])
        else:
            groups.append((target, expr, [code]))
    out, done = [], set()
    for target, expr, codes in groups:
        at = {g: sp.Symbol("g(t)"), step_symbol: sp.Symbol("t")}
        for s in expr.free_symbols:
            if s.name in kept or s in done:
                shown = "θ" if s == p else s.name
                at[s] = sp.Symbol(f"{shown}(t)" if s in done else f"{shown}(t-1)")
        name = "θ" if target == p else target.name
        equation = f"{name}(t) = {_plain(expr.xreplace(at))}"
        out.append(UpdateGroup(f"{rule.title}: {equation}", tuple(codes)))
        done.add(target)
    return out


def chosen_rules(specs: Sequence[OptimizerSpec], extra: Iterable[str] | None) -> list[str]:
    """The rules a module carries, in registry order: the spec's (``specs``), and ``extra``: rule
    names, or ``["all"]`` for every rule. Unknown names are refused, listing the known ones."""
    wanted = {s.name for s in specs}
    for name in extra or ():
        if name == ALL:
            wanted |= set(OPTIMIZERS)
        elif name in OPTIMIZERS:
            wanted.add(name)
        else:
            raise InvalidInput(
                f"unknown optimizer '{name}'",
                where="--optimizers",
                hint=f"known: {ALL}, {', '.join(OPTIMIZERS)}",
            )
    return [name for name in OPTIMIZERS if name in wanted]


def _function(rule: Optimizer, settings: dict[str, float]) -> dict:
    return dict(
        name=rule.name,
        title=rule.title,
        note=rule.note[:1].upper() + rule.note[1:],
        state=list(rule.state),
        signature="".join(f", {k}={v!r}" for k, v in settings.items()),
        call="".join(f", {k}={k}" for k in settings),
        groups=update_groups(rule),
        uses_step=any(step_symbol in e.free_symbols for _, e in rule.updates),
    )


def optimizer_context(
    specs: OptimizerSpec | Sequence[OptimizerSpec],
    *,
    gradients: str,
    release: str,
    updatable: str,
    extra: Iterable[str] | None = None,
) -> dict:
    """What ``optimizers.py.jinja`` needs: the functions of the chosen rules.

    Args:
        specs: the spec's optimizer(s); the first is ``optimizer_init`` / ``optimizer_step``.
        gradients: the level's statements computing ``value, grads`` at ``(params, x, t)`` (with
            ``check_inputs`` in scope), one per line.
        release: a statement run once ``grads`` is used up (empty for none).
        updatable: the function refusing parameters that cannot be updated in place.
        extra: further rule names to emit, or ``["all"]`` (``codegen --optimizers``).
    """
    specs = (specs,) if isinstance(specs, OptimizerSpec) else tuple(specs)
    given = {s.name: settings_for(s.name, dict(s.settings)) for s in reversed(specs)}
    functions = [
        _function(OPTIMIZERS[name], given.get(name, dict(OPTIMIZERS[name].settings)))
        for name in chosen_rules(specs, extra)
    ]
    return dict(
        optimizers=functions,
        optimizer=specs[0].name,
        step_gradients=gradients.splitlines(),
        step_release=release,
        updatable=updatable,
    )

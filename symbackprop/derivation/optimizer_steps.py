"""Update rules worked on a unit-level network: the rule in the net's symbols, and two steps.

Everything comes from a rule's ``updates`` (:mod:`rules.optimizers`), run by
:func:`run_updates` on symbols or on numbers; nothing here knows one rule from another.

- :func:`rule_form` composes the rule for one weight: each state's new value from its old one
  (``v(t+1) = μ v(t) + g``), and the step ``Δw(t+1)`` from the new states. Where the step is
  −η times one state's new value (momentum's velocity), the state is eliminated in favour of the
  previous step, which gives seed 001's form ``Δw(t+1) = −α g + μ Δw(t)``.
- :func:`two_steps` runs the rule twice on the worked example, every parameter at once, with
  the exact gradients of :mod:`derivation.evaluate`: the first at the example's values, the second
  at the
  values after the first update (the same example presented again, online mode).

The gradient ``g`` is that of the quantity to minimise: −∂log L/∂w for a log-likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symbackprop.derivation.equations import Derivation
from symbackprop.derivation.evaluate import evaluate
from symbackprop.rules import optimizers as rules
from symbackprop.rules.optimizers import Optimizer, OptimizerSpec, run_updates

STEPS = 2


@dataclass(frozen=True)
class RuleForm:
    """One rule for one weight, in symbols.

    Attributes:
        old, new: per state name, the symbols standing for its value before and after a step.
        states: (name, expression of its new value in the old one) for each state.
        temps: (name, expression in the new states) of each temporary (Adam's ``m_hat``), and
            ``temp_symbols`` the symbols standing for them in ``change``.
        change: Δw(t+1) in the new states (or, with ``previous``, in the previous step).
        previous: the symbol standing for Δw(t) when the rule is in step form, else None.
        eliminated: the state that the step form replaces (momentum's ``v``), or None.
    """

    old: dict[str, sp.Symbol]
    new: dict[str, sp.Symbol]
    states: tuple[tuple[str, sp.Expr], ...]
    temps: tuple[tuple[str, sp.Expr], ...]
    temp_symbols: dict[str, sp.Symbol]
    change: sp.Expr
    previous: sp.Symbol | None
    eliminated: str | None


def _settings(spec: OptimizerSpec) -> dict[sp.Symbol, sp.Expr]:
    """The spec's settings as exact numbers (1e-10 is 1/10**10, not the nearest double)."""
    return {sp.Symbol(k, real=True): sp.Rational(repr(float(v))) for k, v in spec.settings}


def rule_form(rule: Optimizer, gradient: sp.Expr) -> RuleForm:
    """``rule`` for one weight with gradient ``gradient`` (see the module docstring)."""
    old = {s: sp.Dummy(f"{s}_old") for s in rule.state}
    new = {s: sp.Dummy(f"{s}_new") for s in rule.state}
    start = {sp.Symbol(s, real=True): old[s] for s in rule.state}
    start.update({rules.g: gradient, rules.p: sp.Integer(0)})  # p = 0: what is left is Δw
    composed = run_updates(rule, start)
    states = tuple((s, composed[sp.Symbol(s, real=True)]) for s in rule.state)
    env = {sp.Symbol(s, real=True): new[s] for s in rule.state}
    env.update({rules.g: gradient, rules.p: sp.Integer(0)})
    temps, change = [], sp.Integer(0)
    for target, expr in rule.updates:  # the step read off the new states, temporaries kept
        if target.name in rule.state:
            continue
        if target == rules.p:
            change = expr.xreplace(env)
        else:
            temps.append((target.name, expr.xreplace(env)))
            env[target] = sp.Dummy(target.name)
    temp_symbols = {name: env[sp.Symbol(name, real=True)] for name, _ in temps}
    for name, expr in states:
        # Δw = −η s(t+1); expansion decides it for every rule of the registry (simplify took
        # a quarter second on Adagrad's square root, on every verify of a time-indexed claim)
        if not temps and sp.expand(change + rules.lr * new[name]) == 0:
            previous = sp.Dummy("change_old")
            step_form = sp.expand(-rules.lr * expr.xreplace({old[name]: -previous / rules.lr}))
            return RuleForm(old, new, states, (), {}, step_form, previous, name)
    return RuleForm(old, new, states, tuple(temps), temp_symbols, change, None, None)


@dataclass(frozen=True)
class WorkedSteps:
    """Two steps of one rule on the worked example.

    Attributes:
        spec: the rule and its settings.
        values: per step k = 0, 1, 2, each parameter's value after k steps.
        gradients: per step k = 1, 2, each parameter's g(k) (of the quantity to minimise).
        states: per step k = 0, 1, 2, each parameter's state (name → value).
        changes: per step k = 1, 2, each parameter's Δw(k).
        settings: the settings and the learning rate by their rule symbols.
    """

    spec: OptimizerSpec
    values: tuple[dict[sp.Symbol, sp.Expr], ...]
    gradients: tuple[dict[sp.Symbol, sp.Expr], ...]
    states: tuple[dict[sp.Symbol, dict[str, sp.Expr]], ...]
    changes: tuple[dict[sp.Symbol, sp.Expr], ...]
    settings: dict[sp.Symbol, sp.Expr]


def two_steps(derivation: Derivation, spec: OptimizerSpec) -> WorkedSteps:
    """``spec``'s rule applied twice to every parameter on the example (see the docstring)."""
    net = derivation.network
    rule = rules.optimizer(spec.name)
    point = dict(net.value_map)
    settings = {**_settings(spec), rules.lr: point[net.learning_rate]}
    sign = -1 if net.maximize else 1
    values = [{p: point[p] for p in net.params}]
    states = [{p: {s: sp.Integer(0) for s in rule.state} for p in net.params}]
    gradients, changes = [], []
    for k in range(1, STEPS + 1):
        worked = evaluate(derivation, {**point, **values[-1]})
        grads = {p: sign * worked.gradients[p] for p in net.params}
        now, kept, moved = {}, {}, {}
        for p in net.params:
            env = {**settings, rules.p: values[-1][p], rules.g: grads[p], rules.step: sp.Integer(k)}
            env.update({sp.Symbol(s, real=True): v for s, v in states[-1][p].items()})
            out = run_updates(rule, env)
            now[p] = sp.N(out[rules.p], 40) if not out[rules.p].is_Rational else out[rules.p]
            kept[p] = {s: out[sp.Symbol(s, real=True)] for s in rule.state}
            moved[p] = now[p] - values[-1][p]
        gradients.append(grads)
        values.append(now)
        states.append(kept)
        changes.append(moved)
    return WorkedSteps(
        spec, tuple(values), tuple(gradients), tuple(states), tuple(changes), settings
    )

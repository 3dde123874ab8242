"""Time-indexed claims about an optimizer step, checked against the registry's update rules.

Seed 001 writes momentum as
``\\Delta w_{ij}(t+1) = -\\alpha \\delta_j y_i + \\mu \\Delta w_{ij}(t)``.
A name followed by a time argument (``(t+1)``, ``(t)``, ``(t-1)``) is tagged with its step
(:func:`tag`), the steps of a claim shifted so the latest is t+1 (:func:`normalise`), and the
resolver reads (:func:`resolve`):

- ``\\Delta w(t+1)``: the rule's step for w, from the gradient ∂E/∂w (−∂log L/∂w for a
  log-likelihood) and the rule's state at t; ``\\Delta w(t)`` the previous step (momentum in
  seed 001's step form, Δw(t+1) = −η g + μ Δw(t));
- a state letter of the rule with the weight's subscript (``v_{ij}``, Adagrad's ``G_{ij}``,
  RMSprop's ``s_{ij}``, Adam's ``m_{ij}``): its value at t (any value: the claim must hold for
  all; G and s are sums of squares, so positive) or its new value at t+1;
- ``w(t)`` the weight, ``w(t+1)`` the weight after the step;
- another quantity of the network at the claim's latest step (``\\delta_j(t+1) y_i(t+1)``): the
  pass the step t+1 takes its gradient from, the values at w(t); at an earlier step: unreadable;
- the settings by their Greek letters: ``\\mu`` (momentum), ``\\epsilon``, ``\\beta_1``,
  ``\\beta_2``, ``\\rho`` (RMSprop's α); ``\\eta``/``\\alpha`` stay the learning rate.

The rule is the spec's first optimizer that has what the claim names (a previous step, or the
state letter), else the registry's (momentum for a previous step). Like every free quantity,
the states and settings take random values at each point, so a claim is correct only when it
holds whatever they are.
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from symbackprop.errors import InvalidInput
from symbackprop.verify import claimparse as cp

SETTINGS = {"mu": "momentum", "epsilon": "eps", "varepsilon": "eps", "rho": "alpha"}
SETTINGS.update({"beta1": "beta1", "beta2": "beta2"})
POSITIVE_STATES = frozenset("Gs")
STEP = "@"  # written name base + STEP + shift: "Delta:w@1" is \Delta w(t+1)


def _shift(node: cp.Node) -> int | None:
    """The step of a time argument ``t``, ``t+1``, ``t-1``; None for anything else."""
    if node == cp.Name("t"):
        return 0
    if isinstance(node, cp.Add) and len(node.terms) == 2 and node.terms[0] == cp.Name("t"):
        k = node.terms[1]
        sign = -1 if isinstance(k, cp.Neg) else 1
        k = k.arg if isinstance(k, cp.Neg) else k
        if isinstance(k, cp.Num) and k.decimals == 0 and k.value <= 10:
            return sign * int(k.value)
    return None


def _timed(name: cp.Name, arg: cp.Node) -> bool:
    if _shift(arg) is None:
        return False
    return isinstance(arg, cp.Add) or name.base.startswith("Delta:") or bool(name.sub)


def tag(factors: tuple) -> tuple:
    """A product's factors with ``X (t+1)`` joined into one time-tagged name."""
    out: list = []
    for f in factors:
        prev = out[-1] if out else None
        if isinstance(prev, cp.Name) and STEP not in prev.base and _timed(prev, f):
            out[-1] = replace(prev, base=f"{prev.base}{STEP}{_shift(f)}")
        else:
            out.append(f)
    return tuple(out)


def normalise(sides: tuple) -> tuple:
    """The claim's steps shifted so that the latest is t+1 (``(t)`` and ``(t-1)``: t is new)."""
    from symbackprop.verify.diagnose import _replace, _walk

    names = {n for s in sides for n in _walk(s) if isinstance(n, cp.Name) and STEP in n.base}
    if not names:
        return sides
    latest = max(int(n.base.split(STEP)[1]) for n in names)
    if latest == 1:
        return sides
    for n in sorted(names, key=lambda n: -int(n.base.split(STEP)[1])):  # latest first
        head, k = n.base.split(STEP)
        new = replace(n, base=f"{head}{STEP}{int(k) - latest + 1}")
        sides = tuple(_replace(s, n, new) for s in sides)
    return sides


def hint(sides: tuple) -> tuple[frozenset, bool]:
    """The state letters a claim names at a time, and whether it names a previous step: they
    choose the rule (:func:`_rule`) for its other time-tagged names."""
    from symbackprop.verify.diagnose import _walk

    heads = [
        n.base.split(STEP)
        for s in sides
        for n in _walk(s)
        if isinstance(n, cp.Name) and STEP in n.base
    ]
    states = frozenset(h for h, _ in heads if h in ("v", "G", "s", "m"))
    return states, any(h.startswith("Delta:") and int(k) <= 0 for h, k in heads)


def setting(r, base: str, sub: str | None) -> sp.Symbol | None:  # noqa: ANN001
    """``\\mu``, ``\\beta_1``, ``\\epsilon``: the optimizer setting, a free quantity."""
    key = SETTINGS.get(base + (sub or ""))
    if key is None:
        return None
    return r.free.setdefault(f"\\{base}" + (f"_{sub}" if sub else ""), sp.Symbol(key, real=True))


def spec_settings(r, symbols) -> dict:  # noqa: ANN001
    """The settings among ``symbols`` (free quantities from :func:`setting`) at the values the
    spec sets: the first of the spec's optimizers that has each. A comparison about a setting
    (``0 < \\mu < 1``) is decided there; an equation keeps it free (it must hold for all)."""
    ours = set(r.free.values())
    out = {}
    for sym in symbols:
        if sym not in ours or sym.name not in set(SETTINGS.values()):
            continue
        for spec in r.net.optimizers:
            value = dict(spec.settings).get(sym.name)
            if value is not None:
                out[sym] = sp.Rational(repr(float(value)))
                break
    return out


def resolve(r, base: str, sub: str | None, sup: str | None) -> sp.Expr:  # noqa: ANN001
    """The value of a time-tagged name (see the module docstring) for the resolver ``r``."""
    from symbackprop.derivation.equations import gradient_symbol
    from symbackprop.rules import optimizers as rules

    head, k = base.split(STEP)
    new = int(k) >= 1
    state = None
    if head.startswith("Delta:"):
        written = head[6:]
    elif head in ("v", "G", "s", "m"):
        state, written = head, "w"
    else:
        written = head
    param = r._lookup(written, sub, sup)
    if head == written and param is not None and param not in r.plus:
        # \delta_j(t+1), y_i(t+1): the pass whose gradient the step t+1 takes, i.e. the values
        # at this point (the weights w(t)); an earlier pass is another point, not known here
        if new:
            return param
        raise InvalidInput(f"'{written}' at an earlier step than the claim's latest is not known")
    if param not in r.plus:
        what = "\\Delta " + written if head.startswith("Delta:") else head
        raise InvalidInput(f"'{what}' with a time argument needs a parameter's subscript")
    if head == written and not new:
        return param
    states_named, previous = getattr(r, "time_hint", (frozenset(), False))
    rule = _rule(r, state or next(iter(sorted(states_named)), None), previous)
    grad = gradient_symbol(r.net.loss, param)
    form = _form(rule)
    env: dict = {rules.lr: r.net.learning_rate, _G: -grad if r.net.maximize else grad}
    for name, _default in rule.settings:
        sym = sp.Symbol(name, real=True)
        greek = {v: k for k, v in SETTINGS.items()}.get(name, name)
        env[sym] = r.free.setdefault(f"\\{greek}", sym)
    old = {}
    for s in rule.state:
        old[s] = r.free.setdefault(f"{s}({param.name}, t)", sp.Symbol(f"{s} {param.name} (t)"))
        if s in POSITIVE_STATES:
            r.positive.add(old[s])
        env[form.old[s]] = old[s]
    states = {s: e.xreplace(env).xreplace(env) for s, e in form.states}
    for s in rule.state:
        env[form.new[s]] = states[s]
    if form.previous is not None:
        prev = sp.Symbol(f"Delta {param.name} (t)")
        env[form.previous] = r.free.setdefault(f"\\Delta {param.name}(t)", prev)
    for name, expr in form.temps:
        env[form.temp_symbols[name]] = expr.xreplace(env)
    change = form.change.xreplace(env).xreplace(env)
    if state is not None:
        return states[state] if new else old[state]
    if head.startswith("Delta:"):
        if new:
            return change
        if form.previous is None:
            raise InvalidInput(f"{rule.title} has no previous step Δw(t) in its rule")
        return env[form.previous]
    return param + change


_G = sp.Symbol("g_of_the_weight")
_FORMS: dict = {}


def _form(rule):  # noqa: ANN001, ANN202 - the rule in a generic gradient, composed once
    from symbackprop.derivation.optimizer_steps import rule_form

    if rule.name not in _FORMS:
        _FORMS[rule.name] = rule_form(rule, _G)
    return _FORMS[rule.name]


def _rule(r, state: str | None, previous: bool):  # noqa: ANN001, ANN202
    from symbackprop.rules.optimizers import OPTIMIZERS

    specs = [OPTIMIZERS[o.name] for o in r.net.optimizers if o.name in OPTIMIZERS]
    for rule in specs + [OPTIMIZERS[n] for n in ("momentum", "adagrad", "rmsprop", "adam")]:
        if state is not None and state in rule.state:
            return rule
        if state is None and previous and _form(rule).previous is not None:
            return rule
        if state is None and not previous and rule.name != "sgd":
            return rule
    raise InvalidInput(f"no optimizer of the registry has the state '{state}'")

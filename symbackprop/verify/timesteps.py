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
- another quantity of the network at the claim's latest step (``\\delta_j(t+1) y_i(t+1)``,
  ``\\frac{\\partial E}{\\partial w_{ij}}(t+1)``): the pass the step t+1 takes its gradient from,
  the values at w(t); at an earlier step: unreadable (pass s is at w(s − 1) in every claim);
- ``w_{ij}(0)``: the weight where the run starts (in a sum over the steps only);
- the settings by their Greek letters: ``\\mu`` (momentum), ``\\epsilon``, ``\\beta_1``,
  ``\\beta_2``, ``\\rho`` (RMSprop's α); ``\\eta``/``\\alpha`` stay the learning rate.

The rule is the spec's first optimizer that has what the claim names (a previous step, or the
state letter), else the registry's (momentum for a previous step). Like every free quantity,
the states and settings take random values at each point (the decay rates μ, ρ, β in (0, 1)),
so a claim is correct only when it holds whatever they are.
"""

from __future__ import annotations

import re
from dataclasses import replace

import sympy as sp

from symbackprop.errors import InvalidInput
from symbackprop.verify import claimparse as cp

SETTINGS = {"mu": "momentum", "epsilon": "eps", "varepsilon": "eps", "rho": "alpha"}
SETTINGS.update({"beta1": "beta1", "beta2": "beta2"})
POSITIVE_STATES = frozenset("Gs")
DECAY = frozenset(("momentum", "alpha", "beta1", "beta2"))  # rates in (0, 1): taken there
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
    if _shift(arg) is None or name == cp.Name("t"):  # t(t-1): a product of times
        return False
    return isinstance(arg, cp.Add) or name.base.startswith("Delta:") or bool(name.sub)


# Names a time subscript makes time-tagged (Kingma and Ba's m_t, \hat v_t, \theta_{t-1}, g_t):
# the rule's states, the bias-corrected moments, the parameter and its gradient, with no weight
# named (a generic parameter θ with gradient g).
TIMEABLE = frozenset("m v s G hat:m hat:v hat:s theta w W g Delta:w Delta:theta Delta:W".split())
HATS = {"hat:m": ("m", "beta1"), "hat:v": ("s", "beta2"), "hat:s": ("s", "beta2")}
_SUB_TIME = re.compile(r"t(?:([+-])(\d))?")


def subscript_time(n: cp.Name) -> cp.Name:
    """``m_t``, ``\\hat v_{t-1}``: the time-tagged name of a generic parameter; else ``n``."""
    if STEP in n.base or n.base not in TIMEABLE or not n.sub:
        return n
    m = _SUB_TIME.fullmatch(n.sub)
    if m is None:
        return n
    k = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
    return replace(n, base=f"{n.base}{STEP}{k}", sub=None)


GRAD = "d["  # a derivative at a step: "d[E||]:w" is ∂E/∂w (see :func:`gradient_name`)


def gradient_name(node: cp.Partial) -> cp.Name | None:
    """``\\frac{\\partial E}{\\partial w_{ij}}`` as one name, to take a time argument like
    ``\\delta_j(s)``: the base holds the numerator, the scripts are the weight's; None unless
    both are names."""
    of, wrt = node.of, node.wrt
    if not (isinstance(of, cp.Name) and isinstance(wrt, cp.Name)) or STEP in wrt.base:
        return None
    return cp.Name(f"{GRAD}{of.base}|{of.sub or ''}|{of.sup or ''}]:{wrt.base}", wrt.sub, wrt.sup)


def gradient_of(r, head: str, sub: str | None, sup: str | None):  # noqa: ANN001, ANN201
    """The derivative a :func:`gradient_name` head names, in the network's quantities (as the
    claim's ``\\frac{\\partial A}{\\partial B}`` without a step reads), and its parameter."""
    from symbackprop.verify.claimparse import _symbol

    inside, written = head[len(GRAD) :].split("]:", 1)
    base, of_sub, of_sup = inside.split("|")
    of = _symbol(cp.Name(base, of_sub or None, of_sup or None), r, {})
    param = r._lookup(written, sub, sup)
    if param is None:
        raise InvalidInput(f"unknown symbol '{written}' in a derivative with a time argument")
    return r.partial(of, param), param


def _absolute_step(name: cp.Node, arg: cp.Node) -> bool:
    """``w_{ij}(0)``: the weight (or its step, or a state) at step 0, the run's start."""
    return (
        isinstance(name, cp.Name)
        and STEP not in name.base
        and ABS not in name.base
        and (name.base.startswith("Delta:") or bool(name.sub))
        and arg == cp.Num(sp.Integer(0), 1, 0)
    )


def tag(factors: tuple) -> tuple:
    """A product's factors with ``X (t+1)`` joined into one time-tagged name (a derivative
    ``\\frac{\\partial E}{\\partial w}(t+1)`` too), ``w_{ij}(0)`` into the weight at step 0."""
    out: list = []
    for f in factors:
        prev = out[-1] if out else None
        if isinstance(prev, cp.Partial) and _shift(f) is not None and gradient_name(prev):
            out[-1] = replace(
                gradient_name(prev), base=f"{gradient_name(prev).base}{STEP}{_shift(f)}"
            )
        elif isinstance(prev, cp.Name) and STEP not in prev.base and _timed(prev, f):
            out[-1] = replace(prev, base=f"{prev.base}{STEP}{_shift(f)}")
        elif _absolute_step(prev, f):
            out[-1] = replace(prev, base=f"{prev.base}{ABS}0")
        else:
            out.append(f)
    return tuple(out)


def _letter_time(sides: tuple, is_name=None) -> tuple:
    """A claim without t whose one other letter is only ever a time argument
    (``\\frac{\\partial E}{\\partial w_{ij}}(s) = \\delta_j(s) y_i(s)``, ``w(s) = w(s-1) + \\Delta
    w(s)``): the letter is the claim's step, read as t (a claim about any pass s). A letter the
    network names (``is_name``: an input x, a target t) is that quantity, never a step: the
    parser keeps no parentheses, so ``w^{2}_{1} x`` and ``w^{2}_{1}(x)`` read alike."""
    from symbackprop.verify.diagnose import _walk

    nodes = [n for s in sides for n in _walk(s)]
    letters = {n.base for n in nodes if isinstance(n, cp.Name) and len(n.base) == 1}
    letters -= {n.base for n in nodes if isinstance(n, cp.Name) and (n.sub or n.sup)}
    letters = {c for c in letters if is_name is None or not is_name(c)}
    if "t" in letters or any(isinstance(n, cp.Name) and STEP in n.base for n in nodes):
        return sides
    for letter in sorted(letters):
        total = sum(1 for n in nodes if n == cp.Name(letter))
        as_time = 0
        for m in nodes:
            if not isinstance(m, cp.Mul):
                continue
            for prev, arg in zip(m.factors, m.factors[1:]):
                named = isinstance(prev, cp.Partial) and gradient_name(prev) is not None
                named |= isinstance(prev, cp.Name) and (
                    prev.base.startswith("Delta:") or bool(prev.sub)
                )
                moved = _shift(_renamed(arg, letter))
                if named and moved is not None:
                    as_time += sum(1 for n in _walk(arg) if n == cp.Name(letter))
        if total and as_time == total:
            return tuple(_retag(_renamed(s, letter)) for s in sides)
    return sides


def _renamed(n: cp.Node, letter: str) -> cp.Node:
    if n == cp.Name(letter):
        return cp.Name("t")
    return cp.map_children(n, lambda v: _renamed(v, letter))


def _retag(n: cp.Node) -> cp.Node:
    n = cp.map_children(n, _retag)
    return cp.Mul(tag(n.factors)) if isinstance(n, cp.Mul) else n


def normalise(sides: tuple, is_name=None) -> tuple:
    """The claim's steps shifted so that the latest is t+1 (``(t)`` and ``(t-1)``: t is new)."""
    from symbackprop.verify.diagnose import _replace, _walk

    sides = _letter_time(sides, is_name)
    names = {n for s in sides for n in _walk(s) if isinstance(n, cp.Name) and STEP in n.base}
    if not names:
        return sides
    latest = max(int(n.base.split(STEP)[1]) for n in names)
    if latest != 1:
        for n in sorted(names, key=lambda n: -int(n.base.split(STEP)[1])):  # latest first
            head, k = n.base.split(STEP)
            new = replace(n, base=f"{head}{STEP}{int(k) - latest + 1}")
            sides = tuple(_replace(s, n, new) for s in sides)
    return tuple(_shift_t(s, 1 - latest) for s in sides)


def _shift_t(n: cp.Node, shift: int) -> cp.Node:
    """The claim's own t moved with its steps (``\\beta_1^{t}`` beside m(t) is β1 to the
    latest step count, t + 1): a bare ``t`` is t + shift, a superscript ``t+k`` a power."""
    if isinstance(n, cp.Name):
        if n.base == "t" and not n.sub and not n.sup:
            return cp.Add((n, _number(shift))) if shift else n
        m = _SUB_TIME.fullmatch(n.sup or "")
        if m is not None and STEP not in n.base:  # \beta_1^{t+1}: a power of the setting
            k = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1) + shift
            exp = cp.Add((cp.Name("t"), _number(k))) if k else cp.Name("t")
            return cp.Pow(replace(n, sup=None), exp)
        return n
    return cp.map_children(n, lambda v: _shift_t(v, shift))


def hint(sides: tuple) -> tuple[frozenset, bool, frozenset]:
    """The state letters a claim names at a time, whether it names a previous step, and the
    settings of a rule it names (μ, ε, β, ρ): they choose the rule (:func:`_rule`) for its other
    time-tagged names."""
    from symbackprop.verify.diagnose import _walk

    heads = [
        n.base.split(STEP)
        for s in sides
        for n in _walk(s)
        if isinstance(n, cp.Name) and STEP in n.base
    ] + _summed_states(sides)
    states = {h for h, _ in heads if h in ("v", "G", "s", "m")}
    betas = any(
        isinstance(n, cp.Name) and n.base == "beta" and n.sub in ("1", "2")
        for s in sides
        for n in _walk(s)
    )
    if heads and (betas or any(h in HATS for h, _ in heads)):  # \\hat m, \\beta_2: Adam's
        states |= {"m"}
    if "v" in states and "m" in states:  # Kingma and Ba's v beside m: Adam's s
        states = (states - {"v"}) | {"s"}
    named = frozenset(
        n.base + (n.sub or "")
        for s in sides
        for n in _walk(s)
        if isinstance(n, cp.Name) and n.base + (n.sub or "") in SETTINGS
    )
    return frozenset(states), any(h.startswith("Delta:") and int(k) <= 0 for h, k in heads), named


def _summed_states(sides: tuple) -> list:
    """``G_{ij}(s)``, ``\\hat m_{ij}(s)`` in a sum over the steps: [head, "1"] for each (the
    states a claim names at the sum's steps, read as :func:`hint` reads tagged names)."""
    from symbackprop.verify.diagnose import _walk

    found: list = []
    for side in sides:
        for node in _walk(side):
            if not (isinstance(node, cp.Sum) and node.upper and _TIME_UPPER.fullmatch(node.upper)):
                continue
            steps = {node.index: 0}
            for m in _walk(node.body):
                if not isinstance(m, cp.Mul):
                    continue
                for name, arg in zip(m.factors, m.factors[1:]):
                    heads = ("v", "G", "s", "m", *HATS)
                    if isinstance(name, cp.Name) and name.base in heads and _mentions(arg, steps):
                        found.append([name.base, "1"])
    return found


def setting(r, base: str, sub: str | None) -> sp.Symbol | None:  # noqa: ANN001
    """``\\mu``, ``\\beta_1``, ``\\epsilon``: the optimizer setting, a free quantity."""
    key = SETTINGS.get(base + (sub or ""))
    if key is None:
        return None
    sym = r.free.setdefault(f"\\{base}" + (f"_{sub}" if sub else ""), sp.Symbol(key, real=True))
    if key in DECAY:
        r.fractions.add(sym)
    return sym


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
    if head.startswith(GRAD):  # ∂E/∂w(t+1): the pass the step to t + 1 takes, at w(t)
        if not new:
            raise InvalidInput(
                "a derivative at an earlier step than the claim's latest",
                hint="∂E/∂w(t+1) is the gradient the step t → t+1 takes (at w(t)); an earlier "
                "pass is read in a sum over the steps",
            )
        return gradient_of(r, head, sub, sup)[0]
    states_named, previous, named = r.time_hint or (frozenset(), False, frozenset())
    adam = "m" in states_named  # m, \\hat m or \\hat v named: Adam (its v is the rule's s)
    state = hat = None
    if head in HATS:  # \hat m, \hat v: Adam's bias-corrected moments
        hat, state, written = head, HATS[head][0], "w"
    elif head.startswith("Delta:"):
        written = head[6:]
    elif head in ("v", "G", "s", "m"):
        state, written = ("s" if head == "v" and adam else head), "w"
    else:
        written = head
    generic = sub is None and head in TIMEABLE and written in ("w", "W", "theta", "g")
    if generic:  # Kingma and Ba's m_t, \theta_t, g_t: one parameter θ with gradient g
        if sup is not None:
            raise InvalidInput(f"'{head}' with a time subscript takes no superscript")
        param = r.free.setdefault("\\theta(t)", sp.Symbol("theta (t)"))
        grad = r.free.setdefault("g_t", sp.Symbol("g (t)"))
        if head == "g":  # the gradient the step to t + 1 takes
            if new:
                return grad
            raise InvalidInput("the gradient at an earlier step than the claim's latest")
    else:
        param = r._lookup(written, sub, sup)
        if head == written and param is not None and param not in r.plus:
            # \delta_j(t+1), y_i(t+1): the pass whose gradient the step t+1 takes, i.e. the
            # values at this point (the weights w(t)); an earlier pass is not known here
            if new:
                return param
            raise InvalidInput(f"'{written}' at an earlier step than the claim's latest")
        if param not in r.plus:
            what = "\\Delta " + written if head.startswith("Delta:") else head
            raise InvalidInput(f"'{what}' with a time argument needs a parameter's subscript")
        grad = gradient_symbol(r.net.loss, param)
        grad = -grad if r.net.maximize else grad
    if head == written and not new:
        return param
    chosen = "m" if adam else state or next(iter(sorted(states_named)), None)
    rule = _rule(r, chosen, previous, plain=not _settings_named(r, named))
    form = _form(rule)
    count = r.free.setdefault("t", sp.Symbol("t_free"))  # the claim's t: step t + 1 is new
    r.positive.add(count)
    env: dict = {rules.lr: r.net.learning_rate, _G: grad, rules.step: count + 1}
    for name, _default in rule.settings:
        sym = sp.Symbol(name, real=True)
        greek = {v: k for k, v in SETTINGS.items()}.get(name, name)
        env[sym] = r.free.setdefault(f"\\{greek}", sym)
        if name in DECAY:
            r.fractions.add(env[sym])
        if name == "eps":
            r.positive.add(env[sym])
    old = {}
    for s in rule.state:
        key = f"{s}(t)" if generic else f"{s}({param.name}, t)"
        old[s] = r.free.setdefault(key, sp.Symbol(f"{s} {param.name} (t)"))
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
    if hat is not None:  # m̂ = m / (1 − β1^t), t the step count of the state
        rate = env[sp.Symbol(HATS[hat][1], real=True)]
        moment = states[state] if new else old[state]
        return moment / (1 - rate ** (count + 1 if new else count))
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


def _settings_named(r, named: frozenset) -> bool:  # noqa: ANN001
    """Whether a claim names a setting of a rule (not the spec's learning rate, Jacobs' ε)."""
    return any(r.names.get(n) != r.net.learning_rate for n in named)


def _rule(r, state: str | None, previous: bool, plain: bool = False):  # noqa: ANN001, ANN202
    """The rule a time-indexed claim is read in: the spec's first optimizer that has the state
    or the previous step the claim names, else the registry's. A claim that names neither nor
    any setting (``w(t+1) = w(t) - \\eta \\frac{\\partial E}{\\partial w}(t+1)``) is read in
    the spec's first optimizer, plain gradient descent when it has none."""
    from symbackprop.rules.optimizers import OPTIMIZERS

    specs = [OPTIMIZERS[o.name] for o in r.net.optimizers if o.name in OPTIMIZERS]
    if plain and state is None and not previous:
        return (specs or [OPTIMIZERS["sgd"]])[0]
    for rule in specs + [OPTIMIZERS[n] for n in ("momentum", "adagrad", "rmsprop", "adam")]:
        if state is not None and state in rule.state:
            return rule
        if state is None and previous and _form(rule).previous is not None:
            return rule
        if state is None and not previous and rule.name != "sgd":
            return rule
    raise InvalidInput(f"no optimizer of the registry has the state '{state}'")


# ----------------------------------------------------------------- unrolled sums over steps
ABS = "#"  # name base + ABS + absolute step: "Delta:w#2" is \Delta w(2) of a run
RUN_STEPS = (1, 2, 3)  # t + 1: the unrolled claim is checked after one, two and three steps
_TIME_UPPER = re.compile(r"t([+-]\d{1,2})?")


def has_time_sum(sides: tuple) -> bool:
    """Whether a claim sums over the steps (``\\sum_{s=1}^{t+1}``): see :func:`check_unrolled`."""
    from symbackprop.verify.diagnose import _walk

    return any(
        isinstance(n, cp.Sum) and n.upper is not None and _TIME_UPPER.fullmatch(n.upper)
        for s in sides
        for n in _walk(s)
    )


def _at(node: cp.Node, t: int, steps: dict) -> int | None:
    """The value of a time expression (``t+1-s``) at ``t`` and the sum's steps; None if not one."""
    if isinstance(node, cp.Name) and not node.sub and not node.sup:
        return t if node.base == "t" else steps.get(node.base)
    if isinstance(node, cp.Num) and node.decimals == 0:
        return int(node.value)
    if isinstance(node, cp.Neg):
        inner = _at(node.arg, t, steps)
        return None if inner is None else -inner
    if isinstance(node, cp.Add):
        parts = [_at(x, t, steps) for x in node.terms]
        return None if None in parts else sum(parts)
    return None


def _script_value(script: str | None, t: int, steps: dict) -> int | None:
    """``t+1-s`` in a superscript at ``t`` and the sum's steps; None unless it names t or s."""
    terms = re.findall(r"([+-]?)([a-z]|\d+)", (script or "").replace(" ", ""))
    if not terms or "".join(a + b for a, b in terms) != (script or "").replace(" ", ""):
        return None
    if not any(b == "t" or b in steps for _, b in terms):
        return None
    values = {"t": t, **steps}
    if any(not b.isdigit() and b not in values for _, b in terms):
        return None
    return sum((-1 if a == "-" else 1) * (int(b) if b.isdigit() else values[b]) for a, b in terms)


def _number(value: int) -> cp.Node:
    num = cp.Num(sp.Integer(abs(value)), len(str(abs(value))), 0)
    return cp.Neg(num) if value < 0 else num


def _absolute(n: cp.Node, t: int, steps: dict) -> cp.Node:
    """``n`` at the step t: time tags absolute, ``t`` and the steps of a sum numbers, a sum over
    the steps written out term by term."""
    if isinstance(n, cp.Name):
        if STEP in n.base:
            head, k = n.base.split(STEP)
            return replace(n, base=f"{head}{ABS}{t + int(k)}")
        power = _script_value(n.sup, t, steps)
        if power is not None:  # \mu^{t+1-s}: a power, read as a superscript
            return cp.Pow(replace(n, sup=None), _number(power))
        value = _at(n, t, steps)
        return n if value is None else _number(value)
    if isinstance(n, cp.Sum) and n.upper and _TIME_UPPER.fullmatch(n.upper):
        hi = t + int(_TIME_UPPER.fullmatch(n.upper).group(1) or 0)
        if n.lower is None or not n.lower.isdigit():
            raise InvalidInput(f"\\sum_{n.index}: a sum over the steps needs \\sum_{{s=1}}^{{t+1}}")
        terms = [_absolute(n.body, t, {**steps, n.index: v}) for v in range(int(n.lower), hi + 1)]
        return cp.Add(tuple(terms)) if len(terms) > 1 else (terms[0] if terms else _number(0))
    if isinstance(n, cp.Mul):  # \delta_j(s): a name at the sum's step s
        factors: list = []
        for f in n.factors:
            prev = factors[-1] if factors else None
            step = _at(f, t, steps) if steps and _mentions(f, steps) else None
            if isinstance(prev, cp.Partial) and step is not None:  # ∂E/∂w(s): pass s
                prev = gradient_name(prev)
                if prev is None:
                    raise InvalidInput(
                        "a derivative at a step is read as ∂E/∂w(s) with names above and below",
                        hint="write \\frac{\\partial E}{\\partial w_{ij}}(s)",
                    )
            if isinstance(prev, cp.Name) and STEP not in prev.base and step is not None:
                factors[-1] = replace(prev, base=f"{prev.base}{ABS}{step}")
            else:
                factors.append(f)
        n = cp.Mul(tuple(factors))
    return cp.map_children(n, lambda v: _absolute(v, t, steps))


def _mentions(node: cp.Node, steps: dict) -> bool:
    from symbackprop.verify.diagnose import _walk

    return any(isinstance(x, cp.Name) and x.base in steps and not x.sub for x in _walk(node))


class Run:
    """The spec's optimizer run for ``steps`` steps from zero state at ``point`` (leaf values):
    pass k at the weights after k - 1 steps, every weight updated by the rule."""

    def __init__(self, checker, rule, point: dict, steps: int, settings: dict):  # noqa: ANN001
        from symbackprop.derivation.equations import gradient_symbol
        from symbackprop.rules import optimizers as rules

        r, form = checker.r, _form(rule)
        self.settings = settings
        self.passes: list[dict] = []
        self.change: dict = {p: [sp.Integer(0)] for p in r.net.params}
        self.weight: dict = {p: [point[p]] for p in r.net.params}
        self.state: dict = {p: [dict.fromkeys(rule.state, sp.Integer(0))] for p in r.net.params}
        point = dict(point)
        for k in range(1, steps + 1):
            env = _pass_environment(checker, point)
            self.passes.append(env)
            for p in r.net.params:
                grad = env[gradient_symbol(r.net.loss, p)]
                at = {rules.lr: point[r.net.learning_rate], _G: -grad if r.net.maximize else grad}
                at.update({rules.step: sp.Integer(k)})
                at.update({sp.Symbol(n, real=True): settings[n] for n, _ in rule.settings})
                old = self.state[p][-1]
                at.update({form.old[s]: old[s] for s in rule.state})
                new = {s: sp.N(e.xreplace(at).xreplace(at), 60) for s, e in form.states}
                at.update({form.new[s]: new[s] for s in rule.state})
                if form.previous is not None:
                    at[form.previous] = self.change[p][-1]
                for name, expr in form.temps:
                    at[form.temp_symbols[name]] = expr.xreplace(at)
                change = sp.N(form.change.xreplace(at).xreplace(at), 60)
                self.change[p].append(change)
                self.state[p].append(new)
                self.weight[p].append(self.weight[p][-1] + change)
            point.update({p: self.weight[p][-1] for p in r.net.params})


def _pass_environment(checker, point: dict) -> dict:  # noqa: ANN001
    from symbackprop.verify.fasteval import Slow

    try:
        return checker.fast_environment(point)
    except Slow:
        return checker.environment(point)


def _setting_value(checker, name: str) -> sp.Rational:  # noqa: ANN001
    value = abs(checker._rational())
    return value / (value + 1) if name in DECAY else value


def resolve_run(r, base: str, sub: str | None, sup: str | None) -> sp.Expr:  # noqa: ANN001
    """A name at an absolute step of the run ``r.time_run`` (:func:`check_unrolled`)."""
    head, k = base.split(ABS)
    k = int(k)
    run = r.time_run
    if run is None:
        raise InvalidInput(
            f"'{head}' at step {k}: a step number is read in a claim with a sum over the steps",
            hint="write the time relative to t: w_{ij}(t+1), w_{ij}(t)",
        )
    if head.startswith(GRAD):  # ∂E/∂w(k): the gradient of pass k, at the weights w(k - 1)
        if not 1 <= k <= len(run.passes):
            raise InvalidInput(
                f"a derivative at step {k}: the run has passes 1 to {len(run.passes)} (pass s "
                "is the one the step s - 1 → s takes, at w(s - 1))",
                hint="\\sum_{s=1}^{t+1} \\frac{\\partial E}{\\partial w}(s) sums the gradients "
                "of the steps to w(t+1)",
            )
        expr = gradient_of(r, head, sub, sup)[0].xreplace(run.passes[k - 1])
        if not expr.is_number:
            raise InvalidInput(f"a derivative at step {k} has no value in the run")
        return expr
    state = head if head in ("v", "G", "s", "m") else None
    written = head[6:] if head.startswith("Delta:") else ("w" if state else head)
    param = r._lookup(written, sub, sup)
    if param is None:
        raise InvalidInput(f"unknown symbol '{written}' with a time argument")
    if param not in r.plus:  # a quantity of the network at pass k
        if not 1 <= k <= len(run.passes):
            last = len(run.passes)
            raise InvalidInput(f"'{written}' at step {k}: the run has passes 1 to {last}")
        return run.passes[k - 1][param]
    if not 0 <= k < len(run.change[param]):
        raise InvalidInput(f"'{written}' at step {k}: the run has steps 0 to {len(run.passes)}")
    if head.startswith("Delta:"):
        return run.change[param][k]
    if state == "v" and "v" not in run.state[param][k] and "m" in run.state[param][k]:
        state = "s"  # Kingma and Ba's v beside m: Adam's second moment
    if state is not None:
        if state not in run.state[param][k]:
            raise InvalidInput(f"the run's rule has no state '{state}'")
        return run.state[param][k][state]
    return run.weight[param][k]


def check_unrolled(checker, claim: cp.Claim, where: str):  # noqa: ANN001, ANN201
    """A claim with a sum over the steps (seed 001's unrolled momentum,
    ``\\Delta w_{ij}(t+1) = -\\sum_{s=1}^{t+1} \\mu^{t+1-s} \\alpha \\delta_j(s) y_i(s)``): the
    spec's rule is run from zero state (Δw(0) = 0) for t + 1 = 1, 2, 3 steps, pass k at the
    weights after k - 1 steps, from the example (and a random point), the settings at random
    values; the claim is checked at every instance after each run. A counterexample makes it
    ``wrong``; holding for these t is not a proof for every t, so otherwise it is ``undecided``.
    """
    from symbackprop.verify import run as vr
    from symbackprop.verify.claimcheck import Undecided, _close

    r = checker.r
    states, previous, named = hint(claim.sides)
    named = _settings_named(r, named)
    rule = _rule(r, next(iter(sorted(states)), None), previous or not (states or not named),
                 plain=not named)  # fmt: skip
    starts = [checker.example_point] if checker.example_point is not None else []
    starts.append(checker.random_point(0)[0])
    checked = 0
    skipped = None
    instances: list = []
    try:
        for n_start, begin in enumerate(starts):
            start = {s: begin[s] for s in checker.leaves()}
            settings = {n: _setting_value(checker, n) for n, _ in rule.settings}
            for steps in RUN_STEPS:
                run = Run(checker, rule, start, steps, settings)
                r.time_run = run
                sides = tuple(_absolute(s, steps - 1, {}) for s in claim.sides)
                timed = replace(claim, sides=sides)
                env = {**run.passes[-1]}
                for sym in r.free.values():
                    if sym.name in settings:
                        env[sym] = settings[sym.name]
                for bindings in vr._instances(checker, timed):
                    try:
                        values = [checker.value(checker.convert(s, bindings, where), env)
                                  for s in sides]  # fmt: skip
                    except InvalidInput as err:  # no such unit, or no such pass
                        skipped = err
                        continue
                    checked += 1
                    if n_start == 0 and steps == RUN_STEPS[-1]:
                        instances.append(bindings)
                    for i, (a, b) in enumerate(zip(values, values[1:])):
                        op = claim.relations[i] if claim.relations else "="
                        if op != "=":
                            raise InvalidInput("a comparison over the steps of a run is not read")
                        if not _close(a, b):
                            example = n_start == 0 and checker.example_point is not None
                            where_run = "the example" if example else "a random point"
                            return _run_wrong(claim, rule, steps - 1, i, (a, b), bindings,
                                              where_run)  # fmt: skip
    finally:
        r.time_run = None
    if not checked:
        if skipped is not None and "step" in skipped.message:  # \delta_j(0): no pass 0
            raise InvalidInput(skipped.message, hint=skipped.hint)
        raise InvalidInput("no unit of the network fits the claim's indices")
    from symbackprop.verify import induction

    try:
        how = induction.prove(checker, claim, rule, instances, where)
    except (induction.NotProven, InvalidInput) as why:
        reason = why.message if isinstance(why, InvalidInput) else str(why)
        raise Undecided(
            f"holds at t = 0, 1, 2 ({rule.title} run from zero state, {_instances(checked)} "
            f"checked), not proven for every t: {reason}"
        ) from None
    return vr.Verdict(
        claim.line, claim.label, claim.text, "correct", method="proved for every t by induction",
        message=f"{rule.title}, {_instances(len(instances))}: {how}",
    )  # fmt: skip


def _instances(n: int) -> str:
    return f"{n} instance" + ("" if n == 1 else "s")


def _run_wrong(
    claim, rule, t: int, i: int, values: tuple, bindings: dict, where: str
):  # noqa: ANN001, ANN202
    """The verdict on an unrolled claim a run contradicts: the run's value of the side before the
    link is the correct one there (the first side names the rule's quantity)."""
    from symbackprop.verify import run as vr
    from symbackprop.verify.diagnose import number

    a, b = values
    at = ", ".join(f"{k}={v}" for k, v in sorted(bindings.items()))
    return vr.Verdict(
        claim.line, claim.label, claim.text, "wrong", method="unrolled run",
        correct=number(a),
        counterexample={
            "at": f"{where.split(' ', 1)[1]}, t = {t}", "point": {}, "lhs": number(a),
            "rhs": number(b), "link": i + 1, "bindings": dict(bindings),
        },
        message=(
            f"at t = {t}{' for ' + at if at else ''} ({rule.title} from Δw(0) = 0 at {where}): "
            f"side {i + 1} = {number(a)}, side {i + 2} = {number(b)}"
        ),
    )  # fmt: skip

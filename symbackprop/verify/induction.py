"""An unrolled sum over the steps proved for every t, by induction with SymPy.

Seed 001 unrolls momentum into ``\\Delta w_{ij}(t+1) = -\\sum_{s=1}^{t+1} \\mu^{t+1-s} \\alpha
\\delta_j(s) y_i(s)``. :func:`timesteps.check_unrolled` runs the rule for t = 0, 1, 2 and finds
every slip there; a claim that holds on those runs comes here to be proved for every t.

The claim is read with the time symbolic: t a nonnegative integer, the sum a SymPy ``Sum`` over
s, and every quantity of the network at a step (``\\delta_j(s)``, ``y_i(t+1)``; an untimed name
is at the claim's latest pass, t + 1) an undefined function of its step. The rule's quantity the
claim names (``\\Delta w``, or a state: momentum's v, Adagrad's G, RMSprop's s, Adam's m and s) is
X(k), X(0) = 0 (zero state), X(k) = φ(X(k−1), g(k), k) with φ the registry's rule and g(k) the
gradient at pass k.

Writing n for the claim's earliest step of X (``\\Delta w(t+1)`` alone: n = t + 1; with
``\\Delta w(t)`` beside it, X(n+1) is first replaced by φ(X(n), g(n+1))), the claim is linear in
X(n): a X(n) + b = 0 with a ≠ 0. So it holds for every n ≥ n₀ (the first step at which all its
names exist) exactly when X(n) = H(n) = −b/a for all those n, which is shown by induction:

- base: H(n₀) equals X(n₀), the rule run n₀ times from zero state (n₀ = 1: its first step);
- step: φ(H(n), g(n+1), n+1) = H(n+1) for every n ≥ n₀, shown by splitting the last terms off
  the sums (each sum's s-free factors taken out, its upper limit brought to the smallest one)
  until the difference is free of sums and of n.

The weight itself is such a quantity (``w_{ij}(t+1) = w_{ij}(0) - \\eta \\sum_{s=1}^{t+1}
\\frac{\\partial E}{\\partial w_{ij}}(s)``): X(0) = w(0), any value, and X(k) = X(k−1) + Δw(k),
Δw(k) the rule's step. Where the claim names several of the rule's quantities, X is the one it
determines (the weight, when it is named outside the sums) and each other one is an arbitrary
sequence Y(k), taken as it is in the rule's step (Adagrad's ``\\sqrt{G_{ij}(s)}`` in the sum, and
G(n+1) in φ); one it does not name but φ needs (momentum's Δw(n) for the weight) is its closed
form Σ_{r=1}^{n} a^{n−r} b(r), the rule being X(k) = a X(k−1) + b(k) from zero. A derivative at a
step (``\\frac{\\partial E}{\\partial w_{ij}}(s)``) is its expression in the network's quantities,
each at pass s, and so is the rule's gradient g(k): the two forms of one gradient are one sum.

What is left then is an identity between the quantities of single passes (``\\alpha \\delta_j y_i =
\\eta\\, ∂E/∂w_{ij}`` at pass n + 1): zero when SymPy expands it to 0, else decided as every
claim's links are, by exact evaluation at random points, each pass at its own random point.
A claim whose time algebra SymPy cannot close stays ``undecided``, with why.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace

import sympy as sp
from sympy.core.function import AppliedUndef

from symbackprop.errors import InvalidInput
from symbackprop.verify import claimparse as cp

MARK = "§"  # a name base holding MARK is read here (see :func:`resolve`)
MAX_BASE = 6  # the base case runs the rule at most this many steps
MAX_PASSES = 8  # passes of one difference left after the time algebra (each its own point)
TRIALS = 4  # random points for the identity between passes left after the time algebra
_T = sp.Symbol("t", integer=True, nonnegative=True)
_N = sp.Symbol("n", integer=True, nonnegative=True)
_CANON = sp.Symbol("s_", integer=True, positive=True)


class NotProven(Exception):  # noqa: N818 - the reason a proof was not found
    """The induction could not be carried out (the message says why)."""


@dataclass
class Context:
    """The symbolic reading of one claim (shared by its instances)."""

    times: list = field(default_factory=list)  # sympy time expressions, by index
    sum_nodes: list = field(default_factory=list)  # (cp.Sum, index symbol)
    sums: dict = field(default_factory=dict)  # index -> sp.Sum, for the current instance
    passes: dict = field(default_factory=dict)  # function name -> network expression
    runs: dict = field(default_factory=dict)  # function name -> (head, param)
    steps: dict = field(default_factory=dict)  # sum index letter -> symbol

    def time(self, expr: sp.Expr) -> int:
        self.times.append(expr)
        return len(self.times) - 1

    def pass_at(self, quantity: sp.Expr, when: sp.Expr) -> sp.Expr:
        name = f"P{sp.srepr(quantity)}"
        key = next((k for k, v in self.passes.items() if v == quantity), None)
        if key is None:
            key = f"pass{len(self.passes)}"
            self.passes[key] = quantity
        del name
        return sp.Function(key)(when)

    def run_at(self, head: str, param: sp.Symbol, when: sp.Expr) -> sp.Expr:
        key = f"run_{head.replace(':', '_')}_{param.name}"
        self.runs[key] = (head, param)
        return sp.Function(key)(when)


# ------------------------------------------------------------------------ reading the claim
def _time_of(node: cp.Node, steps: dict) -> sp.Expr | None:
    """A time expression (``t+1``, ``s``, ``t+1-s``) as SymPy; None for anything else."""
    if isinstance(node, cp.Name) and not node.sub and not node.sup:
        return _T if node.base == "t" else steps.get(node.base)
    if isinstance(node, cp.Num) and node.decimals == 0:
        return sp.Integer(node.value)
    if isinstance(node, cp.Neg):
        inner = _time_of(node.arg, steps)
        return None if inner is None else -inner
    if isinstance(node, cp.Add):
        parts = [_time_of(x, steps) for x in node.terms]
        return None if any(p is None for p in parts) else sp.Add(*parts)
    return None


def _script_time(script: str | None, steps: dict) -> sp.Expr | None:
    """``t+1-s`` in a superscript as SymPy, when it names t or a step; else None."""
    text = (script or "").replace(" ", "")
    terms = re.findall(r"([+-]?)([a-z]|\d+)", text)
    if not terms or "".join(a + b for a, b in terms) != text:
        return None
    values = {"t": _T, **steps}
    if not any(b in values for _, b in terms) or any(
        not b.isdigit() and b not in values for _, b in terms
    ):
        return None
    return sp.Add(*((-1 if a == "-" else 1) * (int(b) if b.isdigit() else values[b])
                    for a, b in terms))  # fmt: skip


def _mentions_time(node: cp.Node, steps: dict) -> bool:
    from symbackprop.verify.diagnose import _walk

    return any(
        isinstance(x, cp.Name) and not x.sub and not x.sup and (x.base == "t" or x.base in steps)
        for x in _walk(node)
    )


def symbolic(ctx: Context, n: cp.Node, steps: dict) -> cp.Node:
    """``n`` with its time-tagged names, time expressions and sums over the steps marked for
    :func:`resolve` (the nodes of the time algebra kept in ``ctx``)."""
    from symbackprop.verify import timesteps as ts

    if isinstance(n, cp.Name):
        if ts.ABS in n.base:  # w_{ij}(0): the weight at step 0
            head, k = n.base.split(ts.ABS)
            return replace(n, base=f"{head}{MARK}{ctx.time(sp.Integer(int(k)))}")
        if ts.STEP in n.base:
            head, k = n.base.split(ts.STEP)
            return replace(n, base=f"{head}{MARK}{ctx.time(_T + int(k))}")
        if not n.sub and not n.sup and (n.base == "t" or n.base in steps):
            return cp.Name(f"{MARK}time{MARK}{ctx.time(_time_of(n, steps))}")
        power = _script_time(n.sup, steps)
        if power is not None:  # \mu^{t+1-s}: a power
            return cp.Pow(replace(n, sup=None), cp.Name(f"{MARK}time{MARK}{ctx.time(power)}"))
        return n
    if isinstance(n, cp.Sum) and n.upper and ts._TIME_UPPER.fullmatch(n.upper):
        if steps:
            raise NotProven("a sum over the steps inside another is not read")
        if n.lower is None or not n.lower.isdigit():
            raise NotProven(f"\\sum_{n.index}: a sum over the steps needs \\sum_{{s=1}}^{{t+1}}")
        index = sp.Symbol(n.index, integer=True, positive=True)
        body = symbolic(ctx, n.body, {**steps, n.index: index})
        upper = _T + int(ts._TIME_UPPER.fullmatch(n.upper).group(1) or 0)
        ctx.sum_nodes.append((replace(n, body=body), index, int(n.lower), upper))
        return cp.Name(f"{MARK}sum{MARK}{len(ctx.sum_nodes) - 1}")
    if isinstance(n, cp.Pow):
        when = _time_of(n.exp, steps) if _mentions_time(n.exp, steps) else None
        if when is not None:  # \mu^{(t+1-s)}
            base = symbolic(ctx, n.base, steps)
            return cp.Pow(base, cp.Name(f"{MARK}time{MARK}{ctx.time(when)}"))
    if isinstance(n, cp.Mul):  # \delta_j(s): a name at the sum's step
        factors: list = []
        for f in n.factors:
            prev = factors[-1] if factors else None
            when = _time_of(f, steps) if _mentions_time(f, steps) else None
            if isinstance(prev, cp.Partial) and when is not None:  # ∂E/∂w(s): pass s
                if ts.gradient_name(prev) is None:
                    raise NotProven("a derivative at a step needs names above and below")
                prev = factors[-1] = ts.gradient_name(prev)
            timed = isinstance(prev, cp.Name) and _time_of(prev, steps) is None
            if timed and MARK not in prev.base and when is not None:
                factors[-1] = replace(prev, base=f"{prev.base}{MARK}{ctx.time(when)}")
            else:
                factors.append(f)
        n = cp.Mul(tuple(factors))
    return cp.map_children(n, lambda v: symbolic(ctx, v, steps))


def resolve(r, base: str, sub: str | None, sup: str | None) -> sp.Expr:  # noqa: ANN001
    """A marked name (see :func:`symbolic`) for the resolver ``r``: a time, a sum, a quantity
    of the network at a step, or the rule's quantity at a step."""
    ctx: Context = r.time_symbolic
    head, kind, *rest = base.split(MARK) + [""]
    if head == "" and kind == "time":
        return ctx.times[int(rest[0])]
    if head == "" and kind == "sum":
        return ctx.sums[int(rest[0])]
    from symbackprop.verify import timesteps as ts

    when = ctx.times[int(kind)]
    if head.startswith(ts.GRAD):  # ∂E/∂w(s): the gradient of pass s (at w(s - 1))
        return at_pass(ctx, ts.gradient_of(r, head, sub, sup)[0], when)
    state = head if head in ("v", "G", "s", "m") else None
    written = head[6:] if head.startswith("Delta:") else ("w" if state else head)
    param = r._lookup(written, sub, sup)
    if param is None:
        raise InvalidInput(f"unknown symbol '{written}' with a time argument")
    if param not in r.plus:
        return ctx.pass_at(param, when)
    return ctx.run_at(WEIGHT if head == written else head, param, when)


WEIGHT = "weight"  # the rule's quantity w(k) itself: w(0) as given, w(k) = w(k − 1) + Δw(k)


# ------------------------------------------------------------------------------ the proof
@dataclass
class Proof:
    """What the proof needs of the checker for one claim."""

    checker: object
    rule: object
    ctx: Context
    settings: dict  # rule setting name -> the claim's symbol
    positive: dict = field(default_factory=dict)  # real setting symbol -> positive stand-in
    numeric: bool = False  # an identity between passes was decided at random points
    envs: dict = field(default_factory=dict)  # (trial, i) -> a pass's random environment
    rates: dict = field(default_factory=dict)  # trial -> the learning rate of its passes
    done: dict = field(default_factory=dict)  # canonical difference -> what is left of it
    gradient: sp.Expr = sp.Integer(0)  # the weight's gradient at pass _K (:func:`_canonical`)
    rng: random.Random = field(default_factory=lambda: random.Random(7))  # noqa: S311


def prove(checker, claim: cp.Claim, rule, instances: list, where: str) -> str:  # noqa: ANN001
    """Prove ``claim`` (its sides prepared, time-tagged) for every t, every instance in
    ``instances``; the method's description, or :class:`NotProven`."""
    from symbackprop.verify import timesteps as ts

    r = checker.r
    ctx = Context()
    sides = tuple(symbolic(ctx, s, {}) for s in claim.sides)
    settings = {}
    for name, _default in rule.settings:
        greek = {v: k for k, v in ts.SETTINGS.items()}.get(name, name)
        sym = r.free.setdefault(f"\\{greek}", sp.Symbol(name, real=True))
        settings[name] = sym
        if name in ts.DECAY:
            r.fractions.add(sym)
    proof = Proof(checker, rule, ctx, settings)
    proof.positive = {s: sp.Symbol(s.name, positive=True) for s in settings.values()}
    numeric = False
    r.time_symbolic = ctx
    try:
        for bindings in instances:
            ctx.sums = {}
            for i, (node, index, lower, upper) in enumerate(ctx.sum_nodes):
                body = _untimed(proof, checker.convert(node.body, bindings, where))
                ctx.sums[i] = sp.Sum(body, (index, lower, upper))
            values = [_untimed(proof, checker.convert(s, bindings, where)) for s in sides]
            for a, b in zip(values, values[1:]):
                numeric |= _prove_link(proof, (a - b).xreplace(proof.positive))
    finally:
        r.time_symbolic = None
    how = "; the identity within a pass at random points" if numeric else ""
    return f"base from zero state, step t → t+1 by splitting the last term off the sum{how}"


def _untimed(proof: Proof, expr: sp.Expr) -> sp.Expr:
    """The network's quantities written without a step are at the latest pass, t + 1."""
    r = proof.checker.r
    keep = {_T, r.net.learning_rate, *r.free.values(), *r.literals}
    keep |= {idx for _, idx, _, _ in proof.ctx.sum_nodes}
    return expr.xreplace(
        {s: proof.ctx.pass_at(s, _T + 1) for s in expr.free_symbols if s not in keep}
    )


_K = sp.Symbol("k_", integer=True, positive=True)  # the pass of the canonical gradient
_X = sp.Function("X")  # the rule's quantity the claim determines, in canonical form
_W0 = sp.Symbol("w0_", real=True)  # the weight at step 0: any value
_R = sp.Symbol("r_", integer=True, positive=True)  # the step of a state's closed form
DELTA = "Delta"  # the rule's step Δw(k), among its quantities


def _advance(proof: Proof, old: dict, given: dict, when: sp.Expr) -> dict:
    """The rule's quantities at step ``when`` (the weight, its step ``DELTA``, each state) from
    those at the step before (``old``), the ones in ``given`` taken as they are; the gradient at
    pass ``when`` is ``proof.gradient`` there (the claim's pass quantities, :func:`_canonical`)."""
    from symbackprop.rules import optimizers as rules
    from symbackprop.verify import timesteps as ts

    rule, form = proof.rule, ts._form(proof.rule)
    g = proof.gradient.xreplace({_K: when})
    env = {rules.lr: proof.checker.r.net.learning_rate, rules.step: when}
    env[ts._G] = -g if proof.checker.r.net.maximize else g
    env.update({sp.Symbol(k, real=True): v for k, v in proof.settings.items()})
    start = {form.old[x]: old[x] for x in rule.state}
    new = {}
    for name, expr in form.states:
        new[name] = given.get(name, expr.xreplace(start).xreplace(env))
    at = {**env, **{form.new[x]: new[x] for x in rule.state}}
    if form.previous is not None:
        at[form.previous] = old[DELTA]
    for name, expr in form.temps:
        at[form.temp_symbols[name]] = expr.xreplace(at)
    change = form.change
    if form.previous is not None and form.eliminated in given:  # momentum's v named: Δw = −η v
        change = -rules.lr * form.new[form.eliminated]
    new[DELTA] = given.get(DELTA, change.xreplace(at).xreplace(at))
    new[WEIGHT] = old[WEIGHT] + new[DELTA]
    return {k: v.xreplace(proof.positive) for k, v in new.items()}


def _start() -> dict:
    return {WEIGHT: _W0, DELTA: sp.Integer(0)}


def _from_start(proof: Proof, steps: int) -> list:
    """The rule's quantities at steps 0 … ``steps`` from zero state (the weight at w(0))."""
    values = [{**_start(), **dict.fromkeys(proof.rule.state, sp.Integer(0))}]
    for k in range(1, steps + 1):
        values.append(_advance(proof, values[-1], {}, sp.Integer(k)))
    return values


class _Unknown(sp.Symbol):  # a quantity the step needs and the claim does not determine
    pass


def _closed(proof: Proof, head: str, when: sp.Expr) -> sp.Expr:
    """A quantity of the rule the claim does not name, at step ``when``, as a sum over the steps:
    X(k) = a X(k − 1) + b(k) from X(0) = 0 is Σ_{r=1}^{k} a^{k−r} b(r) (momentum's Δw, every
    state of the registry's rules); an :class:`_Unknown` for any other recursion."""
    from symbackprop.verify import timesteps as ts

    form = ts._form(proof.rule)
    if head == DELTA and form.previous is None or head == WEIGHT:
        return _Unknown(f"{head}_unknown")
    old = {h: sp.Dummy(h) for h in (WEIGHT, DELTA, *proof.rule.state)}  # any values
    mark = old[head]
    step = _advance(proof, old, {}, _R)[head]
    a, b = sp.expand(step).coeff(mark), sp.expand(step).subs(mark, 0)
    others = set(old.values())
    if sp.expand(step - a * mark - b) != 0 or a.has(_R, *others) or b.has(*others):
        return _Unknown(f"{head}_unknown")  # not a recursion in its own value alone
    return sp.Sum(a ** (when - _R) * b, (_R, 1, when))


def _prove_link(proof: Proof, expr: sp.Expr) -> bool:
    """Prove ``expr`` = 0 for every t (see the module docstring); True when an identity between
    passes was decided at random points. The time algebra is done once per canonical form: the
    instances of a claim share it."""
    proof.numeric = False
    canon, back, heads, proof.gradient = _canonical(proof, expr)
    key = (canon, tuple(sorted(heads.items(), key=str)), proof.gradient)
    if key not in proof.done:
        try:
            proof.done[key] = _reduce_link(proof, canon, heads)
        except NotProven as err:
            proof.done[key] = err
    result = proof.done[key]
    if isinstance(result, NotProven):
        raise result
    for rest, what in result:
        if rest != 0:
            _at_points(proof, _rename(rest, back), what)
    return proof.numeric


def _head(proof: Proof, head: str) -> str:
    """A rule quantity's head as :func:`_advance` names it (Adam's v is its state s)."""
    if head == WEIGHT:
        return WEIGHT
    if head.startswith("Delta:"):
        return DELTA
    state = proof.rule.state
    if head == "v" and "v" not in state and "s" in state:
        return "s"
    if head not in state:
        raise NotProven(f"{proof.rule.title} has no state {head}")
    return head


def _canonical(proof: Proof, expr: sp.Expr) -> tuple[sp.Expr, dict, dict, sp.Expr]:
    """``expr`` with its passes' functions renamed q0, q1, ... in order of appearance, the rule's
    quantity the claim determines X and the others Y_head; the map back; each canonical
    function's head; the gradient of the claim's weight at pass ``_K``, in the same names (the
    quantities of the pass its ∂E/∂w is, δ_j(k) y_i(k): as the claim's own ∂E/∂w(s) reads)."""
    ctx = proof.ctx
    gradient = sp.Integer(0)
    runs = {f.func for f in expr.atoms(AppliedUndef) if f.func.__name__ in ctx.runs}
    params = {ctx.runs[f.__name__][1] for f in runs}
    if len(params) > 1:
        raise NotProven("the claim names the rule's quantities of more than one weight")
    names: dict = {}
    heads: dict = {}
    back: dict = {}
    if runs:
        (param,) = params
        outside = expr.xreplace({s: sp.Dummy() for s in expr.atoms(sp.Sum)})
        free = {f.func for f in outside.atoms(AppliedUndef) if f.func in runs and f.args[0].has(_T)}
        kinds = {f: _head(proof, ctx.runs[f.__name__][0]) for f in runs}
        if len({kinds[f] for f in runs}) < len(runs):
            raise NotProven("the claim names one quantity of the rule in two ways")
        main = [f for f in free if kinds[f] == WEIGHT] or sorted(free, key=str)
        for f in runs:
            target = _X if main and f == main[0] else sp.Function(f"Y_{kinds[f]}")
            names[f] = target
            heads[target] = kinds[f]
        r = proof.checker.r
        gradient = at_pass(ctx, r.partial(r.net.loss, param), _K)
    for node in [*sp.preorder_traversal(expr), *sp.preorder_traversal(gradient)]:
        if isinstance(node, AppliedUndef) and node.func.__name__ in ctx.passes:
            names.setdefault(node.func, sp.Function(f"q{len(names)}"))
    back.update({g: f for f, g in names.items()})
    return _rename(expr, names), back, heads, _rename(gradient, names)


def at_pass(ctx: Context, quantity: sp.Expr, when: sp.Expr) -> sp.Expr:
    """``quantity`` (the network's symbols) at pass ``when``: each symbol at that pass."""
    return quantity.xreplace({s: ctx.pass_at(s, when) for s in quantity.free_symbols})


def _rename(expr: sp.Expr, functions: dict) -> sp.Expr:
    """``expr`` with the calls of the functions in ``functions`` made to their new names."""
    calls = {c for c in expr.atoms(AppliedUndef) if c.func in functions}
    return expr.xreplace({c: functions[c.func](*c.args) for c in calls})


def _reduce_link(proof: Proof, expr: sp.Expr, heads: dict) -> list:
    """The induction on the canonical difference ``expr`` (X the rule's quantity the claim
    determines, each Y another it names, at any step): the identities between passes left by the
    base and the step, each with its name."""
    rule_calls = {f for f in expr.atoms(AppliedUndef) if f.func in heads}
    fixed = {f for f in rule_calls if f.args[0].is_Integer}
    if fixed:  # w_{ij}(0): the quantity at a step of the run from zero state
        last = max(int(f.args[0]) for f in fixed)
        if last > MAX_BASE:
            raise NotProven(f"the claim names step {last} of the rule")
        start = _from_start(proof, last)
        expr = expr.xreplace({f: start[int(f.args[0])][heads[f.func]] for f in fixed})
    runs = {f for f in expr.atoms(AppliedUndef) if f.func == _X}
    head = heads.get(_X)
    named = {h: f for f, h in heads.items() if f != _X}
    if any(s.has(f) for s in expr.atoms(sp.Sum) for f in runs):
        raise NotProven("the rule's quantity the claim determines inside a sum over the steps")
    if any(not (f.args[0] - _T).is_Integer for f in runs):
        raise NotProven("the rule's quantity at a step other than t + k")
    offsets = sorted({int(f.args[0] - _T) for f in runs})
    if len(offsets) > 2 or (len(offsets) == 2 and offsets[1] != offsets[0] + 1):
        raise NotProven("the rule's quantity at steps other than t and t + 1")
    c0 = offsets[0] if offsets else 0

    def advanced(value: sp.Expr, when: sp.Expr) -> sp.Expr:  # X at ``when`` from X before it
        old = {h: named[h](when - 1) if h in named else _closed(proof, h, when - 1)
               for h in (WEIGHT, DELTA, *proof.rule.state)}  # fmt: skip
        old[head] = value
        out = _advance(proof, old, {h: f(when) for h, f in named.items()}, when)[head]
        if out.atoms(_Unknown):
            (unknown,) = sorted(out.atoms(_Unknown), key=str)[:1]
            raise NotProven(
                f"the rule's {_shown(head)} depends on its {_shown(unknown.name[:-8])}, which "
                "the claim does not name"
            )
        return out

    if len(offsets) == 2:
        expr = expr.xreplace({_X(_T + c0 + 1): advanced(_X(_T + c0), _T + c0 + 1)})
    expr = expr.xreplace({_T: _N - c0})
    n0 = _first_step(expr, c0)
    if not expr.has(_X(_N)):  # no quantity of the rule, or v(t+1) = μ v(t) + g: the rule
        return [(_vanishes(proof, expr, n0), "the identity")]
    a = sp.diff(expr, _X(_N))
    if a.has(_X(_N)):
        raise NotProven(f"the claim is not linear in {_shown(head)}")
    if a.is_zero is not False and sp.simplify(a).is_zero is not False:
        raise NotProven(f"the claim does not determine {_shown(head)}")
    for sums in expr.atoms(sp.Sum):  # the base case's sums: none may end before it starts
        (_index, lo, hi), *_ = sums.limits
        if not (hi - _N).is_Integer or n0 + int(hi - _N) < int(lo) - 1:
            raise NotProven("a sum over the steps that ends before its first step")
    H = sp.cancel(-expr.xreplace({_X(_N): 0}) / a)  # noqa: N806 - H as in the maths
    start = _from_start(proof, n0)  # the base: the rule from zero state, n0 steps
    at_base = H.xreplace({_N: sp.Integer(n0)}).doit()
    calls = {f for f in at_base.atoms(AppliedUndef) if f.func in named.values()}
    if any(not f.args[0].is_Integer or int(f.args[0]) > n0 for f in calls):
        raise NotProven("the base case names the rule's quantities past its step")
    at_base = at_base.xreplace({f: start[int(f.args[0])][heads[f.func]] for f in calls})
    base = _vanishes(proof, at_base - start[n0][head], n0, True)
    step = _vanishes(proof, advanced(H, _N + 1) - H.xreplace({_N: _N + 1}), n0)
    return [(base, "the base case"), (step, "the step t → t+1")]


def _shown(head: str) -> str:
    return {WEIGHT: "w", DELTA: "Δw"}.get(
        head, "Δ" + head[6:] if head.startswith("Delta:") else head
    )


def _first_step(expr: sp.Expr, c0: int) -> int:
    """n₀: the first n at which every name of the claim exists and t = n − c0 ≥ 0."""
    n0 = max(0, c0)
    for f in expr.atoms(sp.Function):
        if f.func != _X and f.args[0].free_symbols == {_N}:
            k = f.args[0] - _N
            if not k.is_Integer:
                raise NotProven("a quantity of the network at a step other than t + k")
            n0 = max(n0, 1 - int(k))
    if n0 > MAX_BASE:
        raise NotProven(f"the claim starts at step {n0}")
    return n0


def _flatten_sums(expr: sp.Expr, n0: int) -> sp.Expr:
    """``expr`` with each sum over the steps (upper limit n + c) written as sums from 1 to the
    smallest such limit, n + c_min, of products free of n, plus the terms split off; each of
    those sums is a symbol (the same sum, the same symbol)."""
    sums = list(expr.atoms(sp.Sum))
    if not sums:
        return expr
    uppers = []
    for s in sums:
        (_index, lo, hi), *more = s.limits
        c = hi - _N
        if more or not c.is_Integer or not lo.is_Integer:
            raise NotProven("a sum over the steps whose limits are not 1..t + k")
        uppers.append(int(c))
    cmin = min(uppers)
    if n0 + cmin < 0:
        raise NotProven("a sum over the steps that ends before its first step")
    atoms: dict = {}
    out = {}
    for s, c in zip(sums, uppers, strict=True):
        index, lo, _hi = s.limits[0]
        lo = int(lo)
        if n0 + c < lo - 1:
            raise NotProven("a sum over the steps that ends before its first step")
        body = sp.expand(sp.expand_power_exp(s.function))
        total = sp.Integer(0)
        for term in sp.Add.make_args(body):
            coeff, dep = term.as_independent(index, as_Add=False)
            if dep.has(_N):
                raise NotProven("a term of a sum whose step and t do not separate")
            key = dep.xreplace({index: _CANON})
            atom = atoms.setdefault(key, sp.Dummy(f"S{len(atoms)}"))
            piece = atom
            piece += sum((dep.xreplace({index: _N + k}) for k in range(cmin + 1, c + 1)), 0)
            piece -= sum((dep.xreplace({index: k}) for k in range(1, lo)), 0)
            if lo < 1:
                raise NotProven("a sum over the steps from s = 0: there is no pass 0")
            total += coeff * piece
        out[s] = total
    return expr.xreplace(out)


def _simplify(expr: sp.Expr) -> sp.Expr:
    roots = {p: sp.Pow(sp.cancel(p.base), p.exp) for p in expr.atoms(sp.Pow)
             if not p.exp.is_Integer}  # fmt: skip
    expr = expr.xreplace(roots)  # √(v/(1 − β)) and √(−v/(β − 1)): one form
    expr = sp.expand(sp.powsimp(sp.expand(sp.expand_power_exp(expr)), force=True))
    if expr != 0:
        expr = sp.expand(sp.powsimp(sp.together(expr), force=True))
        expr = sp.numer(sp.together(expr))
        expr = sp.expand(sp.powsimp(expr, force=True))
    return expr


def _vanishes(proof: Proof, expr: sp.Expr, n0: int, base: bool = False) -> sp.Expr:
    """What is left of ``expr`` (canonical) after the time algebra: 0, or an identity between
    passes (to be decided at random points); :class:`NotProven` when a difference in t stays."""
    what = "the base case" if base else "the step t → t+1"
    expr = _simplify(_flatten_sums(expr, n0))
    if expr == 0:
        return expr

    def dropped(f: sp.Expr) -> bool:  # a factor such as μ^n or 2: nonzero, no pass in it
        return not f.atoms(AppliedUndef) and not f.atoms(sp.Dummy) and f.is_zero is False

    rest = sp.Mul(*[f for f in sp.Mul.make_args(sp.factor_terms(expr)) if not dropped(f)])
    outside = rest.xreplace({f: sp.Integer(1) for f in rest.atoms(sp.Function)})
    if outside.has(_N):
        raise NotProven(f"{what} leaves a difference in t that SymPy does not show is 0")
    return sp.expand(rest)


def _at_points(proof: Proof, expr: sp.Expr, what: str) -> None:
    """``expr`` (the passes' quantities, sums as symbols) is 0 at random points: each pass at
    its own random point, sums and settings random (decay rates in (0, 1))."""
    from symbackprop.verify import timesteps as ts
    from symbackprop.verify.claimcheck import EQUAL_REL, PREC

    ck = proof.checker
    r = ck.r
    calls = sorted({f for f in expr.atoms(sp.Function) if f.func.__name__ in proof.ctx.passes},
                   key=sp.default_sort_key)  # fmt: skip
    whens = sorted({f.args[0] for f in calls}, key=sp.default_sort_key)
    if len(whens) > MAX_PASSES:
        raise NotProven(f"{what} leaves an identity between more than {MAX_PASSES} passes")
    proof.numeric = proof.numeric or bool(calls)
    for trial in range(TRIALS):
        rate = proof.rates.setdefault(trial, abs(ck._rational()))
        envs = {}
        for i, when in enumerate(whens):
            if (trial, i) not in proof.envs:  # one pool of passes for all the instances
                proof.envs[trial, i] = _random_pass(ck, rate)
            envs[when] = proof.envs[trial, i]
        values = {f: ck.value(proof.ctx.passes[f.func.__name__], envs[f.args[0]]) for f in calls}
        values[r.net.learning_rate] = rate
        for sym in expr.free_symbols - set(values):
            if sym in r.literals:
                values[sym] = r.literals[sym].value
            elif sym.name in ts.DECAY:
                v = abs(ck._rational())
                values[sym] = v / (v + 1)
            elif sym == _N:
                values[sym] = sp.Integer(proof.rng.randint(1, 9))
            else:
                values[sym] = abs(ck._rational())
        terms = [sp.N(t.xreplace(values), PREC) for t in sp.Add.make_args(expr)]
        if any(not t.is_number for t in terms):
            raise NotProven(f"{what} leaves names without a value")
        scale = max([abs(t) for t in terms] + [sp.Integer(1)])
        if abs(sum(terms)) > EQUAL_REL * scale:
            raise NotProven(f"{what} does not hold between the passes at a random point")


def _random_pass(ck, rate: sp.Rational) -> dict:  # noqa: ANN001
    """The network's values at random leaves, the learning rate ``rate`` (as the runs share)."""
    from symbackprop.derivation.numrange import OutOfRange
    from symbackprop.verify import timesteps as ts
    from symbackprop.verify.claimcheck import RETRIES

    for attempt in range(RETRIES):  # log(z) is complex where z < 0: draw another point
        point = {s: ck._rational() for s in ck.leaves()}
        point[ck.r.net.learning_rate] = rate
        try:
            return ts._pass_environment(ck, point)
        except OutOfRange:
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover

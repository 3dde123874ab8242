"""Decide one link ``A = B`` of a claim: symbolically, by exact evaluation, or at the example.

A printed decimal (``0.593269992``) becomes a placeholder symbol: a side made of such numbers
is *numeric*. It is a rounded number (see :func:`uncertainty`) unless it equals an exact value
of the worked example (``0.05``, ``0.5``, ``0.3775``). Integers, and decimals inside a power
(except Euler's ``e^{-0.3775}``), stay exact numbers, so claimparse's exponent limits apply.

A link is *numeric* when one side holds no network quantity (``… = 0.13849856``): both sides
are evaluated at the spec's example and must agree within the uncertainty their printed numbers
propagate (linearly, so a number written on both sides cancels). A printed number is uncertain
by half a unit in its last place plus ``REL_SLACK`` (1e-6) of itself: the notes compute from
intermediate values rounded or truncated to 7–9 significant digits (0.593269 for 0.593269992),
which that absorbs, while every slip found in them is 1e-5 relative or larger.

Otherwise the link is *symbolic*: derived quantities (δ's, gradients, updates) are replaced by
their definitions, then forward nodes level by level; after each step the difference is tested
for zero by expansion (cheap, exact). If that cannot decide (sigmoids make the identity
transcendental), both sides are evaluated at ``POINTS`` random rational points at 50 digits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import sympy as sp

from symbackprop.derivation.evaluate import evaluate
from symbackprop.derivation.numrange import MAX_EXACT_DIGITS, OutOfRange, check_range, exact_digits
from symbackprop.errors import InvalidInput
from symbackprop.rules.registry import to_elementary
from symbackprop.verify import claimparse as cp
from symbackprop.verify import timesteps
from symbackprop.verify.fasteval import Evaluator, Slow, mpf
from symbackprop.verify.resolve import LITERAL, NetworkResolver

POINTS = 4
RETRIES = 20  # random points drawn before giving up on one where every node is real
PREC = 50
REL_SLACK = sp.Float("1e-6")
EQUAL_REL = sp.Float("1e-25")
FLOAT_REL = sp.Float("1e-30")
MAX_OPS = 300  # larger differences go to evaluation: expanding nested sigmoids explodes
MAX_CANCEL = 80
MAX_POW = 512


class Undecided(Exception):  # noqa: N818 - a verdict, not an error
    """The claim could not be decided within a resource limit (the message says why)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Link:
    """The verdict on one ``A = B`` of a claim; values are at ``point`` (None: the example)."""

    ok: bool
    method: str
    lhs: sp.Basic
    rhs: sp.Basic
    lhs_value: sp.Basic | None = None
    rhs_value: sp.Basic | None = None
    point: dict[sp.Symbol, sp.Expr] | None = None
    tolerance: sp.Float | None = None
    extra: dict = field(default_factory=dict)


class Checker:
    """Holds the resolver, the example's values and the random points of one verify run."""

    def __init__(self, resolver: NetworkResolver, seed: int = 0):
        self.r = resolver
        net = resolver.net
        self.example: dict[sp.Symbol, sp.Expr] | None = None
        self.example_point = dict(net.value_map) if net.has_example else None
        if self.example_point is not None:
            self.example = self.environment(self.example_point)
        exact = {v for v in (self.example or {}).values() if getattr(v, "is_Rational", False)}
        self.exact_values = exact
        self.rng = random.Random(seed)  # noqa: S311 - sample points for evaluation, not secrets
        self._points: list[tuple[dict, dict]] = []
        self._lit_ids: dict[tuple, int] = {}
        self._evaluators: dict[int, tuple[dict, Evaluator]] = {}

    # ------------------------------------------------------------------------- values
    def leaves(self) -> list[sp.Symbol]:
        net = self.r.net
        return [*net.inputs, *net.targets, *net.params, net.learning_rate]

    def environment(self, point: dict[sp.Symbol, sp.Expr]) -> dict[sp.Symbol, sp.Expr]:
        """Values of every network and derived symbol at ``point`` (leaf values)."""
        r = self.r
        worked = evaluate(r.derivation, point)
        env = {**worked.all}
        for p, v in worked.updated.items():
            env[r.plus[p]] = v
            env[r.step[p]] = v - env[p]
        for sym, kind in r.kind.items():
            if kind == "term":
                env[sym] = sp.N(r.defs[sym].xreplace(env), PREC)
        return env

    def fast_environment(self, point: dict[sp.Symbol, sp.Expr]) -> dict[sp.Symbol, sp.Expr]:
        """:meth:`environment` by the fast walk (the same equations in order, 60 digits);
        :class:`Slow` where a value needs SymPy's range checks (then the caller uses those)."""
        r, d = self.r, self.r.derivation
        ev = Evaluator(point.__getitem__)
        env: dict[sp.Symbol, sp.Expr] = dict(point)
        eqs = [(f.symbol, f.expr) for f in d.forward] + [(x.symbol, x.expr) for x in d.deltas]
        eqs += [(d.gradient_symbol(g.param), g.expr) for g in d.gradients]
        for sym, expr in eqs:
            value = ev.value(expr)
            ev.set(sym, value)
            env[sym] = sp.Float(value, PREC)
        for u in d.updates:
            value = ev.value(u.expr)
            env[r.plus[u.param]] = sp.Float(value, PREC)
            env[r.step[u.param]] = sp.Float(value - ev.value(u.param), PREC)
        for sym, kind in r.kind.items():
            if kind == "term":
                env[sym] = sp.Float(ev.value(r.defs[sym]), PREC)
        return env

    def random_point(self, i: int) -> tuple[dict, dict]:
        """The i-th random point (leaf values) and the environment there."""
        while len(self._points) <= i:
            for attempt in range(RETRIES):  # log(z) is complex where z < 0: draw another point
                point = {s: self._rational() for s in self.leaves()}
                try:
                    try:
                        env = self.fast_environment(point)
                    except Slow:
                        env = self.environment(point)
                    self._points.append((point, env))
                    break
                except OutOfRange:
                    if attempt == RETRIES - 1:
                        raise
        point, env = self._points[i]
        for sym in self.r.free.values():  # free letters get values as claims introduce them
            if sym not in point:
                value = self._rational()
                if sym in self.r.fractions:  # a decay rate: |v| / (|v| + 1) is in (0, 1)
                    value = abs(value) / (abs(value) + 1)
                point[sym] = env[sym] = abs(value) if sym in self.r.positive else value
        return point, env

    def _rational(self) -> sp.Rational:
        value = sp.Rational(self.rng.randint(-24, 24), self.rng.randint(5, 13))
        return value if value != 0 else sp.Rational(1, 7)

    def evaluator(self, env: dict, override: dict | None = None) -> Evaluator:
        """The fast evaluator at ``env`` (printed numbers at their values, or ``override``)."""
        lits = self.r.literals
        extra = override or {}

        def lookup(sym: sp.Symbol) -> sp.Basic:
            if sym in extra:
                return extra[sym]
            return lits[sym].value if sym in lits else env[sym]

        if override is not None:
            return Evaluator(lookup)
        key = id(env)
        if key not in self._evaluators or self._evaluators[key][0] is not env:
            self._evaluators[key] = (env, Evaluator(lookup))
        return self._evaluators[key][1]

    def value(self, expr: sp.Basic, env: dict) -> sp.Basic:
        """``expr`` (literals at their printed values) evaluated in ``env`` to PREC digits."""
        try:  # the fast walk (fasteval); SymPy's checked route where it declines
            ev = self.evaluator(env)
            if getattr(expr, "is_Matrix", False):
                return sp.Matrix(*expr.shape, [sp.Float(ev.value(e), PREC) for e in expr])
            return sp.Float(ev.value(expr), PREC)
        except Slow:
            pass
        lits = {s: n.value for s, n in self.r.literals.items()}
        if not getattr(expr, "is_Matrix", False):
            try:  # before SymPy evaluates it: \exp(\exp(\exp(100))) would take minutes
                check_range(expr, {**env, **lits})
            except OutOfRange as err:
                at = "the example values" if env is self.example else "a random point"
                raise err.naming("the claim", at) from None
            if exact_digits(expr, {**env, **lits}) > MAX_EXACT_DIGITS:
                env = {s: sp.Float(v, PREC + 10) if v.is_Rational else v for s, v in env.items()}
                lits = {s: sp.Float(v, PREC + 10) for s, v in lits.items()}
        filled = expr.xreplace(lits).xreplace(env)
        if getattr(filled, "is_Matrix", False):
            return filled.applyfunc(lambda e: sp.N(e, PREC))
        out = sp.N(filled, PREC)
        if out.free_symbols:
            names = ", ".join(sorted(s.name for s in out.free_symbols))
            raise InvalidInput(f"no value for {names} at this point")
        return out

    # --------------------------------------------------------------------- conversion
    def prepare(self, node: cp.Node) -> cp.Node:
        """Rounded decimals -> placeholder names; ``\\Delta w`` -> one name (Fausett's step)."""
        return self._prep(node, in_power=False)

    def _prep(self, n: cp.Node, in_power: bool) -> cp.Node:
        if isinstance(n, cp.Name):  # m_t, \\hat v_{t-1}: a time subscript (Kingma and Ba)
            return timesteps.subscript_time(n)
        if isinstance(n, cp.Num):
            if in_power or n.decimals == 0:  # integers are exact and stay numbers
                return n
            key = (n.value, n.decimals)
            ident = self._lit_ids.setdefault(key, len(self._lit_ids))
            self.r.literals[sp.Symbol(f"{LITERAL}{ident}")] = n
            return cp.Name(LITERAL, str(ident))
        if isinstance(n, cp.Pow):  # e^{-0.3775}: Euler's e takes a rounded exponent
            euler = n.base == cp.Name("e") and "e" not in self.r.names
            return cp.Pow(self._prep(n.base, in_power), self._prep(n.exp, not euler))
        if isinstance(n, cp.Mul) and "Delta" not in self.r.names:
            n = cp.Mul(_join_delta(n.factors))
        if isinstance(n, cp.Mul):  # \Delta w_{ij}(t+1): a time-tagged name
            n = cp.Mul(timesteps.tag(n.factors))
        return cp.map_children(n, lambda v: self._prep(v, in_power))

    def convert(self, node: cp.Node, bindings: dict, where: str) -> sp.Basic:
        try:
            expr = cp.to_sympy(node, self.r, bindings=bindings, where=where)
        except sp.ShapeError as err:  # (w^{l+1} δ^{l+1}) with w not transposed
            raise cp.ShapeMismatch(
                f"array shapes do not fit: {cp._shape_text(err)}", where=where
            ) from None
        for p in _atoms(expr, sp.Pow):
            if p.exp.is_Number and abs(p.exp) > MAX_POW:
                raise InvalidInput(f"exponent {p.exp} exceeds {MAX_POW}", where=where)
        return expr

    # -------------------------------------------------------------------------- links
    def is_numeric(self, expr: sp.Basic) -> bool:
        """Printed numbers and nothing of the network (a bare constant such as 1 is not: a
        claim ``∂y/∂s = 1`` holds everywhere, so it is checked symbolically)."""
        free = _free(expr)
        return bool(free) and all(s in self.r.literals for s in free)

    def check(self, a: sp.Basic, b: sp.Basic, prove: bool = True) -> Link:
        """One link ``a = b``; ``prove``: also try an exact proof when the values agree (the
        first instance of a claim; the others are decided by their values)."""
        shape_a, shape_b = _shape(a), _shape(b)
        if shape_a != shape_b:
            return Link(False, "shapes", a, b, extra={"shape": (shape_a, shape_b)})
        if self.is_numeric(a) or self.is_numeric(b):  # a number against anything: the example
            return self.check_numeric(a, b)
        return self.check_symbolic(a, b, prove)

    def compare(self, a: sp.Basic, b: sp.Basic, op: str) -> Link:
        """A comparison ``a < b`` (``<=``, ``>``, ``>=``) between numbers at the spec's example
        (an optimizer setting such as ``\\mu`` at the value the spec sets).
        A printed number in a comparison is a bound, taken at its value as written (``\\delta
        \\le 0.1385``); sides equal within evaluation noise are equal."""
        if _shape(a) != () or _shape(b) != ():
            raise InvalidInput("a comparison needs numbers on both sides, not arrays")
        given = timesteps.spec_settings(self.r, _free(a) | _free(b))  # \\mu: the spec's value
        set_here = all(s in self.r.literals or s in given for s in _free(a) | _free(b))
        if self.example is None and not set_here:
            raise InvalidInput("a comparison needs the spec's example values ([values])")
        env = {**(self.example or {}), **given} if given else self.example or {}
        va, vb = self.value(a, env), self.value(b, env)
        tol = FLOAT_REL * max(abs(va), abs(vb)) + sp.Float("1e-30")
        d = va - vb if abs(va - vb) > tol else sp.Integer(0)
        holds = {"<": d < 0, "<=": d <= 0, ">": d > 0, ">=": d >= 0}[op]
        return Link(bool(holds), "numeric", a, b, va, vb, self.example_point, tol, {"op": op})

    def check_numeric(self, a: sp.Basic, b: sp.Basic) -> Link:
        if self.example is None and not (self.is_numeric(a) and self.is_numeric(b)):
            raise InvalidInput("a numeric claim needs the spec's example values ([values])")
        env = self.example or {}
        va, vb = self.value(a, env), self.value(b, env)
        tol = self.tolerance(a, b, env)
        ok = all(abs(x - y) <= t for x, y, t in zip(_flat(va), _flat(vb), _flat(tol)))
        return Link(ok, "numeric", a, b, va, vb, self.example_point, tol)

    def tolerance(self, a: sp.Basic, b: sp.Basic, env: dict) -> sp.Basic:
        """The printed numbers' :func:`uncertainty`, propagated linearly to A − B (a number
        printed on both sides cancels), plus evaluation noise."""
        diff = a - b
        va, vb = self.value(a, env), self.value(b, env)
        total = sp.Matrix(*_shape(a), lambda i, j: 0) if _shape(a) != () else sp.Integer(0)
        for sym in _free(diff) & set(self.r.literals):
            num = self.r.literals[sym]
            if num.value in self.exact_values:  # 0.05, 0.5, 0.3775: the example's own numbers
                continue
            grad = self.slope(diff, sym, env)
            total = total + _abs(grad) * uncertainty(num)
        slack = _zip(va, vb, lambda x, y: FLOAT_REL * max(abs(x), abs(y)) + sp.Float("1e-30"))
        return total + slack

    def slope(self, expr: sp.Basic, sym: sp.Symbol, env: dict) -> sp.Basic:
        """∂expr/∂sym at ``env`` (``sym`` a printed number): a central difference at 60
        digits (error about 1e-40), or SymPy's derivative where the fast walk declines."""
        value = self.r.literals[sym].value
        h = sp.Rational(1, 10**20) * max(1, abs(value))
        try:
            up, down = self.evaluator(env, {sym: value + h}), self.evaluator(env, {sym: value - h})
            if getattr(expr, "is_Matrix", False):
                return sp.Matrix(
                    *expr.shape,
                    [sp.Float((up.value(e) - down.value(e)) / (2 * mpf(h)), PREC) for e in expr],
                )
            return sp.Float((up.value(expr) - down.value(expr)) / (2 * mpf(h)), PREC)
        except Slow:
            return self.value(_diff(expr, sym), env)

    def check_symbolic(self, a: sp.Basic, b: sp.Basic, prove: bool = True) -> Link:
        def proved() -> bool:  # built only when a proof is tried (the first instance)
            lits = {s: n.value for s, n in self.r.literals.items()}
            return all(self.prove_zero(e.xreplace(lits)) for e in _flat(a - b))

        # One exact evaluation first: a wrong claim such as x = (x+y+z+1)^{64} differs there,
        # and expanding it (prove_zero) would take minutes for nothing.
        for i in range(POINTS):
            point, env = self.random_point(i)
            try:
                va, vb = self.value(a, env), self.value(b, env)
            except OutOfRange:  # log(y) at a y < 0: an identity may still hold as written
                if i == 0 and prove and proved():
                    return Link(True, "symbolic", a, b)
                raise
            if not all(_close(x, y) for x, y in zip(_flat(va), _flat(vb))):
                return Link(False, "evaluation", a, b, va, vb, dict(point))
            if i == 0 and prove and proved():
                return Link(True, "symbolic", a, b)
        return Link(True, f"evaluation at {POINTS} random points", a, b)

    def prove_zero(self, expr: sp.Expr) -> bool:
        """Exact proof that ``expr`` is 0, substituting definitions step by step (not tried on
        roots, whose expansion costs seconds: those links are decided by evaluation)."""
        if any(not p.exp.is_Integer for p in expr.atoms(sp.Pow)):
            return False
        expr = self.expand_derived(expr)
        nodes = {s: n.expr for s, n in self.r.nodes.items()}
        acts = {s: e for s, e in nodes.items() if s in self.r.passthrough}
        stages = []
        for stage in (None, acts, nodes):  # as written; activations as f(net); leaves only
            if stage is nodes:
                for _ in range(len(nodes)):
                    if not _free(expr) & set(nodes) or not _ops_within(expr, MAX_OPS):
                        break
                    expr = expr.xreplace(nodes)
            elif stage is not None:
                expr = expr.xreplace(stage)
            if expr == 0:  # substitution alone often cancels it: no expansion needed
                return True
            if not _ops_within(expr, MAX_OPS):
                break
            stages.append(expr)
        # then expansion at every stage, then rational simplification of the elementary forms
        # (seconds on some claims); the most substituted stage first, where more cancels
        stages.reverse()
        return any(_is_zero(e, cheap=True) for e in stages) or any(
            _is_zero(e, cheap=False) for e in stages
        )

    def expand_derived(self, expr: sp.Basic) -> sp.Basic:
        for _ in range(len(self.r.defs) + 1):
            if not _free(expr) & set(self.r.defs):
                break
            expr = expr.xreplace(self.r.defs)
        return expr


def uncertainty(num: cp.Num) -> sp.Expr:
    """Half a unit in the last printed place, plus REL_SLACK of the number itself."""
    return sp.Rational(1, 2) / sp.Integer(10) ** num.decimals + REL_SLACK * abs(num.value)


def _join_delta(factors: tuple) -> tuple:
    out: list = []
    for f in factors:
        prev = out[-1] if out else None
        if isinstance(prev, cp.Name) and prev == cp.Name("Delta") and isinstance(f, cp.Name):
            out[-1] = cp.Name("Delta:" + f.base, f.sub, f.sup)
        else:
            out.append(f)
    return tuple(out)


def _is_zero(expr: sp.Expr, cheap: bool) -> bool:
    """Exact tests: (``cheap``) expansion with activations as opaque functions, else (small
    expressions only) rational simplification of their elementary forms."""
    if cheap:
        return expr == 0 or sp.expand(expr) == 0
    elem = to_elementary(expr)
    nested = any(a.args[0].has(sp.exp) for a in elem.atoms(sp.exp))
    small = _ops_within(elem, MAX_CANCEL - 1)
    return not nested and small and sp.cancel(sp.together(elem)) == 0


_EQUAL_REL_MP = mpf(EQUAL_REL)


def _ops_within(expr: sp.Expr, limit: int) -> bool:
    """``sp.count_ops(expr) <= limit``, without counting when the tree is small: count_ops is
    at most twice the tree's nodes (each node adds at most two operations, ``-1/2``: NEG and
    DIV), so a tree of at most limit / 2 nodes is within (count_ops costs ten times a walk)."""
    size = 0
    for _ in sp.preorder_traversal(expr):
        size += 1
        if 2 * size > limit:
            if _LAST_COUNT[0] is not expr:  # a proof asks twice about its last stage
                _LAST_COUNT[:] = [expr, sp.count_ops(expr)]
            return _LAST_COUNT[1] <= limit
    return True


_LAST_COUNT: list = [None, 0]


def _close(x: sp.Expr, y: sp.Expr) -> bool:
    """Equal to 25 digits (compared in mpmath: SymPy's arithmetic costs far more)."""
    try:
        a, b = mpf(x), mpf(y)
    except Slow:
        return abs(x - y) <= EQUAL_REL * max(1, abs(x), abs(y))
    return abs(a - b) <= _EQUAL_REL_MP * max(1, abs(a), abs(b))


def _free(expr: sp.Basic) -> set:
    return set(expr.free_symbols)


def _atoms(expr: sp.Basic, kind: type) -> set:
    if getattr(expr, "is_Matrix", False):
        return set().union(*(e.atoms(kind) for e in expr))
    return expr.atoms(kind)


def _shape(expr: sp.Basic) -> tuple:
    return tuple(expr.shape) if getattr(expr, "is_Matrix", False) else ()


def _flat(expr: sp.Basic) -> list:
    return list(expr) if getattr(expr, "is_Matrix", False) else [expr]


def _diff(expr: sp.Basic, sym: sp.Symbol) -> sp.Basic:
    if getattr(expr, "is_Matrix", False):
        return expr.applyfunc(lambda e: sp.diff(e, sym))
    return sp.diff(expr, sym)


def _abs(value: sp.Basic) -> sp.Basic:
    return value.applyfunc(abs) if getattr(value, "is_Matrix", False) else abs(value)


def _zip(a: sp.Basic, b: sp.Basic, fn) -> sp.Basic:  # noqa: ANN001 - a small elementwise helper
    if getattr(a, "is_Matrix", False):
        return sp.Matrix(*a.shape, [fn(x, y) for x, y in zip(a, b)])
    return fn(a, b)

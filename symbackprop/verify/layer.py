"""``verify`` at the layer level: claims about BP1–BP4 checked for every layer and every unit.

Layer numbers are read as the student's handout numbers them: the input is layer ``first``, the
handout style's ``first_layer`` (the spec's ``style``, else ``nielsen``: a^1 = x, first weights w^2;
``mazur`` and the others: a^0 = x), so L = depth + first. A claim's layer letters (``l`` in
``\\delta^l_j``, ``w^{l+1}_{kj}``) take every value first … L for which all its names exist
(``\\delta^{l+1}`` needs l < L); messages and the correct expression name layers the same way. Its
unit letters (``j``, ``k``) are array axes, so each side is evaluated for every unit at once
(:mod:`layer_eval`), at ``POINTS`` random points in float64 (:mod:`layer_values`). A link ``A = B``
holds when, at every point and for every instance, |A − B| ≤ ``REL_TOL`` × (the magnitudes of the
terms that make A and B). Nothing is sampled or capped: the verdict's message says how many
instances were checked.

A claim is ``wrong`` when an instance differs, or when it cannot hold as written for some layer:
an index running over two different ranges (``w^{l+1}_{jk}`` beside ``\\delta^{l+1}_k``), or array
shapes that do not fit (``w^{l+1} \\delta^{l+1}`` without the transpose). The diagnosis tries the
usual slips one at a time and names the one that makes the claim hold everywhere: a sign or a
constant factor, a swapped index pair, a layer off by one, a missing or extra transpose, σ
where the layer has another activation, the missing weight-decay term.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import itertools
import re
from dataclasses import replace

import numpy as np
import sympy as sp

from symbackprop.errors import InvalidInput, ResourceLimit
from symbackprop.rules.layer_losses import SOFTMAX
from symbackprop.verify import claimparse as cp
from symbackprop.verify.diagnose import _replace, _walk
from symbackprop.verify.layer_eval import (
    LayerEvaluator,
    Mismatch,
    T,
    align,
    combine,
    layer_of,
    tex_name,
)
from symbackprop.verify.layer_values import POINTS, compute

REL_TOL = 1e-10
# optimizer settings by their written names (base, subscript) -> the rule's setting
_SETTING_NAMES = {("mu", None): "momentum", ("epsilon", None): "eps", ("varepsilon", None): "eps"}
_SETTING_NAMES.update({("beta", "1"): "beta1", ("beta", "2"): "beta2", ("rho", None): "alpha"})


class Wrong(Exception):
    def __init__(self, message: str, link: int, bindings: dict, values: tuple | None = None):
        super().__init__(message)
        self.message, self.link, self.bindings, self.values = message, link, bindings, values


class LayerChecker:
    """Random points of one layer-level net and the evaluation of claims there."""

    def __init__(self, net, seed: int = 0, style: str | None = None):  # noqa: ANN001
        from symbackprop.handout.styles import choose_style

        self.net = net
        # the input layer's number in the handout the claims come from (as the handout chooses)
        self.first = choose_style("layer", "", style or net.style).first_layer
        self.values = compute(net, seed=seed)
        self.ev = LayerEvaluator(self.values, self.first)
        self.P = self.values.y.shape[0]
        self._example: LayerEvaluator | None = None

    # ---------------------------------------------------------------------- conversion
    def conv(self, n: cp.Node, bind: dict) -> T:
        if isinstance(n, cp.Num):
            val = np.full(self.P, float(n.value))
            return T(val, np.abs(val), text=str(float(n.value)))
        if isinstance(n, cp.Name):
            return self.ev.name(n, bind)
        if isinstance(n, cp.Partial):
            return self.ev.partial(n.of, n.wrt, bind)
        if isinstance(n, cp.Call):
            return self.ev.call(n.func, self.conv(n.arg, bind), n.prime)
        if isinstance(n, (cp.Add, cp.Mul, cp.Hadamard)):
            parts = n.terms if isinstance(n, cp.Add) else n.factors
            op = {cp.Add: "add", cp.Mul: "mul", cp.Hadamard: "had"}[type(n)]
            out = self.conv(parts[0], bind)
            for part in parts[1:]:
                out = combine(out, self.conv(part, bind), op)
            return out
        if isinstance(n, cp.Neg):
            inner = self.conv(n.arg, bind)
            return replace(inner, v=-inner.v, text=f"-{inner.text}")
        if isinstance(n, cp.Transpose):
            inner = self.conv(n.arg, bind)
            if not inner.mat:
                return inner
            swap = lambda a: np.swapaxes(a, -1, -2)  # noqa: E731
            return replace(
                inner,
                v=swap(inner.v),
                m=swap(inner.m),
                mat=inner.mat[::-1],
                text=f"({inner.text})^T",
            )
        if isinstance(n, cp.Div):
            num, den = self.conv(n.num, bind), self.conv(n.den, bind)
            if den.mat:
                raise InvalidInput("division by an array is not supported")
            if np.any(den.v == 0):
                raise InvalidInput("division by zero at a random point")
            inv = T(1 / den.v, den.m / den.v**2, den.axes, (), den.origin, den.layers, den.text)
            return replace(combine(num, inv, "mul"), text=f"{num.text}/{den.text}")
        if isinstance(n, cp.Pow):
            if n.base == cp.Name("e"):
                return self.ev.call("exp", self.conv(n.exp, bind), False)
            base, exp = self.conv(n.base, bind), self.conv(n.exp, bind)
            if base.mat or exp.mat:
                raise InvalidInput("a power of an array is not supported", hint="write ⊙")
            bv, bm, ev, _, order, origin = align(base, exp)
            with np.errstate(all="ignore"):
                val = np.power(bv, ev)
            if not np.all(np.isfinite(val)):
                raise InvalidInput("a power is not a real number at a random point")
            mag = np.abs(val) + np.abs(ev) * np.abs(np.power(np.abs(bv) + 1e-300, ev - 1)) * bm
            return T(val, mag, order, (), origin, base.layers, f"{base.text}^{exp.text}")
        if isinstance(n, cp.Sum):
            return self._sum(n, bind)
        raise TypeError(f"not a claim node: {n!r}")  # pragma: no cover

    def _sum(self, n: cp.Sum, bind: dict) -> T:
        body = self.conv(n.body, bind)
        k = n.index
        if k not in body.axes:
            raise InvalidInput(f"\\sum_{k}: no name in its body carries the index {k}")
        ax = 1 + body.axes.index(k)
        v, m = body.v, body.m
        if n.lower and n.upper:
            size = v.shape[ax]
            if not (n.lower.isdigit() and n.upper.isdigit()):
                raise InvalidInput(f"\\sum_{{{k}={n.lower}}}^{{{n.upper}}}: write number limits")
            lo, hi = int(n.lower), int(n.upper)
            if lo < 1 or hi > size:
                raise Mismatch(
                    f"\\sum_{{{k}={lo}}}^{{{hi}}} but {body.where(k)} has {size} units for {k}"
                )
            v, m = np.take(v, range(lo - 1, hi), axis=ax), np.take(m, range(lo - 1, hi), axis=ax)
        axes = tuple(a for a in body.axes if a != k)
        origin = tuple(o for o in body.origin if o[0] != k)
        text = f"\\sum_{k} {body.text}"
        return T(v.sum(axis=ax), m.sum(axis=ax), axes, body.mat, origin, body.layers, text)

    # --------------------------------------------------------------------- comparisons
    def settings(self) -> dict[tuple[str, str | None], float]:
        """The spec's learning rate and optimizer settings by the names a claim writes them
        (``\\eta``, ``\\alpha``; ``\\mu``, ``\\beta_1``, ``\\epsilon``, ``\\rho``)."""
        from symbackprop.rules.optimizers import settings_for

        spec = self.net.optimizer
        given = settings_for(spec.name, dict(spec.settings))
        rate = float(self.net.learning_rate)
        out = {("eta", None): rate, ("alpha", None): rate}
        out["lambda", None] = float(self.net.weight_decay)
        for (base, sub), key in _SETTING_NAMES.items():
            if key in given:
                out[base, sub] = float(given[key])
        return out

    def example(self) -> LayerEvaluator | None:
        """The evaluator at the spec's worked example (the handout's: the first data row and the
        [values] parameters), or None when the spec has no data."""
        if not self.net.data_x:
            return None
        if self._example is None:
            from symbackprop.derivation.layer_values import example_params

            x, t = np.array([self.net.data_x[0]]), np.array([self.net.data_t[0]])
            drawn = [(example_params(self.net), x, t)]
            self._example = LayerEvaluator(compute(self.net, points=1, drawn=drawn), self.first)
        return self._example

    def compare(self, sides: tuple, relations: tuple) -> tuple[int, str]:
        """A chain with comparisons (``0 < \\eta``, ``0 < \\beta_1 < 1``, ``a^1_1 < 1``):
        settings at the spec's values, the net's quantities at its worked example, every unit
        and layer the names fit. Returns (instances, where decided); raises Wrong."""
        have = self.settings()
        for s in sides:
            for n in _walk(s):
                key = (n.base, n.sub) if isinstance(n, cp.Name) and not n.sup else None
                if key in _SETTING_NAMES and key not in have:
                    spec = self.net.optimizer
                    names = ", ".join(
                        tex_name(cp.Name(b, u)) for (b, u), k in _SETTING_NAMES.items()
                        if (b, u) in have and b != "varepsilon"
                    ) or "only the learning rate \\eta"  # fmt: skip
                    raise InvalidInput(
                        f"{tex_name(n)} is no setting of the spec's optimizer {spec.name} "
                        f"(it has {names})"
                    )
        networked = any(
            isinstance(n, cp.Partial)
            or (isinstance(n, cp.Name) and (n.sup or (n.base, n.sub) not in self.settings()))
            for s in sides
            for n in _walk(s)
        )
        ev = self.example() if networked else self.ev
        if ev is None:
            raise InvalidInput(
                "a comparison between the net's quantities needs the spec's example ([data] "
                "rows, or [values] with the inputs and targets); the layer level has random "
                "points only"
            )
        saved, self.ev = self.ev, ev
        ev.settings = self.settings()
        try:
            with np.errstate(all="ignore"):
                return self._compare(sides, relations), (
                    "numeric at the example" if networked else "numeric at the spec's settings"
                )
        finally:
            ev.settings = {}
            self.ev = saved

    def _compare(self, sides: tuple, relations: tuple) -> int:
        letters = sorted(layer_letters(sides))
        checked, first_error, fits = 0, None, False
        for combo in itertools.product(self.layer_numbers(), repeat=len(letters)):
            bind = dict(zip(letters, combo, strict=True))
            try:
                values = [self.conv(s, bind) for s in sides]
            except InvalidInput as err:
                first_error = first_error or err
                continue
            except Mismatch as err:
                raise Wrong(err.message, 0, bind) from None
            fits = True
            for i, (a, b) in enumerate(itertools.pairwise(values)):
                count = self._order(a, b, relations[i], i, bind, sides)
                checked += count if i == 0 else 0
        if not fits:
            raise first_error or InvalidInput("no layer of the network fits the claim")
        return checked

    def _order(self, a: T, b: T, op: str, i: int, bind: dict, sides: tuple) -> int:
        try:
            av, am, bv, bm, order, _ = align(a, b)
        except Mismatch as err:
            raise Wrong(err.message, i, bind) from None
        if a.mat or b.mat:
            raise InvalidInput("a comparison needs numbers on both sides, not arrays")
        if not (np.all(np.isfinite(av)) and np.all(np.isfinite(bv))):
            raise InvalidInput("a side is not a finite float64 number at the example")
        av, bv = np.broadcast_arrays(av, bv)
        d = av - bv
        d = np.where(np.abs(d) <= REL_TOL * (am + bm) + 1e-300, 0.0, d)
        holds = {"<": d < 0, "<=": d <= 0, ">": d > 0, ">=": d >= 0, "=": d == 0}[op]
        if not holds.all():
            idx = tuple(int(x) for x in np.argwhere(~holds)[0])
            units = dict(zip(order, [idx[1 + q] + 1 for q in range(len(order))], strict=True))
            shown = {"<=": "\\le", ">=": "\\ge"}.get(op, op)
            lhs = _side(sides[i], bind, units, float(av[idx]))
            rhs = _side(sides[i + 1], bind, units, float(bv[idx]))
            message = f"{lhs} is not {shown} {rhs}"
            raise Wrong(message, i, {**bind, **units})
        return int(np.prod(holds.shape[1:], dtype=np.int64))

    def layer_numbers(self) -> range:
        """The written layer numbers a layer letter takes: the input's (``first``) … L."""
        return range(self.first, self.net.depth + self.first + 1)

    # -------------------------------------------------------------------------- claims
    def check(self, sides: tuple) -> tuple[int, list[int]]:
        """(instances checked, layer values used) of a claim; raises Wrong or InvalidInput."""
        with np.errstate(all="ignore"):  # overflow is reported as a verdict, not a warning
            return self._check(sides)

    def _check(self, sides: tuple) -> tuple[int, list[int]]:
        for side in sides:
            _numeric_side(side)
        letters = sorted(layer_letters(sides))
        units = unit_letters(sides)
        if set(letters) & units:
            both = sorted(set(letters) & units)[0]
            raise InvalidInput(f"'{both}' is used both as a layer and as a unit index")
        checked, used, first_error = 0, [], None
        for combo in itertools.product(self.layer_numbers(), repeat=len(letters)):
            bind = dict(zip(letters, combo, strict=True))
            try:
                values = [self.conv(s, bind) for s in sides]
            except InvalidInput as err:
                first_error = first_error or err
                continue
            except Mismatch as err:
                raise Wrong(err.message, 0, bind) from None
            for i, (a, b) in enumerate(itertools.pairwise(values)):
                checked += self._link(a, b, i, bind, sides)
            used.append(combo)
        if not used:
            raise first_error or InvalidInput("no layer of the network fits the claim")
        return checked, used

    def _link(self, a: T, b: T, i: int, bind: dict, sides: tuple) -> int:
        try:
            av, am, bv, bm, order, _ = align(a, b)
        except Mismatch as err:
            raise Wrong(err.message, i, bind) from None
        if a.mat != b.mat:
            shape = lambda t: f"{t.mat[0]}×{t.mat[1]}" if t.mat else "a number"  # noqa: E731
            raise Wrong(f"the sides have different shapes: {shape(a)} and {shape(b)}", i, bind)
        if not (np.all(np.isfinite(av)) and np.all(np.isfinite(bv))):
            raise InvalidInput("a side is not a finite float64 number at a random point")
        diff = np.abs(av - bv)
        tol = REL_TOL * (am + bm) + 1e-300
        bad = ~(diff <= tol)
        if bad.any():
            idx = tuple(int(x) for x in np.argwhere(bad)[0])
            units = dict(zip(order, [idx[1 + q] + 1 for q in range(len(order))], strict=True))
            entry = idx[1 + len(order) :]
            found = (
                _at(sides[i], bind, units),
                float(np.broadcast_to(av, bad.shape)[idx]),
                _at(sides[i + 1], bind, units),
                float(np.broadcast_to(bv, bad.shape)[idx]),
                idx[0] + 1,
                entry,
                (np.broadcast_to(av, bad.shape), np.broadcast_to(bv, bad.shape)),
            )
            message = f"{found[0]} = {_num(found[1])} but {found[2]} = {_num(found[3])}"
            if entry:
                message += f" (entry {', '.join(str(e + 1) for e in entry)})"
            message += f" at random point {found[4]}"
            raise Wrong(message, i, {**bind, **units}, found)
        return int(np.prod(bad.shape[1:], dtype=np.int64))

    # ------------------------------------------------------------------------ diagnosis
    def diagnose(self, sides: tuple, wrong: Wrong) -> str | None:
        """The slip that makes the claim hold everywhere, or None (see the module doc)."""
        if wrong.values is not None:
            a, b = wrong.values[6]
            mask = np.abs(a) > 1e-12 * (np.abs(a).max() + 1e-300)
            if mask.any():
                ratio = b[mask] / a[mask]
                c = float(np.median(ratio))
                if np.all(np.abs(ratio - c) <= 1e-8 * max(1.0, abs(c))):
                    if abs(c + 1) < 1e-8:
                        return "sign: the written side is the negative"
                    if abs(c) > 1e-8 and abs(c - 1) > 1e-8:
                        return f"factor {_num(c)}: the written side is {_num(c)} times the other"
        pair = (sides[wrong.link], sides[wrong.link + 1])
        candidates = [(d, 1, n) for d, n in self._rewrites(pair[1], pair[0])]
        candidates += [(d, 0, n) for d, n in self._rewrites(pair[0], pair[1])]
        for desc, pos, new in candidates:
            trial = (new, pair[1]) if pos == 0 else (pair[0], new)
            try:
                self.check(trial)
            except (Wrong, InvalidInput, Mismatch, ResourceLimit):
                continue
            return desc
        return None

    def _rewrites(self, side: cp.Node, other: cp.Node) -> list[tuple[str, cp.Node]]:
        out: list[tuple[str, cp.Node]] = []
        names = sorted({n for n in _walk(side) if isinstance(n, cp.Name)}, key=str)
        for n in names:
            if n.sub and re.fullmatch(r"[a-z]{2}", n.sub):
                new = replace(n, sub=n.sub[::-1])
                out.append(
                    (
                        f"swapped index pair: {tex_name(n)} where {tex_name(new)} is meant",
                        _replace(side, n, new),
                    )
                )
            m = re.fullmatch(r"([A-Za-z]|\d+)([+-]\d+)?", n.sup or "")
            if m and n.base in ("w", "W", "b", "z", "a", "delta"):
                for d in (1, -1):
                    new = replace(n, sup=_shift(m.group(1), int(m.group(2) or 0) + d))
                    out.append(
                        (
                            f"wrong layer: {tex_name(n)} where {tex_name(new)} is meant",
                            _replace(side, n, new),
                        )
                    )
            if m and not n.sub and n.base in ("w", "W", "a", "delta", "b", "z"):
                out.append(
                    (
                        f"missing transpose: ({tex_name(n)})^T is meant",
                        _replace(side, n, cp.Transpose(n)),
                    )
                )
        for node in _walk(side):
            if isinstance(node, cp.Transpose):
                out.append(
                    (
                        f"extra transpose: {_written(node.arg)} without ^T is meant",
                        _replace(side, node, node.arg),
                    )
                )
            if isinstance(node, cp.Call) and node.func == "sigma":
                acts = set(self.net.activations) - {"sigmoid", SOFTMAX}
                if acts:
                    new = replace(node, func="f")
                    own = ", ".join(sorted(acts))
                    desc = f"\\sigma where the layer's own activation ({own}) is meant"
                    out.append((desc, _replace(side, node, new)))
        out += self._missing_fprime(side, other)
        if (
            isinstance(other, cp.Partial)
            and other.of == cp.Name("C")
            and isinstance(other.wrt, cp.Name)
            and other.wrt.base in ("w", "W")
            and self.net.weight_decay
        ):
            term = cp.Mul((cp.Name("lambda"), other.wrt))
            sign = self.values.derivation.output.maximize
            new = cp.Add((side, cp.Neg(term) if sign else term))
            what = f"{'-' if sign else '+'} \\lambda {tex_name(other.wrt)}"
            out.append((f"missing term {what} (the weight-decay gradient)", new))
        return out

    def _missing_fprime(self, side: cp.Node, other: cp.Node) -> list[tuple[str, cp.Node]]:
        """δ^l written without its factor f_l'(z^l) (Nielsen's BP1 for a fused output rule)."""
        if not (isinstance(other, cp.Name) and other.base == "delta" and other.sup):
            return []
        try:
            l = self.ev.layer(other.sup, {})
        except (InvalidInput, KeyError):
            return []
        act = self.net.activations[l - 1] if 1 <= l <= self.net.depth else SOFTMAX
        if act == SOFTMAX:
            return []
        zname = cp.Name("z", other.sub, other.sup)
        factor = cp.Call("f", zname, True)
        new = cp.Mul((side, factor)) if other.sub else cp.Hadamard((side, factor))
        fname = {"sigmoid": "\\sigma", "tanh": "\\tanh"}.get(act, act)
        return [(f"missing factor {fname}'({tex_name(zname)})", new)]

    def textbook(self, node: cp.Node, bind: dict) -> str | None:
        """The derivation's equation for a side that is δ^l or ∂C/∂w^l, ∂C/∂b^l (at the
        failing layer), in the handout's LaTeX; None for anything else."""
        from symbackprop.printers.layer_latex import tex

        d = self.values.derivation
        name = node.wrt if isinstance(node, cp.Partial) and node.of == cp.Name("C") else node
        if not isinstance(name, cp.Name) or not name.sup:
            return None
        try:
            l = self.ev.layer(name.sup, bind)
        except (InvalidInput, KeyError):
            return None
        if isinstance(node, cp.Name) and node.base == "delta":
            eqs = [dl.specialised for dl in d.deltas if dl.layer == l]
        elif isinstance(node, cp.Partial) and name.base in ("w", "W", "b"):
            param = ("W" if name.base in "wW" else "b") + str(l)
            eqs = [g.index for g in d.gradients if g.param == param]
            lhs = sp.Symbol(_at(node, bind, {}))  # the written side, its layers as written
            eqs = [e.func(lhs, e.rhs, evaluate=False) for e in eqs]
        else:
            return None
        if not eqs:
            return None
        lhs, rhs = (_plain(tex(side, self.first)) for side in (eqs[0].lhs, eqs[0].rhs))
        return f"{lhs} = {rhs}"  # printed in the handout's numbering


def _plain(text: str) -> str:
    """The printer's braces around each indexed name dropped: {w^{2}_{kj}} -> w^{2}_{kj}."""
    return re.sub(r"\{((?:\\delta|[a-z])\^\{[^{}]*\}_\{[^{}]*\}|[a-z]_\{[^{}]*\})\}", r"\1", text)


def _shift(head: str, shift: int) -> str:
    if head.isdigit():
        return str(int(head) + shift)
    return head if shift == 0 else f"{head}{shift:+d}"


def _written(n: cp.Node) -> str:
    return tex_name(n) if isinstance(n, cp.Name) else "the array"


def _num(x: float) -> str:
    return f"{x:.10g}"


def _at(node: cp.Node, bind: dict, units: dict) -> str:
    """A side at one instance, in the spec's notation, when it is one quantity."""

    def sub(n: cp.Name) -> cp.Name:
        if not n.sub:
            return n
        parts = n.sub.split(",") if "," in n.sub else list(n.sub) if len(n.sub) > 1 else [n.sub]
        vals = [str(units.get(p, p)) for p in parts]
        sep = "," if any(len(v) > 1 for v in vals) else ""
        return replace(n, sub=sep.join(vals))

    if isinstance(node, cp.Name):
        return tex_name(sub(node), bind)
    if isinstance(node, cp.Partial) and all(isinstance(q, cp.Name) for q in (node.of, node.wrt)):
        of, wrt = tex_name(sub(node.of), bind), tex_name(sub(node.wrt), bind)
        return f"\\frac{{\\partial {of}}}{{\\partial {wrt}}}"
    return "the written side"


def layer_letters(sides: tuple) -> set[str]:
    out: set[str] = set()
    for side in sides:
        for n in _walk(side):
            if isinstance(n, cp.Name) and n.sup:
                m = re.fullmatch(r"\(?([a-z])([+-]\d+)?\)?", n.sup)
                if m:
                    out.add(m.group(1))
    return out


def unit_letters(sides: tuple) -> set[str]:
    out: set[str] = set()
    for side in sides:
        for n in _walk(side):
            if isinstance(n, cp.Name) and n.sub:
                out.update(re.findall(r"[a-z]", n.sub))
    return out


def _side(node: cp.Node, bind: dict, units: dict, value: float) -> str:
    """A side as the claim writes it with its value (``a^{1}_{1} = 0.55``); a number alone."""
    if isinstance(node, cp.Num) or (isinstance(node, cp.Neg) and isinstance(node.arg, cp.Num)):
        return _num(value)
    return f"{_at(node, bind, units)} = {_num(value)}"


def _numeric_side(side: cp.Node) -> None:
    nodes = list(_walk(side))
    has_name = any(isinstance(n, (cp.Name, cp.Partial)) for n in nodes)
    decimal = any(isinstance(n, cp.Num) and n.decimals > 0 for n in nodes)
    if decimal and not has_name:
        raise InvalidInput(
            "a printed number needs the spec's example values; the layer level checks claims "
            "at random points",
            hint="write the claim with names (\\delta^l_j = ...)",
        )


def layer_layers_text(used: list, letters: list[str]) -> str:
    if not letters:
        return ""
    values = sorted({c for c in used})
    return ", ".join(
        (
            "(" + ", ".join(f"{k}={v}" for k, v in zip(letters, c, strict=True)) + ")"
            if len(letters) > 1
            else f"{letters[0]}={c[0]}"
        )
        for c in values
    )


__all__ = ["POINTS", "REL_TOL", "LayerChecker", "Wrong", "layer_of"]

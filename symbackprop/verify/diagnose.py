"""Isolate what differs in a wrong link ``A = B`` (A: the quantity, B: what was written for it).

Tried in order, each confirmed at several points (random points for symbolic links, the
example for numeric ones), so a reported cause is one that really makes B right:

- a constant ratio B/A: ``sign`` (−1), ``factor 2``, or a decimal slip (a power of ten);
- a wrong name: every occurrence of one written name replaced by a sibling (``w_6`` by ``w_7``,
  ``net_{o1}`` by ``net_{o2}``, ``b^l_k`` by ``b^{l+1}_k``, ``w_{jk}`` by ``w_{kj}``);
- a missing or extra factor: B/A equal to a unit's f' (``out(1 − out)``) or to one quantity;
- a missing sum term: B equal to A's definition with one term of a sum left out;
- for numbers: the printed number that, changed alone, makes B right, and what it should be
  (``0.3774 where net_{h1} = 0.3775 is meant``), or a printed number that is close to, but
  not within its digits of, a part of the other side.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

import sympy as sp

from symbackprop.derivation.evaluate import format_number
from symbackprop.errors import InvalidInput
from symbackprop.verify import claimparse as cp
from symbackprop.verify.claimcheck import Checker, Link, _close, _flat, uncertainty
from symbackprop.verify.resolve import LITERAL

_NEAR = 1e-3  # a printed number "is" a quantity when within 0.1 %


_LAYERED = re.compile(r"([A-Za-z]+)__([A-Za-z0-9]+)(?:_([A-Za-z0-9]+(?:_[A-Za-z0-9]+)*))?")
_GREEK_NAMES = frozenset("delta lambda sigma eta epsilon alpha theta".split())


def notation_name(name: str) -> str:
    """A symbol name as the notation writes it: ``delta__3_1`` -> ``\\delta^{3}_{1}``,
    ``w__h_11`` -> ``w^{h}_{11}``, ``w__2_1_11`` -> ``w^{2}_{1,11}`` (names without ``__`` stay)."""

    def one(m: re.Match) -> str:
        base = "\\" + m.group(1) if m.group(1) in _GREEK_NAMES else m.group(1)
        out = f"{base}^{{{m.group(2)}}}"
        return out + (f"_{{{m.group(3).replace('_', ',')}}}" if m.group(3) else "")

    return _LAYERED.sub(one, name)


def spec_name(sym: sp.Symbol, ck: Checker) -> str:
    """A network quantity as the spec's notation writes it (``net_{h1}``, ``\\delta_{o1}``,
    ``w^{2}_{1,11}``); other symbols by :func:`notation_name`."""
    if sym in ck.r.kind:
        cache = ck.__dict__.setdefault("_spec_names", {})
        if sym not in cache:
            from symbackprop.printers.printing import latex

            try:
                cache[sym] = latex(sym, ck.r.net.notation)
            except Exception:  # noqa: BLE001 - a name the printer cannot render stays as it is
                cache[sym] = notation_name(sym.name)
        return cache[sym]
    return notation_name(sym.name)


def show(expr: sp.Basic, checker: Checker) -> str:
    """An expression as LaTeX in the claim's notation: printed numbers as written, free letters
    as the claim wrote them (an optimizer's state in the claim's letter and time index, see
    :func:`free_tex`), network quantities as the spec's notation writes them."""
    r = checker.r
    free = expr.free_symbols if hasattr(expr, "free_symbols") else set()
    shift = getattr(checker, "time_shift", 0)
    count = r.free.get("t")
    if count is not None and count in free and shift:
        expr = expr.xreplace({count: count + shift})
        free = expr.free_symbols
    names = {s: _num_text(n) for s, n in r.literals.items() if s in free}
    names.update({s: free_tex(k, checker) for k, s in r.free.items() if s in free})
    names.update({s: spec_name(s, checker) for s in free if s in r.kind and s not in names})
    names.update({s: notation_name(s.name) for s in free if s not in names})
    text = sp.latex(expr, symbol_names=names, order="none")
    return _PRODUCT_OF_NUMBERS.sub(r" \\cdot ", text)


# two printed numbers side by side are a product: 0.05 \cdot 0.25, never "0.05 0.25"
_PRODUCT_OF_NUMBERS = re.compile(r"(?<=\d) (?=\d)")
_FREE_STATE = re.compile(r"(\w+)\((?:(\w+), )?t\)")


def free_tex(key: str, checker: Checker) -> str:
    """A free quantity's key in the resolver (:mod:`verify.timesteps`) as the claim writes it:
    ``s(t)`` as ``v_{t-1}`` when the claim calls Adam's s v and its latest step is t,
    ``m(W_13, t)`` as ``m_{13}(t)``, ``\\Delta W_13(t)`` as ``\\Delta W_{13}(t)``, ``g_t`` at the
    claim's step, ``\\beta_2`` as ``\\beta_{2}``."""
    shift = getattr(checker, "time_shift", 0)
    letters = getattr(checker, "state_letters", {})

    def step(k: int) -> str:
        return "t" if k == 0 else f"t{k:+d}"

    def param_tex(name: str) -> str:
        sym = next((p for p in checker.r.plus if p.name == name), None)
        return spec_name(sym, checker) if sym is not None else notation_name(name)

    if key == "t":
        return "t"
    if key == "g_t":
        return f"g_{{{step(shift + 1)}}}"
    if key == "\\theta(t)":
        return f"\\theta_{{{step(shift)}}}"
    if key.startswith("\\Delta ") and key.endswith("(t)"):
        return f"\\Delta {param_tex(key[7:-3])}({step(shift)})"
    m = _FREE_STATE.fullmatch(key)
    if m:
        letter = letters.get(m.group(1), m.group(1))
        if m.group(2) is None:
            return f"{letter}_{{{step(shift)}}}"
        weight = param_tex(m.group(2))
        head = re.match(r"\\?[A-Za-z]+", weight)
        return f"{letter}{weight[head.end():] if head else ''}({step(shift)})"
    m = re.fullmatch(r"(\\?[A-Za-z]+)_(\w+)", key)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    return key


def number(value: sp.Basic) -> str:
    if getattr(value, "is_Matrix", False):
        return "[" + ", ".join(number(v) for v in value) + "]"
    try:
        return (
            format_number(value, 10).replace(r" \times 10^", "e").replace("{", "").replace("}", "")
        )
    except (TypeError, ValueError):
        return sp.sstr(value)


def _num_text(n: cp.Num) -> str:
    return f"{float(n.value):.{n.decimals}f}"


def written(name: cp.Name) -> str:
    out = name.base.replace("Delta:", "\\Delta ")
    if name.sub:
        out += "_" + (name.sub if len(name.sub) == 1 else "{" + name.sub + "}")
    if name.sup:
        out += "^" + (name.sup if len(name.sup) == 1 else "{" + name.sup + "}")
    return out


def diagnose(
    ck: Checker, link: Link, a_node: cp.Node, b_node: cp.Node, bindings: dict, where: str
) -> tuple[str | None, tuple | None]:
    """A short description of the differing factor (None when none can be isolated), and the
    link's two sides with it corrected when the correction is a rewrite of the claim's own tree
    (a name, a power, a transpose), else None."""
    try:
        if link.method == "numeric":
            return _numeric(ck, link), None
        return _symbolic(ck, link, a_node, b_node, bindings, where)
    except (InvalidInput, ZeroDivisionError, TypeError, ValueError):
        return None, None


def _envs(ck: Checker, n: int = 3) -> list[dict]:
    return [ck.random_point(i)[1] for i in range(n)]


def _values(ck: Checker, expr: sp.Basic, envs: list[dict]) -> list[list]:
    return [_flat(ck.value(expr, env)) for env in envs]


def _same(x: list[list], y: list[list]) -> bool:
    return all(_close(p, q) for xs, ys in zip(x, y) for p, q in zip(xs, ys))


def _symbolic(
    ck: Checker, link: Link, a_node: cp.Node, b_node: cp.Node, bindings: dict, where: str
) -> str | None:
    envs = _envs(ck)
    va, vb = _values(ck, link.lhs, envs), _values(ck, link.rhs, envs)
    ratios = [q / p for xs, ys in zip(va, vb) for p, q in zip(xs, ys) if p != 0]
    if ratios and all(_close(r, ratios[0]) for r in ratios):
        c = sp.nsimplify(ratios[0], rational=True, tolerance=1e-20)
        if c != 0 and _close(c, ratios[0]):
            if c == -1:
                return "sign: the written side is the negative", (a_node, cp.Neg(b_node))
            return f"factor {c}", None
    for node, other in ((b_node, va), (a_node, vb)):
        found = _time_slips(ck, node, other, bindings, where, envs)
        found = found or _swap(ck, node, other, bindings, where, envs)
        found = found or _transposed(ck, node, other, bindings, where, envs)
        if found:
            desc, new = found
            return desc, ((a_node, new) if node is b_node else (new, b_node))
    return _factor(ck, ratios, envs) or _missing_term(ck, link, vb, envs), None


def _time_slips(ck, node, target, bindings, where, envs) -> tuple | None:  # noqa: ANN001
    """An optimizer step's usual slips (Adam's bias correction above all), each re-checked:
    a power of a decay rate one off the step count, β_2 for β_1 (or back), a moment without its
    square root, a gradient not squared."""
    from symbackprop.verify import timesteps as ts

    nodes = list(_walk(node))
    if not any(isinstance(n, cp.Name) and ts.STEP in n.base for n in nodes):
        return None
    for desc, new in _time_rewrites(node, nodes):
        try:
            expr = ck.convert(new, bindings, where)
            if _same(_values(ck, expr, envs[:1]), target[:1]) and _same(
                _values(ck, expr, envs), target
            ):
                return desc, new
        except (InvalidInput, TypeError, ValueError):
            continue
    return None


def _time_rewrites(node: cp.Node, nodes: list):  # noqa: ANN202 - (description, node) pairs
    from symbackprop.verify import timesteps as ts

    def shown(n: cp.Name) -> str:
        base = n.base.split(ts.STEP)[0].replace("hat:", "\\hat ")
        base = "\\" + base if base in _GREEK_NAMES | {"beta", "mu", "rho"} else base
        return base + (f"_{{{n.sub}}}" if n.sub else "")

    for p in [n for n in nodes if isinstance(n, cp.Pow) and cp.Name("t") in _walk(n.exp)]:
        base = shown(p.base) if isinstance(p.base, cp.Name) else "the rate"
        for d, what in ((-1, "one more"), (1, "one less")):
            new = replace(p, exp=cp.Add((p.exp, cp.Num(sp.Integer(d), 1, 0))))
            yield (f"wrong power of {base}: {what} than the step count", _replace(node, p, new))
    betas = {
        n for n in nodes if isinstance(n, cp.Name) and n.base == "beta" and n.sub in ("1", "2")
    }
    for b in sorted(betas, key=str):
        other = replace(b, sub="2" if b.sub == "1" else "1")
        yield (f"{shown(b)} where {shown(other)} is meant", _replace(node, b, other))
    for n in sorted({n for n in nodes if isinstance(n, cp.Name)}, key=str):
        head = n.base.split(ts.STEP)[0]
        if ts.STEP in n.base and head in ("hat:v", "hat:s", "v", "s"):
            yield (
                f"missing square root: \\sqrt{{{shown(n)}}}",
                _replace(node, n, cp.Call("sqrt", n)),
            )
        if ts.STEP in n.base and head not in ("g",) and head != "t":
            k = int(n.base.split(ts.STEP)[1])
            for d, what in ((1, "a step before the one meant"), (-1, "a step after the one meant")):
                moved = replace(n, base=f"{head}{ts.STEP}{k + d}")
                yield (f"{shown(n)} at {what}", _replace(node, n, moved))
        if ts.STEP in n.base and head == "g":
            squared = cp.Pow(n, cp.Num(sp.Integer(2), 1, 0))
            yield (f"missing square: {shown(n)}^2", _replace(node, n, squared))


def _swap(ck, node, target, bindings, where, envs) -> tuple | None:  # noqa: ANN001
    names = sorted(
        {n for n in _walk(node) if isinstance(n, cp.Name) and n.base != LITERAL}, key=str
    )
    for name in names:
        for alt in _alternatives(ck, name):
            swapped = _replace(node, name, alt)
            try:
                expr = ck.convert(swapped, bindings, where)
                if _same(_values(ck, expr, envs[:1]), target[:1]) and _same(
                    _values(ck, expr, envs), target
                ):
                    slip = _kind_of_slip(name, alt)
                    return f"{slip}: {written(name)} where {written(alt)} is meant", swapped
            except (InvalidInput, TypeError, ValueError):
                continue
    return None


def _kind_of_slip(name: cp.Name, alt: cp.Name) -> str:
    if name.sup != alt.sup and name.sub == alt.sub:
        return "wrong layer"
    if name.sub and alt.sub and sorted(name.sub) == sorted(alt.sub) and name.sup == alt.sup:
        return "swapped index pair"
    return "wrong name"


def _alternatives(ck: Checker, name: cp.Name) -> list[cp.Name]:
    """Sibling names: other units or weights with the same letters, index letters permuted,
    a layer superscript shifted by one."""
    out: list[cp.Name] = []
    index_sub = bool(name.sub and re.fullmatch(r"[a-z]{1,3}", name.sub))
    if index_sub and len(name.sub) > 1:
        out += [replace(name, sub="".join(p)) for p in itertools.permutations(name.sub)]
    if name.sup and re.fullmatch(r"[a-z]([+-]\d)?", name.sup):
        letter = name.sup[0]
        shift = int(name.sup[1:] or 0)
        out += [replace(name, sup=_shifted(letter, shift + d)) for d in (-1, 1)]
    if name.sub and not index_sub:
        prefix = f"{name.base}__{name.sup}_" if name.sup else name.base
        for sym_name in ck.r.names:
            rest = sym_name[len(prefix) :] if sym_name.startswith(prefix) else None
            if rest and re.fullmatch(r"_?[a-z]*\d+", rest):
                out.append(replace(name, sub=rest.lstrip("_")))
    return [n for n in dict.fromkeys(out) if n != name]


def _shifted(letter: str, shift: int) -> str:
    return letter if shift == 0 else f"{letter}{shift:+d}"


def _replace(node: cp.Node, old: cp.Name, new: cp.Name) -> cp.Node:
    if node == old:
        return new
    changes = {}
    for key, value in vars(node).items():
        if isinstance(value, tuple):
            changes[key] = tuple(_replace(v, old, new) for v in value)
        elif isinstance(value, cp.NODE_TYPES):
            changes[key] = _replace(value, old, new)
    return replace(node, **changes) if changes else node


def _walk(node: cp.Node):  # noqa: ANN202 - a generator of nodes
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        for value in vars(n).values():
            for kid in value if isinstance(value, tuple) else (value,):
                if isinstance(kid, cp.NODE_TYPES):
                    todo.append(kid)


def transpose_rewrites(sides: tuple) -> list[tuple[str, tuple]]:
    """Each array name transposed, and each ^T removed, one at a time: (description, sides)."""
    out = []
    for i, side in enumerate(sides):
        for node in dict.fromkeys(_walk(side)):
            if isinstance(node, cp.Transpose):
                new, desc = node.arg, f"extra transpose: {_array(node.arg)} without ^T is meant"
            elif isinstance(node, cp.Name) and node.sup and not node.sub and node.base != LITERAL:
                new, desc = cp.Transpose(node), f"missing transpose: ({_array(node)})^T is meant"
            else:
                continue
            out.append((desc, sides[:i] + (_replace(side, node, new),) + sides[i + 1 :]))
    return out


def _array(node: cp.Node) -> str:
    if isinstance(node, cp.Transpose):
        return f"({_array(node.arg)})^T"
    return _tex(node) if isinstance(node, cp.Name) else "the array"


def _tex(name: cp.Name) -> str:
    base = "\\" + name.base if name.base in _GREEK_NAMES else name.base
    sup = f"^{{{name.sup}}}" if name.sup else ""
    return base + sup + (f"_{{{name.sub}}}" if name.sub else "")


def _transposed(ck, node, target, bindings, where, envs) -> tuple | None:  # noqa: ANN001
    for desc, (new,) in transpose_rewrites((node,)):
        try:
            expr = ck.convert(new, bindings, where)
            if _same(_values(ck, expr, envs), target):
                return desc, new
        except (InvalidInput, TypeError, ValueError):
            continue
    return None


def _factor(ck: Checker, ratios: list, envs: list[dict]) -> str | None:
    if len(ratios) != len(envs):
        return None
    r = ck.r
    candidates = []
    for node in r.nodes.values():
        for arg in node.expr.free_symbols & set(r.nodes):
            if node.unit and r.kind.get(node.symbol) == "node" and node.expr.args == (arg,):
                candidates.append((r.local(node, arg), f"f'({spec_name(arg, ck)})"))
    kinds = ("input", "param", "node")
    candidates += [(s, spec_name(s, ck)) for s in r.kind if r.kind[s] in kinds]
    for expr, label in candidates:
        vals = [ck.value(expr, env) for env in envs]
        if all(v != 0 and _close(q, v) for q, v in zip(ratios, vals)):
            return f"extra factor {label} = {show(expr, ck)}"
        if all(v != 0 and _close(q * v, 1) for q, v in zip(ratios, vals)):
            return f"missing factor {label} = {show(expr, ck)}"
    return None


def _missing_term(ck: Checker, link: Link, vb: list, envs: list[dict]) -> str | None:
    ref = link.lhs
    defs = {**{s: n.expr for s, n in ck.r.nodes.items()}, **ck.r.defs}
    for _ in range(3):
        ref = ref.xreplace(defs)
        for add in [e for e in sp.preorder_traversal(ref) if isinstance(e, sp.Add)][:20]:
            for term in add.args:
                cand = ref.xreplace({add: add - term})
                if _same(_values(ck, cand, envs), vb):
                    return f"missing sum term {show(term, ck)}"
    return None


def _numeric(ck: Checker, link: Link) -> str | None:
    va, vb = link.lhs_value, link.rhs_value
    if getattr(va, "is_Matrix", False) or va == 0:
        return None
    ratio = vb / va
    notes = []
    if abs(ratio + 1) < 1e-6:
        return "sign: the written side is the negative"
    power = sp.N(sp.log(abs(ratio), 10), 30)
    k = int(round(float(power)))
    if k != 0 and abs(power - k) < 1e-3:
        notes.append(f"decimal slip: off by a factor 10^{k}")
    env = ck.example or {}
    for side, target in ((link.rhs, va), (link.lhs, vb)):
        notes += _literal_fix(ck, side, target, env, link.lhs if side is link.rhs else link.rhs)
        if notes:
            break
    if not notes:
        notes += _near_parts(ck, link, env)
    return "; ".join(dict.fromkeys(notes)) or None


def _quantities(ck: Checker, env: dict) -> list[tuple[str, sp.Basic, float]]:
    """(name, value, |value| as a float) of every quantity at ``env``, computed once."""
    cache = ck.__dict__.setdefault("_quantity_table", {})
    if id(env) not in cache or cache[id(env)][0] is not env:
        out = []
        for sym, kind in ck.r.kind.items():
            if kind not in ("rate", "plus", "step") and sym in env:
                out.append((spec_name(sym, ck), env[sym], abs(float(env[sym]))))
        cache[id(env)] = (env, out)
    return cache[id(env)][1]


def _pretty(sym: sp.Symbol) -> str:
    name = notation_name(sym.name)
    if "/d" in name:
        return "∂" + name[1:].replace("/d", "/∂")
    return name


def _matches(ck: Checker, value: sp.Basic, env: dict, rel: float) -> list[tuple[str, sp.Basic]]:
    value = abs(value)  # a sign written outside the number: -0.022602537
    near = [
        (n, q)
        for n, q, f in _quantities(ck, env)
        if f != 0 and abs(float(value) - f) <= 2 * rel * f  # a float pre-filter
    ]
    return [(n, q) for n, q in near if abs(value - abs(q)) <= rel * abs(q)]


def _literal_fix(
    ck: Checker, side: sp.Basic, target: sp.Basic, env: dict, other: sp.Basic | None = None
) -> list[str]:
    """Printed numbers of ``side`` that, replaced alone by a quantity of the network, make
    the link hold (re-checked with the numbers' own tolerance). A number that already is,
    within its printed digits, the value of a quantity named on the other side (0.05 beside
    ``i_1``) is right and never blamed."""
    notes = []
    current = ck.value(side, env)
    named = [
        abs(ck.value(q, env))
        for q in (other.free_symbols if other is not None else ())
        if q not in ck.r.literals and q in env
    ]
    for sym in sorted(side.free_symbols & set(ck.r.literals), key=lambda s: s.name):
        num = ck.r.literals[sym]
        lit = num.value
        if any(abs(abs(lit) - q) <= uncertainty(num) for q in named):
            continue  # the printed value of a quantity the other side names
        slope = ck.slope(side, sym, env)
        if slope == 0:
            continue
        fixed = lit - (current - target) / slope
        meant = _matches(ck, fixed, env, 1e-6)
        for name, value in meant:
            sign = -1 if (fixed < 0) != (value < 0) else 1
            trial = (
                ck.check_numeric(other, side.xreplace({sym: sign * value}))
                if other is not None
                else None
            )
            if trial is not None and not trial.ok:
                continue  # replacing it does not make the link hold: not the slip
            was = [(n, q) for n, q in _matches(ck, lit, env, _NEAR) if n != name]
            also = ""
            if was:
                equal = abs(abs(lit) - abs(was[0][1])) <= uncertainty(num)
                also = f" ({number(lit)} is {'the value of' if equal else 'close to'} {was[0][0]})"
            notes.append(f"{number(lit)} where {name} = {number(value)} is meant{also}")
            break
    return notes


def _near_parts(ck: Checker, link: Link, env: dict) -> list[str]:
    """Printed numbers on one side that are near, but not within their digits of, a part of
    the other side (``0.055395424`` for ``0.13849856 × 0.4 = 0.055399424``)."""
    notes = []
    for side, other in ((link.rhs, link.lhs), (link.lhs, link.rhs)):
        parts = [p for p in sp.preorder_traversal(other) if not p.is_Atom][:200]
        for sym in sorted(side.free_symbols & set(ck.r.literals), key=lambda s: s.name):
            num = ck.r.literals[sym]
            half = sp.Rational(1, 2) / sp.Integer(10) ** num.decimals
            for part in parts:
                v = ck.value(part, env)
                if v.is_number and v != 0 and half < abs(abs(v) - abs(num.value)) < _NEAR * abs(v):
                    notes.append(f"{_num_text(num)} should be {number(abs(v))} ({show(part, ck)})")
                    break
    return notes


def _close_rel(x: sp.Basic, y: sp.Basic, rel: float) -> bool:
    return abs(x - y) <= rel * max(abs(x), abs(y), 1e-30)

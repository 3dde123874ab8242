"""The nielsen style's own sections at the unit level: Nielsen's chapter 2 for a net written
unit by unit (any notation, any [graph]).

The layers are numbered from the input as 1 (a unit's layer is one more than the deepest unit
or input it reads); each unit's δ is ∂E/∂(its net input), BP1 at the output units and BP2 at
the hidden ones, and the gradients are BP3 (biases) and BP4 (weights). In numbers: a Hadamard
product from the output layer, one weight's derivative by a finite difference, and one weight's
derivative as a sum over every path from it to the loss, each path's local rates found by
``sympy.diff`` of the forward equations (not from the derivation's δ's).

With the exercises' answers hidden (``SectionInput.hidden``), no builder prints a value an
exercise asks for: such a δ is printed as its symbol, and the finite difference and the paths
are worked for a parameter whose gradient the text itself works.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths

from __future__ import annotations

import sympy as sp

from symbackprop.handout.styles import SectionInput

FD_EPSILON = sp.Rational(1, 10**6)
MAX_LISTED_PATHS = 8  # list each path up to this many
FACTOR_DIGITS = 6  # a path's rate factors, so that a path fits on a line


# -- layers, numbered from the input as 1 -------------------------------------------------------


def unit_levels(d) -> dict[str, int]:
    """Each unit's layer: 2 for a unit reading only inputs, else one more than the deepest
    unit whose output it reads (Nielsen numbers the input layer 1)."""
    net = d.network
    unit_of = {}
    for eq in d.forward:
        node_unit = net.node(eq.symbol).unit
        if node_unit is not None:
            unit_of[eq.symbol] = node_unit
    outputs = set(_act_symbols(d).values())  # a softmax reads its layer's net inputs: no edge
    level: dict[str, int] = {}
    for eq in d.forward:
        u = unit_of.get(eq.symbol)
        if u is None:
            continue
        reads = [
            unit_of[s]
            for s in eq.expr.free_symbols
            if s in outputs and s in unit_of and unit_of[s] != u
        ]
        level[u] = max([level.get(u, 2)] + [level[r] + 1 for r in reads])
    return level


def _act_symbols(d) -> dict[str, sp.Symbol]:
    """Each unit's output: its activation's symbol, else its net input's."""
    net = d.network
    out = {}
    for eq in d.forward:
        u = net.node(eq.symbol).unit
        if u is not None and (eq.kind == "act" or u not in out):
            out[u] = eq.symbol
    return out


def _is_bias(d, param: sp.Symbol) -> bool:
    """A bias enters a net input with derivative 1 and reads nothing (BP3); else BP4."""
    net = d.network
    if net.layout is not None and net.layout.biases:
        return param.name in {name for name, _ in net.layout.biases}
    for eq in d.forward:
        if eq.kind == "pre" and param in eq.expr.free_symbols:
            return sp.diff(eq.expr, param) == 1
    return False


def _delta_unit(d, delta) -> str | None:
    return d.network.node(delta.of).unit if delta.of is not None else None


def layers(inp: SectionInput) -> dict:
    d, w = inp.derivation, inp.writer
    net = d.network
    level = unit_levels(d)
    acts = _act_symbols(d)
    top = max(level.values(), default=2)
    rows = [dict(number=1, what="input", units=", ".join(f"${w.inline(s)}$" for s in net.inputs))]
    for l in range(2, top + 1):
        units = [u for u in level if level[u] == l]
        rows.append(
            dict(
                number=l,
                what="output" if l == top else "hidden",
                units=", ".join(f"${w.inline(acts[u])}$" for u in units),
            )
        )
    loss = w.inline(net.loss)
    deltas = []
    for delta in d.deltas:
        deltas.append(
            f"${w.inline(delta.symbol)} = \\partial {loss}/\\partial {w.inline(delta.of)}$"
        )
    return dict(rows=rows, L=top, loss=loss, deltas=", ".join(deltas))


def backward(inp: SectionInput) -> dict:
    """The common backward step's sections, titled with Nielsen's layer numbers (the common
    titles count the hidden layers from 1: "Layer 1 (hidden)" is layer 2 here)."""
    import re
    from dataclasses import replace

    top = max(unit_levels(inp.derivation).values(), default=2)
    out = []
    for section in inp.context["backward"]:
        title = section.title
        found = re.fullmatch(r"Layer (\d+) \(hidden\)", title)
        if found:
            title = f"Layer {int(found[1]) + 1} (hidden)"
        elif title == "The output layer":
            title = f"The output layer (layer {top})"
        out.append(replace(section, title=title))
    return dict(backward=out)


def bp(inp: SectionInput) -> dict:
    """BP1–BP4 for this net, symbolic (the numbers are the worked sections')."""
    from symbackprop.printers.printing import partial_latex

    d, w = inp.derivation, inp.writer
    net = d.network
    level = unit_levels(d)
    top = max(level.values(), default=2)
    lines = []
    for delta in d.deltas:
        label = "BP1" if level.get(_delta_unit(d, delta)) == top else "BP2"
        lines.append(
            (
                w.s(delta.symbol),
                "= " + partial_latex(net.loss, delta.of, w.sym) + " = " + w.s(delta.expr),
                label,
            )
        )
    for grad in d.gradients:
        label = "BP3" if _is_bias(d, grad.param) else "BP4"
        lines.append((w.s(w.gradient_symbol(grad.param)), "= " + w.s(grad.expr), label))
    from symbackprop.printers.latex_lines import strip

    return dict(lines=[(strip(a), strip(b), c) for a, b, c in lines], loss=w.inline(net.loss))


# -- the Hadamard product of one layer's δ's ----------------------------------------------------


def hadamard_group(d):
    """The δ's of the output layer (or, when a softmax simplification replaces theirs, of the
    top hidden layer), each with s = Σ of its paths out of the unit's output (∂E/∂out at an
    output unit, Σ_k δ_k w_kj at a hidden one) and t = f'(net) (1 for a unit without an
    activation): δ = s t."""
    level = unit_levels(d)
    groups: dict[int, list] = {}
    for delta in d.deltas:
        groups.setdefault(level.get(_delta_unit(d, delta), 0), []).append(delta)
    for l in sorted(groups, reverse=True):
        group = groups[l]
        if all(d.simplification(x.symbol) is None for x in group):
            return l, [
                (x, sp.Add(*[t.upstream * t.local for t in x.terms]), x.factor) for x in group
            ]
    return None, []


def hadamard(inp: SectionInput) -> dict:
    from symbackprop.derivation.evaluate import format_number

    d, w = inp.derivation, inp.writer
    data = dict(
        lecture=(
            r"\begin{pmatrix} 1 \\ 2 \end{pmatrix} \odot \begin{pmatrix} 3 \\ 4 \end{pmatrix} = "
            r"\begin{pmatrix} 1 \cdot 3 \\ 2 \cdot 4 \end{pmatrix} = "
            r"\begin{pmatrix} 3 \\ 8 \end{pmatrix}"
        ),
        available=False,
        reason="",
        note="",
    )
    l, group = hadamard_group(d)
    if not group:
        data["reason"] = "every layer's $\\delta$ here is simplified, with no product to show"
        return data
    level = unit_levels(d)
    top = max(level.values(), default=2)
    if w.worked is None:
        data["reason"] = "the spec gives no values"
        return data

    def col(items):
        return r"\begin{pmatrix} " + r" \\ ".join(items) + r" \end{pmatrix}"

    def value(expr):
        return w.worked.values.get(expr) if expr.is_Symbol else expr.xreplace(w.worked.values)

    s_sym = [strip_all(w.s(s)) for _, s, _ in group]
    t_sym = [strip_all(w.s(t)) for _, _, t in group]
    s_val = [format_number(_exact_or_float(value(s)), inp.digits) for _, s, _ in group]
    t_val = [format_number(_exact_or_float(value(t)), inp.digits) for _, _, t in group]
    results = []
    for x, _, _ in group:
        hidden = x.symbol in inp.hidden
        results.append(w.inline(x.symbol) if hidden else w.values[x.symbol])
    deltas = col([w.inline(x.symbol) for x, _, _ in group])
    which = "output" if l == top else "hidden"
    data.update(
        available=True,
        what=(
            f"the {which} layer's (layer {l}) $\\delta$'s at once: the vector of "
            + (
                "derivatives of the cost with respect to the units' outputs"
                if l == top
                else "sums back-propagated from the layer above"
            )
            + " times the vector of the activation's derivatives, entry by entry"
        ),
        formula=deltas + " = " + col(s_sym) + r" \odot " + col(t_sym),
        numbers=col(s_val) + r" \odot " + col(t_val) + " = " + col(results),
        shown=len(group),
        width=len(group),
        note=(
            r"(An entry left as a symbol is an exercise's answer.)"
            if any(x.symbol in inp.hidden for x, _, _ in group)
            else ""
        ),
    )
    return data


def _exact_or_float(value: sp.Expr) -> sp.Expr:
    """A rational value as it is (a weight of 0.14 prints 0.14), any other as a 30-digit
    float."""
    return value if value.is_Rational else sp.N(value, 30)


def strip_all(text: str) -> str:
    from symbackprop.printers.latex_lines import strip

    return strip(text)


# -- a finite difference and the sum over paths, for one parameter -----------------------------


def _shown_parameter(d, inp: SectionInput, prefer_first: bool) -> sp.Symbol | None:
    """A weight whose gradient the text works (not an exercise's answer): the first such of
    the first layer (``prefer_first``: the most paths) or of the last."""
    level = unit_levels(d)
    candidates = []
    for grad in d.gradients:
        if _is_bias(d, grad.param) or d.gradient_symbol(grad.param) in inp.hidden:
            continue
        units = {
            d.network.node(eq.symbol).unit
            for eq in d.forward
            if grad.param in eq.expr.free_symbols and eq.kind != "loss"
        }
        depth = min((level.get(u, 99) for u in units if u is not None), default=99)
        candidates.append((depth, len(candidates), grad.param))
    if not candidates:
        return None
    candidates.sort(key=lambda c: (c[0] if prefer_first else -c[0], c[1]))
    return candidates[0][2]


def loss_at(d, point: dict) -> sp.Expr:
    """E at ``point`` (every input, target and parameter): the forward pass, in order."""
    from symbackprop.derivation.evaluate import evaluate

    return evaluate(d, point).values[d.network.loss]


def fd(inp: SectionInput) -> dict:
    from symbackprop.derivation.evaluate import format_number

    d, w = inp.derivation, inp.writer
    net = d.network
    if w.worked is None:
        return dict(available=False, reason="the spec gives no values")
    param = _shown_parameter(d, inp, prefer_first=False)
    if param is None:
        return dict(available=False, reason="every gradient here is an exercise")
    loss = w.inline(net.loss)
    point = dict(net.value_map)
    before = w.worked.values[net.loss]
    point[param] = point[param] + FD_EPSILON
    after = loss_at(d, point)
    quotient = (after - before) / FD_EPSILON
    gsym = d.gradient_symbol(param)
    bp_value = w.worked.by_gradient_symbol[gsym]
    p = w.inline(param)
    grad = next(g for g in d.gradients if g.param == param)
    digits = max(inp.digits, 12)
    lines = [
        (f"{loss}({p})", "= " + format_number(before, digits)),
        (f"{loss}({p} + \\epsilon)", "= " + format_number(after, digits)),
        (
            rf"\frac{{{loss}({p} + \epsilon) - {loss}({p})}}{{\epsilon}}",
            "= " + format_number(quotient, inp.digits),
        ),
        (
            w.inline(gsym),
            "= " + strip_all(w.s(grad.expr)) + " = " + w.values[gsym] + r" \tag{BP4}",
        ),
    ]
    sign = "descent" if not net.maximize else "ascent"
    return dict(
        available=True,
        intro=(
            f"Without backpropagation, a derivative can be estimated from ${loss}$ alone: "
            f"move one weight by a small $\\epsilon$ and divide the change of ${loss}$ by "
            # ε written out: 10^{-6} would print a small integer an exercise may ask for
            f"$\\epsilon$. For ${p}$ with $\\epsilon = 0.000001$ and one more forward pass "
            "(the same equations, evaluated again):"
        ),
        lines=lines,
        outro=(
            f"The two agree to within ${format_number(abs(quotient - bp_value), 2)}$, a "
            "difference proportional to $\\epsilon$ (the forward difference leaves out the "
            "Taylor series' second-order term). This net has "
            f"{len(net.params)} parameters, so finite differences need {len(net.params) + 1} "
            "forward passes for one gradient; backpropagation one forward and one backward "
            f"pass, for every step of gradient {sign}."
        ),
    )


def forward_paths(d, param: sp.Symbol) -> list[list[sp.Symbol]]:
    """Every path from ``param`` to the loss through the forward equations (each a list of
    symbols, the parameter first)."""
    readers: dict[sp.Symbol, list[sp.Symbol]] = {}
    for eq in d.forward:
        for s in eq.expr.free_symbols:
            readers.setdefault(s, []).append(eq.symbol)
    loss = d.network.loss
    out = []

    def walk(path):
        if path[-1] == loss:
            out.append(list(path))
            return
        for nxt in readers.get(path[-1], ()):
            walk(path + [nxt])

    walk([param])
    return out


def path_rates(d, path: list[sp.Symbol]) -> list[sp.Expr]:
    """The local rate of each edge of ``path``: ∂(next)/∂(this) by ``sympy.diff`` of the next
    symbol's forward equation."""
    expr_of = {eq.symbol: eq.expr for eq in d.forward}
    return [sp.diff(expr_of[b], a) for a, b in zip(path, path[1:])]


def sum_over_paths(inp: SectionInput) -> dict:
    from symbackprop.derivation.evaluate import format_number
    from symbackprop.printers.printing import partial_latex

    d, w = inp.derivation, inp.writer
    net = d.network
    param = _shown_parameter(d, inp, prefer_first=True)
    loss = w.inline(net.loss)
    intro = (
        f"A change of one weight changes the units it feeds, which change the units they feed, "
        f"up to ${loss}$. Each edge carries a local rate, the partial derivative of a quantity "
        "with respect to the one before it; a path's rate is the product of its edges' rates, "
        f"and $\\partial {loss}/\\partial w$ is the sum of the rates of all paths from the "
        "weight to the cost (Nielsen's closing picture)."
    )
    if param is None:
        return dict(intro=intro, lines=[], outro="Every gradient here is an exercise.")
    found = forward_paths(d, param)
    p = w.inline(param)
    intro += f" For ${p}$ there {'is' if len(found) == 1 else 'are'} {len(found)} path" + (
        "" if len(found) == 1 else "s"
    )
    intro += ", each as its local rates" + (" and their product:" if w.worked else ":")
    lines = []
    total = sp.Integer(0)
    for path in found[:MAX_LISTED_PATHS]:
        chain = " ".join(partial_latex(b, a, w.sym) for a, b in reversed(list(zip(path, path[1:]))))
        route = r" \to ".join(w.inline(s) for s in path)
        lines.append(("", rf"{route}\colon"))
        if w.worked is None:
            lines.append(("", "= " + chain))
            continue
        rates = path_rates(d, path)
        values = [_exact_or_float(r.xreplace(w.worked.values)) for r in rates]
        product = sp.Mul(*values)
        numbers = r" \cdot ".join(
            format_number(v, FACTOR_DIGITS) if v >= 0 else f"({format_number(v, FACTOR_DIGITS)})"
            for v in reversed(values)
        )
        lines.append(("", "= " + chain))
        lines.append(("", "= " + numbers + " = " + format_number(product, inp.digits)))
    if w.worked is not None:
        for path in found:
            total += sp.Mul(*[sp.N(r.xreplace(w.worked.values), 30) for r in path_rates(d, path)])
    outro = ""
    if len(found) > MAX_LISTED_PATHS:
        more = len(found) - MAX_LISTED_PATHS
        outro = (
            "(The other path is formed the same way.) "
            if more == 1
            else f"(The other {more} paths are formed the same way.) "
        )
    if w.worked is not None:
        gsym = d.gradient_symbol(param)
        lines.append(
            (
                "",
                rf"\text{{sum of the paths}} = {format_number(total, inp.digits)} = "
                rf"{w.inline(gsym)} \text{{ by backpropagation}}",
            )
        )
        outro += (
            "Backpropagation adds up the same products, sharing each unit's $\\delta$ among all "
            "the paths through it."
        )
    return dict(intro=intro, lines=lines, outro=outro)

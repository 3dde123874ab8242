"""The nielsen style's own sections at the layer level, after Nielsen's chapter 2 as taught in
"How the backpropagation algorithm works" (University of Utah): the layers numbered from the
input as 1, the cost's two assumptions, the Hadamard product with this net's numbers, the
derivatives BP1 needs, one finite difference against BP4, and BP as a sum over paths.

Every number is the worked example's (:mod:`derivation.layer_values`, 30 digits) or a forward
pass of the same 30-digit route at moved parameters; the paths are enumerated one by one, not
taken from BP. Layer numbers are printed from ``FIRST`` (Nielsen's a^1 = x); the derivation
numbers the input 0, so its layer l prints as l + FIRST.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import itertools
from math import prod

import mpmath
import sympy as sp

from symbackprop.handout.styles import SectionInput

FIRST = 1  # Nielsen numbers the input layer 1
SHOWN_UNITS = 3  # the Hadamard example's first units
FD_EPSILON = mpmath.mpf(10) ** -6  # the finite difference's step
FD_DIGITS = 10  # significant digits of the finite-difference numbers
MAX_PATHS = 100_000  # enumerate the paths one by one up to this many
LISTED_PATHS = 12  # list each path's product up to this many paths


def _number(value, digits: int = 4) -> str:
    from symbackprop.printers.layer_latex import number

    return number(value, digits)


def _example(inp: SectionInput):
    """The worked example's values, or None when the handout has none."""
    worked = inp.context.get("worked") or {}
    return worked.get("example") if worked.get("available") else None


def _no_example(inp: SectionInput) -> str:
    worked = inp.context.get("worked") or {}
    return worked.get("reason") or "the handout has no worked example"


def _column(entries: list[str], total: int) -> str:
    """A column vector of the first entries, with dots when there are more."""
    rows = list(entries) + ([r"\vdots"] if total > len(entries) else [])
    return r"\begin{pmatrix} " + r" \\ ".join(rows) + r" \end{pmatrix}"


# -- the network: Nielsen's numbering and the cost's assumptions --------------------------------


def network(inp: SectionInput) -> dict:
    net = inp.network
    L = net.depth + FIRST
    widths = ", ".join(
        f"$n_{{{l + FIRST}}} = {n}$" for l, n in enumerate(net.sizes)
    )  # n_1 = 784, ...
    mean = net.reduction == "mean"
    cost = r"C = \frac{1}{n}\sum_x C_x" if mean else r"C = \sum_x C_x"
    return dict(
        L=L,
        softmax="softmax" in net.activations,
        widths=widths,
        last_hidden=L - 1,
        cost=cost,
        mean=mean,
        example=_layer_example(net),
    )


def _layer_example(net) -> str:
    """The lecture's z^3_j = Σ_k w^3_jk a^2_k + b^3_j, for this net's output layer."""
    L = net.depth + FIRST
    n_in, n_out = net.sizes[-2], net.sizes[-1]
    return (
        rf"z^{{{L}}}_j = \sum_{{k=1}}^{{{n_in}}} w^{{{L}}}_{{jk}}\, a^{{{L - 1}}}_k + b^{{{L}}}_j,"
        rf"\quad j = 1, \dots, {n_out}"
    )


# -- the derivatives BP1 and BP2 use ------------------------------------------------------------


def derivatives(inp: SectionInput) -> dict:
    """f'(z) of each elementwise activation the net uses, and ∂C/∂a^L_j of its loss."""
    from symbackprop.printers.layer_latex import activation_latex, tex
    from symbackprop.rules.layer_losses import SOFTMAX, activation_derivative
    from symbackprop.rules.layer_losses import a as a_sym
    from symbackprop.rules.layer_losses import y as y_sym
    from symbackprop.rules.layer_losses import z as z_sym

    d = inp.derivation
    net = d.net
    generic = {z_sym: sp.Symbol("z__l_j"), a_sym: sp.Symbol("a__l_j")}
    lines = []
    seen = set()
    for name in net.activations:
        if name == SOFTMAX or name in seen:
            continue
        seen.add(name)
        f = activation_latex(name)
        rule = activation_derivative(name).xreplace(generic)
        lines.append((rf"{f}'(z^l_j)", "= " + tex(rule)))
    L = net.depth + FIRST
    out = {a_sym: sp.Symbol(f"a__{L}_j"), y_sym: sp.Symbol("y_j")}
    dc_da = tex(d.output.dC_da.xreplace(out))
    quadratic = net.loss == "half_sse"
    return dict(
        lines=lines,
        L=L,
        dc_da=dc_da,
        quadratic=quadratic,
        softmax=net.activations[-1] == SOFTMAX,
        what=r"\log L" if d.output.maximize else "C",
    )


# -- the Hadamard product, in numbers ---------------------------------------------------------


def hadamard_values(d, ex) -> dict | None:
    """The first Hadamard product of this net's BP, in numbers: BP1's ∇_a C ⊙ f'(z^L) when
    the output is elementwise and not fused, else BP2's ((W^{l+1})^T δ^{l+1}) ⊙ f'(z^l) for the
    top hidden layer; None when neither exists (one fused or softmax layer). Returns the
    layer (derivation's numbering), which equation, and the full vectors s, t and δ."""
    from symbackprop.derivation.mpvalue import mp_value
    from symbackprop.rules.layer_losses import SOFTMAX, activation_derivative
    from symbackprop.rules.layer_losses import a as a_sym
    from symbackprop.rules.layer_losses import y as y_sym
    from symbackprop.rules.layer_losses import z as z_sym

    rule, top = d.output, ex.layers[-1]
    with mpmath.workdps(30):
        if not rule.fused and rule.activation != SOFTMAX:
            fprime = activation_derivative(rule.activation)
            s = [
                mp_value(rule.dC_da, {a_sym: av, y_sym: yv, z_sym: zv})
                for av, yv, zv in zip(top.a, ex.y, top.z)
            ]
            t = [mp_value(fprime, {z_sym: zv, a_sym: av}) for zv, av in zip(top.z, top.a)]
            return dict(layer=top.layer, label="BP1", s=s, t=t, delta=top.delta)
        if len(ex.layers) < 2:
            return None
        lay = ex.layers[-2]
        fprime = activation_derivative(lay.activation)
        s = [
            mpmath.fsum(top.W[kk][jj] * top.delta[kk] for kk in range(len(top.delta)))
            for jj in range(len(lay.a))
        ]
        t = [mp_value(fprime, {z_sym: zv, a_sym: av}) for zv, av in zip(lay.z, lay.a)]
        return dict(layer=lay.layer, label="BP2", s=s, t=t, delta=lay.delta)


def hadamard(inp: SectionInput) -> dict:
    from symbackprop.printers.layer_latex import activation_latex

    lecture = dict(s=[1, 2], t=[3, 4])
    lecture["st"] = [a * b for a, b in zip(lecture["s"], lecture["t"])]
    data = dict(
        lecture=(
            _column([str(v) for v in lecture["s"]], 2)
            + r" \odot "
            + _column([str(v) for v in lecture["t"]], 2)
            + " = "
            + _column([f"{a} \\cdot {b}" for a, b in zip(lecture["s"], lecture["t"])], 2)
            + " = "
            + _column([str(v) for v in lecture["st"]], 2)
        ),
        available=False,
        reason="",
        note="",
    )
    ex = _example(inp)
    if ex is None:
        data["reason"] = _no_example(inp)
        return data
    h = hadamard_values(inp.derivation, ex)
    if h is None:
        data["reason"] = (
            r"this network's only layer has the fused $\delta^L = a^L - y$"
            if inp.derivation.output.fused
            else "this network's only layer is a softmax, whose Jacobian is not diagonal"
        ) + ", so its backpropagation has no Hadamard product"
        return data
    d = inp.derivation
    l = h["layer"]
    n, L = l + FIRST, d.net.depth + FIRST
    width = len(h["s"])
    shown = min(SHOWN_UNITS, width)
    f = activation_latex(d.net.activations[l - 1])
    if h["label"] == "BP1":
        formula = rf"\delta^{{{L}}} = \nabla_{{a^{{{L}}}}} C \odot {f}'(z^{{{L}}})"
        what = (
            rf"BP1's $\nabla_{{a^{{{L}}}}} C \odot {f}'(z^{{{L}}})$, with "
            rf"$\nabla_{{a^{{{L}}}}} C$ the vector of the $\partial C/\partial a^{{{L}}}_j$"
        )
    else:
        formula = (
            rf"\delta^{{{n}}} = \bigl((W^{{{n + 1}}})^{{T}} \delta^{{{n + 1}}}\bigr) \odot "
            rf"{f}'(z^{{{n}}})"
        )
        what = (
            f"BP2's $((W^{{{n + 1}}})^{{T}} \\delta^{{{n + 1}}}) \\odot {f}'(z^{{{n}}})$ "
            f"(the output's BP1 is the fused $a^{{{L}}} - y$, with no Hadamard product)"
        )
    numbers = (
        _column([_number(v) for v in h["s"][:shown]], width)
        + r" \odot "
        + _column([_number(v) for v in h["t"][:shown]], width)
        + " = "
        + _column(
            [rf"{_number(a)} \cdot {_number(b)}" for a, b in zip(h["s"][:shown], h["t"][:shown])],
            width,
        )
        + " = "
        + _column([_number(v) for v in h["delta"][:shown]], width)
    )
    data.update(
        available=True,
        what=what,
        formula=formula,
        numbers=numbers,
        shown=shown,
        width=width,
        layer=n,
    )
    return data


# -- one derivative by a finite difference -----------------------------------------------------


def example_cost(d, Ws, bs, x, y):
    """C of one example (with the L2 term, a batch of one) by a forward pass at 30 digits:
    F_l layer by layer (:func:`layer_values.bp_values`), then the loss summed over the outputs."""
    from symbackprop.derivation.layer_values import bp_values
    from symbackprop.derivation.mpvalue import mp_value
    from symbackprop.rules import registry as rules
    from symbackprop.rules.layer_losses import a as a_sym
    from symbackprop.rules.layer_losses import y as y_sym

    with mpmath.workdps(30):
        _, acts, _ = bp_values(d, Ws, bs, x, y)
        term = rules.loss(d.net.loss).term(a_sym, y_sym)
        cost = mpmath.fsum(mp_value(term, {a_sym: av, y_sym: yv}) for av, yv in zip(acts[-1], y))
        lam = mpmath.mpf(d.net.weight_decay)
        if lam:
            squares = mpmath.fsum(w * w for W in Ws for row in W for w in row)
            cost += (-1 if d.output.maximize else 1) * lam / 2 * squares
    return cost


def finite_difference(d, ex, layer: int, j: int, k: int, eps=FD_EPSILON) -> dict:
    """(C(w + ε e) − C(w))/ε for the weight w^layer_{jk} (0-based j, k; the derivation's layer
    numbering), from two forward passes, beside BP4's value from the worked example."""
    Ws = [[list(row) for row in lay.W] for lay in ex.layers]
    bs = [list(lay.b) for lay in ex.layers]
    with mpmath.workdps(30):
        before = example_cost(d, Ws, bs, ex.x, ex.y)
        Ws[layer - 1][j][k] += eps
        after = example_cost(d, Ws, bs, ex.x, ex.y)
        quotient = (after - before) / eps
    lay = ex.layers[layer - 1]
    prev = ex.x if layer == 1 else ex.layers[layer - 2].a
    return dict(
        before=before,
        after=after,
        quotient=quotient,
        bp=lay.grad_W[j][k],
        a_prev=prev[k],
        delta=lay.delta[j],
        weight=lay.W[j][k],
    )


def fd(inp: SectionInput) -> dict:
    ex = _example(inp)
    if ex is None:
        return dict(available=False, reason=_no_example(inp))
    d = inp.derivation
    L = d.net.depth
    n, prev = L + FIRST, L + FIRST - 1
    r = finite_difference(d, ex, L, 0, 0)
    decay = bool(d.net.weight_decay)
    sign = "-" if d.output.maximize else "+"
    bp_formula = rf"a^{{{prev}}}_1\, \delta^{{{n}}}_1" + (
        rf" {sign} \lambda w^{{{n}}}_{{11}}" if decay else ""
    )
    bp_numbers = rf"{_number(r['a_prev'], FD_DIGITS)} \cdot {_number(r['delta'], FD_DIGITS)}" + (
        rf" {sign} {_number(d.net.weight_decay)} \cdot {_number(r['weight'], FD_DIGITS)}"
        if decay
        else ""
    )
    agree = mpmath.nstr(abs(r["quotient"] - r["bp"]), 2)
    what = r"\log L" if d.output.maximize else "C"
    return dict(
        available=True,
        n=n,
        what=what,
        eps=r"10^{-6}",
        before=_number(r["before"], 12),
        after=_number(r["after"], 12),
        quotient=_number(r["quotient"], FD_DIGITS),
        bp_formula=bp_formula,
        bp_numbers=bp_numbers,
        bp=_number(r["bp"], FD_DIGITS),
        difference=_number(mpmath.mpf(agree)),
        one_hot_ok=ex.one_hot_ok,
    )


# -- backpropagation as a sum over paths -------------------------------------------------------


def rate_matrices(d, ex) -> list:
    """R^l[p][q] = ∂a^l_p/∂a^{l−1}_q for l = 2 … L (derivation numbering), the rate of one
    edge: f_l'(z^l_p) w^l_pq for an elementwise f, Σ_i (∂a^l_p/∂z^l_i) w^l_iq for softmax."""
    from symbackprop.derivation.mpvalue import mp_value
    from symbackprop.rules.layer_losses import SOFTMAX, activation_derivative
    from symbackprop.rules.layer_losses import a as a_sym
    from symbackprop.rules.layer_losses import z as z_sym

    out = {}
    with mpmath.workdps(30):
        for lay in ex.layers[1:]:
            a = lay.a
            if lay.activation == SOFTMAX:
                jac = [[a[p] * ((p == i) - a[i]) for i in range(len(a))] for p in range(len(a))]
            else:
                fp = activation_derivative(lay.activation)
                jac = [
                    [
                        mp_value(fp, {z_sym: lay.z[p], a_sym: a[p]}) if p == i else 0
                        for i in range(len(a))
                    ]
                    for p in range(len(a))
                ]
            out[lay.layer] = [
                [
                    mpmath.fsum(jac[p][i] * lay.W[i][q] for i in range(len(a)))
                    for q in range(len(lay.W[0]))
                ]
                for p in range(len(a))
            ]
    return out


def output_rates(d, ex) -> list:
    """∂C/∂a^L_m for every output m (the loss's own derivative; the L2 term does not depend on
    the activations)."""
    from symbackprop.derivation.mpvalue import mp_value
    from symbackprop.rules.layer_losses import a as a_sym
    from symbackprop.rules.layer_losses import y as y_sym
    from symbackprop.rules.layer_losses import z as z_sym

    top = ex.layers[-1]
    with mpmath.workdps(30):
        return [
            mp_value(d.output.dC_da, {a_sym: av, y_sym: yv, z_sym: zv})
            for av, yv, zv in zip(top.a, ex.y, top.z)
        ]


def weight_rate(d, ex, layer: int, j: int, k: int):
    """∂a^layer_j/∂w^layer_jk as a list over the units m of the layer: ∂a^layer_m/∂w_jk
    (f'(z_j) a_k at m = j only for an elementwise f; a_m(δ_mj − a_j) a_k for softmax)."""
    from symbackprop.derivation.mpvalue import mp_value
    from symbackprop.rules.layer_losses import SOFTMAX, activation_derivative
    from symbackprop.rules.layer_losses import a as a_sym
    from symbackprop.rules.layer_losses import z as z_sym

    lay = ex.layers[layer - 1]
    prev = ex.x if layer == 1 else ex.layers[layer - 2].a
    a = lay.a
    with mpmath.workdps(30):
        if lay.activation == SOFTMAX:
            return [a[m] * ((m == j) - a[j]) * prev[k] for m in range(len(a))]
        fp = mp_value(activation_derivative(lay.activation), {z_sym: lay.z[j], a_sym: a[j]})
        return [fp * prev[k] if m == j else mpmath.mpf(0) for m in range(len(a))]


def paths(d, ex, layer: int, j: int, k: int):
    """Every path from w^layer_jk to C, one by one: (units from the weight's layer up to the
    output, 0-based, and the product of its rate factors). At an elementwise layer the weight
    moves only a_j, so the paths start at unit j; through a softmax, at every unit."""
    sizes = d.net.sizes
    rates = rate_matrices(d, ex)
    top = output_rates(d, ex)
    start = weight_rate(d, ex, layer, j, k)
    starts = [m for m, v in enumerate(start) if v != 0 or m == j]
    ranges = [starts] + [range(sizes[m]) for m in range(layer + 1, d.net.depth + 1)]
    out = []
    with mpmath.workdps(30):
        for units in itertools.product(*ranges):
            value = start[units[0]]
            for step, (q, p) in enumerate(zip(units, units[1:])):
                value *= rates[layer + 1 + step][p][q]
            value *= top[units[-1]]
            out.append((units, value))
    return out


def path_count(d, layer: int, j: int) -> int:
    """How many paths lead from a weight of ``layer`` to C (elementwise: from its unit j)."""
    from symbackprop.rules.layer_losses import SOFTMAX

    sizes = d.net.sizes
    first = sizes[layer] if d.net.activations[layer - 1] == SOFTMAX else 1
    return first * prod(sizes[layer + 1 :])


def sum_over_paths(inp: SectionInput) -> dict:

    d = inp.derivation
    net = d.net
    L = net.depth + FIRST
    data = dict(L=L, available=False, reason="")
    ex = _example(inp)
    layer = 1  # the first weight layer: the most paths
    n = layer + FIRST
    count = path_count(d, layer, 0)
    data.update(n=n, count=f"{count:,}", one=count == 1)
    if ex is None:
        data["reason"] = _no_example(inp)
        return data
    k = next((i for i, v in enumerate(ex.x) if v != 0), 0)
    data["k"] = k + 1
    wname = rf"w^{{{n}}}_{{1{k + 1}}}" if k < 9 else rf"w^{{{n}}}_{{1,{k + 1}}}"
    data["weight"] = wname
    data["softmax"] = "softmax" in net.activations[layer - 1 :]
    if count > MAX_PATHS:
        data["reason"] = f"{count:,} paths are too many to add up one by one here"
        return data
    found = paths(d, ex, layer, 0, k)
    assert len(found) == count
    shown = max(found, key=lambda p: abs(p[1]))  # the path that carries the most
    data["chain"], data["factors"] = _path_latex(d, layer, k, shown[0], wname)
    data["zeros"] = any(v == 0 for _, v in found)
    total = mpmath.fsum(v for _, v in found)
    bp = ex.layers[layer - 1].grad_W[0][k]
    decay = mpmath.mpf(net.weight_decay) * ex.layers[layer - 1].W[0][k]
    if d.output.maximize:
        decay = -decay
    listed = []
    if count <= LISTED_PATHS:
        for units, value in found:
            route = r" \to ".join(
                rf"a^{{{layer + FIRST + i}}}_{{{u + 1}}}" for i, u in enumerate(units)
            )
            listed.append((route, _number(value)))
    data.update(
        available=True,
        first_value=_number(shown[1]),
        total=_number(total, 8),
        bp=_number(bp, 8),
        bp_without_decay=_number(bp - decay, 8),
        decay=bool(net.weight_decay),
        listed=listed,
        route=r" \to ".join(
            rf"a^{{{layer + FIRST + i}}}_{{{u + 1}}}" for i, u in enumerate(shown[0])
        ),
    )
    return data


def _path_latex(d, layer: int, k: int, units, wname: str) -> tuple[str, str]:
    """One path's product of rates: as partial derivatives, and as this net's factors. ``units``
    are the path's units (0-based) from the weight's layer (derivation numbering) up."""
    from symbackprop.printers.layer_latex import activation_latex, tex
    from symbackprop.rules.layer_losses import SOFTMAX
    from symbackprop.rules.layer_losses import a as a_sym
    from symbackprop.rules.layer_losses import y as y_sym

    net = d.net
    L = net.depth + FIRST
    n = layer + FIRST
    u = [i + 1 for i in units]  # 1-based, as printed
    top = u[-1]
    chain = [rf"\frac{{\partial C}}{{\partial a^{{{L}}}_{{{top}}}}}"]
    factors = [
        tex(
            d.output.dC_da.xreplace(
                {a_sym: sp.Symbol(f"a__{L}_{top}"), y_sym: sp.Symbol(f"y_{top}")}
            )
        )
    ]
    for step in range(len(u) - 1, 0, -1):
        m = layer + step  # the layer of u[step], derivation numbering
        p, q, shown_m = u[step], u[step - 1], m + FIRST
        chain.append(
            rf"\frac{{\partial a^{{{shown_m}}}_{{{p}}}}}{{\partial a^{{{shown_m - 1}}}_{{{q}}}}}"
        )
        if net.activations[m - 1] == SOFTMAX:
            factors.append(
                rf"\sum_i a^{{{shown_m}}}_{{{p}}}(\delta_{{{p}i}} - a^{{{shown_m}}}_i)\,"
                rf"w^{{{shown_m}}}_{{i{q}}}"
            )
        else:
            f = activation_latex(net.activations[m - 1])
            factors.append(rf"{f}'(z^{{{shown_m}}}_{{{p}}})\, w^{{{shown_m}}}_{{{p}{q}}}")
    chain.append(rf"\frac{{\partial a^{{{n}}}_{{{u[0]}}}}}{{\partial {wname}}}")
    if net.activations[layer - 1] == SOFTMAX:
        factors.append(
            rf"a^{{{n}}}_{{{u[0]}}}(\delta_{{{u[0]}1}} - a^{{{n}}}_1)\, a^{{{n - 1}}}_{{{k + 1}}}"
        )
    else:
        f = activation_latex(net.activations[layer - 1])
        factors.append(rf"{f}'(z^{{{n}}}_1)\, a^{{{n - 1}}}_{{{k + 1}}}")
    return r" \, ".join(chain), r" \cdot ".join(rf"\bigl({x}\bigr)" for x in factors)

"""The fausett style at the layer level: Fausett's index form for a layer net, in the layer
handout's symbols (Nielsen's a, z, w, b, C, η).

The lecture's unit kinds become layers: k runs over the output layer L, j over the last hidden
layer L − 1, i over the layer that feeds it (the inputs, a^0_i = x_i, for one hidden layer).
Fausett's W_ij (from unit i to unit j) is w^l_{ji} here, receiving unit first, and his bias
W_0j is b^l_j. The δ's are the derivation's own (:mod:`derivation.layer`), renamed to these
letters; the weight and bias changes are −η times its BP4 and BP3 (the tests compare each with
an independent oracle: ``sympy.diff`` of the loss for δ^L_k, the BP equations for the others).
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import sympy as sp

from symbackprop.derivation.layer import W as weight
from symbackprop.derivation.layer import _rebuilt, a, b, delta, j, k, z
from symbackprop.handout.course import number_latex
from symbackprop.printers.layer_latex import tex
from symbackprop.rules import registry as rules
from symbackprop.rules.layer_losses import SOFTMAX

i, m = sp.symbols("i m", integer=True, positive=True)
eta = sp.Symbol("eta")


def _swap(expr: sp.Expr, mapping: dict) -> sp.Expr:
    """``expr`` with its index letters renamed at once (``{j: k, k: j}`` swaps them), sums and
    products kept in the order written."""
    return _rebuilt(expr, mapping.get)


def output_delta(d) -> sp.Expr:
    """δ^L_k, specialised to the net's output activation and loss."""
    rhs = d.deltas[0].specialised.rhs
    return _swap(_swap(rhs, {k: m}), {j: k})


def hidden_delta(d) -> sp.Expr | None:
    """δ^{L−1}_j = f'(z_j) Σ_k w_kj δ_k, specialised (None without a hidden layer)."""
    return d.deltas[1].specialised.rhs if len(d.deltas) > 1 else None


def _bp4(d, l: int) -> sp.Expr:
    return next(g.index.rhs for g in d.gradients if g.label == "BP4" and g.layer == l)


def weight_changes(d) -> list[tuple[sp.Expr, sp.Expr]]:
    """(parameter, Δ) for the output layer's w^L_{kj}, b^L_k and, with a hidden layer, its
    w^{L−1}_{ji}, b^{L−1}_j: −η times BP4 and BP3 in these letters (+η for a log-likelihood)."""
    L = d.net.depth
    sign = 1 if d.output.maximize else -1
    out = [
        (weight(L)[k, j], rules._mul(sign, eta, _swap(_bp4(d, L), {j: k, k: j}))),
        (b(L)[k], rules._mul(sign, eta, delta(L)[k])),
    ]
    if L > 1:
        out.append((weight(L - 1)[j, i], rules._mul(sign, eta, _swap(_bp4(d, L - 1), {k: i}))))
        out.append((b(L - 1)[j], rules._mul(sign, eta, delta(L - 1)[j])))
    return out


def softmax_jacobian_expr(L: int) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(a^L_k, z^L_j, ∂a^L_k/∂z^L_j = a^L_k (δ_kj − a^L_j))."""
    kron = sp.KroneckerDelta(k, j, evaluate=False)
    return a(L)[k], z(L)[j], sp.Mul(a(L)[k], rules._sub(kron, a(L)[j]), evaluate=False)


def softmax_jacobian(d) -> str:
    if d.net.activations[-1] != SOFTMAX:
        return ""
    top, bottom, jac = softmax_jacobian_expr(d.net.depth)
    return rf"\frac{{\partial {tex(top)}}}{{\partial {tex(bottom)}}} = {tex(jac)}"


def _at(parts, time: str) -> str:
    return r"\, ".join(f"{tex(p)}({time})" for p in parts)


def learning(inp) -> dict:
    d, net, c = inp.derivation, inp.network, inp.context
    L = net.depth
    rate = r"\eta"
    sign = "+" if d.output.maximize else "-"
    w = tex(weight(L)[k, j])
    parts = (delta(L)[k], a(L - 1)[j])
    mean = net.reduction == "mean"
    scale = r"\frac{1}{N}" if mean else ""
    rows = c["rows"]
    if c["synthetic"]:
        text = (
            f"This network's specification has no data: the training run below uses a fixed "
            f"synthetic set of {rows} examples"
        )
    else:
        text = f"This network's specification gives {rows} examples"
    if c["batch"]:
        text += (
            f", in mini-batches of $n = {c['batch']}$ examples drawn afresh every epoch: between "
            f"the two modes, one update per mini-batch, by the gradients of its {c['batch']} "
            f"examples {'averaged' if mean else 'added'}."
        )
    else:
        text += ", and trains in batch mode: one update per pass over all of them."
    return dict(
        error=tex(rules._sub(a(L)[k], sp.IndexedBase("y")[k])),
        k="k",
        loss=(("C", f"= {tex(d.cost)}"),),
        loss_symbol="C",
        maximize=d.output.maximize,
        direction="ascent" if d.output.maximize else "descent",
        rate=rate,
        mean=mean,
        weight=w,
        gradient=f"{tex(parts[0])} {tex(parts[1])}",
        online=rf"\Delta {w} = {sign}{rate}\, {_at(parts, 'p')}",
        batch=rf"\Delta {w} = {sign}{rate}\,{scale} \sum_{{p=1}}^{{N}} {_at(parts, 'p')}",
        examples_text=text,
    )


def _chain(*pairs) -> str:
    return " ".join(rf"\frac{{\partial {tex(u)}}}{{\partial {tex(v)}}}" for u, v in pairs)


def rules_section(inp) -> dict:
    d, net = inp.derivation, inp.network
    L = net.depth
    C = sp.Symbol("C")
    sizes = net.sizes
    softmax = net.activations[-1] == SOFTMAX
    changes = weight_changes(d)
    w_out = weight(L)[k, j]
    out_lines = [(rf"\frac{{\partial C}}{{\partial {tex(w_out)}}}", "")]
    if softmax:
        out_lines[0] = (out_lines[0][0], "= " + _chain((C, z(L)[k]), (z(L)[k], w_out)))
    else:
        out_lines[0] = (
            out_lines[0][0],
            "= " + _chain((C, a(L)[k]), (a(L)[k], z(L)[k]), (z(L)[k], w_out)),
        )
    out_lines.append(("", "= " + _factor(output_delta(d)) + " " + tex(a(L - 1)[j])))
    out_lines.append(("", "= " + tex(delta(L)[k]) + " " + tex(a(L - 1)[j])))
    hidden = []
    hid = hidden_delta(d)
    if hid is not None:
        w_in = weight(L - 1)[j, i]
        path = _chain(
            (C, z(L)[k]), (z(L)[k], a(L - 1)[j]), (a(L - 1)[j], z(L - 1)[j]), (z(L - 1)[j], w_in)
        )
        hidden = [
            (rf"\frac{{\partial C}}{{\partial {tex(w_in)}}}", rf"= \sum_{{k}} {path}"),
            ("", "= " + _factor(hid) + " " + tex(a(L - 2)[i])),
            ("", "= " + tex(delta(L - 1)[j]) + " " + tex(a(L - 2)[i])),
        ]
    algorithm = [(tex(delta(L)[k]), "= " + tex(output_delta(d)))]
    if hid is not None:
        algorithm.append((tex(delta(L - 1)[j]), "= " + tex(hid)))
    for param, change in changes:
        algorithm.append((rf"\Delta {tex(param)}", "= " + tex(change)))
    ranges = [("$k$", f"the output units of layer {L}", f"$k = 1, \\dots, {sizes[L]}$")]
    if hid is not None:
        ranges.append(
            ("$j$", f"the hidden units of layer {L - 1}", f"$j = 1, \\dots, {sizes[L - 1]}$")
        )
        words = "the inputs" if L == 2 else f"the units of layer {L - 2}"
        ranges.append(("$i$", words, f"$i = 1, \\dots, {sizes[L - 2]}$"))
    else:
        ranges.append(("$j$", "the inputs", f"$j = 1, \\dots, {sizes[0]}$"))
    sign = "" if d.output.maximize else "-"
    letter = "j" if hid is not None else "k"
    layer = L - 1 if hid is not None else L
    bias = dict(
        per_unit=True,
        name=tex(b(layer)[j if hid is not None else k]),
        change=rf"\Delta {tex(b(layer)[sp.Symbol(letter)])} = {sign}\eta\, "
        + tex(delta(layer)[sp.Symbol(letter)]),
        shared="",
        none=False,
    )
    note = (
        r"In Fausett's names the weight from unit $i$ to unit $j$ is $W_{ij}$; the layer "
        r"handout's $w^l_{ji}$ names the same weight receiving unit first, and Fausett's bias "
        r"$W_{0j}$ is $b^l_j$. "
        + (
            r"The output layer's softmax and its loss give the simple $\delta^L_k$ above "
            r"(one-hot targets). "
            if softmax and d.output.fused
            else ""
        )
        + (
            rf"The weights' changes include the gradient $\lambda w$ of the L2 term "
            rf"($\lambda = {number_latex(net.weight_decay)}$). "
            if net.weight_decay
            else ""
        )
    )
    return dict(
        available=True,
        intro=(
            r"The rules follow from the chain rule, in the layer handout's names: "
            rf"${tex(z(L)[k])}$ is the net input of unit $k$ of the output layer and "
            rf"${tex(a(L)[k])}$ its output, ${tex(w_out)}$ the weight from unit $j$ of layer "
            rf"{L - 1} to unit $k$ of layer {L}."
        ),
        maximize=d.output.maximize,
        k="k",
        j="j",
        out_weight=tex(w_out),
        in_weight=tex(weight(L - 1)[j, i]) if hid is not None else "",
        source_j=tex(a(L - 2)[i]) if hid is not None else "",
        source_i=tex(a(0)[i]),
        output=out_lines,
        hidden=hidden,
        algorithm=algorithm,
        ranges=ranges,
        delta_k=tex(delta(L)[k]),
        delta_j=tex(delta(L - 1)[j]) if hid is not None else "",
        bias=bias,
        inputs_named="",
        deep=L > 2,
        layer_note=note,
        matched=d.output.fused,
    )


def _factor(expr: sp.Expr) -> str:
    text = tex(expr)
    return rf"\left({text}\right)" if expr.is_Add else text


def variations(inp) -> dict:
    from symbackprop.handout.styles.fausett import usual_text

    d, net = inp.derivation, inp.network
    L = net.depth
    spec = net.optimizer
    given = {spec.name: dict(spec.settings)}
    mu = given.get("momentum", {}).get("momentum", 0.9)
    eps = given.get("adagrad", {}).get("eps", 1e-10)
    usual = [name for name in ("momentum", "adagrad") if name not in given]
    l = L - 1 if L > 1 else L
    src = a(l - 1)[i]
    parts = (delta(l)[j], src)
    return dict(
        optimizers=[],
        usual=usual_text(usual, {"momentum": {"momentum": mu}, "adagrad": {"eps": eps}}, False),
        mu=number_latex(mu),
        eps=number_latex(eps),
        rate=r"\eta",
        sign="" if d.output.maximize else "-",
        weight=tex(weight(l)[j, i]),
        g_next=_at(parts, "t+1"),
        g_s=_at(parts, "s"),
        g_t=_at(parts, "t"),
        maximize=d.output.maximize,
        has_numbers=False,
    )

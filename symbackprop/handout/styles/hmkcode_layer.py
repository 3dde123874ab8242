"""The hmkcode style at the layer level: the forward pass and one update of each layer in matrix
form on the first example, and the new prediction after that update.

hmkcode writes a layer as a row vector times a matrix with a row per input and a column per unit,
``[i1 i2] · [[w1 w3], [w2 w4]] = [h1 h2]``: in Nielsen's symbols ``(z^l)^T = (a^{l-1})^T
(W^l)^T + (b^l)^T``, the lecture's matrix being ``(W^l)^T``. Its update is that matrix less the
learning rate times the outer product of the layer's inputs (a column) and its δ's (a row),
``(W^l)^T − η a^{l-1} (δ^l)^T``.

The numbers are those of the layer handout's worked example (:mod:`derivation.layer_values`, 30
digits: the example, its parameters, z, a and δ of each layer, the optimizer's step). The outer
products, the plain gradient step and the new forward pass are computed here from them (never
copied from the example's gradients or new parameters, which the tests compare them with).
Arrays too large for a page show their first and last entries, and each block says which.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import mpmath

from symbackprop.handout.styles import SectionInput
from symbackprop.printers.layer_latex import activation_latex, matrix_latex, number
from symbackprop.rules.layer_losses import SOFTMAX


def _example(inp: SectionInput):
    worked = inp.context.get("worked") or {}
    return worked.get("example") if worked.get("available") else None


def _unavailable(inp: SectionInput) -> dict:
    worked = inp.context.get("worked") or {}
    reason = worked.get("reason") or "the worked example could not be made"
    return dict(available=False, reason=reason)


class _Lines:
    """Display lines, and a note of the entries shown where arrays were cut."""

    def __init__(self):
        self.lines: list[tuple[str, str]] = []
        self.cut: list[str] = []

    def array(self, values, what: str) -> str:
        tex, span = matrix_latex(values)
        if span:
            self.cut.append(f"${what}$ is ${len(values)} \\times {len(values[0])}$")
        return tex

    def row(self, values, what: str) -> str:
        return self.array([list(values)], what)

    def col(self, values, what: str) -> str:
        return self.array([[v] for v in values], what)

    def note(self) -> str:
        if not self.cut:
            return ""
        return (
            "Long vectors and matrices show their first entries and their last only: "
            + "; ".join(dict.fromkeys(self.cut))
            + "."
        )


def transpose(matrix) -> list[list]:
    return [list(col) for col in zip(*matrix)]


def outer(column, row) -> list[list]:
    """The outer product ``column row^T`` (entry j, k: column_j · row_k)."""
    return [[x * d for d in row] for x in column]


def _inputs(ex, l: int):
    return ex.x if l == 1 else ex.layers[l - 2].a


def _f(activation: str) -> str:
    return r"\operatorname{softmax}" if activation == SOFTMAX else activation_latex(activation)


def forward_lines(out: _Lines, ex, layers=None, acts=None, pres=None, new=False) -> None:
    """The row form of each layer's forward pass (``layers``: the parameters to use, default the
    example's; ``acts``/``pres``: the values they give, default the example's)."""
    sup = r"_{\text{new}}" if new else ""
    for k, lay in enumerate(ex.layers):
        l = lay.layer
        W = layers[k][0] if layers else lay.W
        b = layers[k][1] if layers else lay.b
        a_prev = ex.x if l == 1 else (acts[l - 1] if acts else ex.layers[l - 2].a)
        z = pres[l] if pres else lay.z
        a = acts[l] if acts else lay.a
        out.lines.append(
            (
                f"(z^{{{l}}})^{{T}}",
                f"= (a^{{{l - 1}}})^{{T}} (W^{{{l}}})^{{T}}{sup} + (b^{{{l}}})^{{T}}{sup}",
            )
        )
        out.lines.append(
            (
                "",
                "= " + out.row(a_prev, f"(a^{{{l - 1}}})^{{T}}") + r" \cdot",
            )
        )
        out.lines.append(("", r"\quad " + out.array(transpose(W), f"(W^{{{l}}})^{{T}}{sup}")))
        out.lines.append(("", r"\quad + " + out.row(b, f"(b^{{{l}}})^{{T}}{sup}")))
        out.lines.append(("", "= " + out.row(z, f"(z^{{{l}}})^{{T}}")))
        out.lines.append(
            (
                f"(a^{{{l}}})^{{T}}",
                f"= {_f(lay.activation)}\\bigl((z^{{{l}}})^{{T}}\\bigr) = "
                + out.row(a, f"(a^{{{l}}})^{{T}}"),
            )
        )


def _shapes(net) -> str:
    return "; ".join(
        rf"$(W^{{{l}}})^{{T}}$ is ${net.sizes[l - 1]} \times {net.sizes[l]}$"
        for l in range(1, len(net.sizes))
    )


def forward_section(inp: SectionInput) -> dict:
    ex = _example(inp)
    if ex is None:
        return _unavailable(inp)
    out = _Lines()
    with mpmath.workdps(30):
        forward_lines(out, ex)
    cost = r"\log L" if ex.maximize else "C"
    return dict(
        available=True,
        intro=inp.context["worked"]["intro"],
        shapes=_shapes(inp.network),
        lines=out.lines,
        note=out.note(),
        cost=cost,
        value=number(ex.cost),
    )


def gradient_step(ex, net) -> list[tuple[list[list], list[list], list]]:
    """Each layer's gradient of ``W^T`` and its ``(W^T)`` and ``b`` after one plain gradient
    step, computed from the
    example's inputs and δ's: ``(W^l)^T − η (a^{l-1} (δ^l)^T ± λ (W^l)^T)``, ``b^l − η δ^l``
    (for a log-likelihood, ascent: the signs flip)."""
    sign = 1 if ex.maximize else -1
    lam = mpmath.mpf(net.weight_decay)
    eta = mpmath.mpf(net.learning_rate)
    steps = []
    for lay in ex.layers:
        grad = outer(_inputs(ex, lay.layer), lay.delta)
        Wt = transpose(lay.W)
        if lam:  # the L2 term of a batch of one (n = 1): −λ w for a log-likelihood
            grad = [[g - sign * lam * w for g, w in zip(gr, wr)] for gr, wr in zip(grad, Wt)]
        new = [[w + sign * eta * g for w, g in zip(wr, gr)] for wr, gr in zip(Wt, grad)]
        new_b = [bj + sign * eta * dj for bj, dj in zip(lay.b, lay.delta)]
        steps.append((grad, new, new_b))
    return steps


def updates_section(inp: SectionInput) -> dict:
    ex = _example(inp)
    if ex is None:
        return _unavailable(inp)
    net = inp.network
    sgd = net.optimizer.name == "sgd"
    op = "+" if ex.maximize else "-"
    decay = ""
    if net.weight_decay:
        decay = (" - " if ex.maximize else " + ") + r"\lambda (W^{%d})^{T}"
    blocks = []
    with mpmath.workdps(30):
        eta = mpmath.mpf(net.learning_rate)
        steps = gradient_step(ex, net)
        for lay, (grad, new_Wt, new_b) in reversed(list(zip(ex.layers, steps))):
            l = lay.layer
            out = _Lines()
            a_prev = _inputs(ex, l)
            product = outer(a_prev, lay.delta)
            term = rf"a^{{{l - 1}}} (\delta^{{{l}}})^{{T}}" + (decay % l if decay else "")
            rule = rf"(W^{{{l}}})^{{T}} {op} \eta \bigl({term}\bigr)"
            out.lines.append(
                (
                    rf"a^{{{l - 1}}} (\delta^{{{l}}})^{{T}}",
                    "= "
                    + out.col(a_prev, f"a^{{{l - 1}}}")
                    + " "
                    + out.row(lay.delta, rf"(\delta^{{{l}}})^{{T}}"),
                )
            )
            out.lines.append(
                ("", "= " + out.array(product, rf"a^{{{l - 1}}} (\delta^{{{l}}})^{{T}}"))
            )
            if sgd:
                what = f"(W^{{{l}}})^{{T}}"
                out.lines.append((f"(W^{{{l}}})^{{T}}_{{\\text{{new}}}}", f"= {rule}"))
                out.lines.append(("", "= " + out.array(transpose(lay.W), what)))
                scaled = [[eta * g for g in row] for row in grad]
                out.lines.append(
                    ("", rf"\quad {op} " + out.array(scaled, rf"\eta \bigl({term}\bigr)"))
                )
                out.lines.append(
                    ("", "= " + out.array(new_Wt, f"(W^{{{l}}})^{{T}}_{{\\text{{new}}}}"))
                )
                out.lines.append(
                    (
                        f"(b^{{{l}}})^{{T}}_{{\\text{{new}}}}",
                        rf"= (b^{{{l}}})^{{T}} {op} \eta (\delta^{{{l}}})^{{T}} = "
                        + out.row(new_b, f"(b^{{{l}}})^{{T}}_{{\\text{{new}}}}"),
                    )
                )
            else:
                out.lines.append(
                    (
                        f"(W^{{{l}}})^{{T}}_{{\\text{{new}}}}",
                        "= "
                        + out.array(transpose(lay.new_W), f"(W^{{{l}}})^{{T}}_{{\\text{{new}}}}"),
                    )
                )
                out.lines.append(
                    (
                        f"(b^{{{l}}})^{{T}}_{{\\text{{new}}}}",
                        "= " + out.row(lay.new_b, f"(b^{{{l}}})^{{T}}_{{\\text{{new}}}}"),
                    )
                )
            blocks.append(
                dict(
                    title=f"Layer {l}" + (" (output)" if l == net.depth else ""),
                    lines=out.lines,
                    note=out.note(),
                )
            )
    from symbackprop.handout.unit import escape_text
    from symbackprop.rules.optimizers import optimizer

    return dict(
        available=True,
        blocks=blocks,
        sgd=sgd,
        rule=escape_text(optimizer(net.optimizer.name).title),
        rate=number(net.learning_rate),
        ascent=ex.maximize,
        decay=bool(net.weight_decay),
        lam=number(net.weight_decay) if net.weight_decay else "",
    )


def new_values(d, ex):
    """z and a of every layer at the example's new parameters (the optimizer's step), by the
    derivation's own forward rules: ``(pres, acts)`` indexed by layer."""
    from symbackprop.derivation.layer_values import bp_values

    Ws = [lay.new_W for lay in ex.layers]
    bs = [lay.new_b for lay in ex.layers]
    pres, acts, _ = bp_values(d, Ws, bs, ex.x, ex.y)
    return pres, acts


def new_prediction_section(inp: SectionInput) -> dict:
    ex = _example(inp)
    if ex is None:
        return _unavailable(inp)
    out = _Lines()
    with mpmath.workdps(30):
        pres, acts = new_values(inp.derivation, ex)
        params = [(lay.new_W, lay.new_b) for lay in ex.layers]
        forward_lines(out, ex, layers=params, acts=acts, pres=pres, new=True)
        L = inp.network.depth
        compare = [
            (
                f"(a^{{{L}}})^{{T}}_{{\\text{{before}}}}",
                "= " + out.row(ex.layers[-1].a, f"(a^{{{L}}})^{{T}}"),
            ),
            (
                f"(a^{{{L}}})^{{T}}_{{\\text{{after}}}}",
                "= " + out.row(acts[L], f"(a^{{{L}}})^{{T}}"),
            ),
            ("y^{T}", "= " + out.row(ex.y, "y^{T}")),
        ]
    better = ex.cost_after > ex.cost if ex.maximize else ex.cost_after < ex.cost
    return dict(
        available=True,
        lines=out.lines,
        compare=compare,
        note=out.note(),
        cost=r"\log L" if ex.maximize else "C",
        before=number(ex.cost),
        after=number(ex.cost_after),
        better=better,
        maximize=ex.maximize,
        decay=bool(inp.network.weight_decay),
    )

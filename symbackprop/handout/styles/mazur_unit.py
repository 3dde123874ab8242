"""The mazur style's own sections at the unit level, after the Hull tutorial (seed 000).

- :func:`start`: the network with its starting values, as the tutorial's Figure 1 (weights on
  the connections, biases, inputs and targets), and the same values in tables;
- :func:`algorithm`: the tutorial's Algorithm 1, as a framed box in this net's names: forward
  pass, error, output δ's, hidden δ's, gradients, updates;
- :func:`error`: the total error split per output (``E_{o1}``, ``E_{o2}``), each worked with the
  numbers, then summed;
- :func:`softmax`: what a softmax output layer would change, for a net whose outputs are not a
  softmax: the probabilities with this example's numbers and the simplified output δ, derived
  here with ``sympy.diff`` and checked.

Everything is printed here (the writer's printers, the derivation's values); the templates
``sections/mazur_*.tex.jinja`` only lay it out. No value an exercise asks for is printed: the
writer's numbers print those as their symbols.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from symbackprop.derivation.evaluate import format_number
from symbackprop.handout.styles import SectionInput
from symbackprop.printers.latex_lines import BREAK, LINE_EM, pack, strip, width
from symbackprop.printers.printing import partial_latex
from symbackprop.rules.registry import _mul, _sub, activation_of

BOX_EM = LINE_EM - 5.0  # a line inside the framed box's list
TABLE_EM = LINE_EM  # a row of the starting-values table
TABLE_ROWS = 12  # rows per tabular, so that a long table may break between pages
TITLE_CHAR_EM = 0.5  # a character of the tables' titles (roman text), estimated


# --- the total error, per output -----------------------------------------------------------


@dataclass(frozen=True)
class OutputTerm:
    """One output's share of the loss, ``symbol = expr``: ``E_{o1}``."""

    symbol: sp.Symbol
    expr: sp.Expr
    output: sp.Symbol


def _suffix(net, output: sp.Symbol) -> str:
    """The name part that says which output: the one the output's δ carries (``_o1``)."""
    try:
        unit = net.node(output).unit
    except KeyError:
        unit = None
    if unit is not None:
        name = net.notation.delta(unit)
        if name.startswith("delta_"):
            return name[len("delta") :]
    return "_" + (unit or output.name)


def output_terms(net) -> list[OutputTerm]:
    """The loss as a sum of one term per output, each named in the notation (``E_o1``); empty
    when the loss is not such a sum (one output, or a term using several outputs)."""
    expr = net.node(net.loss).expr
    outputs = list(net.outputs)
    if len(outputs) < 2:
        return []
    parts = list(expr.args) if expr.is_Add else [expr]
    groups: dict[sp.Symbol, list[sp.Expr]] = {}
    for part in parts:
        used = [o for o in outputs if o in part.free_symbols]
        if len(used) != 1:
            return []
        groups.setdefault(used[0], []).append(part)
    if set(groups) != set(outputs):
        return []
    base = net.loss.name.partition("_")[0]
    terms = []
    for out in outputs:
        pieces = groups[out]
        term = pieces[0] if len(pieces) == 1 else sp.Add(*pieces, evaluate=False)
        terms.append(OutputTerm(sp.Symbol(base + _suffix(net, out)), term, out))
    return terms


def term_values(values: dict, terms: list[OutputTerm]) -> list[sp.Float]:
    """Each term at the example (``values``: the derivation's, :class:`Worked`; 40 digits)."""
    return [sp.Float(t.expr.xreplace(values).doit().evalf(40), 40) for t in terms]


def error(inp: SectionInput) -> dict:
    """The total error as the tutorial writes it: the sum of the outputs' terms, each term
    with its numbers and value, then the sum of the values. Without a split (one output):
    ``split`` is False and the template shows the common total-error section."""
    w, net = inp.writer, inp.network
    terms = output_terms(net)
    if not terms:
        return dict(split=False)
    loss = w.s(net.loss)
    names = [w.s(t.symbol) for t in terms]
    rows = [pack([(loss, "= " + (BREAK + " + ").join(names))])]
    values = term_values(w.worked.values, terms) if w.worked is not None else []
    for k, term in enumerate(terms):
        line = "= " + w.s(term.expr)
        if values:
            line += BREAK + " = " + w.n(term.expr) + BREAK + " = " + _number(values[k], inp)
        rows.append(pack([(names[k], line)]))
    if values:
        total = (BREAK + " + ").join(_number(v, inp) for v in values)
        rows.append(pack([(loss, "= " + total + BREAK + " = " + w.values[net.loss])]))
    return dict(
        split=True,
        rows=[row for block in rows for row in block],
        names=[strip(n) for n in names],
        loss=strip(loss),
        count=len(terms),
        maximize=net.maximize,
    )


def _number(value, inp: SectionInput) -> str:
    text = format_number(value, inp.digits)
    return f"\\left({text}\\right)" if text.startswith("-") else text


# --- the starting values -------------------------------------------------------------------


def _groups(inp: SectionInput) -> list[tuple[str, list[sp.Symbol]]]:
    """The given values in the tutorial's order: inputs, targets, then per layer its weights
    and biases (a graph-form net: its parameters), and the learning rate."""
    net = inp.network
    groups: list[tuple[str, list[sp.Symbol]]] = [
        ("Inputs", list(net.inputs)),
        ("Targets", list(net.targets)),
    ]
    layout = net.layout
    if layout is None:
        groups.append(("Parameters", list(net.params)))
    else:
        hidden = len(layout.columns) - 2
        by_name = {p.name: p for p in net.params}
        for col in range(1, len(layout.columns)):
            units = set(layout.columns[col])
            weights = [by_name[p] for src, dst, p in layout.edges if dst in units]
            biases = [by_name[b] for b, fed in layout.biases if set(fed) <= units]
            if col == len(layout.columns) - 1:
                where = "the output layer"
            elif hidden == 1:
                where = "the hidden layer"
            else:
                where = f"hidden layer {col}"
            groups.append((f"Weights into {where}", weights))
            groups.append((f"Biases of {where}", biases))
    groups.append(("Learning rate", [net.learning_rate]))
    return [(title, syms) for title, syms in groups if syms]


def start_tables(inp: SectionInput) -> list[dict]:
    """The starting values as tables: a row per group (its title, then ``name = value`` cells,
    as many to a row as fit the line, at most 4; a long group continues on more rows), cut into
    tables of :data:`TABLE_ROWS` rows so that a long one may break between pages."""
    w, net = inp.writer, inp.network
    groups = [
        (title, [f"{w.inline(s)} = {format_number(net.value_map[s], inp.digits)}" for s in syms])
        for title, syms in _groups(inp)
    ]
    widest = max(width(c) for _, cells in groups for c in cells) + 2.0  # and the column gap
    title_em = max(TITLE_CHAR_EM * len(title) for title, _ in groups) + 2.0
    per_row = max(1, min(4, int((TABLE_EM - title_em) // widest)))
    rows = []
    for title, cells in groups:
        for k in range(0, len(cells), per_row):
            part = cells[k : k + per_row]
            rows.append(
                dict(title=title if k == 0 else "", cells=part + [""] * (per_row - len(part)))
            )
    return [
        dict(columns=per_row, rows=rows[k : k + TABLE_ROWS])
        for k in range(0, len(rows), TABLE_ROWS)
    ]


def numeric_figure(inp: SectionInput):
    """The network drawn with its starting values (:func:`figure.build_figure` with values)."""
    from symbackprop.handout.figure import build_figure

    net = inp.network
    values = {s.name: format_number(v, inp.digits) for s, v in net.value_map.items()}
    return build_figure(net, values)


def _layer_names(inp: SectionInput, figure) -> str:
    """The layers in words, named as in the figure: ``inputs $i_{1}$, $i_{2}$, ...``."""
    layout = inp.network.layout
    if layout is None or figure is None:
        return ""
    label = {n.name: n.label for n in figure.nodes if n.kind in ("input", "unit")}
    parts = []
    last = len(layout.columns) - 1
    for col, column in enumerate(layout.columns):
        names = _listing([f"${label[u]}$" for u in column])
        if col == 0:
            what = "input" if len(column) == 1 else "inputs"
        elif col == last:
            what = "output unit" if len(column) == 1 else "output units"
        else:
            what = "hidden unit" if len(column) == 1 else "hidden units"
            if last > 2:
                what += f" in layer {col}"
        parts.append(f"{len(column)} {what} {names}")
    return _listing(parts)


def _listing(items: list[str]) -> str:
    if len(items) > 6:
        items = items[:3] + [r"\dots"] + items[-1:]
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def start(inp: SectionInput) -> dict:
    """The network and its starting values: a sentence naming its layers, the figure with the
    numbers on it (the common figure when the net has no values), and the tables."""
    has_values = inp.writer.worked is not None
    figure = numeric_figure(inp) if has_values else inp.context["figure"]
    if has_values and figure is not None and not figure.labelled:
        figure = inp.context["figure"]  # too many weights to write on the edges
    return dict(
        layers=_layer_names(inp, figure),
        figure=figure,
        numbers=has_values and figure is not None and figure.labelled,
        tables=start_tables(inp) if has_values else [],
    )


# --- the algorithm box ---------------------------------------------------------------------


def _first_units(inp: SectionInput):
    """The first δ of each layer, output layer first, as the writer groups them."""
    w, d = inp.writer, inp.derivation
    groups: dict[str, list] = {}
    for delta in d.deltas:
        groups.setdefault(w.layer_of(w.net.node(delta.of).unit), []).append(delta)
    return [deltas[0] for deltas in groups.values()], [
        w.is_output(deltas) for deltas in groups.values()
    ]


def algorithm(inp: SectionInput) -> dict:
    """The tutorial's Algorithm 1 for this net: each step a sentence and, where it has one,
    the formula of its first unit in this net's names (the first units are worked in the text,
    never exercises)."""
    w, d, net = inp.writer, inp.derivation, inp.network
    loss = w.inline(net.loss)
    steps = []

    forward = d.forward[:-1]
    first = [forward[0]]
    unit = net.node(forward[0].symbol).unit
    if unit is not None:
        first += [eq for eq in forward[1:] if net.node(eq.symbol).unit == unit]
    outputs = _listing([f"${w.inline(o)}$" for o in net.outputs])
    lines = [(w.s(eq.symbol), "= " + w.s(eq.expr)) for eq in first]
    steps.append(
        dict(
            title="Forward pass",
            text="From the inputs to the outputs, each unit's net input and output"
            + (", the first of them:" if len(forward) > len(first) else ":"),
            lines=pack(lines, BOX_EM),
            after=f"and so on, up to {outputs}.",
        )
    )

    terms = output_terms(net)
    if terms:
        total = (BREAK + " + ").join(w.s(t.symbol) for t in terms)
        lines = [(w.s(net.loss), "= " + total)]
        lines.append((w.s(terms[0].symbol), "= " + w.s(terms[0].expr)))
        after = "and likewise for each output."
    else:
        lines = [(w.s(net.loss), "= " + w.s(net.node(net.loss).expr))]
        after = ""
    what = "log-likelihood" if net.maximize else "error"
    steps.append(
        dict(
            title="Error",
            text=f"The {what} of the outputs against the targets:",
            lines=pack(lines, BOX_EM),
            after=after,
        )
    )

    firsts, is_output = _first_units(inp)
    for delta, output in zip(firsts, is_output):
        if output:
            title, text = "Output deltas", (
                f"For each output unit, $\\delta = \\partial {loss}/\\partial$ its net input:"
            )
        elif title_seen(steps, "Hidden deltas"):
            continue
        else:
            title, text = "Hidden deltas", (
                "Backwards, layer by layer: each hidden unit's $\\delta$ sums the "
                "$\\delta$'s of the units it feeds, times the weights to them:"
            )
        line = partial_latex(net.loss, delta.of, w.sym) + " = " + w.s(delta.expr)
        steps.append(
            dict(
                title=title,
                text=text,
                lines=pack([(w.s(delta.symbol), "= " + line)], BOX_EM),
                after="and likewise for the others.",
            )
        )

    grad = next(
        (g for g in d.gradients if any(t.delta == firsts[0].symbol for t in g.terms)),
        d.gradients[0],
    )
    gsym = w.gradient_symbol(grad.param)
    steps.append(
        dict(
            title="Gradients",
            text="Each parameter's gradient is the $\\delta$ of the unit it leads to, times "
            "what it multiplies there (summed over the units a shared parameter feeds):",
            lines=pack([(w.s(gsym), "= " + w.s(grad.expr))], BOX_EM),
            after="",
        )
    )

    u = d.updates[0]
    rate = w.inline(net.learning_rate)
    lines = w.update_lines(u, numbers=False)
    direction = "ascent" if net.maximize else "descent"
    steps.append(
        dict(
            title="Updates",
            text=f"Every weight and bias, by gradient {direction} with learning rate ${rate}$:",
            lines=pack(lines, BOX_EM),
            after="",
        )
    )
    intro = (
        f"Training repeats, for each example, a forward pass, the {what} and a backward pass "
        "that gives every weight's gradient; then it updates the weights. The steps for this "
        "network, each with the formula of its first unit (the sections that follow work "
        + ("them with the numbers):" if w.worked is not None else "them out for every unit):")
    )
    return dict(steps=steps, what=what, intro=intro)


def title_seen(steps: list[dict], title: str) -> bool:
    return any(s["title"] == title for s in steps)


# --- the softmax remark --------------------------------------------------------------------


def _pre_of(net, out: sp.Symbol) -> sp.Symbol | None:
    """The net input an output is computed from (``net_{o1}`` for ``out_{o1} = σ(net_{o1})``)."""
    try:
        expr = net.node(out).expr
    except KeyError:
        return None
    if activation_of(expr) is not None and expr.args[0].is_Symbol:
        return expr.args[0]
    return expr if expr.is_Symbol else None


def softmax_delta(pres, targets, k: int, maximize: bool):
    """``∂E/∂z_k`` for softmax outputs ``P_i = e^{z_i}/Σ_j e^{z_j}`` and the cross-entropy
    ``E = −Σ_i t_i ln P_i`` (the multinomial log-likelihood ``Σ_i t_i ln P_i`` when
    ``maximize``), by ``sympy.diff``, and its form for targets summing to 1: ``P_k − t_k``
    (``t_k − P_k``). Raises if the derivative is not that form (each comparison a rational
    function of the exponentials ``u_i = e^{z_i}``, cancelled)."""
    total = sp.Add(*[sp.exp(z) for z in pres])
    probs = [sp.exp(z) / total for z in pres]
    loss = sp.Add(*[t * sp.log(p) for t, p in zip(targets, probs)])
    if not maximize:
        loss = -loss
    derived = sp.diff(loss, pres[k])
    sign = -1 if maximize else 1
    general = sign * (probs[k] * sp.Add(*targets) - targets[k])
    simple = sign * (probs[k] - targets[k])
    us = {z: sp.log(sp.Symbol(f"u{i}", positive=True)) for i, z in enumerate(pres)}

    def zero(expr) -> bool:
        return sp.cancel(expr.subs(us)) == 0

    if not zero(derived - general):
        raise ArithmeticError(f"softmax delta: {derived} is not {general}")
    # with Σ t = 1, i.e. t_k = 1 − Σ_{i≠k} t_i
    one = {targets[k]: 1 - sp.Add(*targets[:k], *targets[k + 1 :])}
    if not zero(general.xreplace(one) - simple.xreplace(one)):
        raise ArithmeticError("softmax delta: the targets' sum does not cancel")
    return derived, simple


@lru_cache(maxsize=None)
def checked_softmax_delta(outputs: int, maximize: bool) -> sp.Expr:
    """:func:`softmax_delta` for the first of ``outputs`` softmax outputs, on generic symbols
    (``z_i``, ``t_i``): derived and checked once per size (the remark prints its form)."""
    pres = list(sp.symbols(f"z1:{outputs + 1}"))
    targets = list(sp.symbols(f"t1:{outputs + 1}"))
    return softmax_delta(pres, targets, 0, maximize)[1]


def softmax(inp: SectionInput) -> dict:
    """The tutorial's softmax remark for a net whose outputs are not a softmax (nothing for one
    output or a softmax output layer, which the backward step explains)."""
    w, net, d = inp.writer, inp.network, inp.derivation
    outputs = list(net.outputs)
    if net.matched is not None and net.matched.activation == "softmax":
        return dict(show=False)
    pres = [_pre_of(net, o) for o in outputs]
    if len(outputs) < 2 or any(p is None for p in pres) or len(net.targets) != len(outputs):
        return dict(show=False)
    deltas = {delta.of: delta for delta in d.deltas}
    if pres[0] not in deltas:
        return dict(show=False)
    targets = list(net.targets)
    checked_softmax_delta(len(outputs), net.maximize)  # the form printed below, checked
    probs = [sp.Symbol("P" + _suffix(net, o)) for o in outputs]
    exps = [sp.exp(z) for z in pres]
    total = sp.Add(*exps, evaluate=False)
    first = sp.Mul(exps[0], sp.Pow(total, -1, evaluate=False), evaluate=False)
    lines = [(w.s(probs[0]), "= " + w.s(first))]
    values = []
    if w.worked is not None:
        env = w.worked.values
        top = [sp.exp(env[z]) for z in pres]
        values = [sp.Float((e / sp.Add(*top)).evalf(40), 40) for e in top]
        lines[0] = (
            lines[0][0],
            lines[0][1] + BREAK + " = " + w.n(first) + BREAK + " = " + _number(values[0], inp),
        )
        for k in range(1, len(outputs)):
            lines.append((w.s(probs[k]), "= " + _number(values[k], inp)))
    delta = deltas[pres[0]]
    loss = net.loss
    k_sum = sp.Add(*[_mul(t, sp.log(p)) for t, p in zip(targets, probs)], evaluate=False)
    new_loss = k_sum if net.maximize else -k_sum
    simple = _sub(targets[0], probs[0]) if net.maximize else _sub(probs[0], targets[0])
    out_sum = " + ".join(w.inline(o) for o in outputs)
    sums_to = ""
    if w.worked is not None:
        sums_to = format_number(sp.Add(*[w.worked.values[o] for o in outputs]), inp.digits)
        if any(o in inp.hidden for o in outputs):
            sums_to = ""  # an exercise's answer is one of the terms
    target_sum = sp.Add(*[net.value_map.get(t, sp.nan) for t in targets])
    return dict(
        show=True,
        linear=activation_of(net.node(outputs[0]).expr) is None,
        out_sum=out_sum,
        sums_to=sums_to,
        probs=pack(lines),
        loss_line=rf"{w.inline(loss)} = {w.inline(new_loss)}",
        delta_line=(
            rf"{w.inline(delta.symbol)} = {partial_latex(loss, pres[0], w.sym)} = "
            + w.inline(simple)
        ),
        now=w.inline(delta.expr),
        targets_sum=w.inline(sp.Add(*targets, evaluate=False)),
        targets_one=bool(target_sum == 1),
        maximize=net.maximize,
    )

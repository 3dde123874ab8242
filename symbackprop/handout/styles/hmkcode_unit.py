"""The hmkcode style at the unit level: the matrix form of the forward pass and of the updates,
and the new prediction (hmkcode, "Backpropagation Step by Step").

The lecture writes a layer as a row vector times a matrix, ``[i1 i2] · [[w1 w3], [w2 w4]] =
[h1 h2]`` (a row of the matrix per input, a column per unit), and each layer's update as the old
matrix less ``a`` times the outer product of the layer's inputs (a column) and its units' δ's (a
row). Here the matrices are read off the net's layout (any layered net: biases added where it
has them, the activation applied where it is not linear) and every number is computed from the
derivation's values (:mod:`derivation.evaluate`): the products and the new matrices are worked
out here, never taken from the scalar updates, so the test can compare the two.

With ``show_solutions`` off, a value or expression an exercise asks for is printed as its
symbol (``\\delta_{h2}``, ``{w_{3}}^{+}``), and so is every product it enters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import sympy as sp

from symbackprop.derivation.evaluate import evaluate, format_number
from symbackprop.handout.styles import SectionInput
from symbackprop.printers.latex_lines import pack, width

SHOWN = 3  # a matrix of up to this many rows and columns is shown whole
HEAD = 2  # a larger one shows its first HEAD rows and columns, then dots
ROW_EM = 34.0  # a display row's right side is filled up to this width (in em, estimated)
SUMMARY_ROWS = 3  # the prediction written out in the weights, when it takes at most this many
SUMMARY_OPS = 80  # … and has at most this many operations
SUMMARY_PARAMS = 12  # the scalar summary of the updates is shown for nets this small
_MATRIX = re.compile(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", re.S)


def em(tex: str) -> float:
    """Estimated width of ``tex`` (math) in em: a bracketed matrix as wide as its columns."""
    total = 0.0
    for m in _MATRIX.finditer(tex):
        rows = [row.split(" & ") for row in m.group(1).split(r" \\ ")]
        cols = max(len(r) for r in rows)
        for k in range(cols):
            total += max(width(r[k]) if k < len(r) else 0 for r in rows) + 0.9
        total += 0.6
    return total + width(_MATRIX.sub("", tex))


SEP = "\u2062"  # where a row may be split between two segments (never reaches the .tex)


def fit_all(lines) -> list[tuple[str, str]]:
    """Every ``(lhs, rhs)`` with its right side split at :data:`SEP` and :func:`fit`."""
    rows = []
    for lhs, rhs in lines:
        rows += fit(lhs, [seg.strip() for seg in rhs.split(SEP)])
    return rows


def fit(lhs: str, segments: list[str]) -> list[tuple[str, str]]:
    """``lhs = segments…`` as align* rows: each row filled with whole segments (``= A``,
    ``- B``, ``\\cdot C``) up to :data:`ROW_EM`, the next continuing on an indented row."""
    rows: list[tuple[str, str]] = []
    current = ""
    for seg in segments:
        if current and em(current + " " + seg) > ROW_EM:
            rows.append((lhs if not rows else "", current))
            current = r"\quad " + seg
        else:
            current = f"{current} {seg}" if current else seg
    rows.append((lhs if not rows else "", current))
    return rows


@dataclass(frozen=True)
class MatrixLayer:
    """One layer as the lecture writes it: ``pre = x · W + b``, ``out = f(pre)``.

    ``inputs`` are the symbols entering the layer (the inputs, or the previous layer's outputs);
    ``W[j][k]`` the weight from input j to unit k (0 where no edge); ``b[k]`` unit k's bias (0
    without one); ``deltas[k]`` the δ of unit k's net input.
    """

    number: int
    units: tuple[str, ...]
    inputs: tuple[sp.Symbol, ...]
    W: tuple[tuple[sp.Expr, ...], ...]  # noqa: N815 - the maths' name
    b: tuple[sp.Expr, ...]
    pre: tuple[sp.Symbol, ...]
    out: tuple[sp.Symbol, ...]
    acts: tuple[sp.Expr, ...]  # each unit's out as a function of its pre (pre itself if linear)
    deltas: tuple[sp.Symbol, ...]
    softmax: bool

    @property
    def linear(self) -> bool:
        return all(o == p for o, p in zip(self.out, self.pre)) or all(
            a == p for a, p in zip(self.acts, self.pre)
        )

    @property
    def has_bias(self) -> bool:
        return any(v != 0 for v in self.b)


def matrix_layers(derivation) -> list[MatrixLayer] | None:
    """The net's layers in matrix form, or None when it has none (a graph-form net) or a unit's
    net input is not ``Σ_j x_j w_jk + b_k`` of its layer's inputs (checked symbolically)."""
    net = derivation.network
    layout = net.layout
    if layout is None or len(layout.columns) < 2:
        return None
    nodes_of: dict[str, list] = {}
    for node in net.nodes:
        if node.unit is not None:
            nodes_of.setdefault(node.unit, []).append(node)
    delta_of = {d.of: d.symbol for d in derivation.deltas}
    weight = {(src, dst): sp.Symbol(p) for src, dst, p in layout.edges}
    bias = {u: sp.Symbol(name) for name, units in layout.biases for u in units}
    outputs = {label: sym for label, sym in zip(layout.columns[0], net.inputs)}
    layers = []
    for number, column in enumerate(layout.columns[1:], start=1):
        previous = layout.columns[number - 1]
        if any(label not in outputs for label in previous) or any(
            u not in nodes_of for u in column
        ):
            return None
        inputs = tuple(outputs[label] for label in previous)
        W = tuple(
            tuple(weight.get((src, dst), sp.Integer(0)) for dst in column) for src in previous
        )
        b = tuple(bias.get(u, sp.Integer(0)) for u in column)
        pre, out, acts, deltas = [], [], [], []
        for k, unit in enumerate(column):
            nodes = nodes_of[unit]
            first, last = nodes[0], nodes[-1]
            expected = sum((x * W[j][k] for j, x in enumerate(inputs)), b[k])
            if sp.expand(first.expr - expected) != 0 or first.symbol not in delta_of:
                return None
            pre.append(first.symbol)
            out.append(last.symbol)
            acts.append(last.expr if last is not first else first.symbol)
            deltas.append(delta_of[first.symbol])
        softmax = any(n.softmax for u in column for n in nodes_of[u])
        layers.append(
            MatrixLayer(
                number,
                tuple(column),
                inputs,
                W,
                b,
                tuple(pre),
                tuple(out),
                tuple(acts),
                tuple(deltas),
                softmax,
            )
        )
        outputs.update(zip(column, out))
    return layers


# --- numbers --------------------------------------------------------------------------------


class _Cells:
    """Prints the cells of the matrices: symbols, current values, and values computed here.

    ``hidden``: what the exercises ask for (symbols of values, and parameters whose new value
    is asked); a cell that depends on one prints symbolically.
    """

    def __init__(self, inp: SectionInput):
        self.w = inp.writer
        self.digits = inp.digits
        self.values = self.w.worked.all if self.w.worked is not None else {}
        self.updated = self.w.worked.updated if self.w.worked is not None else {}
        self.params = set(inp.network.params)
        self.asked = set(inp.hidden)

    def sym(self, expr: sp.Expr) -> str:
        return "0" if expr == 0 else self.w.inline(expr)

    def new_sym(self, param: sp.Expr) -> str:
        return "0" if param == 0 else f"{{{self.w.inline(param)}}}^{{+}}"

    def hides(self, expr: sp.Expr) -> bool:
        """Whether ``expr``'s value would give an answer away (a symbol asked for, other than
        a parameter, whose current value is given)."""
        return any(s in self.asked and s not in self.params for s in expr.free_symbols)

    def value(self, expr: sp.Expr) -> sp.Expr:
        return expr.xreplace(self.values)

    def num(self, expr: sp.Expr) -> str:
        """The value of ``expr`` (a symbol's value, or a product computed here), or its symbol
        when hidden."""
        if expr == 0:
            return "0"
        if self.hides(expr):
            return self.w.inline(expr)
        return format_number(self.value(expr), self.digits)

    def new_value(self, param: sp.Expr, change: sp.Expr) -> sp.Expr | None:
        """``param − change`` computed here (None when hidden)."""
        if param in self.asked or self.hides(change):
            return None
        return self.value(param) - self.value(change)


def bmatrix(rows: list[list[str]]) -> str:
    """A bracketed matrix, cut to its first entries past :data:`SHOWN` rows or columns."""
    shown_rows = _cut(len(rows))
    shown_cols = _cut(len(rows[0]))
    lines = []
    for r in shown_rows:
        if r is None:
            cells = [r"\ddots" if c is None else r"\vdots" for c in shown_cols]
        else:
            cells = [r"\cdots" if c is None else rows[r][c] for c in shown_cols]
        lines.append(" & ".join(cells))
    return r"\begin{bmatrix} " + r" \\ ".join(lines) + r" \end{bmatrix}"


def _cut(count: int) -> list[int | None]:
    return list(range(count)) if count <= SHOWN else [*range(HEAD), None]


def is_wide(layer: MatrixLayer) -> bool:
    return len(layer.inputs) > SHOWN or len(layer.units) > SHOWN


def _row(cells: list[str]) -> str:
    """A row vector; one entry is written bare, as the lecture writes the prediction."""
    return cells[0] if len(cells) == 1 else bmatrix([cells])


def _col(cells: list[str]) -> str:
    return cells[0] if len(cells) == 1 else bmatrix([[c] for c in cells])


def _shape(layer: MatrixLayer) -> str:
    return rf"{len(layer.inputs)} \times {len(layer.units)}"


def _act_row(layer: MatrixLayer, c: _Cells) -> str:
    """``f`` applied to the row of net inputs, in the notation's words."""
    if layer.softmax:
        return r"\operatorname{softmax}\left(" + _row([c.sym(p) for p in layer.pre]) + r"\right)"
    return _row([c.sym(a) for a in layer.acts])


# --- the forward pass -------------------------------------------------------------------------


def forward_lines(layers: list[MatrixLayer], c: _Cells, numbers: bool, point=None) -> list:
    """The align* rows of the forward pass in matrix form, layer by layer: symbols, then the
    numbers (``point``: values to use instead of the example's, for the new prediction)."""
    lines = []
    for layer in layers:
        lhs = _row([c.sym(p) for p in layer.pre])
        name = c.sym if point is None else c.new_sym
        rhs = (
            _row([c.sym(x) for x in layer.inputs])
            + SEP
            + r" \cdot "
            + bmatrix([[name(w) for w in row] for row in layer.W])
        )
        if layer.has_bias:
            rhs += SEP + " + " + _row([name(b) for b in layer.b])
        lines.append((lhs, "= " + rhs))
        if numbers:
            lines += _forward_numbers(layer, c, point)
        if not layer.linear:
            out = _row([c.sym(o) for o in layer.out])
            lines.append((out, "= " + _act_row(layer, c)))
            if numbers:
                lines.append(("", "= " + _row([_at(c, o, point) for o in layer.out])))
    return lines


def _at(c: _Cells, expr, point) -> str:
    if point is None:
        return c.num(expr)
    return format_number(point[expr], c.digits)


def _forward_numbers(layer: MatrixLayer, c: _Cells, point) -> list:
    if point is None:
        weights = [[c.num(w) for w in row] for row in layer.W]
        biases = [c.num(b) for b in layer.b]
    else:  # the new weights: a hidden one (an exercise's answer) stays a symbol
        weights = [[_new(c, w, point) for w in row] for row in layer.W]
        biases = [_new(c, b, point) for b in layer.b]
    rhs = _row([_at(c, x, point) for x in layer.inputs]) + SEP + r" \cdot " + bmatrix(weights)
    if layer.has_bias:
        rhs += SEP + " + " + _row(biases)
    return [("", "= " + rhs), ("", "= " + _row([_at(c, p, point) for p in layer.pre]))]


def _new(c: _Cells, param, point) -> str:
    if param == 0:
        return "0"
    if param in c.asked:
        return c.new_sym(param)
    return format_number(point[param], c.digits)


# --- the updates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerUpdate:
    """A layer's update in matrix form: ``G[j][k] = x_j δ_k`` (= ∂E/∂w_jk), the change
    ``rate · G`` and the new matrix, each entry computed here (None where hidden)."""

    layer: MatrixLayer
    product: tuple[tuple[sp.Expr, ...], ...]  # x_j δ_k, symbolic
    new_W: tuple[tuple[sp.Expr | None, ...], ...]  # noqa: N815
    new_b: tuple[sp.Expr | None, ...]
    lines: tuple[tuple[str, str], ...]


def layer_update(layer: MatrixLayer, c: _Cells, rate: sp.Symbol, sign: int, numbers: bool):
    """``W⁺ = W ∓ rate · x δ`` (outer product) and ``b⁺ = b ∓ rate · δ``, printed and computed.

    ``sign`` is −1 for descent, +1 for ascent (a log-likelihood).
    """
    op = "-" if sign < 0 else "+"
    w = c.w
    product = tuple(tuple(x * d for d in layer.deltas) for x in layer.inputs)
    lhs = bmatrix([[c.new_sym(p) for p in row] for row in layer.W])
    W_sym = bmatrix([[c.sym(p) for p in row] for row in layer.W])
    inputs_col = _col([c.sym(x) for x in layer.inputs])
    single = len(layer.deltas) == 1
    deltas_sym = c.sym(layer.deltas[0]) if single else _row([c.sym(d) for d in layer.deltas])
    r = w.inline(rate)
    outer = f"{r} {deltas_sym} {inputs_col}" if single else f"{r} {inputs_col}{SEP} {deltas_sym}"
    lines = [(lhs, f"= {W_sym}{SEP} {op} {outer}")]
    new_W = tuple(tuple(None for _ in row) for row in layer.W)
    new_b = tuple(None for _ in layer.b)
    if numbers:
        rate_value = c.value(rate)
        change = [
            [rate * p if w_ != 0 else sp.Integer(0) for p, w_ in zip(prow, wrow)]
            for prow, wrow in zip(product, layer.W)
        ]
        new_W = tuple(
            tuple(None if p == 0 else _apply(c, p, ch, sign) for p, ch in zip(wrow, crow))
            for wrow, crow in zip(layer.W, change)
        )
        deltas_num = c.num(layer.deltas[0]) if single else _row([c.num(d) for d in layer.deltas])
        inputs_num = _col([c.num(x) for x in layer.inputs])
        rate_num = format_number(rate_value, c.digits)
        factor = (
            rf"{rate_num} \times {_paren(deltas_num)} {inputs_num}"
            if single
            else rf"{rate_num} \times {inputs_num}{SEP} {deltas_num}"
        )
        W_num = bmatrix([[c.num(p) for p in row] for row in layer.W])
        lines.append(("", f"= {W_num}{SEP} {op} {factor}"))
        lines.append(
            (
                "",
                f"= {W_num}{SEP} {op} "
                + bmatrix(
                    [
                        [
                            _product(c, rate, x, d) if p != 0 else "0"
                            for d, p in zip(layer.deltas, wrow)
                        ]
                        for x, wrow in zip(layer.inputs, layer.W)
                    ]
                ),
            )
        )
        lines.append(
            (
                "",
                "= "
                + bmatrix(
                    [
                        [_print_new(c, p, v) for p, v in zip(wrow, vrow)]
                        for wrow, vrow in zip(layer.W, new_W)
                    ]
                ),
            )
        )
    if layer.has_bias:
        lines += _bias_lines(layer, c, rate, sign, numbers)
        if numbers:
            new_b = tuple(
                None if b == 0 else _apply(c, b, rate * _bias_sum(layer, b), sign) for b in layer.b
            )
    return LayerUpdate(layer, product, new_W, new_b, tuple(lines))


def _paren(text: str) -> str:
    return rf"\left({text}\right)" if text.startswith("-") else text


def _apply(c: _Cells, param, change, sign) -> sp.Expr | None:
    """``param ± change`` computed from the values; None when the new value is an exercise's
    answer (a change that hides an answer is still computed: the parameter's new value is
    given in the scalar updates)."""
    if param in c.asked:
        return None
    return c.value(param) + sign * c.value(change)


def _product(c: _Cells, rate, x, delta) -> str:
    """The cell ``rate · x · δ``: its value, or, when a factor is hidden, the factors in the
    lecture's order (``0.05 \\times h_{2} \\times \\Delta``)."""
    expr = rate * x * delta
    if not c.hides(expr):
        return c.num(expr)
    return r" \times ".join(_paren(c.num(f)) for f in (rate, x, delta))


def _print_new(c: _Cells, param, value) -> str:
    if param == 0:
        return "0"
    if value is None:
        return c.new_sym(param)
    return format_number(value, c.digits)


def _bias_sum(layer: MatrixLayer, bias) -> sp.Expr:
    """The δ's a bias gets its gradient from: its units' (a shared bias sums them)."""
    return sp.Add(*[d for b, d in zip(layer.b, layer.deltas) if b == bias])


def _bias_lines(layer: MatrixLayer, c: _Cells, rate, sign, numbers) -> list:
    op = "-" if sign < 0 else "+"
    r = c.w.inline(rate)
    biases = list(dict.fromkeys(b for b in layer.b if b != 0))
    per_unit = len(biases) == len([b for b in layer.b if b != 0])
    lines = []
    if per_unit and len(biases) > 1:
        row = [c.sym(b) for b in layer.b]
        lhs = _row([c.new_sym(b) for b in layer.b])
        lines.append(
            (lhs, f"= {_row(row)}{SEP} {op} {r} " + _row([c.sym(d) for d in layer.deltas]))
        )
        if numbers:
            changes = [rate * d if b != 0 else sp.Integer(0) for b, d in zip(layer.b, layer.deltas)]
            lines.append(
                (
                    "",
                    f"= {_row([c.num(b) for b in layer.b])}{SEP} {op} "
                    + _row([c.num(x) for x in changes]),
                )
            )
            lines.append(
                (
                    "",
                    "= "
                    + _row(
                        [
                            _print_new(c, b, None if b == 0 else _apply(c, b, ch, sign))
                            for b, ch in zip(layer.b, changes)
                        ]
                    ),
                )
            )
        return lines
    for bias in biases:
        total = _bias_sum(layer, bias)
        lines.append(
            (c.new_sym(bias), f"= {c.sym(bias)} {op} {r} " + _paren_sum(c.sym(total), total))
        )
        if numbers:
            lines.append(("", f"= {c.num(bias)} {op} " + _paren(c.num(rate * total))))
            lines.append(("", "= " + _print_new(c, bias, _apply(c, bias, rate * total, sign))))
    return lines


def _paren_sum(text: str, expr) -> str:
    return rf"\left({text}\right)" if isinstance(expr, sp.Add) else text


# --- the builders -----------------------------------------------------------------------------


def _no_matrix_reason(net) -> str:
    if net.layout is None:
        return "this network is given as a graph, not in layers, so it has no weight matrices"
    return "its units' net inputs are not the weighted sums of one layer's inputs"


def _wide_note(layers: list[MatrixLayer], c: _Cells) -> str:
    wide = [layer for layer in layers if is_wide(layer)]
    if not wide:
        return ""
    shapes = ", ".join(
        f"layer {layer.number}: ${len(layer.inputs)}$ inputs, ${len(layer.units)}$ units, "
        f"a ${_shape(layer)}$ weight matrix"
        for layer in wide
    )
    return (
        f"Only the first {HEAD} rows and columns of a vector or matrix with more than {SHOWN} "
        f"entries a side are shown ({shapes}); the dots stand for the rest."
    )


def example_text(inp: SectionInput) -> str:
    """The lecture's "weights" and "dataset" paragraphs: the initial weights and the sample."""
    net, w = inp.network, inp.writer
    if w.worked is None:
        return ""
    values = net.value_map

    def listing(symbols) -> str:
        items = [f"${w.inline(s)} = {format_number(values[s], inp.digits)}$" for s in symbols]
        return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1]

    kind = (
        "weights and biases"
        if any(len(b) for b in (net.layout.biases if net.layout else ()))
        else "weights"
    )
    if len(net.params) <= 12:
        first = f"The initial {kind} are {listing(net.params)}."
    else:
        first = f"The {len(net.params)} initial {kind} are in the matrices below."
    inputs = listing(net.inputs)
    targets = listing(net.targets)
    return (
        f"{first} The data set has one sample: the inputs {inputs}, and the actual output "
        f"{targets}."
    )


def figure_section(inp: SectionInput) -> dict:
    """The network drawn with its output units named as the equations name them (the lecture's
    ``prediction``, not the unit label ``o_1``), and the example in words."""
    from symbackprop.handout.figure import build_figure

    figure = output_named_figure(inp.network, build_figure(inp.network))
    return dict(figure=figure, example=example_text(inp))


def output_named_figure(network, figure):
    """``figure`` with each output unit labelled by its output symbol: in a rounded box wide
    enough for the name when that box meets no weight label, else beside its circle."""
    from symbackprop.handout.figure import PAGE_CM, UNIT_RADIUS_CM, Box, label_size
    from symbackprop.printers.printing import NotationLatexPrinter

    if figure is None or network.layout is None:
        return figure
    printer = NotationLatexPrinter(network.notation)
    last = set(network.layout.columns[-1])
    out_of = {}
    for node in network.nodes:
        if node.unit in last:
            out_of[node.unit] = node.symbol  # the unit's last node: its output
    nodes, extra = [], 0.0
    for node in figure.nodes:
        if node.kind != "unit" or node.name not in out_of:
            nodes.append(node)
            continue
        label = printer.doprint(out_of[node.name])
        if label == node.label:
            nodes.append(node)
            continue
        # a normal-size label: the scriptsize estimate scaled by 11/8
        w = label_size(label)[0] * 11 / 8 + 0.3
        box = Box(float(node.x), float(node.y), max(w, 2 * UNIT_RADIUS_CM), 2 * UNIT_RADIUS_CM)
        if any(box.meets(b) for b in figure.label_boxes):
            kind = f"unit, label={{right:${label}$}}"
            nodes.append(replace(node, label="", kind=kind))
            extra = max(extra, w)
        else:
            kind = "unit, rectangle, rounded corners=4.5mm, inner xsep=2mm"
            nodes.append(replace(node, label=label, kind=kind))
            extra = max(extra, w / 2 - UNIT_RADIUS_CM)
    return replace(figure, nodes=tuple(nodes), width=figure.width + extra).fitted(*PAGE_CM)


def forward_section(inp: SectionInput) -> dict:
    layers = matrix_layers(inp.derivation)
    if layers is None:
        return dict(available=False, reason=_no_matrix_reason(inp.network))
    c = _Cells(inp)
    numbers = inp.writer.worked is not None
    net = inp.network
    last = layers[-1]
    outputs = ", ".join(f"${c.sym(o)}$" for o in last.out)
    return dict(
        available=True,
        lines=fit_all(forward_lines(layers, c, numbers)),
        wide=_wide_note(layers, c),
        biases=any(layer.has_bias for layer in layers),
        activations=any(not layer.linear for layer in layers),
        outputs=outputs,
        single=len(net.outputs) == 1,
    )


def reducing_section(inp: SectionInput) -> dict:
    """The lecture's "reducing error": the prediction written out in the weights (when short
    enough to read), so that changing the prediction means changing the weights."""
    net, w = inp.network, inp.writer
    out = net.outputs[0]
    nodes = {eq.symbol: eq.expr for eq in inp.derivation.forward}
    expr = out
    for _ in range(len(nodes)):
        new = expr.xreplace(nodes)
        if new == expr:
            break
        expr = new
    rows, fits = [], False
    if sp.count_ops(expr) <= SUMMARY_OPS:  # a large net's would take long to print, and read
        rows = pack([(w.s(out), "= " + w.s(expr))])
        fits = len(rows) <= SUMMARY_ROWS and all(width(rhs) <= ROW_EM + 4 for _, rhs in rows)
    return dict(
        output=w.inline(out),
        expanded=list(rows) if fits else [],
        target=w.inline(net.targets[0]) if net.targets else "",
        several=len(net.outputs) > 1,
        rate=w.inline(net.learning_rate),
        sign="+" if net.maximize else "-",
    )


def scalar_summary(inp: SectionInput) -> list[tuple[str, str]]:
    """The lecture's summary of the updates, ``w6 = w6 − a (Δ h2)``: each gradient with the
    hidden δ's written out one level (``δ_{h1} = Δ w5``); an update an exercise asks for is
    left out when its answer is hidden."""
    d, w, net = inp.derivation, inp.writer, inp.network
    outputs = set()
    for sym in net.outputs:
        try:
            outputs.add(net.node(sym).unit)
        except KeyError:
            pass
    hidden_deltas = {
        delta.symbol: delta.expr for delta in d.deltas if net.node(delta.of).unit not in outputs
    }
    rate = w.inline(net.learning_rate)
    op = "+" if net.maximize else "-"
    lines = []
    if len(d.gradients) > SUMMARY_PARAMS:
        return lines
    for grad in d.gradients:
        if grad.param in inp.hidden:
            continue
        expr = grad.expr.xreplace(hidden_deltas)
        if width(w.inline(expr)) > ROW_EM - 8:  # too long written out: in the δ's
            expr = grad.expr
        lines.append(
            (
                f"{{{w.s(grad.param)}}}^{{+}}",
                f"= {w.s(grad.param)} {op} {rate} ({w.inline(expr)})",
            )
        )
    return lines


def updates_section(inp: SectionInput) -> dict:
    layers = matrix_layers(inp.derivation)
    summary = scalar_summary(inp)
    asked = any(g.param in inp.hidden for g in inp.derivation.gradients)
    if layers is None:
        return dict(
            available=False, reason=_no_matrix_reason(inp.network), summary=summary, asked=asked
        )
    c = _Cells(inp)
    net = inp.network
    sign = 1 if net.maximize else -1
    numbers = inp.writer.worked is not None
    blocks = []
    for layer in reversed(layers):
        update = layer_update(layer, c, net.learning_rate, sign, numbers)
        where = ""
        if layer is not layers[-1]:
            where = _delta_note(layer, c, inp)
        blocks.append(
            dict(
                title=(
                    "The output layer" if layer is layers[-1] else f"Layer {layer.number} (hidden)"
                ),
                inputs=", ".join(f"${c.sym(x)}$" for x in layer.inputs),
                deltas=", ".join(f"${c.sym(d)}$" for d in layer.deltas),
                lines=fit_all(update.lines),
                where=where,
            )
        )
    return dict(
        available=True,
        summary=summary,
        asked=asked,
        blocks=blocks,
        wide=_wide_note(layers, c),
        rate=c.w.inline(net.learning_rate),
        ascent=net.maximize,
    )


def _delta_note(layer: MatrixLayer, c: _Cells, inp: SectionInput) -> str:
    """``[δ_{h1} δ_{h2}] = [Δ w5  Δ w6]``, the δ's of a hidden layer as the backward step found
    them (the lecture's ``a Δ [i1; i2] · [w5 w6]``), unless one is an exercise's answer."""
    if any(d in inp.hidden for d in layer.deltas):
        return ""
    exprs = {d.symbol: d.expr for d in inp.derivation.deltas}
    row = _row([c.sym(exprs[d]) for d in layer.deltas])
    text = _row([c.sym(d) for d in layer.deltas]) + " = " + row
    return text if width(text) < 38 else ""


def new_prediction_section(inp: SectionInput) -> dict:
    """The forward pass again with the updated weights (matrix form when the net has layers),
    and the new error against the old."""
    net, w = inp.network, inp.writer
    if w.worked is None:
        return dict(available=False)
    from symbackprop.printers.printing import NotationLatexPrinter

    point = {**net.value_map, **w.worked.updated}
    new = evaluate(inp.derivation, point)
    values = {**new.values, **w.worked.updated}
    c = _Cells(inp)
    layers = matrix_layers(inp.derivation)
    lines = []
    if layers is not None:
        lines = fit_all(forward_lines(layers, c, True, point=values))
    loss_eq = inp.derivation.forward[-1]
    shown = {k: format_number(v, inp.digits) for k, v in values.items()}
    printer = NotationLatexPrinter(net.notation, shown, breakable=True)
    loss_lines = pack(
        [
            (w.s(net.loss), "= " + w.s(loss_eq.expr)),
            ("", "= " + printer.doprint(loss_eq.expr)),
            ("", "= " + format_number(values[net.loss], inp.digits)),
        ]
    )
    before, after = w.worked.values[net.loss], values[net.loss]
    better = after > before if net.maximize else after < before
    outs = [
        (
            w.inline(o),
            c.num(o),  # an exercise's output stays its symbol
            format_number(values[o], inp.digits),
        )
        for o in net.outputs
    ]
    targets = [format_number(net.value_map[t], inp.digits) for t in net.targets]
    if len(targets) != len(outs):  # no target per output (a graph-form loss): none shown
        targets = []
    elif len(outs) == 1:
        targets = [f"{w.inline(net.targets[0])} = {targets[0]}"]
    return dict(
        available=True,
        lines=lines,
        loss_lines=loss_lines,
        loss=w.inline(net.loss),
        before=format_number(before, inp.digits),
        after=format_number(after, inp.digits),
        better=better,
        maximize=net.maximize,
        outputs=outs,
        targets=targets,
        wide=_wide_note(layers, c) if layers else "",
        params=len(net.params),
    )

"""The unit-level deck: the derivation of a unit-level network as lecture slides (seeds 000–003).

Frames, in the order of a lecture: the network (its figure with every weight), the starting
values, the forward pass unit by unit, the error, then backwards layer by layer each δ and each
gradient — beside the figure with the path of the unit or weight being differentiated
highlighted, every line of the chain rule uncovered one slide after the other — and the updates.
All numbers come from :mod:`derivation.evaluate`; everything is printed here, the template only
places it.

A question deck (``show_solutions=False``) keeps the definitions (the network's equations, a
δ's definition, the update rule) and asks for every value and every derived expression with
``= ?`` and room to work; no derived value or expression appears in it.
"""

from __future__ import annotations

import sympy as sp

from symbackprop.derivation.equations import Delta, Derivation, Gradient
from symbackprop.derivation.evaluate import evaluate, format_number
from symbackprop.handout.figure import Figure, build_figure
from symbackprop.handout.unit import escape_text
from symbackprop.printers.printing import NotationLatexPrinter, partial_latex
from symbackprop.rules.registry import activation_of, shown_definition
from symbackprop.slides.deck import (
    BESIDE_EM,
    BODY_CM,
    FULL_EM,
    SIDE_CM,
    TEXT_CM,
    Deck,
    Frame,
    Row,
    highlight,
    split,
)
from symbackprop.slides.fit import broken_sum, chunks, math_width

ASK = r"= \;?"


def _terms(expr: sp.Expr) -> list[sp.Expr]:
    """The terms of a sum as written (one term for anything else)."""
    return list(expr.args) if isinstance(expr, sp.Add) else [expr]


class _Builder:
    def __init__(self, derivation: Derivation, digits: int, show_solutions: bool):
        self.d = derivation
        self.net = derivation.network
        self.solutions = show_solutions
        self.sym = NotationLatexPrinter(self.net.notation)
        self.worked = evaluate(derivation) if self.net.has_example else None
        self.values: dict[sp.Symbol, str] = {}
        if self.worked is not None:
            self.values = {k: format_number(v, digits) for k, v in self.worked.all.items()}
        self.num = NotationLatexPrinter(self.net.notation, self.values)
        self.digits = digits
        self.figure: Figure | None = build_figure(self.net)

    def s(self, expr: sp.Expr) -> str:
        return self.sym.doprint(expr)

    def n(self, expr: sp.Expr) -> str:
        return self.num.doprint(expr)

    # --- rows ----------------------------------------------------------------------------
    def sum_rows(self, lhs: str, expr: sp.Expr, printer, step: int, budget: float) -> list[Row]:
        """``lhs = expr`` with a long sum broken across rows (same step)."""
        texts = broken_sum([printer(t) for t in _terms(expr)], budget - math_width(lhs))
        return [Row(lhs if k == 0 else "", text, step) for k, text in enumerate(texts)]

    def product_rows(self, expr: sp.Expr, step: int, budget: float) -> list[Row]:
        """``= a × b × …`` with the numbers, broken between factors when too wide (a sum
        factor in parentheses)."""
        if not isinstance(expr, sp.Mul):
            return self.sum_rows("", expr, self.n, step, budget)
        factors, sign = list(expr.args), ""
        if factors and factors[0] == -1:
            factors, sign = factors[1:], "-"
        texts = []
        for f in factors:
            text = self.n(f)
            texts.append(rf"\left({text}\right)" if isinstance(f, sp.Add) else text)
        rows: list[list[str]] = [[]]
        for text in texts:
            trial = rows[-1] + [text]
            if rows[-1] and math_width(r" \times ".join(trial)) + 3 > budget:
                rows.append([text])
            else:
                rows[-1] = trial
        out = [Row("", "= " + sign + r" \times ".join(rows[0]), step)]
        out += [Row("", r"\quad \times " + r" \times ".join(r), step) for r in rows[1:]]
        return out

    def numbers(self, expr: sp.Expr, symbol: sp.Symbol, step: int, budget: float) -> list[Row]:
        """``= <numbers> = <value>`` (two rows when one does not fit), or ``= ?``."""
        if self.worked is None:
            return []
        if not self.solutions:
            return [Row("", ASK, step)]
        value = "= " + self.values[symbol]
        if expr.is_Symbol:  # ∂E/∂b = δ: the value alone, not "= (δ's value) = value"
            return [Row("", value, step)]
        rows = self.sum_rows("", expr, self.n, step, budget)
        if len(rows) == 1 and math_width(rows[0].rhs) > budget:
            rows = self.product_rows(expr, step, budget)
        if len(rows) == 1 and math_width(rows[0].rhs + value) + 1 < budget:
            return [Row("", rows[0].rhs + " " + value, step)]
        return rows + [Row("", value, step)]

    # --- frames --------------------------------------------------------------------------
    def network_frame(self) -> Frame:
        net = self.net
        text = (
            rf"Inputs ${', '.join(self.s(x) for x in net.inputs)}$, targets "
            rf"${', '.join(self.s(t) for t in net.targets)}$; the error is ${self.s(net.loss)}$"
            rf" and the learning rate ${self.s(net.learning_rate)}$."
        )
        figure = None if self.figure is None else self.figure.fitted(TEXT_CM - 1, BODY_CM - 0.4)
        if figure is not None and figure.labelled:
            text += " Each connection carries its weight."
        return Frame("The network", text=text, figure=figure)

    def values_frame(self) -> list[Frame]:
        if self.worked is None:
            return []
        net = self.net
        groups = [
            ("inputs", net.inputs),
            ("targets", net.targets),
            ("parameters", net.params),
            ("learning rate", (net.learning_rate,)),
        ]
        rows = []
        for title, symbols in groups:
            items = [f"{self.s(x)} = {self.values[x]}" for x in symbols]
            per_row = max(1, int((FULL_EM - 8) // max(math_width(i) + 1.5 for i in items)))
            for k, part in enumerate(chunks(items, per_row)):
                lhs = rf"\text{{{title}:}}" if k == 0 else ""
                rows.append(Row(lhs, r"\quad " + r",\quad ".join(part)))
        return split(Frame("Starting values", rows=tuple(rows)), 9)

    def forward_frames(self) -> list[Frame]:
        """One frame per layer (continued when long): each unit's net input and output."""
        blocks: dict[str, list[list[Row]]] = {}
        titles: dict[str, str] = {}
        step = 1
        current: dict[str, list[Row]] = {}
        for eq in self.d.forward[:-1]:
            unit = self.net.node(eq.symbol).unit
            key = self.layer_of(unit)
            rows = self.forward_rows(eq, step)
            if unit is not None and unit in current:
                current[unit].extend(rows)
            else:
                block = list(rows)
                blocks.setdefault(key, []).append(block)
                titles.setdefault(key, self.layer_title(key))
                if unit is not None:
                    current[unit] = block
            step = max(r.step for r in rows) + 1
        frames = []
        for key, layer_blocks in blocks.items():
            frames += self.packed(f"Forward pass: {titles[key]}", layer_blocks)
        return frames

    def forward_rows(self, eq, step: int) -> list[Row]:
        lhs = self.s(eq.symbol)
        shown = eq.expr
        if activation_of(eq.expr) is not None:
            rhs = f"= {self.s(eq.expr)}"
            definition = shown_definition(eq.expr)
            if definition is not None:
                rhs += f" = {self.s(definition)}"
                shown = definition
            rows = [Row(lhs, rhs, step)]
        else:
            rows = self.sum_rows(lhs, eq.expr, self.s, step, FULL_EM)
        return rows + self.numbers(shown, eq.symbol, step + 1, FULL_EM)

    def packed(self, title: str, blocks: list[list[Row]], size: int = 8, **kw) -> list[Frame]:
        """Frames holding whole blocks of rows, at most ``size`` rows each where a block allows;
        overlays renumbered from 1 in each frame."""
        parts: list[list[Row]] = [[]]
        for block in blocks:
            if parts[-1] and len(parts[-1]) + len(block) > size:
                parts.append([])
            parts[-1].extend(block)
        frames = []
        for k, rows in enumerate(parts):
            steps = sorted({r.step for r in rows})
            renumber = {s: i + 1 for i, s in enumerate(steps)}
            rows = tuple(Row(r.lhs, r.rhs, renumber[r.step]) for r in rows)
            name = title if k == 0 else f"{title} (continued)"
            frames += split(Frame(name, rows=rows, **kw), size + 2)
        return frames

    def layer_of(self, unit: str | None) -> str:
        layout = self.net.layout
        if unit is not None and layout is not None:
            for col, column in enumerate(layout.columns):
                if unit in column:
                    return str(col)
        return "" if unit is None else unit.rstrip("0123456789")

    def layer_title(self, key: str) -> str:
        layout = self.net.layout
        if layout is None or not key.isdigit():
            return "the nodes"
        col = int(key)
        if col == len(layout.columns) - 1:
            return "the output layer"
        if len(layout.columns) == 3:
            return "the hidden layer"
        return f"hidden layer {col}"

    def error_frame(self) -> Frame:
        eq = self.d.forward[-1]
        lhs = self.s(eq.symbol)
        rows = self.sum_rows(lhs, eq.expr, self.s, 1, FULL_EM)
        rows += self.numbers(eq.expr, eq.symbol, 2, FULL_EM)
        text = "The error of the network on this example:"
        if self.net.maximize:
            text = "Training ascends the log-likelihood:"
        return Frame("The error", text=text, rows=tuple(rows), question=not self.solutions)

    def side(self, title: str, rows: list[Row], **path) -> list[Frame]:
        figure = None
        if self.figure is not None:
            figure = highlight(self.figure, **path).fitted(*SIDE_CM)
        frame = Frame(
            title,
            rows=tuple(rows),
            figure=figure,
            side=figure is not None,
            question=not self.solutions,
        )
        return split(frame)

    def delta_frames(self, delta: Delta) -> list[Frame]:
        budget = BESIDE_EM if self.figure is not None else FULL_EM
        loss = self.net.loss
        lhs = self.s(delta.symbol)
        first = "= " + partial_latex(loss, delta.of, self.sym)
        if delta.through is not None:
            first += " = " + partial_latex(loss, delta.through, self.sym)
            first += r" \, " + partial_latex(delta.through, delta.of, self.sym)
        rows = [Row(lhs, first, 1)]
        if not self.solutions:
            rows.append(Row("", ASK, 1))
        else:
            step = 2
            if any(t.upstream.is_Symbol for t in delta.terms):
                paths = [
                    partial_latex(loss, t.chain[-1].num, self.sym)
                    + r" \, "
                    + partial_latex(t.chain[-1].num, t.chain[-1].den, self.sym)
                    for t in delta.terms
                ]
                tail = ""
                if delta.through is not None:
                    tail = r" \, " + partial_latex(delta.through, delta.of, self.sym)
                if len(paths) > 1 and tail:  # one path needs no parentheses
                    paths[0] = r"\biggl(" + paths[0]
                    paths[-1] = paths[-1] + r"\biggr)"
                paths[-1] += tail
                rows += [Row("", t, step) for t in broken_sum(paths, budget)]
                step += 1
            simp = self.d.simplification(delta.symbol)
            if simp is None:
                rows.append(Row("", "= " + self.s(delta.expr), step))
            else:
                rows += [Row("", "= " + self.s(e), step + k) for k, e in enumerate(simp.steps)]
                step += len(simp.steps) - 1
                if simp.condition is not None:
                    rows[-1] = Row(
                        "",
                        rows[-1].rhs + rf" \quad (\text{{as }} {self.s(simp.condition.lhs)} = 1)",
                        step,
                    )
            rows += self.numbers(delta.expr, delta.symbol, step + 1, budget)
        unit = self.net.node(delta.of).unit or ""
        return self.side(f"The error signal ${lhs}$", rows, unit=unit)

    def gradient_frames(self, grad: Gradient) -> list[Frame]:
        budget = BESIDE_EM if self.figure is not None else FULL_EM
        gsym = self.d.gradient_symbol(grad.param)
        lhs = self.s(gsym)
        if not self.solutions:
            rows = [Row(lhs, ASK, 1)]
        else:
            chains = [
                r" \, ".join(partial_latex(p.num, p.den, self.sym) for p in (*t.via, t.local))
                for t in grad.terms
            ]
            rows = [
                Row(lhs if k == 0 else "", t, 1) for k, t in enumerate(broken_sum(chains, budget))
            ]
            rows.append(Row("", "= " + self.s(grad.expr), 2))
            rows += self.numbers(grad.expr, gsym, 3, budget)
        return self.side(f"The gradient of ${self.s(grad.param)}$", rows, param=grad.param.name)

    def backward_frames(self) -> list[Frame]:
        """Output layer first: each δ, then the gradients that use only it; then the rest."""
        placed: set[sp.Symbol] = set()
        frames: list[Frame] = []
        groups: dict[str, list[Delta]] = {}
        for delta in self.d.deltas:
            groups.setdefault(self.layer_of(self.net.node(delta.of).unit), []).append(delta)
        for deltas in groups.values():
            names = {d.symbol for d in deltas}
            for delta in deltas:
                frames += self.delta_frames(delta)
                for grad in self.d.gradients:
                    used = {t.delta for t in grad.terms}
                    if grad.param not in placed and used == {delta.symbol}:
                        placed.add(grad.param)
                        frames += self.gradient_frames(grad)
            for grad in self.d.gradients:
                used = {t.delta for t in grad.terms}
                if grad.param not in placed and used <= names | {sp.Integer(1)}:
                    placed.add(grad.param)
                    frames += self.gradient_frames(grad)
        for grad in self.d.gradients:
            if grad.param not in placed:
                frames += self.gradient_frames(grad)
        return frames

    def update_frames(self) -> list[Frame]:
        """``p⁺ = p ∓ η ∂E/∂p`` per parameter; in the Δ style (Fausett) ``Δp`` first, then
        ``p⁺ = p + Δp``."""
        net = self.net
        rate = self.s(net.learning_rate)
        sign = "+" if net.maximize else "-"
        grad = rf"\partial {self.s(net.loss)} / \partial w"
        delta_style = net.notation.update_style == "delta"
        if delta_style:
            text = rf"Each weight changes by $\Delta w = {sign.strip('+')}{rate}\, {grad}$"
        else:
            text = rf"Gradient {'ascent' if net.maximize else 'descent'}, "
            text += rf"$w^{{+}} = w {sign} {rate}\, {grad}$"
        if net.learning_rate in self.values:
            text += rf" with ${rate} = {self.values[net.learning_rate]}$"
        blocks = []
        for k, u in enumerate(self.d.updates, start=1):
            p = self.s(u.param)
            new = format_number(self.worked.updated[u.param], self.digits) if self.worked else ""
            if delta_style:
                step = u.expr.args[1]  # the ∓η ∂E/∂p of p + (∓η ∂E/∂p)
                rows = [Row(rf"\Delta {p}", "= " + self.s(step), k)]
                rows.append(Row(f"{{{p}}}^{{+}}", rf"= {p} + \Delta {p}", k))
                if self.worked is not None and self.solutions:
                    change = self.worked.updated[u.param] - net.value_map[u.param]
                    rows[0] = Row(
                        rows[0].lhs,
                        f"{rows[0].rhs} = {self.n(step)} = {format_number(change, self.digits)}",
                        k,
                    )
                    rows[1] = Row(rows[1].lhs, f"{rows[1].rhs} = {new}", k)
            else:
                rows = [Row(f"{{{p}}}^{{+}}", "= " + self.s(u.expr), k)]
                if self.worked is not None and self.solutions:
                    rows.append(Row("", f"= {self.n(u.expr)} = {new}", k))
            if self.worked is not None and not self.solutions:
                last = rows[-1]
                rows[-1] = Row(last.lhs, f"{last.rhs} {ASK}", k)
            blocks.append(rows)
        return self.packed("The updates", blocks, text=text + ":", question=not self.solutions)

    def deck(self, source: str) -> Deck:
        net = self.net
        frames = [self.network_frame(), *self.values_frame(), *self.forward_frames()]
        frames += [self.error_frame(), *self.backward_frames(), *self.update_frames()]
        subtitle = "Backpropagation, step by step"
        if not self.solutions:
            subtitle += " (questions)"
        return Deck(
            title=escape_text(net.title or f"Backpropagation for the network '{net.name}'"),
            subtitle=subtitle,
            source=escape_text(source),
            frames=tuple(frames),
            show_solutions=self.solutions,
        )


def unit_deck(
    derivation: Derivation, *, source: str, digits: int = 6, show_solutions: bool = True
) -> Deck:
    """The deck of a unit-level derivation (module docstring)."""
    return _Builder(derivation, digits, show_solutions).deck(source)

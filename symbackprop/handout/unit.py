"""The handout: a derivation printed as worked steps, laid out by ``templates/latex``.

It reads like seed 000: the forward pass symbolically, then with the numbers, step by step; the
total error; for every weight the chain rule written out, the δ identified, and its value; the
hidden δ's with the sum over the units they feed; the updated weights. In each layer the first
unit is worked in the text and the others are exercises whose worked answers can be shown or
hidden (``show_solutions``). All numbers come from :mod:`derivation.evaluate`, never from a seed.

Everything is printed to strings here; the template only places them. Free text (the title)
is escaped for LaTeX once, by :func:`escape_text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from symbackprop import __version__
from symbackprop.derivation.equations import Delta, Derivation, Gradient
from symbackprop.derivation.evaluate import Worked, evaluate, format_number
from symbackprop.handout.course import loss_words, source_text
from symbackprop.handout.figure import build_figure
from symbackprop.handout.optimizer_section import optimizer_sections
from symbackprop.handout.plot import coordinates, ticks, training_axes
from symbackprop.handout.styles import SectionInput, build_sections, choose_style
from symbackprop.handout.training import ITERATIONS, error_after_update, loss_curve
from symbackprop.output.render import render
from symbackprop.printers.latex_lines import BREAK, pack, strip
from symbackprop.printers.printing import NotationLatexPrinter, partial_latex
from symbackprop.rules.registry import _mul, _sub, activation_of, shown_definition

_TEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\textasciitilde{}",
}


_GREEK = {
    chr(code): name
    for code, name in zip(
        range(0x3B1, 0x3CA),
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi o pi rho "
        "varsigma sigma tau upsilon phi chi psi omega".split(),
    )
    if name not in ("o", "varsigma")
}
_GREEK.update(
    {
        "Γ": "Gamma",
        "Δ": "Delta",
        "Θ": "Theta",
        "Λ": "Lambda",
        "Π": "Pi",
        "Σ": "Sigma",
        "Φ": "Phi",
        "Ψ": "Psi",
        "Ω": "Omega",
    }
)


def _escape_char(ch: str) -> str:
    if ch in _TEX_SPECIALS:
        return _TEX_SPECIALS[ch]
    if ch in _GREEK:
        return rf"\ensuremath{{\{_GREEK[ch]}}}"
    if ord(ch) < 0x100:  # Latin-1: the T1 fonts have these glyphs
        return ch
    return "?"  # no glyph in the handout's fonts; pdflatex would stop on it


def escape_text(text: str) -> str:
    """Free text as literal LaTeX, in one pass (so ``\\input`` or ``^^5c`` stay text).

    Greek letters become math symbols; other characters the fonts lack become ``?``.
    """
    text = "".join(ch for ch in text if ch.isprintable() or ch == " ")
    return "".join(_escape_char(ch) for ch in text)


@dataclass(frozen=True)
class Step:
    """One displayed derivation: ``lines`` of an ``align*`` (lhs, rhs), with a heading.

    ``symbols`` are the quantities the step computes (an exercise's answers); ``room`` is the
    number of rows its working takes (the space an exercise leaves when its answer is hidden).
    """

    heading: str
    lines: tuple[tuple[str, str], ...]
    exercise: bool = False
    symbols: tuple[sp.Symbol, ...] = ()
    room: int = 0


@dataclass(frozen=True)
class Section:
    """One part of the backward step (a layer): its title and steps."""

    title: str
    steps: tuple[Step, ...]


def _join(parts: list[str], op: str) -> str:
    """``parts`` joined by ``op`` (`` + `` or `` = ``), each join a possible line break."""
    return (BREAK + op).join(parts)


class _Writer:
    """Prints the steps of one derivation, with or without numbers.

    ``hidden``: the exercises' answers when they are not shown; the numbers of a worked step
    print these as their symbols (``0.45 × out_{h2}``), so no answer appears in the text.
    """

    def __init__(self, derivation: Derivation, digits: int, hidden: frozenset = frozenset()):
        self.d = derivation
        self.net = derivation.network
        self.sym = NotationLatexPrinter(self.net.notation, breakable=True)
        self.worked: Worked | None = evaluate(derivation) if self.net.has_example else None
        values = {}
        if self.worked is not None:
            values = {k: format_number(v, digits) for k, v in self.worked.all.items()}
        shown = {k: v for k, v in values.items() if k not in hidden}
        self.num = NotationLatexPrinter(self.net.notation, shown, breakable=True)
        self.values = values
        self.hidden = hidden
        self.digits = digits
        self.outputs = set()
        for out in self.net.outputs:
            try:
                self.outputs.add(self.net.node(out).unit)
            except KeyError:  # an output that is an input or a parameter has no unit
                pass

    def s(self, expr: sp.Expr) -> str:
        """``expr`` for a display line (with break marks, which :func:`pack` resolves)."""
        return self.sym.doprint(expr)

    def inline(self, expr: sp.Expr) -> str:
        """``expr`` for running text (no break marks)."""
        return strip(self.sym.doprint(expr))

    def n(self, expr: sp.Expr) -> str:
        return self.num.doprint(expr)

    def numbers(self, expr: sp.Expr, symbol: sp.Symbol) -> list[tuple[str, str]]:
        """The lines ``= <numbers>`` and ``= <value>`` when the spec has an example (one line
        when the numbers are the value itself)."""
        if self.worked is None:
            return []
        substituted, value = self.n(expr), self.values[symbol]
        if (expr.is_Symbol and expr not in self.hidden) or strip(substituted) == value:
            return [("", "= " + value)]
        return [("", "= " + substituted), ("", "= " + value)]

    def forward_lines(self, eq) -> list[tuple[str, str]]:
        """``x = expr`` (and, for an activation, its definition), then the numbers."""
        shown = eq.expr
        parts = [self.s(eq.expr)]
        definition = shown_definition(eq.expr)
        if definition is not None:
            parts.append(self.s(definition))
            shown = definition
        return [(self.s(eq.symbol), "= " + _join(parts, " = "))] + self.numbers(shown, eq.symbol)

    def forward_steps(self) -> list[Step]:
        """One step per unit (pre-activation and activation together), in evaluation order."""
        steps: list[Step] = []
        step_of_unit: dict[str, int] = {}
        layers_seen: set[str] = set()
        for eq in self.d.forward[:-1]:
            unit = self.net.node(eq.symbol).unit
            lines = tuple(self.forward_lines(eq))
            heading = f"${self.s(eq.symbol)}$"
            if unit is not None and unit in step_of_unit:
                i = step_of_unit[unit]
                prev = steps[i]
                steps[i] = Step(
                    f"{prev.heading} and {heading}",
                    prev.lines + lines,
                    prev.exercise,
                    prev.symbols + (eq.symbol,),
                )
                continue
            layer = self.layer_of(unit)
            exercise = unit is not None and layer in layers_seen
            layers_seen.add(layer)
            if unit is not None:
                step_of_unit[unit] = len(steps)
            steps.append(Step(heading, lines, exercise, (eq.symbol,)))
        return steps

    def layer_of(self, unit: str | None) -> str:
        """Units of one layer share a key (the layout's column, else the label's letters)."""
        if unit is None:
            return ""
        layout = self.net.layout
        if layout is not None:
            for col, column in enumerate(layout.columns):
                if unit in column:
                    return str(col)
        return unit.rstrip("0123456789")

    def loss_step(self) -> Step:
        eq = self.d.forward[-1]
        lines = [(self.s(eq.symbol), "= " + self.s(eq.expr))] + self.numbers(eq.expr, eq.symbol)
        return Step(f"${self.s(eq.symbol)}$", tuple(lines), symbols=(eq.symbol,))

    def delta_step(self, delta: Delta, exercise: bool) -> Step:
        loss = self.net.loss
        lhs = self.s(delta.symbol)
        first = [partial_latex(loss, delta.of, self.sym)]
        if delta.through is not None:
            first.append(
                partial_latex(loss, delta.through, self.sym)
                + r" \times "
                + partial_latex(delta.through, delta.of, self.sym)
            )
        lines = [(lhs, "= " + _join(first, " = "))]
        if any(t.upstream.is_Symbol for t in delta.terms):
            # Σ over the units it feeds: ∂E/∂(consumer) × ∂(consumer)/∂(this unit)
            paths = _join(
                [
                    partial_latex(loss, t.chain[-1].num, self.sym)
                    + " "
                    + partial_latex(t.chain[-1].num, t.chain[-1].den, self.sym)
                    for t in delta.terms
                ],
                " + ",
            )
            tail = ""
            if delta.through is not None:
                tail = r" \times " + partial_latex(delta.through, delta.of, self.sym)
            if len(delta.terms) > 2:  # may break over rows: fixed-size parentheses
                lines.append(("", rf"= \Bigl({paths}\Bigr){tail}"))
            else:
                lines.append(("", rf"= \left({strip(paths)}\right){tail}"))
        lines += self.simplification_lines(delta)
        lines += self.numbers(delta.expr, delta.symbol)
        return Step(f"${lhs}$", tuple(lines), exercise, (delta.symbol,))

    def simplification_lines(self, delta: Delta) -> list[tuple[str, str]]:
        """``= <simplified δ>``; for a matched output layer the steps that lead there: the sum
        over every softmax output with the Kronecker δ, the cancelled a_i, the sum split, and
        a − y with the condition it uses (Jacobs, appendix B)."""
        simp = self.d.simplification(delta.symbol)
        if simp is None:
            return [("", "= " + self.s(delta.expr))]
        loss = self.net.loss
        lines = []
        if simp.jacobian:
            paths = _join(
                [
                    partial_latex(loss, a_i, self.sym) + " " + partial_latex(a_i, z_k, self.sym)
                    for a_i, z_k, _ in simp.jacobian
                ],
                " + ",
            )
            lines.append(("", "= " + paths))
        lines += [("", "= " + self.s(step)) for step in simp.steps[:-1]]
        last = "= " + self.s(simp.steps[-1])
        if simp.condition is not None:
            last += BREAK + rf" \qquad \text{{since }} {self.s(simp.condition.lhs)} = 1"
        lines.append(("", last))
        return lines

    def gradient_symbol(self, param: sp.Symbol) -> sp.Symbol:
        return self.d.gradient_symbol(param)

    def gradient_step(self, grad: Gradient, exercise: bool) -> Step:
        gsym = self.gradient_symbol(grad.param)
        chains = []
        for term in grad.terms:
            factors = [*term.via, term.local]
            chains.append(r" \times ".join(partial_latex(p.num, p.den, self.sym) for p in factors))
        lines = [(self.s(gsym), "= " + _join(chains, " + "))]
        lines.append(("", "= " + self.s(grad.expr)))
        lines += self.numbers(grad.expr, gsym)
        return Step(f"${self.s(gsym)}$", tuple(lines), exercise, (gsym,))

    def update_lines(self, u, numbers: bool = True) -> list[tuple[str, str]]:
        """``p⁺ = p ∓ η ∂E/∂p`` for one parameter; in the Δ style (Fausett) ``Δp`` first, then
        ``p⁺ = p + Δp``; with the example's numbers unless ``numbers`` is false."""
        p = self.s(u.param)
        worked = self.worked if numbers else None
        after = ""
        if worked is not None:
            after = BREAK + " = " + format_number(worked.updated[u.param], self.digits)
        if self.net.notation.update_style != "delta":
            values = BREAK + " = " + self.n(u.expr) if worked is not None else ""
            return [(f"{{{p}}}^{{+}}", "= " + self.s(u.expr) + values + after)]
        step = u.expr.args[1]  # the ∓η ∂E/∂p term of p + (∓η ∂E/∂p)
        rhs, plus = "= " + self.s(step), ""
        if worked is not None:
            change = worked.updated[u.param] - self.net.value_map[u.param]
            change_text = format_number(change, self.digits)
            rhs += BREAK + " = " + self.n(step) + BREAK + " = " + change_text
            value = self.values.get(u.param) or format_number(self.net.value_map[u.param])
            sign = "" if change_text.startswith("-") else "+ "
            plus = BREAK + f" = {value} {sign}{change_text}".replace("+ -", "- ")
        return [(rf"\Delta {p}", rhs), (f"{{{p}}}^{{+}}", rf"= {p} + \Delta {p}" + plus + after)]

    def update_steps(self, exercises: set[sp.Symbol]) -> tuple[list[tuple[str, str]], Step | None]:
        """The worked updates, and one exercise holding the updates whose gradient is an
        exercise's answer (``exercises``: the gradient symbols asked for)."""
        worked, asked, names = [], [], []
        for u in self.d.updates:
            if self.gradient_symbol(u.param) in exercises:
                asked += self.update_lines(u)
                names.append(f"${{{self.s(u.param)}}}^{{+}}$")
            else:
                worked += self.update_lines(u)
        if not asked:
            return worked, None
        heading = "the new values " + _and(names)
        symbols = tuple(
            u.param for u in self.d.updates if self.gradient_symbol(u.param) in exercises
        )
        return worked, Step(heading, tuple(asked), True, symbols)

    def backward_sections(self) -> list[Section]:
        """One section per layer, output layer first: its δ's, then the gradients that use them."""
        groups: dict[str, list[Delta]] = {}
        for delta in self.d.deltas:
            groups.setdefault(self.layer_of(self.net.node(delta.of).unit), []).append(delta)
        placed: set[sp.Symbol] = set()
        sections = []
        hidden_count = sum(1 for deltas in groups.values() if not self.is_output(deltas))
        for deltas in groups.values():
            steps: list[Step] = []
            names = {d.symbol for d in deltas}
            for k, delta in enumerate(deltas):
                steps.append(self.delta_step(delta, exercise=k > 0))
                for grad in self.d.gradients:
                    used = {t.delta for t in grad.terms}
                    if grad.param not in placed and used == {delta.symbol}:
                        placed.add(grad.param)
                        steps.append(self.gradient_step(grad, exercise=k > 0))
            for grad in self.d.gradients:
                used = {t.delta for t in grad.terms}
                if grad.param not in placed and used <= names | {sp.Integer(1)}:
                    placed.add(grad.param)
                    steps.append(self.gradient_step(grad, exercise=False))
            if self.is_output(deltas):
                title = "The output layer"
            else:
                title = f"Layer {hidden_count} (hidden)"
                hidden_count -= 1
            sections.append(Section(title, tuple(steps)))
        rest = [g for g in self.d.gradients if g.param not in placed]
        if rest:
            steps = [self.gradient_step(g, exercise=False) for g in rest]
            sections.append(Section("Other parameters", tuple(steps)))
        return sections

    def is_output(self, deltas: list[Delta]) -> bool:
        """Whether these δ's belong to output units (a graph-form spec has no layout)."""
        return any(self.net.node(d.of).unit in self.outputs for d in deltas)


def _and(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _generic(symbol: sp.Symbol, index: str) -> sp.Symbol:
    """A unit's name with its unit index replaced by a letter: ``y_1`` → ``y_i``."""
    return sp.Symbol(re.sub(r"[0-9]+$", index, symbol.name))


def matched_output(w: _Writer) -> dict:
    """What the handout says about a matched output layer, printed: the softmax, its local
    derivatives through the Kronecker δ, and the simplified output δ, in general form."""
    m = w.net.matched
    if m is None:
        return dict(kind="")
    a_i, a_k = _generic(m.out[0], "i"), _generic(m.out[0], "k")
    z_i, z_k = _generic(m.pre[0], "i"), _generic(m.pre[0], "k")
    y_k, j = _generic(m.targets[0], "k"), _generic(m.pre[0], "j")
    first = next(d.symbol for d in w.d.deltas if d.of == m.pre[0])
    # hmkcode's Δ names its one output's δ only: a general δ_k then
    delta_k = _generic(first, "k") if first.name[-1].isdigit() else sp.Symbol("delta_k")
    kron = sp.KroneckerDelta(sp.Symbol("i"), sp.Symbol("k"), evaluate=False)
    maximize = w.net.maximize
    simple = _sub(y_k, a_k) if maximize else _sub(a_k, y_k)
    total = _generic(m.targets[0], "i")
    return dict(
        kind=m.activation,
        out_i=w.inline(a_i),
        factor=w.inline(_mul(a_k, _sub(sp.Integer(1), a_k))),
        loss=loss_words(m.loss),
        softmax=rf"{w.inline(a_i)} = \frac{{e^{{{w.inline(z_i)}}}}}"
        rf"{{\sum_{{j}} e^{{{w.inline(j)}}}}}",
        jacobian=rf"{partial_latex(a_i, z_k, w.sym)} = {w.inline(_mul(a_i, _sub(kron, a_k)))}",
        delta=rf"{w.inline(delta_k)} = {partial_latex(w.net.loss, z_k, w.sym)} = "
        + w.inline(simple),
        condition=rf"\sum_{{i}} {w.inline(total)} = 1" if m.targets_sum_to_one else "",
    )


def used_activations(derivation: Derivation) -> list:
    """The registry rules of the activations the network uses, in order of first use."""
    found = []
    for eq in derivation.forward:
        rule = activation_of(eq.expr)
        if rule is not None and rule not in found:
            found.append(rule)
    return found


def _magnitude(text: str) -> str:
    return text.lstrip("-")


def choose_exercises(w: _Writer, steps: list[Step], updated: dict) -> set[sp.Symbol]:
    """The symbols the exercises ask for: those of every step marked ``exercise``, less any
    step one of whose answers the handout shows anyway (another quantity with the same value,
    as jacobs' s_1 = s_2): an exercise the text answers is no exercise, so it is worked."""
    if w.worked is None:
        return {sym for step in steps if step.exercise for sym in step.symbols}
    asked = {sym for step in steps if step.exercise for sym in step.symbols}

    def value(sym) -> str:
        return _magnitude(updated[sym] if sym in updated else w.values[sym])

    changed = True
    while changed:
        changed = False
        # a parameter asked for is asked for its new value; its current one is given
        shown = {_magnitude(v) for k, v in w.values.items() if k not in asked or k in updated}
        shown |= {_magnitude(v) for k, v in updated.items() if k not in asked}
        for step in steps:
            if step.exercise and set(step.symbols) <= asked:
                if any(value(sym) in shown for sym in step.symbols):
                    asked -= set(step.symbols)
                    changed = True
    return asked


def _as_asked(step: Step, asked: set, show_solutions: bool) -> Step:
    """``step`` as an exercise when it asks for ``asked`` symbols; its lines go when hidden."""
    exercise = bool(step.symbols) and step.symbols[0] in asked
    lines = pack(step.lines)
    if exercise and not show_solutions:
        return Step(step.heading, (), True, step.symbols, room=len(lines))
    return Step(step.heading, lines, exercise, step.symbols, room=len(lines))


def handout_context(
    derivation: Derivation,
    *,
    source: str,
    digits: int = 9,
    show_solutions: bool = True,
    style: str | None = None,
) -> dict:
    """Everything the handout template needs, already printed: the common context, and
    ``sections``, the chosen style's sections with what their builders made."""
    net = derivation.network
    first = _Writer(derivation, digits)
    gradient_symbols = {first.gradient_symbol(u.param): u.param for u in derivation.updates}
    candidates = first.forward_steps() + [
        step for section in first.backward_sections() for step in section.steps
    ]
    updated = {}
    if first.worked is not None:
        updated = {p: format_number(v, digits) for p, v in first.worked.updated.items()}
    asked = choose_exercises(first, candidates, {})
    # an update is asked for when its gradient is (its value would give the gradient away)
    update_asked = {gradient_symbols[g] for g in asked if g in gradient_symbols}
    asked = choose_exercises(
        first,
        candidates + [Step("", (), True, (p,)) for p in sorted(update_asked, key=lambda p: p.name)],
        updated,
    )
    # the numbers hide the answers; a parameter's value is given (its new value is the answer)
    hidden = frozenset(asked - set(net.params))
    w = first if show_solutions else _Writer(derivation, digits, hidden=hidden)
    rate = w.inline(net.learning_rate)
    rate_value = w.values.get(net.learning_rate, "")
    direction = "ascent" if net.maximize else "descent"
    forward = [_as_asked(step, asked, show_solutions) for step in w.forward_steps()]
    backward = [
        Section(section.title, tuple(_as_asked(s, asked, show_solutions) for s in section.steps))
        for section in w.backward_sections()
    ]
    worked_updates, update_exercise = w.update_steps(
        {g for g in asked if g in gradient_symbols and gradient_symbols[g] in asked}
    )
    if update_exercise is not None:
        update_exercise = _as_asked(update_exercise, asked, show_solutions)
    plot, after_one, final = None, "", ""
    diverged, span = None, ITERATIONS
    if w.worked is not None:
        after_one = format_number(error_after_update(derivation, w.worked), digits)
        points, diverged = loss_curve(derivation)
        if diverged is None:
            final = format_number(sp.Float(points[-1][1], 17), 6)
        else:  # the plot ends where the loss overflowed, so its finite part is visible
            span = max(diverged, 4)
        plot = training_axes(points, maximize=net.maximize, end=span)
    kinks = [escape_text(rule.kink) for rule in used_activations(derivation) if rule.kink]
    cited = source_text(net.notation.name)
    context = dict(
        curve=coordinates(plot.points) if plot else "",
        log_axis=bool(plot and plot.log),
        negated=bool(plot and plot.negated),
        flat_from=f"{plot.flat_from:,}" if plot and plot.flat_from is not None else "",
        param_count=len(net.params),
        has_biases=any(len(bias) > 0 for bias in (net.layout.biases if net.layout else ())),
        iterations=f"{ITERATIONS:,}",
        diverged=diverged is not None,
        diverged_at=f"{diverged or 0:,}",
        iterations_plain=str(plot.end if plot else span),
        xticks=",".join(str(k) for k in ticks(plot.end if plot else span)),
        loss_before=w.values.get(net.loss, ""),
        loss_after_one=after_one,
        loss_final=final,
        title=escape_text(net.title or f"Backpropagation for the network '{net.name}'"),
        notation=cited,
        version=__version__,
        source=escape_text(source),
        figure=build_figure(net),
        has_numbers=w.worked is not None,
        forward=forward,
        loss=_as_asked(w.loss_step(), asked, show_solutions),
        loss_symbol=w.inline(net.loss),
        maximize=net.maximize,
        direction=direction,
        backward=backward,
        updates=pack(worked_updates),
        update_exercise=update_exercise,
        rate=rate,
        rate_value=rate_value,
        delta_style=net.notation.update_style == "delta",
        kinks=kinks,
        show_solutions=show_solutions,
        digits=digits,
        matched=matched_output(w),
        optimizers=optimizer_sections(
            derivation, digits=digits, escape=escape_text, avoid=frozenset(asked)
        ),
    )
    chosen = choose_style("unit", net.notation.name, style or net.style)
    context["sections"] = build_sections(
        chosen,
        SectionInput(
            level="unit",
            network=net,
            derivation=derivation,
            context=context,
            digits=digits,
            show_solutions=show_solutions,
            hidden=frozenset(asked) if not show_solutions else frozenset(),
            writer=w,
        ),
    )
    return context


def generate_handout(
    derivation: Derivation,
    *,
    source: str,
    digits: int = 9,
    show_solutions: bool = True,
    style: str | None = None,
) -> str:
    """The handout's LaTeX source (without the do-not-edit header), in ``style`` (default: the
    spec's, else its notation's lecture's; :mod:`handout.styles`)."""
    context = handout_context(
        derivation, source=source, digits=digits, show_solutions=show_solutions, style=style
    )
    return render("latex", "handout.tex.jinja", **context)

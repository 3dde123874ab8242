"""The unit handout's section on the spec's other update rules, printed from the rule data.

For each optimizer of ``[training] optimizer`` other than plain SGD (whose one step the handout
already works), in the net's notation: the rule for one weight, the first one the handout
differentiates (Fausett's W_35 for ``essa``), with time indices (``v(t+1) = μ v(t) + δ_5 y_3``;
momentum in seed 001's step form ``ΔW_35(t+1) = −α δ_5 y_3 + μ ΔW_35(t)``); then two steps on
the example with every number; then a table of every parameter after the two steps.

The symbolic lines are :func:`optimizer_steps.rule_form` printed, and the numeric lines are the
same expressions printed with numbers in place of symbols; the values after ``=`` come from
:func:`optimizer_steps.two_steps`, which runs the rule itself.
"""

from __future__ import annotations

import sympy as sp

from symbackprop.derivation.equations import Derivation
from symbackprop.derivation.evaluate import format_number
from symbackprop.derivation.optimizer_steps import STEPS, RuleForm, rule_form, two_steps
from symbackprop.handout.course import number_latex
from symbackprop.printers.latex_lines import pack
from symbackprop.printers.printing import NotationLatexPrinter
from symbackprop.rules import optimizers as rules

# The LaTeX of each setting (RMSprop's alpha is ρ: α is Fausett's learning rate).
_SETTING_LATEX = {
    "momentum": r"\mu",
    "eps": r"\epsilon",
    "alpha": r"\rho",
    "beta1": r"\beta_1",
    "beta2": r"\beta_2",
}
TABLE_DIGITS = 6


def _wrapped(text: str, expr: sp.Expr) -> str:
    return rf"\left({text}\right)" if expr.is_Add else text


class _RulePrinter(NotationLatexPrinter):
    """The notation's printer, with ``grouped`` symbols (a product standing for one gradient)
    in parentheses when raised to a power: (δ_5 y_3)², not δ_5 y_3²."""

    def __init__(self, notation, values, grouped, **settings):
        super().__init__(notation, values, **settings)
        self.grouped = grouped

    def _print_Pow(self, expr, **kwargs) -> str:
        if expr.base in self.grouped and expr.exp.is_Integer:
            return rf"\left({self._print(expr.base)}\right)^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr, **kwargs)


class _Lines:
    """Prints one rule's lines for one weight ``w`` of ``derivation``."""

    def __init__(self, derivation: Derivation, digits: int, avoid: frozenset = frozenset()):
        self.d = derivation
        self.net = derivation.network
        self.digits = digits
        # the first weight whose gradient the handout works (not an exercise's answer)
        grads = [
            g
            for g in derivation.gradients
            if g.param not in avoid and derivation.gradient_symbol(g.param) not in avoid
        ] or list(derivation.gradients)
        self.weight = grads[0].param
        grad = grads[0].expr
        self.sym = NotationLatexPrinter(self.net.notation)
        self.gradient = sp.Dummy("g")  # stands for the printed ∂E/∂w
        self.gradient_text = _wrapped(self.sym.doprint(grad), grad)
        self.w = self.sym.doprint(self.weight)
        self.rate = self.sym.doprint(self.net.learning_rate)
        self.grad_symbol = self.sym.doprint(derivation.gradient_symbol(self.weight))
        self.sign = -1 if self.net.maximize else 1  # g = sign × (the printed gradient)

    def names(self, form: RuleForm, spec, before: str, after: str) -> dict:
        """Each symbol of ``form`` as its LaTeX at times ``before`` and ``after``."""
        names = {sp.Symbol(k, real=True): _SETTING_LATEX.get(k, k) for k, _ in spec.settings}
        names[rules.lr] = self.rate
        names[rules.step] = after
        names[self.gradient] = self.gradient_text
        for state, symbol in form.old.items():
            names[symbol] = f"{state}({before})"
        for state, symbol in form.new.items():
            names[symbol] = f"{state}({after})"
        for name, symbol in form.temp_symbols.items():
            names[symbol] = rf"{self.sym.doprint(sp.Symbol(name.replace('_', '')))}({after})"
        if form.previous is not None:
            names[form.previous] = rf"\Delta {self.w}({before})"
        return names

    def printer(self, names: dict, numbers: bool = False) -> NotationLatexPrinter:
        """Symbols as ``names`` (LaTeX), or with ``numbers`` as numbers joined by ×."""
        grouped = set() if numbers else {self.gradient}
        mul = {} if numbers else {"mul_symbol": None}
        return _RulePrinter(self.net.notation, names, grouped, **mul)

    def general(self, spec, form: RuleForm) -> list[tuple[str, str]]:
        """The rule with time indices t, t + 1."""
        text = self.printer(self.names(form, spec, "t", "t + 1"))
        lines = [(f"{name}(t + 1)", "= " + text.doprint(expr)) for name, expr in form.states]
        lines = [line for line in lines if not line[0].startswith(f"{form.eliminated}(")]
        for name, symbol in form.temp_symbols.items():
            expr = dict(form.temps)[name]
            lines.append((text.doprint(symbol), "= " + text.doprint(expr)))
        lines.append((rf"\Delta {self.w}(t + 1)", "= " + text.doprint(form.change)))
        lines.append((f"{self.w}(t + 1)", rf"= {self.w}(t) + \Delta {self.w}(t + 1)"))
        return lines

    def number(self, value) -> str:
        return format_number(value, self.digits)

    def worked(self, spec, form: RuleForm, steps, k: int) -> list[tuple[str, str]]:
        """Step ``k`` of ``steps`` for the weight: each line in symbols, numbers, value."""
        w, p = self.weight, self.weight
        state_before, state_after = steps.states[k - 1][p], steps.states[k][p]
        symbols = self.printer(self.names(form, spec, str(k - 1), str(k)))
        values = {sp.Symbol(k, real=True): number_latex(v) for k, v in spec.settings}
        values[rules.lr] = self.number(steps.settings[rules.lr])
        values[rules.step] = str(k)
        values[self.gradient] = self.number(self.sign * steps.gradients[k - 1][p])
        values.update({form.old[s]: self.number(v) for s, v in state_before.items()})
        values.update({form.new[s]: self.number(v) for s, v in state_after.items()})
        if form.previous is not None:
            values[form.previous] = self.number(steps.changes[k - 2][p]) if k > 1 else "0"
        numbers = self.printer(values, numbers=True)
        lines = [(self.grad_symbol, f"= {self.gradient_text} = {values[self.gradient]}")]
        number = self.number

        def _two_rows(lhs: str, symbolic: str, numeric: str, value) -> list[tuple[str, str]]:
            """``lhs = symbols``, then ``= numbers = value`` on a row of its own."""
            return [(lhs, f"= {symbolic}"), ("", f"= {numeric} = {number(value)}")]

        for name, expr in form.states:
            if name == form.eliminated:
                continue
            lines += _two_rows(
                f"{name}({k})", symbols.doprint(expr), numbers.doprint(expr), state_after[name]
            )
        env = {**values}
        for name, symbol in form.temp_symbols.items():
            expr = dict(form.temps)[name]
            value = self.evaluate(expr, steps, k, form)
            env[symbol] = self.number(value)
            numbers = self.printer(env, numbers=True)
            lines += _two_rows(
                symbols.doprint(symbol), symbols.doprint(expr), numbers.doprint(expr), value
            )
        change = steps.changes[k - 1][w]
        symbolic, numeric = symbols.doprint(form.change), numbers.doprint(form.change)
        lines += _two_rows(rf"\Delta {self.w}({k})", symbolic, numeric, change)
        before, after = steps.values[k - 1][w], steps.values[k][w]
        sign = "-" if self.number(change).startswith("-") else "+"
        magnitude = self.number(abs(change))
        rhs = f"= {self.number(before)} {sign} {magnitude} = {self.number(after)}"
        lines.append((f"{self.w}({k})", rhs))
        return lines

    def evaluate(self, expr: sp.Expr, steps, k: int, form: RuleForm) -> sp.Expr:
        """A temporary's value at step ``k`` (exact inputs: the run's states and settings)."""
        env = dict(steps.settings)
        env[rules.step] = sp.Integer(k)
        env[self.gradient] = self.sign * steps.gradients[k - 1][self.weight]
        env.update({form.new[s]: v for s, v in steps.states[k][self.weight].items()})
        return sp.N(expr.xreplace(env), 40)


def optimizer_sections(
    derivation: Derivation, *, digits: int, escape, avoid: frozenset = frozenset()
) -> list[dict]:
    """One dict per non-SGD optimizer of the spec, for the template (empty without numbers);
    the rule is worked for a weight whose gradient is not in ``avoid`` (the exercises')."""
    net = derivation.network
    if not net.has_example:
        return []
    out = []
    lines = _Lines(derivation, digits, avoid)
    for spec in net.optimizers:
        if spec.name == "sgd":
            continue
        rule = rules.optimizer(spec.name)
        form = rule_form(rule, lines.sign * lines.gradient)
        steps = two_steps(derivation, spec)
        table = [
            (
                lines.sym.doprint(p),
                format_number(steps.values[0][p], TABLE_DIGITS),
                *(format_number(steps.changes[k][p], TABLE_DIGITS) for k in range(STEPS)),
                format_number(steps.values[STEPS][p], TABLE_DIGITS),
            )
            for p in net.params
        ]
        settings = ", ".join(
            f"${_SETTING_LATEX.get(k, k)} = {number_latex(v)}$" for k, v in spec.settings
        )
        out.append(
            dict(
                title=escape(rule.title[:1].upper() + rule.title[1:]),
                settings=settings,
                weight=lines.w,
                gradient=lines.gradient_text,
                general=pack(lines.general(spec, form)),
                step_form=form.eliminated is not None,
                eliminated=form.eliminated or "",
                steps=[
                    dict(
                        number=str(k),
                        previous=str(k - 1) if k > 1 else "",
                        lines=pack(lines.worked(spec, form, steps, k)),
                    )
                    for k in range(1, STEPS + 1)
                ],
                table=table,
            )
        )
    return out

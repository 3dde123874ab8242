"""Printers: SymPy printer subclasses for LaTeX (in a notation) and for NumPy code.

They only read equations; they never derive. Conventions:

- the symbol name is the rendering (``net_h1`` → ``net_{h1}``), except names listed in the
  notation's ``latex`` table (``logL`` → ``\\log L``; a base such as ``ystar`` → ``y^{*}``);
- a gradient symbol (:func:`equations.gradient_symbol`) prints as
  ``\\frac{\\partial E}{\\partial w}``;
- registry activations print with their LaTeX name (``\\sigma``), ReLU' as an Iverson bracket;
- several subscripts are joined by commas (``w__2_1_11`` -> ``w^{2}_{1,11}``, never ``111``);
- a name part SymPy would turn into a command (its Greek, symbol and modifier tables: ``beta``,
  ``hbar``, ``xhat``) keeps it only when the command is in :data:`SAFE_COMMANDS`, which base
  LaTeX and amsmath define; any other (``wscr`` -> ``\\mathscr``, ``varkappa``, ``beth``, which
  need mathrsfs or amssymb) prints as written, so every handout compiles with its preamble;
- products and sums keep the order the derivation wrote them (``order="none"``);
- with ``values``, every symbol found there prints as its number instead (a negative number in
  parentheses, except as the whole argument of a function: ``\\tanh(-1.5)``), which turns
  ``w_1 i_1 + w_2 i_2 + b_1`` into ``0.15 × 0.05 + 0.2 × 0.1 + 0.35``;
- with ``breakable=True``, a sum marks where it may break (:mod:`latex_lines`), and a broken sum
  in parentheses gets ``\\bigl(``/``\\bigr)`` (a ``\\left``/``\\right`` pair cannot span rows).
"""

from __future__ import annotations

import re
from typing import Mapping

import sympy as sp
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import LatexPrinter, translate
from sympy.printing.numpy import NumPyPrinter

from symbackprop.derivation.equations import split_gradient_symbol
from symbackprop.model.notation import Notation, preset
from symbackprop.printers.latex_lines import BREAK, breakable, width

SAFE_COMMANDS = frozenset(
    """alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau
    upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega
    varepsilon varphi varpi varrho varsigma vartheta mathrm aleph ell hbar wp
    mathring ddddot dddot ddot dot check breve acute grave tilde hat bar vec boldsymbol mathcal
    left right langle rangle""".split()
)
"""Commands a name may print as: those of base LaTeX and amsmath (``\\boldsymbol``, ``\\dddot``)."""

SHORT_SUM_EM = 12.0  # a breakable sum in parentheses narrower than this keeps \left( \right)


def _name_part(part: str) -> str:
    """SymPy's rendering of one part of a name, or the part as written if it needs a package."""
    tex = translate(part)
    return tex if set(re.findall(r"\\([A-Za-z]+)", tex)) <= SAFE_COMMANDS else part


class NotationLatexPrinter(LatexPrinter):
    """LaTeX in a course's notation, optionally with numbers substituted for symbols."""

    def __init__(
        self,
        notation: Notation | None = None,
        values: Mapping[sp.Symbol, str] | None = None,
        breakable: bool = False,
        **settings,
    ):
        settings.setdefault("order", "none")
        if values:
            settings.setdefault("mul_symbol", "times")
        super().__init__(settings)
        self.notation = notation or preset("plain")
        self.values = values or {}
        self.breakable = breakable

    def _print_Mul(self, expr) -> str:
        simple = not expr.could_extract_minus_sign() and all(
            not (arg.is_Pow and arg.exp.is_negative) and not arg.is_Rational for arg in expr.args
        )
        if not (self.breakable and simple and any(arg.is_Add for arg in expr.args)):
            return super()._print_Mul(expr)
        # a product with a sum among its factors, factor by factor: the sum's parentheses come
        # from _add_parens, so a long one may break inside \bigl( … \bigr)
        parts = []
        for arg in expr.args:
            text = self._print(arg)
            if arg.is_Add or self._needs_mul_brackets(arg):
                text = self._add_parens(text)
            parts.append(text)
        return self._settings["mul_symbol_latex"].join(parts)

    def _print_Add(self, expr, order=None) -> str:
        if not self.breakable:
            return super()._print_Add(expr, order)
        # SymPy's own loop, with a mark before each operator between terms
        tex = ""
        for i, term in enumerate(self._as_ordered_terms(expr, order=order)):
            if i == 0:
                pass
            elif term.could_extract_minus_sign():
                tex += BREAK + " - "
                term = -term
            else:
                tex += BREAK + " + "
            term_tex = self._print(term)
            if self._needs_add_brackets(term):
                term_tex = rf"\left({term_tex}\right)"
            tex += term_tex
        return tex

    def _add_parens(self, s) -> str:
        if self.breakable and breakable(s) and width(s) > SHORT_SUM_EM:
            size = "Big" if r"\frac" in s else "big"
            return rf"\{size}l({s}\{size}r)"
        return super()._add_parens(s)

    def name_latex(self, name: str) -> str:
        table = self.notation.latex
        if name in table:
            return table[name]
        base, sep, rest = name.partition("_")
        if sep and base in table:
            sub = self._print_Symbol(sp.Symbol("x_" + rest))[1:]  # reuse SymPy's sub/superscripts
            return table[base] + sub
        return super()._print_Symbol(sp.Symbol(name))

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        if expr in self.values:
            text = self.values[expr]
            return f"\\left({text}\\right)" if text.startswith("-") else text
        grad = split_gradient_symbol(expr)
        if grad is not None:
            loss, param = grad
            return (
                rf"\frac{{\partial {self.name_latex(loss)}}}{{\partial {self.name_latex(param)}}}"
            )
        if expr.name in self.notation.latex or expr.name.partition("_")[0] in self.notation.latex:
            return self.name_latex(expr.name)
        return super()._print_Symbol(expr, style)

    def _deal_with_super_sub(self, string: str, style: str = "plain") -> str:
        if "{" in string or "\\" in string:  # already LaTeX (SymPy passes these through too)
            return string
        name, supers, subs = split_super_sub(string)
        text = _name_part(name)
        if style == "bold":
            text = rf"\mathbf{{{text}}}"
        if supers:
            text += "^{%s}" % ",".join(_name_part(s) for s in supers)
        if subs:
            text += "_{%s}" % ",".join(_name_part(s) for s in subs)
        return text

    def _print_Function(self, expr, exp=None) -> str:
        # f(x) with x's number: tanh(-1.5), not tanh((-1.5)); the function's own brackets do
        arg = expr.args[0] if len(expr.args) == 1 else None
        if arg is not None and arg in self.values:
            return super()._print_Function(expr.func(sp.Symbol(self.values[arg])), exp)
        return super()._print_Function(expr, exp)

    def _print_ActivationBase(self, expr, exp=None) -> str:
        arg = expr.args[0]
        inner = self.values[arg] if arg in self.values else self._print(arg)  # no ((−1.5))
        text = rf"{expr.rule.latex}\left({inner}\right)"
        return f"{text}^{{{exp}}}" if exp else text

    def _print_Heaviside(self, expr, exp=None) -> str:
        # Iverson bracket; the value at 0 (SymPy's second argument) picks > or ≥.
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.Rational(1, 2)
        if at_zero not in (0, 1):
            return super()._print_Heaviside(expr, exp)
        relation = ">" if at_zero == 0 else r"\geq"
        text = rf"\left[{self._print(expr.args[0])} {relation} 0\right]"
        return f"{text}^{{{exp}}}" if exp else text


def partial_latex(num: sp.Symbol, den: sp.Symbol, printer: NotationLatexPrinter) -> str:
    """``\\frac{\\partial num}{\\partial den}`` in the printer's notation."""
    top, bottom = printer.name_latex(num.name), printer.name_latex(den.name)
    return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"


def latex(expr: sp.Expr, notation: Notation | None = None, values=None) -> str:
    """Print ``expr`` as LaTeX in ``notation`` (numbers from ``values`` where given)."""
    return NotationLatexPrinter(notation, values).doprint(expr)


def derivation_latex(derivation) -> str:
    """All equations of a derivation as one ``align*`` block (notebook display)."""
    notation = derivation.network.notation
    printer = NotationLatexPrinter(notation)
    lines = [f"{printer._print(f.symbol)} &= {printer.doprint(f.expr)}" for f in derivation.forward]
    lines += [f"{printer._print(d.symbol)} &= {printer.doprint(d.expr)}" for d in derivation.deltas]
    for g in derivation.gradients:
        lines.append(
            f"{printer._print(derivation.gradient_symbol(g.param))} &= {printer.doprint(g.expr)}"
        )
    lines += [
        # braced: w^{h}_{11} and w' already carry a superscript
        f"{{{printer._print(u.param)}}}^{{+}} &= {printer.doprint(u.expr)}"
        for u in derivation.updates
    ]
    return "$$\\begin{aligned}" + " \\\\ ".join(lines) + "\\end{aligned}$$"


class NumpyCodePrinter(NumPyPrinter):
    """NumPy expressions for the generated module: ``np.`` prefix, registry kernels.

    A registry activation prints as its runtime helper's call (``_sigmoid(z)``) when the entry
    names one, else as its kernel expression printed here (``np.tanh(z)``, ELU's ``np.where``).
    :meth:`print_into` writes an expression into an existing array (``out=``).
    """

    def _module_format(self, fqn: str, register: bool = True) -> str:
        if fqn.startswith("numpy."):
            return "np." + fqn[len("numpy.") :]
        return super()._module_format(fqn, register)

    def _print_ActivationBase(self, expr) -> str:
        rule = expr.rule
        if rule.helper:
            return f"{rule.helper}({self._print(expr.args[0])})"
        return self._print(rule.code_form(expr.args[0]))

    def _print(self, expr, **kwargs) -> str:
        if isinstance(expr, sp.Expr) and expr.is_number and expr.has(sp.NumberSymbol):
            # sqrt(2/pi) as one Python float: np.sqrt(np.pi) would be a float64 scalar, which
            # turns float32 arrays into float64 (a Python float adapts to the array's dtype)
            return repr(float(expr))
        return super()._print(expr, **kwargs)

    def _print_Heaviside(self, expr) -> str:
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.Rational(1, 2)
        return f"np.heaviside({self._print(expr.args[0])}, {float(at_zero)!r})"

    def _print_Piecewise(self, expr) -> str:
        """Nested ``np.where`` (the last piece must hold everywhere, as in the registry)."""
        if expr.args[-1].cond != sp.true:
            return super()._print_Piecewise(expr)
        text = self._print(expr.args[-1].expr)
        for piece in reversed(expr.args[:-1]):
            cond, value = self._print(piece.cond), self._print(piece.expr)
            text = f"np.where({cond}, {value}, {text})"
        return text

    def _print_Relational(self, expr) -> str:
        return f"{self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)}"

    def _print_Max(self, expr) -> str:
        if len(expr.args) != 2:
            return super()._print_Max(expr)
        return f"np.maximum({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr) -> str:
        if len(expr.args) != 2:
            return super()._print_Min(expr)
        return f"np.minimum({', '.join(self._print(a) for a in expr.args)})"

    def _print_Rational(self, expr) -> str:
        q = int(expr.q)
        while q % 2 == 0:
            q //= 2
        while q % 5 == 0:
            q //= 5
        if q == 1:  # a terminating decimal prints exactly
            return repr(float(expr))
        return f"({expr.p}/{expr.q})"

    def _print_Half(self, expr) -> str:
        return "0.5"

    def print_into(self, expr: sp.Expr, out: str) -> str:
        """A statement that writes ``expr`` into the existing array ``out``.

        One ufunc call (a registry helper, or a NumPy function of one argument) takes
        ``out=`` directly: ``_sigmoid(z1, out=a1)``, ``np.tanh(z1, out=a1)``; anything else is
        computed and copied in, ``a1[...] = np.where(...)`` (``out`` may be an argument's array).
        """
        if isinstance(expr, sp.Function) and len(expr.args) == 1:
            rule = getattr(expr, "rule", None)
            if rule is not None and not rule.helper:
                return self.print_into(rule.code_form(expr.args[0]), out)
            call = self._print(expr)
            name = call[: call.index("(")] if "(" in call else ""
            if call.endswith(")") and (rule is not None or name in _UFUNCS):
                return f"{call[:-1]}, out={out})"
        return f"{out}[...] = {self._print(expr)}"


# NumPy functions of one array that are ufuncs (take ``out=``), as the printer names them.
_UFUNCS = frozenset(
    f"np.{name}"
    for name in "tanh exp expm1 log log1p sin cos sqrt square negative absolute abs".split()
)


def numpy_code(expr: sp.Expr) -> str:
    """One NumPy expression for ``expr`` (names are already valid identifiers)."""
    return NumpyCodePrinter({"order": "none"}).doprint(expr)


def numpy_into(expr: sp.Expr, out: str) -> str:
    """One statement writing ``expr`` into the array ``out`` (see :meth:`print_into`)."""
    return NumpyCodePrinter({"order": "none"}).print_into(expr, out)

"""Plain-text rendering of a derivation for the terminal (``symbackprop derive``, ``str()``).

One printer for both levels, in textbook notation with Unicode where it reads well:

- names as the notation writes them: ``w__h_11`` prints ``w^h_11``, ``delta_o1`` ``δ_o1``,
  ``w__2_1_11`` ``w^2_1,11`` (several subscripts joined by commas, as in the LaTeX), ``eta``
  ``η``, the notation's LaTeX table (``logL`` → ``log L``, ``ystar_1`` → ``y*_1``); an indexed
  layer quantity ``w__1[j, k]`` prints ``w^1_jk``;
- a gradient symbol prints ``∂E_total/∂w5``; f' in a general equation ``σ'(z^1_j)``, ∂C/∂a
  ``∂C/∂a^2_j``, a sum ``Σ_k …``, the Kronecker delta ``δ_kj``, ReLU' the Iverson bracket
  ``[z > 0]``;
- factors are written side by side; the groups the derivation builds (the chain rule's
  ``∂E/∂out × ∂out/∂net``) are joined by ``·``; minus is ``−``, small powers ``x²``;
- the layer level also prints each equation in vector form (``z^l = W^l a^(l−1) + b^l``,
  ``δ^l = ((W^(l+1))ᵀ δ^(l+1)) ⊙ σ'(z^l)``, ``∂C/∂W^l = δ^l (a^(l−1))ᵀ``).

With the spec's example (unit level), each line ends with its value. Only reads equations.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.pretty.pretty_symbology import greek_unicode
from sympy.printing.str import StrPrinter

from symbackprop.derivation.equations import Derivation, split_gradient_symbol
from symbackprop.derivation.evaluate import evaluate, format_number
from symbackprop.derivation.layer import LayerDerivation
from symbackprop.model.notation import Notation, preset
from symbackprop.rules import registry as rules

MINUS = "\u2212"
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SPECIAL_ACTIVATIONS = {"softmax": "softmax", rules.LINEAR: "id"}


def _greek(part: str) -> str:
    if part == "sum":
        return "Σ"
    return greek_unicode.get(part, part) if part != "lamda" else part


def latex_to_text(tex: str) -> str:
    """A notation table entry (``\\log L``, ``y^{*}``, ``\\sigma``) as plain text."""
    tex = tex.replace("^{*}", "*")
    tex = re.sub(r"\\operatorname\{([^}]*)\}", r"\1", tex)
    tex = re.sub(r"\\([A-Za-z]+)", lambda m: _greek(m[1]), tex)
    return tex.replace("{", "").replace("}", "")


def activation_text(name: str) -> str:
    """``σ`` for sigmoid, ``tanh``, ``ReLU`` …; ``softmax``; ``id`` for linear."""
    if name in _SPECIAL_ACTIVATIONS:
        return _SPECIAL_ACTIVATIONS[name]
    return latex_to_text(rules.activation(name).latex)


def name_text(name: str, notation: Notation | None = None) -> str:
    """A symbol's name as the notation writes it: ``w__h_11`` → ``w^h_11``, ``eta`` → ``η``."""
    table = notation.latex if notation is not None else {}
    if name in table:
        return latex_to_text(table[name])
    if "__" in name:
        base, rest = name.split("__", 1)
        parts = rest.split("_")
        if base and all(parts):
            text = f"{_base(base, table)}^{_greek(parts[0])}"
            if len(parts) > 1:
                text += "_" + ",".join(_greek(p) for p in parts[1:])
            return text
        return name.replace("__", "^")
    base, sep, rest = name.partition("_")
    parts = rest.split("_")
    if not sep or not base or not all(parts):
        return _base(name, table)
    return f"{_base(base, table)}_" + ",".join(_greek(p) for p in parts)


def _base(base: str, table: dict[str, str]) -> str:
    if base in table:
        return latex_to_text(table[base])
    return _greek(base)


def _needs_parens_as_base(text: str) -> bool:
    """``(a^1_j)²``, ``(out_h1)²``: a power next to a sub/superscript would run into it."""
    return not re.fullmatch(r"[^\W\d_]\w*", text) or "_" in text


def _number(value: sp.Expr) -> str:
    if isinstance(value, sp.Rational):
        if value == sp.Rational(1, 2):
            return "½"
        if value.q == 1:
            text = str(value.p)
        else:
            text = format_number(value) if _terminating(value) else f"{value.p}/{value.q}"
    else:
        text = sp.sstr(value)
    return text.replace("-", MINUS)


def _terminating(value: sp.Rational) -> bool:
    q = int(value.q)
    for p in (2, 5):
        while q % p == 0:
            q //= p
    return q == 1 and len(str(value.p)) < 8


_INDEXED_BASE = re.compile(r"Indexed\(IndexedBase\(Symbol\('([^']+)'\)\), (.*)\)")
_INDEX = re.compile(r"Symbol\('(\w+)'[^)]*\)|Integer\((\d+)\)")


def _indexed_from_name(name: str) -> sp.Indexed | None:
    """``w^1[j, k]`` back from the name of the layer level's gradient symbol (the parameter's
    ``srepr``), read by a pattern, never by sympify."""
    found = _INDEXED_BASE.fullmatch(name)
    if found is None:
        return None
    indices = [
        sp.Symbol(sym, integer=True, positive=True) if sym else sp.Integer(int(num))
        for sym, num in _INDEX.findall(found[2])
    ]
    return sp.IndexedBase(found[1])[tuple(indices)]


class TextPrinter(StrPrinter):
    """Textbook plain text in a notation (see the module docstring)."""

    printmethod = "_textbook_text"  # no SymPy class has it: Indexed's own _sympystr is bypassed

    def __init__(self, notation: Notation | None = None, **settings):
        settings.setdefault("order", "none")
        super().__init__(settings)
        self.notation = notation

    # --- leaves ------------------------------------------------------------------------
    def _print_Symbol(self, expr: sp.Symbol) -> str:
        grad = split_gradient_symbol(expr)
        if grad is not None:
            loss, param = grad
            indexed = _indexed_from_name(param)
            if indexed is not None:  # the layer level's ∂C/∂w^l_jk
                return f"∂{name_text(loss)}/∂{self._print(indexed)}"
            return f"∂{name_text(loss, self.notation)}/∂{name_text(param, self.notation)}"
        return name_text(expr.name, self.notation)

    _print_Dummy = _print_Symbol

    def _print_Integer(self, expr) -> str:
        return _number(expr)

    def _print_Rational(self, expr) -> str:
        return _number(expr)

    _print_Half = _print_Rational

    def _print_Float(self, expr) -> str:
        return _number(expr)

    def _print_NegativeOne(self, expr) -> str:
        return MINUS + "1"

    def _print_IndexedBase(self, expr) -> str:
        return self._print(expr.label)

    def _print_Indexed(self, expr) -> str:
        base = self._print(expr.base.label)
        indices = [self._print(i) for i in expr.indices]
        joined = "".join(indices) if all(len(i) == 1 for i in indices) else ",".join(indices)
        return f"{base}_{joined}"

    # --- operators ---------------------------------------------------------------------
    def _print_Add(self, expr, order=None) -> str:
        terms = self._as_ordered_terms(expr, order="none")
        out = ""
        for i, term in enumerate(terms):
            text = self._print(term)
            if i == 0:
                out = text
            elif text.startswith(MINUS):
                out += f" {MINUS} " + text[1:]
            else:
                out += " + " + text
        return out

    def _factor(self, factor: sp.Expr, first: bool, last: bool) -> tuple[str, bool]:
        """One factor of a product as text, and whether it is a group (joined by ``·``)."""
        if isinstance(factor, sp.Add):
            return f"({self._print(factor)})", False
        if isinstance(factor, sp.Sum) and not last:
            return f"({self._print(factor)})", False
        if isinstance(factor, sp.Mul):
            text = self._print(factor)
            return (f"({text})" if text.startswith(MINUS) and not first else text), True
        text = self._print(factor)
        if text.startswith(MINUS) and not first:
            return f"({text})", False
        return text, "/" in text and not last  # ∂C/∂a · σ'(z), but η ∂E/∂w

    def _print_Mul(self, expr) -> str:
        args = list(expr.args)
        sign = ""
        if args and args[0].is_Number and args[0] < 0:
            sign = MINUS
            args[0] = -args[0]
            if args[0] == 1 and len(args) > 1:
                args = args[1:]
        top, bottom = [], []
        for f in args:
            if isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp < 0:
                bottom.append(f.base if f.exp == -1 else sp.Pow(f.base, -f.exp))
            elif isinstance(f, sp.Rational) and not f.is_Integer and f != sp.Rational(1, 2):
                if f.p != 1:
                    top.append(sp.Integer(f.p))
                bottom.append(sp.Integer(f.q))
            else:
                top.append(f)
        text = self._product(top) if top else "1"
        if bottom:
            below = self._product(bottom)
            if len(bottom) > 1 or isinstance(bottom[0], (sp.Add, sp.Mul)):
                below = f"({below})"
            if len(top) > 1:
                text = f"({text})"
            text = f"{text}/{below}"
        return sign + text

    def _product(self, factors: list[sp.Expr]) -> str:
        n = len(factors)
        parts = [self._factor(f, i == 0, i == n - 1) for i, f in enumerate(factors)]
        out = parts[0][0]
        for (prev, prev_group), (text, group), f_prev, f in zip(
            parts, parts[1:], factors, factors[1:]
        ):
            if prev == "½" and text.startswith("("):
                sep = ""
            elif prev_group or group:
                sep = " · "
            elif f_prev.is_Number and f.is_Number:
                sep = " × "
            else:
                sep = " "
            out += sep + text
        return out

    def _print_Pow(self, expr, rational=False) -> str:
        base, exp = expr.args
        text = self._print(base)
        if exp == sp.Rational(1, 2):
            return f"√({text})"
        if exp.is_Integer and exp < 0:
            return self._print_Mul(sp.Mul(1, expr, evaluate=False))
        if isinstance(base, (sp.Add, sp.Mul, sp.Pow)) or text.startswith(MINUS):
            text = f"({text})"
        elif _needs_parens_as_base(text) and not isinstance(base, sp.Function):
            text = f"({text})"
        if exp.is_Integer and 0 < exp < 10:
            return text + str(exp).translate(SUPERSCRIPT)
        if exp.is_Integer and exp > 0:
            return f"{text}^{exp}"
        return f"{text}^({self._print(exp)})"

    def _print_Sum(self, expr) -> str:
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = f"({body})"
        for limit in reversed(expr.limits):
            body = f"Σ_{self._print(limit[0])} {body}"
        return body

    def _print_Equality(self, expr) -> str:
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    # --- functions -----------------------------------------------------------------------
    def _print_ActivationBase(self, expr) -> str:
        return f"{activation_text(expr.rule.name)}({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr) -> str:
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.Rational(1, 2)
        if at_zero not in (0, 1):
            return f"H({self._print(expr.args[0])})"
        relation = ">" if at_zero == 0 else "≥"
        return f"[{self._print(expr.args[0])} {relation} 0]"

    def _print_KroneckerDelta(self, expr) -> str:
        i, jj = (self._print(arg) for arg in expr.args)
        return f"δ_{i}{jj}"

    def _print_FPrime(self, expr) -> str:
        return f"{activation_text(expr.args[1].name)}'({self._print(expr.args[0])})"

    def _print_DCDa(self, expr) -> str:
        return f"∂C/∂{self._print(expr.args[0])}"

    def _print_Function(self, expr) -> str:
        args = ", ".join(self._print(a) for a in expr.args)
        return f"{expr.func.__name__}({args})"


def text(expr: sp.Expr, notation: Notation | None = None) -> str:
    """One expression (or ``Eq``) as text in ``notation``."""
    return TextPrinter(notation).doprint(expr)


# ---------------------------------------------------------------------------------------
# Vector form of a layer-level equation


def _free_indices(expr: sp.Expr) -> set:
    """The index symbols of ``expr``'s Indexed leaves outside any sum over them."""
    if isinstance(expr, sp.Indexed):
        return set(expr.indices)
    if isinstance(expr, sp.Sum):
        bound = {lim[0] for lim in expr.limits}
        return _free_indices(expr.function) - bound
    out: set = set()
    for arg in expr.args:
        out |= _free_indices(arg)
    return out


def _transpose(text: str) -> str:
    return f"{text}ᵀ" if re.fullmatch(r"\w", text) else f"({text})ᵀ"


class VectorTextPrinter(TextPrinter):
    """A layer-level equation with its indices dropped: vectors, matrices, ``⊙``, ``ᵀ``."""

    def _print_Indexed(self, expr) -> str:
        name = self._print(expr.base.label)
        if len(expr.indices) == 2 and name.startswith("w"):
            return "W" + name[1:]
        return name

    def _print_FPrime(self, expr) -> str:
        return f"{activation_text(expr.args[1].name)}'({self._print(expr.args[0])})"

    def _print_DCDa(self, expr) -> str:
        return "∇_a C"

    def _vector(self, factor: sp.Expr, alone: bool) -> str:
        text = self._print(factor)
        if not alone and isinstance(factor, (sp.Add, sp.Sum, sp.Mul)):
            return f"({text})"
        return text

    def _print_Mul(self, expr) -> str:
        factors = sp.Mul.make_args(_flatten_mul(expr))
        sign = ""
        scalars, vectors = [], []
        for f in factors:
            if f == -1:
                sign = MINUS if not sign else ""
            elif _free_indices(f):
                vectors.append(f)
            else:
                scalars.append(f)
        if len(vectors) < 2 or any(isinstance(f, sp.Pow) and f.exp < 0 for f in vectors):
            return super()._print_Mul(expr)  # at most one vector: an ordinary product
        head = " ".join(self._factor(f, False, False)[0] for f in scalars)
        outer_rows = [f for f in vectors if _free_indices(f) == {_J}]
        outer_cols = [f for f in vectors if _free_indices(f) == {_K}]
        if outer_rows and outer_cols and len(outer_rows) + len(outer_cols) == len(vectors):
            # a^{l−1}_k δ^l_j is the (j, k) entry of the outer product δ^l (a^{l−1})ᵀ
            rows = " ⊙ ".join(self._vector(f, len(outer_rows) == 1) for f in outer_rows)
            cols = " ⊙ ".join(self._vector(f, len(outer_cols) == 1) for f in outer_cols)
            body = f"{rows} {_transpose(cols)}"
        else:
            body = " ⊙ ".join(self._vector(f, len(vectors) == 1) for f in vectors)
        return sign + (f"{head} {body}" if head else body)

    def _print_Sum(self, expr) -> str:
        ((index, _, _),) = expr.limits
        factors = list(sp.Mul.make_args(_flatten_mul(expr.function)))
        matrices = [f for f in factors if isinstance(f, sp.Indexed) and len(f.indices) == 2]
        rest = [f for f in factors if f not in matrices]
        if len(matrices) == 1 and rest and all(_free_indices(f) <= {index} for f in rest):
            w = matrices[0]
            vector = " ⊙ ".join(self._vector(f, len(rest) == 1) for f in rest)
            if len(rest) > 1:
                vector = f"({vector})"
            name = self._print(w)
            if w.indices[0] == index:  # Σ_k w_kj v_k = (Wᵀ v)_j
                return f"{_transpose(name)} {vector}"
            return f"{name} {vector}"
        if not matrices and all(_free_indices(f) <= {index} for f in factors):
            if len(factors) >= 2:  # Σ_k u_k v_k = uᵀ v
                first = self._vector(factors[0], True)
                others = " ⊙ ".join(self._vector(f, len(factors) == 2) for f in factors[1:])
                return f"{_transpose(first)} {others}"
            return f"1ᵀ {self._vector(factors[0], False)}"
        return super()._print_Sum(expr)


_J, _K = sp.symbols("j k", integer=True, positive=True)


def _flatten_mul(expr: sp.Expr) -> sp.Expr:
    """Nested unevaluated products as one (⊙ is associative); order kept."""
    if not isinstance(expr, sp.Mul):
        return expr
    flat: list[sp.Expr] = []
    for arg in expr.args:
        inner = _flatten_mul(arg)
        flat.extend(inner.args if isinstance(inner, sp.Mul) else [inner])
    return sp.Mul(*flat, evaluate=False)


def vector_text(expr: sp.Expr) -> str:
    """A layer-level expression in vector form (``W^1 x + b^1``)."""
    return VectorTextPrinter(preset("nielsen")).doprint(expr)


# ---------------------------------------------------------------------------------------
# Unit level


def _value_text(value, digits: int) -> str:
    text = format_number(value, digits)
    return re.sub(r" \\times 10\^\{(-?\d+)\}", r"e\1", text)  # ASCII: numbers copy into code


def _columns(rows: list[tuple[str, str, str]], indent: str = "  ") -> list[str]:
    """``label  equation  = value`` rows, values in one column where the lines are short."""
    width = max((len(eq) for _, eq, v in rows if v and len(eq) <= 60), default=0)
    out = []
    for label, eq, value in rows:
        line = f"{indent}{label:4s} {eq}"
        if value:
            line = f"{indent}{label:4s} {eq.ljust(width)}  = {value}"
        out.append(line.rstrip())
    return out


def derivation_text(derivation: Derivation, *, digits: int = 9) -> str:
    """The forward pass, δ's, gradients and updates as labelled lines, with the example's
    numbers when the spec gives them."""
    net = derivation.network
    notation = net.notation
    printer = TextPrinter(notation)
    worked = evaluate(derivation) if net.has_example else None
    known = net.value_map

    def value(symbol: sp.Symbol) -> str:
        return "" if worked is None else _value_text(worked.all[symbol], digits)

    def s(expr: sp.Expr) -> str:
        return printer.doprint(expr)

    loss = s(net.loss)
    rate = s(net.learning_rate)
    about = f"{len(net.params)} parameters, loss {loss}"
    about += " (maximised: gradient ascent)" if net.maximize else ""
    about += f", learning rate {rate}"
    if net.learning_rate in known:
        about += f" = {_value_text(known[net.learning_rate], digits)}"
    head = f"{net.name}: {net.title}" if net.title else f"network '{net.name}'"
    lines = [head, f"{notation.name} notation; {about}"]
    if worked is None:
        lines.append("(no worked example: the spec does not give every value)")

    lines.append("\nforward")
    lines += _columns([(f.label, f"{s(f.symbol)} = {s(f.expr)}", value(f.symbol)) for f in
                       derivation.forward])  # fmt: skip
    lines.append(f"\nδ's (δ of a node n is ∂{loss}/∂n)")
    lines += _columns(
        [(d.label, f"{s(d.symbol)} = {s(d.expr)}", value(d.symbol)) for d in derivation.deltas]
    )
    lines += _simplification_lines(derivation, s)
    lines.append("\ngradients")
    rows = []
    for g in derivation.gradients:
        gsym = derivation.gradient_symbol(g.param)
        rows.append((g.label, f"{s(gsym)} = {s(g.expr)}", value(gsym)))
    lines += _columns(rows)
    lines.append("\nupdates")
    lines += _columns(_update_rows(derivation, printer, worked, digits))
    return "\n".join(lines)


def _update_rows(derivation, printer: TextPrinter, worked, digits: int) -> list:
    """``p⁺ = p − η ∂E/∂p`` per parameter; in the Δ style (Fausett) ``Δp = −α ∂E/∂p`` first,
    then ``p⁺ = p + Δp``."""
    net = derivation.network
    rows = []
    for u in derivation.updates:
        p = printer.doprint(u.param)
        after = "" if worked is None else _value_text(worked.updated[u.param], digits)
        step = u.expr.args[1] if isinstance(u.expr, sp.Add) and u.expr.args[0] == u.param else None
        if net.notation.update_style != "delta" or step is None:
            rows.append((u.label, f"{p}⁺ = {printer.doprint(u.expr)}", after))
            continue
        change = ""
        if worked is not None:
            change = _value_text(worked.updated[u.param] - net.value_map[u.param], digits)
        rows.append((u.label, f"Δ{p} = {printer.doprint(step)}", change))
        rows.append(("", f"{p}⁺ = {p} + Δ{p}", after))
    return rows


# ---------------------------------------------------------------------------------------
# Layer level


def _layer_rows(rows: list[tuple[str, str, str] | str]) -> list[str]:
    """``label  index form    vector form``; the vector form on its own line when long; a
    plain string is a heading."""
    width = min(max(len(r[1]) for r in rows if not isinstance(r, str)), 46)
    out = []
    for row in rows:
        if isinstance(row, str):
            out.append(row)
            continue
        label, index, vector = row
        if not vector:
            out.append(f"  {label:4s} {index}".rstrip())
        elif len(index) <= width:
            out.append(f"  {label:4s} {index.ljust(width)}    {vector}")
        else:
            out.append(f"  {label:4s} {index}")
            out.append(f"  {'':4s} {'':{width}s}    {vector}")
    return out


def layer_derivation_text(d: LayerDerivation) -> str:
    """A :class:`LayerDerivation` as text: the cost, the forward pass and BP1–BP4 of every layer,
    in index form (general and specialised to the net's activations and loss) and vector form."""
    net = d.net
    rule = d.output
    L = net.depth
    p = TextPrinter(preset("nielsen"))
    acts = ", ".join(f"f_{i} = {activation_text(a)}" for i, a in enumerate(net.activations, 1))
    lines = [f"{net.name}: {net.title}" if net.title else f"network '{net.name}'"]
    lines.append(
        f"layers {' → '.join(str(n) for n in net.sizes)}; {acts}; loss {net.loss}"
        + (" (a log-likelihood: gradient ascent)" if rule.maximize else "")
    )
    lines.append(f"training: {_optimizer_text(net)}")
    lines.append(
        "notation: a^0 = x is the input, y the target; z^l = W^l a^(l−1) + b^l, a^l = f_l(z^l);"
        "\n  w^l_jk (row j, column k of W^l) joins unit k of layer l−1 to unit j of layer l;"
        "\n  δ^l_j = ∂C/∂z^l_j; ⊙ is the elementwise product, f, f' and powers of a vector"
        " act elementwise"
    )
    if rule.assumption:
        lines.append(f"assumes: {latex_to_text(rule.assumption)}")

    lines.append("\ncost")
    sign, lam = ("−", "λ") if rule.maximize else ("+", "λ")
    name = "C"
    lines.append(f"  one example x:  C_x = {p.doprint(d.cost)}")
    decay = ""
    if net.weight_decay:
        decay = f" {sign} {lam}/2 Σ w²"
    if net.reduction == "mean":
        batch = f"{name} = (1/n)(Σ_x C_x{decay})" if decay else f"{name} = (1/n) Σ_x C_x"
    else:
        batch = f"{name} = Σ_x C_x{decay}"
    lines.append(f"  a batch of n:   {batch}   (weights only; λ = {net.weight_decay:g})"
                 if decay else f"  a batch of n:   {batch}")  # fmt: skip
    if decay:
        lines.append(
            f"  the {'−' if rule.maximize else ''}λ w^l_jk in BP4 is the L2 term's share for one"
            " example (n = 1)"
        )

    rows: list = ["\nforward (l = 1 … L; j = 1 … n_l, k = 1 … n_(l−1))"]
    for f in d.forward:
        l = f.layer
        prev = "x" if l == 1 else f"a^{l - 1}"
        rows.append((f"F{l}", p.doprint(f.z), f"z^{l} = W^{l} {prev} + b^{l}"))
        rows.append(("", p.doprint(f.a), f"a^{l} = {activation_text(f.activation)}(z^{l})"))

    rows.append("\nbackward (BP1 for the output layer, BP2 down the hidden layers)")
    grads = {(g.layer, g.label): g for g in d.gradients}
    for delta in d.deltas:
        l = delta.layer
        rows.append(f" layer {l}" + (" (output)" if l == L else ""))
        general, special = p.doprint(delta.general.rhs), p.doprint(delta.specialised.rhs)
        lhs = p.doprint(delta.general.lhs)
        if l == L and rule.activation == "softmax":
            vgeneral = f"δ^{L} = (diag(a^{L}) − a^{L} (a^{L})ᵀ) ∇_a C"
        else:
            vgeneral = f"δ^{l} = {vector_text(delta.general.rhs)}"
        rows.append((delta.label, f"{lhs} = {general}", vgeneral))
        if special != general:
            pad = " " * len(lhs)
            rows.append(("", f"{pad} = {special}", f"{' ' * len(f'δ^{l}')} = "
                         + vector_text(delta.specialised.rhs)))  # fmt: skip
        for label in ("BP3", "BP4"):
            g = grads[(l, label)]
            rows.append(
                (label, p.doprint(g.index), f"{_grad_vector(g)} = {vector_text(g.index.rhs)}")
            )
    lines += _layer_rows(rows)
    return "\n".join(lines)


def _grad_vector(g) -> str:
    return f"∂C/∂W^{g.layer}" if g.label == "BP4" else f"∂C/∂b^{g.layer}"


def _optimizer_text(net) -> str:
    settings = "".join(f", {k} = {v:g}" for k, v in net.optimizer.settings)
    return f"{net.optimizer.name}, η = {net.learning_rate:g}{settings}"


def _simplification_lines(derivation: Derivation, s) -> list[str]:
    """The output δ's of a matched output layer, step by step down to ``a − y`` (``s`` prints
    an expression in the notation)."""
    if not derivation.simplifications:
        return []
    m = derivation.network.matched
    lines = [f"\noutput δ's: {m.activation} with {m.loss}, step by step"]
    for simp in derivation.simplifications:
        for a_i, z_k, jac in simp.jacobian:
            lines.append(f"  {simp.label:4s} ∂{s(a_i)}/∂{s(z_k)} = {s(jac)}")
        lhs = s(simp.delta)
        pad = " " * (len(lhs) + 7)
        lines.append(f"  {simp.label:4s} {lhs} = {s(simp.steps[0])}")
        lines += [f"{pad}= {s(step)}" for step in simp.steps[1:]]
        if simp.condition is not None:
            lines[-1] += f"   (using {s(simp.condition.lhs)} = {s(simp.condition.rhs)})"
    return lines

"""NumPy module generation: equations → printed statements → jinja2 template → black.

Python prints every expression to a string here; the template only places them. The result is
checked before anyone writes it: it must compile, import only numpy and define the interface of
DESIGN.md (see :mod:`codegen.audit`).

Where the textbook form would overflow, the code computes the same quantity stably: a softmax
layer subtracts the largest net input before ``exp`` (``_softmax_max``, ``_softmax_sum``), and
the loss takes ``log a_k = z_k − max − log Σ`` instead of the log of a rounded-to-0 output; with
a sigmoid output, ``log a = −softplus(−z)`` and ``log(1 − a) = −softplus(z)``. The output δ's are
the derivation's simplified ``a − y``, so logits of ±1000 give no NaN and no warning.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import black
import sympy as sp

from symbackprop import __version__
from symbackprop.codegen.audit import audit_module
from symbackprop.codegen.gcpause import paused_gc
from symbackprop.codegen.pyformat import format_module
from symbackprop.codegen.runtime import render_with_runtime
from symbackprop.derivation.equations import Derivation
from symbackprop.printers.printing import NumpyCodePrinter, numpy_code
from symbackprop.printers.pystr import docstring_literal
from symbackprop.rules.registry import ACTIVATIONS, ActivationBase, numeric_kernels


@dataclass(frozen=True)
class Statement:
    """``target = code  # comment``: one line of generated code (``scalar``: on Python floats)."""

    target: str
    code: str
    comment: str
    scalar: str = ""


class ScalarCodePrinter(NumpyCodePrinter):
    """Python-float expressions for the unrolled scalar path of the generated module.

    Arithmetic stays plain Python (no ufunc dispatch); registry activations call the scalar
    helpers; any other function goes through NumPy and back to a float, and so does a power
    whose exponent is not an integer (Python would return a complex number for a negative base).
    Python raises where NumPy would warn (division by zero, overflow in ``**``): the generated
    module then reruns the batch on the NumPy path, so both paths give the same inf/nan.
    """

    def _print_ActivationBase(self, expr) -> str:
        arg = self._print(expr.args[0])
        if expr.rule.name == "sigmoid" and expr.args[0].is_Symbol:
            # _sigmoid1 inlined (a call costs as much as the arithmetic): exp of -|z| only
            return f"(1.0 / (1.0 + _E**-{arg}) if {arg} >= 0 else _E**{arg} / (1.0 + _E**{arg}))"
        rule = expr.rule
        if rule.scalar_helper:
            return f"{rule.scalar_helper}({arg})"
        if rule.helper:
            return f"float({rule.helper}({arg}))"
        return self._print(rule.code_form(expr.args[0]))

    def _print_Piecewise(self, expr) -> str:
        if expr.args[-1].cond != sp.true:
            return super()._print_Piecewise(expr)
        text = self._print(expr.args[-1].expr)
        for piece in reversed(expr.args[:-1]):
            text = f"({self._print(piece.expr)} if {self._print(piece.cond)} else {text})"
        return text

    def _print_Heaviside(self, expr) -> str:
        return f"(1.0 if {self._print(expr.args[0])} > 0 else 0.0)"

    def _print_Max(self, expr) -> str:
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr) -> str:
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Pow(self, expr, rational=False) -> str:
        if expr.exp.is_Integer:
            return super()._print_Pow(expr, rational=rational)
        base, exp = self._print(expr.base), self._print(expr.exp)
        return f"float(np.power({base}, {exp}))"

    def _print(self, expr, **kwargs) -> str:
        special = (ActivationBase, sp.Heaviside, sp.Max, sp.Min, sp.Piecewise)
        if isinstance(expr, sp.Function) and not isinstance(expr, special):
            return f"float({super()._print(expr, **kwargs)})"
        return super()._print(expr, **kwargs)


def scalar_code(expr: sp.Expr) -> str:
    """One expression on Python floats for the unrolled scalar path."""
    return ScalarCodePrinter({"order": "none"}).doprint(numeric_kernels(expr))


def array_code(expr: sp.Expr) -> str:
    """One NumPy expression, with the numerically stable kernels (``1 - exp(u)`` as expm1)."""
    return numpy_code(numeric_kernels(expr))


def gradient_code(expr: sp.Expr) -> str:
    """A G equation on the NumPy path: a constant (0 where the loss does not depend on the
    parameter) becomes an array of the batch in the dtype of ``x``, not a Python int that
    ``np.sum`` would return as an integer."""
    if expr.free_symbols:
        return array_code(expr)
    return f"np.full(_n, {array_code(expr)}, _x.dtype)"


class FlatCodePrinter(ScalarCodePrinter):
    """Python floats for ``gradients_flat``, where every nanosecond counts: the sigmoid without
    its branch (``_E ** -z`` raises OverflowError for z < -709, and the function then falls
    back on NumPy) and integer constants as float literals (float-float arithmetic is the
    interpreter's fast path; int-float is not)."""

    def _print_ActivationBase(self, expr) -> str:
        if expr.rule.name != "sigmoid":
            return super()._print_ActivationBase(expr)
        arg = self._print(expr.args[0])
        power = f"-{arg}" if expr.args[0].is_Symbol else f"-({arg})"
        return f"1.0 / (1.0 + _E**{power})"

    def _print_Integer(self, expr) -> str:
        return f"{int(expr)}.0"


def flat_code(expr: sp.Expr) -> str:
    """One expression on Python floats for ``gradients_flat``."""
    return FlatCodePrinter({"order": "none"}).doprint(numeric_kernels(expr))


@dataclass(frozen=True)
class CodeEquation:
    """A forward statement before printing: ``target = expr`` (``array``/``scalar`` already
    printed when the statement is not an expression SymPy prints, the max of a softmax)."""

    target: str
    expr: sp.Expr | None
    comment: str
    array: str = ""
    scalar: str = ""


def _softmax_code(nodes, pre_of, labels) -> tuple[list[CodeEquation], dict]:
    """The stable statements of a softmax layer, and ``log a_k`` per output for the loss."""
    pres = [pre_of[n.symbol] for n in nodes]
    names = [z.name for z in pres]
    nested = names[0]
    for name in names[1:]:
        nested = f"np.maximum({nested}, {name})"
    top, total = sp.Symbol("_softmax_max"), sp.Symbol("_softmax_sum")
    span = f"{labels[nodes[0].symbol]}-{labels[nodes[-1].symbol]}"
    comment = f"{span}: softmax, stable: the largest net input is subtracted before exp"
    out = [CodeEquation(top.name, None, comment, nested, f"max({', '.join(names)})")]
    exps = [sp.Symbol(f"_softmax_exp_{i}") for i in range(1, len(pres) + 1)]
    out += [CodeEquation(e.name, sp.exp(z - top), comment) for e, z in zip(exps, pres)]
    out.append(CodeEquation(total.name, sp.Add(*exps), comment))
    logs = {}
    for node, e, z in zip(nodes, exps, pres):
        text = f"{labels[node.symbol]}: {node.symbol.name} = {_plain(node.expr)}"
        out.append(CodeEquation(node.symbol.name, e / total, text))
        logs[sp.log(node.symbol)] = z - top - sp.log(total)
    return out, logs


def _sigmoid_logs(net) -> dict:
    """``log a = −softplus(−z)`` and ``log(1 − a) = −softplus(z)`` for a sigmoid output."""
    softplus = ACTIVATIONS["softplus"].function
    logs = {}
    for z, a in zip(net.matched.pre, net.matched.out):
        logs[sp.log(a)] = -softplus(-z)
        logs[sp.log(1 - a)] = -softplus(z)
    return logs


def _stable_log(expr: sp.Expr, logs: dict) -> sp.Expr:
    """``expr`` with each ``log(u)`` whose value is a key of ``logs`` replaced by its stable form
    (the loss term's textbook ``log(1 − a)`` is matched by value, not by shape)."""
    if not logs:
        return expr
    return expr.replace(
        lambda e: isinstance(e, sp.log) and sp.log(e.args[0].doit()) in logs,
        lambda e: logs[sp.log(e.args[0].doit())],
    )


def code_equations(derivation: Derivation) -> tuple[list[CodeEquation], sp.Expr]:
    """The forward statements as the code computes them, and the loss expression."""
    net = derivation.network
    softmax = [n for n in net.nodes if n.softmax]
    # a softmax layer's node i lists ∂a_i/∂z_k for every k in order, so its own z is the i-th
    pre_of = {n.symbol: n.local[i][0] for i, n in enumerate(softmax)}
    labels = {f.symbol: f.label for f in derivation.forward}
    out: list[CodeEquation] = []
    logs: dict = {}
    for f in derivation.forward[:-1]:
        node = net.node(f.symbol)
        if node.softmax:
            if node is softmax[0]:
                statements, logs = _softmax_code(softmax, pre_of, labels)
                out += statements
            continue
        comment = f"{f.label}: {f.symbol.name} = {_plain(f.expr)}"
        out.append(CodeEquation(f.symbol.name, f.expr, comment))
    if net.matched is not None and net.matched.activation == "sigmoid":
        logs = _sigmoid_logs(net)
    return out, _stable_log(derivation.forward[-1].expr, logs)


def _float(value: sp.Expr) -> str:
    return repr(float(value))


def _unpack(symbols) -> str:
    """The target that unpacks one row into named floats: ``(i1, i2)`` or ``(i1,)``."""
    names = [s.name for s in symbols]
    if not names:
        return "()"
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _plain(expr: sp.Expr) -> str:
    """A one-line, human form of an equation for comments (``sstr``: ``w5*out_h1``)."""
    return sp.sstr(expr, order="none")


# The unrolled scalar path pays off for tiny nets at batch 1, where NumPy's per-call overhead is
# nearly all of the cost; beyond this size it would only double the module (and black's time).
SCALAR_PATH_MAX_PARAMS = 200


def unit_context(derivation: Derivation, *, source: str) -> dict:
    """Everything the unit-level template needs, already printed."""
    net = derivation.network
    scalar_path = len(net.params) <= SCALAR_PATH_MAX_PARAMS
    scalar = scalar_code if scalar_path else (lambda expr: "")
    flat = flat_code if scalar_path else (lambda expr: "")
    values = net.value_map
    loss_eq = derivation.forward[-1]
    equations, loss_expr = code_equations(derivation)
    forward = [
        Statement(
            e.target,
            e.array or array_code(e.expr),
            e.comment,
            e.scalar or scalar(e.expr),
        )
        for e in equations
    ]
    deltas = [
        Statement(
            d.symbol.name,
            array_code(d.expr),
            f"{d.label}: {d.symbol.name} = d{net.loss.name}/d{d.of.name}",
            scalar(d.expr),
        )
        for d in derivation.deltas
    ]
    gradients = [
        Statement(
            g.param.name,
            gradient_code(g.expr),
            f"{g.label}: d{net.loss.name}/d{g.param.name} = {_plain(g.expr)}",
            scalar(g.expr),
        )
        for g in derivation.gradients
    ]
    flat_forward = [replace(s, scalar=e.scalar or flat(e.expr)) for s, e in zip(forward, equations)]
    flat_deltas = [replace(s, scalar=flat(d.expr)) for s, d in zip(deltas, derivation.deltas)]
    # Every parameter has a G equation (0 where the loss does not depend on it); in PARAMS order.
    by_param = {
        g.param: replace(s, scalar=flat(g.expr)) for s, g in zip(gradients, derivation.gradients)
    }
    flat_gradients = [by_param[p] for p in net.params]
    sign = "+" if net.maximize else "-"
    has_example = net.has_example
    return dict(
        # Free text reaches the module only through the docstring printer (pystr): the template
        # renders the docstring's text and python_docstring prints it as one string literal.
        python_docstring=docstring_literal,
        name=net.name,
        description=net.title or f"Spec: {source}. symbackprop {__version__}.",
        inputs=[s.name for s in net.inputs],
        inputs_tuple=repr(tuple(s.name for s in net.inputs)),
        targets_tuple=repr(tuple(s.name for s in net.targets)),
        outputs_tuple=repr(tuple(s.name for s in net.outputs)),
        params_tuple=repr(tuple(s.name for s in net.params)),
        initial_dict=repr({p.name: float(values[p]) for p in net.params if p in values}),
        targets=[s.name for s in net.targets],
        outputs=[s.name for s in net.outputs],
        params=[s.name for s in net.params],
        loss_name=net.loss.name,
        loss_code=array_code(loss_expr),
        loss_scalar=scalar(loss_expr),
        scalar_path=scalar_path,
        inputs_unpack=_unpack(net.inputs),
        targets_unpack=_unpack(net.targets),
        gradient_keys=repr(tuple(g.param.name for g in derivation.gradients)),
        loss_comment=f"{loss_eq.label}: {net.loss.name} = {_plain(loss_eq.expr)}",
        learning_rate=_float(values.get(net.learning_rate, sp.Rational(1, 10))),
        has_example=has_example,
        example_x=[_float(values[s]) for s in net.inputs] if has_example else [],
        example_t=[_float(values[s]) for s in net.targets] if has_example else [],
        has_initial=all(p in values for p in net.params),
        maximize=net.maximize,
        mean=net.reduction == "mean",
        reduce="np.mean" if net.reduction == "mean" else "np.sum",
        forward=forward,
        deltas=deltas,
        gradients=gradients,
        flat_forward=flat_forward,
        flat_deltas=flat_deltas,
        flat_gradients=flat_gradients,
        params_unpack=_unpack(net.params),
        update_rule=f"p{'+'} = p {sign} lr * d{net.loss.name}/dp",
        **_optimizer_context(net),
    )


def _optimizer_context(net) -> dict:
    """The update rules of :mod:`codegen.optimizers`, on this level's gradients (a dict of
    scalars, fresh on every call)."""
    from symbackprop.codegen.optimizers import optimizer_context  # it imports Statement

    return optimizer_context(
        net.optimizers[0],
        gradients="value, grads = _evaluate(params, x, t)",
        release="",
        updatable="_updatable",
    )


# Black's settings for every generated module (the project's own: line length 100).
BLACK_MODE = black.Mode(line_length=100)


def format_python(source: str) -> str:
    """Black's formatting of generated Python, in-process and in linear time (see pyformat)."""
    return format_module(source, BLACK_MODE)


def generate_module(derivation: Derivation, *, source: str) -> str:
    """The generated module's text (without the do-not-edit header), formatted and audited."""
    with paused_gc():
        text = render_with_runtime("unit", unit_context(derivation, source=source))
        text = format_python(text)
        audit_module(text, expected=("init_params", "forward", "loss", "gradients", "sgd_step"))
    return text

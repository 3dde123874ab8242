"""NumPy module generation: equations → printed statements → jinja2 template → black.

Python prints every expression to a string here; the template only places them. The result is
checked before anyone writes it: it must compile, import only numpy and define the interface of
DESIGN.md (see :mod:`audit`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import black
import sympy as sp

from symbackprop import __version__
from symbackprop.codegen.audit import audit_module
from symbackprop.codegen.gcpause import paused_gc
from symbackprop.codegen.pyformat import format_module
from symbackprop.derivation.equations import Derivation
from symbackprop.output.render import render
from symbackprop.printers.printing import NumpyCodePrinter, numpy_code
from symbackprop.printers.pystr import docstring_literal
from symbackprop.rules.registry import LEAKY_SLOPE, ActivationBase, numeric_kernels

# Activations with a pure-Python helper for Python floats in the template; others call their
# NumPy helper on the float and convert back.
_SCALAR_HELPERS = {"sigmoid": "_sigmoid1", "relu": "_relu1", "leaky_relu": "_leaky_relu1"}


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
        helper = _SCALAR_HELPERS.get(expr.rule.name)
        return f"{helper}({arg})" if helper else f"float({expr.rule.numpy_helper}({arg}))"

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
        special = (ActivationBase, sp.Heaviside, sp.Max, sp.Min)
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


def _float(value: sp.Expr) -> str:
    return repr(float(value))


def _helpers(derivation: Derivation) -> set[str]:
    used = set()
    for eq in derivation.forward:
        for f in eq.expr.atoms(ActivationBase):
            used.add(f.rule.name)
    return used


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
    forward = [
        Statement(
            f.symbol.name,
            array_code(f.expr),
            f"{f.label}: {f.symbol.name} = {_plain(f.expr)}",
            scalar(f.expr),
        )
        for f in derivation.forward[:-1]
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
    flat_forward = [replace(s, scalar=flat(f.expr)) for s, f in zip(forward, derivation.forward)]
    flat_deltas = [replace(s, scalar=flat(d.expr)) for s, d in zip(deltas, derivation.deltas)]
    # Every parameter has a G equation (0 where the loss does not depend on it); in PARAMS order.
    by_param = {
        g.param: replace(s, scalar=flat(g.expr)) for s, g in zip(gradients, derivation.gradients)
    }
    flat_gradients = [by_param[p] for p in net.params]
    sign = "+" if net.maximize else "-"
    used = _helpers(derivation)
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
        loss_code=array_code(loss_eq.expr),
        loss_scalar=scalar(loss_eq.expr),
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
        use_sigmoid="sigmoid" in used,
        use_relu="relu" in used,
        use_softplus="softplus" in used,
        use_leaky_relu="leaky_relu" in used,
        leaky_slope=_float(LEAKY_SLOPE),
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
        text = render("numpy", "unit.py.jinja", **unit_context(derivation, source=source))
        text = format_python(text)
        audit_module(text, expected=("init_params", "forward", "loss", "gradients", "sgd_step"))
    return text

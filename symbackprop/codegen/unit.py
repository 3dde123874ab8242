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

from dataclasses import dataclass

import black
import sympy as sp

from symbackprop import __version__
from symbackprop.codegen.audit import audit_module
from symbackprop.codegen.gcpause import paused_gc
from symbackprop.codegen.optimizers import chosen_rules, optimizer_context
from symbackprop.codegen.pyformat import format_module
from symbackprop.codegen.runtime import render_with_runtime
from symbackprop.derivation.equations import Delta, Derivation, Forward, Gradient
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
    """One expression on Python floats for ``gradients_flat``, the module's one-example path."""
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
        text = f"{labels[node.symbol]}: output of {node.unit or node.symbol.name}, softmax"
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
        out.append(CodeEquation(f.symbol.name, f.expr, forward_comment(f, net)))
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
    """A one-line, human form of an expression for comments (``sstr``: ``w5*out_h1``)."""
    return sp.sstr(expr, order="none")


def forward_comment(f: Forward, net) -> str:
    """What a forward equation computes, by its handout label: ``F1: net input of h1``."""
    node = net.node(f.symbol) if f.kind != "loss" else None
    unit = f" of {node.unit}" if node is not None and node.unit else f" {f.symbol.name}"
    if f.kind == "pre":
        return f"{f.label}: net input{unit}"
    if f.kind == "act":
        rule = getattr(f.expr, "rule", None)
        return f"{f.label}: output{unit}" + (f", {rule.name}" if rule is not None else "")
    if f.kind == "loss":
        return f"{f.label}: the loss {f.symbol.name} of one example"
    return f"{f.label}: node {f.symbol.name}"


def delta_comment(d: Delta, loss: sp.Symbol, deltas: set) -> str:
    """``D3: δ = ∂E/∂net_h1, δ-recursion from delta_o1, delta_o2`` (or ``output δ``)."""
    head = f"{d.label}: {d.symbol.name} = ∂{loss.name}/∂{d.of.name}"
    upstream = [t.upstream for t in d.terms if t.upstream in deltas]
    if upstream and len(upstream) == len(d.terms):
        return f"{head}, δ-recursion from {', '.join(u.name for u in upstream)}"
    return f"{head}, output δ"


def gradient_comment(g: Gradient, loss: sp.Symbol) -> str:
    """``G1: ∂E/∂w5 = delta_o1·∂net_o1/∂w5``: the chain rule through each node ``p`` feeds."""
    head = f"{g.label}: ∂{loss.name}/∂{g.param.name}"
    if not g.terms:
        return f"{head} = 0 ({loss.name} does not depend on {g.param.name})"
    parts = [
        (
            f"{_plain(t.delta)}·∂{t.local.num.name}/∂{t.local.den.name}"
            if t.delta.is_Symbol
            else f"∂{loss.name}/∂{t.local.num.name}·∂{t.local.num.name}/∂{t.local.den.name}"
        )
        for t in g.terms
    ]
    return f"{head} = {' + '.join(parts)}"


def _once(comments: list[str]) -> list[str]:
    """Each comment where it first appears in a run (a softmax's statements share one)."""
    return [c if i == 0 or c != comments[i - 1] else "" for i, c in enumerate(comments)]


# The scalar path pays off for tiny nets at batch 1, where NumPy's per-call overhead is nearly
# all of the cost; beyond this size it would only double the module (and black's time).
SCALAR_PATH_MAX_PARAMS = 200


def unit_context(derivation: Derivation, *, source: str, optimizers=None) -> dict:
    """Everything the unit-level template needs, already printed (``optimizers``: the rules to
    emit besides the spec's, see :func:`codegen.optimizers.optimizer_context`)."""
    net = derivation.network
    scalar_path = len(net.params) <= SCALAR_PATH_MAX_PARAMS
    flat = flat_code if scalar_path else (lambda expr: "")
    values = net.value_map
    loss_eq = derivation.forward[-1]
    equations, loss_expr = code_equations(derivation)
    comments = _once([e.comment for e in equations])
    forward = [
        Statement(e.target, e.array or array_code(e.expr), c, e.scalar or flat(e.expr))
        for e, c in zip(equations, comments)
    ]
    delta_symbols = {d.symbol for d in derivation.deltas}
    deltas = [
        Statement(
            d.symbol.name,
            array_code(d.expr),
            delta_comment(d, net.loss, delta_symbols),
            flat(d.expr),
        )
        for d in derivation.deltas
    ]
    gradients = [
        Statement(g.param.name, gradient_code(g.expr), gradient_comment(g, net.loss), flat(g.expr))
        for g in derivation.gradients
    ]
    # Every parameter has a G equation (0 where the loss does not depend on it); in PARAMS order.
    by_param = {g.param: s for s, g in zip(gradients, derivation.gradients)}
    has_initial = all(p in values for p in net.params)
    specs = net.optimizers
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
        initial_dict=repr({p.name: float(values[p]) for p in net.params} if has_initial else {}),
        targets=[s.name for s in net.targets],
        outputs=[s.name for s in net.outputs],
        params=[s.name for s in net.params],
        loss_name=net.loss.name,
        loss_code=array_code(loss_expr),
        loss_scalar=flat(loss_expr),
        scalar_path=scalar_path,
        inputs_unpack=_unpack(net.inputs),
        targets_unpack=_unpack(net.targets),
        forward_unpack=_unpack([sp.Symbol(e.target) for e in equations]),
        loss_comment=forward_comment(loss_eq, net),
        learning_rate=_float(values.get(net.learning_rate, sp.Rational(1, 10))),
        has_example=net.has_example,
        example_x=[_float(values[s]) for s in net.inputs] if net.has_example else [],
        example_t=[_float(values[s]) for s in net.targets] if net.has_example else [],
        has_initial=has_initial,
        maximize=net.maximize,
        mean=net.reduction == "mean",
        reduce="np.mean" if net.reduction == "mean" else "np.sum",
        forward=forward,
        deltas=deltas,
        gradients=gradients,
        flat_forward=forward,
        flat_deltas=deltas,
        flat_gradients=[by_param[p] for p in net.params],
        params_unpack=_unpack(net.params),
        **optimizer_context(
            specs,
            gradients="value, grads = _evaluate(params, x, t, check_inputs)",
            release="",
            updatable="_updatable",
            extra=optimizers,
        ),
        optimizer_names=chosen_rules(specs, optimizers),
    )


# Black's settings for every generated module (the project's own: line length 100).
BLACK_MODE = black.Mode(line_length=100)


def format_python(source: str) -> str:
    """Black's formatting of generated Python, in-process and in linear time (see pyformat)."""
    return format_module(source, BLACK_MODE)


# Every generated module defines these, whatever its optimizers (see DESIGN.md).
EXPECTED = ("init_params", "forward", "loss", "gradients", "optimizer_init", "optimizer_step")


def generate_module(derivation: Derivation, *, source: str, optimizers=None) -> str:
    """The generated module's text (without the do-not-edit header), formatted and audited.

    ``optimizers``: rule names to emit besides the spec's, or ``["all"]``; None for the spec's
    alone (``codegen --optimizers``).
    """
    with paused_gc():
        text = render_with_runtime(
            "unit", unit_context(derivation, source=source, optimizers=optimizers)
        )
        text = format_python(text)
        audit_module(text, expected=EXPECTED)
    return text

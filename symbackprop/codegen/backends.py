"""Layer-level modules for torch, JAX, CuPy and any array-API namespace, from the derivation.

The NumPy module (:mod:`codegen.layer`) is the default backend. The others are printed from the
same :class:`LayerDerivation`, statement by statement: every per-unit rule (f, f', BP1's δ^L, the
stable loss term, the optimizers' updates) goes through :mod:`printers.array_code` with the
backend's namespace table, and the array plumbing (batch-first products, sums over the batch)
comes from :class:`Backend`. Templates under ``templates/<backend>/`` only lay the statements out;
the pieces the backends share (the backward pass, both kinds of optimizer) live in
``templates/array_api/``, the generic backend's directory, which every backend's loader also
searches. The result is formatted like the NumPy module and audited
(:mod:`codegen.backends_audit`).

Batch-first, as the NumPy module: ``z{l} = a{l-1} @ W{l}.T + b{l}`` (JAX: ``_linear``, which
writes one example as ``(W{l} @ a{l-1}.T).T + b{l}``), BP2's (W^{l+1})ᵀ δ^{l+1} is
``delta{l+1} @ W{l+1}``, BP4's Σ_x δ^l (a^{l−1})ᵀ is ``delta{l}.T @ a{l-1}``. Under
``reduction = "mean"`` δ^L is divided by N right after BP1 (the smallest array; every gradient is
linear in it), and the L2 term's gradient is λ W / N.

Nothing in a generated module's hot path copies to the host or reads a value there (no
``.item()``, ``.cpu()``, ``.numpy()``, ``float(tensor)``): the loss is a 0-d array of the
library, sizes come from shapes, and constants are Python numbers, which every library adapts to
the array's dtype.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
import sympy as sp

from symbackprop import __version__
from symbackprop.codegen.backends_audit import audit_backend_module
from symbackprop.codegen.backends_names import BACKENDS
from symbackprop.codegen.inplace import TORCH_CALLS, _chain, multiply_in_place
from symbackprop.codegen.layer import (
    _decay_text,
    _fused_form,
    _fused_softmax,
    _output_difference,
    _uses_z,
    forward_statements,
)
from symbackprop.codegen.optimizers import chosen_rules
from symbackprop.codegen.unit import Statement, format_python
from symbackprop.derivation.layer import LayerDerivation
from symbackprop.errors import InvalidInput
from symbackprop.output.render import _COMMON, TEMPLATES_DIR
from symbackprop.printers.array_code import NAMESPACES, array_code
from symbackprop.printers.pystr import docstring_literal
from symbackprop.rules.layer_losses import SOFTMAX
from symbackprop.rules.layer_losses import a as a_sym
from symbackprop.rules.layer_losses import logp as logp_sym
from symbackprop.rules.layer_losses import y as y_sym
from symbackprop.rules.layer_losses import z as z_sym
from symbackprop.rules.optimizers import OPTIMIZERS, Optimizer, OptimizerSpec, p, settings_for
from symbackprop.rules.optimizers import step as step_symbol
from symbackprop.rules.registry import ACTIVATIONS, numeric_kernels


@dataclass(frozen=True)
class Backend:
    """What differs between the generated modules of two array libraries, besides the printer's
    names (:data:`printers.array_code.NAMESPACES`).

    Attributes:
        name: the ``--backend`` choice.
        directory: its templates' directory under ``templates/``.
        runtime: the file of its runtime helpers, beside this one.
        linear: ``z = a W^T + b`` from ``{a}``, ``{W}``, ``{b}`` (torch fuses it: one addmm).
        sum_batch: the sum over the batch (axis 0) of ``{0}``.
        sum_units: the sum over units (axis 1) of ``{0}``, kept as a column.
        total: the sum of every entry of ``{0}`` (a 0-d array).
        in_place: arrays are mutable: BP2 multiplies f' into δ in place and the optimizers
            update parameters and state in place; else every step makes new arrays.
        expected: the functions the module must define (the audit checks).
        library: the library in the module docstring's words.
        dtype_note: how dtypes and devices are followed, for the module docstring.
        usage: how a step is called, for the module docstring.
        zeros_like: the function making the optimizers' zero state like a parameter.
        pure: JAX's form: each step returns new dicts, and the public functions are jitted.
        namespace_line: the statement that binds the namespace in an optimizer's loop (if its
            updates call library functions through it).
        workspace: ``_backward`` runs in work buffers taken from a pool (:func:`_workspace`):
            products written with ``out=``, activations and f'(z) in place.
        delta_rows: if set, ``delta{l}T``, δ^l as an (n_l, N) array made from ``{0}`` (δ^l),
            which BP4 (``delta{l}T @ a{l-1}``) and BP3 (``sum_rows``) read instead of δ^l.
            JAX: :func:`_as_rows` (float64: XLA writes it in the loop that computes δ^l, and
            BP4's product of two row-major operands takes less time than the one reading δ^l
            transposed).
        sum_rows: the sum of ``{0}`` over axis 1 (BP3 from ``delta{l}T``).
        softmax_delta: if set, the fused softmax/cross-entropy δ^L (a − t where each example's
            targets sum to one) written from the logits ``{z}`` and targets ``{t}`` as
            a Σ_k t_k − t, which is that gradient for any targets. JAX:
            :func:`_softmax_delta` (XLA's CPU runtime runs this form faster than a − t).
    """

    name: str
    directory: str
    runtime: str
    linear: str
    sum_batch: str
    sum_units: str
    total: str
    in_place: bool
    expected: tuple[str, ...]
    library: str
    dtype_note: str
    usage: str
    zeros_like: str
    pure: bool = False
    namespace_line: str = ""
    workspace: bool = False
    delta_rows: str = ""
    sum_rows: str = ""
    softmax_delta: str = ""


_COMMON_FUNCTIONS = ("forward", "loss", "gradients", "optimizer_init", "optimizer_step")

# Helpers every backend's module may use (the optimizers' state check), beside its own runtime.
_COMMON_RUNTIME = "backends_runtime_common.py"

BACKEND_TABLE: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend(
            "torch",
            "torch",
            "backends_runtime_torch.py",
            "torch.addmm({b}, {a}, {W}.T)",
            "torch.sum({0}, dim=0)",
            "torch.sum({0}, dim=1, keepdim=True)",
            "torch.sum({0})",
            True,
            ("init_params", *_COMMON_FUNCTIONS),
            "PyTorch tensors (no autograd: the gradients are the derivation's own)",
            "Tensors stay on their device and in the dtype\nx, t and the parameters promote to "
            "(float32 in, float32 out); nothing in a call copies to the\nhost or waits for the "
            "device, except check_inputs=True (it reads whether values are finite).",
            "Steps update the parameter tensors and the state in place, as torch.optim does\n"
            "(parameters must not require grad).",
            "torch.zeros_like",
            workspace=True,
        ),
        Backend(
            "jax",
            "jax",
            "backends_runtime_jax.py",
            "_linear({a}, {W}, {b})",
            "jnp.sum({0}, axis=0)",
            "jnp.sum({0}, axis=1, keepdims=True)",
            "jnp.sum({0})",
            False,
            ("init_params", *_COMMON_FUNCTIONS),
            "JAX (pure functions, compiled with jax.jit)",
            "JAX promotes dtypes as usual; float64 needs\n"
            'jax.config.update("jax_enable_x64", True) before any array is made.',
            "Every function is pure: ``params, state = adam_update(params, grads, state)``,\n"
            "``value, params, state = optimizer_step(params, state, x, t)``; the steps take the\n"
            "arrays of ``params`` and ``state`` over (donated: use the returned ones, the old\n"
            "ones are deleted). ``check_inputs(params, x, t)`` validates arguments.",
            "jnp.zeros_like",
            pure=True,
            delta_rows="_as_rows({0})",
            sum_rows="jnp.sum({0}, axis=1)",
            softmax_delta="_softmax_delta({z}, {t})",
        ),
        Backend(
            "cupy",
            "cupy",
            "backends_runtime_cupy.py",
            "{a} @ {W}.T + {b}",
            "cp.sum({0}, axis=0)",
            "cp.sum({0}, axis=1, keepdims=True)",
            "cp.sum({0})",
            True,
            ("init_params", *_COMMON_FUNCTIONS),
            "CuPy arrays on a CUDA device",
            "Arrays stay on the device and in the dtype x, t\nand the parameters promote to; "
            "nothing in a call copies to the host or waits for the device,\nexcept "
            "check_inputs=True (it reads whether values are finite).",
            "Steps update the parameter arrays and the state in place.",
            "cp.zeros_like",
        ),
        Backend(
            "array-api",
            "array_api",
            "backends_runtime_array_api.py",
            "{a} @ {W}.T + {b}",
            "xp.sum({0}, axis=0)",
            "xp.sum({0}, axis=1, keepdims=True)",
            "xp.sum({0})",
            False,
            _COMMON_FUNCTIONS,
            "any array library with an array API namespace (array_namespace of array-api-compat:\n"
            "NumPy, CuPy, PyTorch, JAX, Dask, array-api-strict)",
            "Every array comes from the namespace of x and t;\nparameters are taken into it "
            "with asarray (no copy when they are its arrays already).\nIntegers in x and t "
            "become float64. With Dask arrays chunked by rows, the results are lazy\n"
            "(dask.compute them): each chunk's products are summed over its rows, the partial "
            "sums\nadded across chunks.",
            "Steps put new arrays into ``params`` and ``state`` (JAX's arrays cannot be written "
            "to).",
            "_zeros_like",
            namespace_line="xp = array_namespace(p, g)",
        ),
    )
}


def _layer_symbols(l: int) -> dict:
    return {
        a_sym: sp.Symbol(f"a{l}"),
        z_sym: sp.Symbol(f"z{l}"),
        y_sym: sp.Symbol("t"),
        logp_sym: sp.Symbol("logp"),
    }


class _Printer:
    """The backend's printer applied to per-unit rules on the arrays of a layer."""

    def __init__(self, backend: Backend):
        self.backend = backend

    def code(self, expr: sp.Expr) -> str:
        return array_code(expr, self.backend.name)

    def on_layer(self, expr: sp.Expr, l: int) -> str:
        """A per-unit rule printed on the arrays of layer ``l`` (a→a{l}, z→z{l}, y→t)."""
        return self.code(numeric_kernels(expr.xreplace(_layer_symbols(l))))


def _value(d: LayerDerivation, pr: _Printer) -> list[Statement]:
    """The loss: the per-example term summed over units and examples, the L2 term, the mean."""
    net, rule, L = d.net, d.output, d.net.depth
    out = []
    if net.activations[-1] == SOFTMAX and _fused_softmax(d):
        out.append(Statement("logp", f"_log_softmax(z{L})", f"log a^{L}, max subtracted"))
    term = pr.on_layer(rule.stable, L)
    out.append(
        Statement(
            "value",
            pr.backend.total.format(term),
            "C: the per-example loss, summed over output units (stable form)",
        )
    )
    if net.weight_decay:
        squares = " + ".join(pr.backend.total.format(f"W{l} * W{l}") for l in range(1, L + 1))
        sign = "-" if rule.maximize else "+"
        out.append(
            Statement(
                "value",
                f"value {sign} 0.5 * WEIGHT_DECAY * ({squares})",
                "C: L2 weight decay, lambda/2 sum w^2 over the weights",
            )
        )
    if net.reduction == "mean":
        out.append(Statement("value", "value / n", "C: the mean over the batch"))
    return out


def _times(target: str, factor: str, in_place: bool) -> str:
    return f"{target} *= {factor}" if in_place else f"{target} = {target} * ({factor})"


def _general_form(d: LayerDerivation, backend: Backend) -> str:
    """How the module writes a fused softmax δ^L from the logits (``Backend.softmax_delta``):
    a * sum(t) - t (t - a * sum(t) for a likelihood); "" where it keeps the fused form."""
    if not (backend.softmax_delta and _fused_softmax(d)):
        return ""
    return "t - a * sum(t)" if d.output.maximize else "a * sum(t) - t"


def _backward(d: LayerDerivation, pr: _Printer) -> list[dict]:
    """BP1 (then the mean's 1/N), and per layer from the top: BP4, BP3, BP2."""
    net, rule, L = d.net, d.output, d.net.depth
    backend = pr.backend
    blocks = []
    fused = _output_difference(rule.delta, L)
    general_form = _general_form(d, backend)
    if general_form:
        general = backend.softmax_delta.format(z=f"z{L}", t="t")
        lines = [f"delta{L} = {'-' if rule.maximize else ''}{general}"]
        what = "fused: " + sp.sstr(rule.delta, order="none")
        what += f", written {general_form}: the gradient for targets of any sum"
    elif fused is not None:
        lines = [f"delta{L} = {fused[0]} - {fused[1]}"]
        what = "fused: " + sp.sstr(rule.delta, order="none") if rule.fused else "dC/da"
    elif rule.delta is not None:
        lines = [f"delta{L} = {pr.on_layer(rule.delta, L)}"]
        what = "fused: " + sp.sstr(rule.delta, order="none") if rule.fused else "dC/da * f'(z)"
    else:
        jacobian = backend.sum_units.format(f"a{L} * g")
        lines = [f"g = {pr.on_layer(rule.dC_da, L)}", f"delta{L} = a{L} * (g - {jacobian})"]
        what = "a_j (g_j - sum_k a_k g_k), g = dC/da, softmax Jacobian"
    blocks.append(dict(comment=f"BP1: delta^{L} = {what}", lines=lines))
    mean = net.reduction == "mean"
    if mean:
        blocks.append(
            dict(
                comment=f"the mean over the batch: every gradient is linear in delta^{L}",
                lines=[f"delta{L} = delta{L} / n"],
            )
        )
    sign = "-" if rule.maximize else "+"
    decay = "(WEIGHT_DECAY / n)" if mean else "WEIGHT_DECAY"
    fprimes = {delta.layer: delta.fprime for delta in d.deltas[1:]}
    rows = backend.delta_rows
    for l in range(L, 0, -1):
        if rows:
            comment = f"delta^{l} as rows (n_{l}, N), the operand of BP4 and BP3"
            blocks.append(dict(comment=comment, lines=[f"delta{l}T = {rows.format(f'delta{l}')}"]))
        for g in (x for x in d.gradients if x.layer == l):
            name = f"g{g.param}"
            if g.label == "BP4":
                product = f"delta{l}T @ a{l - 1}" if rows else f"delta{l}.T @ a{l - 1}"
                lines = [f"{name} = {product}"]
                comment = f"BP4: dC/dW^{l} = delta^{l} (a^{l - 1})^T summed over the batch"
                if g.decay:
                    lines.append(f"{name} = {name} {sign} {decay} * W{l}")
                    comment += f" {sign} lambda W^{l}"
            else:
                total = (
                    backend.sum_rows.format(f"delta{l}T")
                    if rows
                    else backend.sum_batch.format(f"delta{l}")
                )
                lines = [f"{name} = {total}"]
                comment = f"BP3: dC/db^{l} = delta^{l} summed over the batch"
            blocks.append(dict(comment=comment, lines=lines))
        if l > 1:
            k = l - 1
            lines = [f"delta{k} = delta{l} @ W{l}"]
            if fprimes[k] != 1:
                lines.append(_times(f"delta{k}", pr.on_layer(fprimes[k], k), backend.in_place))
            comment = f"BP2: delta^{k} = ((W^{l})^T delta^{l}) * f'(z^{k})"
            blocks.append(dict(comment=comment, lines=lines))
    return blocks


_CALL = re.compile(r"^(torch\.\w+)\((z\d+)\)$")


def _one_minus_in_place(fprime: sp.Expr, src: sp.Symbol, delta: str) -> list[str] | None:
    """``delta *= 1 - u`` in two passes where f' is written 1 − u and u is a chain of ``src``
    alone (tanh' = 1 − a²): u into src's dead buffer, then ``delta += (−1) delta u`` in one
    ``torch.addcmul`` (three passes the other way: u, 1 − u, the product). None for any other
    form."""
    if not fprime.is_Add or len(fprime.args) != 2 or sp.Integer(1) not in fprime.args:
        return None
    (rest,) = [arg for arg in fprime.args if arg != 1]
    coeff, u = rest.as_coeff_Mul()
    if coeff != -1 or u.free_symbols != {src}:
        return None
    chain = _chain(u, src, src.name, TORCH_CALLS)
    if chain is None or chain[1] != src.name:
        return None
    return [*chain[0], f"torch.addcmul({delta}, {delta}, {src.name}, value=-1, out={delta})"]


def _workspace(d: LayerDerivation, pr: _Printer) -> dict:
    """torch's ``_backward`` in work buffers: ``torch.addmm(b, a, W.T, out=z)``, an activation
    that is one torch call applied in place (``torch.sigmoid(z1, out=z1)``) unless z^l is read
    again, tanh likewise as 1 − 2σ(−2z) (:func:`_tanh_of_minus_twice`, the −2 taken by addmm's
    alpha and beta: two fast passes instead of torch.tanh's slow one on the CPU), BP1's a − t
    into its buffer (then / N under a mean), per layer from the top BP3 (the sum over the batch
    while δ^l is in the cache), BP4, and BP2 into its buffer with f'(a^l) multiplied in place,
    computed in a^l's buffer (dead by then) where f' is written in a^l alone. Any other rule
    prints as in the shared backward pass (a new tensor).

    Returns the buffers ``(name, width)``, the forward and backward blocks and the loss lines."""
    net, rule, L = d.net, d.output, d.net.depth
    fprimes = {delta.layer: delta.fprime for delta in d.deltas[1:]}
    statements = forward_statements(d, pr.backend.linear, pr.code)
    buffers: list[tuple[str, int]] = []
    forward: list[dict] = []
    for f in d.forward:
        l = f.layer
        buffers.append((f"z{l}", net.sizes[l]))
        keep_z = (
            _uses_z(rule.stable, rule.delta, rule.dC_da, rule.fprime)
            if l == L
            else _uses_z(fprimes[l])
        )
        z = sp.Symbol(f"z{l}")
        rule_l = ACTIVATIONS.get(f.activation)  # None for softmax and the identity
        tanh = rule_l is not None and rule_l.definition(z) == sp.tanh(z) and not keep_z
        scale = ", beta=-2, alpha=-2" if tanh else ""  # for _tanh_of_minus_twice, at no cost
        product = f"torch.addmm(b{l}, a{l - 1}, W{l}.T{scale}, out=z{l})"
        comment = f"F{l}: z^{l} = W^{l} a^{l - 1} + b^{l} (batch-first)"
        if tanh:
            comment = f"F{l}: -2 z^{l} = -2 (W^{l} a^{l - 1} + b^{l}) (batch-first)"
        forward.append(dict(comment=comment, lines=[product]))
        for s in statements:
            if s.target == f"z{l}" or not s.comment.startswith(f"F{l}:"):
                continue
            call = _CALL.match(s.code)
            if tanh:
                code = f"_tanh_of_minus_twice(z{l}, one)"
                comment = f"{s.comment} = 1 - 2 sigmoid(-2 z^{l}), in place"
            elif call and call.group(2) == f"z{l}" and not keep_z:
                code, comment = f"{call.group(1)}(z{l}, out=z{l})", s.comment + ", in place"
            elif s.code == f"z{l}":
                code, comment = s.code, s.comment
            else:
                code, comment = s.code, s.comment
            forward.append(dict(comment=comment, lines=[f"{s.target} = {code}"]))
    backward = []
    fused = _output_difference(rule.delta, L)
    if fused is not None:
        buffers.append((f"delta{L}", net.sizes[L]))
        what = "fused: " + sp.sstr(rule.delta, order="none") if rule.fused else "dC/da"
        backward.append(
            dict(
                comment=f"BP1: delta^{L} = {what}",
                lines=[f"delta{L} = torch.sub({fused[0]}, {fused[1]}, out=delta{L})"],
            )
        )
    else:
        backward.append(_backward(d, pr)[0])
    if net.reduction == "mean":
        backward.append(
            dict(
                comment=f"the mean over the batch: every gradient is linear in delta^{L}",
                lines=[f"delta{L} /= n"],
            )
        )
    sign = "-" if rule.maximize else ""
    decay = "WEIGHT_DECAY / n" if net.reduction == "mean" else "WEIGHT_DECAY"
    for l in range(L, 0, -1):
        grads = [g for g in d.gradients if g.layer == l]
        for g in sorted(grads, key=lambda g: g.label != "BP3"):  # BP3 while delta^l is hot
            name = f"g{g.param}"
            if g.label == "BP4":
                lines = [f"{name} = delta{l}.T @ a{l - 1}"]
                comment = f"BP4: dC/dW^{l} = delta^{l} (a^{l - 1})^T summed over the batch"
                if g.decay:
                    lines.append(f"{name}.add_(W{l}, alpha={sign}{decay})")
                    comment += f" {'-' if rule.maximize else '+'} lambda W^{l}"
            else:
                lines = [f"{name} = {pr.backend.sum_batch.format(f'delta{l}')}"]
                comment = f"BP3: dC/db^{l} = delta^{l} summed over the batch"
            backward.append(dict(comment=comment, lines=lines))
        if l > 1:
            k = l - 1
            buffers.append((f"delta{k}", net.sizes[k]))
            lines = [f"torch.mm(delta{l}, W{l}, out=delta{k})"]
            if fprimes[k] != 1:
                expr = numeric_kernels(fprimes[k].xreplace(_layer_symbols(k)))
                in_place = _one_minus_in_place(expr, sp.Symbol(f"a{k}"), f"delta{k}")
                in_place = in_place or multiply_in_place(
                    expr, sp.Symbol(f"a{k}"), f"delta{k}", TORCH_CALLS
                )
                lines += in_place or [f"delta{k} *= {pr.on_layer(fprimes[k], k)}"]
            comment = f"BP2: delta^{k} = ((W^{l})^T delta^{l}) * f'(z^{k})"
            if fprimes[k] != 1 and in_place:
                comment += f", f' computed in a^{k}'s buffer (dead now)"
            backward.append(dict(comment=comment, lines=lines))
    return dict(work_buffers=buffers, work_forward=forward, work_backward=backward)


def _update_statement(target: sp.Symbol, expr: sp.Expr, kept: set[str], pr: _Printer) -> str:
    """One update of an optimizer: in place (``v *= momentum``, ``p -= lr * v``,
    ``G[...] = …``) for mutable arrays, else a plain assignment."""
    name = target.name
    if not pr.backend.in_place:
        return f"{name} = {pr.code(expr)}"
    if expr.is_Add and target in expr.args:
        rest = expr - target
        if rest.could_extract_minus_sign():
            return f"{name} -= {pr.code(-rest)}"
        return f"{name} += {pr.code(rest)}"
    if expr.is_Mul and target in expr.args:
        return f"{name} *= {pr.code(expr / target)}"
    return f"{name}{'[...]' if name in kept else ''} = {pr.code(expr)}"


def _optimizers(pr: _Printer, spec: OptimizerSpec, extra) -> list[dict]:
    """The functions of the spec's rule and of ``extra`` (``codegen --optimizers``), as the NumPy
    module has them: the settings the spec gives its rule are that rule's defaults."""
    given = {spec.name: settings_for(spec.name, dict(spec.settings))}
    out = []
    for name in chosen_rules([spec], extra):
        opt = OPTIMIZERS[name]
        settings = given.get(name, dict(opt.settings))
        out.append(
            dict(
                name=opt.name,
                title=opt.title,
                note=opt.note,
                state=list(opt.state),
                signature="".join(f", {k}={v!r}" for k, v in settings.items()),
                call="".join(f", {k}={k}" for k in settings),
                statements=_update_statements(opt, pr),
                uses_step=any(step_symbol in e.free_symbols for _, e in opt.updates),
            )
        )
    return out


def _update_statements(rule: Optimizer, pr: _Printer) -> list[Statement]:
    kept = {p.name, *rule.state}
    return [
        Statement(
            "",
            _update_statement(target, expr, kept, pr),
            f"U ({rule.title}): {target.name} <- {sp.sstr(expr, order='none')}",
        )
        for target, expr in rule.updates
    ]


def backend_context(d: LayerDerivation, backend: Backend, *, source: str, optimizers=None) -> dict:
    """Everything a backend's template needs, already printed; ``optimizers``: update rules
    besides the spec's (rule names or ``["all"]``), as for the NumPy module."""
    net, rule, L = d.net, d.output, d.net.depth
    pr = _Printer(backend)
    return dict(
        python_docstring=docstring_literal,
        backend=backend.name,
        prefix=NAMESPACES[backend.name].prefix,
        name=net.name,
        description=net.title or f"Spec: {source}. symbackprop {__version__}.",
        sizes=repr(net.sizes),
        depth=L,
        layers=list(range(1, L + 1)),
        params_tuple=repr(net.params),
        activations=repr(net.activations),
        loss_name=net.loss,
        learning_rate=repr(float(net.learning_rate)),
        weight_decay=repr(float(net.weight_decay)),
        decay=net.weight_decay != 0,
        **_decay_text(net.reduction == "mean", rule.maximize),
        mean=net.reduction == "mean",
        maximize=rule.maximize,
        assumption=rule.assumption and "the targets of each example sum to one",
        fused_form=_fused_form(rule.maximize),
        general_form=_general_form(d, backend),
        forward=forward_statements(d, pr.backend.linear, pr.code),
        value=_value(d, pr),
        backward=_backward(d, pr),
        grad_names=list(net.params),
        optimizers=_optimizers(pr, net.optimizer, optimizers),
        optimizer_names=chosen_rules([net.optimizer], optimizers),
        optimizer=net.optimizer.name,
        in_place=backend.in_place,
        library=backend.library,
        dtype_note=backend.dtype_note,
        usage=backend.usage,
        zeros_like=backend.zeros_like,
        pure=backend.pure,
        private="_" if backend.pure else "",
        namespace_line=backend.namespace_line,
        step_gradients=["value, grads = _backward(params, x, t)"],
        **(_workspace(d, pr) if backend.workspace else {}),
    )


@lru_cache(maxsize=None)
def _environment(directory: str) -> jinja2.Environment:
    """Templates of one backend, with the shared pieces of ``templates/array_api/``."""
    loader = jinja2.FileSystemLoader(
        [str(TEMPLATES_DIR / directory), str(TEMPLATES_DIR / "array_api")]
    )
    return jinja2.Environment(loader=loader, **_COMMON)  # noqa: S701 - Python, not HTML


_RUNTIME_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def _runtime_definitions(file: str) -> tuple[tuple[frozenset, frozenset, str], ...]:
    """(binds, reads, text) of each top-level definition of a runtime file, imports left out.

    Read as text and parsed, never imported: the library it is written for need not be here.
    """
    source = (_RUNTIME_DIR / file).read_text(encoding="utf-8")
    lines = source.splitlines()
    out = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.FunctionDef):
            binds = {node.name}
        else:
            binds = {t.id for t in node.targets if isinstance(t, ast.Name)}
        start = node.lineno - 1
        while start > 0 and lines[start - 1].startswith("#"):
            start -= 1  # the comment block that explains it
        reads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - binds
        text = "\n".join(lines[start : node.end_lineno])
        out.append((frozenset(binds), frozenset(reads), text))
    return tuple(out)


def _helpers_for(text: str, file: str) -> str:
    """The runtime definitions ``text`` reads, with what those read, in source order: those of
    the backend's ``file``, then the common ones."""
    defs = _runtime_definitions(file) + _runtime_definitions(_COMMON_RUNTIME)
    wanted = {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
    chosen: set[int] = set()
    changed = True
    while changed:
        changed = False
        for i, (binds, reads, _) in enumerate(defs):
            if i not in chosen and binds & wanted:
                chosen.add(i)
                wanted |= reads
                changed = True
    return "\n\n\n".join(defs[i][2] for i in sorted(chosen))


def render_backend_module(d: LayerDerivation, backend: str, *, source: str, optimizers=None) -> str:
    """The ``backend`` module's text as the template lays it out, before formatting."""
    if backend not in BACKEND_TABLE:
        raise InvalidInput(f"unknown backend '{backend}'", hint=f"known: {', '.join(BACKENDS)}")
    b = BACKEND_TABLE[backend]
    context = backend_context(d, b, source=source, optimizers=optimizers)
    template = _environment(b.directory).get_template("layer.py.jinja")
    bare = template.render(**context, runtime="")
    return template.render(**context, runtime=_helpers_for(bare, b.runtime))


def generate_backend_module(
    d: LayerDerivation, backend: str, *, source: str, optimizers=None
) -> str:
    """The ``backend`` module's text (without the do-not-edit header), formatted and audited;
    the spec's update rules, and ``optimizers`` (rule names, or ``["all"]``) besides."""
    text = format_by_definition(
        render_backend_module(d, backend, source=source, optimizers=optimizers)
    )
    audit_backend_module(text, backend=backend, expected=BACKEND_TABLE[backend].expected)
    return text


def format_by_definition(text: str) -> str:
    """Black's formatting of a module whose top-level parts the template separates by two blank
    lines, one part at a time: black formats top-level statements independently and puts two
    blank lines around each function, so the parts' formats joined the same way are the whole
    module's (tests/test_backends.py compares with black itself). The parts that do not depend
    on the net (runtime helpers, the optimizers) are formatted once per process. A part that does
    not parse alone sends the whole module to the formatter."""
    parts = text.split("\n\n\n")
    try:
        for part in parts:
            ast.parse(part)
    except SyntaxError:
        return format_python(text)
    return "\n\n\n".join(_format_part(part).strip("\n") for part in parts) + "\n"


@lru_cache(maxsize=1024)
def _format_part(part: str) -> str:
    return format_python(part.strip("\n") + "\n")


def backend_module(network, level: str, backend: str, *, source: str, optimizers=None) -> str:
    """The module of a derived network for ``backend`` (not NumPy, whose module the level's
    view makes): layer level only; a unit-level network is refused with one line."""
    from symbackprop.budget import require_layer_codegen
    from symbackprop.derivation.layer import derive_layers

    if level != "layer":
        raise InvalidInput(
            f"--backend {backend} generates layer-level modules; '{network.name}' is a "
            "unit-level network",
            hint='set level = "layer" in the spec (or pass --level layer), or use --backend numpy',
        )
    require_layer_codegen(f"code generation for '{network.name}'", network.sizes)
    return generate_backend_module(
        derive_layers(network), backend, source=source, optimizers=optimizers
    )

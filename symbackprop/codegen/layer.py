"""Matmul NumPy code for layer-level nets: equations → printed statements → template → black.

Batch-first arrays: row n of ``a{l}`` is a^l of example n, so Nielsen's column forms turn into
their transposes: z^l = W^l a^{l−1} + b^l is ``z{l} = a{l-1} @ W{l}.T + b{l}``, BP2's
(W^{l+1})ᵀ δ^{l+1} is ``delta{l+1} @ W{l+1}``, BP4's δ^l (a^{l−1})ᵀ summed over the batch is
``delta{l}.T @ a{l-1}``. Each per-unit rule (f', ∂C/∂a, the fused δ^L, the stable loss term) is
printed from the derivation's SymPy expression by :func:`printing.numpy_code`; this module adds
only the array plumbing. The result is formatted with black and audited before anyone sees it.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import sympy as sp

from symbackprop import __version__
from symbackprop.codegen.audit import audit_module
from symbackprop.codegen.inplace import compute_into, difference, multiply_in_place
from symbackprop.codegen.optimizers import chosen_rules, optimizer_context
from symbackprop.codegen.runtime import render_with_runtime
from symbackprop.codegen.unit import Statement, format_python
from symbackprop.derivation.layer import LayerDerivation
from symbackprop.printers.printing import numpy_code, numpy_into
from symbackprop.printers.pystr import docstring_literal
from symbackprop.rules.layer_losses import LINEAR, SOFTMAX, activation_value
from symbackprop.rules.layer_losses import a as a_sym
from symbackprop.rules.layer_losses import logp as logp_sym
from symbackprop.rules.layer_losses import y as y_sym
from symbackprop.rules.layer_losses import z as z_sym
from symbackprop.rules.registry import numeric_kernels

# A training step's gradients (see codegen.optimizers): array-likes in, pooled gradient arrays out.
STEP_GRADIENTS = """x, t = _floating(x, "x"), _floating(t, "t")
if check_inputs:
    _check(SIZES, params, x, t)
value, grads = _backward(params, x, t, out=_take_gradients(params, x, t))"""

EXPECTED = ("init_params", "forward", "loss", "gradients", "optimizer_init", "optimizer_step")


def _on_layer(expr: sp.Expr, l: int) -> str:
    """A per-unit rule printed on the arrays of layer ``l`` (a→a{l}, z→z{l}, y→t)."""
    names = {
        a_sym: sp.Symbol(f"a{l}"),
        z_sym: sp.Symbol(f"z{l}"),
        y_sym: sp.Symbol("t"),
        logp_sym: sp.Symbol("logp"),
    }
    return numpy_code(numeric_kernels(expr.xreplace(names)))


def forward_statements(
    d: LayerDerivation, linear: str = "{a} @ {W}.T + {b}", code=numpy_code
) -> list[Statement]:
    """F1 … FL: each layer's product (``linear``, the array library's form of z = a W^T + b),
    then its activation printed by ``code`` (softmax from the log-probabilities unless its δ^L
    is a − t, as in ``_backward``); the backends' modules share it (:mod:`codegen.backends`)."""
    out = []
    for f in d.forward:
        l = f.layer
        product = linear.format(a=f"a{l - 1}", W=f"W{l}", b=f"b{l}")
        out.append(
            Statement(f"z{l}", product, f"F{l}: z^{l} = W^{l} a^{l - 1} + b^{l} (batch-first)")
        )
        if f.activation == SOFTMAX and _fused_softmax(d):
            out.append(Statement(f"a{l}", f"_softmax(z{l})", f"F{l}: a^{l} = softmax(z^{l})"))
        elif f.activation == SOFTMAX:
            out.append(
                Statement(
                    "logp",
                    f"_log_softmax(z{l})",
                    f"F{l}: log a^{l} = log softmax(z^{l}), max subtracted",
                )
            )
            out.append(Statement(f"a{l}", "_exp_floored(logp)", f"F{l}: a^{l} = softmax(z^{l})"))
        else:
            printed = code(activation_value(f.activation, sp.Symbol(f"z{l}")))
            out.append(Statement(f"a{l}", printed, f"F{l}: a^{l} = {f.activation}(z^{l})"))
    return out


def _is_tanh(expr: sp.Expr) -> bool:
    rule = getattr(expr, "rule", None)
    return rule is not None and rule.name == "tanh" and len(expr.args) == 1


def _activation_code(expr: sp.Expr) -> str:
    """An activation as the NumPy module computes it: tanh through the runtime's ``_tanh`` (NumPy's
    float64 tanh is a scalar loop on x86-64 CPUs without AVX-512), the rest as printed."""
    if _is_tanh(expr):
        return f"_tanh({numpy_code(expr.args[0])})"
    return numpy_code(expr)


def _activation_into(expr: sp.Expr, out: str) -> str:
    """The statement writing an activation into the array ``out``, as ``_activation_code``."""
    if _is_tanh(expr):
        return f"_tanh({numpy_code(expr.args[0])}, out={out})"
    return numpy_into(expr, out)


def _tanh_slope(activation: str, fprime: sp.Expr, l: int) -> bool:
    """True when layer ``l``'s activation is tanh and its f' is 1 - a² (so the runtime's ``_tanh``
    can write f' with a^l, block by block while a block is in the cache)."""
    if activation != "tanh":
        return False
    a = sp.Symbol(f"a{l}")
    return sp.expand(_on_layer_expr(fprime, l) - (1 - a**2)) == 0


def _layer_symbols(l: int) -> dict:
    return {a_sym: sp.Symbol(f"a{l}"), z_sym: sp.Symbol(f"z{l}"), y_sym: sp.Symbol("t")}


def _on_layer_expr(expr: sp.Expr, l: int) -> sp.Expr:
    """A per-unit rule on the arrays of layer ``l``, as the code computes it."""
    return numeric_kernels(expr.xreplace(_layer_symbols(l)))


# In-place forms of f'(a^l) multiplied into delta^l: they overwrite a^l's buffer, which is dead by
# then (BP4 of layer l + 1 has already read it).
def _fprime_in_place(expr: sp.Expr, l: int) -> list[str] | None:
    return multiply_in_place(_on_layer_expr(expr, l), sp.Symbol(f"a{l}"), f"delta{l}")


# The same f'(a^l) written into its own buffer fp{l} during the forward pass, while a^l is still in
# the cache; BP2 then multiplies it in with one pass instead of three over a cold a^l.
def _fprime_into(expr: sp.Expr, l: int) -> list[str] | None:
    return compute_into(_on_layer_expr(expr, l), sp.Symbol(f"a{l}"), f"fp{l}")


def _output_difference(expr: sp.Expr | None, L: int) -> tuple[str, str] | None:
    """The two array names when a rule is a − y or y − a on the output layer, else None."""
    if expr is None:
        return None
    pair = difference(expr)
    if pair is None or set(pair) != {a_sym, y_sym}:
        return None
    names = _layer_symbols(L)
    return tuple(names[s].name for s in pair)


def _fused_form(maximize: bool) -> str:
    """The fused output δ as the module docstrings write it: a − t, or t − a for a likelihood."""
    return "t - a" if maximize else "a - t"


def _fused_softmax(d: LayerDerivation) -> bool:
    """Softmax output whose δ^L is a − t (cross-entropy): a^L needs no log-probabilities."""
    L, rule = d.net.depth, d.output
    return (
        d.net.activations[-1] == SOFTMAX
        and _output_difference(rule.delta, L) is not None
        and not _uses_z(rule.stable, rule.delta)
    )


def _fprime_lines(expr: sp.Expr, l: int) -> list[str]:
    """delta{l} *= f'(z^l), in place where the rule has an in-place form."""
    if expr == 1:
        return []
    return _fprime_in_place(expr, l) or [f"delta{l} *= {_on_layer(expr, l)}"]


def _uses_z(*exprs) -> bool:
    return any(e is not None and z_sym in e.free_symbols for e in exprs)


def _fast(d: LayerDerivation) -> dict:
    """The workspace form of ``_backward``: buffers, forward and backward blocks."""
    net, rule, L = d.net, d.output, d.net.depth
    fprimes = {delta.layer: delta.fprime for delta in d.deltas[1:]}
    buffers: list[tuple[str, int]] = []  # (name, width): one (N, width) array each
    aliases: list[tuple[str, str]] = []  # name = other buffer's name
    forward: list[dict] = []
    value_lines: list[str] = []  # run only when the loss is wanted, before it is summed
    for f in d.forward:
        l, width = f.layer, net.sizes[f.layer]
        buffers.append((f"z{l}", width))
        lines = [f"np.matmul(a{l - 1}, W{l}.T, out=z{l})", f"z{l} += b{l}"]
        block = [dict(comment=f"F{l}: z^{l} = W^{l} a^{l - 1} + b^{l} (batch-first)", lines=lines)]
        output_z = _uses_z(rule.stable, rule.delta, rule.dC_da, rule.fprime)
        keep_z = output_z if l == L else _uses_z(fprimes.get(l))
        if f.activation == SOFTMAX:
            if keep_z:
                buffers.append(("logp", width))
            else:
                aliases.append(("logp", f"z{l}"))
            buffers.append((f"a{l}", width))
            log_softmax = f"_log_softmax(z{l}, out=logp)"
            if _fused_softmax(d):  # log a^l only for the loss
                block.append(
                    dict(
                        comment=f"F{l}: a^{l} = softmax(z^{l})", lines=[f"_softmax(z{l}, out=a{l})"]
                    )
                )
                value_lines = [f"{log_softmax}  # log a^{l}, max subtracted"]
            else:
                block += [
                    dict(
                        comment=f"F{l}: log a^{l} = log softmax(z^{l}), max subtracted",
                        lines=[log_softmax],
                    ),
                    dict(
                        comment=f"F{l}: a^{l} = softmax(z^{l})",
                        lines=[f"_exp_floored(logp, out=a{l})"],
                    ),
                ]
        else:
            if f.activation == LINEAR:  # a^l is z^l
                aliases.append((f"a{l}", f"z{l}"))
                lines = []
            else:
                if keep_z:
                    buffers.append((f"a{l}", width))
                else:
                    aliases.append((f"a{l}", f"z{l}"))
                lines = [
                    _activation_into(activation_value(f.activation, sp.Symbol(f"z{l}")), f"a{l}")
                ]
            comment = f"F{l}: a^{l} = {f.activation}(z^{l})" + ("" if keep_z else ", in place")
            fprime = _fprime_into(fprimes[l], l) if l < L else None
            if fprime and _tanh_slope(f.activation, fprimes[l], l):
                buffers.append((f"fp{l}", width))
                line = f"_tanh(z{l}, out=a{l}, slope=fp{l} if want_grads else None)"
                comment += f", and BP2's f'(z^{l}) = 1 - (a^{l})^2 with it (in cache)"
                block.append(dict(comment=comment, lines=[line]))
                fprime = None
            elif lines:
                block.append(dict(comment=comment, lines=lines))
            if fprime:
                buffers.append((f"fp{l}", width))
                block.append(
                    dict(
                        comment=f"BP2's f'(z^{l}), from a^{l} while it is in the cache",
                        lines=["if want_grads:", *(f"    {line}" for line in fprime)],
                    )
                )
        forward += block
    buffers += [(f"delta{l}", net.sizes[l]) for l in range(L, 0, -1)]
    return dict(
        fast_buffers=buffers, fast_aliases=aliases, fast_forward=forward, value_lines=value_lines
    )


def _fast_backward(d: LayerDerivation) -> list[dict]:
    """BP1 (divided by N under a mean), then per layer from the top: BP3, BP4 into ``out``'s
    arrays or fresh ones, BP2 into the workspace."""
    rule, L = d.output, d.net.depth
    mean, sign = d.net.reduction == "mean", "-" if d.output.maximize else "+"
    fprimes = {delta.layer: delta.fprime for delta in d.deltas[1:]}
    blocks = []
    fused = _output_difference(rule.delta, L)
    if fused is not None:
        first, second = fused
        lines = [f"np.subtract({first}, {second}, out=delta{L})"]
        what = "fused: " + sp.sstr(rule.delta, order="none") if rule.fused else "dC/da"
    elif (
        rule.delta is not None
        and rule.fprime is not None
        and _output_difference(rule.dC_da, L) == (f"a{L}", "t")
        and _fprime_in_place(rule.fprime, L)
    ):
        lines = [f"np.subtract(a{L}, t, out=delta{L})", *_fprime_lines(rule.fprime, L)]
        what = "dC/da * f'(z), in place"
    elif rule.delta is not None:
        lines = [f"delta{L}[...] = {_on_layer(rule.delta, L)}"]
        what = "fused: " + sp.sstr(rule.delta, order="none") if rule.fused else "dC/da * f'(z)"
    else:
        lines = [
            f"g = {_on_layer(rule.dC_da, L)}",
            f"delta{L}[...] = a{L} * (g - np.sum(a{L} * g, axis=1, keepdims=True))",
        ]
        what = "a_j (g_j - sum_k a_k g_k), g = dC/da, softmax Jacobian"
    blocks.append(dict(comment=f"BP1: delta^{L} = {what}", lines=lines))
    if mean:
        # Every gradient is linear in delta^L, so dividing it by N (a few numbers per example)
        # before the products gives the mean, where dividing the weight gradients after them
        # would pass over every weight.
        blocks.append(
            dict(
                comment=f"C is the mean over the batch: delta^{L} / N, which BP2 carries down",
                lines=[f"delta{L} /= n"],
            )
        )
    by_layer = {}
    for g in d.gradients:
        by_layer.setdefault(g.layer, []).append(g)
    for l in range(L, 0, -1):
        # BP3 first: it reads delta^l while the BP2 that wrote it has left it in the cache, where
        # BP4's product over the batch (which reads all of a^{l-1}) would push it out
        for g in sorted(by_layer.get(l, []), key=lambda g: g.label != "BP3"):
            name, into = f"g{g.param}", f'out.get("{g.param}")'
            if g.label == "BP4":
                outer = f"np.multiply(delta{l}.T, a{l - 1}, out={into})"
                product = f"np.matmul(delta{l}.T, a{l - 1}, out={into})"
                lines = [f"{name} = {outer} if n == 1 else {product}"]
                comment = f"BP4: dC/dW^{l} = delta^{l} (a^{l - 1})^T (an outer product at N = 1)"
                if g.decay:
                    decay = "(WEIGHT_DECAY / n)" if mean else "WEIGHT_DECAY"
                    lines.append(f"{name} {sign}= {decay} * W{l}")
                    comment += f" {sign} lambda W^{l}" + (" / N" if mean else "")
            else:
                lines = [f"{name} = np.matmul(ones, delta{l}, out={into})"]
                comment = f"BP3: dC/db^{l} = delta^{l} summed over the batch (a BLAS gemv)"
            blocks.append(dict(comment=comment, lines=lines))
        if l > 1:
            k = l - 1
            if _fprime_into(fprimes[k], k):  # computed in the forward pass
                fprime = [f"delta{k} *= fp{k}"]
            else:
                fprime = _fprime_lines(fprimes[k], k)
            lines = [f"np.matmul(delta{l}, W{l}, out=delta{k})", *fprime]
            blocks.append(
                dict(
                    comment=f"BP2: delta^{k} = ((W^{l})^T delta^{l}) * f'(z^{k}), in place",
                    lines=lines,
                )
            )
    return blocks


def _decay_text(mean: bool, maximize: bool) -> dict:
    """The L2 convention in words for the module docstring, as ``_backward`` computes it: the
    term is added to (subtracted from, for a log-likelihood) the sum over the batch before the
    mean divides by N, so under "mean" it is lambda/(2N) sum w^2 and its gradient lambda W / N."""
    cost, sign = ("log L", "-") if maximize else ("C", "+")
    total = f"sum_x {cost}_x {sign} lambda/2 sum w^2"
    return dict(
        decay_formula=f"{cost} = (1/N) ({total})" if mean else f"{cost} = {total}",
        decay_gradient=f"{sign} lambda W" + (" / N" if mean else ""),
    )


def layer_context(d: LayerDerivation, *, source: str, optimizers=None) -> dict:
    """Everything the layer template needs, already printed."""
    net = d.net
    L = net.depth
    rule = d.output
    weights = " + ".join(f"np.sum(W{l} * W{l})" for l in range(1, L + 1))
    return dict(
        # Free text reaches the module only through the docstring printer (pystr): the template
        # renders the docstring's text and python_docstring prints it as one string literal.
        python_docstring=docstring_literal,
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
        decay_code=weights,
        **_decay_text(net.reduction == "mean", rule.maximize),
        mean=net.reduction == "mean",
        maximize=rule.maximize,
        assumption=rule.assumption and "the targets of each example sum to one",
        fused_form=_fused_form(rule.maximize),
        loss_term=_on_layer(rule.stable, L),
        forward=forward_statements(d, code=_activation_code),
        **optimizer_context(
            net.optimizer,
            gradients=STEP_GRADIENTS,
            release="_give_back_gradients(grads)",
            updatable="_updatable",
            extra=optimizers,
        ),
        optimizer_names=chosen_rules([net.optimizer], optimizers),
        has_example=bool(net.data_x),
        example_x=repr([list(r) for r in net.data_x]),
        example_t=repr([list(r) for r in net.data_t]),
        fast_backward=_fast_backward(d),
        grad_names=list(net.params),
        **_fast(d),
    )


def generate_layer_module(d: LayerDerivation, *, source: str, optimizers=None) -> str:
    """The generated module's text (without the do-not-edit header), formatted and audited;
    ``optimizers`` as for :func:`codegen.unit.generate_module`."""
    context = layer_context(d, source=source, optimizers=optimizers)
    text = format_python(render_with_runtime("layer", context))
    audit_module(text, expected=EXPECTED)
    return text

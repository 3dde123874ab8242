"""Runtime helpers of the JAX module, as real source: tested and linted here.

:mod:`codegen.backends` copies into each generated JAX module the definitions it uses, so the
module imports only JAX. Every helper is a pure function of arrays, traced by ``jax.jit``.
"""

# ruff: noqa: E741 - l is the layer index, as in the generated modules

import jax
import jax.numpy as jnp

# A logit floor f per float width (bits) with exp(f)**2 still a normal number: 0.5 log(tiny).
_EXP_FLOORS = {16: -4.852030263919617, 32: -43.66827237527655, 64: -354.19820926613204}


def _exp_floor(z):
    """The floor of ``_EXP_FLOORS`` for z's dtype (a Python float, known at trace time)."""
    return _EXP_FLOORS[jnp.finfo(z.dtype).bits]


def _sigmoid(z):
    return jax.nn.sigmoid(z)


def _relu(z):
    return jnp.maximum(z, 0)


def _leaky_relu(z):
    """max(z, 0.01 z): PyTorch's default negative slope."""
    return jnp.maximum(z, 0.01 * z)


def _softplus(z):
    """log(1 + exp(z)) without overflow."""
    return jnp.maximum(z, 0) + jnp.log1p(jnp.exp(-jnp.abs(z)))


def _softmax(z):
    """softmax(z) over units, z - max(z) floored at f so that every probability is normal."""
    s = z - jnp.max(z, axis=1, keepdims=True)
    e = jnp.exp(jnp.maximum(s, _exp_floor(z)))
    return e / jnp.sum(e, axis=1, keepdims=True)


def _softmax_delta(z, t):
    """delta^L of softmax with cross-entropy from the logits: a * sum_k t_k - t, with a the
    floored softmax of ``_softmax``. It is the fused a - t where each example's targets sum to
    one, and the exact gradient of -sum t log a for any targets. Written e * (sum t / sum e) - t
    (e the floored exponentials) because XLA's CPU runtime runs this form faster when it has two
    threads: at 784-128-64-10, batch 1024, in paired runs against jax.jit(jax.grad), the module
    with ``a - t`` took 1.01-1.36x its wall time in float32 and this form 0.98-1.00x, on the same
    CPU time; with XLA held to one thread the two forms measured the same."""
    s = z - jnp.max(z, axis=1, keepdims=True)
    e = jnp.exp(jnp.maximum(s, _exp_floor(z)))
    return e * (jnp.sum(t, axis=1, keepdims=True) / jnp.sum(e, axis=1, keepdims=True)) - t


def _log_softmax(z):
    return jax.nn.log_softmax(z, axis=1)


def _exp_floored(logp):
    """exp of a log-probability; probabilities below exp(floor) become exp(floor), not 0."""
    return jnp.exp(jnp.maximum(logp, _exp_floor(logp)))


def _linear(a, W, b):
    """z = a W^T + b, batch-first. For one example written (W a^T)^T: XLA's CPU backend then
    reads W as it is stored, where for a W^T it copies W transposed on every call (as it does in
    jax.jit(jax.grad) of the same loss; 784-30-10, one example: 0.80-0.87x that one's time with
    this form, 1.03-1.05x with the copy). From two examples on, XLA compiles both forms alike."""
    if a.shape[0] == 1:
        return (W @ a.T).T + b
    return a @ W.T + b


# The largest batch for which float32 delta^l is made as rows behind the barrier, as float64 is.
_ROWS_BATCH_F32 = 16


def _as_rows(delta):
    """delta^l (N, n_l) as rows (n_l, N), the operand of BP4 (``rows @ a``) and BP3 (the sum
    over axis 1). Made once behind an optimization barrier in float64, and in float32 up to
    ``_ROWS_BATCH_F32`` examples: XLA writes it in the loop that computes delta^l, and BP4
    becomes a product of two row-major operands, which its CPU backend runs faster than the one
    reading delta^l transposed (784-128-64-10 float64, batch 1024: about 0.93x the time of
    jax.jit(jax.grad); float32, 784-30-10 at batches 10 to 32 and 784-128-64-10 at 16: 0.92-0.93x,
    against 0.96-1.03x without). For larger float32 batches the transpose is left for XLA to
    fold into the product (the barrier measured 1-3 % slower at 64 and more)."""
    if delta.dtype == jnp.float64 or delta.shape[0] <= _ROWS_BATCH_F32:
        return jax.lax.optimization_barrier(delta.T)
    return delta.T


def _check(sizes, params, x, t=None):
    """Validate arguments; raises ValueError naming the argument and what is wrong with it.
    Whether values are finite is read on the host: this is for inputs not yet trusted."""
    arrays = [(f"params[{name!r}]", params[name]) for name in params]
    for l in range(1, len(sizes)):
        for name, shape in ((f"W{l}", (sizes[l], sizes[l - 1])), (f"b{l}", (sizes[l],))):
            if jnp.shape((params[name] if name in params else None)) != shape:
                raise ValueError(f"params[{name!r}] must be an array of shape {shape}")
    batch = [("x", x, sizes[0])] + ([] if t is None else [("t", t, sizes[-1])])
    for label, array, width in batch:
        shape = jnp.shape(array)
        if len(shape) != 2 or shape[1] != width:
            raise ValueError(f"{label} must be an array of shape (N, {width})")
        if shape[0] == 0:
            raise ValueError("empty batch")
        arrays.append((label, array))
    if t is not None and jnp.shape(t)[0] != jnp.shape(x)[0]:
        raise ValueError("x and t must have the same batch size")
    for label, array in arrays:
        array = jnp.asarray(array)
        if jnp.iscomplexobj(array) or not bool(jnp.all(jnp.isfinite(array))):
            raise ValueError(f"{label} must hold finite real numbers")

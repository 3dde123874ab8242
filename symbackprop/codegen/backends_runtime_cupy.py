"""Runtime helpers of the CuPy module, as real source: linted here, tested with NumPy standing in.

:mod:`codegen.backends` copies into each generated CuPy module the definitions it uses, so the
module imports only CuPy. Nothing here copies an array to the host or reads its values there:
the only Python numbers are dtype constants.
"""

# ruff: noqa: E741 - l is the layer index, as in the generated modules

import cupy as cp

# A logit floor f per float width (bits) with exp(f)**2 still a normal number: 0.5 log(tiny).
_EXP_FLOORS = {16: -4.852030263919617, 32: -43.66827237527655, 64: -354.19820926613204}


def _exp_floor(z):
    """The floor of ``_EXP_FLOORS`` for z's dtype (a Python float, known without the data)."""
    return _EXP_FLOORS[cp.finfo(z.dtype).bits]


def _sigmoid(z):
    """1 / (1 + exp(-z)), exp(-|z|) only: nothing overflows."""
    e = cp.exp(-cp.abs(z))
    return cp.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _relu(z):
    return cp.maximum(z, 0)


def _leaky_relu(z):
    """max(z, 0.01 z): PyTorch's default negative slope."""
    return cp.maximum(z, 0.01 * z)


def _softplus(z):
    """log(1 + exp(z)) without overflow."""
    return cp.maximum(z, 0) + cp.log1p(cp.exp(-cp.abs(z)))


def _softmax(z):
    """softmax(z) over units, z - max(z) floored at f so that every probability is normal."""
    s = z - cp.max(z, axis=1, keepdims=True)
    e = cp.exp(cp.maximum(s, _exp_floor(z)))
    return e / cp.sum(e, axis=1, keepdims=True)


def _log_softmax(z):
    """z - max(z) - log(sum of exp(z - max(z)))."""
    s = z - cp.max(z, axis=1, keepdims=True)
    return s - cp.log(cp.sum(cp.exp(s), axis=1, keepdims=True))


def _exp_floored(logp):
    """exp of a log-probability; probabilities below exp(floor) become exp(floor), not 0."""
    return cp.exp(cp.maximum(logp, _exp_floor(logp)))


def _common_dtype(arrays):
    """The floating dtype the arrays promote to (float64 for integer and boolean ones)."""
    dtype = cp.result_type(*arrays)
    return dtype if dtype.kind == "f" else cp.dtype(cp.float64)


def _check(sizes, params, x, t=None):
    """Validate arguments; raises ValueError naming the argument and what is wrong with it.

    Whether values are finite is read on the host, which waits for the device: this is for
    inputs not yet trusted, not for the training loop.
    """
    arrays = [(f"params[{name!r}]", params[name]) for name in params]
    for l in range(1, len(sizes)):
        for name, shape in ((f"W{l}", (sizes[l], sizes[l - 1])), (f"b{l}", (sizes[l],))):
            p = params[name] if name in params else None
            if not isinstance(p, cp.ndarray) or tuple(p.shape) != shape:
                raise ValueError(f"params[{name!r}] must be an array of shape {shape}")
    batch = [("x", x, sizes[0])] + ([] if t is None else [("t", t, sizes[-1])])
    for label, array, width in batch:
        if not isinstance(array, cp.ndarray) or array.ndim != 2 or array.shape[1] != width:
            raise ValueError(f"{label} must be an array of shape (N, {width})")
        if array.shape[0] == 0:
            raise ValueError("empty batch")
        arrays.append((label, array))
    if t is not None and t.shape[0] != x.shape[0]:
        raise ValueError(
            f"x and t must have the same batch size, got {x.shape[0]} and {t.shape[0]}"
        )
    for label, array in arrays:
        if array.dtype.kind == "c" or not bool(cp.all(cp.isfinite(array))):
            raise ValueError(f"{label} must hold finite real numbers")

"""Runtime helpers of the array-API module, as real source: tested and linted here.

:mod:`codegen.backends` copies into each generated module the definitions it uses. They take
the namespace from their argument (``array_namespace``) and use only functions of the array API
standard, so they run on NumPy, torch, JAX, CuPy, Dask and array-api-strict alike.
"""

# ruff: noqa: E741 - l is the layer index, as in the generated modules

from array_api_compat import array_namespace

# A logit floor f per float width (bits) with exp(f)**2 still a normal number: 0.5 log(tiny).
_EXP_FLOORS = {16: -4.852030263919617, 32: -43.66827237527655, 64: -354.19820926613204}


def _exp_floor(z):
    """The floor of ``_EXP_FLOORS`` for z's dtype (a Python float, known without the data)."""
    xp = array_namespace(z)
    return _EXP_FLOORS[xp.finfo(z.dtype).bits]


def _sigmoid(z):
    """1 / (1 + exp(-z)), exp(-|z|) only: nothing overflows."""
    xp = array_namespace(z)
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _relu(z):
    xp = array_namespace(z)
    return xp.clip(z, min=0)


def _leaky_relu(z):
    """max(z, 0.01 z): PyTorch's default negative slope."""
    xp = array_namespace(z)
    return xp.maximum(z, 0.01 * z)


def _softplus(z):
    """log(1 + exp(z)) without overflow."""
    xp = array_namespace(z)
    return xp.clip(z, min=0) + xp.log1p(xp.exp(-xp.abs(z)))


def _softmax(z):
    """softmax(z) over units, z - max(z) floored at f so that every probability is normal."""
    xp = array_namespace(z)
    s = z - xp.max(z, axis=1, keepdims=True)
    e = xp.exp(xp.clip(s, min=_exp_floor(z)))
    return e / xp.sum(e, axis=1, keepdims=True)


def _log_softmax(z):
    """z - max(z) - log(sum of exp(z - max(z)))."""
    xp = array_namespace(z)
    s = z - xp.max(z, axis=1, keepdims=True)
    return s - xp.log(xp.sum(xp.exp(s), axis=1, keepdims=True))


def _exp_floored(logp):
    """exp of a log-probability; probabilities below exp(floor) become exp(floor), not 0."""
    xp = array_namespace(logp)
    return xp.exp(xp.clip(logp, min=_exp_floor(logp)))


def _zeros_like(p):
    xp = array_namespace(p)
    return xp.zeros_like(p)


def _floating(array):
    """``array`` as the code computes with it: real floats as given, integers and booleans as
    float64 (the standard defines no mixed integer and float arithmetic)."""
    xp = array_namespace(array)
    if xp.isdtype(array.dtype, "real floating"):
        return array
    if xp.isdtype(array.dtype, ("bool", "integral")):
        return xp.astype(array, xp.float64)
    raise TypeError(f"arrays must hold real numbers, got {array.dtype}")


def _check(sizes, params, x, t=None):
    """Validate arguments; raises ValueError naming the argument and what is wrong with it.
    Whether values are finite is read on the host (with Dask: computed): this is for inputs
    not yet trusted."""
    arrays = [(f"params[{name!r}]", params[name]) for name in params]
    for l in range(1, len(sizes)):
        for name, shape in ((f"W{l}", (sizes[l], sizes[l - 1])), (f"b{l}", (sizes[l],))):
            p = params[name] if name in params else None
            if not hasattr(p, "shape") or tuple(p.shape) != shape:
                raise ValueError(f"params[{name!r}] must be an array of shape {shape}")
    batch = [("x", x, sizes[0])] + ([] if t is None else [("t", t, sizes[-1])])
    for label, array, width in batch:
        shape = tuple(array.shape) if hasattr(array, "shape") else ()
        if len(shape) != 2 or shape[1] != width:
            raise ValueError(f"{label} must be an array of shape (N, {width})")
        if shape[0] == 0:
            raise ValueError("empty batch")
        arrays.append((label, array))
    if t is not None and t.shape[0] != x.shape[0]:
        raise ValueError(
            f"x and t must have the same batch size, got {x.shape[0]} and {t.shape[0]}"
        )
    for label, array in arrays:
        xp = array_namespace(array)
        if xp.isdtype(array.dtype, "complex floating") or not bool(xp.all(xp.isfinite(array))):
            raise ValueError(f"{label} must hold finite real numbers")

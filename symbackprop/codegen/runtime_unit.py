"""Runtime helpers of the unit-level NumPy module, as real source: tested and linted here.

The renderer (:mod:`codegen.runtime`) copies into each generated module the definitions it
uses (found by name, with what they use in turn), so the module still imports only NumPy.
Each helper computes on arrays of any shape (``_sigmoid``) or on one Python float (``_sigmoid1``,
the unrolled path of tiny nets); nothing here may import anything but NumPy.
"""

import numpy as np

_E = 2.718281828459045  # the float nearest e


def _sigmoid(z):
    """Logistic function, stable for any z: exp is only taken of -|z|."""
    with np.errstate(under="ignore"):  # exp(-|z|) rounding to 0 for large |z| is exact enough
        e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _sigmoid1(z):
    """The same for one Python float, without NumPy: _E ** -|z| is exp(-|z|) to ~|z|·1e-16."""
    if z >= 0:
        return 1.0 / (1.0 + _E**-z)
    e = _E**z
    return e / (1.0 + e)


def _relu(z):
    return np.maximum(z, 0)


def _relu1(z):
    return z if z > 0.0 else 0.0 * z  # 0·z: a nan stays nan, as with np.maximum


def _leaky_relu(z):
    return np.where(z > 0, z, 0.01 * z)


def _leaky_relu1(z):
    return z if z > 0.0 else 0.01 * z


def _softplus(z):
    """log(1 + exp(z)) without overflow."""
    with np.errstate(under="ignore"):  # exp(-|z|) rounding to 0 for large |z| is exact enough
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _floating(array, label):
    """``array`` as NumPy computes with it here: floats as given, integers and booleans as float64
    (integer arithmetic would wrap around); anything else (strings, None, complex numbers, ragged
    lists) is refused with a TypeError naming the argument."""
    try:
        array = np.asarray(array)
    except (TypeError, ValueError):  # ragged nesting
        raise TypeError(f"{label} must be an array-like of real numbers, not ragged") from None
    kind = array.dtype.kind
    if kind == "f":
        return array
    if kind in "biu":
        return array.astype(np.float64)
    raise TypeError(f"{label} must hold real numbers, got {array.dtype}")


def _rows(array, label, width):
    """``array`` as a float array of shape (N, width), from any array-like (a float array is not
    copied); a ValueError names the argument and the shape it must have."""
    if type(array) is not np.ndarray or array.dtype.kind != "f":
        array = _floating(array, label)
    if array.ndim != 2 or array.shape[1] != width:
        raise ValueError(f"{label} must be an array of shape (N, {width}), got {array.shape}")
    return array


def _mapping(params, names):
    """Refuse a ``params`` that is not a dict holding every name."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict name -> value, got {type(params)}")
    missing = [name for name in names if name not in params]
    if missing:
        raise ValueError(f"params is missing {missing}")


def _arrays(params, names):
    """``params`` as a dict of 0-d float arrays for the NumPy path: float arrays as given,
    numbers and integer arrays as float64."""
    _mapping(params, names)
    out = {}
    for name in names:
        value = params[name]
        if type(value) is not np.ndarray or value.dtype.kind != "f":
            value = _floating(value, f"params[{name!r}]")
        if value.ndim != 0:
            raise ValueError(f"params[{name!r}] must be one number, got shape {value.shape}")
        out[name] = value
    return out


def _floats(params, names):
    """The values of ``params`` in the order of ``names``, as Python floats (one example's path)."""
    try:
        return [float(params[name]) for name in names]
    except (KeyError, TypeError, ValueError):
        return [float(v) for v in _arrays(params, names).values()]


def _in_dtype(dtype, value, names, grads):
    """The float path's results (floats, ``grads`` in the order of ``names``) in the dtype of
    ``x``: NumPy scalars, as the batch path returns, and a dict of gradients (float32: one
    conversion of all values; np.float32(v) one by one costs more)."""
    if dtype.type is np.float64:
        f = np.float64
        return f(value), {name: f(g) for name, g in zip(names, grads)}
    values = np.array([value, *grads], dtype)
    return values[0], dict(zip(names, values[1:]))


def _check(params, x, t, names):
    """The checks of ``check_inputs=True`` on arrays already of shape (N, width): every parameter
    present and finite, x (and t) float32 or float64, finite, one batch size, not empty."""
    _mapping(params, names)
    for label, array in (("x", x), ("t", t)):
        if array is None:
            continue
        if array.dtype not in (np.float32, np.float64):
            raise ValueError(f"{label} must be float32 or float64, got {array.dtype}")
        if array.shape[0] == 0:
            raise ValueError("empty batch")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{label} contains non-finite values")
    for name in names:
        if not np.all(np.isfinite(params[name])):
            raise ValueError(f"params[{name!r}] contains non-finite values")
    if t is not None and t.shape[0] != x.shape[0]:
        raise ValueError(
            f"x and t must have the same batch size, got {x.shape[0]} and {t.shape[0]}"
        )


def _initial_params(names, initial, dtype, seed):
    """``init_params``: the spec's values (``initial``, every parameter) when ``seed`` is None,
    else each parameter drawn uniformly from [-0.5, 0.5) by ``default_rng(seed)`` in the order
    of ``names``; with no spec values, None is seed 0. 0-d arrays of ``dtype``."""
    if seed is None and initial:
        return {name: np.asarray(initial[name], dtype=dtype) for name in names}
    rng = np.random.default_rng(0 if seed is None else seed)
    return {name: np.asarray(rng.uniform(-0.5, 0.5), dtype=dtype) for name in names}

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
    (integer arithmetic would wrap around, and the one-example path returns its results in the
    dtype of ``x``); anything else is refused."""
    array = np.asarray(array)
    kind = array.dtype.kind
    if kind == "f":
        return array
    if kind in "biu":
        return array.astype(np.float64)
    raise TypeError(f"{label} must hold real numbers, got {array.dtype}")


def _trainable(params):
    """The training step updates ``params`` in place, so each array must be a float array: an
    integer one cannot hold p - lr * g, and NumPy would refuse it halfway through the update."""
    for name, p in params.items():
        if isinstance(p, np.ndarray) and p.dtype.kind != "f":
            raise TypeError(f"params[{name!r}] must be a float array to be updated, got {p.dtype}")

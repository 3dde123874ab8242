"""Runtime helpers of the layer-level NumPy module, as real source: tested and linted here.

The renderer (:mod:`codegen.runtime`) copies into each generated module the definitions it
uses (found by name, with what they use in turn), so the module still imports only NumPy.
Helpers take ``out=`` (which may be their own input) so the module's workspace is reused;
nothing here may import anything but NumPy.
"""

import numpy as np

# A logit floor f per dtype with exp(f)**2 still a normal number, so nothing underflows.
_EXP_FLOORS = {np.dtype(d): 0.5 * float(np.log(np.finfo(d).tiny)) for d in (np.float32, np.float64)}


def _exp_floor(z):
    """A logit floor f with exp(f)**2 still a normal number, so nothing underflows."""
    floor = _EXP_FLOORS.get(z.dtype)
    return 0.5 * float(np.log(np.finfo(z.dtype).tiny)) if floor is None else floor


# Bounds on -z, in each dtype, that keep exp(-z) and 1 / (1 + exp(-z)) normal numbers: nothing
# overflows or underflows, and sigmoid(z) is changed only where it is below 1.01 times the
# smallest normal number. With them, 1; all as 0-d arrays, which a ufunc takes faster than floats.
def _sigmoid_constants(d):
    bound = np.log(np.finfo(d).tiny) * 0.99999  # in d's own arithmetic
    return np.array(bound, d), np.array(-bound, d), np.array(1, d)


_SIGMOID_CONSTANTS = {np.dtype(d): _sigmoid_constants(d) for d in (np.float32, np.float64)}


def _sigmoid(z, out=None):
    """Logistic function 1 / (1 + exp(-z)) with -z clamped to the dtype's bounds; ``out`` may be z.

    Within about 3 ulp of the exact value wherever that is a normal number; five ufunc calls, none
    of which allocates.
    """
    low, high, one = _SIGMOID_CONSTANTS.get(z.dtype) or _SIGMOID_CONSTANTS[np.dtype(np.float64)]
    e = np.negative(z, out=out)
    e.clip(low, high, out=e)  # one pass, and faster than np.clip's wrapper
    np.exp(e, out=e)
    np.add(e, one, out=e)
    return np.reciprocal(e, out=e)


def _relu(z, out=None):
    return np.maximum(z, 0, out=out)


def _leaky_relu(z, out=None):
    """max(z, 0.01 z): PyTorch's default negative slope."""
    return np.maximum(z, 0.01 * z, out=out)


def _softplus(z, out=None):
    """log(1 + exp(z)) without overflow."""
    e = np.exp(np.maximum(-np.abs(z), _exp_floor(z)))
    np.log1p(e, out=e)
    return np.add(np.maximum(z, 0), e, out=out)


def _shifted_units_first(z):
    """z - max(z) per example, as a units-first (transposed, contiguous) copy: NumPy reduces fast
    along the rows of a contiguous array, and slowly along the short unit axis of a batch-first
    one."""
    s = np.array(z.T, order="C")  # always a copy: at N = 1, z.T is already contiguous, and a view
    np.subtract(s, np.maximum.reduce(s, axis=0), out=s)  # would shift z itself
    return s


def _batch_first(s, out):
    """A units-first result back in batch-first order, in ``out`` if given."""
    if out is None:
        return s.T.copy()
    np.copyto(out, s.T)
    return out


def _softmax(z, out=None):
    """softmax(z) = exp(s) / sum of exp(s_k), s = max(z - max(z), f). The floor f keeps every
    probability a normal number (at least exp(f) / n_units), so that nothing downstream
    underflows, as with ``_exp_floored``. ``out`` may be ``z``.
    """
    s = _shifted_units_first(z)
    np.maximum(s, _exp_floor(s), out=s)
    np.exp(s, out=s)
    s /= np.add.reduce(s, axis=0)
    return _batch_first(s, out)


def _log_softmax(z, out=None):
    """log softmax(z) = s - log1p(sum of exp(s_k) over the other units), s = z - max(z).

    With the maximum's own term (exactly 1) taken out of the sum, log1p keeps the largest
    log-probability accurate to the last bit even when it is nearly 0. exp of a very negative
    logit rounds to 0, which is the right answer, so that underflow is not reported.
    ``out`` may be ``z``.
    """
    shifted = _shifted_units_first(z)
    with np.errstate(under="ignore"):
        others = np.exp(shifted)
    top = shifted == 0
    np.copyto(others, 0, where=top)
    rest = np.add.reduce(others, axis=0)
    rest += np.add.reduce(top, axis=0) - 1  # ties for the maximum
    np.log1p(rest, out=rest)
    shifted -= rest
    return _batch_first(shifted, out)


def _exp_floored(logp, out=None):
    """exp of a log-probability; probabilities below exp(floor) become exp(floor), not 0."""
    floored = np.maximum(logp, _exp_floor(logp), out=out)
    return np.exp(floored, out=floored)


def _aligned_empty(shape, dtype):
    """An uninitialised array whose data starts on a 64-byte boundary (a cache line). NumPy's
    own arrays start wherever malloc puts them; BLAS reads aligned operands and writes aligned
    results faster, by up to a quarter for the small matrix products of a small batch."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(nbytes + 64, np.uint8)
    start = -raw.ctypes.data % 64
    return raw[start : start + nbytes].view(dtype).reshape(shape)


# Work buffers of ``_backward`` (z, a, delta of every layer, a row of N ones that sums over the
# batch as a matrix product, and 1 as a 0-d array: a ufunc takes that faster than the Python
# float, which it must convert first), one set per batch size and dtype, 64-byte aligned,
# made on first use and overwritten by every later call. A call takes its set out of the pool and
# puts it back when done, so calls from several threads never share one. Nothing handed to a
# caller lives in them: the gradients are fresh arrays or the caller's own (``out=``).
_WORKSPACES = {}
_WORKSPACE_LIMIT = 8  # sets kept; more distinct batch sizes than this start over


def _take_workspace(n, dtype, widths):
    """The work buffers for a batch of ``n`` in ``dtype``, one (n, width) array per width, then a
    row of n ones and 1 as a 0-d array: taken out of the pool (so no other thread uses them
    meanwhile), or made on the first call with this batch size."""
    buffers = _WORKSPACES.pop((n, dtype), None)
    if buffers is None:
        buffers = tuple(_aligned_empty((n, w), dtype) for w in widths)
        ones = _aligned_empty((n,), dtype)
        ones.fill(1)
        buffers += (ones, np.ones((), dtype))
    return buffers


def _give_back_workspace(n, dtype, buffers):
    if len(_WORKSPACES) >= _WORKSPACE_LIMIT:
        _WORKSPACES.clear()
    _WORKSPACES[(n, dtype)] = buffers


# Gradient arrays for the training steps, which use them up within the call: one set per dtype,
# taken and put back like the work buffers, so a step allocates no gradient arrays.
_GRADIENT_SETS = {}


def _take_gradients(params, x, t):
    return _GRADIENT_SETS.pop(_float_inputs(params, x, t)[3], None)


def _give_back_gradients(grads):
    _GRADIENT_SETS[next(iter(grads.values())).dtype] = grads


def _floating(array, label):
    """``array`` as the code computes with it: any array-like (lists, tuples, NumPy arrays) as an
    array; floats as given, integers and booleans as float64 (integer arithmetic would wrap
    around, and ``-t`` is not defined for booleans); anything else is refused with a TypeError."""
    try:
        array = np.asarray(array)
    except (TypeError, ValueError):  # ragged nesting, objects NumPy cannot convert
        message = f"{label} must be an array of real numbers, nested lists of one shape"
        raise TypeError(message) from None
    kind = array.dtype.kind
    if kind == "f":
        return array
    if kind in "biu":
        return array.astype(np.float64)
    raise TypeError(f"{label} must hold real numbers, got {array.dtype}")


def _float_params(params):
    """``params`` itself when every value is a float array (no copy), else a dict in which
    array-likes are arrays and integer and boolean ones float64: BLAS multiplies floats only, and
    a square of an integer weight could wrap around."""
    if not isinstance(params, dict):
        raise TypeError("params must be a dict of arrays, as init_params returns")
    for p in params.values():
        if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
            return {k: _floating(v, f"params[{k!r}]") for k, v in params.items()}
    return params


def _float_inputs(params, x, t):
    """``(params, x, t, dtype)`` as a call computes with them, ``dtype`` the one it computes in.

    The common case costs a few attribute reads: arrays that all hold one float dtype are
    returned as they are. Otherwise array-likes become arrays, integers and booleans float64
    (see ``_floating``), and ``dtype`` is NumPy's promotion of them all (float32 with float64
    computes in float64).
    """
    if type(x) is np.ndarray and type(t) is np.ndarray and isinstance(params, dict):
        dtype = x.dtype
        if dtype.kind == "f" and t.dtype is dtype:
            for p in params.values():
                if type(p) is not np.ndarray or p.dtype is not dtype:
                    break
            else:
                return params, x, t, dtype
    x, t, params = _floating(x, "x"), _floating(t, "t"), _float_params(params)
    return params, x, t, np.result_type(x, t, *params.values())


def _check(sizes, params, x, t=None, out=None):
    """Validate the arguments of a call on the net of layer ``sizes`` (inputs first): TypeError
    for what is not an array of real numbers, ValueError naming the argument and what is wrong
    with its shape or values. NumPy arrays must hold float32 or float64; lists and other
    array-likes are checked as the call converts them (integers to float64)."""
    params = _float_params(params)
    for k in range(1, len(sizes)):
        want = {f"W{k}": (sizes[k], sizes[k - 1]), f"b{k}": (sizes[k],)}
        for name, shape in want.items():
            if name not in params or np.shape(params[name]) != shape:
                raise ValueError(f"params[{name!r}] must have shape {shape}")
            if not np.all(np.isfinite(params[name])):
                raise ValueError(f"params[{name!r}] contains non-finite values")
    x = x if isinstance(x, np.ndarray) else _floating(x, "x")
    arrays = [("x", x, sizes[0])]
    if t is not None:
        t = t if isinstance(t, np.ndarray) else _floating(t, "t")
        arrays.append(("t", t, sizes[-1]))
    for label, array, width in arrays:
        if array.ndim != 2 or array.shape[1] != width:
            raise ValueError(f"{label} must be an array of shape (N, {width}), got {array.shape}")
        if array.dtype not in (np.float32, np.float64):
            raise ValueError(f"{label} must be float32 or float64, got {array.dtype}")
        if array.shape[0] == 0:
            raise ValueError("empty batch")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{label} contains non-finite values")
    if t is not None and t.shape[0] != x.shape[0]:
        sizes = f"{x.shape[0]} and {t.shape[0]}"
        raise ValueError(f"x and t must have the same batch size, got {sizes}")
    if out is not None:
        dtype = np.result_type(x, t, *params.values())
        for name, p in params.items():
            g = out.get(name) if isinstance(out, dict) else None
            if not isinstance(g, np.ndarray) or g.shape != np.shape(p) or g.dtype != dtype:
                raise ValueError(f"out[{name!r}] must be an array of shape {np.shape(p)}, {dtype}")
        # Gradients written over their own inputs are wrong: W2's BP2 step reads W2 after dC/dW2
        # has been written, and the last layer's delta reads t.
        inputs = [(f"params[{k!r}]", v) for k, v in params.items()] + [("x", x), ("t", t)]
        inputs += [(f"out[{k!r}]", out[k]) for k in params]
        for name in params:
            for label, array in inputs:
                if label != f"out[{name!r}]" and np.shares_memory(out[name], array):
                    raise ValueError(f"out[{name!r}] shares memory with {label}")


def _trainable(params):
    """The training steps update ``params`` in place, so each array must be a float array: an
    integer one cannot hold p - lr * g, and NumPy would refuse it halfway through the update."""
    for name, p in params.items():
        if isinstance(p, np.ndarray) and p.dtype.kind != "f":
            raise TypeError(f"params[{name!r}] must be a float array to be updated, got {p.dtype}")

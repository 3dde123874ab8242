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


# tanh in float64 from NumPy's arithmetic ufuncs, where NumPy's own float64 tanh is a scalar loop:
# it is vectorised on AVX-512 CPUs, but on an AVX2 one it measured 15-18 ns an element (libm's
# speed) where a multiply takes 0.3 ns. The choice is made once, at import, from the SIMD
# extensions NumPy reports (np.show_config): x86-64 with AVX2 and without AVX-512. Everywhere else
# (AVX-512, ARM, float32, non-contiguous arrays) np.tanh runs.
def _numpy_tanh_is_scalar():
    try:
        simd = np.show_config(mode="dicts").get("SIMD Extensions", {})
    except TypeError:  # NumPy before 1.26 prints its configuration only
        return False
    have = list(simd.get("baseline", [])) + list(simd.get("found", []))
    avx2 = any(name in have for name in ("AVX2", "X86_V3", "X86_V4"))  # NumPy 1.x's, 2.4's names
    avx512 = any(name in have for name in ("AVX512F", "AVX512_SKX", "X86_V4"))
    return avx2 and not avx512


_TANH_BY_PASSES = _numpy_tanh_is_scalar()


# The passes pay about 30 ufunc calls per block: below this many elements np.tanh's scalar loop is
# as fast. In the 784-128-64-10 module (one thread), the passes made the whole gradient 3-4 %
# slower at batch 64 (8192 and 4096 elements) and 3-5 % faster at batch 128 and 256.
_TANH_PASSES_MIN = 16384


# The constants of ``_tanh_passes``. With 2x = k ln2 + 2h, |h| <= ln2 / 4, and s = 2^k:
# tanh x = (T + tanh(k ln2 / 2)) / (1 + T tanh(k ln2 / 2)), T = tanh h = N / Q, and
# tanh(k ln2 / 2) = (s - 1) / (s + 1). Written with R = Q - N and u = (1 - s) / 2 (exact):
# tanh x = (s N - u R) / (s N - u R + R), in which -0 stays -0 (u R is +0 when k = 0).
# N / Q = h P(h^2) / Q(h^2) is the minimax rational of degree 2/2 for tanh h / h on
# |h| <= ln2 / 4 (relative error 4.8e-18, fitted with mpmath), both polynomials divided by Q's
# leading coefficient (the ratio does not change) so that Q is monic and needs no multiply.
def _tanh_constants():
    p = (0.9999999999999999951932773, 0.1110990810448792590074911, 0.001057399655048034337877385)
    q = (1.0, 0.4444324143782045617137945, 0.01586820444992988890617234)
    numbers = dict(
        p=[c / q[2] for c in p[::-1]],  # highest power first, for Horner's scheme
        q=[c / q[2] for c in q[1::-1]],  # the leading 1 is left out
        # |x| beyond 22 has tanh(x) = +-1 in float64, and keeps 2^k a normal number
        low=-22.0,
        high=22.0,
        two_log2e=2 / np.log(2),
        ln2_half=np.log(2) / 2,
        # adding 1.5 * 2^52 rounds to an integer, which then sits in the low bits; 1023 more is
        # the exponent bias, so shifting those bits left by 52 gives 2^k
        magic=1.5 * 2.0**52 + 1023,
        minus_half=-0.5,
        half=0.5,
    )
    constants = {k: np.array(v) for k, v in numbers.items()}
    constants["shift"] = np.array(52, np.int64)
    return constants


_TANH = _tanh_constants()
_TANH_BLOCK = 32768  # elements a pass covers (scratch arrays of 256 KiB in float64)
_TANH_SCRATCH = []  # scratch arrays (3, _TANH_BLOCK), taken and put back like the workspaces


def _tanh_block(x, out, b, c, d):
    """tanh of the float64 array ``x`` into ``out`` (which may be ``x``, and is the first of the
    four arrays worked in), 24 passes over out and the scratch arrays b, c, d of x's size;
    within 4 ulp of the exact value (tested)."""
    const = _TANH
    a = x.clip(const["low"], const["high"], out=out)  # x is read here only
    np.multiply(a, const["two_log2e"], out=b)
    b += const["magic"]  # 1023 + k in the low bits of b
    np.subtract(b, const["magic"], out=c)  # k = round(2x / ln 2)
    bits = b.view(np.int64)
    np.left_shift(bits, const["shift"], out=bits)  # b = s = 2^k
    c *= const["ln2_half"]
    a -= c  # h = x - k ln2 / 2, exact but for the rounding of ln2 / 2 (under an ulp of tanh)
    np.square(a, out=c)
    p, q = const["p"], const["q"]
    np.multiply(c, p[0], out=d)
    d += p[1]
    d *= c
    d += p[2]
    d *= a  # N
    np.add(c, q[0], out=a)
    a *= c
    a += q[1]  # Q
    a -= d  # R = Q - N
    d *= b  # s N
    b *= const["minus_half"]
    b += const["half"]  # u = (1 - s) / 2, exact
    b *= a
    d -= b  # s N - u R
    a += d
    return np.divide(d, a, out=a)


def _tanh_passes(x, out, slope=None):
    """``_tanh_block`` over blocks of the C-contiguous float64 arrays ``x`` and ``out``; with
    ``slope`` (of x's shape), 1 - tanh^2 into it as well, each block while it is in the cache."""
    flat, into = x.reshape(-1), out.reshape(-1)
    slopes = None if slope is None else slope.reshape(-1)
    size = flat.size
    scratch = _TANH_SCRATCH.pop() if _TANH_SCRATCH else np.empty((3, _TANH_BLOCK))
    with np.errstate(under="ignore"):  # h^2 of a tiny x; tanh x is still right
        for start in range(0, size, _TANH_BLOCK):
            stop = min(size, start + _TANH_BLOCK)
            parts = [row[: stop - start] for row in scratch]
            if slopes is not None:  # the slope's block is free until the end: one less to cache
                parts[0] = slopes[start:stop]
            t = _tanh_block(flat[start:stop], into[start:stop], *parts)
            if slopes is not None:
                _tanh_slope(t, slopes[start:stop])
    _TANH_SCRATCH.append(scratch)
    return out


def _tanh_slope(t, slope):
    """tanh' = 1 - t^2 from t = tanh(z), into ``slope``."""
    np.square(t, out=slope)
    return np.subtract(1, slope, out=slope)


def _tanh(z, out=None, slope=None):
    """tanh(z), into ``out`` if given (which may be ``z``), and with ``slope`` its derivative
    1 - tanh(z)^2 into that array too: ``_tanh_passes`` where NumPy's own float64 tanh is a scalar
    loop (``_TANH_BY_PASSES``), z has at least ``_TANH_PASSES_MIN`` elements, and the arrays are
    C-contiguous float64 of one shape (``out`` z itself or apart from it, ``slope`` apart from
    both), else np.tanh."""
    if (
        _TANH_BY_PASSES
        and z.size >= _TANH_PASSES_MIN
        and z.dtype == np.float64
        and z.flags.c_contiguous
        and all(
            a is None or (a.dtype == z.dtype and a.shape == z.shape and a.flags.c_contiguous)
            for a in (out, slope)
        )
        and (out is None or out is z or not np.may_share_memory(out, z))
        and (
            slope is None
            or not any(np.may_share_memory(slope, a) for a in (z, out) if a is not None)
        )
    ):
        return _tanh_passes(z, np.empty_like(z) if out is None else out, slope)
    out = np.tanh(z, out=out)
    if slope is not None:
        _tanh_slope(out, slope)
    return out


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

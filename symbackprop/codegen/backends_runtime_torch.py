"""Runtime helpers of the torch module, as real source: tested and linted here.

:mod:`codegen.backends` copies into each generated torch module the definitions it uses (found by
name, with what they use in turn), so the module imports only torch. Nothing here leaves the
device or reads a tensor's value on the host: the only Python numbers are dtype constants.
"""

# ruff: noqa: E741 - l is the layer index, as in the generated modules

import torch

# A logit floor f per float width (bits) with exp(f)**2 still a normal number: 0.5 log(tiny).
_EXP_FLOORS = {16: -4.852030263919617, 32: -43.66827237527655, 64: -354.19820926613204}


# exp(f) of each floor, sqrt of the smallest normal number: the smallest probability _softmax
# returns, per dtype.
_EXP_FLOOR_PROBABILITIES = {
    torch.float16: 2.0**-7,
    torch.float32: 2.0**-63,
    torch.float64: 2.0**-511,
}


def _exp_floor(z):
    """The floor of ``_EXP_FLOORS`` for z's dtype (a Python float, known without the data)."""
    return _EXP_FLOORS[torch.finfo(z.dtype).bits]


def _sigmoid(z):
    return torch.sigmoid(z)


def _relu(z):
    return torch.relu(z)


def _leaky_relu(z):
    """max(z, 0.01 z): PyTorch's default negative slope."""
    return torch.maximum(z, 0.01 * z)


def _softplus(z):
    """log(1 + exp(z)) without overflow, exact where z is large (no threshold as in F.softplus)."""
    return torch.clamp(z, min=0) + torch.log1p(torch.exp(-torch.abs(z)))


def _tanh_of_minus_twice(z, one):
    """tanh from its argument's buffer holding -2 z, in place: 1 - 2 sigmoid(-2 z) (``one``: 1
    as a 0-d tensor of z's dtype and device).

    torch.tanh on the CPU runs at about half the speed of torch.sigmoid (MKL build, AVX2), and
    the product that fills the buffer scales by -2 for free (addmm's alpha and beta), so this is
    two fast passes for one slow one. The absolute error is a few ulp of 1 (the relative error
    of tanh(z) for |z| near 0 is larger, but every use of a^l in backprop is a product or
    1 - a^2, where the absolute error is what counts)."""
    torch.sigmoid(z, out=z)
    return torch.sub(one, z, alpha=2, out=z)  # one: 1 as a 0-d tensor (a float is converted)


def _softmax(z):
    """softmax(z) over units, every probability at least exp(f), a normal number: torch's
    softmax (which subtracts the row's max itself), then floored. Flooring the probabilities
    rather than the logits (z - max(z) at f) moves a floored one by a factor of at most the
    row's sum of exp (<= n_L), i.e. by less than n_L exp(f) absolutely; two passes instead of
    four."""
    return torch.clamp(torch.softmax(z, dim=1), min=_EXP_FLOOR_PROBABILITIES[z.dtype])


def _log_softmax(z):
    return torch.log_softmax(z, dim=1)


def _exp_floored(logp):
    """exp of a log-probability; probabilities below exp(floor) become exp(floor), not 0."""
    return torch.exp(torch.clamp(logp, min=_exp_floor(logp)))


def _common_dtype(tensors):
    """The floating dtype the tensors promote to (float64 for integer and boolean ones)."""
    dtype = tensors[0].dtype
    for tensor in tensors[1:]:
        dtype = torch.promote_types(dtype, tensor.dtype)
    return dtype if dtype.is_floating_point else torch.float64


def _check(sizes, params, x, t=None):
    """Validate arguments; raises ValueError naming the argument and what is wrong with it.

    Whether values are finite is read on the host, which waits for the device: this is for
    inputs not yet trusted, not for the training loop.
    """
    arrays = [(f"params[{name!r}]", params[name]) for name in params]
    for l in range(1, len(sizes)):
        for name, shape in ((f"W{l}", (sizes[l], sizes[l - 1])), (f"b{l}", (sizes[l],))):
            p = params[name] if name in params else None
            if not isinstance(p, torch.Tensor) or tuple(p.shape) != shape:
                raise ValueError(f"params[{name!r}] must be a tensor of shape {shape}")
    batch = [("x", x, sizes[0])] + ([] if t is None else [("t", t, sizes[-1])])
    for label, array, width in batch:
        if not isinstance(array, torch.Tensor) or array.ndim != 2 or array.shape[1] != width:
            raise ValueError(f"{label} must be a tensor of shape (N, {width})")
        if array.shape[0] == 0:
            raise ValueError("empty batch")
        arrays.append((label, array))
    if t is not None and t.shape[0] != x.shape[0]:
        raise ValueError(
            f"x and t must have the same batch size, got {x.shape[0]} and {t.shape[0]}"
        )
    devices = sorted({str(array.device) for _, array in arrays})
    if len(devices) > 1:
        raise ValueError(f"params, x and t must be on one device, got {', '.join(devices)}")
    for label, array in arrays:
        if array.is_complex() or not bool(torch.isfinite(array).all()):
            raise ValueError(f"{label} must hold finite real numbers")


def _promoted(params, x, t):
    """x, t and the parameters in the one floating dtype they promote to: a copy only of those
    in another dtype (``_backward`` calls this only when the dtypes differ)."""
    dtype = _common_dtype([x, t, *params.values()])
    return {name: p.to(dtype) for name, p in params.items()}, x.to(dtype), t.to(dtype)


# Work buffers of ``_backward`` (z, a, delta of every layer, and 1 as a 0-d tensor), one set per
# batch size, dtype and device, made on first use and overwritten by every later call. A call
# takes its set out of the pool and puts it back when done, so calls from several threads never
# share one. Nothing handed to a caller lives in them: the gradients and the loss are new tensors.
_WORKSPACES = {}
_WORKSPACE_LIMIT = 8  # sets kept; more distinct batch sizes than this start over


def _work_buffer(x, width):
    """An (N, width) buffer for the batch x: column-major in float64, where MKL writes the
    forward products (N, n) @ (n, m) into a column-major output about a fifth faster than into
    a row-major one (and BP4's delta^T @ a reads delta^T contiguous); row-major otherwise, where
    the column-major addmm measured a few per cent slower (float32)."""
    n = x.shape[0]
    if x.dtype == torch.float64:
        return torch.empty((width, n), dtype=x.dtype, device=x.device).T
    return torch.empty((n, width), dtype=x.dtype, device=x.device)


def _take_workspace(x, widths):
    """The work buffers for the batch ``x``: one (N, width) tensor (:func:`_work_buffer`) per
    width in x's dtype and on its device, then 1 as a 0-d tensor; out of the pool, or made on
    the first call."""
    buffers = _WORKSPACES.pop((x.shape[0], x.dtype, x.device), None)
    if buffers is None:
        made = [_work_buffer(x, w) for w in widths]
        buffers = (*made, torch.ones((), dtype=x.dtype, device=x.device))
    return buffers


def _give_back_workspace(x, buffers):
    if len(_WORKSPACES) >= _WORKSPACE_LIMIT:
        _WORKSPACES.clear()
    _WORKSPACES[(x.shape[0], x.dtype, x.device)] = buffers

"""The benchmark cases and the reference implementations that need nothing but NumPy.

A case is a fully connected net (sizes, activations, loss) at one batch size. Parameters travel
in matrix form, ``[W1, b1, W2, b2, …]`` with ``W^l`` of shape (n_l, n_{l−1}) as in the generated
modules; the loss is summed over the batch. Two NumPy codes live here:

- ``numpy_gradients``: backprop as one writes it by hand in NumPy (the "plain NumPy" peer),
  every step a fresh array;
- ``tuned_gradients``: the same by hand into buffers allocated once (the "tuned NumPy" peer);
- ``gemm_floor``: only the matrix products backprop cannot avoid (forward ``a W^T``, backward
  ``δ^T a`` and ``δ W``), into preallocated outputs — a lower bound for any implementation
  that runs on the same BLAS. The same products through torch's BLAS give torch's floor; with
  ``activate``, the forward's activations run between the products too (the least NumPy code
  that computes the net can do).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Case:
    """One benchmark case: a net and a batch size."""

    name: str
    sizes: tuple[int, ...]
    activations: tuple[str, ...]  # per non-input layer: sigmoid | tanh | softmax (output only)
    loss: str  # half_sse | softmax_ce
    batch: int

    @property
    def label(self) -> str:
        return f"{self.name} b{self.batch}"

    @property
    def n_params(self) -> int:
        return sum(o * i + o for i, o in zip(self.sizes, self.sizes[1:]))

    @property
    def flops(self) -> int:
        """Multiply-adds ×2 of the GEMMs of one gradient: forward, δ^T a, and δ W (not layer 1)."""
        total = 0
        for layer, (n_in, n_out) in enumerate(zip(self.sizes, self.sizes[1:]), start=1):
            products = 2 if layer == 1 else 3
            total += products * 2 * self.batch * n_in * n_out
        return total


CASES = (
    Case("2-2-2 sigmoid", (2, 2, 2), ("sigmoid", "sigmoid"), "half_sse", 1),
    Case("784-30-10 sigmoid", (784, 30, 10), ("sigmoid", "sigmoid"), "half_sse", 1),
    Case("784-30-10 sigmoid", (784, 30, 10), ("sigmoid", "sigmoid"), "half_sse", 10),
    Case(
        "784-128-64-10 tanh+softmax-CE",
        (784, 128, 64, 10),
        ("tanh", "tanh", "softmax"),
        "softmax_ce",
        64,
    ),
    Case(
        "784-128-64-10 tanh+softmax-CE",
        (784, 128, 64, 10),
        ("tanh", "tanh", "softmax"),
        "softmax_ce",
        1024,
    ),
    Case("4096-4096-4096 tanh", (4096, 4096, 4096), ("tanh", "tanh"), "half_sse", 256),
)

# The cases whose time is dominated by the GEMMs: the generated code must be within 1.15× of
# the floor there.
GEMM_BOUND = {"784-128-64-10 tanh+softmax-CE b1024", "4096-4096-4096 tanh b256"}


def aligned(array, dtype=None):
    """A C-contiguous copy of ``array`` whose data starts on a 64-byte boundary.

    Where an operand starts changes the speed of small matrix products by up to a third, and
    NumPy puts arrays wherever malloc does; every peer gets its data aligned alike so that this
    is not a difference between them.
    """
    src = np.asarray(array, dtype=dtype)
    raw = np.empty(src.nbytes + 64, np.uint8)
    start = -raw.ctypes.data % 64
    out = raw[start : start + src.nbytes].view(src.dtype).reshape(src.shape)
    out[...] = src
    return out


def as_user_has_it(array, dtype=None):
    """A plain C-contiguous copy of ``array``, wherever malloc puts it: data as a user has it."""
    return np.array(array, dtype=dtype, order="C")


LAYOUTS = {"user": as_user_has_it, "aligned": aligned}


def make_data(case: Case, dtype, seed: int = 0, layout: str = "aligned"):
    """Parameters (list of arrays), inputs and targets for ``case`` in ``dtype``, each array
    ``aligned`` (64-byte boundary) or as a ``user`` has it (a plain copy)."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(case.sizes, case.sizes[1:]):
        params.append(rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_out, n_in)))
        params.append(rng.normal(0.0, 0.1, n_out))
    x = rng.uniform(-1.0, 1.0, (case.batch, case.sizes[0]))
    if case.loss == "softmax_ce":
        t = np.eye(case.sizes[-1])[rng.integers(0, case.sizes[-1], case.batch)]
    elif case.activations[-1] == "tanh":
        t = rng.uniform(-0.9, 0.9, (case.batch, case.sizes[-1]))
    else:
        t = rng.uniform(0.05, 0.95, (case.batch, case.sizes[-1]))
    place = LAYOUTS[layout]
    return [place(p, dtype) for p in params], place(x, dtype), place(t, dtype)


def _act(name: str, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    raise ValueError(name)


def _act_prime(name: str, a):
    """f'(z) from the stored output a (σ' = a(1 − a), tanh' = 1 − a²)."""
    return a * (1 - a) if name == "sigmoid" else 1 - a * a


def numpy_gradients(case: Case, params, x, t):
    """Plain NumPy backprop, written the way a person would: returns [dW1, db1, …]."""
    depth = len(case.sizes) - 1
    acts = [x]
    for layer in range(depth):
        w, b = params[2 * layer], params[2 * layer + 1]
        z = acts[-1] @ w.T + b
        name = case.activations[layer]
        if name == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            acts.append(e / e.sum(axis=1, keepdims=True))
        else:
            acts.append(_act(name, z))
    if case.loss == "softmax_ce":
        delta = acts[-1] - t
    else:
        delta = (acts[-1] - t) * _act_prime(case.activations[-1], acts[-1])
    grads = [None] * (2 * depth)
    for layer in range(depth - 1, -1, -1):
        grads[2 * layer] = delta.T @ acts[layer]
        grads[2 * layer + 1] = delta.sum(axis=0)
        if layer:
            delta = (delta @ params[2 * layer]) * _act_prime(
                case.activations[layer - 1], acts[layer]
            )
    return grads


def tuned_gradients(case: Case, params, x, t):
    """Hand NumPy tuned as a performance-minded person writes it: every buffer allocated once,
    every product and ufunc written into one (``out=``), the activations in place (the plain
    ``1 / (1 + exp(-z))``, which does not guard against overflow), f'(z) from the stored outputs,
    bias gradients as sums. Returns a callable computing [dW1, db1, …] into the same arrays."""
    depth = len(case.sizes) - 1
    n, dtype = x.shape[0], x.dtype
    one = np.ones((), dtype)
    acts = [x] + [np.empty((n, m), dtype) for m in case.sizes[1:]]
    deltas = [None] + [np.empty((n, m), dtype) for m in case.sizes[1:]]
    temps = [None] + [np.empty((n, m), dtype) for m in case.sizes[1:]]
    grads = [np.empty_like(p) for p in params]
    weights_t = [params[2 * layer].T for layer in range(depth)]

    def fprime_into(name, a, out):
        if name == "sigmoid":  # a (1 - a)
            np.subtract(one, a, out=out)
            np.multiply(out, a, out=out)
        else:  # 1 - a^2
            np.multiply(a, a, out=out)
            np.subtract(one, out, out=out)
        return out

    def run():
        for layer in range(depth):
            a = acts[layer + 1]
            np.matmul(acts[layer], weights_t[layer], out=a)
            np.add(a, params[2 * layer + 1], out=a)
            name = case.activations[layer]
            if name == "sigmoid":
                np.negative(a, out=a)
                np.exp(a, out=a)
                np.add(a, one, out=a)
                np.reciprocal(a, out=a)
            elif name == "tanh":
                np.tanh(a, out=a)
            else:  # softmax over the units
                np.subtract(a, a.max(axis=1, keepdims=True), out=a)
                np.exp(a, out=a)
                np.divide(a, a.sum(axis=1, keepdims=True), out=a)
        delta = deltas[depth]
        np.subtract(acts[depth], t, out=delta)
        if case.loss != "softmax_ce":
            delta *= fprime_into(case.activations[-1], acts[depth], temps[depth])
        for layer in range(depth, 0, -1):
            delta = deltas[layer]
            np.matmul(delta.T, acts[layer - 1], out=grads[2 * layer - 2])
            np.sum(delta, axis=0, out=grads[2 * layer - 1])
            if layer > 1:
                below = deltas[layer - 1]
                np.matmul(delta, params[2 * layer - 2], out=below)
                below *= fprime_into(case.activations[layer - 2], acts[layer - 1], temps[layer - 1])
        return grads

    return run


def gemm_floor(case: Case, params, x, t, matmul=np.matmul, convert=lambda a: a, activate=None):
    """A callable that runs only backprop's GEMMs, into buffers allocated once.

    ``matmul(a, b, out=c)`` does the products, on arrays made by ``convert`` from NumPy ones
    (the defaults: NumPy's BLAS; ``torch.matmul`` and ``torch.from_numpy`` give torch's).
    ``activate(layer, z)``, if given, applies layer ``layer``'s activation to the product ``z``
    in place (0 is the first layer after the inputs), and the next product reads that output,
    as in the forward pass: the products and the activations, and nothing else.
    """
    depth = len(case.sizes) - 1
    n = case.batch
    rng = np.random.default_rng(1)
    dtype = x.dtype
    acts = [x] + [aligned(rng.uniform(-1, 1, (n, m)), dtype) for m in case.sizes[1:]]
    deltas = [aligned(rng.uniform(-1, 1, (n, m)), dtype) for m in case.sizes]
    grads = [aligned(np.zeros_like(params[2 * layer])) for layer in range(depth)]
    zs = [aligned(np.zeros((n, m)), dtype) for m in case.sizes[1:]]
    weights = [params[2 * layer] for layer in range(depth)]
    if activate is not None:
        # each layer's activation, in place, is the next product's operand; the random ones
        # above are still drawn, so that δ is the same as in the plain floor
        acts = [x] + zs
    acts, deltas, grads, zs, weights = (
        [convert(a) for a in group] for group in (acts, deltas, grads, zs, weights)
    )
    weights_t = [w.T for w in weights]  # views: BLAS reads the transpose in place

    def run():
        for layer in range(depth):
            matmul(acts[layer], weights_t[layer], out=zs[layer])
            if activate is not None:
                activate(layer, zs[layer])
        for layer in range(depth - 1, -1, -1):
            matmul(deltas[layer + 1].T, acts[layer], out=grads[layer])
            if layer:
                matmul(deltas[layer + 1], weights[layer], out=deltas[layer])
        return grads

    return run

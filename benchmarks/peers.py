"""The implementations timed side by side, each as ``setup(case, dtype, layout) -> (run, to_list)``.

``run()`` computes one full gradient (forward + backward, every dW and db) on data prepared by
the setup, ``layout`` "user" (plain arrays, wherever malloc puts them) or "aligned" (64-byte
boundaries); ``to_list(result)`` turns its result into NumPy arrays ``[dW1, db1, …]`` for the
agreement check (None: not checked). A peer whose package is missing raises
:class:`Unavailable` with the reason. Setups convert the data once, outside the timed call, into
each framework's own arrays (torch and JAX keep their own memory, so the layout is NumPy's only).

``MODULE_PEERS`` is the hook for more generated modules (other backends): append
``Peer(key, title, setup)`` and it is timed, checked and tabled beside the NumPy module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from nets import GEMM_BOUND, Case, gemm_floor, make_data, numpy_gradients, tuned_gradients


@dataclass(frozen=True)
class Peer:
    """One implementation: its key in the results, its column title, and its setup."""

    key: str
    title: str
    setup: Callable  # (case, dtype, layout) -> (run, to_list)
    by_layout: bool = False  # timed on both data layouts (NumPy codes), else on aligned data


class Unavailable(Exception):
    """The peer cannot run here (missing package, no generated code for this case …)."""


def _need(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # the optional 'bench' extra is not installed
        raise Unavailable(f"{module} not installed (pip install '.[bench]')") from exc


def _arrays(result):
    return [np.asarray(g, dtype=np.float64) for g in result]


def numpy_peer(case: Case, dtype, layout="aligned"):
    params, x, t = make_data(case, dtype, layout=layout)
    return (lambda: numpy_gradients(case, params, x, t)), _arrays


def tuned_peer(case: Case, dtype, layout="aligned"):
    params, x, t = make_data(case, dtype, layout=layout)
    return tuned_gradients(case, params, x, t), _arrays


def floor_peer(case: Case, dtype, layout="aligned"):
    params, x, t = make_data(case, dtype)
    return gemm_floor(case, params, x, t), None  # different data: no agreement check


def floor_activations_peer(case: Case, dtype, layout="aligned"):
    """The GEMM floor with the forward's activations between the products, each computed by the
    generated NumPy module's own kernel (its ``_tanh``, ``_softmax``, …), and nothing else: no
    bias, no f'(z), no δ. No NumPy code computing the net does less, so it bounds from below
    what the module can reach against the floor. Timed on the GEMM-bound cases only."""
    if case.label not in GEMM_BOUND:
        raise Unavailable("–")
    from generated import layer_module  # generated.py imports this module

    module = layer_module(case)
    kernels = [getattr(module, f"_{name}") for name in case.activations]
    params, x, t = make_data(case, dtype)

    def activate(layer, z):
        kernels[layer](z, out=z)

    return gemm_floor(case, params, x, t, activate=activate), None


def torch_floor_peer(case: Case, dtype, layout="aligned"):
    """The GEMM floor on torch's BLAS: what torch's own matrix products cost, for reference."""
    torch = _need("torch")
    params, x, t = make_data(case, dtype)
    return gemm_floor(case, params, x, t, torch.matmul, torch.from_numpy), None


def jax_peer(case: Case, dtype, layout="aligned", as_dict=False):
    """``jax.jit(jax.grad)`` of the loss; ``as_dict``: the parameters a dict W1, b1, … as the
    generated modules take them (and the gradients a dict), else a list."""
    jax = _need("jax")
    jax.config.update("jax_enable_x64", True)  # float64 must stay float64; float32 stays f32
    jnp = jax.numpy
    params, x, t = make_data(case, dtype)
    names = [f"{kind}{layer}" for layer in range(1, len(case.sizes)) for kind in "Wb"]
    keys = names if as_dict else range(len(names))

    def loss(ps, x, t):
        a = x
        for layer, name in enumerate(case.activations):
            z = a @ ps[keys[2 * layer]].T + ps[keys[2 * layer + 1]]
            if name == "softmax":
                return -jnp.sum(t * jax.nn.log_softmax(z, axis=1))
            a = jax.nn.sigmoid(z) if name == "sigmoid" else jnp.tanh(z)
        return 0.5 * jnp.sum((t - a) ** 2)

    grad = jax.jit(jax.grad(loss))
    jps = [jax.device_put(p) for p in params]
    if as_dict:
        jps = dict(zip(names, jps))
    jx, jt = jax.device_put(x), jax.device_put(t)

    def run():
        out = grad(jps, jx, jt)
        for g in out.values() if as_dict else out:
            g.block_until_ready()
        return out

    return run, (lambda out: _arrays(out[n] for n in names)) if as_dict else _arrays


def torch_peer(case: Case, dtype, layout="aligned"):
    torch = _need("torch")
    params, x, t = make_data(case, dtype)
    tps = [torch.tensor(p, requires_grad=True) for p in params]  # torch's own, aligned memory
    tx, tt = torch.from_numpy(x), torch.from_numpy(t)
    fn = torch.nn.functional

    def run():
        for p in tps:
            p.grad = None
        a = tx
        for layer, name in enumerate(case.activations):
            z = fn.linear(a, tps[2 * layer], tps[2 * layer + 1])
            if name == "softmax":
                value = -(tt * torch.log_softmax(z, dim=1)).sum()
                break
            a = torch.sigmoid(z) if name == "sigmoid" else torch.tanh(z)
        else:
            value = 0.5 * ((tt - a) ** 2).sum()
        value.backward()
        return [p.grad for p in tps]

    return run, lambda result: [g.detach().numpy().astype(np.float64) for g in result]


def autograd_peer(case: Case, dtype, layout="aligned"):
    autograd = _need("autograd")
    anp = _need("autograd.numpy")
    params, x, t = make_data(case, dtype)

    def loss(ps):
        a = x
        for layer, name in enumerate(case.activations):
            z = anp.dot(a, ps[2 * layer].T) + ps[2 * layer + 1]
            if name == "softmax":
                shifted = z - anp.max(z, axis=1, keepdims=True)
                logp = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
                return -anp.sum(t * logp)
            a = 1.0 / (1.0 + anp.exp(-z)) if name == "sigmoid" else anp.tanh(z)
        return 0.5 * anp.sum((t - a) ** 2)

    grad = autograd.grad(loss)
    return (lambda: grad(params)), _arrays


HAND = (
    Peer("numpy", "NumPy by hand (plain)", numpy_peer, by_layout=True),
    Peer("numpy.tuned", "NumPy by hand (tuned, buffers)", tuned_peer, by_layout=True),
)
FRAMEWORKS = (
    Peer("jax.jit", "jax.jit(grad)", jax_peer),
    Peer("torch", "torch eager", torch_peer),
    Peer("autograd", "autograd", autograd_peer),
)
FLOORS = (
    Peer("floor", "GEMM floor", floor_peer),
    Peer("floor.act", "GEMM floor + activations", floor_activations_peer),
    Peer("floor.torch", "GEMM floor on torch's BLAS", torch_floor_peer),
)

# More generated modules (e.g. other backends' modules of the same derivation), timed on every
# case and dtype beside the NumPy module: append a Peer whose setup raises Unavailable where it
# cannot run (package missing, level not generated).
MODULE_PEERS: list[Peer] = []


def _backend_peer(backend: str):
    """The setup of the ``--backend`` module for ``backend`` (benchmarks/backends.py), as a
    module peer: Unavailable where the case has no layer-level module or the library is
    missing."""

    def setup(case: Case, dtype, layout="aligned"):
        import backends  # benchmarks/backends.py: imports this module, so it is imported here

        if not backends.backend_peers(case):
            raise Unavailable("no backend module for a unit-level case")
        try:
            return backends.PEERS_BY_BACKEND[backend][1](case, dtype)
        except ImportError as exc:
            raise Unavailable(f"{exc.name} not installed (pip install '.[backends]')") from exc

    return setup


MODULE_PEERS += [
    Peer("module.torch", "symbackprop torch module", _backend_peer("torch")),
    Peer("module.jax", "symbackprop jax module", _backend_peer("jax")),
    Peer("module.array-api", "symbackprop array-api module (NumPy)", _backend_peer("array-api")),
]

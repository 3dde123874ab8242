"""The symbackprop-generated modules as a benchmark peer.

Unit level (one symbol per neuron) for the tiny nets; layer level (matrices) for the rest, through
the layer code generator when this checkout has one. The generated module's interface is the one
of DESIGN.md: ``gradients(params, x, t)`` with params a dict name → ndarray; at batch 1 a unit
module's ``gradients_flat`` (plain floats). A layer module is timed in both calls a user makes:
the default ``gradients(params, x, t)``, which returns fresh arrays, and
``gradients(params, x, t, out=g)``, which writes into the arrays of an earlier result.
"""

from __future__ import annotations

import importlib
from functools import lru_cache, partial

import numpy as np
from nets import Case, make_data
from peers import Peer, Unavailable

UNIT_LEVEL_MAX_PARAMS = 100  # above this the layer-level module is the right tool

# Where a layer-level generator may live: (module, function), tried in order. The function takes
# a layer derivation and ``source=`` and returns the module's text, like ``generate_module``.
_LAYER_GENERATORS = (
    ("symbackprop.codegen.layer", "generate_layer_module"),
    ("symbackprop.codegen.unit", "generate_layer_module"),
    ("symbackprop.codegen.layer", "generate_module"),
    ("symbackprop.codegen_layers", "generate_module"),
)


def unit_network(case: Case):
    """The case's net at unit level (Mazur's names, one bias per unit)."""
    from symbackprop.model.layered import LayerSpec, build_layered

    layers = [LayerSpec(n, a, "unit") for n, a in zip(case.sizes[1:], case.activations)]
    return build_layered(name="bench", inputs=case.sizes[0], layers=layers, notation="mazur")


@lru_cache(maxsize=None)
def unit_module(case: Case):
    from symbackprop.codegen.loader import load_generated
    from symbackprop.codegen.unit import generate_module
    from symbackprop.derivation.unit import derive

    network = unit_network(case)
    return network, load_generated(generate_module(derive(network), source="bench"))


def _unit_positions(network):
    """Parameter name → (index in [W1, b1, …], (j, k) or (j,)), from the network's layout."""
    where = {}
    for layer, column in enumerate(network.layout.columns):
        for j, label in enumerate(column):
            where[label] = (layer, j)
    positions = {}
    for src, dst, name in network.layout.edges:
        (layer, j), (_, k) = where[dst], where[src]
        positions[name] = (2 * (layer - 1), (j, k))
    for name, (label,) in network.layout.biases:
        layer, j = where[label]
        positions[name] = (2 * layer - 1, (j,))
    return positions


def unit_peer(case: Case, dtype, layout="aligned"):
    if case.n_params > UNIT_LEVEL_MAX_PARAMS or "softmax" in case.activations:
        raise Unavailable("unit level is for tiny nets")
    network, module = unit_module(case)
    params, x, t = make_data(case, dtype, layout=layout)
    positions = _unit_positions(network)

    def to_list(grads):
        out = [np.zeros_like(p, dtype=np.float64) for p in params]
        for name, (i, idx) in positions.items():
            out[i][idx] = float(grads[name])
        return out

    if case.batch == 1 and hasattr(module, "gradients_flat"):
        # One example: the module's plain-float entry point, with its arguments as the module
        # documents them (parameters in PARAMS order, the example's row), prepared once, as the
        # other peers' arrays are. It computes in float64 whatever the dtype.
        flat = [float(params[positions[name][0]][positions[name][1]]) for name in module.PARAMS]
        row_x, row_t = x[0].tolist(), t[0].tolist()

        def flat_to_list(grads):
            return to_list(dict(zip(module.PARAMS, grads)))

        return (lambda: module.gradients_flat(flat, row_x, row_t)), flat_to_list
    pdict = {name: np.asarray(params[i][idx], dtype=dtype) for name, (i, idx) in positions.items()}
    return (lambda: module.gradients(pdict, x, t)), to_list


def find_layer_generator():
    """The layer-level code generator of this checkout, or None."""
    for module_name, function in _LAYER_GENERATORS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, function):
            return getattr(module, function)
    return None


def layer_net(case: Case):
    from symbackprop.derivation.layer import LayerNet

    loss = "cross_entropy" if case.loss == "softmax_ce" else "half_sse"
    return LayerNet(name="bench", sizes=case.sizes, activations=case.activations, loss=loss)


@lru_cache(maxsize=None)
def layer_module(case: Case):
    generate = find_layer_generator()
    if generate is None:
        raise Unavailable("n/a (layer codegen pending)")
    from symbackprop.codegen.loader import load_generated
    from symbackprop.derivation.layer import derive_layers

    return load_generated(generate(derive_layers(layer_net(case)), source="bench"))


def layer_peer(case: Case, dtype, layout="aligned", call="default"):
    module = layer_module(case)
    params, x, t = make_data(case, dtype, layout=layout)
    depth = len(case.sizes) - 1
    names = [n for layer in range(1, depth + 1) for n in (f"W{layer}", f"b{layer}")]
    pdict = dict(zip(names, params))

    def to_list(grads):
        return [np.asarray(grads[n], dtype=np.float64) for n in names]

    if call == "default":
        return (lambda: module.gradients(pdict, x, t)), to_list
    # The arrays of an earlier result, reused on every call, as a training loop does.
    out = module.gradients(pdict, x, t)
    return (lambda: module.gradients(pdict, x, t, out=out)), to_list


def generated_peer(case: Case, dtype, layout="aligned", call="default"):
    """Unit level for tiny nets (its one-example entry point; it has no ``out=``), layer level
    otherwise."""
    if case.n_params <= UNIT_LEVEL_MAX_PARAMS and "softmax" not in case.activations:
        if call != "default":
            raise Unavailable("–")
        return unit_peer(case, dtype, layout)
    return layer_peer(case, dtype, layout, call)


GENERATED = (
    Peer("sbp", "symbackprop gradients(p, x, t)", generated_peer, by_layout=True),
    Peer(
        "sbp.out",
        "symbackprop gradients(…, out=g)",
        partial(generated_peer, call="out"),
        by_layout=True,
    ),
)

"""``gradients_flat``, the unit module's batch-1 path on plain floats: against sympy.diff of the
expanded loss, against the module's own NumPy path, and its fallback where Python raises."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from oracle import expanded_gradients, random_point, small_net

from symbackprop.codegen.loader import load_generated
from symbackprop.codegen.unit import generate_module
from symbackprop.derivation.unit import derive
from symbackprop.model.network import build_network
from symbackprop.rules.registry import ACTIVATIONS
from symbackprop.spec.load import load_spec


def module_for(network):
    return load_generated(generate_module(derive(network), source=network.name))


def _flat_args(network, point):
    return (
        [float(point[p]) for p in network.params],
        [float(point[s]) for s in network.inputs],
        [float(point[s]) for s in network.targets],
    )


@pytest.mark.parametrize("name", ["mazur", "hmkcode", "jacobs", "essa"])
def test_examples_equal_sympy_diff(name):
    network = load_spec(name)
    m = module_for(network)
    got = m.gradients_flat(*_flat_args(network, network.value_map))
    assert isinstance(got, tuple) and all(type(v) is float for v in got)
    expected = expanded_gradients(network, network.value_map)
    by_name = dict(zip(m.PARAMS, got))
    for param, value in expected.items():
        assert by_name[param.name] == pytest.approx(float(value), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("sizes", [(2, 2, 2), (3, 2, 2, 1)], ids=str)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "softplus", "linear"])
def test_random_nets_equal_sympy_diff_and_the_numpy_path(sizes, activation):
    network = small_net(sizes, activation, notation="mazur")
    point = random_point(network, seed=5)
    m = module_for(network)
    p, x, t = _flat_args(network, point)
    got = dict(zip(m.PARAMS, m.gradients_flat(p, x, t)))
    for param, value in expanded_gradients(network, point).items():
        assert got[param.name] == pytest.approx(float(value), rel=1e-10, abs=1e-13)
    params = {name: np.asarray(v) for name, v in zip(m.PARAMS, p)}
    numpy_path = m._backward(params, np.array([x]), np.array([t]))[1]
    for name in m.PARAMS:
        assert got[name] == pytest.approx(float(numpy_path[name]), rel=1e-12, abs=1e-15)


def test_overflow_falls_back_on_the_numpy_path():
    """A pre-activation below -709 overflows Python's ``_E ** -z``; the example is rerun on the
    NumPy path, whose stable sigmoid gives finite numbers."""
    network = load_spec("mazur")
    m = module_for(network)
    p, x, t = _flat_args(network, network.value_map)
    x = [-1e4, -1e4]
    got = m.gradients_flat(p, x, t)
    params = {name: np.asarray(v) for name, v in zip(m.PARAMS, p)}
    want = m._backward(params, np.array([x]), np.array([t]))[1]
    assert all(np.isfinite(got))
    assert got == tuple(float(want[name]) for name in m.PARAMS)


def test_sigmoid_of_an_expression_and_an_unused_parameter():
    """Graph form: the sigmoid's argument is a sum (printed in parentheses after the minus), and
    a parameter the loss does not use has gradient 0."""
    x, t, w, b, c = sp.symbols("x t w b c")
    sigmoid = ACTIVATIONS["sigmoid"].function
    network = build_network(
        name="g",
        inputs=[x],
        targets=[t],
        params=[w, b, c],
        nodes=[],
        loss=("E", (t - sigmoid(w * x + b)) ** 2 / 2),
    )
    assert any("c" in warning for warning in network.warnings)
    m = module_for(network)
    point = {x: 0.3, t: 0.8, w: -1.2, b: 0.4, c: 2.0}
    got = dict(zip(m.PARAMS, m.gradients_flat([-1.2, 0.4, 2.0], [0.3], [0.8])))
    loss = (t - 1 / (1 + sp.exp(-(w * x + b)))) ** 2 / 2
    for symbol in (w, b):
        want = float(sp.diff(loss, symbol).subs(point))
        assert got[symbol.name] == pytest.approx(want, rel=1e-12)
    assert got["c"] == 0.0

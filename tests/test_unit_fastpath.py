"""The unrolled scalar path of unit-level modules (batch of one) equals the NumPy batch path."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from oracle import small_net

from symbackprop.codegen.loader import load_generated
from symbackprop.codegen.unit import generate_module
from symbackprop.derivation.unit import derive


def module_for(network):
    return load_generated(generate_module(derive(network), source=network.name))


@pytest.mark.parametrize(
    "activation", ["sigmoid", "tanh", "relu", "softplus", "linear", "leaky_relu"]
)
@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_scalar_path_equals_batch_path(activation, scale):
    m = module_for(small_net((3, 2, 2), activation, notation="mazur"))
    rng = np.random.default_rng(5)
    params = m.init_params(seed=2)
    x = rng.uniform(-scale, scale, (1, 3))
    t = rng.uniform(0, 1, (1, 2))
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grads = m._evaluate(params, x, t, False)
    ref_value, ref = m._backward(params, x, t)
    assert float(value) == pytest.approx(float(ref_value), rel=1e-12, abs=1e-300)
    for name in ref:
        assert float(grads[name]) == pytest.approx(float(ref[name]), rel=1e-9, abs=1e-12)


def test_scalar_path_keeps_float32():
    m = module_for(small_net((2, 2, 2), "sigmoid", notation="mazur"))
    params = m.init_params(np.float32)
    x, t = np.array([[0.5, -0.2]], np.float32), np.array([[0.1, 0.9]], np.float32)
    value, grads = m._evaluate(params, x, t, False)
    assert value.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())
    assert set(grads) == set(m.gradients(params, np.repeat(x, 2, 0), np.repeat(t, 2, 0)))

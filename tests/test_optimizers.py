"""Each generated update rule against a straightforward implementation written here.

The reference follows the PyTorch documentation's pseudo-code for torch.optim (SGD with and
without Nesterov momentum, Adagrad, RMSprop, Adam), one scalar at a time in plain Python.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from symbackprop.codegen.layer import generate_layer_module
from symbackprop.codegen.loader import load_generated
from symbackprop.derivation.layer import LayerNet, derive_layers


def _reference(name, theta, grads, lr, **h):
    """Run ``name`` over the gradient sequence for one scalar; return the final parameter."""
    v = s = G = m = 0.0
    for step, g in enumerate(grads, start=1):
        if name == "sgd":
            theta -= lr * g
        elif name == "momentum":
            v = g if step == 1 else h["momentum"] * v + g  # PyTorch: buf = g at step 1
            theta -= lr * v
        elif name == "nesterov":
            v = g if step == 1 else h["momentum"] * v + g
            theta -= lr * (g + h["momentum"] * v)
        elif name == "adagrad":
            G += g * g
            theta -= lr * g / (math.sqrt(G) + h["eps"])
        elif name == "rmsprop":
            s = h["alpha"] * s + (1 - h["alpha"]) * g * g
            theta -= lr * g / (math.sqrt(s) + h["eps"])
        elif name == "adam":
            m = h["beta1"] * m + (1 - h["beta1"]) * g
            s = h["beta2"] * s + (1 - h["beta2"]) * g * g
            m_hat, s_hat = m / (1 - h["beta1"] ** step), s / (1 - h["beta2"] ** step)
            theta -= lr * m_hat / (math.sqrt(s_hat) + h["eps"])
    return theta


CASES = [
    ("sgd", {}),
    ("momentum", {"momentum": 0.9}),
    ("nesterov", {"momentum": 0.8}),
    ("adagrad", {"eps": 1e-10}),
    ("rmsprop", {"alpha": 0.99, "eps": 1e-8}),
    ("adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
]


@pytest.fixture(scope="module")
def module():
    net = LayerNet("o", (2, 3, 2), ("tanh", "sigmoid"), "half_sse")
    text = generate_layer_module(derive_layers(net), source="o", optimizers=["all"])
    return load_generated(text)


@pytest.mark.parametrize("name, settings", CASES)
def test_update_matches_reference(module, name, settings):
    rng = np.random.default_rng(0)
    params = module.init_params(seed=1)
    start = {k: v.copy() for k, v in params.items()}
    state = getattr(module, f"{name}_init")(params)
    sequence = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(7)]
    for grads in sequence:
        getattr(module, f"{name}_update")(params, grads, state, 0.05, **settings)
    assert state["step"] == 7
    for key, value in params.items():
        for index in np.ndindex(value.shape):
            expected = _reference(
                name,
                float(start[key][index]),
                [float(g[key][index]) for g in sequence],
                0.05,
                **settings,
            )
            assert value[index] == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name, settings", CASES)
def test_steps_lower_the_loss_and_keep_float32(module, name, settings):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (16, 2)).astype(np.float32)
    t = rng.uniform(0.1, 0.9, (16, 2)).astype(np.float32)
    params = module.init_params(np.float32, seed=0)
    state = getattr(module, f"{name}_init")(params)
    step = getattr(module, f"{name}_step")
    first = step(params, state, x, t, 0.05, **settings)
    for _ in range(200):
        last = step(params, state, x, t, 0.05, **settings)
    assert last < first
    assert all(v.dtype == np.float32 for v in params.values())


def test_log_likelihood_is_ascended():
    net = LayerNet("m", (3, 3), ("softmax",), "multinomial_loglik")
    mod = load_generated(generate_layer_module(derive_layers(net), source="m", optimizers=["all"]))
    rng = np.random.default_rng(0)
    x, t = rng.uniform(-1, 1, (20, 3)), np.eye(3)[rng.integers(0, 3, 20)]
    params = mod.init_params()
    state, plain = mod.adam_init(params), mod.sgd_init(params)
    first = mod.adam_step(params, state, x, t, 0.05)
    for _ in range(50):
        mod.sgd_step(params, plain, x, t, 0.05)
        last = mod.adam_step(params, state, x, t, 0.05)
    assert last > first  # log L rises

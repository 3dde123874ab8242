"""The faster forms the torch and JAX modules compute with, against independent references.

The torch module computes a hidden tanh as 1 − 2σ(−2z) from a buffer addmm filled with −2z,
keeps float64 work buffers column-major and float32 ones row-major, multiplies 1 − a² into δ with
one addcmul, and floors softmax's probabilities (not its logits); the JAX module reads δ^l as
rows made behind an optimization barrier (float64, and float32 batches of up to 16), and
writes one example's z as (W aᵀ)ᵀ. tests/test_backends.py checks float64 against the
NumPy module at 1e-12; here: the tanh form against math.tanh over the whole range, float32
gradients against the float64 NumPy module, and logits far apart (where the floor acts) against
the NumPy module in float64.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_backends import assert_close, data, load, need, numpy_module, source


def test_torch_tanh_of_minus_twice_is_tanh_within_a_few_ulp():
    torch = need("torch")
    from symbackprop.codegen.backends_runtime_torch import _tanh_of_minus_twice

    z = np.concatenate([np.linspace(-30.0, 30.0, 2001), [0.0, 1e-300, -1e-30, 1e-8, 400.0]])
    want = np.array([math.tanh(v) for v in z])
    for dtype in (torch.float32, torch.float64):
        zt = torch.tensor(z, dtype=dtype)
        one = torch.ones((), dtype=dtype)
        got = _tanh_of_minus_twice(-2 * zt, one).double().numpy()
        ulp = float(torch.finfo(dtype).eps)
        # absolute error within 4 ulp of 1 (of the input rounded to the dtype: compare with
        # tanh of the rounded input)
        rounded = np.array([math.tanh(v) for v in zt.double().numpy()])
        assert np.max(np.abs(got - rounded)) <= 4 * ulp, dtype
        assert np.all(np.abs(got) <= 1.0) and np.all(np.sign(got) * np.sign(want) >= 0)


@pytest.mark.parametrize("backend, n", [("torch", 40), ("jax", 10), ("jax", 40)])
def test_float32_gradients_match_float64_numpy(backend, n, tmp_path):
    """The float32 path (torch: row-major buffers; JAX: δ^l as rows behind the barrier up to 16
    examples, transposed by XLA above) against the float64 NumPy module: relative to each
    gradient's largest entry, within float32 rounding."""
    params, x, t = data("digits", n=n, seed=2)
    want = numpy_module("digits").gradients(params, x, t)
    if backend == "torch":
        torch = need("torch")
        module = load(source("digits", "torch"), "torch_f32", tmp_path)
        p = {k: torch.tensor(v, dtype=torch.float32) for k, v in params.items()}
        grads = module.gradients(p, torch.tensor(x, dtype=torch.float32), torch.tensor(t).float())
        got = {k: v.double().numpy() for k, v in grads.items()}
    else:
        jax = need("jax")
        module = load(source("digits", "jax"), "jax_f32", tmp_path)
        p = {k: jax.numpy.asarray(v, dtype=np.float32) for k, v in params.items()}
        grads = module.gradients(
            p, jax.numpy.asarray(x, np.float32), jax.numpy.asarray(t, np.float32)
        )
        got = {k: np.asarray(v, dtype=np.float64) for k, v in grads.items()}
    for key, value in want.items():
        assert got[key].dtype == np.float64 and got[key].shape == value.shape
        scale = np.max(np.abs(value))
        assert np.max(np.abs(got[key] - value)) <= 1e-5 * scale, key


def test_torch_softmax_floor_on_logits_far_apart(tmp_path):
    """Logits hundreds apart: some probabilities under the floor. The torch module floors the
    probabilities at sqrt(tiny) (the smallest normal number's root) where the NumPy module
    floors the logits; the gradients agree at 1e-12 and every probability is at least the
    floor, in both dtypes."""
    torch = need("torch")
    module = load(source("digits", "torch"), "torch_floor", tmp_path)
    params, x, t = data("digits", n=6, seed=5)
    params = {k: v.copy() for k, v in params.items()}
    top = max(k for k in params if k.startswith("W"))
    params[top] = params[top] * 400.0  # logits hundreds apart: exp(-400) is below the floor
    p = {k: torch.from_numpy(v) for k, v in params.items()}
    xs, ts = torch.from_numpy(x), torch.from_numpy(t)
    got = {k: v.numpy() for k, v in module.gradients(p, xs, ts).items()}
    assert_close(got, numpy_module("digits").gradients(params, x, t))
    for dtype, floor in ((torch.float64, 2.0**-511), (torch.float32, 2.0**-63)):
        probabilities = module.forward({k: v.to(dtype) for k, v in p.items()}, xs.to(dtype))
        assert float(probabilities.min()) >= floor
        assert float(probabilities.min()) == floor  # the floor acted on these logits

"""The generated modules' elementary functions against SciPy: within 10 ulp for normal results,
finite for inputs of ±1000 (float64) and ±80 (float32), and silent under errstate(raise)."""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import scipy.special as special

from symbackprop.codegen.loader import load_generated
from symbackprop.codegen.unit import generate_module
from symbackprop.derivation.unit import derive
from symbackprop.derived import derived
from symbackprop.model.layered import LayerSpec, build_layered
from symbackprop.spec.load import load_spec


def ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.abs(want).astype(want.dtype))


def normal(values: np.ndarray) -> np.ndarray:
    return np.abs(values) >= np.finfo(values.dtype).tiny


@pytest.fixture(scope="module")
def unit_module():
    layers = [LayerSpec(2, "softplus"), LayerSpec(2, "sigmoid")]
    network = build_layered(name="n", inputs=2, layers=layers, notation="mazur")
    return load_generated(generate_module(derive(network), source="n"))


@pytest.fixture(scope="module")
def layer_module():
    return load_generated(derived(load_spec("digits")).module(source="digits"))


@pytest.mark.parametrize("dtype,scale", [(np.float64, 1000.0), (np.float32, 80.0)])
@pytest.mark.parametrize(
    "name,reference",
    [("_sigmoid", special.expit), ("_softplus", special.softplus)],
)
def test_unit_helpers_match_scipy(unit_module, dtype, scale, name, reference):
    z = np.concatenate([np.linspace(-scale, scale, 4001), [0.0, -0.0, 1e-30, -1e-30]]).astype(dtype)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        got = getattr(unit_module, name)(z)
    want = reference(z.astype(np.float64)).astype(dtype)
    assert np.all(np.isfinite(got)) and got.dtype == dtype
    ok = normal(want)
    assert np.max(ulps(got[ok], want[ok])) <= 10


def exact_log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax of the float inputs with mpmath at 400 digits: (z_j − m) − log(Σ_k exp(z_k − m)),
    m the maximum. A result near 0 such as −1e-300 is 1 − (1 + 1e-300) inside the log, so the
    working precision must exceed the largest exponent of a double (308 digits)."""
    mpmath.mp.dps = 400
    rows = []
    for row in z.astype(np.float64):
        values = [mpmath.mpf(float(v)) for v in row]
        top = max(values)
        total = mpmath.log(mpmath.fsum(mpmath.exp(v - top) for v in values))
        rows.append([float((v - top) - total) for v in values])
    return np.array(rows).astype(z.dtype)


@pytest.mark.parametrize("dtype,scale", [(np.float64, 1000.0), (np.float32, 80.0)])
def test_log_softmax_within_10_ulp(layer_module, dtype, scale):
    """Against the exact value everywhere it is normal, and against SciPy where SciPy's own
    log(Σ exp) is accurate: for a log-probability close to 0 (the winning class) SciPy loses
    digits that the module's log1p keeps."""
    rng = np.random.default_rng(0)
    z = (rng.uniform(-1, 1, (64, 10)) * scale).astype(dtype)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        got = layer_module._log_softmax(z.copy())
    assert np.all(np.isfinite(got))
    exact = exact_log_softmax(z)
    ok = normal(exact)
    # 10 ulp, widened only by the condition of the problem itself: the winning class's
    # log-probability is −Σ exp(z_k − m), and rounding z_k − m to the float grid already moves
    # exp(z_k − m) by |z_k − m| ulp — no float algorithm does better.
    condition = 1 + np.max(np.abs(z - z.max(axis=1, keepdims=True)), axis=1, keepdims=True)
    allowed = np.where(np.abs(exact) < 1e-3, condition, 1) * 10
    assert np.all(ulps(got[ok], exact[ok]) <= np.broadcast_to(allowed, z.shape)[ok])
    scipy = special.log_softmax(z.astype(np.float64), axis=1).astype(dtype)
    far = np.abs(scipy) >= 1  # log(1 + x) for small x costs SciPy digits near 0
    assert np.max(ulps(got[far], scipy[far])) <= 10


@pytest.mark.parametrize("dtype,scale", [(np.float64, 1000.0), (np.float32, 80.0)])
def test_cross_entropy_matches_scipy(layer_module, dtype, scale):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (32, 64)).astype(dtype)
    t = np.eye(10, dtype=dtype)[rng.integers(0, 10, 32)]
    params = layer_module.init_params(dtype)
    params["W2"] *= dtype(scale)  # logits of the order of ±scale
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        value = layer_module.loss(params, x, t)
        grads = layer_module.gradients(params, x, t)
    assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads.values())
    a1 = np.tanh(x.astype(np.float64) @ params["W1"].T.astype(np.float64) + params["b1"])
    logits = a1 @ params["W2"].T.astype(np.float64) + params["b2"]
    decay = layer_module.WEIGHT_DECAY * sum(
        np.sum(params[k].astype(np.float64) ** 2) for k in ("W1", "W2")
    )
    want = (-np.sum(t * special.log_softmax(logits, axis=1)) + decay / 2) / len(x)
    assert float(value) == pytest.approx(want, rel=1e-5 if dtype == np.float32 else 1e-12)


@pytest.fixture(scope="module")
def sigmoid_layer_module():
    return load_generated(derived(load_spec("nielsen")).module(source="nielsen"))


@pytest.mark.parametrize("dtype,scale", [(np.float64, 1000.0), (np.float32, 80.0)])
def test_layer_sigmoid_matches_scipy(sigmoid_layer_module, dtype, scale):
    """The layer module's six-ufunc sigmoid: within 10 ulp of SciPy's expit wherever that is a
    normal number above the clamp (1.01 × the smallest normal), silent, in place allowed."""
    z = np.concatenate([np.linspace(-scale, scale, 4001), [0.0, -0.0, 1e-30, -1e-30]]).astype(dtype)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        got = sigmoid_layer_module._sigmoid(z.copy())
        in_place = z.copy()
        sigmoid_layer_module._sigmoid(in_place, out=in_place)
    np.testing.assert_array_equal(in_place, got)
    want = special.expit(z.astype(np.float64)).astype(dtype)
    assert np.all(np.isfinite(got)) and got.dtype == dtype
    ok = np.abs(want) >= 1.01 * np.finfo(dtype).tiny
    assert np.max(ulps(got[ok], want[ok])) <= 10
    assert np.all(got[~ok] <= 1.01 * np.finfo(dtype).tiny)


@pytest.mark.parametrize("dtype,scale", [(np.float64, 1000.0), (np.float32, 80.0)])
def test_layer_softmax_matches_scipy(layer_module, dtype, scale):
    """Probabilities within 10 ulp of SciPy's softmax where they are above the floor, never
    below it (so nothing downstream underflows), rows summing to 1, silent."""
    rng = np.random.default_rng(2)
    z = (rng.uniform(-1, 1, (64, 10)) * scale).astype(dtype)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        got = layer_module._softmax(z)
    want = special.softmax(z.astype(np.float64), axis=1).astype(dtype)
    floor = np.exp(layer_module._exp_floor(z)) / z.shape[1]
    assert np.all(got >= floor * (1 - 1e-6))
    above = want > np.exp(layer_module._exp_floor(z))
    # 10 ulp, widened by the problem's condition as for log softmax: rounding z_k − m to the
    # float grid moves exp(z_k − m) by |z_k − m| ulp.
    allowed = 10 * (1 + np.abs(z - z.max(axis=1, keepdims=True)))
    assert np.all(ulps(got[above], want[above]) <= allowed[above])
    np.testing.assert_allclose(got.sum(axis=1), 1, rtol=10 * np.finfo(dtype).eps)


def test_layer_forward_is_the_softmax_backward_uses(layer_module):
    """``forward`` of a softmax / cross-entropy net returns SciPy's softmax of the logits, and
    the output delta of ``gradients`` is those probabilities minus the targets."""
    rng = np.random.default_rng(3)
    params = layer_module.init_params(seed=1)
    for p in params.values():
        p += rng.normal(0, 0.5, p.shape)
    x = rng.uniform(-1, 1, (5, 64))
    t = np.eye(10)[rng.integers(0, 10, 5)]
    logits = np.tanh(x @ params["W1"].T + params["b1"]) @ params["W2"].T + params["b2"]
    probabilities = layer_module.forward(params, x)
    np.testing.assert_allclose(probabilities, special.softmax(logits, axis=1), rtol=1e-13)
    a1 = np.tanh(x @ params["W1"].T + params["b1"])
    n = len(x)
    want_gb2 = (probabilities - t).sum(axis=0) / n  # digits averages over the batch
    got = layer_module.gradients(params, x, t)
    np.testing.assert_allclose(got["b2"], want_gb2, rtol=1e-12, atol=1e-15)
    decay = layer_module.WEIGHT_DECAY * params["W2"] / n
    np.testing.assert_allclose(got["W2"], (probabilities - t).T @ a1 / n + decay, rtol=1e-12)

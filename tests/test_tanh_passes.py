"""The layer modules' float64 tanh from NumPy arithmetic passes (``runtime_layer._tanh``): its
accuracy against mpmath and np.tanh, its special values, where it is used, and the gradients of a
generated tanh net with it and with np.tanh."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from symbackprop.codegen import runtime_layer as rt
from symbackprop.codegen.loader import load_generated
from symbackprop.derived import derived
from symbackprop.spec.load import load_spec

ULPS = 4  # the bound the runtime's comment states


def passes(x: np.ndarray) -> np.ndarray:
    return rt._tanh_passes(x, np.empty_like(x))


def ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.abs(want))


def sample(n: int, seed: int = 1) -> np.ndarray:
    """Wide (|x| to 25), typical, around the reduction's steps (|x| < 0.4) and tiny values of both
    signs, down to the subnormals."""
    rng = np.random.default_rng(seed)
    tiny = np.exp(rng.uniform(-745, 3.5, n)) * rng.choice([-1, 1], n)
    steps = (np.arange(-60, 61) * np.log(2) / 2)[:, None] + rng.uniform(-1e-9, 1e-9, (121, 4))
    parts = [rng.uniform(-25, 25, n), rng.normal(0, 1, n), rng.uniform(-0.4, 0.4, n), tiny]
    return np.concatenate(parts + [steps.ravel()])


def test_within_4_ulp_of_mpmath():
    x = sample(500)
    mpmath.mp.prec = 113
    exact = np.array([float(mpmath.tanh(mpmath.mpf(float(v)))) for v in x])
    got = passes(x)
    assert ulps(got, exact).max() <= ULPS
    assert np.all(np.signbit(got) == np.signbit(x))


def test_within_5_ulp_of_numpy_on_a_dense_sweep():
    """np.tanh is itself within an ulp; a sweep of 400001 points and one of tiny magnitudes."""
    x = np.concatenate([np.linspace(-30, 30, 400_001), np.geomspace(1e-300, 1, 20_001)])
    x = np.concatenate([x, -x])
    assert ulps(passes(x), np.tanh(x)).max() <= ULPS + 1


def test_special_values():
    """Exactly np.tanh's at zeros (the sign kept), infinities, nan and where tanh is +-1."""
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e300, 22.0, -22.0, 19.1, -19.1])
    got = passes(x)
    np.testing.assert_array_equal(got, np.tanh(x))  # nan included
    assert np.array_equal(np.signbit(got), np.signbit(x))  # -0.0 stays -0.0


def test_tiny_values_within_an_ulp_of_x():
    """tanh x = x in float64 below 1e-8; subnormals included, the sign kept (no cancellation)."""
    rng = np.random.default_rng(3)
    tiny = np.finfo(np.float64).smallest_subnormal
    x = np.exp(rng.uniform(-745, np.log(1e-9), 20_000)) * rng.choice([-1, 1], 20_000)
    x = np.concatenate([x, [tiny, -tiny, 1e-310, -1e-310, 2.2e-308, 1e-20, -1e-20]])
    got = passes(x)
    assert ulps(got, x).max() <= 1
    assert np.array_equal(np.signbit(got), np.signbit(x))


def test_no_floating_point_error_on_any_input():
    x = np.concatenate([sample(200), [np.inf, -np.inf, np.nan, 1e308, -1e308]])
    with np.errstate(all="raise"):
        passes(x)


def test_in_place_and_over_several_blocks():
    """Sizes below, at and over the block size, not a multiple of it; ``out`` may be ``x``."""
    rng = np.random.default_rng(2)
    for size in (1, 7, rt._TANH_BLOCK, 2 * rt._TANH_BLOCK + 13):
        x = rng.normal(0, 3, size)
        want = passes(x)
        assert ulps(want, np.tanh(x)).max() <= ULPS + 1
        y = x.copy()
        assert rt._tanh_passes(y, y) is y
        np.testing.assert_array_equal(y, want)
    x = rng.normal(0, 3, (300, 130))  # 2-D arrays go through their flat view
    np.testing.assert_array_equal(passes(x), passes(x.ravel()).reshape(x.shape))


def test_used_only_for_contiguous_float64(monkeypatch):
    monkeypatch.setattr(rt, "_TANH_BY_PASSES", True)
    calls = []
    monkeypatch.setattr(rt, "_tanh_passes", lambda x, out, slope: calls.append(x) or out)
    x = np.linspace(-3, 3, 60).reshape(6, 10)
    np.testing.assert_array_equal(rt._tanh(x), np.tanh(x))  # too small for the passes to pay
    big = np.linspace(-3, 3, rt._TANH_PASSES_MIN)
    rt._tanh(big)
    rt._tanh(big[1:])
    assert [len(c) for c in calls] == [rt._TANH_PASSES_MIN]
    calls.clear()
    monkeypatch.setattr(rt, "_TANH_PASSES_MIN", 0)
    rt._tanh(x)
    assert len(calls) == 1
    for other in (x.astype(np.float32), x.T, x[:, ::2]):
        np.testing.assert_array_equal(rt._tanh(other), np.tanh(other))
    buffer = np.linspace(-3, 3, 70)  # out overlapping z but not z: np.tanh's own handling
    z, shifted = buffer[:60].reshape(6, 10), buffer[10:].reshape(6, 10)
    np.testing.assert_array_equal(
        rt._tanh(z, out=shifted), np.tanh(np.linspace(-3, 3, 70)[:60]).reshape(6, 10)
    )
    out = np.empty((6, 10), np.float32)  # a float32 out: NumPy's casting, as np.tanh
    np.testing.assert_array_equal(rt._tanh(x, out=out), np.tanh(x).astype(np.float32))
    assert len(calls) == 1
    monkeypatch.setattr(rt, "_TANH_BY_PASSES", False)
    np.testing.assert_array_equal(rt._tanh(x), np.tanh(x))
    assert len(calls) == 1


@pytest.mark.parametrize("by_passes", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_slope_is_one_minus_tanh_squared(monkeypatch, by_passes, dtype):
    """``slope=``: 1 - t^2 of the very t written, over several blocks and in place."""
    monkeypatch.setattr(rt, "_TANH_BY_PASSES", by_passes)
    z = np.random.default_rng(6).normal(0, 2, (rt._TANH_BLOCK // 50 + 3, 100)).astype(dtype)
    slope = np.full_like(z, np.nan)
    t = rt._tanh(z, out=z.copy(), slope=slope)
    np.testing.assert_array_equal(slope, 1 - t * t)
    np.testing.assert_array_equal(t, rt._tanh(z))


@pytest.mark.parametrize(
    "simd,expected",
    [
        ({"baseline": ["X86_V2"], "found": ["X86_V3"], "not found": ["X86_V4"]}, True),
        ({"baseline": ["X86_V2"], "found": ["X86_V3", "X86_V4"], "not found": []}, False),
        ({"baseline": ["SSE", "SSE2"], "found": ["FMA3", "AVX2"], "not found": ["AVX512F"]}, True),
        ({"baseline": ["SSE"], "found": ["AVX2", "AVX512F", "AVX512_SKX"], "not found": []}, False),
        ({"baseline": ["NEON", "ASIMD"], "found": ["ASIMDHP"], "not found": []}, False),
        ({"baseline": ["X86_V2"], "found": [], "not found": ["X86_V3", "X86_V4"]}, False),
    ],
)
def test_decided_from_numpys_simd_extensions(monkeypatch, simd, expected):
    monkeypatch.setattr(np, "show_config", lambda mode=None: {"SIMD Extensions": simd})
    assert rt._numpy_tanh_is_scalar() is expected


def test_old_numpy_keeps_np_tanh(monkeypatch):
    def show_config():  # no mode argument before NumPy 1.26
        return None

    monkeypatch.setattr(np, "show_config", show_config)
    assert rt._numpy_tanh_is_scalar() is False


@pytest.fixture(scope="module")
def digits_text():
    return derived(load_spec("digits")).module(source="digits")


@pytest.fixture(scope="module")
def digits(digits_text):
    return load_generated(digits_text)


def test_generated_module_calls_it(digits_text):
    """Both the forward pass and ``_backward`` (digits has one tanh layer)."""
    assert "np.tanh(z1" not in digits_text and digits_text.count("np.tanh(") == 1  # in _tanh
    assert "a1 = _tanh(z1)" in digits_text
    assert "_tanh(z1, out=a1, slope=fp1 if want_grads else None)" in digits_text


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradients_with_either_tanh_agree(digits, monkeypatch, dtype):
    """The generated module's gradients and outputs with the passes and with np.tanh, and the
    passes' gradients against central differences of the loss (float64)."""
    rng = np.random.default_rng(5)
    params = digits.init_params(dtype, seed=2)
    for p in params.values():
        p += rng.normal(0, 0.5, p.shape).astype(dtype)
    x = rng.uniform(-1, 1, (9, digits.SIZES[0])).astype(dtype)
    t = np.eye(digits.SIZES[-1], dtype=dtype)[rng.integers(0, digits.SIZES[-1], 9)]
    monkeypatch.setattr(digits, "_TANH_PASSES_MIN", 0)  # a batch of 9 is below it
    monkeypatch.setattr(digits, "_TANH_BY_PASSES", True)
    fast, fast_a = digits.gradients(params, x, t), digits.forward(params, x)
    monkeypatch.setattr(digits, "_TANH_BY_PASSES", False)
    slow, slow_a = digits.gradients(params, x, t), digits.forward(params, x)
    rtol = 1e-12 if dtype == np.float64 else 0
    np.testing.assert_allclose(fast_a, slow_a, rtol=rtol)
    for name in fast:
        np.testing.assert_allclose(fast[name], slow[name], rtol=rtol, atol=rtol * 1e-3)
    if dtype == np.float32:
        return
    monkeypatch.setattr(digits, "_TANH_BY_PASSES", True)
    step = 1e-6
    for name, j in [("W1", (3, 20)), ("b1", (5,)), ("W2", (7, 1)), ("b2", (0,))]:
        plus, minus = dict(params), dict(params)
        plus[name], minus[name] = params[name].copy(), params[name].copy()
        plus[name][j] += step
        minus[name][j] -= step
        numeric = (digits.loss(plus, x, t) - digits.loss(minus, x, t)) / (2 * step)
        assert abs(numeric - fast[name][j]) <= 1e-7 * max(1.0, abs(numeric))

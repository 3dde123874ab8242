"""The layer module's reused arrays: ``gradients(..., out=)`` and the training steps' gradient
sets give exactly what fresh arrays give, and bad ``out`` dicts are refused."""

from __future__ import annotations

import numpy as np
import pytest

from symbackprop.codegen.loader import load_generated
from symbackprop.derived import derived
from symbackprop.spec.load import load_spec


@pytest.fixture(scope="module", params=["digits", "nielsen"])
def module(request):
    return load_generated(
        derived(load_spec(request.param)).module(source=request.param, optimizers=["sgd", "adam"])
    )


def _batch(module, n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, module.SIZES[0])).astype(dtype)
    t = np.eye(module.SIZES[-1], dtype=dtype)[rng.integers(0, module.SIZES[-1], n)]
    return x, t


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 7, 64])
def test_gradients_into_out_equal_fresh_ones(module, dtype, n):
    params = module.init_params(dtype, seed=3)
    for p in params.values():  # nonzero biases, so every term of the gradient is exercised
        p += np.asarray(np.random.default_rng(4).normal(0, 0.1, p.shape), dtype)
    x, t = _batch(module, n, dtype)
    fresh = module.gradients(params, x, t)
    out = {k: np.full_like(v, np.nan) for k, v in fresh.items()}
    got = module.gradients(params, x, t, check_inputs=True, out=out)
    for name, g in got.items():
        assert g is out[name]
        np.testing.assert_array_equal(g, fresh[name])
    x2, t2 = _batch(module, n, dtype, seed=1)  # the same arrays again, other data
    module.gradients(params, x2, t2, out=out)
    for name, g in module.gradients(params, x2, t2).items():
        np.testing.assert_array_equal(out[name], g)


def test_bad_out_is_refused(module):
    params = module.init_params()
    x, t = _batch(module, 4, np.float64)
    good = module.gradients(params, x, t)
    wrong_shape = dict(good, W1=np.zeros((1, 1)))
    wrong_dtype = {k: v.astype(np.float32) for k, v in good.items()}
    missing = {k: v for k, v in good.items() if k != "b1"}
    for out in (wrong_shape, wrong_dtype, missing, [1, 2]):
        with pytest.raises(ValueError, match="out"):
            module.gradients(params, x, t, check_inputs=True, out=out)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_training_steps_reuse_gradient_sets_without_changing_results(module, dtype):
    """sgd_step and adam_step use pooled gradient arrays; each step must equal the same step
    computed from fresh ``gradients`` (SGD by hand, Adam by a second module-free reference)."""
    params = module.init_params(dtype, seed=5)
    plain = module.sgd_init(params)
    by_hand = {k: v.copy() for k, v in params.items()}
    lr = dtype(0.05)
    for seed in range(3):
        x, t = _batch(module, 8, dtype, seed)
        grads = module.gradients(by_hand, x, t)
        sign = 1 if module._descent({"g": np.ones(1)})["g"][0] > 0 else -1
        for name in by_hand:
            by_hand[name] -= sign * lr * grads[name]
        module.sgd_step(params, plain, x, t, lr=lr)
        for name in params:
            np.testing.assert_allclose(params[name], by_hand[name], rtol=1e-6, atol=1e-7)
    state = module.adam_init(params)
    m = {k: np.zeros_like(v, dtype=np.float64) for k, v in params.items()}
    v = {k: np.zeros_like(p, dtype=np.float64) for k, p in params.items()}
    ref = {k: p.astype(np.float64) for k, p in params.items()}
    beta1, beta2, eps, adam_lr = 0.9, 0.999, 1e-8, 1e-3
    for step in range(1, 4):
        x, t = _batch(module, 8, dtype, 10 + step)
        grads = module.gradients({k: p.astype(dtype) for k, p in ref.items()}, x, t)
        for name in ref:
            g = sign * grads[name].astype(np.float64)
            m[name] = beta1 * m[name] + (1 - beta1) * g
            v[name] = beta2 * v[name] + (1 - beta2) * g * g
            m_hat, v_hat = m[name] / (1 - beta1**step), v[name] / (1 - beta2**step)
            ref[name] -= adam_lr * m_hat / (np.sqrt(v_hat) + eps)
        module.adam_step(params, state, x, t, lr=adam_lr)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for name in params:
        np.testing.assert_allclose(params[name], ref[name], rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 10])
def test_work_buffers_start_on_a_cache_line_and_fresh_gradients_are_independent(module, dtype, n):
    """The work buffers start on a 64-byte boundary (made once per batch size, so the alignment
    costs nothing per call); the gradients of the default call are NumPy's own fresh arrays
    (aligning them cost more per call than it saved). None shares memory with another."""
    params = module.init_params(dtype)
    x, t = _batch(module, n, dtype)
    grads = module.gradients(params, x, t)
    work = module._take_workspace(n, np.dtype(dtype), module._WIDTHS)
    module._give_back_workspace(n, np.dtype(dtype), work)
    buffers = [w for w in work if w.ndim]
    for a in buffers:
        assert a.ctypes.data % 64 == 0
    arrays = list(grads.values()) + buffers
    for a in arrays:
        assert a.flags.c_contiguous and a.flags.writeable
    spans = sorted((a.ctypes.data, a.ctypes.data + a.nbytes) for a in arrays)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start  # no two arrays share memory
    np.testing.assert_array_equal(work[-2], np.ones(n, dtype))  # the row of ones for the gemv
    for name, g in grads.items():
        assert g.shape == params[name].shape and g.dtype == dtype


def test_array_likes_are_taken_as_float64_arrays(module):
    """Lists, nested tuples and integer arrays are computed in float64, as the same numbers given
    as float64 arrays are; what is not an array of real numbers is one clear TypeError."""
    params = module.init_params(seed=5)
    x, t = _batch(module, 3, np.float64)
    x = np.round(x * 4)  # small integers, exact in every type below
    want = module.gradients(params, x, t)
    as_lists = {k: v.tolist() for k, v in params.items()}
    for xx, tt, pp in [
        (x.tolist(), t.tolist(), params),
        (x.astype(int), t.astype(int), params),
        (tuple(map(tuple, x.astype(int).tolist())), t.astype(bool).tolist(), as_lists),
    ]:
        got = module.gradients(pp, xx, tt)
        assert module.loss(pp, xx, tt) == module.loss(params, x, t)
        np.testing.assert_array_equal(module.forward(pp, xx), module.forward(params, x))
        for name, g in got.items():
            assert g.dtype == np.float64
            np.testing.assert_array_equal(g, want[name], err_msg=name)
        if isinstance(xx, np.ndarray):  # BAD_INPUTS row 34: a checked call names the dtype
            with pytest.raises(ValueError, match="x must be float32 or float64, got int64"):
                module.gradients(pp, xx, tt, check_inputs=True)
        else:  # a list is checked as the call converts it
            assert module.gradients(pp, xx, tt, check_inputs=True).keys() == want.keys()
    ragged = [[1.0] * module.SIZES[0], [1.0]]
    for args, message in [
        ((params, ragged, t[:2]), "x must be an array of real numbers"),
        ((params, x, [["a"] * module.SIZES[-1]] * 3), "t must hold real numbers"),
        ((list(params.values()), x, t), "params must be a dict of arrays"),
    ]:
        for check in (False, True):
            with pytest.raises(TypeError, match=message):
                module.gradients(*args, check_inputs=check)

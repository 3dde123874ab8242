"""Generated NumPy modules against sympy.diff, finite differences and float32."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from oracle import expanded_gradients, finite_difference_gradients, random_point, small_net

from symbackprop.check.unit import check_network
from symbackprop.codegen.loader import load_generated
from symbackprop.codegen.unit import generate_module
from symbackprop.derivation.unit import derive
from symbackprop.rules.registry import activation_names
from symbackprop.spec.load import load_spec

UNIT_EXAMPLES = ["mazur", "hmkcode", "jacobs", "essa"]


def module_for(network):
    return load_generated(generate_module(derive(network), source=network.name, optimizers=["sgd"]))


@pytest.mark.parametrize("name", UNIT_EXAMPLES)
def test_example_module_equals_sympy_diff(name):
    network = load_spec(name)
    m = module_for(network)
    grads = m.gradients(m.init_params(), m.EXAMPLE_X, m.EXAMPLE_T)
    expected = expanded_gradients(network, network.value_map)
    assert set(grads) == {p.name for p in network.params}
    for param, value in expected.items():
        assert float(grads[param.name]) == pytest.approx(float(value), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("sizes", [(2, 3, 2), (3, 2, 2, 1), (1, 4, 1)], ids=str)
@pytest.mark.parametrize("activation", activation_names())
def test_random_nets_module_equals_sympy_diff(sizes, activation):
    network = small_net(sizes, activation, notation="mazur")
    point = random_point(network, seed=11)
    m = module_for(network)
    params = {p.name: np.asarray(float(point[p])) for p in network.params}
    x = np.array([[float(point[s]) for s in network.inputs]])
    t = np.array([[float(point[s]) for s in network.targets]])
    grads = m.gradients(params, x, t)
    # GELU's cubic nested under tanh layer after layer is beyond sympy.diff of the fully expanded
    # loss in any reasonable time; its oracle is 80-digit central differences (error ~1e-50).
    oracle = finite_difference_gradients if activation == "gelu" else expanded_gradients
    for param, value in oracle(network, point).items():
        assert float(grads[param.name]) == pytest.approx(float(value), rel=1e-10, abs=1e-13)


@pytest.mark.parametrize("name", UNIT_EXAMPLES)
def test_check_agrees_with_finite_differences(name):
    report = check_network(load_spec(name), points=2, seed=3)
    assert report.ok
    assert max(p.fd_error for p in report.params) <= 1e-7


def test_batch_gradient_is_the_sum_of_per_example_gradients():
    m = module_for(load_spec("mazur"))
    rng = np.random.default_rng(0)
    x, t = rng.uniform(-1, 1, (5, 2)), rng.uniform(0, 1, (5, 2))
    params = m.init_params()
    batch = m.gradients(params, x, t)
    single = [m.gradients(params, x[i : i + 1], t[i : i + 1]) for i in range(5)]
    for name in batch:
        assert float(batch[name]) == pytest.approx(sum(float(s[name]) for s in single), rel=1e-12)


def test_float32_in_float32_out_within_2e_3():
    m = module_for(load_spec("mazur"))
    rng = np.random.default_rng(1)
    x, t = rng.uniform(-1, 1, (8, 2)), rng.uniform(0, 1, (8, 2))
    g64 = m.gradients(m.init_params(np.float64), x, t)
    g32 = m.gradients(m.init_params(np.float32), x.astype(np.float32), t.astype(np.float32))
    assert m.forward(m.init_params(np.float32), x.astype(np.float32)).dtype == np.float32
    for name, value in g64.items():
        assert g32[name].dtype == np.float32
        assert float(g32[name]) == pytest.approx(float(value), rel=2e-3, abs=1e-6)


@pytest.mark.parametrize("scale,dtype", [(1000.0, np.float64), (80.0, np.float32)])
def test_sigmoid_is_stable_for_huge_inputs(scale, dtype):
    m = module_for(load_spec("mazur"))
    x = np.array([[scale, -scale], [-scale, scale]], dtype=dtype)
    t = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=dtype)
    params = m.init_params(dtype)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        value = m.loss(params, x, t)
        grads = m.gradients(params, x, t)
    assert np.isfinite(value)
    assert all(np.isfinite(g) for g in grads.values())


def test_sgd_step_updates_in_place_and_returns_the_loss():
    network = load_spec("mazur")
    m = module_for(network)
    params = m.init_params()
    before = m.loss(params, m.EXAMPLE_X, m.EXAMPLE_T)
    assert m.sgd_step(params, m.sgd_init(params), m.EXAMPLE_X, m.EXAMPLE_T) == pytest.approx(before)
    # w5+ = w5 − η ∂E/∂w5, with η = 0.5 from the spec; value derived independently
    assert float(params["w5"]) == pytest.approx(0.35891647971788465, rel=1e-12)
    assert m.loss(params, m.EXAMPLE_X, m.EXAMPLE_T) < before


def test_gradient_ascent_for_a_log_likelihood():
    m = module_for(load_spec("jacobs"))
    params = m.init_params()
    before = m.loss(params, m.EXAMPLE_X, m.EXAMPLE_T)
    m.sgd_step(params, m.sgd_init(params), m.EXAMPLE_X, m.EXAMPLE_T)
    assert m.loss(params, m.EXAMPLE_X, m.EXAMPLE_T) > before


@pytest.mark.parametrize(
    "x,message",
    [
        (np.zeros((0, 2)), "empty batch"),
        (np.zeros((3, 5)), r"x must be an array of shape \(N, 2\)"),
        (np.zeros(2), r"x must be an array of shape \(N, 2\)"),
        (np.zeros((1, 2), dtype=np.float16), "x must be float32 or float64"),
        (np.array([[np.nan, 1.0]]), "x contains non-finite values"),
        (np.array([[np.inf, 1.0]]), "x contains non-finite values"),
    ],
)
def test_check_inputs_names_the_argument(x, message):
    m = module_for(load_spec("mazur"))
    t = np.zeros((max(len(x), 1), 2)) if x.ndim == 2 and x.shape[0] else np.zeros((1, 2))
    with pytest.raises(ValueError, match=message):
        m.gradients(m.init_params(), x, t, check_inputs=True)


def test_batch_mismatch_is_reported():
    m = module_for(load_spec("mazur"))
    with pytest.raises(ValueError, match="same batch size"):
        m.loss(m.init_params(), np.zeros((2, 2)), np.zeros((3, 2)), check_inputs=True)


def test_nan_propagates_without_check_inputs():
    m = module_for(load_spec("mazur"))
    with np.errstate(all="ignore"):
        value = m.loss(m.init_params(), np.array([[np.nan, 0.1]]), np.array([[0.0, 1.0]]))
    assert np.isnan(value)


def test_module_source_is_formatted_and_commented():
    text = generate_module(derive(load_spec("mazur")), source="mazur")
    import black

    assert black.format_str(text, mode=black.Mode(line_length=100)) == text
    assert "# D3: delta_h1 = ∂E_total/∂net_h1, δ-recursion from delta_o1, delta_o2" in text
    assert "# G1: ∂E_total/∂w5 = delta_o1·∂net_o1/∂w5" in text
    assert "import numpy as np" in text and "import math" not in text
    compile(text, "generated", "exec")


def test_user_names_that_the_template_uses_internally_do_not_clash():
    """Inputs called x and n, a target called t: the module's own locals are _-prefixed."""
    import sympy as sp

    from symbackprop.model.network import build_network
    from symbackprop.rules.registry import ACTIVATIONS

    x, n, t, u, w, v, z, a = sp.symbols("x n t u w v z a")
    sigmoid = ACTIVATIONS["sigmoid"].function
    network = build_network(
        name="clash",
        inputs=[x, n],
        targets=[t, u],
        params=[w, v],
        nodes=[(z, w * x + v * n), (a, sigmoid(z))],
        loss=("E", (t - a) ** 2 / 2 + (u - a) ** 2 / 2),
    )
    report = check_network(network, points=2, seed=5)
    assert report.ok

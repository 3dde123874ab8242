"""The six update rules at the unit level: the unit module's steps equal the layer module's on the
same net, and equal a reference written here in closed form over the gradient history.

The reference does not replay the rules' in-place statements: momentum is Fausett's step form
Δw(t+1) = −η g(t+1) + μ Δw(t) (seed 001), Adagrad divides by the root of the sum of all squared
gradients so far, RMSprop and Adam are the exponentially weighted sums
Σ_s (1 − β) β^{t−s} g(s)² written out, as in the PyTorch documentation's definitions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from symbackprop.codegen.audit import audit_module
from symbackprop.codegen.layer import generate_layer_module
from symbackprop.codegen.loader import load_generated
from symbackprop.codegen.unit import generate_module
from symbackprop.derivation.layer import derive_layers
from symbackprop.derivation.unit import derive
from symbackprop.errors import InvalidInput
from symbackprop.spec.load import load_spec, load_spec_text

SPEC = """
name = "small"
notation = "mazur"
[network]
inputs = 2
layers = [{ units = 2, activation = "tanh" }, { units = 2, activation = "sigmoid" }]
[training]
learning_rate = 0.3
"""

CASES = [
    ("sgd", {}),
    ("momentum", {"momentum": 0.9}),
    ("nesterov", {"momentum": 0.7}),
    ("adagrad", {"eps": 1e-10}),
    ("rmsprop", {"alpha": 0.9, "eps": 1e-8}),
    ("adam", {"beta1": 0.8, "beta2": 0.95, "eps": 1e-8}),
]
STEPS = 6


@pytest.fixture(scope="module")
def nets():
    unit_net = load_spec_text(SPEC, source="small", name="small", level="unit")
    layer_net = load_spec_text(SPEC, source="small", name="small", level="layer")
    unit = load_generated(generate_module(derive(unit_net), source="small", optimizers=["all"]))
    layer_text = generate_layer_module(derive_layers(layer_net), source="small", optimizers=["all"])
    layer = load_generated(layer_text)
    return unit_net, unit, layer


def _to_layer(unit_net, params: dict) -> dict:
    """Unit parameters (one 0-d array per weight) as the layer module's W{l}, b{l} arrays, placed
    through the figure's layout: unit labels by column, edges (source, destination, weight)."""
    layout = unit_net.layout
    where = {
        label: (col, row)
        for col, column in enumerate(layout.columns)
        for row, label in enumerate(column)
    }
    out = {}
    for col in range(1, len(layout.columns)):
        out[f"W{col}"] = np.zeros((len(layout.columns[col]), len(layout.columns[col - 1])))
        out[f"b{col}"] = np.zeros(len(layout.columns[col]))
    for src, dst, name in layout.edges:
        (layer, j), (_, k) = where[dst], where[src]
        out[f"W{layer}"][j, k] = float(params[name])
    for name, (unit,) in layout.biases:
        layer, j = where[unit]
        out[f"b{layer}"][j] = float(params[name])
    return out


def _data(n: int):
    rng = np.random.default_rng(n)
    return rng.uniform(-1, 1, (n, 2)), rng.uniform(0.1, 0.9, (n, 2))


@pytest.mark.parametrize("batch", [1, 4])  # 1: the unrolled scalar path
@pytest.mark.parametrize("name, settings", CASES)
def test_unit_steps_equal_layer_steps(nets, name, settings, batch):
    unit_net, unit, layer = nets
    x, t = _data(batch)
    up = unit.init_params(seed=3)
    lp = _to_layer(unit_net, up)
    us, ls = getattr(unit, f"{name}_init")(up), getattr(layer, f"{name}_init")(lp)
    for _ in range(STEPS):
        uv = getattr(unit, f"{name}_step")(up, us, x, t, 0.3, **settings)
        lv = getattr(layer, f"{name}_step")(lp, ls, x, t, 0.3, **settings)
        assert uv == pytest.approx(lv, rel=1e-12)
        mapped = _to_layer(unit_net, up)
        for key, value in lp.items():
            np.testing.assert_allclose(mapped[key], value, rtol=1e-11, atol=1e-14)


def _closed_form(name, theta, history, lr, h):
    """The parameter after the steps of ``history`` (the gradient at each), in closed form."""
    t = len(history)
    g = history[-1]
    if name == "sgd":
        return theta - lr * sum(history)
    if name == "momentum":  # seed 001: Δw(s) = −η g(s) + μ Δw(s − 1), Δw(0) = 0
        change, total = 0.0, 0.0
        for gs in history:
            change = -lr * gs + h["momentum"] * change
            total += change
        return theta + total
    if name == "nesterov":  # θ −= η (g + μ v), v(s) = Σ_{r ≤ s} μ^{s−r} g(r)
        total = 0.0
        for s in range(1, t + 1):
            v = sum(h["momentum"] ** (s - r) * history[r - 1] for r in range(1, s + 1))
            total += lr * (history[s - 1] + h["momentum"] * v)
        return theta - total
    if name == "adagrad":
        total = 0.0
        for s in range(1, t + 1):
            root = math.sqrt(sum(gr * gr for gr in history[:s]))
            total += lr * history[s - 1] / (root + h["eps"])
        return theta - total
    if name == "rmsprop":
        a, total = h["alpha"], 0.0
        for s in range(1, t + 1):
            mean_sq = sum((1 - a) * a ** (s - r) * history[r - 1] ** 2 for r in range(1, s + 1))
            total += lr * history[s - 1] / (math.sqrt(mean_sq) + h["eps"])
        return theta - total
    if name == "adam":
        b1, b2, total = h["beta1"], h["beta2"], 0.0
        for s in range(1, t + 1):
            m = sum((1 - b1) * b1 ** (s - r) * history[r - 1] for r in range(1, s + 1))
            v = sum((1 - b2) * b2 ** (s - r) * history[r - 1] ** 2 for r in range(1, s + 1))
            total += lr * (m / (1 - b1**s)) / (math.sqrt(v / (1 - b2**s)) + h["eps"])
        return theta - total
    raise AssertionError(name, g)


@pytest.mark.parametrize("name, settings", CASES)
def test_unit_updates_equal_closed_form(nets, name, settings):
    _, unit, _ = nets
    rng = np.random.default_rng(7)
    params = unit.init_params(seed=1)
    start = {k: float(v) for k, v in params.items()}
    state = getattr(unit, f"{name}_init")(params)
    history = [{k: float(rng.standard_normal()) for k in params} for _ in range(STEPS)]
    for grads in history:
        getattr(unit, f"{name}_update")(params, grads, state, 0.05, **settings)
    assert state["step"] == STEPS
    for key in params:
        want = _closed_form(name, start[key], [h[key] for h in history], 0.05, settings)
        assert float(params[key]) == pytest.approx(want, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("example", ["mazur", "hmkcode", "jacobs", "essa"])
def test_sgd_step_is_plain_gradient_descent_or_ascent(example):
    """``sgd_step`` goes through ``_descent`` (−dL/dp for jacobs' log-likelihood): it equals
    p ∓ lr·dE/dp written here from ``gradients``, ascent included."""
    net = load_spec(example)
    module = load_generated(generate_module(derive(net), source=example, optimizers=["sgd"]))
    x, t = module.EXAMPLE_X, module.EXAMPLE_T
    a, b = module.init_params(), module.init_params()
    state = module.sgd_init(a)
    sign = -1.0 if net.maximize else 1.0
    for _ in range(3):
        grads = module.gradients(b, x, t)
        module.sgd_step(a, state, x, t, 0.1)
        b = {k: np.asarray(float(v) - sign * 0.1 * float(grads[k])) for k, v in b.items()}
    assert state["step"] == 3
    for key in a:
        assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-14, abs=1e-16)


def test_log_likelihood_is_ascended_by_adam():
    text = generate_module(derive(load_spec("jacobs")), source="jacobs", optimizers=["adam"])
    module = load_generated(text)
    x, t = module.EXAMPLE_X, module.EXAMPLE_T
    params = module.init_params()
    state = module.adam_init(params)
    first = module.adam_step(params, state, x, t, 0.01)
    for _ in range(30):
        last = module.adam_step(params, state, x, t, 0.01)
    assert last > first


def test_float32_stays_float32(nets):
    _, unit, _ = nets
    x, t = (a.astype(np.float32) for a in _data(3))
    params = unit.init_params(np.float32, seed=0)
    state = unit.adam_init(params)
    first = unit.adam_step(params, state, x, t, 0.05)
    for _ in range(100):
        last = unit.adam_step(params, state, x, t, 0.05)
    assert last < first
    assert all(v.dtype == np.float32 and v.shape == () for v in params.values())


def test_update_refuses_parameters_it_cannot_change_in_place(nets):
    _, unit, _ = nets
    params = {k: float(v) for k, v in unit.init_params().items()}
    with pytest.raises(TypeError, match=r"params\['w1'\] must be a float array"):
        unit.momentum_init(params)


def test_spec_optimizer_at_unit_level_and_audit():
    text = SPEC + 'optimizer = { name = "rmsprop", alpha = 0.5 }\n'
    net = load_spec_text(text, source="s", name="s", level="unit")
    assert [(o.name, dict(o.settings)) for o in net.optimizers] == [
        ("rmsprop", {"alpha": 0.5, "eps": 1e-8})
    ]
    source = generate_module(derive(net), source="s")
    names = ("init_params", "gradients", "optimizer_init", "optimizer_step")
    audit_module(source, expected=names + tuple(f"rmsprop_{f}" for f in ("init", "update", "step")))
    module = load_generated(source)
    assert module.OPTIMIZER == "rmsprop"
    assert not any(hasattr(module, f"{o}_step") for o, _ in CASES if o != "rmsprop")
    other = load_generated(
        generate_module(
            derive(load_spec_text(SPEC, source="s", name="s", level="unit")),
            source="s",
            optimizers=["rmsprop"],
        )
    )
    x, t = _data(2)
    a, b = module.init_params(seed=2), other.init_params(seed=2)
    sa, sb = module.optimizer_init(a), other.rmsprop_init(b)
    for _ in range(3):
        assert module.optimizer_step(a, sa, x, t) == other.rmsprop_step(b, sb, x, t, alpha=0.5)
    assert all(float(a[k]) == float(b[k]) for k in a)


@pytest.mark.parametrize(
    "line, message",
    [
        ('optimizer = { name = "adamw" }', "unknown optimizer 'adamw'"),
        ('optimizer = { name = "adam", mu = 0.9 }', "unknown setting 'mu' for adam"),
        ('optimizer = { name = "momentum", momentum = "high" }', "momentum must be a number"),
        ("optimizer = []", "at least one table"),
        ("optimizer = [1]", "optimizer must list tables"),
    ],
)
def test_bad_optimizer_is_one_line_error(line, message):
    with pytest.raises(InvalidInput, match=message) as err:
        load_spec_text(SPEC + line + "\n", source="s.toml", name="s", level="unit")
    assert "\n" not in str(err.value) and "s.toml" in str(err.value)

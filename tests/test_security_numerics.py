"""Wrong numbers the generated modules must never return silently (issue 11, items 11-14).

Rows of BAD_INPUTS.md: 48 (integer and bool inputs), 49 (``out=`` aliasing an input), 31 (NaN
and inf under ``check_inputs``), 33 (an empty batch). Items 13 (softmax losses at batch 1) and 14
(the L2 convention, softplus' derivative). Every built-in example is generated at each level its
spec allows, plus small random nets with every activation and loss. Oracles: the module's own
float64 path for the same numbers (row 48: integer input must give exactly what float input
gives), central finite differences in float64, SciPy (log_softmax, log_expit, logsumexp), an
independent NumPy forward pass, and mpmath.
"""

from __future__ import annotations

import functools
import itertools
import re
import warnings
from pathlib import Path

import mpmath
import numpy as np
import pytest
import scipy.special as special

from symbackprop.cli.commands import MAX_OPS
from symbackprop.codegen.loader import load_generated
from symbackprop.codegen.unit import generate_module
from symbackprop.derivation.layer import LayerNet
from symbackprop.derivation.unit import derive
from symbackprop.derived import derived
from symbackprop.errors import InvalidInput, ResourceLimit
from symbackprop.model.layered import LayerSpec, build_layered
from symbackprop.rules.layer_losses import required_output
from symbackprop.rules.optimizers import OPTIMIZERS
from symbackprop.spec.load import example_names, load_spec

README = Path(__file__).resolve().parents[1] / "README.md"
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "linear")
LOSSES = (
    "half_sse",
    "gaussian_loglik",
    "bce",
    "bernoulli_loglik",
    "cross_entropy",
    "multinomial_loglik",
)
MAXIMIZE = {"gaussian_loglik", "bernoulli_loglik", "multinomial_loglik"}


def _levels():
    """(example, level) for every built-in example at each level its spec allows and the
    command line's default --max-ops admits (784-30-10 is not a unit-level net)."""
    out = []
    for name in example_names():
        for level in ("unit", "layer"):
            try:
                derived(load_spec(name, level=level)).require_operations(MAX_OPS)
            except (InvalidInput, ResourceLimit):
                continue
            out.append((name, level))
    return out


EXAMPLES = _levels()


@functools.lru_cache(maxsize=None)
def example_module(name: str, level: str):
    net = load_spec(name, level=level)
    if level == "layer":
        module = derived(net).module(source=name, optimizers=["all"])
        return net, load_generated(module, f"{name}_{level}")
    return net, load_generated(
        generate_module(derive(net), source=name, optimizers=["all"]), f"{name}_{level}"
    )


@functools.lru_cache(maxsize=None)
def layer_module(sizes, activations, loss, reduction="sum", decay=0.0):
    net = LayerNet("r", sizes, activations, loss, reduction=reduction, weight_decay=decay)
    return net, load_generated(derived(net).module(source="r", optimizers=["all"]), "r_layer")


@functools.lru_cache(maxsize=None)
def unit_module(activation, loss, reduction):
    out = required_output(loss) or activation
    layers = [LayerSpec(3, activation), LayerSpec(2, out if out != "softmax" else "sigmoid")]
    net = build_layered(name="u", inputs=2, layers=layers, loss=loss, reduction=reduction)
    return net, load_generated(
        generate_module(derive(net), source="u", optimizers=["all"]), "u_unit"
    )


# Random small nets: each hidden activation once, each loss once, both reductions.
UNIT_NETS = [
    (act, loss, red)
    for act, loss, red in zip(
        ACTIVATIONS, itertools.cycle(LOSSES[:4]), itertools.cycle(("mean", "sum"))
    )
]
LAYER_NETS = [
    ((3, 4, 3), (act, required_output(loss) or act), loss, red)
    for act, loss, red in zip(ACTIVATIONS, LOSSES, itertools.cycle(("sum", "mean")))
]


def _all_modules():
    """(id, loader) of every module under test: built-in examples and random nets."""
    out = [(f"{n}-{lv}", functools.partial(example_module, n, lv)) for n, lv in EXAMPLES]
    out += [
        (f"unit-{a}-{lo}-{r}", functools.partial(unit_module, a, lo, r)) for a, lo, r in UNIT_NETS
    ]
    out += [
        (f"layer-{'-'.join(acts)}-{lo}-{r}", functools.partial(layer_module, s, acts, lo, r))
        for s, acts, lo, r in LAYER_NETS
    ]
    return out


MODULES = _all_modules()
LAYER_MODULES = [(i, f) for i, f in MODULES if i.endswith("-layer") or i.startswith("layer-")]


def widths(m) -> tuple[int, int]:
    if hasattr(m, "SIZES"):
        return m.SIZES[0], m.SIZES[-1]
    return len(m.INPUTS), len(m.TARGETS)


def is_layer(m) -> bool:
    return hasattr(m, "SIZES")


def int_batch(m, n: int, kind: str, seed: int = 0):
    """x with small integers, t one-hot (valid for every loss), both of dtype ``kind``."""
    rng = np.random.default_rng(seed)
    n_in, n_out = widths(m)
    x = rng.integers(-2, 3, (n, n_in))
    t = np.eye(n_out, dtype=np.int64)[rng.integers(0, n_out, n)]
    if kind == "bool":
        return x != 0, t.astype(bool)
    return x.astype(kind), t.astype(kind)


def float_batch(m, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_in, n_out = widths(m)
    x = rng.uniform(-1, 1, (n, n_in))
    t = np.eye(n_out)[rng.integers(0, n_out, n)]
    return x, t


def params_of(m, seed: int = 1):
    """Float64 parameters with nonzero biases (every term of a gradient exercised)."""
    params = m.init_params(seed=seed)
    rng = np.random.default_rng(seed + 100)
    return {k: np.asarray(v + rng.normal(0, 0.1, np.shape(v))) for k, v in params.items()}


def copy(params):
    return {k: np.array(v, copy=True) for k, v in params.items()}


# -------------------------------------------------------------------------------------------
# row 48: integer and bool inputs, on every path, every function


@pytest.mark.parametrize("kind", ["int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("load", [pytest.param(f, id=f"row48-{i}") for i, f in MODULES])
def test_row48_integer_inputs_are_computed_in_float64(load, n, kind):
    _, m = load()
    params = params_of(m)
    x_int, t_int = int_batch(m, n, kind)
    x, t = x_int.astype(np.float64), t_int.astype(np.float64)
    np.testing.assert_array_equal(m.forward(params, x_int), m.forward(params, x))
    assert m.loss(params, x_int, t_int) == m.loss(params, x, t)
    want, got = m.gradients(params, x, t), m.gradients(params, x_int, t_int)
    assert set(got) == set(want)
    for name, g in got.items():
        assert np.asarray(g).dtype == np.float64, name
        np.testing.assert_array_equal(g, want[name], err_msg=name)
    assert any(np.any(np.asarray(g) != 0) for g in got.values())  # the bug gave all zeros
    by_int, by_float = copy(params), copy(params)
    assert m.sgd_step(by_int, m.sgd_init(by_int), x_int, t_int, 0.1) == m.sgd_step(
        by_float, m.sgd_init(by_float), x, t, 0.1
    )
    for name in params:
        np.testing.assert_array_equal(by_int[name], by_float[name], err_msg=name)
    assert any(np.any(by_int[k] != params[k]) for k in params)  # the step did something


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize(
    "load", [pytest.param(f, id=f"row48-fd-{i}") for i, f in MODULES if "nielsen" not in i]
)
def test_row48_integer_input_gradients_equal_finite_differences(load, n):
    """Independent of the float path: central differences of the loss at the float64 values."""
    _, m = load()
    params = params_of(m)
    x_int, t_int = int_batch(m, n, "int64", seed=3)
    x, t = x_int.astype(np.float64), t_int.astype(np.float64)
    grads = m.gradients(params, x_int, t_int)
    rng = np.random.default_rng(0)
    for name, p in params.items():
        flat = np.asarray(p, dtype=np.float64).reshape(-1)
        for i in rng.choice(flat.size, size=min(flat.size, 3), replace=False):
            h = 1e-6 * max(1.0, abs(flat[i]))

            def at(v, name=name, i=i):
                trial = copy(params)
                trial[name].reshape(-1)[i] = v
                return float(m.loss(trial, x, t))

            fd = (at(flat[i] + h) - at(flat[i] - h)) / (2 * h)
            got = float(np.asarray(grads[name]).reshape(-1)[i])
            assert got == pytest.approx(fd, rel=1e-5, abs=1e-7), (name, i)


@pytest.mark.parametrize("load", [pytest.param(f, id=f"row48-int-params-{i}") for i, f in MODULES])
def test_row48_integer_params(load):
    """Integer parameters: forward, loss and gradients in float64; the in-place training steps
    refuse them with a TypeError naming the parameter, before changing anything."""
    _, m = load()
    ints = {k: np.array(np.round(4 * v), dtype=np.int64) for k, v in params_of(m).items()}
    floats = {k: v.astype(np.float64) for k, v in ints.items()}
    x, t = float_batch(m, 2)
    for n in (1, 2):
        assert m.loss(ints, x[:n], t[:n]) == m.loss(floats, x[:n], t[:n])
        got, want = m.gradients(ints, x[:n], t[:n]), m.gradients(floats, x[:n], t[:n])
        for name in want:
            assert np.asarray(got[name]).dtype == np.float64
            np.testing.assert_array_equal(got[name], want[name])
    before = copy(ints)
    steps = [lambda: m.sgd_step(ints, m.sgd_init(ints), x, t, 0.1)]
    if is_layer(m):
        steps.append(lambda: m.optimizer_init(ints))
        state = m.optimizer_init(floats)
        steps.append(lambda: m.optimizer_step(ints, state, x, t))
        for o in OPTIMIZERS:
            steps.append(functools.partial(getattr(m, f"{o}_init"), ints))
    for step in steps:
        with pytest.raises(TypeError, match=r"params\['\w+'\] must be a float array"):
            step()
        for name in ints:
            np.testing.assert_array_equal(ints[name], before[name])


@pytest.mark.parametrize("kind", ["int64", "bool"])
@pytest.mark.parametrize("n", [1, 4])
@pytest.mark.parametrize(
    "load", [pytest.param(f, id=f"row48-optimizers-{i}") for i, f in LAYER_MODULES]
)
def test_row48_optimizer_steps_with_integer_inputs(load, n, kind):
    _, m = load()
    params = params_of(m)
    x_int, t_int = int_batch(m, n, kind, seed=5)
    x, t = x_int.astype(np.float64), t_int.astype(np.float64)
    for o in [*OPTIMIZERS, None]:
        a, b = copy(params), copy(params)
        if o is None:
            sa, sb = m.optimizer_init(a), m.optimizer_init(b)
            va, vb = m.optimizer_step(a, sa, x_int, t_int), m.optimizer_step(b, sb, x, t)
        elif o == "sgd":
            va, vb = m.sgd_step(a, m.sgd_init(a), x_int, t_int), m.sgd_step(b, m.sgd_init(b), x, t)
        else:
            sa, sb = getattr(m, f"{o}_init")(a), getattr(m, f"{o}_init")(b)
            va = getattr(m, f"{o}_step")(a, sa, x_int, t_int)
            vb = getattr(m, f"{o}_step")(b, sb, x, t)
        assert va == vb
        for name in params:
            assert a[name].dtype == np.float64
            np.testing.assert_array_equal(a[name], b[name], err_msg=f"{o}: {name}")
            assert np.any(a[name] != params[name]) or name.startswith("b"), (o, name)


def test_row48_refuses_non_real_dtypes():
    _, m = example_module("mazur", "unit")
    _, lm = example_module("digits", "layer")
    for module in (m, lm):
        x, t = float_batch(module, 2)
        for bad in (x.astype(complex), x.astype(str)):
            with pytest.raises(TypeError, match="x must hold real numbers"):
                module.gradients(params_of(module), bad, t)


# -------------------------------------------------------------------------------------------
# row 31: NaN and inf in the inputs


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("load", [pytest.param(f, id=f"row31-{i}") for i, f in MODULES])
def test_row31_non_finite_values_are_refused_when_checked(load, bad):
    _, m = load()
    params = params_of(m)
    x, t = float_batch(m, 3)
    x_bad, t_bad = x.copy(), t.copy()
    x_bad[1, 0] = bad
    t_bad[2, -1] = bad
    first = next(iter(params))
    p_bad = copy(params)
    p_bad[first].reshape(-1)[0] = bad
    calls = {
        "loss": lambda p, x, t: m.loss(p, x, t, check_inputs=True),
        "gradients": lambda p, x, t: m.gradients(p, x, t, check_inputs=True),
        "sgd_step": lambda p, x, t: m.sgd_step(copy(p), m.sgd_init(p), x, t, check_inputs=True),
    }
    for call in calls.values():
        for args, label in (
            ((params, x_bad, t), "x"),
            ((params, x, t_bad), "t"),
            ((p_bad, x, t), f"params[{first!r}]"),
        ):
            message = f"{label} contains non-finite values"
            with pytest.raises(ValueError, match=re.escape(message)):
                call(*args)
    with pytest.raises(ValueError, match="x contains non-finite values"):
        m.forward(params, x_bad, check_inputs=True)


@pytest.mark.parametrize("load", [pytest.param(f, id=f"row31-propagates-{i}") for i, f in MODULES])
def test_row31_nan_propagates_without_the_check(load):
    _, m = load()
    params = params_of(m)
    x, t = float_batch(m, 3)
    x[1, :] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = m.loss(params, x, t)
        grads = m.gradients(params, x, t)
        out = m.forward(params, x)
    assert np.isnan(loss)
    assert np.all(np.isnan(out[1])) and np.all(np.isfinite(out[[0, 2]]))
    assert any(np.any(np.isnan(g)) for g in grads.values())


# -------------------------------------------------------------------------------------------
# row 49: out= sharing memory with an input


def _aliased_outs(m, params, x, t):
    """(out, message) pairs: each out dict shares memory with one input or with itself."""
    fresh = m.gradients(params, x, t)
    L = len(m.SIZES) - 1
    n, n0 = x.shape
    n1 = m.SIZES[1]
    buf = np.zeros(n * n0 + n1 * n0)  # x, and out['W1'] overlapping it by one element
    x_view = buf[: n * n0].reshape(n, n0)
    x_view[...] = x
    w1 = buf[n * n0 - 1 : n * n0 - 1 + n1 * n0].reshape(n1, n0)
    cases = [
        (params, x, t, params, "out['W1'] shares memory with params['W1']"),
        (params, x, t, dict(fresh, **{f"W{L}": params[f"W{L}"]}), f"out['W{L}'] shares memory"),
        (params, x_view, t, dict(fresh, W1=w1), "out['W1'] shares memory with x"),
        (params, x, t, dict(fresh, **{f"b{L}": t[0]}), f"out['b{L}'] shares memory with t"),
    ]
    ring = np.zeros((n1, n0))  # out['b1'] a column of out['W1']
    cases.append(
        (
            params,
            x,
            t,
            dict(fresh, W1=ring, b1=ring[:, 0]),
            "out['W1'] shares memory with out['b1']",
        )
    )
    return cases


@pytest.mark.parametrize("n", [1, 5])
@pytest.mark.parametrize("load", [pytest.param(f, id=f"row49-{i}") for i, f in LAYER_MODULES])
def test_row49_out_aliasing_an_input_is_refused(load, n):
    _, m = load()
    params = params_of(m)
    x, t = float_batch(m, n)
    for p, xx, tt, out, message in _aliased_outs(m, params, x, t):
        before = {k: np.array(v, copy=True) for k, v in out.items()}
        with pytest.raises(ValueError, match=re.escape(message)):
            m.gradients(p, xx, tt, check_inputs=True, out=out)
        for k, v in out.items():  # refused before anything was written
            np.testing.assert_array_equal(v, before[k])
    disjoint = {k: np.empty_like(v) for k, v in params.items()}  # and no false alarm
    got = m.gradients(params, x, t, check_inputs=True, out=disjoint)
    for name, g in m.gradients(params, x, t).items():
        np.testing.assert_array_equal(got[name], g)


def test_row49_unchecked_aliasing_is_documented_and_is_wrong():
    """Without the check, ``out=params`` gives wrong gradients; the docstring says so."""
    _, m = example_module("digits", "layer")
    doc = " ".join(m.gradients.__doc__.split())
    assert "must not share memory with ``params``, ``x``, ``t``" in doc
    assert "``check_inputs=True`` refuses such an ``out``" in doc
    params = params_of(m)
    x, t = float_batch(m, 4)
    right = m.gradients(params, x, t)
    aliased = copy(params)
    wrong = m.gradients(aliased, x, t, out=aliased)
    assert not all(np.allclose(wrong[k], right[k]) for k in right)


# -------------------------------------------------------------------------------------------
# row 33: the empty batch


@pytest.mark.parametrize("check", [False, True], ids=["unchecked", "checked"])
@pytest.mark.parametrize("load", [pytest.param(f, id=f"row33-{i}") for i, f in MODULES])
def test_row33_empty_batch_raises_without_warnings(load, check):
    _, m = load()
    params = params_of(m)
    n_in, n_out = widths(m)
    x, t = np.zeros((0, n_in)), np.zeros((0, n_out))
    calls = [
        lambda: m.loss(params, x, t, check_inputs=check),
        lambda: m.gradients(params, x, t, check_inputs=check),
        lambda: m.sgd_step(copy(params), m.sgd_init(params), x, t, check_inputs=check),
        lambda: m.forward(params, x, check_inputs=check),
        lambda: m.loss(params, x.astype(int), t.astype(int)),
    ]
    if is_layer(m) and not check:
        calls.append(lambda: m.optimizer_step(copy(params), m.optimizer_init(params), x, t))
        calls.append(lambda: m.adam_step(copy(params), m.adam_init(params), x, t))
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        for call in calls:
            with pytest.raises(ValueError, match=re.escape("empty batch")):
                call()


# -------------------------------------------------------------------------------------------
# item 13: softmax losses at batch 1 (and where the batch size equals a layer's width)


ACT = {
    "sigmoid": special.expit,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "softplus": lambda z: np.logaddexp(0.0, z),
    "linear": lambda z: z,
}


def reference_cost(net, params, x, t):
    """The cost as README and the module docstring state it, by an independent NumPy forward pass
    and SciPy: (1/N if mean) (sum over examples of the per-example loss +- lambda/2 sum w^2)."""
    a = x
    L = len(net.sizes) - 1
    for layer in range(1, L + 1):
        z = a @ params[f"W{layer}"].T + params[f"b{layer}"]
        a = ACT[net.activations[layer - 1]](z) if layer < L else None
    out = net.activations[-1]
    if net.loss in ("cross_entropy", "multinomial_loglik"):
        per = -np.sum(t * special.log_softmax(z, axis=1))
    elif net.loss in ("bce", "bernoulli_loglik"):
        per = -np.sum(t * special.log_expit(z) + (1 - t) * special.log_expit(-z))
    else:
        y = special.softmax(z, axis=1) if out == "softmax" else ACT[out](z)
        per = 0.5 * np.sum((t - y) ** 2)
    maximize = net.loss in MAXIMIZE
    weights = sum(np.sum(params[f"W{k}"] ** 2) for k in range(1, L + 1))
    total = (-per if maximize else per) + (-1 if maximize else 1) * net.weight_decay / 2 * weights
    return total / len(x) if net.reduction == "mean" else total


@pytest.mark.parametrize("n", [1, 2, 10, 32, 64])
def test_item13_digits_loss_at_every_batch_size(n):
    net, m = example_module("digits", "layer")
    params = params_of(m)
    x, t = float_batch(m, n, seed=n)
    want = reference_cost(net, params, x, t)
    x0, params0 = x.copy(), copy(params)
    assert m.loss(params, x, t) == pytest.approx(want, rel=1e-12)
    assert m.sgd_step(copy(params), m.sgd_init(params), x, t, lr=0.0) == pytest.approx(
        want, rel=1e-12
    )
    state = m.optimizer_init(params)
    assert m.optimizer_step(copy(params), state, x, t) == pytest.approx(want, rel=1e-12)
    np.testing.assert_array_equal(x, x0)  # inputs untouched
    for k in params:
        np.testing.assert_array_equal(params[k], params0[k])


@pytest.mark.parametrize("n", [1, 3, 4])
@pytest.mark.parametrize("loss", ["cross_entropy", "multinomial_loglik"])
def test_item13_extreme_logits_at_batch_1(loss, n):
    """Logits (1000, -1000, 0) with y = e2: -log softmax_2 = 2000 (1.55 before the fix)."""
    net, m = layer_module((3, 3), ("softmax",), loss)
    params = {"W1": np.eye(3), "b1": np.zeros(3)}
    x = np.tile([[1000.0, -1000.0, 0.0]], (n, 1))
    t = np.tile([[0.0, 1.0, 0.0]], (n, 1))
    want = -n * special.log_softmax(x[0])[1] * (1 if loss == "cross_entropy" else -1)
    assert want == pytest.approx(n * (2000.0 if loss == "cross_entropy" else -2000.0))
    with np.errstate(all="raise", under="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert m.loss(params, x, t) == pytest.approx(want, rel=1e-15)
        assert m.sgd_step(copy(params), m.sgd_init(params), x, t, lr=0.0) == pytest.approx(
            want, rel=1e-15
        )
        # probabilities are floored at exp(f) / 3, f = log(tiny) / 2 (the module's design)
        np.testing.assert_allclose(m.forward(params, x), special.softmax(x, axis=1), atol=1e-150)


@pytest.mark.parametrize("n", [1, 3, 4])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("loss", ["cross_entropy", "multinomial_loglik", "half_sse"])
def test_item13_softmax_nets_where_shapes_coincide(loss, reduction, n):
    """Batch sizes 1, the number of classes (3) and the hidden width (4), every softmax loss."""
    net, m = layer_module((2, 4, 3), ("tanh", "softmax"), loss, reduction, 0.05)
    params = params_of(m)
    x, t = float_batch(m, n, seed=7)
    want = reference_cost(net, params, x, t)
    assert m.loss(params, x, t) == pytest.approx(want, rel=1e-12)
    assert m.sgd_step(copy(params), m.sgd_init(params), x, t, lr=0.0) == pytest.approx(
        want, rel=1e-12
    )
    np.testing.assert_allclose(
        m.forward(params, x),
        special.softmax(
            np.tanh(x @ params["W1"].T + params["b1"]) @ params["W2"].T + params["b2"], axis=1
        ),
        rtol=1e-13,
    )


# -------------------------------------------------------------------------------------------
# item 14: the L2 convention, one formula in code, docstring, README and handout


def _targets(loss, n, n_out, rng):
    if loss in ("cross_entropy", "multinomial_loglik"):
        return np.eye(n_out)[rng.integers(0, n_out, n)]
    if loss in ("bce", "bernoulli_loglik"):
        return rng.uniform(0, 1, (n, n_out))
    return rng.uniform(-1, 1, (n, n_out))


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("loss", LOSSES)
def test_item14_l2_loss_and_gradient_equal_the_stated_formula(loss, reduction):
    out = required_output(loss) or "sigmoid"
    net, m = layer_module((3, 4, 3), ("tanh", out), loss, reduction, 0.3)
    params = params_of(m)
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (5, 3))
    t = _targets(loss, 5, 3, rng)
    assert m.loss(params, x, t) == pytest.approx(reference_cost(net, params, x, t), rel=1e-12)
    grads = m.gradients(params, x, t)
    for name, p in params.items():  # central differences of the stated formula itself
        for i in range(p.size):
            h = 1e-6

            def at(v, name=name, i=i):
                trial = copy(params)
                trial[name].reshape(-1)[i] = v
                return reference_cost(net, trial, x, t)

            v = p.reshape(-1)[i]
            fd = (at(v + h) - at(v - h)) / (2 * h)
            assert grads[name].reshape(-1)[i] == pytest.approx(fd, rel=1e-6, abs=1e-9), (name, i)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("loss", ["cross_entropy", "multinomial_loglik"])
def test_item14_l2_stated_the_same_in_docstring_and_handout(loss, reduction):
    from symbackprop.handout.layer import generate_layer_handout

    net, m = layer_module((3, 4, 3), ("tanh", "softmax"), loss, reduction, 0.3)
    maximize, mean = loss in MAXIMIZE, reduction == "mean"
    doc = " ".join(m.__doc__.split())
    cost, sign = ("log L", "-") if maximize else ("C", "+")
    total = f"sum_x {cost}_x {sign} lambda/2 sum w^2"
    assert (f"{cost} = (1/N) ({total})" if mean else f"{cost} = {total}") in doc
    assert f"{sign} lambda W{' / N' if mean else ''} in its gradient" in doc
    assert ("minus an L2 term" if maximize else "plus an L2 term") in doc
    tex = generate_layer_handout(net, source="r")
    sign_tex = "-" if maximize else "+"
    if mean:
        formula = (
            rf"C = \frac{{1}}{{n}}\Bigl(\sum_x C_x {sign_tex} \frac{{\lambda}}{{2}}\sum w^2\Bigr)"
        )
        gradient = rf"{sign_tex} \frac{{\lambda}}{{n}} W^l"
    else:
        formula = rf"C = \sum_x C_x {sign_tex} \frac{{\lambda}}{{2}}\sum w^2"
        gradient = rf"{sign_tex} \lambda W^l"
    assert formula in tex and gradient in tex
    assert ("minus the L2 term" if maximize else "plus the L2 term") in tex
    # BP4 for one example carries the same sign as the code's decay term
    bp4 = [line for line in tex.splitlines() if r"\tag{BP4}" in line and r"\lambda {w^" in line]
    assert len(bp4) == 2 and all(
        (r"- \lambda" if maximize else r"+ \lambda") in line for line in bp4
    ), bp4


def test_item14_readme_states_the_code_convention():
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert "C = (1/n)(Σ_x C_x + λ/2 Σ w²) = (1/n) Σ_x C_x + λ/(2n) Σ w²" in text
    assert "∂C/∂W^l = (1/n) Σ_x δ^l_x (a^{l−1}_x)ᵀ + (λ/n) W^l" in text
    assert "C = Σ_x C_x + λ/2 Σ w² and ∂C/∂W^l = Σ_x δ^l_x (a^{l−1}_x)ᵀ + λ W^l" in text
    assert "log L − λ/2 Σ w²" in text


# -------------------------------------------------------------------------------------------
# item 14: softplus' derivative, -expm1(-a) rather than 1 - exp(-a)


def exact_softplus_grad(z: float, t: float) -> float:
    """dE/dw1 = dE/db1 for the 1-1-1 net below (w1 = 1, x = 1, w2 = 1, b2 = 0, E = (t - y)^2 / 2):
    (softplus(z) - t) * sigmoid(z), at 50 digits."""
    mpmath.mp.dps = 50
    zz = mpmath.mpf(z)
    return float((mpmath.log1p(mpmath.exp(zz)) - t) / (1 + mpmath.exp(-zz)))


SOFTPLUS_Z = [-5.0, -20.0, -30.0, -40.0, -100.0, -700.0]


@pytest.mark.parametrize("z", SOFTPLUS_Z)
def test_item14_softplus_derivative_unit_level(z):
    net = build_layered(
        name="sp", inputs=1, layers=[LayerSpec(1, "softplus"), LayerSpec(1, "linear")]
    )
    m = load_generated(generate_module(derive(net), source="sp", optimizers=["all"]), "sp_unit")
    w1, b1, w2, b2 = m.PARAMS  # input weight, hidden bias, output weight, output bias
    params = {w1: np.float64(1.0), b1: np.float64(z - 1.0), w2: np.float64(1.0), b2: np.float64(0)}
    want = exact_softplus_grad(z, -1.0)
    for n in (1, 2):  # the unrolled one-example path and the NumPy path
        x, t = np.ones((n, 1)), np.full((n, 1), -1.0)
        g = m.gradients(params, x, t)
        assert float(g[w1]) == pytest.approx(n * want, rel=1e-14, abs=0)
        assert float(g[b1]) == pytest.approx(n * want, rel=1e-14, abs=0)
    flat = m.gradients_flat([1.0, z - 1.0, 1.0, 0.0], [1.0], [-1.0])
    assert flat[m.PARAMS.index(w1)] == pytest.approx(want, rel=1e-14, abs=0)


# The layer module floors exp's argument at log(tiny) / 2 (-354 in float64, -43.7 in float32) so
# that nothing downstream underflows: below that softplus(z) is exp(floor) by design.
@pytest.mark.parametrize(
    "dtype, z",
    [(np.float64, z) for z in (-5.0, -20.0, -30.0, -40.0, -100.0, -300.0)]
    + [(np.float32, z) for z in (-5.0, -20.0, -30.0, -40.0)],
)
def test_item14_softplus_derivative_layer_level(z, dtype):
    net, m = layer_module((1, 1, 1), ("softplus", "linear"), "half_sse")
    params = {
        "W1": np.ones((1, 1), dtype),
        "b1": np.full(1, z - 1.0, dtype),
        "W2": np.ones((1, 1), dtype),
        "b2": np.zeros(1, dtype),
    }
    zz = float(dtype(z - 1.0)) + 1.0  # the pre-activation as the dtype holds it
    want = exact_softplus_grad(zz, -1.0)
    for n in (1, 3):
        x, t = np.ones((n, 1), dtype), np.full((n, 1), -1.0, dtype)
        g = m.gradients(params, x, t)
        rel = 1e-14 if dtype == np.float64 else 1e-5
        assert float(g["W1"][0, 0]) == pytest.approx(n * want, rel=rel, abs=0)
        assert float(g["b1"][0]) == pytest.approx(n * want, rel=rel, abs=0)

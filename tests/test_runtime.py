"""The runtime helpers the generated modules carry, tested as the Python source they are, and
the renderer's choice of which of them a module gets."""

from __future__ import annotations

import ast
import inspect

import mpmath
import numpy as np
import pytest

from symbackprop.codegen import runtime
from symbackprop.codegen import runtime_layer as rl
from symbackprop.codegen import runtime_optimizers as ro
from symbackprop.codegen import runtime_unit as ru
from symbackprop.rules import registry as rules

Z = np.array([-1000.0, -745.0, -40.0, -3.0, -1e-8, 0.0, 1e-8, 2.5, 40.0, 1000.0])


def _exact_sigmoid(v: float) -> float:
    with mpmath.workdps(40):
        return float(1 / (1 + mpmath.exp(-mpmath.mpf(v))))


@pytest.mark.parametrize("module", [ru, rl, ro], ids=["unit", "layer", "optimizers"])
def test_runtime_modules_import_only_numpy(module):
    tree = ast.parse(inspect.getsource(module))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported == {"numpy"}


def test_every_registry_helper_exists_at_both_levels():
    for rule in rules.ACTIVATIONS.values():
        if rule.helper:
            assert callable(getattr(ru, rule.helper)) and callable(getattr(rl, rule.helper))
        if rule.scalar_helper:
            assert callable(getattr(ru, rule.scalar_helper))


def test_leaky_slope_is_the_registry_slope():
    z = np.array([-2.0, 3.0])
    slope = float(rules.LEAKY_SLOPE)
    assert ru._leaky_relu(z).tolist() == [-2.0 * slope, 3.0]
    assert ru._leaky_relu1(-2.0) == -2.0 * slope
    assert rl._leaky_relu(z).tolist() == [-2.0 * slope, 3.0]


@pytest.mark.parametrize("sigmoid", [ru._sigmoid, rl._sigmoid], ids=["unit", "layer"])
def test_sigmoid_is_accurate_and_quiet(sigmoid):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = sigmoid(Z.copy())
    for v, g in zip(Z, got):
        want = _exact_sigmoid(v)
        if want > 1e-300:
            assert g == pytest.approx(want, rel=4e-16)
        else:
            assert 0 <= g < 1e-300


def test_scalar_sigmoid_matches_the_exact_value():
    for v in (-700.0, -3.0, 0.0, 2.5, 40.0):
        assert ru._sigmoid1(v) == pytest.approx(_exact_sigmoid(v), rel=1e-14)


def test_layer_sigmoid_in_place_keeps_dtype():
    z = np.array([[-3.0, 0.5]], np.float32)
    out = rl._sigmoid(z, out=z)
    assert out is z and z.dtype == np.float32
    assert z[0].tolist() == pytest.approx([_exact_sigmoid(-3.0), _exact_sigmoid(0.5)], rel=1e-6)


@pytest.mark.parametrize("softplus", [ru._softplus, rl._softplus], ids=["unit", "layer"])
def test_softplus_matches_logaddexp(softplus):
    with np.errstate(over="raise", invalid="raise"):
        got = softplus(Z)
    normal = Z > -300  # below, the layer helper floors exp at exp(log(tiny) / 2) (no underflow)
    assert got[normal] == pytest.approx(np.logaddexp(0.0, Z[normal]), rel=1e-15)
    assert np.all((got[~normal] >= 0) & (got[~normal] < 1e-150))


def test_relu_keeps_nan_on_the_scalar_path():
    assert ru._relu1(-2.0) == 0.0 and ru._relu1(3.0) == 3.0
    assert np.isnan(ru._relu1(float("nan")))


def test_softmax_and_log_softmax():
    z = np.array([[1000.0, -1000.0, 0.0], [0.1, 0.2, 0.3]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = rl._softmax(z)
        logp = rl._log_softmax(z)
    assert p.sum(axis=1) == pytest.approx([1.0, 1.0])
    ref = z[1] - np.log(np.sum(np.exp(z[1])))
    assert logp[1] == pytest.approx(ref, rel=1e-15)
    assert logp[0, 0] == 0.0 and logp[0, 1] == pytest.approx(-2000.0)
    assert np.all(rl._exp_floored(logp) > 0)


def test_aligned_empty_and_the_workspace_pool():
    a = rl._aligned_empty((3, 5), np.float32)
    assert a.shape == (3, 5) and a.dtype == np.float32 and a.ctypes.data % 64 == 0
    rl._WORKSPACES.clear()
    rl._give_back_workspace(3, np.dtype(np.float64), ("w",))
    assert rl._WORKSPACES == {(3, np.dtype(np.float64)): ("w",)}
    for n in range(rl._WORKSPACE_LIMIT + 1):
        rl._give_back_workspace(10 + n, np.dtype(np.float64), ())
    assert len(rl._WORKSPACES) <= rl._WORKSPACE_LIMIT
    rl._WORKSPACES.clear()


@pytest.mark.parametrize("module", [ru, rl], ids=["unit", "layer"])
def test_input_helpers(module):
    assert module._floating(np.array([1, 2]), "x").dtype == np.float64
    x = np.array([1.5])
    assert module._floating(x, "x") is x
    with pytest.raises(TypeError, match="x must hold real numbers"):
        module._floating(np.array(["a"]), "x")
    with pytest.raises(TypeError, match="x must be an array-like of real numbers"):
        ru._floating([[1.0], [1.0, 2.0]], "x")  # ragged


@pytest.mark.parametrize(
    "params, message",
    [
        ({"w": np.array([1])}, r"params\['w'\] must be a float array to be updated, got int64"),
        ({"w": 1.5}, r"params\['w'\] must be a float array to be updated, got <class 'float'>"),
        ([1.5], "params must be a dict name -> array"),
    ],
)
def test_update_rules_refuse_what_they_cannot_change_in_place(params, message):
    with pytest.raises(TypeError, match=message):
        ro._updatable(params)


def test_update_rules_refuse_another_rule_s_state():
    ro._state_of({"optimizer": "adam", "step": 0}, "adam")
    for state, got in (({"optimizer": "sgd"}, "sgd"), (np.zeros((1, 2)), "numpy.ndarray")):
        with pytest.raises(TypeError, match=f"adam_init\\(params\\) returns, got .*{got}"):
            ro._state_of(state, "adam")


def test_unit_rows_and_params_accept_array_likes_or_name_the_argument():
    assert ru._rows([[1, 2]], "x", 2).dtype == np.float64
    assert ru._rows(((0.5, True),), "x", 2).tolist() == [[0.5, 1.0]]
    x = np.ones((3, 2), np.float32)
    assert ru._rows(x, "x", 2) is x
    for bad, error, message in (
        ([1.0, 2.0], ValueError, r"x must be an array of shape \(N, 2\), got \(2,\)"),
        ([["a", "b"]], TypeError, "x must hold real numbers"),
        (None, TypeError, "x must hold real numbers"),
    ):
        with pytest.raises(error, match=message):
            ru._rows(bad, "x", 2)
    arrays = ru._arrays({"w": 1, "b": np.float32(0.5), "c": np.array(2.0)}, ("w", "b", "c"))
    assert [a.dtype for a in arrays.values()] == [np.float64, np.float32, np.float64]
    assert ru._floats({"w": 1, "b": np.array(0.5, np.float32)}, ("w", "b")) == [1.0, 0.5]
    with pytest.raises(ValueError, match=r"params is missing \['b'\]"):
        ru._floats({"w": 1.0}, ("w", "b"))
    with pytest.raises(TypeError, match="params must be a dict"):
        ru._arrays([1.0], ("w",))
    with pytest.raises(ValueError, match=r"params\['w'\] must be one number"):
        ru._arrays({"w": [1.0, 2.0]}, ("w",))


def test_initial_params_are_the_spec_s_or_a_seeded_draw():
    names, initial = ("w", "b"), {"w": 0.25, "b": -1.0}
    spec = ru._initial_params(names, initial, np.float32, None)
    assert {k: float(v) for k, v in spec.items()} == initial
    assert all(v.dtype == np.float32 and v.shape == () for v in spec.values())
    one, again, two = (ru._initial_params(names, initial, np.float64, s) for s in (1, 1, 2))
    assert one == again and one != two and one != spec
    assert all(-0.5 <= float(v) < 0.5 for v in [*one.values(), *two.values()])
    assert ru._initial_params(names, {}, np.float64, None) == ru._initial_params(
        names, {}, np.float64, 0
    )


def test_float_params_copies_only_when_needed():
    params = {"W1": np.ones((2, 2))}
    assert rl._float_params(params) is params
    assert rl._float_params({"W1": np.ones((2, 2), int)})["W1"].dtype == np.float64


def test_helpers_for_takes_what_is_used_and_what_that_uses():
    text = runtime.helpers_for("a1 = _softplus(z1)", "layer")
    tree = ast.parse(text)
    defined = [n.name if isinstance(n, ast.FunctionDef) else n.targets[0].id for n in tree.body]
    assert defined == ["_EXP_FLOORS", "_exp_floor", "_softplus"]
    assert text.startswith("# A logit floor")  # the comment above a definition comes along
    assert runtime.helpers_for("a1 = np.tanh(z1)", "layer") == ""
    assert "def _sigmoid1" in runtime.helpers_for("_sigmoid1(z)", "unit")
    assert "_E = " in runtime.helpers_for("_sigmoid1(z)", "unit")

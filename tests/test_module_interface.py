"""The generated module a practitioner keeps: its interface at both levels.

Array-likes in (or one TypeError naming the argument), float64 for integers, ``init_params(seed)``
reproducible, one optimizer interface ``<name>_step(params, state, x, t, …)`` for every rule with
only the spec's rules emitted unless asked, comments that name equations. Gradients are held to
central finite differences of ``loss`` and a training step to Adam written out here from those
differences, not to recorded outputs.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest

from symbackprop.cli.commands import main
from symbackprop.codegen.loader import load_generated
from symbackprop.codegen.unit import generate_module
from symbackprop.derivation.unit import derive
from symbackprop.derived import derived
from symbackprop.rules.optimizers import OPTIMIZERS
from symbackprop.spec.load import load_spec, load_spec_text

LAYER_SPEC = """
name = "tiny"
[network]
inputs = 2
layers = [{ units = 3, activation = "tanh" }, { units = 2, activation = "sigmoid" }]
[training]
learning_rate = 0.2
optimizer = { name = "rmsprop", alpha = 0.5 }
"""


@pytest.fixture(scope="module")
def mazur_text():
    return generate_module(derive(load_spec("mazur")), source="mazur")


@pytest.fixture(scope="module")
def mazur(mazur_text):
    return load_generated(mazur_text)


@pytest.fixture(scope="module")
def unit_all():
    text = generate_module(derive(load_spec("mazur")), source="mazur", optimizers=["all"])
    return load_generated(text)


@pytest.fixture(scope="module")
def layer_all():
    net = load_spec_text(LAYER_SPEC, source="tiny", name="tiny", level="layer")
    return load_generated(derived(net).module(source="tiny", optimizers=["all"]))


def _fd_gradients(module, params, x, t, h=1e-6):
    """Central differences of ``module.loss``, one entry at a time (float64)."""
    out = {}
    for name, p in params.items():
        g = np.zeros(np.shape(p))
        for index in np.ndindex(g.shape):
            values = []
            for sign in (1, -1):
                trial = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
                trial[name][index] += sign * h
                values.append(float(module.loss(trial, x, t)))
            g[index] = (values[0] - values[1]) / (2 * h)
        out[name] = g
    return out


# ------------------------------------------------------------------------------------------
# array-likes and dtypes


@pytest.mark.parametrize("n", [1, 3])  # 1: the plain-float path, 3: the NumPy path
def test_unit_functions_accept_lists_tuples_and_integers(mazur, n):
    rng = np.random.default_rng(n)
    x = rng.integers(-2, 3, (n, 2))
    t = rng.integers(0, 2, (n, 2))
    params = mazur.init_params(seed=4)
    want_g = mazur.gradients(params, x.astype(float), t.astype(float))
    for xs, ts in ((x.tolist(), t.tolist()), (tuple(map(tuple, x)), tuple(map(tuple, t))), (x, t)):
        got = mazur.gradients(params, xs, ts, check_inputs=True)
        assert {k: float(v) for k, v in got.items()} == {k: float(v) for k, v in want_g.items()}
        assert all(np.asarray(v).dtype == np.float64 for v in got.values())
        assert mazur.loss(params, xs, ts) == mazur.loss(params, x.astype(float), t.astype(float))
        out = mazur.forward(params, xs)
        assert out.dtype == np.float64 and out.shape == (n, 2)
    fd = _fd_gradients(mazur, params, x.tolist(), t.tolist())
    for name, g in fd.items():
        assert float(want_g[name]) == pytest.approx(float(g), rel=1e-6, abs=1e-9), name
    plain = {k: float(v) for k, v in params.items()}  # Python floats as parameters
    assert mazur.loss(plain, x.tolist(), t.tolist()) == mazur.loss(params, x, t)


def test_unit_steps_accept_array_likes(mazur):
    a, b = mazur.init_params(), mazur.init_params()
    sa, sb = mazur.sgd_init(a), mazur.sgd_init(b)
    va = mazur.sgd_step(a, sa, [[0.05, 0.1]], [(0.01, 0.99)], check_inputs=True)
    vb = mazur.sgd_step(b, sb, np.array([[0.05, 0.1]]), np.array([[0.01, 0.99]]))
    assert va == vb and all(float(a[k]) == float(b[k]) for k in a)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m, p: m.gradients(p, "ab", [[0.0, 1.0]]), TypeError, "x must hold real numbers"),
        (lambda m, p: m.loss(p, [[0.1, 0.2]], None), TypeError, "t must hold real numbers"),
        (
            lambda m, p: m.loss(p, np.zeros((1, 2), object), [[0, 1]], check_inputs=True),
            TypeError,
            "x must hold real numbers, got object",
        ),
        (lambda m, p: m.forward(p, [[1.0], [1.0, 2.0]]), TypeError, "x must be an array-like"),
        (lambda m, p: m.gradients([1.0], [[0.1, 0.2]], [[0, 1]]), TypeError, "params must be"),
        (
            lambda m, p: m.forward(p, [0.1, 0.2]),
            ValueError,
            r"x must be an array of shape \(N, 2\)",
        ),
        (lambda m, p: m.loss(p, [[0.1, 0.2]] * 2, [[0, 1]] * 3), ValueError, "same batch size"),
        (lambda m, p: m.sgd_step(p, [[0.1, 0.2]], [[0, 1]], 0.1), TypeError, "state must be"),
        (
            lambda m, p: m.sgd_step({k: float(v) for k, v in p.items()}, {}, [[0, 1]], [[0, 1]]),
            TypeError,
            r"params\['w1'\] must be a float array",
        ),
    ],
)
def test_unit_refusals_name_the_argument(mazur, call, error, message):
    with pytest.raises(error, match=message) as caught:
        call(mazur, mazur.init_params())
    assert "\n" not in str(caught.value)


def test_layer_steps_accept_array_likes(layer_all):
    params = layer_all.init_params(seed=2)
    copy = {k: v.copy() for k, v in params.items()}
    x, t = [[1, 0], [0, 1], [1, 1]], [[0, 1], [1, 0], [1, 1]]
    s1, s2 = layer_all.adam_init(params), layer_all.adam_init(copy)
    v1 = layer_all.adam_step(params, s1, x, t, check_inputs=True)
    v2 = layer_all.adam_step(copy, s2, np.array(x, float), np.array(t, float))
    assert v1 == v2
    for k in params:
        np.testing.assert_array_equal(params[k], copy[k])
    with pytest.raises(TypeError, match="x must hold real numbers"):
        layer_all.sgd_step(params, layer_all.sgd_init(params), [["a", "b"]], t)


# ------------------------------------------------------------------------------------------
# init_params


def test_init_params_seed_is_meaningful_at_both_levels(mazur, layer_all):
    spec = mazur.init_params()
    assert float(spec["w5"]) == 0.4  # the spec's worked example (Mazur's w5)
    for module in (mazur, layer_all):
        one, again, two = (module.init_params(seed=s) for s in (1, 1, 2))
        assert all(np.array_equal(one[k], again[k]) for k in one)
        assert any(not np.array_equal(one[k], two[k]) for k in one)
        f32 = module.init_params(np.float32, seed=1)
        assert all(v.dtype == np.float32 for v in f32.values())
    assert any(float(mazur.init_params(seed=1)[k]) != float(spec[k]) for k in spec)


# ------------------------------------------------------------------------------------------
# one optimizer interface, the spec's rules only


@pytest.mark.parametrize("level", ["unit", "layer"])
def test_every_rule_has_the_same_three_functions(unit_all, layer_all, level):
    module = unit_all if level == "unit" else layer_all
    for name, rule in OPTIMIZERS.items():
        settings = [k for k, _ in rule.settings]
        init = inspect.signature(getattr(module, f"{name}_init"))
        update = inspect.signature(getattr(module, f"{name}_update"))
        step = inspect.signature(getattr(module, f"{name}_step"))
        assert list(init.parameters) == ["params"]
        assert list(update.parameters) == ["params", "grads", "state", "lr", *settings]
        assert list(step.parameters) == [
            "params",
            "state",
            "x",
            "t",
            "lr",
            *settings,
            "check_inputs",
        ]
        assert step.parameters["lr"].default == module.LEARNING_RATE
    assert list(inspect.signature(module.optimizer_step).parameters)[:4] == [
        "params",
        "state",
        "x",
        "t",
    ]


def test_spec_settings_are_the_defaults_of_the_spec_s_rule(layer_all):
    step = inspect.signature(layer_all.rmsprop_step)
    assert step.parameters["alpha"].default == 0.5  # the spec's, not PyTorch's 0.99
    assert inspect.signature(layer_all.adam_step).parameters["beta1"].default == 0.9
    assert layer_all.OPTIMIZER == "rmsprop"


def _defined(text: str) -> set[str]:
    return set(re.findall(r"^def (\w+)\(", text, re.M))


@pytest.mark.parametrize(
    "name, level, rules",
    [
        ("mazur", "unit", {"sgd"}),
        ("essa", "unit", {"momentum", "adagrad"}),
        ("digits", "layer", {"adam"}),
    ],
)
def test_only_the_spec_s_rules_are_emitted(tmp_path, name, level, rules):
    out = tmp_path / f"{name}.py"
    assert main(["codegen", name, "-o", str(out)]) == 0
    defined = _defined(out.read_text())
    emitted = {r for r in OPTIMIZERS if f"{r}_step" in defined}
    assert emitted == rules
    assert {"optimizer_init", "optimizer_step", "init_params"} <= defined
    assert main(["codegen", name, "-o", str(out), "--force", "--optimizers", "sgd,adam"]) == 0
    emitted = {r for r in OPTIMIZERS if f"{r}_step" in _defined(out.read_text())}
    assert emitted == rules | {"sgd", "adam"}


def test_unknown_optimizer_option_is_one_line_exit_2(tmp_path, capsys):
    assert main(["codegen", "mazur", "-o", str(tmp_path / "m.py"), "--optimizers", "adamw"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown optimizer 'adamw'" in err and "\n" not in err and "known: all, sgd" in err


def test_codegen_help_lists_every_rule(capsys):
    try:
        main(["codegen", "--help"])
    except SystemExit:  # argparse's way out of --help
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "--optimizers" in text and all(name in text for name in OPTIMIZERS)


def test_adam_step_equals_adam_written_out_from_finite_differences(unit_all):
    """Two Adam steps from ``adam_step`` against the rule written here on FD gradients."""
    params = unit_all.init_params(seed=3)
    ref = {k: float(v) for k, v in params.items()}
    x, t = [[0.3, -0.7], [1.0, 0.2]], [[0.1, 0.9], [0.8, 0.3]]
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-8
    m = {k: 0.0 for k in ref}
    v = {k: 0.0 for k in ref}
    state = unit_all.adam_init(params)
    for step in (1, 2):
        fd = _fd_gradients(unit_all, {k: np.asarray(r) for k, r in ref.items()}, x, t)
        value = unit_all.adam_step(params, state, x, t, lr, beta1=b1, beta2=b2, eps=eps)
        assert value == pytest.approx(
            unit_all.loss({k: np.asarray(r) for k, r in ref.items()}, x, t)
        )
        for k in ref:
            g = float(fd[k])
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g * g
            m_hat, v_hat = m[k] / (1 - b1**step), v[k] / (1 - b2**step)
            ref[k] -= lr * m_hat / (math.sqrt(v_hat) + eps)
    for k in ref:
        assert float(params[k]) == pytest.approx(ref[k], rel=1e-7, abs=1e-10), k


# ------------------------------------------------------------------------------------------
# the text


def test_module_docstring_documents_the_interface(mazur):
    doc = " ".join(mazur.__doc__.split())
    for needle in ("init_params()", "sgd_init(params)", "sgd_step(params, state, x, t)"):
        assert needle in doc
    assert "<name>_step(params, state, x, t, lr, ...)" in doc


def test_each_equation_is_emitted_once_per_path(mazur_text):
    """Labels F1…, D1…, G1… appear once on the NumPy path and once in ``gradients_flat``."""
    labels = re.findall(r"# ([FDG]\d+):", mazur_text)
    counts = {label: labels.count(label) for label in labels}
    assert set(counts.values()) == {2}, counts
    assert len(mazur_text.splitlines()) < 450


def _normalised(text: str) -> str:
    return re.sub(r"[\s()]", "", text)


@pytest.mark.parametrize("source", ["mazur", "essa"])
def test_comments_name_equations_and_never_restate_the_code(source):
    text = generate_module(derive(load_spec(source)), source=source, optimizers=["all"])
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        comment = line.strip()
        if not comment.startswith("#"):
            continue
        statement = lines[i + 1].strip()
        body = comment.lstrip("# ").split(": ", 1)[-1]
        assert _normalised(body) != _normalised(statement), (comment, statement)
        if "=" in statement and "=" in body:
            assert _normalised(body.split("=", 1)[1]) != _normalised(statement.split("=", 1)[1])
    assert "# Adam: m(t) = g(t)*(1 - beta1) + m(t-1)*beta1" in text
    assert "# Adam: m_hat(t) = m(t)/(1 - beta1**t)" in text
    assert "# gradient descent with momentum: v(t) = g(t) + v(t-1)*momentum" in text

"""The layer handout's worked example: its numbers against oracles, and the compiled pages.

Oracles: a forward/backward pass written here in NumPy from the textbook formulas (the softmax
Jacobian as a matrix, the losses by their definitions, no use of the derivation's rules), each
optimizer's first step in closed form, central differences of the oracle's loss, and the
generated module's ``init_params(seed=0)`` for the starting point.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from clirun import one_line_error, run

from symbackprop.codegen.layer import generate_layer_module
from symbackprop.codegen.loader import load_generated
from symbackprop.derivation.layer import derive_layers
from symbackprop.derivation.layer_values import initial_params, worked_example
from symbackprop.handout.layer import _data
from symbackprop.printers.layer_latex import matrix_latex, number, vector_latex
from symbackprop.spec.load import load_spec, load_spec_text

SMALL = """
name = "small"
level = "layer"
notation = "nielsen"
[network]
inputs = 3
layers = [ {{ units = 4, activation = "{hidden}" }}, {{ units = 2, activation = "{out}" }} ]
loss = "{loss}"
reduction = "{reduction}"
weight_decay = {decay}
[training]
learning_rate = 0.5
optimizer = {{ name = "{opt}" }}
[data]
x = [[0.5, -1.0, 2.0], [0.1, 0.2, 0.3]]
t = [[{t0}, {t1}], [0.0, 1.0]]
"""

CASES = {
    "softmax-ce-sgd": dict(hidden="sigmoid", out="softmax", loss="cross_entropy", opt="sgd"),
    "tanh-sse-momentum": dict(hidden="tanh", out="sigmoid", loss="half_sse", opt="momentum"),
    "relu-bce-adam": dict(hidden="relu", out="sigmoid", loss="bce", opt="adam", decay=0.1),
    "softmax-sse-rmsprop": dict(hidden="tanh", out="softmax", loss="half_sse", opt="rmsprop"),
    "loglik-adagrad": dict(
        hidden="sigmoid", out="sigmoid", loss="bernoulli_loglik", opt="adagrad", decay=0.05
    ),
    "linear-nesterov": dict(
        hidden="sigmoid", out="linear", loss="half_sse", opt="nesterov", t0=2.5, t1=-1.0
    ),
}


def small_spec(**kw) -> str:
    values = dict(reduction="mean", decay=0.0, t0=1.0, t1=0.0) | kw
    return SMALL.format(**values)


def small_net(**kw):
    return load_spec_text(small_spec(**kw), source="small.toml", name="small")


ACT = {
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
}


def oracle_forward(net, params, x):
    a, zs, acts = np.asarray(x, float), [], [np.asarray(x, float)]
    for l in range(1, net.depth + 1):
        z = params[f"W{l}"] @ a + params[f"b{l}"]
        f = net.activations[l - 1]
        a = np.exp(z) / np.exp(z).sum() if f == "softmax" else ACT[f][0](z)
        zs.append(z)
        acts.append(a)
    return zs, acts


def oracle_loss(net, params, x, y):
    """C of one example by the losses' definitions (a log-likelihood is log L itself)."""
    a = oracle_forward(net, params, x)[1][-1]
    y = np.asarray(y, float)
    per = {
        "half_sse": lambda: 0.5 * np.sum((y - a) ** 2),
        "cross_entropy": lambda: -np.sum(y * np.log(a)),
        "bce": lambda: -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)),
        "bernoulli_loglik": lambda: np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)),
    }[net.loss]()
    squares = sum(np.sum(params[f"W{l}"] ** 2) for l in range(1, net.depth + 1))
    sign = -1 if net.loss.endswith("loglik") else 1
    return per + sign * net.weight_decay / 2 * squares


def oracle_backward(net, params, x, y):
    """δ^l and the gradients by the matrix forms, the softmax through its full Jacobian and
    ∂C/∂a^L from the loss's definition."""
    zs, acts = oracle_forward(net, params, x)
    a, y = acts[-1], np.asarray(y, float)
    dC_da = {
        "half_sse": a - y,
        "cross_entropy": -y / a,
        "bce": -(y / a - (1 - y) / (1 - a)),
        "bernoulli_loglik": y / a - (1 - y) / (1 - a),
    }[net.loss]
    if net.activations[-1] == "softmax":
        jac = np.diag(a) - np.outer(a, a)
        delta = jac.T @ dC_da
    else:
        delta = dC_da * ACT[net.activations[-1]][1](zs[-1])
    deltas = {net.depth: delta}
    for l in range(net.depth - 1, 0, -1):
        deltas[l] = (params[f"W{l + 1}"].T @ deltas[l + 1]) * ACT[net.activations[l - 1]][1](
            zs[l - 1]
        )
    sign = -1 if net.loss.endswith("loglik") else 1
    grads = {}
    for l in range(1, net.depth + 1):
        grads[f"b{l}"] = deltas[l]
        grads[f"W{l}"] = (
            np.outer(deltas[l], acts[l - 1]) + sign * net.weight_decay * params[f"W{l}"]
        )
    return zs, acts, deltas, grads


def oracle_step(net, theta, grad):
    """The first step of each optimizer from a zero state, in closed form (g minimised)."""
    g = -grad if net.loss.endswith("loglik") else grad
    s, lr = dict(net.optimizer.settings), net.learning_rate
    name = net.optimizer.name
    if name in ("sgd", "momentum"):
        return theta - lr * g
    if name == "nesterov":
        return theta - lr * (1 + s["momentum"]) * g
    if name == "adagrad":
        return theta - lr * g / (np.abs(g) + s["eps"])
    if name == "rmsprop":
        return theta - lr * g / (np.sqrt(1 - s["alpha"]) * np.abs(g) + s["eps"])
    if name == "adam":
        return theta - lr * g / (np.abs(g) + s["eps"])
    raise AssertionError(name)


def close(a, b, rtol=1e-9):
    np.testing.assert_allclose(
        np.array(a, dtype=float), np.asarray(b, float), rtol=rtol, atol=1e-12
    )


def check_against_oracle(net, x, t, params=None):
    d = derive_layers(net)
    params = initial_params(net.sizes) if params is None else params
    ex = worked_example(d, params, x, t)
    zs, acts, deltas, grads = oracle_backward(net, params, x, t)
    for lay in ex.layers:
        l = lay.layer
        close(lay.z, zs[l - 1])
        close(lay.a, acts[l])
        close(lay.delta, deltas[l])
        close(lay.grad_b, grads[f"b{l}"])
        close(lay.grad_W, grads[f"W{l}"])
        close(lay.new_W, oracle_step(net, params[f"W{l}"], grads[f"W{l}"]))
        close(lay.new_b, oracle_step(net, params[f"b{l}"], grads[f"b{l}"]))
    close([ex.cost], [oracle_loss(net, params, x, t)])
    new = {
        f"{k}{lay.layer}": np.array(getattr(lay, f"new_{k}"), float)
        for lay in ex.layers
        for k in "Wb"
    }
    close([ex.cost_after], [oracle_loss(net, new, x, t)])
    return ex, params, grads


@pytest.mark.parametrize("case", sorted(CASES))
def test_worked_numbers_match_a_numpy_oracle(case):
    net = small_net(**CASES[case])
    check_against_oracle(net, net.data_x[0], net.data_t[0])


@pytest.mark.parametrize("name", ["nielsen", "digits"])
def test_worked_numbers_of_the_examples_match_the_oracle(name):
    net = load_spec(name)
    x, t, synthetic = _data(net)
    assert synthetic  # neither spec has [data]: the first synthetic row is the example
    check_against_oracle(net, x[0], t[0])


@pytest.mark.parametrize("case", ["softmax-ce-sgd", "relu-bce-adam", "loglik-adagrad"])
def test_worked_gradient_matches_finite_differences(case):
    net = small_net(**CASES[case])
    x, t = net.data_x[0], net.data_t[0]
    ex, params, _ = check_against_oracle(net, x, t)
    h = 1e-6
    for lay in ex.layers:
        for kind, exact in (("W", lay.grad_W), ("b", lay.grad_b)):
            name = f"{kind}{lay.layer}"
            exact = np.array(exact, float)
            fd = np.zeros_like(exact)
            for ix in np.ndindex(exact.shape):
                up = {k: v.copy() for k, v in params.items()}
                down = {k: v.copy() for k, v in params.items()}
                up[name][ix] += h
                down[name][ix] -= h
                fd[ix] = (oracle_loss(net, up, x, t) - oracle_loss(net, down, x, t)) / (2 * h)
            np.testing.assert_allclose(exact, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["nielsen", "digits"])
def test_the_example_starts_where_the_generated_module_does(name):
    net = load_spec(name)
    module = load_generated(generate_layer_module(derive_layers(net), source=name))
    generated = module.init_params(seed=0)
    ours = initial_params(net.sizes)
    assert set(generated) == set(ours)
    for key, value in ours.items():
        np.testing.assert_array_equal(generated[key], value)


def test_printed_arrays_are_cut_and_say_which_entries_they_show():
    tex, span = matrix_latex(np.arange(30 * 784, dtype=float).reshape(30, 784) / 1e4)
    assert r"\cdots" in tex and r"\vdots" in tex and r"\ddots" in tex
    assert span == "rows 1--5 and 30 of 30, columns 1--4 and 784 of 784"
    assert tex.count("&") == 7 * 5  # 7 printed rows of 6 cells
    tex, span = vector_latex([0.5, -0.25, 0.125])
    assert span == "" and tex == r"\begin{pmatrix} 0.5 \\ -0.25 \\ 0.125 \end{pmatrix}"
    tex, _ = vector_latex([1.2346e-5, -3e-6])
    assert tex.startswith("10^{-5}") and "1.235" in tex and "-0.3" in tex
    assert number(1.5e-6) == r"1.5 \times 10^{-6}" and number(0.123456) == "0.1235"


def _compile(pdflatex: str, tex_path) -> str:
    for _ in range(2):
        subprocess.run(
            [pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex_path.name],
            cwd=tex_path.parent,
            capture_output=True,
            timeout=240,
            check=True,
        )
    return tex_path.with_suffix(".log").read_text(encoding="latin-1")


def _overfull(log: str) -> list[str]:
    found = re.findall(r"Overfull \\hbox \(([0-9.]+)pt too wide\)", log)
    return [width for width in found if float(width) > 1.0]


@pytest.mark.parametrize("spec", ["nielsen", "digits", "small"])
def test_worked_handouts_compile_without_overfull_lines(
    spec, tmp_path, capsys, monkeypatch, require_pdflatex
):
    monkeypatch.chdir(tmp_path)  # the spec's path is in the title block: keep it short
    if spec == "small":
        (tmp_path / "small.toml").write_text(small_spec(**CASES["softmax-ce-sgd"]), "utf-8")
        spec_arg, net = "small.toml", small_net(**CASES["softmax-ce-sgd"])
        x, t = net.data_x, net.data_t
    else:
        spec_arg, net = spec, load_spec(spec)
        x, t, _ = _data(net)
    out = tmp_path / "h.tex"
    code, _, err = run(capsys, "handout", spec_arg, "-o", str(out), "--no-pdf")
    assert code == 0, err
    assert "warning" not in err
    text = out.read_text(encoding="utf-8")
    assert r"\section*{A worked example}" in text
    params = initial_params(net.sizes)
    zs, acts, deltas, grads = oracle_backward(net, params, x[0], t[0])
    L = net.depth
    for expected in (
        vector_latex(acts[0])[0],
        vector_latex(acts[L])[0],
        vector_latex(deltas[L])[0],
        vector_latex(deltas[1])[0],
        matrix_latex(grads["W1"])[0],
        matrix_latex(grads[f"W{L}"])[0],
        matrix_latex(oracle_step(net, params["W1"], grads["W1"]))[0],
        f"C = {number(oracle_loss(net, params, x[0], t[0]))}",
    ):
        assert expected in text
    if net.sizes[0] > 8:
        assert f"columns 1--4 and {net.sizes[0]} of {net.sizes[0]}" in text
    log = _compile(require_pdflatex, out)
    assert _overfull(log) == []
    if shutil.which("pdftotext"):
        pdf_text = subprocess.run(
            ["pdftotext", str(out.with_suffix(".pdf")), "-"], capture_output=True, check=True
        ).stdout.decode()
        assert "A worked example" in pdf_text
        assert number(oracle_loss(net, params, x[0], t[0])) in pdf_text


def test_without_the_section_the_command_warns_and_the_handout_says_why(tmp_path, capsys):
    # nielsen's training run fits 320 MB; its 30-digit example (about 36 MB more) does not.
    out = tmp_path / "n.tex"
    code, _, err = run(
        capsys, "--max-memory", "320M", "handout", "nielsen", "-o", str(out), "--no-pdf"
    )
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symbackprop: warning: no worked example: ")
    assert "memory" in lines[0]
    text = out.read_text(encoding="utf-8")
    assert "This handout has no worked example: the worked example needs about" in text
    assert r"\subsection*{Forward pass}" not in text


def test_a_target_off_the_softmax_assumption_is_warned_about(tmp_path, capsys):
    path = tmp_path / "off.toml"
    path.write_text(small_spec(**CASES["softmax-ce-sgd"] | dict(t0=0.3, t1=0.3)), encoding="utf-8")
    out = tmp_path / "off.tex"
    code, _, err = run(capsys, "handout", str(path), "-o", str(out), "--no-pdf")
    assert code == 0, err
    assert "target does not sum to 1" in err and len(err.strip().splitlines()) == 1
    assert r"\textbf{Note:} this target does not sum to 1" in out.read_text(encoding="utf-8")


def values_table(sizes, rng) -> tuple[str, dict]:
    """A [values] table naming every w^l_jk and b^l_j, and the arrays it gives."""
    lines, params = ["[values]"], {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = np.round(rng.uniform(-1, 1, (sizes[l], sizes[l - 1])), 3)
        params[f"b{l}"] = np.round(rng.uniform(-1, 1, sizes[l]), 3)
        for (j, k), v in np.ndenumerate(params[f"W{l}"]):
            lines.append(f"w{l}_{j + 1}_{k + 1} = {float(v)!r}")
        for (j,), v in np.ndenumerate(params[f"b{l}"]):
            lines.append(f"b{l}_{j + 1} = {float(v)!r}")
    return "\n".join(lines) + "\n", params


def test_values_give_the_parameters_of_the_worked_example(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table, given = values_table((3, 4, 2), np.random.default_rng(7))
    text = small_spec(**CASES["tanh-sse-momentum"]) + table
    net = load_spec_text(text, source="v.toml", name="v")
    d = derive_layers(net)
    from symbackprop.derivation.layer_values import example_params

    params = example_params(net)
    for key, value in given.items():
        np.testing.assert_array_equal(params[key], value)
    x, t = net.data_x[0], net.data_t[0]
    ex = worked_example(d, params, x, t)
    zs, acts, deltas, grads = oracle_backward(net, given, x, t)
    close(ex.layers[0].z, zs[0])
    close(ex.layers[1].grad_W, grads["W2"])
    (tmp_path / "v.toml").write_text(text, "utf-8")
    code, _, err = run(capsys, "handout", "v.toml", "-o", "v.tex", "--no-pdf")
    assert code == 0, err
    tex = (tmp_path / "v.tex").read_text("utf-8")
    assert r"The parameters are the spec's \texttt{[values]}" in tex
    assert matrix_latex(given["W1"])[0] in tex
    assert vector_latex(deltas[1])[0] in tex


def test_some_values_replace_those_entries_of_the_seeded_init(tmp_path):
    text = small_spec(**CASES["softmax-ce-sgd"]) + "[values]\nw2_1_3 = 0.75\nb1_4 = -0.5\n"
    net = load_spec_text(text, source="v.toml", name="v")
    from symbackprop.derivation.layer_values import example_params

    params, init = example_params(net), initial_params(net.sizes)
    assert params["W2"][0, 2] == 0.75 and params["b1"][3] == -0.5
    params["W2"][0, 2], params["b1"][3] = init["W2"][0, 2], init["b1"][3]
    for key in init:
        np.testing.assert_array_equal(params[key], init[key])
    check_against_oracle(net, net.data_x[0], net.data_t[0], example_params(net))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("w3_1_1 = 0.5", "'w3_1_1' is outside the network (sizes 3-4-2)"),
        ("w1_5_1 = 0.5", "'w1_5_1' is outside the network"),
        ("b2_3 = 0.5", "'b2_3' is outside the network"),
    ],
)
def test_bad_values_names_are_one_line_errors(extra, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text(
        small_spec(**CASES["softmax-ce-sgd"]) + f"[values]\n{extra}\n", "utf-8"
    )
    code, _, err = run(capsys, "handout", "bad.toml", "--no-pdf")
    assert code == 2
    line = one_line_error(err)
    assert message in line and "[values]" in line


def test_unit_level_values_names_are_not_used_and_say_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "u.toml").write_text(
        small_spec(**CASES["softmax-ce-sgd"]) + "[values]\nx_1 = 0.5\nw1_1_1 = 0.25\n", "utf-8"
    )
    code, _, err = run(capsys, "handout", "u.toml", "-o", "u.tex", "--no-pdf")
    assert code == 0
    assert err.strip() == (
        "symbackprop: warning: [values] x_1: not layer-level parameter names "
        "(w<l>_<j>_<k>, b<l>_<j>), not used"
    )
    assert "1 of the 26 parameters are the spec's" in (tmp_path / "u.tex").read_text("utf-8")

"""The layer level end to end: Nielsen's loop, stability, dtypes, specs, CLI and handout."""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import numpy as np
import pytest

from symbackprop.cli.commands import main
from symbackprop.codegen.layer import generate_layer_module
from symbackprop.codegen.loader import load_generated
from symbackprop.derivation.layer import LayerNet, derive_layers
from symbackprop.spec.layer import resolve_level
from symbackprop.spec.load import load_spec


def _module(net):
    return load_generated(generate_layer_module(derive_layers(net), source=net.name))


def _nielsen_backprop(weights, biases, x, y):
    """Nielsen's network.py backprop, one example at a time, columns, then averaged."""

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    for xi, yi in zip(x, y):
        activation = xi.reshape(-1, 1)
        activations, zs = [activation], []
        for b, w in zip(biases, weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - yi.reshape(-1, 1)) * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
        nb, nw = [None] * len(biases), [None] * len(weights)
        nb[-1], nw[-1] = delta, np.dot(delta, activations[-2].T)
        for l in range(2, len(weights) + 1):
            sp = sigmoid(zs[-l]) * (1 - sigmoid(zs[-l]))
            delta = np.dot(weights[-l + 1].T, delta) * sp
            nb[-l], nw[-l] = delta, np.dot(delta, activations[-l - 1].T)
        nabla_b = [a + b for a, b in zip(nabla_b, nb)]
        nabla_w = [a + b for a, b in zip(nabla_w, nw)]
    n = len(x)
    return [w / n for w in nabla_w], [b.ravel() / n for b in nabla_b]


def test_nielsen_gradients_equal_nielsens_backprop_loop():
    net = load_spec("nielsen")
    module = _module(net)
    rng = np.random.default_rng(1)
    params = {k: rng.standard_normal(v.shape) for k, v in module.init_params().items()}
    x, y = rng.uniform(0, 1, (10, 784)), np.eye(10)[rng.integers(0, 10, 10)]
    grads = module.gradients(params, x, y)
    dw, db = _nielsen_backprop(
        [params["W1"], params["W2"]],
        [params["b1"].reshape(-1, 1), params["b2"].reshape(-1, 1)],
        x,
        y,
    )
    for l in (1, 2):
        np.testing.assert_allclose(grads[f"W{l}"], dw[l - 1], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(grads[f"b{l}"], db[l - 1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "out, loss",
    [("softmax", "cross_entropy"), ("sigmoid", "bce"), ("softmax", "multinomial_loglik")],
)
@pytest.mark.parametrize("dtype, big", [(np.float64, 1000.0), (np.float32, 80.0)])
def test_fused_losses_are_stable_at_extreme_logits(out, loss, dtype, big):
    module = _module(LayerNet("s", (2, 3), (out,), loss, reduction="mean"))
    params = {
        "W1": np.array([[big, 0], [-big, 0], [0, big]], dtype=dtype),
        "b1": np.zeros(3, dtype=dtype),
    }
    x = np.array([[1, 0], [-1, 0], [0, 1]], dtype=dtype)
    t = np.eye(3, dtype=dtype)[[1, 0, 2]]
    with np.errstate(all="raise"):
        value = module.loss(params, x, t)
        grads = module.gradients(params, x, t)
    assert np.isfinite(value) and value.dtype == dtype
    assert all(np.all(np.isfinite(g)) and g.dtype == dtype for g in grads.values())
    if loss == "cross_entropy":  # two examples put their target 2*big below the top logit
        assert value == pytest.approx((2 * big + 2 * big + 0) / 3, rel=1e-6)


def test_float32_in_float32_out_and_close_to_float64():
    module = _module(LayerNet("f", (4, 5, 3), ("tanh", "softmax"), "cross_entropy"))
    p64 = module.init_params(np.float64, seed=3)
    p32 = module.init_params(np.float32, seed=3)
    rng = np.random.default_rng(0)
    x, t = rng.uniform(-1, 1, (6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    g64 = module.gradients(p64, x, t)
    g32 = module.gradients(p32, x.astype(np.float32), t.astype(np.float32))
    for name in g64:
        assert g32[name].dtype == np.float32
        np.testing.assert_allclose(g32[name], g64[name], atol=2e-3)


@pytest.mark.parametrize(
    "doc, level",
    [
        ({"network": {"inputs": 2, "layers": [{"units": 2}, {"units": 2}]}}, "unit"),
        ({"network": {"inputs": 20, "layers": [{"units": 2}]}}, "layer"),
        ({"network": {"inputs": 2, "layers": [{"units": 2, "activation": "softmax"}]}}, "unit"),
        ({"network": {"inputs": 2, "weight_decay": 0.1, "layers": [{"units": 2}]}}, "layer"),
        ({"level": "layer", "network": {"inputs": 2, "layers": [{"units": 1}]}}, "layer"),
        ({"level": "unit", "network": {"inputs": 20, "layers": [{"units": 2}]}}, "unit"),
    ],
)
def test_auto_level(doc, level):
    assert resolve_level(doc) == level


def test_builtin_examples_are_layer_level():
    digits = load_spec("digits")
    assert digits.sizes == (64, 32, 10) and digits.activations == ("tanh", "softmax")
    assert digits.optimizer.name == "adam"
    assert load_spec("nielsen").sizes == (784, 30, 10)


def test_module_interface_and_comments(tmp_path):
    assert main(["codegen", "digits", "-o", str(tmp_path / "d.py")]) == 0
    text = (tmp_path / "d.py").read_text()
    for needle in (
        "# BP1",
        "# BP2",
        "# BP3",
        "# BP4",
        "# Adam: m(t) = ",
        "def adam_step",
        "def init_params",
        "def optimizer_step",
    ):
        assert needle in text


def test_cli_check_passes_on_digits(capsys):
    assert main(["check", "digits", "--points", "1"]) == 0
    assert "ok: derived = generated NumPy = finite differences" in capsys.readouterr().out


def test_handout_compiles_with_bp1_to_bp4(tmp_path, require_pdflatex):
    assert main(["handout", "nielsen", "-o", str(tmp_path / "n.tex")]) == 0
    text = (tmp_path / "n.tex").read_text()
    for needle in (
        r"\tag{BP1}",
        r"\tag{BP2}",
        r"\tag{BP3}",
        r"\tag{BP4}",
        "Proof of BP2",
        r"\delta^{l+1}_k",
        r"\odot",
        r"\addplot",
        r"w^l_{jk}",
    ):
        assert needle in text
    assert (tmp_path / "n.pdf").stat().st_size > 10_000


def test_softmax_handout_derives_a_minus_y(tmp_path):
    assert main(["handout", "digits", "-o", str(tmp_path / "d.tex"), "--no-pdf"]) == 0
    text = (tmp_path / "d.tex").read_text()
    assert r"\delta_{kj}" in text and r"a^L_j - y_j" in text and r"\sum_k y_k = 1" in text
    # The network's own BP1 in the order of the text above it: sum_k dC/da_k a_k (delta_kj - a_j)
    # (numbered as Nielsen does, the input a^1 = x: the output layer is 3)
    general = (
        r"{\delta^{3}_{j}} &= \sum_{k=1}^{10} \frac{\partial C}{\partial {a^{3}_{k}}} {a^{3}_{k}} "
        r"\left(\delta_{kj} - {a^{3}_{j}}\right)"
    )
    assert general in text


@pytest.mark.parametrize("spec", ["digits"])
def test_layer_handouts_compile(tmp_path, require_pdflatex, spec):
    assert main(["handout", spec, "-o", str(tmp_path / "h.tex")]) == 0
    assert (tmp_path / "h.pdf").is_file()


def test_network_equations_read_as_nielsen_writes_them(tmp_path):
    """Seed 004's order: z^l_j = sum_k w^l_jk a^(l-1)_k + b^l_j, delta^L = (a^L - y) sigma'(z^L),
    delta^l = (sum_k w^(l+1)_kj delta^(l+1)_k) sigma'(z^l); every line of the align* is aligned
    on its '&='. SymPy's canonical order would print b + sum a w and (1 - a)(-y + a) a."""
    # the default style (nielsen) numbers the input layer 1; the mazur style numbers it 0
    for style, top in (("nielsen", 3), ("mazur", 2)):
        out = tmp_path / f"{style}.tex"
        assert main(["handout", "nielsen", "-o", str(out), "--no-pdf", "--style", style]) == 0
        text = out.read_text()
        start = text.index("The equations of this network")
        body = text[start : text.index(r"\section*", start)]
        h = top - 1
        for needle in (
            rf"{{z^{{{top}}}_{{j}}}} &= \sum_{{k=1}}^{{30}} {{w^{{{top}}}_{{jk}}}} "
            rf"{{a^{{{h}}}_{{k}}}} + {{b^{{{top}}}_{{j}}}}",
            rf"{{a^{{{top}}}_{{j}}}} &= \sigma\left({{z^{{{top}}}_{{j}}}}\right)",
            rf"&= \left({{a^{{{top}}}_{{j}}}} - {{y_{{j}}}}\right) {{a^{{{top}}}_{{j}}}} "
            rf"\left(1 - {{a^{{{top}}}_{{j}}}}\right)",
            rf"&= \left(\sum_{{k=1}}^{{10}} {{w^{{{top}}}_{{kj}}}} "
            rf"{{\delta^{{{top}}}_{{k}}}}\right) {{a^{{{h}}}_{{j}}}} "
            rf"\left(1 - {{a^{{{h}}}_{{j}}}}\right)",
        ):
            assert needle in body, (style, needle)
        aligns = body.split(r"\begin{align*}")[1:]
        lines = [ln for part in aligns for ln in part.split(r"\end{align*}")[0].splitlines() if ln]
        assert lines and all("&=" in ln for ln in lines)


def test_derive_text_keeps_the_order_of_the_rules(capsys):
    assert main(["derive", "nielsen"]) == 0
    out = capsys.readouterr().out
    assert "z^2_j = Σ_k w^2_jk a^1_k + b^2_j" in out
    assert "= (a^2_j − y_j) · a^2_j (1 − a^2_j)" in out

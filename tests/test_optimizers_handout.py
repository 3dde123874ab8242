"""The unit handout's optimizer sections: essa's momentum and Adagrad updates against a reference
written here from Fausett's formulas (seed 001), the printed rule, and the compiled pages.

The reference computes the 2-2-2 sigmoid net's forward pass and δ's by hand (x_j = W_0j +
Σ_i W_ij y_i, y_j = σ(x_j), δ_k = (y_k − t_k) y_k (1 − y_k), δ_j = y_j (1 − y_j) Σ_k W_jk δ_k,
∂E/∂W_ij = δ_j y_i), then momentum in the step form Δw(t+1) = −α g + μ Δw(t) and Adagrad with
the sum of squared gradients, at float64.
"""

from __future__ import annotations

import math
import shutil
import subprocess

import pytest
import sympy as sp

from symbackprop.derivation.optimizer_steps import rule_form, two_steps
from symbackprop.derivation.unit import derive
from symbackprop.handout.latexrun import compile_pdf
from symbackprop.handout.unit import generate_handout, handout_context
from symbackprop.rules import optimizers as rules
from symbackprop.rules.optimizers import OPTIMIZERS, OptimizerSpec
from symbackprop.spec.load import load_spec, load_spec_text


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def _essa_gradients(w: dict) -> dict:
    """∂E/∂W for essa's example (y_1 = 0.6, y_2 = −0.2, t_5 = 1, t_6 = 0) at the weights ``w``."""
    y = {1: 0.6, 2: -0.2}
    t = {5: 1.0, 6: 0.0}
    for j in (3, 4):
        y[j] = _sigmoid(w[f"W_0{j}"] + sum(w[f"W_{i}{j}"] * y[i] for i in (1, 2)))
    for k in (5, 6):
        y[k] = _sigmoid(w[f"W_0{k}"] + sum(w[f"W_{j}{k}"] * y[j] for j in (3, 4)))
    delta = {k: (y[k] - t[k]) * y[k] * (1 - y[k]) for k in (5, 6)}
    for j in (3, 4):
        delta[j] = y[j] * (1 - y[j]) * sum(w[f"W_{j}{k}"] * delta[k] for k in (5, 6))
    grads = {}
    for name in w:
        i, j = int(name[2]), int(name[3])
        grads[name] = delta[j] * (1.0 if i == 0 else y[i])
    return grads


ESSA_WEIGHTS = {
    "W_13": 0.3, "W_23": -0.1, "W_03": 0.2, "W_14": -0.4, "W_24": 0.5, "W_04": -0.3,
    "W_35": 0.7, "W_45": -0.2, "W_05": 0.1, "W_36": -0.5, "W_46": 0.6, "W_06": 0.05,
}  # fmt: skip
ALPHA = 0.25


def _momentum_reference(mu: float):
    w, change = dict(ESSA_WEIGHTS), {k: 0.0 for k in ESSA_WEIGHTS}
    history = []
    for _ in range(2):
        g = _essa_gradients(w)
        change = {k: -ALPHA * g[k] + mu * change[k] for k in w}
        w = {k: w[k] + change[k] for k in w}
        history.append((dict(change), dict(w)))
    return history


def _adagrad_reference(eps: float):
    w, squares = dict(ESSA_WEIGHTS), {k: 0.0 for k in ESSA_WEIGHTS}
    history = []
    for _ in range(2):
        g = _essa_gradients(w)
        squares = {k: squares[k] + g[k] ** 2 for k in w}
        change = {k: -ALPHA * g[k] / (math.sqrt(squares[k]) + eps) for k in w}
        w = {k: w[k] + change[k] for k in w}
        history.append((change, dict(w)))
    return history


def _number(text: str) -> float:
    """A printed number (``-0.0554``, ``1.2 \\times 10^{-6}``) as a float."""
    text = text.strip().strip("$")
    if r"\times" in text:
        mantissa, power = text.split(r"\times")
        return float(mantissa) * 10 ** int(power.strip()[4:-1])
    return float(text)


def _value(lines: list, lhs: str) -> float:
    """The value printed last for ``lhs``: on its own row, or on the row of numbers after it."""
    rows = [rhs for _, rhs in lines]
    at = [left for left, _ in lines].index(lhs)
    row = rows[at + 1] if at + 1 < len(rows) and lines[at + 1][0] == "" else rows[at]
    return _number(row.rsplit("=", 1)[1])


@pytest.fixture(scope="module")
def essa_sections():
    return handout_context(derive(load_spec("essa")), source="essa")["optimizers"]


def test_essa_declares_momentum_then_adagrad():
    net = load_spec("essa")
    assert [o.name for o in net.optimizers] == ["momentum", "adagrad"]


def test_essa_momentum_numbers_equal_reference(essa_sections):
    momentum = essa_sections[0]
    reference = _momentum_reference(0.9)
    for row in momentum["table"]:
        name = row[0].replace("{", "").replace("}", "")
        assert _number(row[2]) == pytest.approx(reference[0][0][name], rel=5e-6)
        assert _number(row[3]) == pytest.approx(reference[1][0][name], rel=5e-6)
        assert _number(row[4]) == pytest.approx(reference[1][1][name], rel=5e-6)
    for k, step in enumerate(momentum["steps"]):  # the worked weight, W_35, to 9 digits
        lines = step["lines"]
        assert _value(lines, r"\Delta W_{35}" + f"({k + 1})") == pytest.approx(
            reference[k][0]["W_35"], rel=1e-8
        )
        assert _value(lines, f"W_{{35}}({k + 1})") == pytest.approx(
            reference[k][1]["W_35"], rel=1e-8
        )


def test_essa_adagrad_numbers_equal_reference(essa_sections):
    adagrad = essa_sections[1]
    reference = _adagrad_reference(1e-10)
    for row in adagrad["table"]:
        name = row[0].replace("{", "").replace("}", "")
        assert _number(row[2]) == pytest.approx(reference[0][0][name], rel=5e-6)
        assert _number(row[3]) == pytest.approx(reference[1][0][name], rel=5e-6)
    g1 = _essa_gradients(ESSA_WEIGHTS)["W_35"]
    step1 = adagrad["steps"][0]["lines"]
    assert _value(step1, "G(1)") == pytest.approx(g1**2, rel=1e-8)
    w1 = {k: ESSA_WEIGHTS[k] + reference[0][0][k] for k in ESSA_WEIGHTS}
    g2 = _essa_gradients(w1)["W_35"]
    step2 = adagrad["steps"][1]["lines"]
    assert _value(step2, "G(2)") == pytest.approx(g1**2 + g2**2, rel=1e-8)
    assert _value(step2, r"\Delta W_{35}(2)") == pytest.approx(reference[1][0]["W_35"], rel=1e-8)


def test_momentum_reads_as_seed_001(essa_sections):
    """Fausett's step form, derived from the velocity rule: the velocity line is eliminated."""
    general = dict(essa_sections[0]["general"])
    assert general == {
        r"\Delta W_{35}(t + 1)": r"= \mu \Delta W_{35}(t) - \alpha \delta_{5} y_{3}",
        "W_{35}(t + 1)": r"= W_{35}(t) + \Delta W_{35}(t + 1)",
    }
    adagrad = dict(essa_sections[1]["general"])
    assert adagrad["G(t + 1)"] == r"= \left(\delta_{5} y_{3}\right)^{2} + G(t)"


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_rule_form_evaluates_to_the_run(name):
    """The printed composition of each rule, evaluated with the run's states and gradients,
    gives the step that running the rule's updates gave (mazur's net, both steps)."""
    net = load_spec("mazur")
    derivation = derive(net)
    spec = OptimizerSpec(name, tuple(rules.settings_for(name, {}).items()))
    steps = two_steps(derivation, spec)
    gradient = sp.Dummy("g")
    form = rule_form(rules.optimizer(name), gradient)
    settings = {sp.Symbol(k, real=True): sp.Rational(repr(v)) for k, v in spec.settings}
    for p in net.params[:3]:
        for k in (1, 2):
            env = {**settings, rules.lr: steps.settings[rules.lr], rules.step: sp.Integer(k)}
            env[gradient] = steps.gradients[k - 1][p]
            env.update({form.old[s]: v for s, v in steps.states[k - 1][p].items()})
            env.update({form.new[s]: v for s, v in steps.states[k][p].items()})
            if form.previous is not None:
                env[form.previous] = steps.changes[k - 2][p] if k > 1 else 0
            for name_, expr in form.states:
                assert float(expr.xreplace(env)) == pytest.approx(
                    float(steps.states[k][p][name_]), rel=1e-12, abs=1e-30
                )
            for temp, expr in form.temps:
                env[form.temp_symbols[temp]] = expr.xreplace(env)
            assert float(form.change.xreplace(env)) == pytest.approx(
                float(steps.changes[k - 1][p]), rel=1e-12, abs=1e-30
            )


def test_sgd_only_spec_has_no_section():
    assert handout_context(derive(load_spec("mazur")), source="mazur")["optimizers"] == []


ALL_SIX = """
name = "six"
notation = "mazur"
[network]
inputs = 2
layers = [
  { units = 2, activation = "sigmoid", bias = "shared" },
  { units = 1, activation = "sigmoid", bias = "shared" },
]
[training]
learning_rate = 0.5
optimizer = [{ name = "sgd" }, { name = "momentum" }, { name = "nesterov" },
             { name = "adagrad" }, { name = "rmsprop" }, { name = "adam" }]
[values]
i1 = 0.05
i2 = 0.1
w1 = 0.15
w2 = 0.2
w3 = 0.25
w4 = 0.3
w5 = 0.4
w6 = 0.45
b1 = 0.35
b2 = 0.6
target_o1 = 0.01
"""


def test_every_rule_section_compiles(require_pdflatex, tmp_path):
    net = load_spec_text(ALL_SIX, source="six", name="six")
    tex = generate_handout(derive(net), source="six")
    assert tex.count(r"\section*{") >= 5 + 5  # five rule sections besides the handout's own
    pdf = compile_pdf(tex)
    assert pdf.startswith(b"%PDF")


def test_essa_handout_compiles_with_the_numbers(require_pdflatex):
    pdf = compile_pdf(generate_handout(derive(load_spec("essa")), source="essa"))
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        assert "Gradient descent with momentum" in text and "Adagrad" in text
        w35 = _momentum_reference(0.9)[1][1]["W_35"]
        assert f"{w35:.9f}" in text  # W_35(2), printed to 9 significant digits

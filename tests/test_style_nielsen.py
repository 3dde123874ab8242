"""The nielsen style (after Nielsen's chapter 2 as taught at Utah): the layers numbered from the
input as 1, the Hadamard product, a finite difference and the sum over paths, in numbers.

Every number is checked against a route of its own: NumPy forward passes and central
differences (not the 30-digit route the handout uses), elementwise products, ``sympy.diff``;
the numbering against the default's equations with every layer index moved by one.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths

from __future__ import annotations

import re

import numpy as np
import pytest

from symbackprop.derivation.layer import derive_layers
from symbackprop.derivation.layer_values import example_params, worked_example
from symbackprop.derivation.unit import derive
from symbackprop.handout import layer, unit
from symbackprop.handout.latexrun import box_warnings, compile_with_log
from symbackprop.handout.styles import nielsen_layer, nielsen_unit, style_named
from symbackprop.output.render import render
from symbackprop.printers.layer_latex import layer_equations, number
from symbackprop.spec.load import load_spec, load_spec_text
from tests.test_handout_leaks import _answers, _appears, _text

SPEC = """
name = "small"
level = "layer"
notation = "nielsen"
[network]
inputs = 3
layers = [{{ units = 4, activation = "tanh" }}, {{ units = 3, activation = "sigmoid" }},
          {{ units = {top}, activation = "{out}" }}]
loss = "{loss}"
weight_decay = {decay}
[training]
learning_rate = 0.5
[data]
x = [[0.2, -0.4, 0.9], [0.1, 0.5, -0.3]]
t = [{targets}]
"""


def small(out="sigmoid", loss="half_sse", decay=0.0, top=2):
    targets = "[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]" if top == 3 else "[0.1, 0.9], [0.7, 0.2]"
    text = SPEC.format(out=out, loss=loss, decay=decay, top=top, targets=targets)
    return load_spec_text(text, source="small", name="small", level="layer")


def _no_training(mp):
    """No module is written and no training runs: the curve is not what these tests read."""
    mp.setattr(layer, "loss_curve", lambda d, text: ([(0, 1.0), (1, 0.5)], True, None, None))
    mp.setattr(layer, "generate_layer_module", lambda d, source: "")
    mp.setattr(unit, "loss_curve", lambda d: ([(0, 1.0), (1, 0.5)], None))


@pytest.fixture
def fast(monkeypatch):
    _no_training(monkeypatch)


@pytest.fixture(scope="module")
def small_handouts():
    """The small net's nielsen handout with and without solutions (made once)."""
    with pytest.MonkeyPatch.context() as mp:
        _no_training(mp)
        net = small()
        return {
            shown: layer.generate_layer_handout(
                net, source="small", style="nielsen", show_solutions=shown, warn=lambda m: 0
            )
            for shown in (True, False)
        }


def _example(net):
    d = derive_layers(net)
    return d, worked_example(d, example_params(net), net.data_x[0], net.data_t[0])


# -- independent NumPy oracle ------------------------------------------------------------------


def _act(name, z):
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    e = np.exp(z - z.max())
    return e / e.sum()


def np_cost(net, params, x, y):
    a = np.array(x, dtype=float)
    for l, f in enumerate(net.activations, start=1):
        a = _act(f, params[f"W{l}"] @ a + params[f"b{l}"])
    y = np.array(y, dtype=float)
    c = 0.5 * np.sum((a - y) ** 2) if net.loss == "half_sse" else -np.sum(y * np.log(a))
    return c + net.weight_decay / 2 * sum(np.sum(params[f"W{l}"] ** 2) for l in (1, 2, 3))


def np_gradient(net, l, j, k, h=1e-6):
    params = example_params(net)
    x, y = net.data_x[0], net.data_t[0]
    up = {n: v.copy() for n, v in params.items()}
    down = {n: v.copy() for n, v in params.items()}
    up[f"W{l}"][j, k] += h
    down[f"W{l}"][j, k] -= h
    return (np_cost(net, up, x, y) - np_cost(net, down, x, y)) / (2 * h)


# -- numbering --------------------------------------------------------------------------------


def _moved_down(tex: str) -> str:
    """Every layer superscript of a printed equation minus one."""
    return re.sub(r"(\b[wbza]|\\delta)\^\{(\d+)\}", lambda m: f"{m[1]}^{{{int(m[2]) - 1}}}", tex)


def test_numbering_moves_every_layer_index_by_one_and_nothing_else():
    d = derive_layers(small())
    default, nielsen = layer_equations(d), layer_equations(d, 1)
    assert [e["layer"] for e in nielsen] == [4, 3, 2]  # L = 4 layers counting the input
    for a, b in zip(default, nielsen):
        assert b["forward"] and [tuple(map(_moved_down, p)) for p in b["forward"]] == a["forward"]
        for la, lb in zip(a["lines"], b["lines"]):
            assert {k: _moved_down(v) for k, v in lb.items() if k != "label"} == {
                k: v for k, v in la.items() if k != "label"
            }
    text = str(nielsen)
    assert "w^{1}" not in text and "a^{1}" not in text and "w^{2}" in text
    assert style_named("nielsen").first_layer == 1 and style_named("mazur").first_layer == 0


def test_layer_handout_numbers_the_input_layer_one(small_handouts):
    tex = small_handouts[True]
    assert "here it is layer 0" not in tex and "a^0 = x" not in tex
    assert "a^{1} = x" in tex and r"set $a^1 = x$" in tex and "$l = 2, \\dots, L$" in tex
    assert "the output is layer $L = 4$" in tex
    assert not re.search(r"[wWbz]\^\{?1\}?[_ ,}$]", tex)  # no w^1, W^1, b^1, z^1
    assert "\\subsection*{Layer 4 " in tex and "\\subsection*{Layer 1 " not in tex
    assert "Suppose layer 2 used" in tex  # the exercise on the first hidden layer
    # the sections in the lecture's order
    titles = re.findall(r"\\section\*\{([^}]*)\}", tex)
    order = [
        "The network and its notation",
        "The Hadamard product",
        "The four equations",
        "The algorithm in five steps",
        "One derivative by a finite difference",
        "Why backpropagation is fast",
        "The big picture: a sum over paths",
    ]
    places = [next(i for i, t in enumerate(titles) if t.startswith(o)) for o in order]
    assert places == sorted(places)


# -- the layer level's numbers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("out", "loss", "label"), [("sigmoid", "half_sse", "BP1"), ("softmax", "cross_entropy", "BP2")]
)
def test_hadamard_example_is_the_elementwise_product(out, loss, label):
    net = small(out, loss, top=3 if out == "softmax" else 2)
    d, ex = _example(net)
    h = nielsen_layer.hadamard_values(d, ex)
    assert h["label"] == label
    lay = ex.layers[h["layer"] - 1]
    a = np.array([float(v) for v in lay.a])
    if label == "BP1":  # ∂C/∂a = a − y and σ' = a(1 − a), written here
        s = a - np.array(net.data_t[0])
    else:  # (W^{l+1})^T δ^{l+1}
        top = ex.layers[-1]
        s = np.array([[float(v) for v in r] for r in top.W]).T @ np.array(
            [float(v) for v in top.delta]
        )
    t = a * (1 - a)
    assert np.allclose([float(v) for v in h["s"]], s, rtol=1e-12)
    assert np.allclose([float(v) for v in h["t"]], t, rtol=1e-12)
    assert np.allclose([float(v) for v in lay.delta], s * t, rtol=1e-12)


@pytest.mark.parametrize("decay", [0.0, 0.01])
def test_finite_difference_agrees_with_bp4_and_numpy(decay):
    net = small(decay=decay)
    d, ex = _example(net)
    r = nielsen_layer.finite_difference(d, ex, 3, 0, 0)
    params = example_params(net)
    assert float(r["before"]) == pytest.approx(
        np_cost(net, params, net.data_x[0], net.data_t[0]), rel=1e-12
    )
    assert float(r["quotient"]) == pytest.approx(float(r["bp"]), rel=1e-4)
    assert float(r["bp"]) == pytest.approx(np_gradient(net, 3, 0, 0), rel=1e-6)


@pytest.mark.parametrize(("out", "loss"), [("sigmoid", "half_sse"), ("softmax", "cross_entropy")])
def test_sum_over_explicit_paths_is_the_gradient(out, loss):
    net = small(out, loss, decay=0.01, top=3 if out == "softmax" else 2)
    d, ex = _example(net)
    for l, k in [(1, 2), (2, 1)]:
        found = nielsen_layer.paths(d, ex, l, 0, k)
        assert len(found) == nielsen_layer.path_count(d, l, 0)
        assert len(found) == np.prod(net.sizes[l + 1 :]) * (3 if out == "softmax" and l == 3 else 1)
        assert len({units for units, _ in found}) == len(found)
        total = sum(float(v) for _, v in found)
        assert total + 0.01 * float(ex.layers[l - 1].W[0][k]) == pytest.approx(
            np_gradient(net, l, 0, k), rel=1e-6
        )


def test_layer_sections_print_the_computed_numbers(small_handouts):
    net = small()
    d, ex = _example(net)
    tex = small_handouts[True]
    h = nielsen_layer.hadamard_values(d, ex)
    for v in (h["s"][0], h["t"][0], h["delta"][0]):
        assert number(v) in tex
    r = nielsen_layer.finite_difference(d, ex, 3, 0, 0)
    assert number(r["quotient"], 10) in tex and number(r["bp"], 10) in tex
    found = nielsen_layer.paths(d, ex, 1, 0, 0)
    assert f"along {len(found)} paths" in tex
    best = max(found, key=lambda p: abs(p[1]))
    route = r" \to ".join(f"a^{{{i + 2}}}_{{{u + 1}}}" for i, u in enumerate(best[0]))
    assert f"${route} \\to C$, has the rate" in tex and number(best[1]) in tex
    top = best[0][-1] + 1  # the shown path's first factor is ∂C/∂a^4 = a^4 − y there
    assert rf"\bigl(a^{{4}}_{{{top}}} - y_{{{top}}}\bigr)" in tex
    assert number(sum(v for _, v in found), 8) in tex
    assert "23,8" not in tex  # the cost comparison is this net's
    assert "This network has 39 parameters" in tex  # 3·4+4 + 4·3+3 + 3·2+2


# -- the unit level ---------------------------------------------------------------------------


def test_unit_levels_number_the_input_one_and_bp_labels():
    d = derive(load_spec("mazur"))
    assert nielsen_unit.unit_levels(d) == {"h1": 2, "h2": 2, "o1": 3, "o2": 3}
    from symbackprop.handout.styles import SectionInput

    w = unit._Writer(d, 9)
    lines = nielsen_unit.bp(SectionInput("unit", d.network, d, {}, writer=w))["lines"]
    labels = {lhs: label for lhs, _, label in lines}
    assert labels[r"\delta_{o1}"] == "BP1" and labels[r"\delta_{h1}"] == "BP2"
    assert labels[r"\frac{\partial E_{total}}{\partial b_{1}}"] == "BP3"
    assert labels[r"\frac{\partial E_{total}}{\partial w_{5}}"] == "BP4"


@pytest.mark.parametrize("name", ["mazur", "jacobs_softmax"])
def test_unit_paths_sum_to_the_gradient_and_hadamard_to_the_deltas(name):
    import sympy as sp

    from symbackprop.derivation.evaluate import evaluate

    d = derive(load_spec(name))
    worked = evaluate(d)
    for param in d.network.params[:2]:
        total = sum(
            sp.Mul(*[r.xreplace(worked.values) for r in nielsen_unit.path_rates(d, p)])
            for p in nielsen_unit.forward_paths(d, param)
        )
        assert float(total) == pytest.approx(float(worked.gradients[param]), rel=1e-12)
        # an oracle of its own: E's derivative, by sympy.diff of E written out in the weight
        point = dict(d.network.value_map)
        h = sp.Rational(1, 10**7)
        point[param] += h
        up = evaluate(d, point).values[d.network.loss]
        point[param] -= 2 * h
        down = evaluate(d, point).values[d.network.loss]
        assert float((up - down) / (2 * h)) == pytest.approx(float(total), rel=1e-6)
    assert len(nielsen_unit.forward_paths(d, d.network.params[0])) == (2 if name == "mazur" else 9)
    level, group = nielsen_unit.hadamard_group(d)
    assert level == (3 if name == "mazur" else 2)  # softmax's δ's are simplified: the hidden
    for delta, s, t in group:
        value = (s * t).xreplace(worked.values)
        assert float(value) == pytest.approx(float(worked.values[delta.symbol]), rel=1e-12)


@pytest.fixture(scope="module")
def unit_questions():
    """jacobs_softmax's nielsen handout without solutions: its context and .tex (made once)."""
    with pytest.MonkeyPatch.context() as mp:
        _no_training(mp)
        d = derive(load_spec("jacobs_softmax"))
        context = unit.handout_context(d, source="j", show_solutions=False, style="nielsen")
        return d, context, render("latex", "handout.tex.jinja", **context)


def test_unit_no_solutions_hides_every_answer(unit_questions, fast):
    d, asked, tex = unit_questions
    answers = _answers(d, asked)
    assert len(answers) >= 3
    assert "One derivative by a finite difference" in tex and "sum over paths" in tex
    assert not {k: v for k, v in answers.items() if _appears(v, _text(tex))}
    shown = unit.handout_context(d, source="j", show_solutions=True, style="nielsen")
    tex = _text(render("latex", "handout.tex.jinja", **shown))
    assert all(_appears(v, tex) for v in answers.values())


def test_layer_no_solutions_hides_the_exercises(small_handouts):
    from symbackprop.handout.layer_exercises import layer_exercises

    exercises = layer_exercises(small(), 1)
    answers = [f"{lhs} &{rhs}" for ex in exercises for lhs, rhs in ex.lines]
    assert answers and not [a for a in answers if a in small_handouts[False]]
    assert small_handouts[False].count(r"\workspace{") == len(exercises)
    assert all(a in small_handouts[True] for a in answers)


def test_both_levels_compile_without_box_warnings(fast, unit_questions, require_pdflatex):
    tex = layer.generate_layer_handout(
        small("softmax", "cross_entropy", decay=0.01, top=3),
        source="small",
        style="nielsen",
        warn=lambda m: 0,
    )
    _, log = compile_with_log(tex, runs=1)
    assert box_warnings(log) == []
    _, log = compile_with_log(unit_questions[2], runs=1)
    assert box_warnings(log) == []

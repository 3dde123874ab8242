"""The hmkcode style (hmkcode, "Backpropagation Step by Step"): the forward pass and the updates in
matrix form, and the new prediction.

The oracles are independent of the derivation's δ's: the loss written out in the parameters and
differentiated by ``sympy.diff`` gives every gradient, so every new weight (W − a ∂E/∂W) and the
new prediction (the net's expressions at the new weights) are computed a second way; the matrix
form's new matrices must also equal the scalar updates of the derivation (:func:`evaluate`).
The layer level is checked against the worked example's own 30-digit values, recomputed here
with NumPy.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace

import mpmath
import numpy as np
import pytest
import sympy as sp

from symbackprop.derivation.evaluate import evaluate, format_number
from symbackprop.derivation.layer import derive_layers
from symbackprop.derivation.layer_values import example_params, worked_example
from symbackprop.derivation.unit import derive
from symbackprop.handout import layer, unit
from symbackprop.handout.latexrun import box_warnings, compile_with_log
from symbackprop.handout.styles import SectionInput, hmkcode_layer, hmkcode_unit, style_named
from symbackprop.output.render import render
from symbackprop.spec.load import load_spec, load_spec_text
from tests.test_handout_leaks import _answers, _appears, _steps, _text

# linear without biases; sigmoid with shared biases; per-unit biases, softmax, ascent
UNIT_NETS = ["hmkcode", "mazur", "jacobs_softmax"]


@functools.cache
def _derived(name: str):
    return derive(load_spec(name))


LAYER_SPEC = """
name = "small"
level = "layer"
notation = "nielsen"
[network]
inputs = 3
layers = [{ units = 4, activation = "sigmoid" }, { units = 2, activation = "sigmoid" }]
loss = "half_sse"
[training]
learning_rate = 0.5
"""

GRAPH_SPEC = (
    'name = "two"\nnotation = "hmkcode"\n[graph]\ninputs = ["x"]\ntargets = ["t"]\n'
    'params = ["v", "w"]\nloss = "E"\n[graph.nodes]\nzh = "v*x"\nh = "tanh(zh)"\nzo = "w*h"\n'
    'o = "sigmoid(zo)"\nE = "(t - o)^2/2"\n[graph.units]\nzh = "h"\nh = "h"\nzo = "o"\no = "o"\n'
    "[values]\nx = 1\nt = 0.5\nv = 0.3\nw = -0.2\n"
)


@pytest.fixture
def short_training(monkeypatch):
    """The training curve is not what these tests look at; running it costs the most."""
    monkeypatch.setattr(unit, "loss_curve", lambda d: ([(0, 1.0), (1, 0.5)], None))
    monkeypatch.setattr(
        layer, "loss_curve", lambda d, text: ([(0, 1.0), (1, 0.5)], True, None, None)
    )
    monkeypatch.setattr(layer, "generate_layer_module", lambda d, source: "")


def _inp(d) -> SectionInput:
    """What a builder gets, with solutions shown (the unit builders read no common context)."""
    return SectionInput("unit", d.network, d, {}, writer=unit._Writer(d, 9))


def _finite_differences(net, h=1e-6):
    """The new parameters after one step, with central differences of the loss written out in
    the parameters (NumPy, float64)."""
    full = {}
    for node in net.nodes:
        full[node.symbol] = node.expr.xreplace(full)
    params = list(net.params)
    values = dict(net.value_map)
    rest = {s: v for s, v in values.items() if s not in params}
    sigmoid = {"sigmoid": lambda z: 1 / (1 + np.exp(-z))}
    f = sp.lambdify(params, full[net.loss].xreplace(rest), [sigmoid, "numpy"])
    point = np.array([float(values[p]) for p in params])
    rate = float(values[net.learning_rate])
    sign = 1 if net.maximize else -1
    new = {}
    for k, p in enumerate(params):
        e = np.zeros(len(params))
        e[k] = h
        grad = (f(*(point + e)) - f(*(point - e))) / (2 * h)
        new[p] = point[k] + sign * rate * grad
    return new


def _oracle(net):
    """sympy.diff of the loss written out in the parameters: the gradients at the example, the
    new parameters after one step, and the loss and outputs at the new parameters."""
    exprs = {node.symbol: node.expr for node in net.nodes}
    full = {}
    for node in net.nodes:  # topological order
        full[node.symbol] = node.expr.xreplace(full)
    loss = full[net.loss]
    values = dict(net.value_map)
    rate = values[net.learning_rate]
    sign = 1 if net.maximize else -1

    def at(expr, point):
        value = expr.xreplace(point).doit()
        return value if value.is_Rational else value.evalf(40)

    new = {p: values[p] + sign * rate * at(sp.diff(loss, p), values) for p in net.params}
    at_new = {**values, **new}
    outputs = {o: at(full[o], at_new) for o in net.outputs}
    assert exprs  # every net here has nodes
    return new, at(loss, at_new), at(loss, values), outputs


@pytest.mark.parametrize("name", UNIT_NETS)
def test_matrix_updates_equal_the_scalar_updates_and_sympy_diff(name, short_training):
    d = _derived(name)
    inp = _inp(d)
    c = hmkcode_unit._Cells(inp)
    layers = hmkcode_unit.matrix_layers(d)
    assert layers is not None and len(layers) == 2
    worked = evaluate(d)
    oracle = _finite_differences(d.network)
    sign = 1 if d.network.maximize else -1
    checked = set()
    for lay in layers:
        up = hmkcode_unit.layer_update(lay, c, d.network.learning_rate, sign, True)
        for wrow, vrow in zip(lay.W, up.new_W):
            for p, v in zip(wrow, vrow):
                assert abs(v - worked.updated[p]) < 1e-25, (p, v, worked.updated[p])
                assert abs(float(v) - oracle[p]) < 1e-8, (p, v, oracle[p])
                checked.add(p)
        for b, v in zip(lay.b, up.new_b):
            if b != 0:
                assert abs(v - worked.updated[b]) < 1e-25 and abs(float(v) - oracle[b]) < 1e-8
                checked.add(b)
    assert checked == set(d.network.params)


@pytest.mark.parametrize("name", UNIT_NETS)
def test_matrix_forward_is_the_net(name):
    """Row of inputs times W plus b is each unit's net input, numerically at the example."""
    d = _derived(name)
    values = evaluate(d).values
    for lay in hmkcode_unit.matrix_layers(d):
        x = np.array([float(values[s]) for s in lay.inputs])
        W = np.array([[float(p.xreplace(values)) for p in row] for row in lay.W])
        b = np.array([float(p.xreplace(values)) for p in lay.b])
        pre = np.array([float(values[s]) for s in lay.pre])
        assert np.allclose(x @ W + b, pre, rtol=1e-12, atol=0)


def test_hmkcode_handout_follows_the_lecture(short_training):
    """The built-in example: the lecture's matrices with the numbers, the products and new
    matrices computed, the new prediction and error from the sympy.diff oracle, the figure's
    output named as in the equations, the sections in the lecture's order."""
    d = _derived("hmkcode")
    tex = render("latex", "handout.tex.jinja", **unit.handout_context(d, source="hmkcode"))
    titles = re.findall(r"\\section\*\{([^}]*)\}", tex)
    assert titles == [
        "The weights and the data set",
        "The forward pass in matrix form",
        "The forward step",
        "The total error",
        "Reducing the error",
        "The backward step",
        "Updating the weights",
        "The updates in matrix form",
        "The new prediction",
        "Plotting the error",
    ]
    flat = re.sub(r"\s+", " ", tex)
    # [i1 i2] · [[w1 w3], [w2 w4]] = [h1 h2], symbols then numbers
    assert (
        r"\begin{bmatrix} i_{1} & i_{2} \end{bmatrix} \cdot \begin{bmatrix} w_{1} & w_{3} \\ "
        r"w_{2} & w_{4} \end{bmatrix}" in flat
    )
    assert r"\begin{bmatrix} 0.11 & 0.12 \\ 0.21 & 0.08 \end{bmatrix}" in flat
    assert r"\begin{bmatrix} 0.85 & 0.48 \end{bmatrix}" in flat  # 2·.11+3·.21, 2·.12+3·.08
    worked = evaluate(d)
    v = {s.name: val for s, val in worked.values.items()}
    a = v["a"]
    # the outer product a·[i1; i2]·[δh1 δh2], computed: −0.05·0.809·0.14·2 = −0.011326 …
    for x in ("i1", "i2"):
        for delta in ("delta_h1", "delta_h2"):
            assert format_number(a * v[x] * v[delta], 9) in flat
    new, loss_after, loss_before, outputs = _oracle(d.network)
    new_matrix = " & ".join(format_number(new[sp.Symbol(p)], 9) for p in ("w1", "w3"))
    assert new_matrix in flat  # 0.121326 & 0.132135 (the lecture rounds them to .12, .13)
    (prediction,) = outputs.values()
    assert format_number(prediction, 9) in flat  # 0.255745781 (the lecture's 0.26)
    assert f"from ${format_number(loss_before, 9)}$ to ${format_number(loss_after, 9)}$" in flat
    assert loss_after < loss_before and "The error falls" in flat
    # the figure names the output as the equations do
    nodes = re.findall(r"\\node\[([^\]]*)\] \(n2x0\) at [^{]*\{\$([^$]*)\$\}", tex)
    assert nodes and nodes[0][1] == "prediction" and "o_{1}" not in tex


def test_no_solutions_leaks_nothing_in_the_matrices(short_training):
    """mazur and jacobs_softmax in this style: the matrix sections print an exercise's value
    (δ, gradient, new weight) as its symbol, and every product it enters too."""
    for name in ("mazur", "jacobs_softmax"):
        d = _derived(name)
        asked = unit.handout_context(d, source=name, show_solutions=False, style="hmkcode")
        answers = _answers(d, asked)
        assert len(answers) >= 3
        tex = _text(render("latex", "handout.tex.jinja", **asked))
        assert not {k: x for k, x in answers.items() if _appears(x, tex)}, name
        exercises = [s for s in _steps(asked) if s.exercise]
        assert tex.count(r"\workspace{") == len(exercises)
        assert "The updates in matrix form" in tex and "The new prediction" in tex
        if name == "mazur":  # with solutions the same answers are there
            shown = unit.handout_context(d, source=name, show_solutions=True, style="hmkcode")
            tex = _text(render("latex", "handout.tex.jinja", **shown))
            assert all(_appears(x, tex) for x in answers.values())


def test_nets_without_layers_or_values_say_so(short_training):
    graph = load_spec_text(GRAPH_SPEC, source="g", name="g", level="unit")
    tex = render("latex", "handout.tex.jinja", **unit.handout_context(derive(graph), source="g"))
    assert "given as a graph, not in layers" in tex and "The new prediction" in tex
    bare = load_spec_text(
        'name = "nv"\nnotation = "hmkcode"\n[network]\ninputs = 2\nlayers = [{ units = 2, '
        'activation = "sigmoid" }, { units = 1, activation = "linear", bias = "none" }]\n',
        source="n",
        name="n",
        level="unit",
    )
    tex = render("latex", "handout.tex.jinja", **unit.handout_context(derive(bare), source="n"))
    assert r"\sigma\left(net_{h1}\right)" in tex and "The new prediction" not in tex
    assert "numbers of this example" not in tex


def test_wide_layers_show_their_first_entries_and_say_so(short_training):
    from tests.test_handout_boxes import random_spec

    text = random_spec((4, 2, 1), ("sigmoid", "linear"), notation="mazur", bias="unit", seed=3)
    net = load_spec_text(text, source="r", name="r", level="unit")
    d = derive(net)
    data = hmkcode_unit.forward_section(_inp(d))
    assert "4 \\times 2" in data["wide"] and "Only the first 2 rows and columns" in data["wide"]
    assert any(r"\cdots" in rhs for _, rhs in data["lines"])
    # the rows fit: every right side within the estimate's width
    assert all(hmkcode_unit.em(rhs) <= hmkcode_unit.ROW_EM + 8 for _, rhs in data["lines"])


def _small_example():
    net = load_spec_text(LAYER_SPEC, source="small", name="small", level="layer")
    d = derive_layers(net)
    rng = np.random.default_rng(1)
    x, t = rng.uniform(0, 1, 3), rng.uniform(0, 1, 2)
    return net, d, worked_example(d, example_params(net), x, t), x, t


def test_layer_updates_are_the_outer_products():
    """(W^l)^T − η a^{l-1}(δ^l)^T computed here equals the worked example's SGD step, and the
    forward pass at the new parameters, recomputed with NumPy, gives its cost after the step."""
    net, d, ex, x, t = _small_example()
    with mpmath.workdps(30):
        steps = hmkcode_layer.gradient_step(ex, net)
        for lay, (grad, new_Wt, new_b) in zip(ex.layers, steps):
            assert np.allclose(
                np.array(grad, dtype=float).T, np.array(lay.grad_W, dtype=float), rtol=1e-14
            )
            assert np.allclose(
                np.array(new_Wt, dtype=float).T, np.array(lay.new_W, dtype=float), rtol=1e-14
            )
            assert np.allclose(np.array(new_b, dtype=float), np.array(lay.new_b, dtype=float))
        _, acts = hmkcode_layer.new_values(d, ex)
    a = np.array(x)
    for new_Wt, new_b in [(s[1], s[2]) for s in steps]:
        a = 1 / (1 + np.exp(-(a @ np.array(new_Wt, dtype=float) + np.array(new_b, dtype=float))))
    assert np.allclose(np.array(acts[2], dtype=float), a, rtol=1e-12)
    assert abs(0.5 * np.sum((a - t) ** 2) - float(ex.cost_after)) < 1e-12


def test_layer_handout_in_this_style(short_training, require_pdflatex):
    net = load_spec_text(LAYER_SPEC, source="small", name="small", level="layer")
    tex = layer.generate_layer_handout(
        net, source="small", show_solutions=True, style="hmkcode", warn=lambda m: None
    )
    titles = re.findall(r"\\section\*\{([^}]*)\}", tex)
    assert titles[1:4] == [
        "The forward pass in matrix form",
        "The updates in matrix form",
        "The new prediction",
    ]
    assert titles.index("The equations of this network") > 3
    assert r"(W^{2})^{T}_{\text{new}} &= (W^{2})^{T} - \eta" in tex
    assert "The cost of the example falls" in tex
    _, log = compile_with_log(tex, runs=1)
    assert box_warnings(log) == []
    # the question handout: the exercises' answers (as test_handout_leaks reads them) nowhere
    from symbackprop.handout.layer_exercises import layer_exercises

    answers = [f"{lhs} &{rhs}" for ex in layer_exercises(net) for lhs, rhs in ex.lines]
    hidden = layer.generate_layer_handout(
        net, source="small", show_solutions=False, style="hmkcode", warn=lambda m: None
    )
    assert answers and not [a for a in answers if a in hidden]
    assert "The updates in matrix form" in hidden


def test_hmkcode_pdf_has_no_box_warning(short_training, require_pdflatex):
    """The built-in example with its answers (the question handout has fewer lines)."""
    context = unit.handout_context(_derived("hmkcode"), source="hmkcode")
    _, log = compile_with_log(render("latex", "handout.tex.jinja", **context), runs=1)
    assert box_warnings(log) == []


def test_style_lists_its_sections_in_the_lectures_order():
    style = style_named("hmkcode")
    unit_sections = list(style.unit)
    order = ["hmkcode_forward", "unit_loss", "unit_backward", "unit_updates", "hmkcode_updates"]
    assert [unit_sections.index(s) for s in order] == sorted(unit_sections.index(s) for s in order)
    assert unit_sections.index("hmkcode_new_prediction") > unit_sections.index("hmkcode_updates")


def test_output_unit_is_named_as_in_the_equations():
    """hmkcode's output is `prediction` in the equations: the figure says so, in a box wide
    enough that meets no weight label; where one would meet a label, the name goes beside
    the circle instead."""
    from symbackprop.handout.figure import Box, build_figure

    d = _derived("hmkcode")
    figure = hmkcode_unit.figure_section(_inp(d))["figure"]
    (out,) = [n for n in figure.nodes if n.name == "o1"]
    assert out.label == "prediction" and "rectangle" in out.kind
    assert [n.label for n in figure.nodes if n.name != "o1"] == [
        "i_{1}",
        "i_{2}",
        "h_{1}",
        "h_{2}",
    ]
    base = build_figure(d.network)
    crowded = replace(base, label_boxes=base.label_boxes + (Box(float(out.x), float(out.y), 1, 1),))
    (beside,) = [
        n for n in hmkcode_unit.output_named_figure(d.network, crowded).nodes if n.name == "o1"
    ]
    assert beside.label == "" and "label={right:$prediction$}" in beside.kind

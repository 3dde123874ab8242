"""The mazur style (handout.styles.mazur): the Hull tutorial's content, in its order.

Unit level: the starting values (figure with the numbers on it, and a table), the algorithm box,
the forward step, the total error split per output, the softmax remark, the error plot, the
backward step, the updates. Layer level: the starting values of the first units, the algorithm
box, the worked forward pass and the error per output, the curve, the backward pass, then the
equations. Values are checked against oracles written here (a NumPy forward pass, finite
differences), not against the handout's own arithmetic; a question handout leaks no answer.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import sympy as sp

from symbackprop.derivation.evaluate import evaluate, format_number
from symbackprop.derivation.unit import derive
from symbackprop.handout import layer, unit
from symbackprop.handout.latexrun import box_warnings, compile_with_log
from symbackprop.handout.styles import mazur_unit
from symbackprop.output.render import render
from symbackprop.spec.load import load_spec, load_spec_text
from tests.test_handout_boxes import random_spec
from tests.test_handout_leaks import _answers, _appears, _text

MAZUR = (0.05, 0.10), (0.01, 0.99), ((0.15, 0.20), (0.25, 0.30)), ((0.40, 0.45), (0.50, 0.55))


def _short(patch) -> None:
    """A two-point training curve in place of running the generated code: nothing here
    depends on the curve, and running it costs more than everything else."""
    patch.setattr(unit, "loss_curve", lambda d: ([(0, 1.0), (1, 0.5)], None))
    patch.setattr(layer, "loss_curve", lambda d, text: ([(0, 1.0), (1, 0.5)], True, None, None))


@pytest.fixture
def short_training(monkeypatch):
    _short(monkeypatch)


@pytest.fixture(scope="module")
def mazur():
    """The tutorial's handout in this style, with and without solutions (made once)."""
    with pytest.MonkeyPatch.context() as patch:
        _short(patch)
        return {shown: _handout("mazur", show_solutions=shown) for shown in (True, False)}


def _handout(name_or_net, *, show_solutions=True) -> tuple[dict, str]:
    net = load_spec(name_or_net) if isinstance(name_or_net, str) else name_or_net
    context = unit.handout_context(
        derive(net), source="t", show_solutions=show_solutions, style="mazur"
    )
    return context, render("latex", "handout.tex.jinja", **context)


def _titles(tex: str) -> list[str]:
    return re.findall(r"\\section\*\{([^}]*)\}", tex)


def _mazur_outputs() -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's net, forward, with NumPy: the outputs and the targets."""
    x, t, w_h, w_o = (np.array(v) for v in MAZUR)
    sigma = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    h = sigma(w_h @ x + 0.35)
    return sigma(w_o @ h + 0.60), t


def test_unit_sections_follow_the_tutorial(mazur):
    _, tex = mazur[True]
    assert _titles(tex) == [
        "The network and its starting values",
        "The backpropagation algorithm",
        "The forward step",
        "The total error",
        "The softmax function",
        "Plotting the error",
        "The backward step",
        "Updating the weights",
        "After the update",
    ]


def test_starting_values_are_the_specs_in_figure_and_table(mazur):
    net = load_spec("mazur")
    context, tex = mazur[False]
    start = next(s["data"] for s in context["sections"] if "mazur_start" in s["template"])
    cells = {c for t in start["tables"] for r in t["rows"] for c in r["cells"] if c}
    figure = start["figure"]
    drawn = {e.label for e in figure.edges if e.label} | {n.label for n in figure.nodes}
    for sym, value in net.value_map.items():
        name = unit._Writer(derive(net), 9).inline(sym)
        text = f"{name} = {format_number(value)}"
        assert text in cells, text
        if sym != net.learning_rate:
            assert text in drawn, text  # every weight, bias, input and target on the figure
    assert "w_{1} = 0.15" in drawn and "target_{o2} = 0.99" in drawn and "b_{2} = 0.6" in drawn
    # the figure's labels meet neither each other nor a unit, bias or value box
    for a, b in itertools.combinations(figure.label_boxes, 2):
        assert not a.meets(b)
    assert not any(b.meets(o) for b in figure.label_boxes for o in figure.obstacle_boxes)
    values = [n for n in figure.nodes if n.kind == "weight"]
    assert len(values) == 4  # two inputs, two targets
    for a, b in itertools.combinations(figure.obstacle_boxes, 2):
        assert not a.meets(b), (a, b)  # units, bias boxes and values apart


@pytest.mark.parametrize("seed, sizes", [(3, (3, 4, 2)), (4, (6, 6, 6))])
def test_numeric_figure_labels_never_meet(seed, sizes):
    text = random_spec(sizes, ("sigmoid", "tanh"), notation="mazur", bias="unit", seed=seed)
    net = load_spec_text(text, source="r", name="r", level="unit")
    values = {s.name: format_number(v) for s, v in net.value_map.items()}
    from symbackprop.handout.figure import build_figure

    figure = build_figure(net, values)
    assert figure.labelled and len(figure.label_boxes) == len(net.layout.edges)
    for a, b in itertools.combinations(figure.label_boxes, 2):
        assert not a.meets(b), (a, b)
    assert not any(b.meets(o) for b in figure.label_boxes for o in figure.obstacle_boxes)
    biases = {n.label for n in figure.nodes if n.kind == "bias"}
    assert all(" = " in label for label in biases) and len(biases) == sum(sizes[1:])


def test_total_error_split_per_output_matches_numpy(mazur):
    out, t = _mazur_outputs()
    shares = 0.5 * (t - out) ** 2
    context, tex = mazur[True]
    error = next(s["data"] for s in context["sections"] if "mazur_error" in s["template"])
    rows = "\n".join(f"{lhs} &{rhs}" for lhs, rhs in error["rows"])
    assert error["names"] == ["E_{o1}", "E_{o2}"]
    for k, share in enumerate(shares):
        printed = re.search(rf"E_{{o{k + 1}}} &= .* = ([0-9.]+)$", rows, re.M).group(1)
        assert float(printed) == pytest.approx(share, rel=1e-8)
    total = re.search(r"E_\{total\} &= ([0-9.]+) \+ ([0-9.]+) = ([0-9.]+)$", rows, re.M)
    assert float(total.group(3)) == pytest.approx(shares.sum(), rel=1e-8)
    assert "0.274811083" in rows and "0.298371109" in rows  # the tutorial's E_o1 and E_total
    assert tex.index("E_{o1} &= ") < tex.index(r"\section*{The backward step}")


@pytest.mark.parametrize("name", ["jacobs", "essa", "jacobs_softmax"])
def test_per_output_terms_sum_to_the_loss(name):
    """Any loss, any notation: the terms name one output each and add up to the loss."""
    net = load_spec(name)
    d = derive(net)
    terms = mazur_unit.output_terms(net)
    assert len(terms) == len(net.outputs)
    assert [t.output for t in terms] == list(net.outputs)
    loss = net.node(net.loss).expr
    assert sp.simplify(sp.Add(*[t.expr for t in terms]) - loss) == 0
    w = unit._Writer(d, 9)
    values = mazur_unit.term_values(w.worked.values, terms)
    total = evaluate(d).values[net.loss]
    assert float(sum(values)) == pytest.approx(float(total), rel=1e-12)
    names = [w.inline(t.symbol) for t in terms]
    assert len(set(names)) == len(names)
    if name == "essa":
        assert names == ["E_{5}", "E_{6}"]


@pytest.mark.parametrize("maximize", [False, True])
def test_softmax_delta_matches_finite_differences(maximize):
    z = sp.symbols("z1:4")
    t = sp.symbols("t1:4")
    derived, simple = mazur_unit.softmax_delta(list(z), list(t), 1, maximize)
    rng = np.random.default_rng(1)
    point = rng.normal(size=3)
    target = rng.dirichlet(np.ones(3))  # sums to 1

    def loss(v):
        p = np.exp(v) / np.exp(v).sum()
        value = float(target @ np.log(p))
        return value if maximize else -value

    h = 1e-6
    step = np.eye(3)[1] * h
    numeric = (loss(point + step) - loss(point - step)) / (2 * h)
    env = {**dict(zip(z, point)), **dict(zip(t, target))}
    assert float(derived.subs(env)) == pytest.approx(numeric, abs=1e-8)
    assert float(simple.subs(env)) == pytest.approx(numeric, abs=1e-8)


def test_softmax_remark_numbers_and_where_it_is_left_out(mazur, short_training):
    out, t = _mazur_outputs()
    context, tex = mazur[True]
    remark = next(s["data"] for s in context["sections"] if "mazur_softmax" in s["template"])
    net_o = np.log(out / (1 - out))
    p = np.exp(net_o) / np.exp(net_o).sum()
    printed = re.findall(r"= ([0-9.]+)$", "\n".join(r for _, r in remark["probs"]), re.M)
    assert [float(v) for v in printed] == pytest.approx(list(p), rel=1e-8)
    assert remark["delta_line"].endswith("P_{o1} - target_{o1}") and remark["targets_one"]
    # a softmax output layer, or a single output: no remark
    for name in ("jacobs_softmax", "hmkcode"):
        ctx, tex = _handout(name)
        assert "The softmax function" not in _titles(tex)


def test_algorithm_box_in_the_nets_names(mazur):
    _, tex = mazur[False]
    box = tex[tex.index(r"\begin{framed}") : tex.index(r"\end{framed}")]
    assert tex.index(r"\begin{framed}") < tex.index(r"\section*{The forward step}")
    assert box.count(r"\item") == 6
    for step in ("Forward pass", "Error", "Output deltas", "Hidden deltas", "Gradients"):
        assert rf"\textbf{{{step}.}}" in box
    assert r"net_{h1} &= w_{1} i_{1} + w_{2} i_{2} + b_{1}" in box
    assert r"\delta_{h1} &= \frac{\partial E_{total}}{\partial net_{h1}} = " in box
    assert r"{w_{5}}^{+} &= w_{5} - \eta \frac{\partial E_{total}}{\partial w_{5}}" in box
    assert "o2}" not in box.split("Output deltas")[1].split("Hidden")[0]  # δ_o2: an exercise


@pytest.mark.parametrize("name", ["mazur", "jacobs", "jacobs_softmax"])
def test_question_handout_gives_no_answer_away(name, mazur, short_training):
    d = derive(load_spec(name))
    context, tex = mazur[False] if name == "mazur" else _handout(name, show_solutions=False)
    answers = _answers(d, context)
    assert len(answers) >= 3
    text = _text(tex)
    assert not {k: v for k, v in answers.items() if _appears(v, text)}
    # the starting values are given, the new ones are not
    updated = evaluate(d).updated
    for param in d.network.params:
        if param.name in answers:
            assert not _appears(format_number(updated[param]).lstrip("-"), text)
    if name == "mazur":  # with solutions, each answer is there
        shown = _text(mazur[True][1])
        assert all(_appears(v, shown) for v in answers.values())


def test_net_without_values_and_graph_form(short_training):
    body = """name = "n"
notation = "mazur"
[network]
inputs = 2
layers = [{ units = 3, activation = "tanh" }, { units = 2, activation = "sigmoid" }]
"""
    net = load_spec_text(body, source="n", name="n", level="unit")
    _, tex = _handout(net)
    assert _titles(tex)[:4] == [
        "The network",
        "The backpropagation algorithm",
        "The forward step",
        "The total error",
    ]
    assert "Plotting" not in tex and r"\begin{tabular}" not in tex
    assert "E_{o1} + E_{o2}" in tex
    graph = """name = "g"
notation = "plain"
[graph]
inputs = ["x1", "x2"]
targets = ["t"]
params = ["w1", "w2", "b"]
loss = "E"
[graph.nodes]
z = "w1*x1 + w2*x2 + b"
a = "sigmoid(z)"
E = "(t - a)^2/2"
[values]
x1 = 0.5
x2 = -1
t = 1
w1 = 0.3
w2 = 0.2
b = 0.1
eta = 0.5
"""
    g = load_spec_text(graph, source="g", name="g", level="unit")
    _, tex = _handout(g)
    assert "Parameters & $w_{1} = 0.3$" in tex and "The total error" in _titles(tex)


LAYER = """name = "small"
level = "layer"
notation = "nielsen"
[network]
inputs = 6
layers = [{ units = 4, activation = "tanh" }, { units = 3, activation = "softmax" }]
loss = "cross_entropy"
weight_decay = 0.01
[training]
learning_rate = 0.5
"""


@pytest.fixture(scope="module")
def small():
    """The small layer net's question handout in this style (made once)."""
    net = load_spec_text(LAYER, source="small", name="small", level="layer")
    with pytest.MonkeyPatch.context() as patch:
        _short(patch)
        tex = layer.generate_layer_handout(
            net, source="small", show_solutions=False, style="mazur", warn=lambda m: 0
        )
    return tex, net


def test_layer_level_order_values_and_error_per_output(small):
    from symbackprop.derivation.layer_values import example_params
    from symbackprop.handout.layer import _data

    tex, net = small
    titles = _titles(tex)
    assert titles[5].startswith("The update: ")  # the training curve, after the error
    titles[5] = "The update"
    assert titles == [
        "The network",
        "The example and its starting values",
        "The backpropagation algorithm",
        "The forward pass and the error",
        r"Softmax with cross-entropy: $\delta^L = a^L - y$",
        "The update",
        "The backward pass and the update",
        "The four equations of backpropagation",
        "Vectorised form",
        "The equations of this network",
        "Exercises",
        "Why backpropagation is fast",
    ]
    # NumPy oracle: the example (first data row) through the example's parameters
    params = example_params(net)
    x, t, _ = _data(net)
    a1 = np.tanh(params["W1"] @ x[0] + params["b1"])
    z2 = params["W2"] @ a1 + params["b2"]
    a2 = np.exp(z2) / np.exp(z2).sum()
    shares = -t[0] * np.log(a2)
    decay = 0.01 / 2 * sum((params[k] ** 2).sum() for k in ("W1", "W2"))
    line = re.search(r"C = \\sum_j C_j \+ .*? = (.*)$", tex, re.M).group(1)
    numbers = [float(v) for v in re.findall(r"-?[0-9]+(?:\.[0-9]+)?", line)]
    assert numbers[:3] == pytest.approx(list(shares), rel=2e-3)
    assert numbers[-2] == pytest.approx(decay, rel=2e-3)
    assert numbers[-1] == pytest.approx(shares.sum() + decay, rel=2e-3)
    # the table: the first units, and how many of each it shows
    assert "the first 4 of the 6 inputs" in tex and "the 3 targets" in tex
    assert "the first 2 of the 4 units of layer 1" in tex
    w = format(float(params["W1"][0][0]), ".4g")
    assert f"w^{{1}}_{{11}} = {w}" in tex
    assert "curve above" not in tex  # the curve follows the example in this style


def test_layer_question_handout_and_compiles(small, require_pdflatex):
    from symbackprop.handout.layer_exercises import layer_exercises

    tex, net = small
    answers = [f"{lhs} &{rhs}" for ex in layer_exercises(net) for lhs, rhs in ex.lines]
    assert answers and not [a for a in answers if a in tex]
    _, log = compile_with_log(tex, runs=1)
    assert box_warnings(log) == []


def test_mazur_handout_compiles_without_box_warnings(mazur, require_pdflatex):
    _, tex = mazur[False]
    _, log = compile_with_log(tex, runs=1)
    assert box_warnings(log) == []

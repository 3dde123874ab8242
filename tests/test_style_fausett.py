"""The fausett style (Lecture 6, Backpropagation Algorithm, after L. Fausett): its content in the
lecture's order, each formula checked against an independent oracle.

- the index form (δ_k, δ_j, Δw_ij = −α δ_j y_i, Δw_0j = −α δ_j), substituted for every concrete
  unit, equals the derivation's own δ's, gradients and updates (unit level), and ``sympy.diff``
  of the loss and the BP equations (layer level);
- every step of each activation's derivative proof equals the step before (SymPy);
- momentum's unrolled sum and the worked numbers equal the optimizer run's (``two_steps``);
- the handouts render at both levels with and without solutions, leak no exercise answer, and
  compile without boxes over 1 pt (two pdflatex runs in all).
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import sympy as sp

from symbackprop.derivation.evaluate import evaluate, format_number
from symbackprop.derivation.layer import FPrime, a, delta, derive_layers, j, k, z
from symbackprop.derivation.layer import W as weight
from symbackprop.derivation.optimizer_steps import two_steps
from symbackprop.derivation.unit import derive
from symbackprop.handout import layer, unit
from symbackprop.handout.latexrun import box_warnings, compile_with_log
from symbackprop.handout.styles import fausett_layer
from symbackprop.handout.styles.fausett_index import index_form
from symbackprop.handout.styles.fausett_proofs import activation_proof, equal, x, y
from symbackprop.output.render import render
from symbackprop.rules import registry as rules
from symbackprop.rules.optimizers import OptimizerSpec
from symbackprop.spec.load import load_spec, load_spec_text
from tests.test_handout_leaks import _answers, _appears, _text

DEEP = """name = "deep"
notation = "essa"
[network]
inputs = 2
layers = [{ units = 3, activation = "tanh" }, { units = 2, activation = "relu" },
  { units = 2, activation = "sigmoid" }]
"""


@pytest.fixture
def short_training(monkeypatch):
    """A two-point training curve in place of running the generated code (unit and layer), and
    no module to run: nothing tested here depends on them."""
    monkeypatch.setattr(unit, "loss_curve", lambda d: ([(0, 1.0), (1, 0.5)], None))
    monkeypatch.setattr(layer, "loss_curve", lambda d, text: ([(0, 1.0), (1, 0.5)], True, None, 10))


def _same(a, b) -> bool:
    return sp.simplify(rules.to_elementary(a) - rules.to_elementary(b)) == 0


# --- unit level: the index form against the derivation ---------------------------------------
@pytest.mark.parametrize("name", ["essa", "mazur", "hmkcode", "jacobs", "jacobs_softmax", "deep"])
def test_index_form_equals_the_derivation_for_every_unit(name):
    net = load_spec_text(DEEP, source="deep", name="deep") if name == "deep" else load_spec(name)
    d = derive(net)
    form = index_form(d)
    deltas = {net.node(dl.of).unit: dl for dl in d.deltas}
    grads = {g.param: g for g in d.gradients}
    steps = {
        u.param: (u.expr - u.param).xreplace({u.gradient: grads[u.param].expr}) for u in d.updates
    }
    checked = 0
    for rule in form.rules:
        if rule.name.startswith("delta_"):
            (letter,) = rule.roles
            for label in form.roles[letter].labels:
                lhs, rhs = form.instance(rule, {letter: label})
                assert lhs == deltas[label].symbol
                assert _same(rhs, deltas[label].expr), (rule.name, label, rhs)
                checked += 1
        elif rule.name.startswith("update_"):
            src, dst = rule.roles
            for s in form.roles[src].labels:
                for t in form.roles[dst].labels:
                    lhs, rhs = form.instance(rule, {src: s, dst: t})
                    assert _same(rhs, steps[lhs]), (rule.name, s, t)
                    checked += 1
        else:  # a per-unit bias
            (dst,) = rule.roles
            for t in form.roles[dst].labels:
                lhs, rhs = form.instance(rule, {dst: t})
                assert _same(rhs, steps[lhs]), (rule.name, t)
                checked += 1
    assert checked >= 9
    # a wrong rule is caught: the output δ without its activation factor
    wrong = form.instance(form.rules[0], {"k": form.roles["k"].labels[0]})[1]
    if form.roles["k"].activation == "sigmoid" and net.matched is None:
        label = form.roles["k"].labels[0]
        y_k = form.concrete[label]["act"]
        assert not _same(wrong / (y_k * (1 - y_k)), deltas[label].expr)


def test_shared_bias_sums_the_deltas_of_its_layer():
    d = derive(load_spec("mazur"))
    form = index_form(d)
    assert set(form.shared_bias) == {1, 2}
    update = {u.param: u for u in d.updates}
    grads = {g.param: g.expr for g in d.gradients}
    eta = d.network.learning_rate
    for layer_number, bias in form.shared_bias.items():
        labels = d.network.layout.columns[layer_number]
        total = sum(form.concrete[label]["delta"] for label in labels)
        step = (update[bias].expr - bias).xreplace({update[bias].gradient: grads[bias]})
        assert sp.simplify(step - (-eta * total)) == 0


# --- the activations' derivatives --------------------------------------------------------------
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "softplus", "elu", "leaky_relu"])
def test_every_proof_step_equals_the_one_before(name):
    proof = activation_proof(name)
    steps = [s.expr for s in proof.steps]
    assert isinstance(steps[0], sp.Derivative)
    for before, after in zip(steps, steps[1:]):
        assert equal(before, after), (name, after)
    f = rules.activation(name).function(x)
    assert equal(steps[-1], sp.diff(rules.to_elementary(f), x))
    assert equal(proof.in_output.xreplace({y: f}), steps[-1])
    if name == "sigmoid":  # the lecture's steps, and the form it proves
        assert len(steps) == 7 and proof.in_output == rules._mul(y, rules._sub(1, y))
    assert not equal(steps[-1], steps[-1] + x**2)  # the check can fail


def test_linear_says_one():
    proof = activation_proof("linear")
    assert proof.steps[-1].expr == 1 and equal(proof.steps[0].expr, 1)


# --- layer level: the index form against sympy.diff and the BP equations -------------------
def _layer(name):
    return derive_layers(load_spec(name))


def test_layer_output_delta_is_the_derivative_of_the_loss():
    # sigmoid with half the squared error: δ^L_k = ∂/∂z [½(y − σ(z))²]
    d = _layer("nielsen")
    zz, yy = sp.symbols("zz yy", real=True)
    sigma = 1 / (1 + sp.exp(-zz))
    oracle = sp.diff((yy - sigma) ** 2 / 2, zz)
    ours = fausett_layer.output_delta(d).xreplace({a(2)[k]: sigma, sp.IndexedBase("y")[k]: yy})
    assert sp.simplify(ours - oracle) == 0
    # softmax with cross-entropy, 3 outputs, one-hot targets: ∂C/∂z_k = a_k − y_k
    zs = sp.symbols("z1:4", real=True)
    ys = sp.symbols("y1:4", real=True)
    soft = [sp.exp(zi) / sum(sp.exp(zm) for zm in zs) for zi in zs]
    cost = -sum(yi * sp.log(si) for yi, si in zip(ys, soft))
    d = _layer("digits")
    delta_k = fausett_layer.output_delta(d)
    for n in range(3):
        ours = delta_k.xreplace({a(2)[k]: soft[n], sp.IndexedBase("y")[k]: ys[n]})
        oracle = sp.diff(cost, zs[n]).subs(ys[2], 1 - ys[0] - ys[1])
        assert sp.simplify(ours.subs(ys[2], 1 - ys[0] - ys[1]) - oracle) == 0
    _, _, jac = fausett_layer.softmax_jacobian_expr(2)
    for kk in range(3):
        for jj in range(3):
            ours = jac.xreplace({k: kk + 1, j: jj + 1}).doit()
            ours = ours.xreplace({a(2)[m + 1]: soft[m] for m in range(3)})
            assert sp.simplify(ours - sp.diff(soft[kk], zs[jj])) == 0


def test_layer_hidden_delta_and_changes():
    d = _layer("digits")  # tanh hidden layer, weight decay
    zz = sp.Symbol("zz", real=True)
    hidden = fausett_layer.hidden_delta(d).xreplace({a(1)[j]: sp.tanh(zz)})
    total = sp.Sum(weight(2)[k, j] * delta(2)[k], (k, 1, 10))
    assert sp.simplify(hidden - total * sp.diff(sp.tanh(zz), zz)) == 0
    assert not any(isinstance(n, FPrime) for n in sp.preorder_traversal(hidden))
    eta, lam = sp.Symbol("eta"), sp.Symbol("lambda")
    i = fausett_layer.i
    expected = [
        -eta * (delta(2)[k] * a(1)[j] + lam * weight(2)[k, j]),
        -eta * delta(2)[k],
        -eta * (delta(1)[j] * a(0)[i] + lam * weight(1)[j, i]),
        -eta * delta(1)[j],
    ]
    changes = fausett_layer.weight_changes(d)
    assert len(changes) == 4
    for (_, change), want in zip(changes, expected):
        assert sp.simplify(change - want) == 0
    assert z(1)[j] != z(2)[k]


# --- momentum and Adagrad --------------------------------------------------------------------
def _section(tex: str, title: str) -> str:
    start = tex.index(rf"\section*{{{title}}}")
    end = tex.find(r"\section*{", start + 1)
    return tex[start : end if end > 0 else None]


def test_momentum_sum_and_worked_numbers_for_a_net_without_them(short_training):
    """mazur lists only SGD: the style still works momentum (μ = 0.9) and Adagrad, and the
    numbers are the optimizer run's; Δw(2) = −η (μ g(1) + g(2)), the unrolled sum."""
    d = derive(load_spec("mazur"))
    tex = render(
        "latex", "handout.tex.jinja", **unit.handout_context(d, source="m", style="fausett")
    )
    variations = _section(tex, "Variations: momentum and Adagrad")
    assert "lists neither rule" in variations and r"\mu = 0.9" in variations
    assert r"\sum_{s=1}^{t} \mu^{t-s}" in variations
    spec = OptimizerSpec("momentum", (("momentum", 0.9),))
    run = two_steps(replace(d, network=replace(d.network, optimizers=(spec,))), spec)
    w = sp.Symbol("w5")
    g1, g2 = run.gradients[0][w], run.gradients[1][w]
    eta = run.settings[next(s for s in run.settings if s.name == "lr")]
    assert sp.N(run.changes[1][w] - (-eta * (sp.Rational(9, 10) * g1 + g2)), 30) == 0
    worked = _section(tex, "Gradient descent with momentum")
    assert format_number(run.changes[1][w], 9) in worked
    assert "RMSprop" in tex and "Adam" in tex


# --- the handouts ------------------------------------------------------------------------------
def _titles(tex: str) -> list[str]:
    return re.findall(r"\\section\*\{([^}]*)\}", tex)


def test_essa_handout_in_the_lectures_order(short_training, require_pdflatex):
    d = derive(load_spec("essa"))
    tex = render("latex", "handout.tex.jinja", **unit.handout_context(d, source="essa"))
    titles = _titles(tex)
    order = [
        "The learning problem",
        "The derivative of the activation",
        "Deriving the learning rules",
        "The backpropagation algorithm",
        "A numerical example",
        "The forward step",
        "Updating the weights",
        "Variations: momentum and Adagrad",
        "Gradient descent with momentum",
        "Adagrad",
    ]
    assert [t for t in titles if t in order] == order
    algorithm = _section(tex, "The backpropagation algorithm")
    for line in (
        r"\delta_{k} &= \left(y_{k} - t_{k}\right)\, f'\left(x_{k}\right) = \left(y_{k} - "
        r"t_{k}\right) y_{k} \left(1 - y_{k}\right)",
        r"\delta_{j} &= f'\left(x_{j}\right) \sum_{k} W_{jk} \delta_{k}",
        r"\Delta W_{ij} &= - \alpha \delta_{j} y_{i}",
        r"\Delta W_{0j} &= - \alpha \delta_{j}",
        "runs over the output units ($y_{5}$ and $y_{6}$)",
    ):
        assert line in algorithm
    learning = _section(tex, "The learning problem")
    assert r"\sum_{p=1}^{N} \delta_{5}(p) y_{3}(p)" in learning and "($N = 1$)" in learning
    proof = _section(tex, "The derivative of the activation")
    assert r"\sigma\left(x\right) \left(1 - \sigma\left(x\right)\right)" in proof
    worked = evaluate(d)
    assert format_number(worked.all[sp.Symbol("delta_5")], 9) in tex
    assert "this handout's own" in tex
    _, log = compile_with_log(tex, runs=1)
    assert not box_warnings(log)


@pytest.mark.parametrize("name", ["essa", "mazur"])
def test_no_solutions_hides_every_answer_in_this_style(name, short_training, require_pdflatex):
    d = derive(load_spec(name))
    asked = unit.handout_context(d, source=name, show_solutions=False, style="fausett")
    answers = _answers(d, asked)
    assert len(answers) >= 3
    full = render("latex", "handout.tex.jinja", **asked)
    tex = _text(full)
    assert not {k: v for k, v in answers.items() if _appears(v, tex)}
    assert "Deriving the learning rules" in tex and r"\workspace{" in tex
    if name == "mazur":  # another notation's names (E_{total}) compile in every section
        _, log = compile_with_log(full, runs=1)
        assert not box_warnings(log)


def test_a_graph_and_a_net_without_values_render(short_training):
    graph = load_spec_text(
        'name = "g"\n[graph]\ninputs = ["x1"]\ntargets = ["t"]\nparams = ["w"]\nloss = "E"\n'
        '[graph.nodes]\nn = "w*x1"\na = "tanh(n)"\nE = "(t - a)^2/2"\n',
        source="g",
        name="g",
    )
    tex = render(
        "latex",
        "handout.tex.jinja",
        **unit.handout_context(derive(graph), source="g", style="fausett"),
    )
    assert "given as a graph of nodes" in tex and r"1 - \tanh^{2}" in tex
    bare = load_spec_text(DEEP, source="deep", name="deep")
    tex = render(
        "latex",
        "handout.tex.jinja",
        **unit.handout_context(derive(bare), source="d", style="fausett"),
    )
    assert "gives no numbers" in tex and "With several hidden layers" in tex
    assert r"\left[x > 0\right]" in tex  # the ReLU's derivative


SMALL_DIGITS = """name = "small"
level = "layer"
[network]
inputs = 3
layers = [{ units = 4, activation = "tanh" }, { units = 3, activation = "softmax" }]
loss = "cross_entropy"
reduction = "mean"
weight_decay = 0.0001
[training]
learning_rate = 0.01
optimizer = { name = "adam" }
"""


def test_layer_handout_in_index_form(short_training, require_pdflatex):
    """The digits net's layers at a small size (its worked example costs seconds at 64-32-10)."""
    net = load_spec_text(SMALL_DIGITS, source="small", name="small", level="layer")
    shown = layer.generate_layer_handout(net, source="small", style="fausett", warn=lambda m: 0)
    hidden = layer.generate_layer_handout(
        net, source="small", style="fausett", show_solutions=False, warn=lambda m: 0
    )
    for tex in (shown, hidden):
        algorithm = _section(tex, "The backpropagation algorithm")
        assert r"{\delta^{2}_{k}} &= {a^{2}_{k}} - {y_{k}}" in algorithm
        assert r"\Delta {b^{1}_{j}} &= - \eta {\delta^{1}_{j}}" in algorithm
        assert "($j = 1, \\dots, 4$)" in algorithm
        assert "mini-batches of $n = 10$" in _section(tex, "The learning problem")
        assert r"1 - \tanh^{2}" in tex and "lists neither rule" in tex
    _, log = compile_with_log(hidden, runs=1)
    assert not box_warnings(log)

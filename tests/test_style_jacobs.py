"""The jacobs style (R. Jacobs, Backpropagation Algorithm): the log-likelihood of the task and
gradient ascent, batch training, the worked example, then appendices A (Bernoulli) and B
(softmax), at both levels.

The appendices' derivations are data (:mod:`handout.styles.jacobs_appendices`): every step is
checked here with SymPy against ``sympy.diff`` of the log-likelihood itself. The log-likelihood
section's constants are checked against SymPy's own logarithm of the densities. The handouts are
rendered without their training runs (the curve is stubbed; it is not this style's), and three
are compiled, their logs read for boxes over 1 pt.
"""

from __future__ import annotations

import re

import pytest
import sympy as sp

from symbackprop.derivation.unit import derive
from symbackprop.handout import layer, unit
from symbackprop.handout.latexrun import box_warnings, compile_with_log
from symbackprop.handout.styles import jacobs_appendices as appx
from symbackprop.handout.styles.jacobs_likelihood import (
    KIND,
    LOGLIK,
    likelihood,
    loss_rule_of,
    registry_term,
)
from symbackprop.output.render import render
from symbackprop.rules import registry as rules
from symbackprop.spec.load import load_spec, load_spec_text
from tests.test_handout_leaks import _answers, _appears, _text

GRAPH = """
name = "neuron"
[graph]
inputs = ["x1", "x2"]
targets = ["t"]
params = ["w1", "w2", "b"]
loss = "E"
[graph.nodes]
z = "w1*x1 + w2*x2 + b"
a = "sigmoid(z)"
E = "(t - a)^4/4"
[graph.units]
z = "n"
a = "n"
[values]
x1 = 1.0
x2 = -2.0
t = 1.0
w1 = 0.5
w2 = 0.25
b = 0.1
"""
COIN = """
name = "coin"
notation = "jacobs"
[network]
inputs = 2
layers = [
  { units = 2, activation = "tanh", bias = "unit" },
  { units = 1, activation = "sigmoid", bias = "unit" },
]
loss = "bernoulli_loglik"
[training]
learning_rate = 0.5
"""
# Small layer nets (the worked example of the built-in 784-input net costs more than this file
# may): ten Gaussian outputs averaged over a batch, and a softmax classifier with L2 decay.
GAUSS_LAYER = """
name = "gauss"
level = "layer"
[network]
inputs = 3
layers = [{ units = 4, activation = "sigmoid" }, { units = 10, activation = "sigmoid" }]
loss = "half_sse"
reduction = "mean"
[training]
learning_rate = 3.0
"""
SOFTMAX_LAYER = """
name = "classes"
level = "layer"
[network]
inputs = 5
layers = [{ units = 4, activation = "tanh" }, { units = 3, activation = "softmax" }]
loss = "cross_entropy"
reduction = "mean"
weight_decay = 0.0001
[training]
learning_rate = 0.01
optimizer = { name = "adam" }
"""
COIN_LAYER = """
name = "coins"
level = "layer"
[network]
inputs = 2
layers = [{ units = 2, activation = "tanh" }, { units = 1, activation = "sigmoid" }]
loss = "bernoulli_loglik"
[training]
learning_rate = 0.5
"""


@pytest.fixture
def no_training(monkeypatch):
    """A two-point training curve in place of running the generated module."""
    monkeypatch.setattr(unit, "loss_curve", lambda d: ([(0, 1.0), (1, 0.5)], None))
    monkeypatch.setattr(layer, "loss_curve", lambda d, text: ([(0, 1.0), (1, 0.5)], True, None, 10))


def _unit_tex(net, solutions=True) -> str:
    return unit.generate_handout(
        derive(net), source=net.name, show_solutions=solutions, style="jacobs"
    )


def _layer_tex(spec: str, solutions=True) -> str:
    net = load_spec_text(spec, source="s", name="s", level="layer")
    return layer.generate_layer_handout(
        net, source="s", show_solutions=solutions, style="jacobs", warn=lambda m: None
    )


def _titles(tex: str) -> list[str]:
    return re.findall(r"\\section\*\{(.*?)\}\n", tex)


# --- appendix A: every step of ∂log L/∂s = y* − y -------------------------------------------


def test_appendix_a_each_step_is_sympys_derivative():
    y, t, s = sp.symbols("y ystar s")
    b = appx.bernoulli(y, t, s)
    sigma = 1 / (1 + sp.exp(-s))
    loglik = t * sp.log(y) + (1 - t) * sp.log(1 - y)
    assert sp.simplify(b.loglik - loglik) == 0
    # ∂log L/∂y (eq. 31)
    assert sp.simplify(b.dlogl_dy[0] - sp.diff(loglik, y)) == 0
    # ∂y/∂s: each form equals the derivative of the logistic, y = σ(s) put in
    assert sp.simplify(b.logistic - sigma) == 0
    assert sp.simplify(b.complement - (1 - sigma)) == 0
    for form in b.dy_ds:
        assert sp.simplify(form.doit().subs(y, sigma) - sp.diff(sigma, s)) == 0, form
    # ∂log L/∂s: the chain and each simplification equal d/ds of log L(σ(s))
    truth = sp.diff(loglik.subs(y, sigma), s)
    for form in b.dlogl_ds:
        assert sp.simplify(form.subs(y, sigma) - truth) == 0, form
    # and each step equals the one before as an identity in y (no σ needed)
    for before, after in zip(b.dlogl_ds, b.dlogl_ds[1:]):
        assert sp.simplify(before - after) == 0
    assert b.dlogl_ds[-1] == t - y
    assert sp.simplify(b.dlogl_ds[0] - b.dlogl_dy[0] * b.dy_ds[-1]) == 0


# --- appendix B: the Kronecker δ and ∂log L/∂s_i = y*_i − y_i, at three classes --------------


def _at(expr, m, n: int, i: int, values: dict):
    """``expr`` with K = n, i = i, the sums done and ``values`` put in for y[k], t[k], s[k]."""
    out = expr.subs({m.K: n, m.i: i}).doit()
    return out.subs(values)


def test_appendix_b_each_step_is_sympys_derivative():
    """At K = 3, for every i: the softmax and its Jacobian (every k) against sympy.diff, the
    first form of ∂log L/∂s_i against the derivative of log L, each later step against the one
    before it, the last one only where Σ_k y*_k = 1. Derivatives of the softmax are rational in
    e^{s_k}: each comparison puts E_k for e^{s_k} and cancels (exact, and fast)."""
    m = appx.softmax("y", "ystar", "s")
    n = 3
    s, t = sp.symbols("s1:4"), sp.symbols("t1:4")
    big_e = sp.symbols("E1:4", positive=True)
    y_free = sp.symbols("y1:4", positive=True)
    soft = [sp.exp(s[k]) / sum(sp.exp(v) for v in s) for k in range(n)]
    as_e = {sp.exp(s[k]): big_e[k] for k in range(n)}

    def same(a, b) -> bool:
        return sp.cancel(sp.expand_log((a - b).subs(as_e), force=True)) == 0

    with_softmax = {m.y[k + 1]: soft[k] for k in range(n)}
    with_softmax.update({m.t[k + 1]: t[k] for k in range(n)} | {m.s[k + 1]: s[k] for k in range(n)})
    generic = {m.y[k + 1]: y_free[k] for k in range(n)} | {m.t[k + 1]: t[k] for k in range(n)}
    loglik = sum(t[k] * sp.log(soft[k]) for k in range(n))
    assert same(_at(m.loglik, m, n, 1, with_softmax), loglik)
    density = _at(m.density, m, n, 1, generic)
    assert sp.expand(density - sp.Mul(*[y_free[k] ** t[k] for k in range(n)])) == 0
    for i in range(1, n + 1):
        assert same(_at(m.output, m, n, i, with_softmax), soft[i - 1])
        # the Jacobian with the Kronecker δ: ∂y_k/∂s_i = y_k(δ_ik − y_i), for every k
        for k in range(1, n + 1):
            jac = m.jacobian.subs({m.k: k, m.i: i}).subs(with_softmax)
            assert same(jac, sp.diff(soft[k - 1], s[i - 1])), (i, k)
        # the first form (eq. 40) with the softmax put in is the derivative of log L
        assert same(_at(m.chain[0], m, n, i, with_softmax), sp.diff(loglik, s[i - 1]))
        # each step equals the one before, as an identity in independent y and t ...
        steps = [_at(e, m, n, i, generic) for e in m.chain]
        for before, after in zip(steps[:-2], steps[1:-1]):
            assert sp.cancel(before - after) == 0, (i, before, after)
        # ... except the last, which uses Σ_k y*_k = 1
        one_hot = {t[2]: 1 - t[0] - t[1]}
        assert sp.expand(steps[-2] - steps[-1]) != 0
        assert sp.expand((steps[-2] - steps[-1]).subs(one_hot)) == 0
        assert steps[-1] == t[i - 1] - y_free[i - 1]


# --- the log-likelihood of each loss --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KIND))
def test_each_loss_is_a_log_likelihood_up_to_a_constant(name):
    """log p(t|x) (SymPy's logarithm of the density) = ±loss + a constant free of every
    symbol: −(K/2) log 2π for the Gaussian (K = 2 outputs), 0 otherwise."""
    y, t = sp.symbols("y1 y2", positive=True), sp.symbols("t1 t2")
    rule = rules.LOSSES[name]
    loss = sum(rule.term(a, b) for a, b in zip(y, t))
    lik = likelihood(KIND[name], list(y), list(t), loss, rule.maximize, registry_term(name))
    assert lik.sign == (1 if rule.maximize else -1)
    assert not lik.constant.free_symbols
    expected = -sp.log(2 * sp.pi) if KIND[name] == "gaussian" else 0
    assert sp.simplify(lik.constant - expected) == 0
    assert sp.simplify(lik.total - lik.sign * loss - lik.constant) == 0
    # the descended losses are the negatives of their log-likelihoods
    if name in LOGLIK:
        other = rules.LOSSES[LOGLIK[name]]
        assert sp.simplify(rule.term(y[0], t[0]) + other.term(y[0], t[0])) == 0


def test_the_net_s_loss_is_recognised():
    assert loss_rule_of(load_spec("jacobs")) == "gaussian_loglik"
    assert loss_rule_of(load_spec("jacobs_softmax")) == "multinomial_loglik"
    assert loss_rule_of(load_spec("mazur")) == "half_sse"
    assert loss_rule_of(load_spec_text(GRAPH, source="g", name="g", level="unit")) is None
    half = GRAPH.replace("(t - a)^4/4", "(t - a)^2/2")
    assert loss_rule_of(load_spec_text(half, source="g", name="g", level="unit")) == "half_sse"


# --- the handouts ---------------------------------------------------------------------------


UNIT_ORDER = [
    "The log-likelihood and gradient ascent",
    "Batch training",
    "The worked example",
    "The forward step",
    "The log-likelihood",
    "The backward step",
    "Updating the weights",
    "Plotting the log-likelihood",
    "Appendix A: binary classification",
    "Appendix B: multiway classification",
]


def test_jacobs_unit_handout_follows_the_lecture(no_training):
    net = load_spec("jacobs")
    tex = _unit_tex(net)
    assert _titles(tex) == UNIT_ORDER
    # Gaussian log-likelihood with unit variance, the constant −log 2π for two outputs
    assert r"\sqrt{2 \pi}" in tex and r"&= \log L - \log{\left(2 \pi \right)}" in tex
    assert r"w(n+1) &= w(n) + \epsilon\, \frac{\partial \log L(n)}{\partial w(n)}" in tex
    # batch training over the one example, said so
    assert r"\log L(n) &= \sum_t \log L(t)" in tex and "its one example" in tex
    # the δ's as derivatives of log L, in the net's symbols
    assert r"\delta^{y}_{1} &= \frac{\partial \log L}{\partial s^{y}_{1}}" in tex
    # the worked numbers are the derivation's (σ(4), and δ^y_2 = 0 − y_2)
    w = unit._Writer(derive(net), 9)
    assert w.values[sp.Symbol("h_1")] == "0.982013790" and "0.982013790" in tex
    assert w.values[sp.Symbol("delta__y_2")] in tex
    # appendix A ends on y* − y, appendix B on y*_i − y_i with the condition it uses
    a = tex[tex.index("Appendix A") : tex.index("Appendix B")]
    assert r" &= y^{*} - y" in a and r"\delta^{y} = \partial \log L/\partial s = y^{*} - y" in a
    b = tex[tex.index("Appendix B") :]
    assert r"y_{k} \left(\delta_{ik} - y_{i}\right)" in b
    assert r"&= y^{*}_{i} - y_{i} \qquad \text{since } \sum_k y^{*}_{k} = 1" in b


def test_descended_losses_read_as_ascent(no_training):
    tex = _unit_tex(load_spec("mazur"))
    assert _titles(tex)[:2] == UNIT_ORDER[:2] and _titles(tex)[-2:] == UNIT_ORDER[-2:]
    assert r"&= -E_{total} - \log{\left(2 \pi \right)}" in tex
    assert "gradient ascent on $\\log L$ is gradient descent on $E_{total}$" in tex
    assert r"&= w(n) - \eta\, \frac{\partial E_{total}(n)}{\partial w(n)}" in tex


def test_a_net_s_own_output_is_named_in_its_appendix(no_training):
    net = load_spec("jacobs_softmax")
    tex = _unit_tex(net)
    matched = unit.matched_output(unit._Writer(derive(net), 9))
    b = tex[tex.index("Appendix B") :]
    assert matched["delta"] in b and matched["softmax"] in b
    # the backward step points there instead of repeating it
    assert "This simplified form is what the steps below use" not in tex
    assert "derived in Appendix~B" in tex
    coin = load_spec_text(COIN, source="coin", name="coin", level="unit")
    tex = _unit_tex(coin)
    a = tex[tex.index("Appendix A") : tex.index("Appendix B")]
    assert unit.matched_output(unit._Writer(derive(coin), 9))["delta"] in a
    assert "Bernoulli variable" in tex[: tex.index("Batch training")]


def test_a_loss_that_is_no_likelihood_says_so(no_training):
    tex = _unit_tex(load_spec_text(GRAPH, source="g", name="g", level="unit"))
    assert "none of the lecture's" in tex and _titles(tex)[-1] == UNIT_ORDER[-1]


def test_no_solutions_leaks_nothing(no_training):
    """The built-in examples in their own (jacobs) style are checked by test_handout_leaks;
    here a net of another lecture in this style."""
    d = derive(load_spec("mazur"))
    context = unit.handout_context(d, source="mazur", show_solutions=False, style="jacobs")
    answers = _answers(d, context)
    assert answers
    tex = _text(render("latex", "handout.tex.jinja", **context))
    assert "Appendix B" in tex
    assert not {k: v for k, v in answers.items() if _appears(v, tex)}


def test_layer_handouts_in_the_jacobs_style(no_training):
    tex = _layer_tex(GAUSS_LAYER)
    titles = _titles(tex)
    assert titles[:3] == ["The network", "The log-likelihood and gradient ascent", "Batch training"]
    assert titles[-2:] == UNIT_ORDER[-2:]
    assert r"-C_x - 5 \log{\left(2 \pi \right)}" in tex  # ten Gaussian outputs
    assert r"\sum_{t=1}^{200} \log L(t)" in tex and "synthetic" in tex
    assert r"W^l(n+1) &= W^l(n) + \eta\, \frac{\partial \log L(n)}{\partial W^l(n)}" in tex
    assert "mini-batch of 10" in tex
    tex = _layer_tex(SOFTMAX_LAYER)
    assert r"\prod_{j} {a^{L}_{j}}^{y_{j}}" in tex and "Gaussian prior" in tex
    b = tex[tex.index("Appendix B") :]
    assert r"$\delta^L = a^L - y$" in b  # the net's own softmax output
    assert "Softmax with cross-entropy" not in tex  # appendix B replaces the fused section
    tex = _layer_tex(COIN_LAYER)
    a = tex[tex.index("Appendix A") : tex.index("Appendix B")]
    assert r"$\delta^L = y - a^L$" in a and r"y_j z^L_j - \operatorname{softplus}(z^L_j)" in a
    assert (
        r"= \sum_{j} y_{j} \log{\left(a^{L}_{j} \right)}" not in tex
    )  # Bernoulli, not multinomial
    assert "Bernoulli variable" in tex


def test_compiled_handouts_have_no_box_over_a_point(no_training, require_pdflatex):
    for tex in (
        _unit_tex(load_spec("jacobs")),
        _unit_tex(load_spec("jacobs_softmax"), solutions=False),
        _layer_tex(SOFTMAX_LAYER, solutions=False),
    ):
        _, log = compile_with_log(tex, runs=1)
        assert not box_warnings(log)

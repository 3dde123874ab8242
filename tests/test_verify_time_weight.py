"""Unrolled sums that name the weight itself, and gradients written ∂E/∂w(s), proved for every t.

Convention (timesteps.py's): pass s is the forward and backward pass the step s − 1 → s takes,
at the weights w(s − 1); ``\\delta_j(s)``, ``y_i(s)`` and ``\\frac{\\partial E}{\\partial
w_{ij}}(s)`` are all of that pass, so plain gradient descent unrolls to
``w(t+1) = w(0) - \\eta \\sum_{s=1}^{t+1} \\frac{\\partial E}{\\partial w}(s)``.

The oracle is independent of verify: the textbook update rules written out here in floats, run
for four steps on the net with the derivation's own gradients (``derivation.evaluate``) at each
step, and every claim's closed form transcribed here as a Python function of t. A true claim
matches the run at t = 0 … 3 and must be ``correct``; each planted slip (a sum bound, μ's power
off by one, a sign, a missing η) misses it and must be ``wrong``.
"""

from __future__ import annotations

import math

import pytest

from symbackprop.derivation.evaluate import evaluate
from symbackprop.derivation.unit import derive
from symbackprop.spec.load import load_spec
from symbackprop.verify.claimcheck import Checker
from symbackprop.verify.resolve import NetworkResolver
from symbackprop.verify.run import check_line

STEPS = 4
SETTINGS = {"mu": 0.6, "eps": 1e-3, "rho": 0.7, "beta1": 0.8, "beta2": 0.9}
_MEMO: dict = {}


def _spec(name: str):  # noqa: ANN202
    if name not in _MEMO:
        d = derive(load_spec(name))
        _MEMO[name] = (d, Checker(NetworkResolver(d)))
    return _MEMO[name]


def verdict(spec: str, text: str):  # noqa: ANN201
    return check_line(_spec(spec)[1], text)


def run(spec: str, rule: str) -> tuple[dict, dict]:
    """Every parameter's weights w(0 … STEPS) and gradients g(1 … STEPS) (g(k) at w(k − 1)),
    the rule written out in floats."""
    key = (spec, rule)
    if key in _MEMO:
        return _MEMO[key]
    d = _spec(spec)[0]
    net = d.network
    point = dict(net.value_map)
    lr = float(point[net.learning_rate])
    mu, eps, rho, b1, b2 = (SETTINGS[k] for k in ("mu", "eps", "rho", "beta1", "beta2"))
    w = {p: [float(point[p])] for p in net.params}
    g = {p: [] for p in net.params}
    state = {p: {"d": 0.0, "G": 0.0, "s": 0.0, "m": 0.0, "v": 0.0} for p in net.params}
    for k in range(1, STEPS + 1):
        grads = evaluate(d, {**point, **{p: w[p][-1] for p in net.params}}).gradients
        for p in net.params:
            gk, st = float(grads[p]), state[p]
            g[p].append(gk)  # ∂E/∂w, or ∂log L/∂w (Jacobs): the claim's own derivative
            gk = -gk if net.maximize else gk  # the gradient of the quantity to minimise
            if rule == "sgd":
                step = -lr * gk
            elif rule == "momentum":  # seed 001: Δw(k) = −α g(k) + μ Δw(k − 1)
                st["d"] = step = -lr * gk + mu * st["d"]
            elif rule == "adagrad":
                st["G"] += gk * gk
                step = -lr * gk / (math.sqrt(st["G"]) + eps)
            elif rule == "rmsprop":
                st["s"] = rho * st["s"] + (1 - rho) * gk * gk
                step = -lr * gk / (math.sqrt(st["s"]) + eps)
            else:  # Kingma and Ba's Adam
                st["m"] = b1 * st["m"] + (1 - b1) * gk
                st["v"] = b2 * st["v"] + (1 - b2) * gk * gk
                m_hat, v_hat = st["m"] / (1 - b1**k), st["v"] / (1 - b2**k)
                step = -lr * m_hat / (math.sqrt(v_hat) + eps)
            w[p].append(w[p][-1] + step)
    _MEMO[key] = (w, g, lr)
    return _MEMO[key]


def holds(spec: str, rule: str, closed) -> bool:  # noqa: ANN001
    """Whether ``closed(t, g, w0, lr)`` (g(s) the gradient of pass s) is w(t+1) for every
    parameter at t = 0 … STEPS − 1."""
    w, g, lr = run(spec, rule)
    for p in w:
        for t in range(STEPS):
            value = closed(t, lambda s, p=p: g[p][s - 1], w[p][0], lr)
            if not math.isclose(value, w[p][t + 1], rel_tol=1e-9, abs_tol=1e-12):
                return False
    return True


def _sum(lo: int, hi: int, term) -> float:  # noqa: ANN001
    return sum(term(s) for s in range(lo, hi + 1))


MU, B1, B2, RHO, EPS = (SETTINGS[k] for k in ("mu", "beta1", "beta2", "rho", "eps"))


def _adagrad_state(g, s: int) -> float:  # noqa: ANN001
    return _sum(1, s, lambda r: g(r) ** 2)


def _rms_state(g, s: int) -> float:  # noqa: ANN001
    return (1 - RHO) * _sum(1, s, lambda r: RHO ** (s - r) * g(r) ** 2)


def _adam(g, s: int, beta: float, power: int) -> float:  # noqa: ANN001
    return (1 - beta) * _sum(1, s, lambda r: beta ** (s - r) * g(r) ** power)


D = r"\frac{\partial E_{total}}{\partial w_5}(s)"  # mazur: its one output weight w5
DL = r"\frac{\partial \log L}{\partial w^y_{11}}(s)"  # jacobs: one output weight
DW = r"\frac{\partial E}{\partial w_{ij}}(s)"  # essa: every weight w_ij
DY = r"\delta_j(s) y_i(s)"  # the same gradient as the network's quantities of pass s
SUM = r"\sum_{s=1}^{t+1}"
W0 = r"w_{ij}(t+1) = w_{ij}(0)"

# (spec, rule, claim, closed form of the claim, whether the claim holds)
CASES = [
    # plain gradient descent (mazur's sgd), the weight unrolled from w(0)
    ("mazur", "sgd", rf"w_5(t+1) = w_5(0) - \eta {SUM} {D}",
     lambda t, g, w0, lr: w0 - lr * _sum(1, t + 1, g), True),
    ("mazur", "sgd", rf"w_5(t) = w_5(0) - \eta \sum_{{s=1}}^{{t}} {D}",
     lambda t, g, w0, lr: w0 - lr * _sum(1, t + 1, g), True),
    ("mazur", "sgd", rf"w_5(t+1) = w_5(0) - \eta \sum_{{s=1}}^{{t}} {D}",  # one step short
     lambda t, g, w0, lr: w0 - lr * _sum(1, t, g), False),
    ("mazur", "sgd", rf"w_5(t+1) = w_5(0) + \eta {SUM} {D}",  # sign
     lambda t, g, w0, lr: w0 + lr * _sum(1, t + 1, g), False),
    ("mazur", "sgd", rf"w_5(t+1) = w_5(0) - {SUM} {D}",  # η missing
     lambda t, g, w0, lr: w0 - _sum(1, t + 1, g), False),
    # Jacobs' log-likelihood, climbed: w(t+1) = w(0) + ε Σ ∂log L/∂w(s)
    ("jacobs", "sgd", rf"w^y_{{11}}(t+1) = w^y_{{11}}(0) + \epsilon {SUM} {DL}",
     lambda t, g, w0, lr: w0 + lr * _sum(1, t + 1, g), True),
    ("jacobs", "sgd", rf"w^y_{{11}}(t+1) = w^y_{{11}}(0) - \epsilon {SUM} {DL}",  # descended
     lambda t, g, w0, lr: w0 - lr * _sum(1, t + 1, g), False),
    # momentum (essa): the weight from its steps, and in the gradients alone
    ("essa", "momentum", rf"w_{{ij}}(t+1) = w_{{ij}}(0) + {SUM} \Delta w_{{ij}}(s)",
     lambda t, g, w0, lr: w0 - lr * _sum(1, t + 1, lambda s: _sum(
         1, s, lambda r: MU ** (s - r) * g(r))), True),
    ("essa", "momentum",
     rf"w_{{ij}}(t+1) = w_{{ij}}(0) - \alpha {SUM} \frac{{1 - \mu^{{t+2-s}}}}{{1 - \mu}} {DW}",
     lambda t, g, w0, lr: w0 - lr * _sum(1, t + 1, lambda s: (1 - MU ** (t + 2 - s))
                                         / (1 - MU) * g(s)), True),  # fmt: skip
    ("essa", "momentum",
     rf"w_{{ij}}(t+1) = w_{{ij}}(0) - \alpha {SUM} \frac{{1 - \mu^{{t+2-s}}}}{{1 - \mu}} {DY}",
     lambda t, g, w0, lr: w0 - lr * _sum(1, t + 1, lambda s: (1 - MU ** (t + 2 - s))
                                         / (1 - MU) * g(s)), True),  # fmt: skip
    ("essa", "momentum",  # μ's power one short
     rf"w_{{ij}}(t+1) = w_{{ij}}(0) - \alpha {SUM} \frac{{1 - \mu^{{t+1-s}}}}{{1 - \mu}} {DW}",
     lambda t, g, w0, lr: w0 - lr * _sum(1, t + 1, lambda s: (1 - MU ** (t + 1 - s))
                                         / (1 - MU) * g(s)), False),  # fmt: skip
    ("essa", "momentum",
     rf"w_{{ij}}(t+1) = w_{{ij}}(t) - \alpha {SUM} \mu^{{t+1-s}} {DW}",
     lambda t, g, w0, lr: None, True),  # checked against the run below through w(t)
    ("essa", "momentum",  # μ^{t-s}: off by one
     rf"w_{{ij}}(t+1) = w_{{ij}}(t) - \alpha {SUM} \mu^{{t-s}} {DW}",
     lambda t, g, w0, lr: None, False),
    # Adagrad, RMSprop, Adam: w(t+1) in terms of the state at each step
    ("essa", "adagrad",
     rf"{W0} - {SUM} \frac{{\alpha}}{{\sqrt{{G_{{ij}}(s)}} + \epsilon}} {DW}",
     lambda t, g, w0, lr: w0 - _sum(1, t + 1, lambda s: lr / (math.sqrt(_adagrad_state(g, s))
                                                              + EPS) * g(s)), True),  # fmt: skip
    ("essa", "adagrad",  # the state a step early
     rf"{W0} - {SUM} \frac{{\alpha}}{{\sqrt{{G_{{ij}}(s-1)}} + \epsilon}} {DY}",
     lambda t, g, w0, lr: w0 - _sum(1, t + 1, lambda s: lr / (math.sqrt(_adagrad_state(g, s - 1))
                                                              + EPS) * g(s)), False),  # fmt: skip
    ("essa", "rmsprop",
     rf"{W0} - {SUM} \frac{{\alpha}}{{\sqrt{{s_{{ij}}(s)}} + \epsilon}} {DY}",
     lambda t, g, w0, lr: w0 - _sum(1, t + 1, lambda s: lr / (math.sqrt(_rms_state(g, s))
                                                              + EPS) * g(s)), True),  # fmt: skip
    ("essa", "adam",
     rf"w_{{ij}}(t+1) = w_{{ij}}(0) - \alpha {SUM} \frac{{m_{{ij}}(s) / (1 - \beta_1^{{s}})}}"
     rf"{{\sqrt{{v_{{ij}}(s) / (1 - \beta_2^{{s}})}} + \epsilon}}",
     lambda t, g, w0, lr: w0 - lr * _sum(1, t + 1, lambda s: _adam(g, s, B1, 1) / (1 - B1**s) / (
         math.sqrt(_adam(g, s, B2, 2) / (1 - B2**s)) + EPS)), True),
    ("essa", "adam",  # β1's power one off
     rf"w_{{ij}}(t+1) = w_{{ij}}(0) - \alpha {SUM} \frac{{m_{{ij}}(s) / (1 - \beta_1^{{s+1}})}}"
     rf"{{\sqrt{{v_{{ij}}(s) / (1 - \beta_2^{{s}})}} + \epsilon}}",
     lambda t, g, w0, lr: w0 - lr * _sum(1, t + 1, lambda s: _adam(g, s, B1, 1)
                                         / (1 - B1 ** (s + 1))
                                         / (math.sqrt(_adam(g, s, B2, 2) / (1 - B2**s)) + EPS)),
     False),
]  # fmt: skip


def _momentum_recursive(off: int):  # noqa: ANN202
    """w(t+1) = w(t) − α Σ_{s=1}^{t+1} μ^{t+1−s−off} g(s), checked step by step on the run."""

    def check() -> bool:
        w, g, lr = run("essa", "momentum")
        for p in w:
            for t in range(STEPS):
                terms = [MU ** (t + 1 - s - off) * g[p][s - 1] for s in range(1, t + 2)]
                value = w[p][t] - lr * sum(terms)
                if not math.isclose(value, w[p][t + 1], rel_tol=1e-9, abs_tol=1e-12):
                    return False
        return True

    return check


@pytest.mark.parametrize(("spec", "rule", "text", "closed", "true"), CASES)
def test_the_oracle_agrees_with_the_verdict(spec, rule, text, closed, true):
    if closed(0, lambda s: 1.0, 0.0, 1.0) is None:  # the recursive form: w(t) beside the sum
        assert _momentum_recursive(0 if true else 1)() is true
    else:
        assert holds(spec, rule, closed) is true
    v = verdict(spec, text)
    assert v.verdict == ("correct" if true else "wrong"), v
    if true:
        assert v.method == "proved for every t by induction"
        name = {"sgd": "stochastic", "momentum": "momentum", "adagrad": "Adagrad"}
        assert name.get(rule, {"rmsprop": "RMSprop", "adam": "Adam"}.get(rule)) in v.message


def test_a_gradient_at_a_step_is_not_a_product():
    """∂E/∂w(t+1) outside a sum is the gradient the step t → t+1 takes, not ∂E/∂w times t+1."""
    assert (
        verdict(
            "mazur", r"w_5(t+1) = w_5(t) - \eta \frac{\partial E_{total}}{\partial w_5}(t+1)"
        ).verdict
        == "correct"
    )
    d = r"\frac{\partial E}{\partial w_{ij}}(t+1) = \delta_j(t+1) y_i(t+1)"
    assert verdict("essa", d).verdict == "correct"


def test_pass_zero_does_not_exist():
    """The gradient at w(s) for s = 0 … t is pass s + 1: a sum of ∂E/∂w(s) from s = 0 names a
    pass that is not, and says so (the sum of the gradients at w(0) … w(t) is s = 1 … t+1)."""
    v = verdict("mazur", rf"w_5(t+1) = w_5(0) - \eta \sum_{{s=0}}^{{t}} {D}")
    assert v.verdict == "unreadable"
    assert "step 0" in v.message and "pass s is the one the step s - 1 → s takes" in v.message


def test_a_step_number_outside_a_sum_is_refused_in_one_line():
    v = verdict("mazur", r"w_5(t+1) = w_5(0) - \eta \frac{\partial E_{total}}{\partial w_5}(t+1)")
    assert v.verdict == "unreadable", v
    assert "a step number is read in a claim with a sum over the steps" in v.message


@pytest.mark.parametrize(
    "gradient",
    [
        r"\partial E_{total}/\partial w_{ho}(s)",
        r"\nabla_{w_{ho}} E_{total}(s)",
        r"\delta_o(s) out_h(s)",
    ],
)
def test_other_ways_to_write_the_gradient_of_pass_s(gradient):
    v = verdict("mazur", rf"w_{{ho}}(t+1) = w_{{ho}}(0) - \eta {SUM} {gradient}")
    assert v.verdict == "correct", v
    assert "4 instances" in v.message
    assert verdict("mazur", rf"w_{{ho}}(t+1) = w_{{ho}}(0) - {SUM} {gradient}").verdict == "wrong"


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        # true at t = 0, 1, 2 only (t(t-1)(t-2) is a product of times, not t at step t - 1)
        ("mazur", rf"w_5(t+1) = w_5(0) - \eta {SUM} {D} + t(t-1)(t-2)"),
        (
            "essa",
            rf"w_{{ij}}(t+1) = w_{{ij}}(0) + {SUM} \Delta w_{{ij}}(s) + t(t-1)(t-2) \delta_j y_i",
        ),
    ],
)
def test_true_only_for_the_first_steps_is_never_correct(spec, text):
    v = verdict(spec, text)
    assert v.verdict == "undecided", v
    assert "t = 0, 1, 2" in v.message and "not proven for every t" in v.message


def test_the_unrolled_weight_homework_is_graded():
    """examples/homework/weight_unrolled.tex: the convention line, the step, the telescoped sum,
    the closed form with ∇ and Adagrad's form are correct; the update with its sign dropped and
    the closed form with μ's power one short (the chain's second link) are wrong."""
    from pathlib import Path

    from symbackprop.verify.document import verify_document

    path = Path(__file__).parent.parent / "examples" / "homework" / "weight_unrolled.tex"
    report = verify_document(load_spec("essa"), path.read_text(encoding="utf-8"), source=str(path))
    got = {(v.label, v.verdict) for v in report.verdicts}
    assert got == {
        (None, "correct"),
        ("eq:step", "correct"),
        ("eq:telescoped", "correct"),
        ("eq:update", "wrong"),
        ("eq:closed", "correct"),
        ("eq:closed-dy", "wrong"),
        ("eq:adagrad", "correct"),
    }
    assert report.score() == "5/7 correct, 2 wrong, 0 unreadable"
    proved = [v for v in report.verdicts if v.label in ("eq:closed", "eq:adagrad")]
    assert all(v.method == "proved for every t by induction" for v in proved)

"""Unrolled sums over the optimizer's steps, proved for every t by induction.

The closed forms are the textbook's (seed 001's momentum; PyTorch's velocity; Adagrad's sum of
squares; Adam's and RMSprop's exponentially weighted averages), written here independently of
the registry's rules. The runs find a slip at t = 0, 1, 2; a claim that holds there but not for
every t (a term with the factor t(t−1)(t−2), zero at t = 0, 1, 2 and not at t = 3) must never be
``correct``: the induction's step leaves it, so it is ``undecided`` with why.
"""

from __future__ import annotations

import pytest

from symbackprop.derivation.unit import derive
from symbackprop.spec.load import load_spec
from symbackprop.verify.claimcheck import Checker
from symbackprop.verify.resolve import NetworkResolver
from symbackprop.verify.run import check_line

_CK: dict = {}


def verdict(text: str):  # noqa: ANN201
    if "essa" not in _CK:
        _CK["essa"] = Checker(NetworkResolver(derive(load_spec("essa"))))
    return check_line(_CK["essa"], text)


SUM = r"\sum_{s=1}^{t+1}"
G = r"\delta_j(s) y_i(s)"  # ∂E/∂w_ij at pass s


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        # seed 001's step form (θ += Δw), its own recursion written before the sum, and at t
        (rf"\Delta w_{{ij}}(t+1) = -{SUM} \mu^{{t+1-s}} \alpha {G}", "momentum"),
        (
            rf"-\alpha \delta_j(t+1) y_i(t+1) + \mu \Delta w_{{ij}}(t) = -{SUM} \mu^{{t+1-s}} "
            rf"\alpha {G}",
            "momentum",
        ),
        (rf"\Delta w_{{ij}}(t) = -\sum_{{s=1}}^{{t}} \mu^{{t-s}} \alpha {G}", "momentum"),
        # PyTorch's velocity (θ −= η v): the other sign convention, chained with its recursion
        (rf"v_{{ij}}(t+1) = \mu v_{{ij}}(t) + \delta_j y_i = {SUM} \mu^{{t+1-s}} {G}", "momentum"),
        (rf"G_{{ij}}(t+1) = {SUM} ({G})^2", "Adagrad"),
        (rf"m_{{ij}}(t+1) = (1 - \beta_1) {SUM} \beta_1^{{t+1-s}} {G}", "Adam"),
        (rf"s_{{ij}}(t+1) = (1 - \rho) {SUM} \rho^{{t+1-s}} ({G})^2", "RMSprop"),
    ],
)
def test_true_unrolled_sums_are_proved(text, rule):
    v = verdict(text)
    assert v.verdict == "correct", v
    assert v.method == "proved for every t by induction"
    assert rule in v.message and "8 instances" in v.message


@pytest.mark.parametrize(
    "text",
    [
        rf"\Delta w_{{ij}}(t+1) = -{SUM} \mu^{{t+1-s}} \alpha {G} + (t-1)(t-2) t",
        rf"G_{{ij}}(t+1) = {SUM} ({G})^2 + (t-1)(t-2) t \delta_j y_i",
    ],
)
def test_true_only_for_the_first_steps_is_never_correct(text):
    v = verdict(text)
    assert v.verdict == "undecided", v
    assert "t = 0, 1, 2" in v.message and "not proven for every t" in v.message


@pytest.mark.parametrize(
    "text",
    [
        rf"\Delta w_{{ij}}(t+1) = -{SUM} \mu^{{t-s}} \alpha {G}",  # power off by one
        rf"v_{{ij}}(t+1) = {SUM} \mu^{{s-1}} {G}",  # the weights reversed
        rf"m_{{ij}}(t+1) = (1 - \beta_2) {SUM} \beta_1^{{t+1-s}} {G}",  # β2 for β1
        rf"G_{{ij}}(t+1) = {SUM} {G}",  # not squared
    ],
)
def test_slips_are_wrong(text):
    assert verdict(text).verdict == "wrong"

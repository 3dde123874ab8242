"""Adam's bias-corrected moments as teachers write them (Kingma and Ba's time subscripts, or a
weight's time argument), checked against the registry's Adam. The true forms are written here
from the paper (m̂_t = m_t / (1 − β1^t), v̂_t = v_t / (1 − β2^t), θ_t = θ_{t−1} − α m̂_t /
(√v̂_t + ε)); each planted slip must be wrong with the diagnosis that names it."""

from __future__ import annotations

import pytest

from symbackprop.derivation.unit import derive
from symbackprop.spec.load import load_spec
from symbackprop.verify import claimparse as cp
from symbackprop.verify.claimcheck import Checker
from symbackprop.verify.resolve import NetworkResolver
from symbackprop.verify.run import check_line

_CK: dict = {}


def verdict(text: str):  # noqa: ANN201
    if "essa" not in _CK:
        _CK["essa"] = Checker(NetworkResolver(derive(load_spec("essa"))))
    return check_line(_CK["essa"], text)


def test_hats_are_read():
    for text in (r"\hat{m}_t", r"\hat m_t", r"\widehat{m}_t", r"\hat{m}_{t}"):
        assert cp.parse_claim_line(text + " = 1").sides[0] == cp.Name("hat:m", "t")


TRUE = [
    r"\hat{m}_t = \frac{m_t}{1 - \beta_1^t}",
    r"\hat{v}_t = \frac{v_t}{1 - \beta_2^t}",
    r"\widehat{m}_{t+1} = m_{t+1} / (1 - \beta_1^{t+1})",
    r"m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t",
    r"v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2",
    r"\theta_t = \theta_{t-1} - \frac{\alpha \hat{m}_t}{\sqrt{\hat{v}_t} + \epsilon}",
    r"\hat m_{ij}(t+1) = \frac{m_{ij}(t+1)}{1 - \beta_1^{t+1}}",
    r"w_{ij}(t+1) = w_{ij}(t) - \frac{\alpha \hat m_{ij}(t+1)}{\sqrt{\hat v_{ij}(t+1)} + \epsilon}",
]


@pytest.mark.parametrize("text", TRUE)
def test_true_forms_are_correct(text):
    v = verdict(text)
    assert v.verdict == "correct", v


@pytest.mark.parametrize(
    ("text", "diagnosis"),
    [
        (r"\hat{m}_t = \frac{m_t}{1 - \beta_1^{t+1}}", "wrong power of \\beta_{1}: one more"),
        (r"\hat{m}_t = \frac{m_t}{1 - \beta_1^{t-1}}", "wrong power of \\beta_{1}: one less"),
        (r"\hat{v}_t = \frac{v_t}{1 - \beta_1^t}", "\\beta_{1} where \\beta_{2} is meant"),
        (r"m_t = \beta_2 m_{t-1} + (1 - \beta_2) g_t", "\\beta_{2} where \\beta_{1} is meant"),
        (
            r"\theta_t = \theta_{t-1} - \frac{\alpha \hat{m}_t}{\hat{v}_t + \epsilon}",
            "missing square root: \\sqrt{\\hat v}",
        ),
        (r"v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t", "missing square: g^2"),
        (
            r"w_{ij}(t+1) = w_{ij}(t) - \frac{\alpha \hat m_{ij}(t+1)}{\sqrt{\hat v_{ij}(t)} "
            r"+ \epsilon}",
            "\\hat v_{ij} at a step before the one meant",
        ),
    ],
)
def test_slips_are_wrong_and_named(text, diagnosis):
    v = verdict(text)
    assert v.verdict == "wrong", v
    assert v.factor is not None and diagnosis in v.factor, v.factor

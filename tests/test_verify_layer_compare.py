"""Comparisons at the layer level: settings at the spec's values, the net's quantities at its
worked example (the expected values computed here with NumPy, independently)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from symbackprop.spec.load import load_spec
from symbackprop.verify.layer import LayerChecker
from symbackprop.verify.run import check_line

SPEC = Path(__file__).resolve().parent.parent / "examples/claims/nielsen_2_3_4.toml"
_CK: dict = {}


def checker(name: str) -> LayerChecker:
    if name not in _CK:
        net = load_spec(str(SPEC), level="layer") if name == "2-3-4" else load_spec(name)
        _CK[name] = LayerChecker(net)
    return _CK[name]


def example_activations() -> list[np.ndarray]:
    """a^2, a^3 of the 2-3-4 example (a^1 = x, as its nielsen-style handout numbers layers),
    from the spec's numbers (σ(W a + b))."""
    x = np.array([0.5, -0.25])
    w1 = np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]])
    b1 = np.array([0.1, -0.1, 0.2])
    w2 = np.array([[0.7, -0.8, 0.9], [-0.1, 0.2, -0.3], [0.4, -0.5, 0.6], [-0.7, 0.8, -0.9]])
    b2 = np.array([0.05, -0.05, 0.15, -0.15])
    a1 = 1 / (1 + np.exp(-(w1 @ x + b1)))
    return [a1, 1 / (1 + np.exp(-(w2 @ a1 + b2)))]


def verdict(net: str, claim: str):  # noqa: ANN201
    return check_line(checker(net), claim)


@pytest.mark.parametrize(
    ("claim", "want"),
    [
        (r"0 < \eta", "correct"),  # digits: η = 0.01, Adam β1 = 0.9, β2 = 0.999, ε = 1e-8
        (r"0 < \beta_1 < 1", "correct"),
        (r"\beta_1 \le \beta_2", "correct"),
        (r"\beta_2 \ge 0.9991", "wrong"),
        (r"\epsilon > 0.1", "wrong"),
        (r"\eta < 0.01", "wrong"),
        (r"\eta \le 0.01", "correct"),
        (r"\mu < 1", "unreadable"),  # Adam has no momentum setting
        (r"a^2_1 < 1", "unreadable"),  # no worked example on digits
    ],
)
def test_settings(claim, want):
    v = verdict("digits", claim)
    assert v.verdict == want, v.message
    if claim == r"\mu < 1":
        assert "no setting of the spec's optimizer adam" in v.message


def test_quantities_at_the_example():
    a1, a2 = example_activations()
    lo, hi = a1[0] - 1e-6, a1[0] + 1e-6
    assert verdict("2-3-4", f"a^2_1 < {hi:.7f}").verdict == "correct"
    wrong = verdict("2-3-4", f"a^2_1 < {lo:.7f}")
    assert wrong.verdict == "wrong"
    assert f"{a1[0]:.10g}" in wrong.message
    assert verdict("2-3-4", f"{lo:.7f} < a^2_1 < {hi:.7f}").verdict == "correct"
    # every unit of a layer: the largest a^3_j is the bound that decides
    top = a2.max()
    assert verdict("2-3-4", f"a^3_j < {top + 1e-6:.7f}").verdict == "correct"
    wrong = verdict("2-3-4", f"a^3_j < {top - 1e-6:.7f}")
    assert wrong.verdict == "wrong"
    assert f"j={int(a2.argmax()) + 1}" in wrong.message
    # a layer letter: a^1 = x has a negative entry, so 0 < a^l_j fails at l = 1
    wrong = verdict("2-3-4", "0 < a^l_j < 1")
    assert wrong.verdict == "wrong" and "l=1, j=2" in wrong.message
    assert verdict("2-3-4", "0 < a^l_j < 1").verdict == "wrong"
    assert verdict("2-3-4", r"0 < \eta").verdict == "correct"  # η = 3
    assert verdict("2-3-4", r"\eta < 3").verdict == "wrong"

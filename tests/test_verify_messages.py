"""What a wrong verdict prints is LaTeX in the claim's own notation: no SymPy text (``**``,
``*``), no internal names (``m(W_13, t)``, ``s(t)``); a corrected claim is confirmed by reading
it back (the checker itself is the oracle)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from symbackprop.derivation.unit import derive
from symbackprop.spec.load import load_spec
from symbackprop.verify.claimcheck import Checker
from symbackprop.verify.document import verify_document
from symbackprop.verify.resolve import NetworkResolver
from symbackprop.verify.run import check_line, verify_text

ROOT = Path(__file__).resolve().parent.parent
RAW = re.compile(r"\*\*|(?<![\\\w])\w+\*|\*\w|\w\((?:[A-Za-z]+_\d+, )?t\)|\b[swmG]\(t\)")


def _checker(spec: str) -> Checker:
    return Checker(NetworkResolver(derive(load_spec(spec))))


def _printed(v) -> str:  # noqa: ANN001 - a Verdict
    return " ".join(str(x) for x in (v.message, v.correct, v.factor) if x)


@pytest.fixture(scope="module")
def adam():
    text = (ROOT / "examples" / "homework" / "adam_macros.tex").read_text("utf-8")
    return verify_document(load_spec("essa"), text, source="adam_macros.tex")


def test_adam_corrections_are_the_students_claim_fixed(adam):
    by_label = {v.label: v for v in adam.verdicts}
    vhat, mhat = by_label["eq:vhat"], by_label["eq:mhat-w"]
    assert vhat.verdict == mhat.verdict == "wrong"
    assert vhat.correct == r"\hat{v}_{t} = \frac{v_{t}}{1 - \beta_{2}^{t}}"
    assert mhat.correct.startswith(r"\hat{m}_{ij}(t+1) = \frac{\beta_{1} m_{ij}(t)")
    assert mhat.correct.endswith(r"{1 - \beta_{1}^{t+1}}")
    # the rule's side of the message in the student's letters and time index
    assert r"v_{t-1} \beta_{2}" in vhat.message and "m_{13}(t)" in mhat.message
    for v in (vhat, mhat):
        assert not RAW.search(_printed(v)), _printed(v)
        # the oracle: the corrected text, read again on a fresh checker, is correct
        again = check_line(_checker("essa"), v.correct, 1)
        assert again.verdict == "correct", (v.correct, again.message)


CLAIMS = [
    ("essa", "seed001_essa.txt"),
    ("mazur", "seed000_mazur.txt"),
    ("jacobs", "seed003_jacobs.txt"),
]


@pytest.mark.parametrize(("spec", "name"), CLAIMS)
def test_no_message_prints_sympy_text(spec, name):
    text = (ROOT / "examples" / "claims" / name).read_text("utf-8")
    verdicts = verify_text(derive(load_spec(spec)), text)
    wrong = [v for v in verdicts if v.verdict == "wrong"]
    assert wrong
    for v in wrong:
        assert not RAW.search(_printed(v)), (v.line, _printed(v))
        points = " ".join((v.counterexample or {}).get("point", {}))
        assert not RAW.search(points) and "_13" not in points, points


def test_a_diagnosed_slip_is_printed_fixed_and_confirmed():
    n234 = str(ROOT / "examples" / "claims" / "nielsen_2_3_4.toml")
    ck = _checker(n234)
    # a sign slip on nielsen's dC/da: the correction is the student's claim, negated
    v = check_line(ck, r"\frac{\partial C}{\partial a^L_j} = y_j - a^L_j", 1)
    assert v.verdict == "wrong" and v.correct is not None
    assert v.correct == r"\frac{\partial C}{\partial a_{j}^{L}} = -\left(y_{j} - a_{j}^{L}\right)"
    assert check_line(_checker(n234), v.correct, 1).verdict == "correct"
    # a wrong name in the mazur sheet: out_{h2} where out_{h1} is meant
    ck = _checker("mazur")
    v = check_line(ck, r"\frac{\partial E_{total}}{\partial w_7} = \delta_{o2} out_{h2}", 1)
    assert v.correct.endswith(r"= \delta_{o2} out_{h1}"), v.correct
    assert check_line(_checker("mazur"), v.correct, 1).verdict == "correct"


UNROLLED = r"\Delta w_{ij}(t+1) = SIGN\alpha \sum_{s=1}^{t+1} \mu^{POWER-s} \delta_j(s) y_i(s)"


def _unrolled(sign: str, power: str) -> str:
    return UNROLLED.replace("SIGN", sign).replace("POWER", power)


def test_an_unrolled_sum_with_its_sign_flipped_is_printed_negated_and_confirmed():
    """The run gives the sides opposite values: the correct line is the student's text with the
    right side negated, and it reads back correct (proved by induction on a fresh checker)."""
    claim = _unrolled("", "t+1") + r" \,"
    v = check_line(_checker("essa"), claim, 1)
    assert v.verdict == "wrong" and v.method == "unrolled run"
    assert v.correct == _unrolled("-", "t+1")
    assert check_line(_checker("essa"), v.correct, 1).verdict == "correct"


def test_an_unrolled_sum_wrong_otherwise_keeps_the_runs_value():
    """μ's power one off is not a sign slip: no rewritten claim, the run's value instead."""
    v = check_line(_checker("essa"), _unrolled("-", "t+2"), 1)
    assert v.verdict == "wrong"
    assert v.correct == v.counterexample["lhs"]

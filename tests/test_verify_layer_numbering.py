"""Layer-level ``verify`` reads layer numbers as the student's handout numbers them: the nielsen
style (the default) has the input as layer 1 (a^1 = x, first weights w^2), the other styles as
layer 0. The same claims written in either numbering get the same verdicts and diagnoses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from clirun import run

from symbackprop.derived import derived
from symbackprop.spec.load import load_spec
from symbackprop.verify.document import verify_document

CLAIMS = Path(__file__).resolve().parent.parent / "examples" / "claims"
# a layer superscript written as a number: w^2, \delta^{3} (not a power: (a^2_j)^2, e^{z})
_LAYER_NUMBER = re.compile(r"(?<![A-Za-z\\])(w|W|b|z|a|\\delta)\^(\{)?(\d+)(\})?")


def shifted(text: str, by: int) -> str:
    """``text`` with every numbered layer superscript moved by ``by`` (comment lines kept)."""

    def one(m: re.Match) -> str:
        return f"{m[1]}^{m[2] or ''}{int(m[3]) + by}{m[4] or ''}"

    return "\n".join(
        line if line.lstrip().startswith("%") else _LAYER_NUMBER.sub(one, line)
        for line in text.split("\n")
    )


@pytest.mark.parametrize("spec,name", [("nielsen", "nielsen_bp.tex"), ("digits", "digits_bp.tex")])
def test_input_zero_claims_are_graded_the_same_with_style_mazur(capsys, tmp_path, spec, name):
    path = CLAIMS / name
    text = path.read_text(encoding="utf-8")
    zero = tmp_path / name
    zero.write_text(shifted(text, -1), encoding="utf-8")
    assert zero.read_text(encoding="utf-8") != text  # the file has numbered layers to move
    code1, out1, _ = run(capsys, "verify", spec, str(path), "--format", "json")
    code0, out0, _ = run(capsys, "verify", spec, str(zero), "--format", "json", "--style", "mazur")
    assert code0 == code1
    one, zero_verdicts = json.loads(out1), json.loads(out0)
    assert [(v["line"], v["verdict"]) for v in zero_verdicts] == [
        (v["line"], v["verdict"]) for v in one
    ]
    for v0, v1 in zip(zero_verdicts, one, strict=True):
        # the same diagnosis, and the correct expression in each handout's numbering
        assert shifted(v0["factor"] or "", 1) == (v1["factor"] or ""), (v0, v1)
        assert shifted(v0["correct"] or "", 1) == (v1["correct"] or ""), (v0, v1)


def test_first_weights_are_w2_by_default_and_w1_in_mazur():
    d = derived(load_spec("digits"))  # 64-32-10, tanh then softmax, weight decay
    bp4 = r"\frac{\partial C}{\partial w^2_{jk}} = x_k \delta^2_j + \lambda w^2_{jk}"
    (v,) = d.verify(bp4)
    assert v.verdict == "correct", v.message
    (v,) = d.verify(bp4, style="mazur")  # there w^2 is the output layer's: 10 × 32
    assert v.verdict == "wrong"
    (v,) = d.verify(shifted(bp4, -1), style="mazur")
    assert v.verdict == "correct", v.message
    # the input is a^1 by default; a^0 is no layer there, and the message says so
    (v,) = d.verify("a^1_k = x_k")
    assert v.verdict == "correct", v.message
    (v,) = d.verify("a^0_k = x_k")
    assert v.verdict == "unreadable"
    assert "layers 1..3 (a^1 = x is the input)" in v.message
    (v,) = d.verify(r"\frac{\partial C}{\partial w^1_{jk}} = x_k \delta^1_j")
    assert v.verdict == "unreadable"
    assert "layers 2..3 (a^1 = x is the input, the first weights are w^2)" in v.message
    # a layer letter takes l = 2 .. L with the input as 1
    (v,) = d.verify(r"\frac{\partial C}{\partial b^l_j} = \delta^l_j")
    assert v.message.endswith("for l = 2, 3")
    (v,) = d.verify(r"\frac{\partial C}{\partial b^l_j} = \delta^l_j", style="mazur")
    assert v.message.endswith("for l = 1, 2")


def test_the_spec_style_decides_and_the_correct_form_follows_it(tmp_path):
    spec = tmp_path / "m.toml"
    spec.write_text(
        'name = "m"\nlevel = "layer"\nstyle = "mazur"\n[network]\ninputs = 2\n'
        'layers = [{ units = 3, activation = "sigmoid" }, { units = 2, activation = "sigmoid" }]\n'
        'loss = "half_sse"\n',
        encoding="utf-8",
    )
    net = load_spec(str(spec))
    d = derived(net)
    (v,) = d.verify(r"\frac{\partial C}{\partial w^1_{jk}} = x_k \delta^1_j")
    assert v.verdict == "correct", v.message
    (v,) = d.verify(r"\frac{\partial C}{\partial w^2_{jk}} = x_k \delta^2_j", style="nielsen")
    assert v.verdict == "correct", v.message
    # a slip in a graded document: the correct expression (also --annotate's) in its numbering
    doc = "\\documentclass{article}\\begin{document}\n\\[ \\delta^L = y - a^L \\]\n"
    doc += "\\end{document}\n"
    for style, top in ((None, 2), ("nielsen", 3)):
        (v,) = verify_document(net, doc, style=style).verdicts
        assert v.verdict == "wrong"
        assert v.correct.startswith(f"\\delta^{{{top}}}_{{j}} = "), v.correct
        assert f"a^{{{top}}}_{{j}}" in v.correct and f"a^{{{top - 1}}}" not in v.correct


def test_style_is_a_checked_choice(capsys, tmp_path):
    path = tmp_path / "c.tex"
    path.write_text("a^1_k = x_k\n", encoding="utf-8")
    code, _, err = run(capsys, "verify", "digits", str(path), "--style", "nope")
    assert code == 2 and "Traceback" not in err

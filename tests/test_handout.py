"""Handouts: what they say (numbers derived independently), that they compile, escaping."""

from __future__ import annotations

import math
import shutil
import subprocess

import pytest

from symbackprop.derivation.unit import derive
from symbackprop.handout.latexrun import box_warnings, compile_pdf, compile_with_log
from symbackprop.handout.unit import escape_text, generate_handout
from symbackprop.spec.load import load_spec


def mazur_by_hand() -> dict[str, float]:
    """The Mazur example computed directly in float64, without symbackprop."""
    s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    i1, i2, t1, t2 = 0.05, 0.10, 0.01, 0.99
    w1, w2, w3, w4, w5, w6, w7, w8, b1, b2 = 0.15, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55, 0.35, 0.6
    h1, h2 = s(w1 * i1 + w2 * i2 + b1), s(w3 * i1 + w4 * i2 + b1)
    o1, o2 = s(w5 * h1 + w6 * h2 + b2), s(w7 * h1 + w8 * h2 + b2)
    d1, d2 = (o1 - t1) * o1 * (1 - o1), (o2 - t2) * o2 * (1 - o2)
    dh1 = (d1 * w5 + d2 * w7) * h1 * (1 - h1)
    dh2 = (d1 * w6 + d2 * w8) * h2 * (1 - h2)
    return {
        "E": 0.5 * (t1 - o1) ** 2 + 0.5 * (t2 - o2) ** 2,
        "d_o1": d1,
        "d_o2": d2,
        "d_h1": dh1,
        "d_h2": dh2,
        "g_w5": d1 * h1,
        "g_w1": dh1 * i1,
        "g_w8": d2 * h2,
        "w5+": w5 - 0.5 * d1 * h1,
        "w8+": w8 - 0.5 * d2 * h2,
        "w2+": w2 - 0.5 * dh1 * i2,
    }


def nine(value: float) -> str:
    """Nine significant digits, trailing zeros kept, as the handout prints."""
    text = f"{value:.9g}"
    digits = len(text.lstrip("-0.").replace(".", ""))
    if "." in text and digits < 9:
        text += "0" * (9 - digits)
    return text


def test_mazur_handout_states_the_derived_numbers():
    tex = generate_handout(derive(load_spec("mazur")), source="mazur")
    hand = mazur_by_hand()
    for key in ("E", "d_o1", "d_o2", "d_h1", "d_h2", "g_w5", "g_w1", "g_w8", "w5+", "w8+", "w2+"):
        assert nine(hand[key]) in tex, (key, nine(hand[key]))
    # the values the issue names, to the digits printed
    for text in ("0.298371109", "0.0821670406", "0.358916480", "0.000438567734"):
        assert text in tex
    # the seed's slips are not reproduced
    assert "0.03898231" not in tex and "0.561370119" not in tex


def test_mazur_handout_writes_the_chain_rule_and_the_deltas():
    tex = generate_handout(derive(load_spec("mazur")), source="mazur")
    chain = (
        r"\frac{\partial E_{total}}{\partial out_{o1}} \times "
        r"\frac{\partial out_{o1}}{\partial net_{o1}} \times "
        r"\frac{\partial net_{o1}}{\partial w_{5}}"
    )
    assert chain in tex
    assert (
        r"\left(\delta_{o1} w_{5} + \delta_{o2} w_{7}\right) out_{h1} \left(1 - out_{h1}\right)"
        in tex
    )
    assert r"- (target_{o1} - out_{o1}) out_{o1} \left(1 - out_{o1}\right)" in tex
    assert r"\begin{tikzpicture}" in tex and "Exercise" in tex


def test_solutions_can_be_hidden():
    tex = generate_handout(derive(load_spec("mazur")), source="mazur", show_solutions=False)
    assert r"\solutionsfalse" in tex and r"\workspace{" in tex
    assert "0.0380982365" not in tex  # δ_o2, Exercise 3's answer (test_handout_leaks: all)


@pytest.mark.parametrize("name", ["mazur", "jacobs", "essa", "jacobs_softmax"])
def test_handout_compiles(name, require_pdflatex):
    tex = generate_handout(derive(load_spec(name)), source=name)
    pdf, log = compile_with_log(tex)
    assert pdf.startswith(b"%PDF")
    assert box_warnings(log) == []  # nothing runs off the page
    if name == "mazur" and shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        for value in ("0.298371109", "0.0821670406", "0.000438567734", "0.358916480"):
            assert value in text


@pytest.mark.parametrize(
    "text",
    [
        r"\input{/etc/passwd}",
        "^^5cinput{/etc/hostname}",
        r"\write18{ls}",
        r"}\end{document}",
        "50% & $5 #1 ~x_y^z",
    ],
)
def test_free_text_is_escaped_to_literal_text(text):
    escaped = escape_text(text)
    assert "\\input" not in escaped and "\\write" not in escaped and "^^" not in escaped
    assert "\\end{" not in escaped


def test_non_ascii_title_compiles(tmp_path, require_pdflatex):
    """Greek letters become math symbols; characters the fonts lack become '?'."""
    from dataclasses import replace

    network = replace(load_spec("mazur"), title="δ-Regel für σ-Netze, 50% & Σ 漢")
    tex = generate_handout(derive(network), source="mazur")
    assert (
        r"\ensuremath{\delta}-Regel für \ensuremath{\sigma}-Netze, 50\% \& \ensuremath{\Sigma} ?"
        in tex
    )
    assert compile_pdf(tex).startswith(b"%PDF")


def test_kink_convention_of_the_registry_is_stated():
    from symbackprop.model.layered import LayerSpec, build_layered
    from symbackprop.rules.registry import ACTIVATIONS

    net = build_layered(
        name="r", inputs=2, layers=[LayerSpec(2, "relu"), LayerSpec(1, "sigmoid")], notation="mazur"
    )
    tex = generate_handout(derive(net), source="r")
    assert f"At its kink we take {ACTIVATIONS['relu'].kink}." in tex
    assert r"\left[net_{h1} > 0\right]" in tex  # ReLU'(z) = [z > 0]: value 0 at the kink


def test_error_after_one_update_and_the_training_curve():
    """The error after updating all ten parameters once, computed by hand in float64."""
    s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    i1, i2, t1, t2, eta = 0.05, 0.10, 0.01, 0.99, 0.5
    w = [0.15, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55]
    b1, b2 = 0.35, 0.6
    h1, h2 = s(w[0] * i1 + w[1] * i2 + b1), s(w[2] * i1 + w[3] * i2 + b1)
    o1, o2 = s(w[4] * h1 + w[5] * h2 + b2), s(w[6] * h1 + w[7] * h2 + b2)
    d1, d2 = (o1 - t1) * o1 * (1 - o1), (o2 - t2) * o2 * (1 - o2)
    dh1, dh2 = (d1 * w[4] + d2 * w[6]) * h1 * (1 - h1), (d1 * w[5] + d2 * w[7]) * h2 * (1 - h2)
    grads = [dh1 * i1, dh1 * i2, dh2 * i1, dh2 * i2, d1 * h1, d1 * h2, d2 * h1, d2 * h2]
    w = [v - eta * g for v, g in zip(w, grads)]
    b1, b2 = b1 - eta * (dh1 + dh2), b2 - eta * (d1 + d2)
    h1, h2 = s(w[0] * i1 + w[1] * i2 + b1), s(w[2] * i1 + w[3] * i2 + b1)
    o1, o2 = s(w[4] * h1 + w[5] * h2 + b2), s(w[6] * h1 + w[7] * h2 + b2)
    after = 0.5 * (t1 - o1) ** 2 + 0.5 * (t2 - o2) ** 2
    tex = generate_handout(derive(load_spec("mazur")), source="mazur")
    assert f"$E_{{total}} = {nine(after)}$, against $0.298371109$ before it" in tex
    assert r"\addplot[thick, blue] coordinates {(0,0.298371)" in tex


GRAPH_SPEC = (
    'name = "two"\n[graph]\ninputs = ["x"]\ntargets = ["t"]\nparams = ["v", "w"]\nloss = "E"\n'
    '[graph.nodes]\nzh = "v*x"\nh = "tanh(zh)"\nzo = "w*h"\no = "sigmoid(zo)"\n'
    'E = "(t - o)^2/2"\n[graph.units]\nzh = "h"\nh = "h"\nzo = "o"\no = "o"\n'
)


def test_graph_form_units_are_named_by_their_place(monkeypatch):
    """A graph-form spec has no layers: its output unit's section is the output layer's, the
    unit before it the hidden one, and tanh(z) is not written out as tanh(z) again."""
    from symbackprop.handout import unit
    from symbackprop.spec.load import load_spec_text

    monkeypatch.setattr(unit, "loss_curve", lambda d: ([(0, 1.0), (1, 0.5)], None))
    net = load_spec_text(GRAPH_SPEC, source="two", name="two")
    titles = [s.title for s in unit.handout_context(derive(net), source="two")["backward"]]
    assert titles == ["The output layer", "Layer 1 (hidden)"]
    tex = generate_handout(derive(net), source="two")
    assert r"= \tanh\left(zh\right)" in tex and r"\tanh\left(zh\right) = \tanh" not in tex

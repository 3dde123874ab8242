"""A question handout (``show_solutions=False``) gives no exercise's answer away.

The answers are taken from the derivation's own values (:func:`evaluate`, formatted as the
handout prints numbers), not from the handout: every quantity an exercise asks for, and the
new value of every parameter an exercise's update asks for. None may appear in the .tex (where
every number of the PDF comes from), not even with the other sign; with solutions each does.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from symbackprop.derivation.evaluate import evaluate, format_number
from symbackprop.derivation.unit import derive
from symbackprop.handout import unit
from symbackprop.handout.latexrun import compile_pdf
from symbackprop.output.render import render
from symbackprop.spec.load import load_spec, load_spec_text

UNIT_EXAMPLES = ["mazur", "essa", "hmkcode", "jacobs", "jacobs_softmax"]


@pytest.fixture
def short_training(monkeypatch):
    """A two-point training curve in place of running the module: the exercises do not depend
    on it, and the run costs more than everything else here."""
    monkeypatch.setattr(unit, "loss_curve", lambda d: ([(0, 1.0), (1, 0.5)], None))


def _text(tex: str) -> str:
    """The .tex without the plot's data and the figure's positions (coordinates are not text
    a reader sees)."""
    tex = re.sub(r"\\begin\{axis\}.*?\\end\{axis\}", "", tex, flags=re.S)
    return re.sub(r"\(\s*-?[0-9.]+\s*,\s*-?[0-9.]+\s*\)", "", tex)


def _steps(context: dict) -> list:
    steps = list(context["forward"]) + [context["loss"]]
    steps += [step for section in context["backward"] for step in section.steps]
    if context["update_exercise"] is not None:
        steps.append(context["update_exercise"])
    return steps


def _answers(derivation, context: dict) -> dict[str, str]:
    """symbol name → the magnitude of its value as printed, for every exercise's symbols."""
    worked = evaluate(derivation)
    values = {**worked.all, **worked.updated}
    found = {}
    for step in _steps(context):
        if step.exercise:
            for sym in step.symbols:
                found[sym.name] = format_number(values[sym], 9).lstrip("-")
    return found


def _appears(number: str, text: str) -> bool:
    return re.search(rf"(?<![0-9.]){re.escape(number)}(?![0-9])", text) is not None


@pytest.mark.parametrize("name", UNIT_EXAMPLES)
def test_no_solutions_hides_every_answer(name, short_training):
    d = derive(load_spec(name))
    asked = unit.handout_context(d, source=name, show_solutions=False)
    answers = _answers(d, asked)
    assert len(answers) >= 3, answers  # every built-in example has exercises
    tex = _text(render("latex", "handout.tex.jinja", **asked))
    leaks = {k: v for k, v in answers.items() if _appears(v, tex)}
    assert not leaks
    exercises = [s for s in _steps(asked) if s.exercise]
    assert all(not s.lines and s.room > 0 for s in exercises)
    assert tex.count(r"\workspace{") == len(exercises)
    # with solutions, the same answers follow their exercises
    shown = unit.handout_context(d, source=name, show_solutions=True)
    assert _answers(d, shown) == answers
    tex = _text(render("latex", "handout.tex.jinja", **shown))
    assert all(_appears(v, tex) for v in answers.values())
    assert r"\workspace{" not in tex


def test_mazur_question_pdf_has_none_of_the_answers(short_training, require_pdflatex):
    """The values the issue found in the question PDF: δ_o2 in ∂E/∂b2, δ_h2 in ∂E/∂b1, and the
    gradients under "Updating the weights"."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not found")
    d = derive(load_spec("mazur"))
    context = unit.handout_context(d, source="mazur", show_solutions=False)
    answers = _answers(d, context)
    assert answers["delta_o2"] == "0.0380982365" and answers["delta_h2"] == "0.00995425471"
    pdf = compile_pdf(render("latex", "handout.tex.jinja", **context), runs=1)
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "Exercise 1" in text and "0.0821670406" in text  # worked values stay
    assert not {k: v for k, v in answers.items() if _appears(v, text)}


def test_an_exercise_the_text_answers_is_worked():
    """jacobs: s_2^y = s_1^y = 0.984486413, so "compute s_2^y" would be answered by the worked
    s_1^y: it is worked, not asked."""
    d = derive(load_spec("jacobs"))
    w = unit._Writer(d, 9)
    steps = w.forward_steps()
    asked = unit.choose_exercises(w, steps, {})
    names = {s.name for s in asked}
    assert "s__y_2" not in names and "y_2" not in names
    assert "s__h_2" in names  # the hidden unit's value is its own


LAYER_SPEC = """
name = "small"
level = "layer"
notation = "nielsen"
[network]
inputs = 3
layers = [{ units = 4, activation = "sigmoid" }, { units = 2, activation = "sigmoid" }]
loss = "half_sse"
[training]
learning_rate = 0.5
"""


def test_layer_exercises_hidden_without_solutions(monkeypatch):
    from symbackprop.handout import layer, styles
    from symbackprop.handout.layer_exercises import layer_exercises

    monkeypatch.setattr(
        layer, "loss_curve", lambda d, text: ([(0, 1.0), (1, 0.5)], True, None, None)
    )
    generate_layer_handout = layer.generate_layer_handout
    net = load_spec_text(LAYER_SPEC, source="small", name="small", level="layer")
    exercises = layer_exercises(net, styles.style_named("nielsen").first_layer)  # its numbering
    assert exercises
    # each answer as the template sets it: "δ^2_j &= a^2_j - y_j"
    answers = [f"{lhs} &{rhs}" for ex in exercises for lhs, rhs in ex.lines]
    hidden = generate_layer_handout(net, source="small", show_solutions=False, warn=lambda m: 0)
    assert not [a for a in answers if a in hidden]
    assert hidden.count(r"\workspace{") == len(exercises)
    shown = generate_layer_handout(net, source="small", show_solutions=True, warn=lambda m: 0)
    assert all(a in shown for a in answers)

"""The Beamer deck (``symbackprop slides``): every built-in example compiles with no box over
1 pt at either level, the overlays reveal a derivation line by line, the weight's path is
highlighted, and a question deck shows no answer.

Each deck is compiled once, with beamer's ``handout`` option (one page per frame): overlays only
uncover what already takes its space, so the boxes are those of the full deck, at a fraction of
the pages.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import sympy as sp

from symbackprop.derivation.evaluate import evaluate, format_number
from symbackprop.derived import derived
from symbackprop.spec.load import example_names, load_spec
from tests.clirun import run

BOX = re.compile(r"(Overfull|Underfull) \\([hv])box \(([0-9.]+)pt too (wide|high)\)")


def _compile(pdflatex: str, tex: str, tmp_path) -> tuple[str, str]:
    """One pdflatex run of the deck as one page per frame: (log, text of the PDF or "")."""
    tex = tex.replace("]{beamer}", ",handout]{beamer}", 1)
    (tmp_path / "deck.tex").write_text(tex, encoding="utf-8")
    done = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "deck.tex"],
        cwd=tmp_path,
        capture_output=True,
        timeout=240,
    )
    log = (tmp_path / "deck.log").read_text(encoding="latin-1")
    assert done.returncode == 0, [line for line in log.splitlines() if line.startswith("!")]
    text = ""
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(tmp_path / "deck.pdf"), "-"], capture_output=True, check=True
        ).stdout.decode()
    return log, text.replace("\u2212", "-").replace("\n", " ")


def _bad_boxes(log: str) -> list[str]:
    return [m.group(0) for m in BOX.finditer(log) if float(m.group(3)) > 1.0]


@pytest.mark.parametrize("name", [n for n in example_names() if n != "mazur"] + ["jacobs@layer"])
def test_every_example_deck_fits(name, tmp_path, require_pdflatex):
    name, _, level = name.partition("@")
    d = derived(load_spec(name, level=level or None))
    tex = d.slides(source=name)
    assert tex.count(r"\begin{frame}") >= 6
    log, text = _compile(require_pdflatex, tex, tmp_path)
    assert _bad_boxes(log) == []
    if d.level == "layer":
        for label in ("BP1", "BP2", "BP3", "BP4"):
            assert label in tex
        assert tex.count(r"\draw[->, dashed, emph]") >= 1  # a layer's path back from C
        if d.network.loss.endswith("loglik"):
            assert "gradient ascent" in tex
    else:  # every δ and every gradient has its frame, revealed over several slides
        assert tex.count("The error signal") >= len(d.derivation.deltas)
        assert tex.count("The gradient of") >= len(d.derivation.gradients)
        assert r"\uncover<3->" in tex
    if text:
        assert "The network" in text


def _answers(d, digits: int = 6) -> list[str]:
    """Every value the mazur deck derives: forward values, the error, δ's, gradients, updates."""
    w = evaluate(d.derivation)
    given = set(d.network.value_map)
    values = [v for k, v in w.all.items() if k not in given]
    values += list(w.updated.values())
    return sorted({format_number(v, digits) for v in values if not isinstance(v, sp.Integer)})


def test_question_deck_hides_every_answer(tmp_path, require_pdflatex):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not found")
    d = derived(load_spec("mazur"))
    answers = _answers(d)
    assert "0.593270" in answers and "0.149781" in answers  # out_h1 and w5 after the update
    solved, questions = tmp_path / "s", tmp_path / "q"
    solved.mkdir(), questions.mkdir()
    log, text = _compile(require_pdflatex, d.slides(source="mazur"), solved)
    assert _bad_boxes(log) == []
    flat = text
    assert [a for a in answers if a not in flat] == []  # the solutions deck shows them all
    log, text = _compile(
        require_pdflatex, d.slides(source="mazur", show_solutions=False), questions
    )
    assert _bad_boxes(log) == []
    flat = text
    assert [a for a in answers if a in flat] == []
    assert "?" in flat and "(questions)" in flat
    assert "0.15" in flat and "0.05" in flat  # the starting values are given


def test_gradient_frame_highlights_its_weights_path():
    tex = derived(load_spec("mazur")).slides(source="mazur")
    frame = tex.split(r"\begin{frame}{The gradient of $w_{1}$}")[1].split(r"\end{frame}")[0]
    emph = re.findall(r"\\draw\[->, emph\] \((\w+)\) -- \((\w+)\);", frame)
    # w1 runs i1 -> h1; below it, h1 feeds both outputs: three edges, nothing else
    assert sorted(emph) == [("n0x0", "n1x0"), ("n1x0", "n2x0"), ("n1x0", "n2x1")]
    labels = re.findall(r"\\node\[weight[^]]*\] at [^{]*\{\$([^$]*)\$\}", frame)
    assert labels == ["w_{1}"]


def test_cli_writes_the_deck_and_refuses_pdf_without_pdflatex(tmp_path, capsys, monkeypatch):
    out = tmp_path / "deck.tex"
    code, stdout, err = run(capsys, "slides", "hmkcode", "-o", str(out), "--no-pdf")
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert r"{beamer}" in text and "prediction" in text and f"wrote {out}" in stdout
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX", "")
    code, _, err = run(capsys, "slides", "hmkcode", "-o", str(tmp_path / "x.tex"), "--pdf")
    assert code == 6 and err.count("\n") == 1 and "pdflatex not found" in err
    assert not (tmp_path / "x.tex").exists()
    code, _, err = run(capsys, "slides", "hmkcode", "-o", str(tmp_path / "x.pdf"))
    assert code == 2 and "-o names the .tex file" in err


def test_layer_deck_numbers_layers_as_the_handout_style_does():
    """The deck and the handout of one spec agree: the nielsen style (the layer level's
    default) numbers the input layer 1, the mazur style 0."""
    import dataclasses

    import symbackprop as sbp

    net = sbp.example("digits")
    for style, first in (("", 1), ("mazur", 0)):
        styled = dataclasses.replace(net, style=style)
        deck = sbp.derive(styled).slides()
        handout = sbp.derive(styled).handout()
        top = net.depth + first  # the output layer's number
        assert rf"with $a^{{{first}}} = x$" in deck
        assert f"Layer {top} (output)" in deck and f"Layer {top - 1}: " in deck
        assert rf"Dashed arrows: $\delta^{{{top - 1}}}$ is computed from $\delta^{{{top}}}$" in deck
        assert f"Layer {top + 1}" not in deck
        for printed in (rf"{{z^{{{top}}}_{{j}}}}", rf"{{a^{{{top}}}_{{j}}}}"):
            assert printed in deck and printed in handout

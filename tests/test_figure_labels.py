"""The network figure (handout and slides): labels that never overlap, names as in the equations,
every bias drawn, graph-form nets drawn by depth."""

from __future__ import annotations

import itertools
import re
import subprocess

import pytest

from symbackprop.handout.figure import build_figure, label_size
from symbackprop.model.layered import LayerSpec, build_layered
from symbackprop.spec.load import load_spec, load_spec_text

NOTATIONS = ["mazur", "essa", "hmkcode", "jacobs", "nielsen", "plain"]

GRAPH = """
name = "neuron"
notation = "plain"
[graph]
inputs = ["x1", "x2"]
targets = ["t"]
params = ["w1", "w2", "b"]
loss = "E"
[graph.nodes]
z = "w1*x1 + w2*x2 + b"
a = "sigmoid(z)"
E = "(t - a)^2/2"
"""


def _net(notation: str, widths: list[int], bias: str = "unit"):
    layers = [LayerSpec(w, "sigmoid", bias) for w in widths[1:]]
    return build_layered(name="n", inputs=widths[0], layers=layers, notation=notation)


@pytest.mark.parametrize("notation, bias", [(n, b) for n in NOTATIONS for b in ("unit", "shared")])
def test_no_two_labels_meet_up_to_eight_units_a_layer(notation, bias):
    figure = build_figure(_net(notation, [8, 8, 8], bias))
    assert figure.labelled and len(figure.label_boxes) == 128
    for a, b in itertools.combinations(figure.label_boxes, 2):
        assert not a.meets(b), (a, b)
    for box in figure.label_boxes:
        assert not any(box.meets(o) for o in figure.obstacle_boxes)
    labels = [e.label for e in figure.edges if e.label]
    assert len(set(labels)) == 128  # every weight named, each once


def test_inputs_units_and_biases_are_named_as_in_the_equations():
    figure = build_figure(_net("plain", [3, 4, 2]))
    inputs = [n.label for n in figure.nodes if n.kind == "input"]
    assert inputs == ["x_{1}", "x_{2}", "x_{3}"]  # the equations' x, not the unit labels u1..
    biases = [n.label for n in figure.nodes if n.kind == "bias"]
    assert len(biases) == 6  # one per unit
    deep = build_figure(_net("mazur", [2] + [2] * 8, "shared"))
    units = {n.label for n in deep.nodes if n.kind == "unit"}
    assert "h_{7,1}" in units and not any(u.startswith("u_") for u in units)
    essa = build_figure(load_spec("essa"))
    assert [n.label for n in essa.nodes if n.kind == "input"] == ["y_{1}", "y_{2}"]
    assert {"y_{3}", "y_{6}"} <= {n.label for n in essa.nodes}
    assert {"W_{03}", "W_{06}"} <= {n.label for n in essa.nodes if n.kind == "bias"}


def test_graph_form_is_drawn_by_depth():
    net = load_spec_text(GRAPH, source="g.toml", name="g")
    figure = build_figure(net)
    assert figure is not None
    x = {n.name: float(n.x) for n in figure.nodes}
    assert set(x) == {"x1", "x2", "t", "w1", "w2", "b", "z", "a", "E"}
    assert x["x1"] == x["w1"] == 0 < x["z"] < x["a"] < x["E"]
    assert x["t"] < x["E"]
    ends = {(e.src, e.dst) for e in figure.edges}
    ident = {n.name: n.ident for n in figure.nodes}
    assert (ident["z"], ident["a"]) in ends and (ident["b"], ident["z"]) in ends


def test_label_size_estimates_bound_what_tex_sets(tmp_path, require_pdflatex):
    labels = ["w_{1}", "w_{128}", "W_{13}", "W_{9,17}", r"w^{y}_{11}", "w^{2}_{18}", r"b^{h}_{1}"]
    lines = [
        rf"\setbox0\hbox{{\scriptsize\kern1.5pt$\displaystyle {t}$\kern1.5pt}}"
        rf"\typeout{{SIZE \the\wd0 ;\the\ht0 ;\the\dp0}}"
        for t in labels
    ]
    doc = "\\documentclass{article}\n\\begin{document}\n" + "\n".join(lines) + "\n\\end{document}\n"
    (tmp_path / "m.tex").write_text(doc)
    done = subprocess.run(
        [require_pdflatex, "-interaction=nonstopmode", "m.tex"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    found = re.findall(r"SIZE ([0-9.]+)pt;([0-9.]+)pt;([0-9.]+)pt", done.stdout.decode())
    assert len(found) == len(labels)
    for text, (w, h, d) in zip(labels, found):
        est_w, est_h = label_size(text)
        cm = 0.03515
        assert est_w >= float(w) * cm, text
        assert est_h >= (float(h) + float(d) + 3.0) * cm, text

"""The public Python API (``import symbackprop as sbp``): the builders read like specs, derive
gives the one interface at either level, and every result has its text and its notebook form."""

from __future__ import annotations

import math
import re
import types

import pytest
import sympy as sp
from clirun import run

import symbackprop as sbp
from symbackprop.check.unit import ParamCheck, Report, format_report
from symbackprop.errors import InvalidInput, PdflatexFailed, RefusedOverwrite
from symbackprop.results import CheckReport, Verdicts
from symbackprop.spec.load import load_spec_text

MAZUR_VALUES = {
    "i1": 0.05, "i2": 0.10, "w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40,
    "w6": 0.45, "w7": 0.50, "w8": 0.55, "b1": 0.35, "b2": 0.60, "target_o1": 0.01,
    "target_o2": 0.99,
}  # fmt: skip


def _mazur():
    return sbp.layered(
        2,
        [2, 2],
        bias="shared",
        notation="mazur",
        learning_rate=0.5,
        values=MAZUR_VALUES,
        name="mazur",
        title="Tutorial on Backpropagation: a 2-2-2 sigmoid network",
    )


def test_the_public_names_are_the_few_documented():
    assert sorted(sbp.__all__) == ["Derived", "derive", "example", "layered", "load", "network"]
    public = {
        n
        for n, v in vars(sbp).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert public == set(sbp.__all__)


def test_layered_is_the_spec_network_table():
    """The built-in mazur spec and the same net built in Python derive the same text, numbers
    included; ``sbp.derive`` of a name reads the spec as the commands do."""
    d = sbp.derive(_mazur())
    assert isinstance(d, sbp.Derived) and d.level == "unit"
    assert str(d) == sbp.derive("mazur").text() == sbp.derive(sbp.example("mazur")).text()
    assert "E_total = ½(target_o1 − out_o1)² + ½(target_o2 − out_o2)²  = 0.298371109" in str(d)


def test_network_from_text_or_sympy_and_its_gradient_against_sympy_diff():
    x, t, w, b, z, a = sp.symbols("x t w b z a")
    values = {"x": 1.5, "t": 0.25, "w": -0.5, "b": 0.125}
    common = dict(inputs=["x"], targets=["t"], params=["w", "b"], loss="E", values=values)
    as_text = sbp.network(nodes={"z": "w*x + b", "a": "tanh(z)", "E": "(t - a)^2/2"}, **common)
    as_sympy = sbp.network(
        nodes=[(z, w * x + b), (a, sp.tanh(z)), ("E", (t - a) ** 2 / 2)],
        inputs=[x],
        targets=[t],
        params=[w, b],
        loss="E",
        values=values,
    )
    text = sbp.derive(as_text).text(digits=12)
    assert text == sbp.derive(as_sympy).text(digits=12)
    # the oracle: sympy.diff of the composed loss, at the example
    loss = (t - sp.tanh(w * x + b)) ** 2 / 2
    point = {sp.Symbol(k): sp.Rational(str(v)) for k, v in values.items()}
    for param in (w, b):
        want = float(sp.diff(loss, param).subs(point))
        got = re.search(rf"∂E/∂{param} = .*= (\S+)$", text, re.M).group(1)
        assert math.isclose(float(got), want, rel_tol=1e-11), (param, got, want)


def test_a_graph_built_in_python_equals_the_same_toml_spec():
    spec = """
name = "g"
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
[graph.units]
z = "n"
a = "n"
[training]
learning_rate = 0.2
"""
    built = sbp.network(
        inputs=["x1", "x2"],
        targets=["t"],
        params=["w1", "w2", "b"],
        nodes={"z": "w1*x1 + w2*x2 + b", "a": "sigmoid(z)", "E": "(t - a)^2/2"},
        loss="E",
        units={"z": "n", "a": "n"},
        learning_rate=0.2,
        name="g",
    )
    from_toml = load_spec_text(spec, source="g", name="g")
    assert str(sbp.derive(built)) == str(sbp.derive(from_toml))


def test_notation_and_level_are_chosen_in_python():
    essa = str(sbp.derive(sbp.layered(2, [2, 1], notation="essa")))
    assert "δ_5 = (y_5 − t_5) · y_5 (1 − y_5)" in essa
    layer = sbp.derive(sbp.layered(2, [3, 2], activation="tanh", level="layer"))
    assert layer.level == "layer"
    assert "BP1" in str(layer) and "tanh" in str(layer)
    # an optimizer by name: the module's optimizer_step is that one
    adam = sbp.derive(sbp.layered(2, [2, 1], optimizer="adam"))
    assert 'OPTIMIZER = "adam"' in adam.module()
    assert sbp.derive("essa", level="layer").level == "layer"


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: sbp.layered(2, [2, 1], notation="klingon"), "unknown notation 'klingon'"),
        (lambda: sbp.layered(2, [2, 1], activation="sigmoidd"), "sigmoid"),
        (lambda: sbp.layered(2, [0]), "units"),
        (lambda: sbp.example("mazurr"), "no built-in example 'mazurr'"),
        (lambda: sbp.load("no_such_spec.toml"), "not found"),
        (lambda: sbp.load("mazur"), "not found"),  # a file, never the built-in example
        (lambda: sbp.derive(sbp.layered(2, [1]), level="layer"), "level applies to a spec"),
        (
            lambda: sbp.network(
                inputs=["x"], targets=["t"], params=["w"], nodes={"E": "(t - w*x)^2"}, loss="L"
            ),
            "loss 'L' is not one of the nodes",
        ),
        (
            lambda: sbp.network(
                inputs=["x"], targets=["t"], params=["w"], nodes={"E": "__import__('os')"}, loss="E"
            ),
            "",
        ),
    ],
)
def test_bad_input_is_one_clear_error(build, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInput) as error:
        build()
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_load_reads_a_spec_file(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text("[network]\ninputs = 1\nlayers = [{ units = 1 }]\n", encoding="utf-8")
    d = sbp.derive(sbp.load(path))
    assert d.name == "tiny" and d.level == "unit"
    assert sbp.derive(str(path)).text() == d.text()


def test_module_and_handout_are_written_as_the_commands_write_them(tmp_path, capsys):
    spec = tmp_path / "one.toml"
    spec.write_text("[network]\ninputs = 1\nlayers = [{ units = 1 }]\n", encoding="utf-8")
    d = sbp.derive(str(spec))
    target = tmp_path / "out" / "m.py"
    first = d.module(target)
    assert str(first) == f"wrote {target}" and first.path == target
    code, _, _ = run(capsys, "codegen", str(spec), "-o", str(tmp_path / "cli.py"))
    assert code == 0
    assert target.read_text() == (tmp_path / "cli.py").read_text()
    assert str(d.module(target)) == f"unchanged {target}"
    target.write_text(target.read_text() + "# mine\n")
    with pytest.raises(RefusedOverwrite):
        d.module(target)
    assert str(d.module(target, force=True)) == f"wrote {target}"
    assert (tmp_path / "out" / "m.py.bak").read_text().endswith("# mine\n")

    tex = tmp_path / "m.tex"
    written = d.handout(tex, show_solutions=False)
    assert written.files == (tex,) and written.pdf is None
    code, _, _ = run(
        capsys, "handout", str(spec), "-o", str(tmp_path / "cli.tex"), "--no-pdf", "--no-solutions"
    )
    assert code == 0 and tex.read_text() == (tmp_path / "cli.tex").read_text()
    with pytest.raises(InvalidInput, match="names the .tex file"):
        d.handout(tmp_path / "m.pdf")


def test_handout_pdf_when_asked(tmp_path, require_pdflatex):
    d = sbp.derive(sbp.layered(1, [1], name="one"))
    written = d.handout(tmp_path / "one.tex", pdf=True)
    assert written.pdf == tmp_path / "one.pdf"
    assert written.pdf.read_bytes().startswith(b"%PDF")
    assert str(written) == f"wrote {tmp_path / 'one.tex'}\nwrote {tmp_path / 'one.pdf'}"
    assert str(d.handout(tmp_path / "one.tex", pdf=True)).count("unchanged") == 2


def test_handout_pdf_without_pdflatex_is_an_error_and_writes_nothing(tmp_path, monkeypatch):
    import symbackprop.handout.latexrun as latexrun

    monkeypatch.setattr(latexrun, "find_pdflatex", lambda: None)
    with pytest.raises(PdflatexFailed, match="pdflatex not found"):
        sbp.derive(sbp.layered(1, [1])).handout(tmp_path / "x.tex", pdf=True)
    assert list(tmp_path.iterdir()) == []


def test_the_derivation_renders_as_latex_at_both_levels(capsys):
    unit = sbp.derive("mazur")
    block = unit._repr_latex_()
    assert block.startswith("$$\\begin{aligned}") and block.endswith("\\end{aligned}$$")
    assert block.count("&=") == len(unit.derivation.forward) + len(unit.derivation.deltas) + len(
        unit.derivation.gradients
    ) + len(unit.derivation.updates)
    layer = sbp.derive("digits")
    lines = layer.latex().splitlines()
    block = layer._repr_latex_()
    assert block.count("&=") == len(lines)
    for line in lines:  # the same equations, the first '=' aligned
        assert line.replace(" = ", " &= ", 1) in block
    assert run(capsys, "derive", "digits", "--format", "latex")[1].rstrip("\n") == layer.latex()
    assert repr(layer) == "<Derived 'digits', layer level>"


def test_check_report_text_and_html():
    report = sbp.derive(sbp.layered(2, [2], activation="tanh", level="layer")).check(points=1)
    assert isinstance(report, CheckReport) and isinstance(report, Report) and report.ok
    assert str(report) == format_report(report) == repr(report)
    html = report._repr_html_()
    assert html.count("<tr>") == len(report.params) + 1 and "#1a7f37" in html
    bad = CheckReport.of(
        Report("n<1>", 1, (ParamCheck("w<1>", 0.5, 1e-3, math.nan),), tolerance=1e-7)
    )
    assert not bad.ok and "FAILED" in str(bad)
    html = bad._repr_html_()
    assert "FAILED" in html and "disagrees" in html and "#cf222e" in html
    assert "w&lt;1&gt;" in html and "n&lt;1&gt;" in html and "not sampled" in html


def test_verdicts_text_html_and_the_cli(tmp_path, capsys):
    claims = tmp_path / "claims.txt"
    claims.write_text(
        "\\delta_{o1} = (out_{o1} - target_{o1}) out_{o1} (1 - out_{o1})\n"
        "dE_total/dw5 = delta_o2 out_h1\n"
        "w5 = = 1 < 2\n",
        encoding="utf-8",
    )
    d = sbp.derive("mazur")
    verdicts = d.verify(claims.read_text())
    assert isinstance(verdicts, Verdicts) and not verdicts.ok
    assert [v.verdict for v in verdicts] == ["correct", "wrong", "unreadable"]
    # the claim fixed, LaTeX in the claim's own names (dE_total/dw5 is the derivative)
    fixed = r"\frac{\partial E_{total}}{\partial w5} = \delta_{o1} out_{h1}"
    assert verdicts[1].correct == fixed
    assert [v.verdict for v in d.verify(claims)] == ["correct", "wrong", "unreadable"]
    code, out, _ = run(capsys, "verify", "mazur", str(claims))
    assert code == 2 and out.rstrip("\n") == str(verdicts) == repr(verdicts)
    html = verdicts._repr_html_()
    for colour in ("#1a7f37", "#cf222e", "#9a6700"):
        assert html.count(colour) == 1
    assert "1 &lt; 2" in html and "1 < 2" not in html
    assert f"correct: <code>{fixed}</code>" in html
    assert d.verify("dE_total/dw5 = delta_o1 out_h1").ok
    with pytest.raises(InvalidInput, match="no claims"):
        d.verify("# only a comment\n")

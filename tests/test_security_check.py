"""``check`` and the handouts' training runs on hostile sizes and bad conditioning (issue 11).

* row44: jobs too large for the machine or the time limit are estimated up front and refused
  with exit 5 naming the limit, quickly, writing nothing;
* row50: finite differences carry an error estimate, so badly conditioned nets pass when the
  routes agree, while a gradient wrong by 1e-4 relative still fails;
* item8: ``params = []`` and a diverging training curve are a result or a one-line exit 2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp
from clirun import one_line_error
from clirun import run_timed as run

from symbackprop.check import layer as layer_check
from symbackprop.check import unit as check
from symbackprop.check.unit import _denominator, richardson, richardson_steps
from symbackprop.cli import commands as cli
from symbackprop.spec.load import load_spec


def layer_spec(inputs: int, layers: list[tuple[int, str]], loss: str = "bce", extra="") -> str:
    entries = ", ".join(f"{{units = {u}, activation = {json.dumps(a)}}}" for u, a in layers)
    return (
        f'level = "layer"\n[network]\ninputs = {inputs}\nlayers = [{entries}]\n'
        f"loss = {json.dumps(loss)}\n{extra}"
    )


DEEP_TANH = layer_spec(2, [(2, "tanh")] * 10 + [(1, "sigmoid")])
RECIPROCAL = (
    '[graph]\ninputs = ["x"]\ntargets = ["t"]\nparams = ["w", "b"]\nloss = "E"\n'
    '[graph.nodes]\nz = "w*x + b"\na = "1/z"\nE = "(t - a)^2/2"\n'
)


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# -------------------------------------------------------------------------------------------
# row44: estimated up front, refused with exit 5 naming the limit.

ROW44 = [
    ("row44-check-49999-50000-1", [], "check", (49999, [(50000, "tanh"), (1, "sigmoid")])),
    ("row44-check-5000-5000-10", [], "check", (5000, [(5000, "tanh"), (10, "sigmoid")])),
    (
        "row44-check-memory-option",
        ["--max-memory", "100M"],
        "check",
        (784, [(30, "sigmoid"), (10, "sigmoid")]),
    ),
    (
        "row44-handout-5000-5000-10-memory",
        ["--max-memory", "1G"],
        "handout",
        (5000, [(5000, "tanh"), (10, "sigmoid")]),
    ),
    (
        "row44-handout-5000-5000-10-time",
        ["--max-seconds", "60"],
        "handout",
        (5000, [(5000, "tanh"), (10, "sigmoid")]),
    ),
    (
        "row44-check-1000-layers",
        ["--max-seconds", "60", "--max-ops", "1000000000"],  # past --max-ops: the estimate
        "check",
        (2, [(2, "tanh")] * 999 + [(1, "sigmoid")]),
    ),
    (
        "row44-codegen-1000-layers",
        ["--max-seconds", "20", "--max-ops", "1000000000"],
        "codegen",
        (2, [(2, "tanh")] * 999 + [(1, "sigmoid")]),
    ),
]


@pytest.mark.parametrize(
    "options, command, sizes", [r[1:] for r in ROW44], ids=[r[0] for r in ROW44]
)
def test_row44_refused_up_front(workdir, capsys, options, command, sizes):
    spec = workdir / "big.toml"
    spec.write_text(layer_spec(*sizes))
    before = files(workdir)
    code, out, err, seconds = run(capsys, *options, command, str(spec))
    line = one_line_error(err)
    assert code == 5, err
    assert "needs about" in line and ("--max-memory" in line or "--max-seconds" in line), line
    assert files(workdir) == before
    assert seconds < 30


def test_row44_memory_option_is_validated(capsys):
    assert cli.main(["--max-memory", "lots", "check", "mazur"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--max-memory" in err[0], err


# -------------------------------------------------------------------------------------------
# row50: finite differences with an error estimate and a floor.


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "text", [DEEP_TANH, RECIPROCAL], ids=["row50-10-tanh-layers", "row50-reciprocal"]
)
def test_row50_badly_conditioned_nets_pass(workdir, capsys, text, seed):
    spec = workdir / "net.toml"
    spec.write_text(text)
    code, out, err, _ = run(capsys, "check", str(spec), "--seed", str(seed))
    assert code == 0, out + err
    assert out.strip().endswith("ok: derived = generated NumPy = finite differences")


def test_row50_error_estimate_bounds_the_error():
    """Against exact derivatives: d/db sin(3b) = 3 cos(3b); d/db log(1 + b^2) = 2b / (1 + b^2),
    whose scale grows with b as the step does."""
    base = np.concatenate([np.linspace(-3, 3, 61), [1e-9]])
    values, h = richardson_steps(base)
    value, error = richardson(np.sin(3 * values), h)
    assert np.all(np.abs(value - 3 * np.cos(3 * base)) <= error)
    assert np.all(error < 1e-5)  # and the estimate is not vacuous
    base = np.array([-7e4, -30.0, 1e3, 2e5])
    values, h = richardson_steps(base)
    value, error = richardson(np.log1p(values**2), h)
    assert np.all(np.abs(value - 2 * base / (1 + base**2)) <= error)


def test_row50_layer_gradient_off_by_1e4_fails(monkeypatch):
    real = layer_check.derived_gradients

    def wrong(d, params, x, t):
        return {k: e + 1e-4 * _denominator(e) for k, e in real(d, params, x, t).items()}

    monkeypatch.setattr(layer_check, "derived_gradients", wrong)
    net = load_spec_text_layer(DEEP_TANH)
    report = layer_check.check_layer_net(net)
    assert not report.ok
    assert all(p.fd_error > p.fd_allowed for p in report.params), report


def test_row50_unit_gradient_off_by_1e4_fails(monkeypatch, tmp_path):
    real = check.evaluate

    def wrong(derivation, point):
        worked = real(derivation, point)
        scale = 1 + sp.Rational(1, 10**4)
        return SimpleNamespace(gradients={p: g * scale for p, g in worked.gradients.items()})

    monkeypatch.setattr(check, "evaluate", wrong)
    spec = tmp_path / "r.toml"
    spec.write_text(RECIPROCAL)
    report = check.check_network(load_spec(str(spec)))
    assert not report.ok
    assert all(p.fd_error > p.fd_allowed for p in report.params), report


def load_spec_text_layer(text: str):
    from symbackprop.spec.load import load_spec_text

    return load_spec_text(text, source="net.toml", name="net")


# -------------------------------------------------------------------------------------------
# item8: no parameters; a diverging training curve.


def test_item8_check_without_params(workdir, capsys):
    spec = workdir / "p.toml"
    spec.write_text(
        '[graph]\ninputs = ["x"]\ntargets = ["t"]\nparams = []\nloss = "E"\n'
        '[graph.nodes]\nz = "2*x"\nE = "(t - z)^2/2"\n'
    )
    code, out, err, _ = run(capsys, "check", str(spec))
    assert code == 2, err
    assert "no parameters" in one_line_error(err)


MAZUR = Path(check.__file__).parent.parent / "examples" / "mazur.toml"


@pytest.mark.parametrize(
    "level, text, pdf",
    [
        (
            "unit",
            MAZUR.read_text()
            .replace('"sigmoid"', '"linear"')
            .replace("learning_rate = 0.5", "learning_rate = 50.0"),
            True,
        ),
        (
            "layer",
            layer_spec(
                2,
                [(3, "linear"), (2, "linear")],
                loss="half_sse",
                extra="[training]\nlearning_rate = 100.0\n",
            ),
            False,
        ),
    ],
    ids=["item8-diverging-unit-curve", "item8-diverging-layer-curve"],
)
def test_item8_diverging_training_curve(workdir, capsys, request, level, text, pdf):
    spec = workdir / "div.toml"
    spec.write_text(text.replace('name = "mazur"', 'name = "div"'))
    if pdf:
        request.getfixturevalue("require_pdflatex")  # skips, or fails in CI, without pdflatex
    code, out, err, _ = run(capsys, "handout", str(spec), *([] if pdf else ["--no-pdf"]))
    assert code == 0, err
    tex = (workdir / "div.tex").read_text()
    assert "diverge" in tex and re.search(r"overflows (at|in)", tex)
    # The plot ends where the loss overflowed and shows every update before it.
    coords = tex.split("coordinates")[1].split(";")[0]
    steps = [int(n) for n in re.findall(r"\((\d+),", coords)]
    assert len(steps) >= 2 and steps == list(range(len(steps))), coords
    assert "nan" not in tex.split("coordinates")[1].split(";")[0]
    if pdf:
        assert (workdir / "div.pdf").read_bytes().startswith(b"%PDF")


def test_row44_untaken_finite_differences_neither_pass_nor_fail_silently():
    """A parameter no point differenced (deep nets sample FD_TOTAL entries per point) is shown
    as such, and only the routes actually compared decide the verdict."""
    taken = check.ParamCheck("W1", 0.5, 1e-16, 2e-9, 1e-7)
    untaken = check.ParamCheck("b1", 0.5, 1e-16, float("nan"), 1e-7)
    report = check.Report("n", 3, (taken, untaken), 1e-7)
    assert report.ok
    assert "not taken" in check.format_report(report).splitlines()[3]
    wrong = check.ParamCheck("W2", 0.5, 1e-16, 2e-6, 1e-7)
    assert not check.Report("n", 3, (wrong, untaken), 1e-7).ok


# -------------------------------------------------------------------------------------------
# Item 8 (found by the fuzz test): random points outside a net's domain are drawn again.

LOG_GRAPH = (
    '[graph]\ninputs = ["x"]\ntargets = ["t"]\nparams = ["w"]\nloss = "E"\n'
    '[graph.nodes]\nh = "{h}"\nE = "-t*log(h)"\n'
)


def test_item8_check_redraws_points_outside_the_domain(workdir, capsys):
    """log(x w) is real at about half the random points: check still compares the routes."""
    (workdir / "log.toml").write_text(LOG_GRAPH.format(h="x*w"))
    code, out, err, _ = run(capsys, "check", "log.toml", "--points", "3")
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("ok:"), out


def test_item8_check_of_an_empty_domain_names_the_node(workdir, capsys):
    (workdir / "log.toml").write_text(LOG_GRAPH.format(h="-(x*w)^2 - 1"))
    code, out, err, _ = run(capsys, "check", "log.toml")
    assert code == 2, err
    line = one_line_error(err)
    assert "node 'E' is complex" in line and "log of" in line, line

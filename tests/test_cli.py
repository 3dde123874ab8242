"""The command line as a user runs it: outputs, messages and exit codes.

Most tests call ``cli.main`` in-process; a few run ``python -m symbackprop`` in a fresh process,
for what only a real process shows (the entry point, stderr's one line, the environment).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from symbackprop.cli.commands import main


def run(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "symbackprop", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_examples_lists_the_seed_networks(capsys):
    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    for name in ("mazur", "hmkcode", "jacobs", "essa"):
        assert name in out


def test_derive_prints_the_delta_recursion_with_numbers(capsys):
    assert main(["derive", "mazur"]) == 0
    out = capsys.readouterr().out
    assert "δ_h1 = (δ_o1 w5 + δ_o2 w7) · out_h1 (1 − out_h1)    = 0.00877135469" in out
    assert "∂E_total/∂w5 = δ_o1 out_h1  = 0.0821670406" in out
    assert "E_total" in out and "0.298371109" in out


def test_derive_latex(capsys):
    assert main(["derive", "mazur", "--format", "latex"]) == 0
    assert r"\frac{\partial E_{total}}{\partial w_{5}}" in capsys.readouterr().out


def test_codegen_writes_a_module_and_keeps_mtime_when_unchanged(tmp_path, capsys):
    target = tmp_path / "m.py"
    assert main(["codegen", "mazur", "-o", str(target)]) == 0
    first = target.read_bytes()
    os.utime(target, (1, 1))
    assert main(["codegen", "mazur", "-o", str(target)]) == 0
    assert target.read_bytes() == first and target.stat().st_mtime == 1
    assert "unchanged" in capsys.readouterr().out


def test_codegen_refuses_to_overwrite_an_edited_file(tmp_path, capsys):
    target = tmp_path / "m.py"
    assert main(["codegen", "mazur", "-o", str(target)]) == 0
    edited = target.read_text() + "# my change\n"
    target.write_text(edited)
    assert main(["codegen", "mazur", "-o", str(target)]) == 4
    assert target.read_text() == edited
    assert main(["codegen", "mazur", "-o", str(target), "--force"]) == 0
    assert (tmp_path / "m.py.bak").read_text() == edited


def test_handout_writes_tex_and_pdf(tmp_path, require_pdflatex):
    result = run("handout", "mazur", "-o", "out/mazur.tex", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/mazur.tex").is_file()
    assert (tmp_path / "out/mazur.pdf").read_bytes().startswith(b"%PDF")


def test_handout_without_pdflatex_warns_and_writes_the_tex(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX", "")
    monkeypatch.chdir(tmp_path)
    assert main(["handout", "mazur", "-o", "m.tex"]) == 0
    assert "pdflatex not found" in capsys.readouterr().err
    assert (tmp_path / "m.tex").is_file() and not (tmp_path / "m.pdf").exists()


def test_check_passes_on_every_example(capsys):
    for name in ("mazur", "hmkcode", "jacobs", "essa"):
        assert main(["check", name, "--points", "1"]) == 0
    assert "ok: derived = generated NumPy = finite differences" in capsys.readouterr().out


def test_missing_spec_is_exit_2_with_one_line(tmp_path):
    result = run("derive", "x.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "spec file 'x.toml' not found" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "text,message",
    [
        ("[network\n", "spec must be TOML"),
        ("layres = 1\n", "did you mean 'layers'"),
        (
            '[network]\ninputs = 2\nlayers = [{units = 2, activaton = "sigmoid"}]\n',
            "did you mean 'activation'",
        ),
        (
            '[network]\ninputs = 2\nlayers = [{units = 2, activation = "relu6x"}]\n',
            "unknown activation 'relu6x'",
        ),
        (
            '[network]\ninputs = 2\nlayers = [{units = 2}]\n[training]\nlearning_rate = "1e-3"\n',
            "learning_rate must be a number, got string '1e-3'",
        ),
    ],
)
def test_bad_specs_are_exit_2(tmp_path, capsys, text, message):
    spec = tmp_path / "s.toml"
    spec.write_text(text)
    assert main(["derive", str(spec)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1, err


def test_graph_spec_end_to_end(tmp_path, capsys):
    spec = tmp_path / "neuron.toml"
    spec.write_text(
        'name = "neuron"\n[graph]\ninputs = ["x1", "x2"]\ntargets = ["t"]\n'
        'params = ["w1", "w2", "b"]\nloss = "E"\n[graph.nodes]\nz = "w1*x1 + w2*x2 + b"\n'
        'a = "sigmoid(z)"\nE = "(t - a)^2/2"\n[graph.units]\nz = "n"\na = "n"\n'
        "[values]\nx1 = 1.0\nx2 = -2.0\nt = 1.0\nw1 = 0.5\nw2 = 0.25\nb = 0.1\n"
    )
    assert main(["derive", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "δ_n = " in out and "∂E/∂w1 = δ_n x1" in out
    assert main(["check", str(spec)]) == 0


def test_level_flag_overrides_the_spec(capsys):
    """jacobs is unit level by its size; --level layer derives BP1–BP4 for the same net, and the
    two levels' gradients agree (both are checked against finite differences)."""
    assert main(["derive", "jacobs"]) == 0
    unit = capsys.readouterr().out
    assert main(["derive", "jacobs", "--level", "layer"]) == 0
    layer = capsys.readouterr().out
    assert "δ^h_1 = " in unit and "BP2  δ^1_j = " in layer
    assert main(["check", "jacobs", "--level", "layer", "--points", "1"]) == 0

"""Rows 1-40 of BAD_INPUTS.md (shared/BAD_INPUTS.md) as tests, ids ``rowNN-what``; rows 41-51
are in the ``test_security_*.py`` files, and ``test_bad_inputs_index.py`` checks that every row
has a test.

Most rows drive the real command line in-process (``cli.main``) on a spec written to
``tmp_path`` and check the exit code, the one-line message, that nothing was written (every
file under ``tmp_path`` byte-identical, no new ones) and, where the row says so, the time.
Rows 31-35 exercise a generated module; rows 20-23 the claims parser; rows 37-40 the writer,
pdflatex and determinism.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import subprocess
import sys
import time
import tokenize
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from clirun import one_line_error, snapshot
from clirun import run_timed as run

from symbackprop.cli import commands as cli
from symbackprop.codegen.loader import load_generated
from symbackprop.codegen.unit import generate_module
from symbackprop.derivation.unit import derive
from symbackprop.errors import InvalidInput
from symbackprop.model.layered import LayerSpec, build_layered
from symbackprop.output.writer import stamp
from symbackprop.rules.registry import activation_names
from symbackprop.spec.load import example_names, load_spec, load_spec_text
from symbackprop.verify.claimparse import parse_claims, to_sympy

PACKAGE = Path(cli.__file__).resolve().parent.parent
LAYERED = "[network]\ninputs = 2\nlayers = [{units = 2}]\n"


def toml(value) -> str:
    """A TOML string or array of strings (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def graph(
    nodes: dict[str, str] | None = None,
    *,
    inputs=("x",),
    targets=("t",),
    params=("w", "b"),
    loss="E",
    top="",
) -> str:
    """A graph-form spec: by default one neuron z = w*x + b with E = (t - z)^2/2."""
    nodes = {"z": "w*x + b", "E": "(t - z)^2/2"} if nodes is None else nodes
    body = "\n".join(f"{toml(name)} = {toml(text)}" for name, text in nodes.items())
    return (
        f"{top}[graph]\ninputs = {toml(list(inputs))}\ntargets = {toml(list(targets))}\n"
        f"params = {toml(list(params))}\nloss = {toml(loss)}\n[graph.nodes]\n{body}\n"
    )


def one_node(expr: str, **kwargs) -> str:
    return graph({"z": expr, "E": "(t - z)^2/2"}, **kwargs)


def layers(*entries: str, extra: str = "") -> str:
    return f"[network]\ninputs = 2\nlayers = [{', '.join(entries)}]\n{extra}"


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty working directory holding an output directory with one generated file."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "s.py").write_text(stamp("X = 1\n", comment="#", source="s.toml"))
    return tmp_path


# -------------------------------------------------------------------------------------------
# Specs that must be refused: exit code, message, nothing written, fast.

DEEP = "x = " + "{a = " * 10_000 + "1" + "}" * 10_000 + "\n"

REFUSED = [
    # 2: TOML syntax; truncated; not UTF-8
    ("row02-syntax", "[network\n", 2, "spec must be TOML: Expected ']'", "line 1, column 9"),
    ("row02-truncated", "[network]\ninputs = 2\nlayers = [{units = 2", 2, "spec must be TOML", ""),
    ("row02-not-utf8", b'title = "ok"\nname = "\xff"\n', 2, "not UTF-8", "line 2, col 9"),
    # 3: not TOML at all; the YAML payload never runs
    ("row03-yaml", '!!python/object/apply:os.system ["touch PWNED"]\n', 2, "spec must be TOML", ""),
    ("row03-json", '{"network": {"inputs": 2, "layers": []}}\n', 2, "spec must be TOML", ""),
    ("row03-binary", bytes(range(256)) * 4, 2, "spec must be TOML", ""),
    # 4: duplicate key (named, with its line); deep nesting; size cap is its own test
    (
        "row04-duplicate-key",
        "[network]\ninputs = 2\ninputs = 3\n",
        2,
        "duplicate key 'inputs'",
        "line 3",
    ),
    ("row04-duplicate-table", LAYERED + "[network]\n", 2, "duplicate key 'network'", "line 4"),
    ("row04-deep-inline-table", DEEP, 2, "nested too deeply", ""),
    ("row04-deep-dotted-key", "[" + ".".join(["a"] * 10_000) + "]\n", 2, "unknown key 'a'", ""),
    # 5: wrong types
    (
        "row05-string-rate",
        LAYERED + '[training]\nlearning_rate = "1e-3"\n',
        2,
        "learning_rate must be a number, got string '1e-3'",
        "s.toml: [training]",
    ),
    (
        "row05-int-for-string",
        layers("{units = 2, bias = 1}"),
        2,
        "bias must be a string, got integer 1",
        "layer 1",
    ),
    (
        "row05-bool-size",
        layers("{units = 2}", "{units = true}"),
        2,
        "units must be an integer, got boolean True",
        "layer 2",
    ),
    (
        "row05-bool-maximize",
        graph().replace('loss = "E"', 'loss = "E"\nmaximize = 1'),
        2,
        "maximize must be a boolean, got integer 1",
        "",
    ),
    # 6: unknown keys suggest the right one
    ("row06-layres", "layres = 1\n", 2, "unknown key 'layres'", "did you mean 'layers'"),
    (
        "row06-activaton",
        layers('{units = 2, activaton = "relu"}'),
        2,
        "unknown key 'activaton'",
        "did you mean 'activation'?",
    ),
    # 7: unknown activations list the allowed ones
    *[
        (
            f"row07-{name.strip('_')}",
            layers(f'{{units = 2, activation = "{name}"}}'),
            2,
            f"unknown activation '{name}'",
            "known: " + ", ".join(sorted(activation_names())),
        )
        for name in ("relu6x", "exec", "eval", "__import__")
    ],
    # 8-12: the expression parser, reached through a spec
    (
        "row08-import-call",
        one_node("__import__('os').system('touch PWNED')"),
        2,
        "col 1: call to '__import__' not allowed",
        "[graph.nodes] z",
    ),
    (
        "row09-subclasses",
        one_node("().__class__.__bases__[0].__subclasses__()"),
        2,
        "attribute access not allowed",
        "col 3",
    ),
    ("row09-attribute", one_node("x.real"), 2, "col 2: attribute access not allowed", ""),
    ("row09-subscript", one_node("w[0]"), 2, "col 2: subscript access not allowed", ""),
    ("row10-lambda", one_node("lambda x: x"), 2, "col 1: Lambda not allowed", ""),
    ("row10-comprehension", one_node("[x for x in w]"), 2, "col 1: ListComp not allowed", ""),
    ("row10-fstring", one_node("f'{x}'"), 2, "col 1: JoinedStr (f-string) not allowed", ""),
    ("row10-ifexp", one_node("x if w else b"), 2, "col 1: IfExp (conditional expression)", ""),
    ("row10-statements", one_node("x; w"), 2, "col 4: Expr statement not allowed", ""),
    ("row10-keyword", one_node("sigmoid(z=x)"), 2, "col 9: keyword arguments not allowed", ""),
    ("row11-tower", one_node("9**9**9"), 2, "exponent 387420489 too large", ""),
    ("row11-caret-tower", one_node("9^9^9"), 2, "exponent 387420489 too large", "col 2"),
    ("row11-factorial", one_node("factorial(10**6)"), 2, "call to 'factorial' not allowed", ""),
    ("row11-huge-power", one_node("10**1000000"), 2, "exponent 1000000 too large", ""),
    ("row11-long-literal", one_node("1" * 5000), 2, "integer literal too long", ""),
    ("row12-parens", one_node("(" * 100_000), 2, "expression too long", ""),
    ("row12-minus", one_node("-" * 100_000 + "4"), 2, "expression too long", ""),
    ("row12-deep", one_node("(" * 4000 + "x" + ")" * 4000), 2, "too deeply nested", ""),
    ("row12-1mb-expression", one_node("x+" * 500_000 + "x"), 2, "spec is larger than 1000000", ""),
    # 13: unknown symbol with a suggestion
    (
        "row13-unknown-symbol",
        one_node("w*x + c"),
        2,
        "col 7: unknown symbol 'c'",
        "(did you mean 'b'?)",
    ),
    # 15-17: names
    *[
        (
            f"row15-{name}",
            one_node("w*x + b", params=("w", "b", name)),
            2,
            f"'{name}' is a reserved name",
            "",
        )
        for name in ("class", "lambda", "match", "print", "np", "numpy", "self", "grads")
    ],
    *[
        (
            f"row16-{label}",
            one_node("w*x + b", params=("w", "b", name)),
            2,
            "names are ASCII identifiers",
            "",
        )
        for label, name in (
            ("dash", "x-y"),
            ("dot", "a.b"),
            ("digit", "1abc"),
            ("space", "w 1"),
            ("empty", ""),
            ("long", "a" * 200),
        )
    ],
    (
        "row16-dunder",
        one_node("w*x + b", params=("w", "b", "__init__")),
        2,
        "names may not start with '_'",
        "",
    ),
    (
        "row16-node-name",
        graph({"x-y": "w*x", "E": "(t - w*x)^2/2"}),
        2,
        "invalid node name 'x-y'",
        "",
    ),
    *[
        (f"row17-{label}", one_node("w*x + b", params=names), 2, "names must be ASCII", hint)
        for label, names, hint in (
            ("ligature", ("w", "b", "\ufb01le", "file"), "U+FB01"),
            ("fullwidth", ("w", "b", "\uff21\uff22"), "U+FF21"),
            ("delta", ("w", "b", "\u03b4"), "U+03B4"),
            ("rtl-override", ("w", "b", "a\u202eb"), "U+202E"),
        )
    ],
    ("row17-in-expression", one_node("w*x + b*\u03b4"), 2, "expressions must be ASCII", "U+03B4"),
    # 18: duplicates name both definitions
    (
        "row18-twice",
        one_node("w*x + b", params=("w", "b", "w")),
        2,
        "duplicate name 'w': parameter 'w' and parameter 'w'",
        "",
    ),
    (
        "row18-case",
        one_node("w*x + b", params=("W", "w", "b")),
        2,
        "duplicate name 'W': parameter 'W' and parameter 'w'",
        "unique ignoring case",
    ),
    (
        "row18-node-and-param",
        graph({"w": "b*x", "E": "(t - w)^2/2"}),
        2,
        "duplicate name 'w': parameter 'w' and node 'w'",
        "",
    ),
    ("row18-device-name", 'name = "con"\n' + LAYERED, 2, "'con' is a reserved name", "Windows"),
    # 24: cycles
    (
        "row24-cycle",
        graph({"h1": "w*h2", "h2": "b*h1", "E": "(t - h2)^2/2"}),
        2,
        "cycle: h1 -> h2 -> h1",
        "",
    ),
    ("row24-self-loop", graph({"h1": "w*h1 + b*x", "E": "(t - h1)^2/2"}), 2, "cycle: h1 -> h1", ""),
    # 25: missing references
    ("row25-dangling", one_node("w*h3 + b"), 2, "unknown symbol 'h3'", ""),
    ("row25-no-loss-node", graph({"z": "w*x + b"}), 2, "loss 'E' is not one of the nodes", ""),
    (
        "row25-two-losses",
        graph().replace('loss = "E"', 'loss = ["E", "z"]'),
        2,
        "loss must be a string, got array",
        "",
    ),
    (
        "row25-loss-feeds-node",
        graph({"E": "(t - w*x)^2/2", "z": "E*b"}),
        2,
        "the loss 'E' must not feed another node",
        "",
    ),
    # 27: sizes
    *[
        (f"row27-{label}", layers(f"{{units = {value}}}"), 2, message, "")
        for label, value, message in (
            ("zero", "0", "layer 1 units must be an integer >= 1, got 0"),
            ("negative", "-3", "layer 1 units must be an integer >= 1, got -3"),
            ("fraction", "2.5", "units must be an integer, got number 2.5"),
            ("string", '"ten"', "units must be an integer, got string 'ten'"),
            ("float-1e9", "1e9", "units must be an integer, got number 1000000000.0"),
            ("int-1e9", "1_000_000_000", "units is more than the limit of 100000"),
        )
    ],
    (
        "row27-inputs",
        "[network]\ninputs = 0\nlayers = [{units = 1}]\n",
        2,
        "inputs must be an integer >= 1",
        "",
    ),
    # 30: hyperparameters
    *[
        (f"row30-{label}", LAYERED + f"[training]\nlearning_rate = {value}\n", 2, message, "")
        for label, value, message in (
            ("nan", "nan", "learning_rate must be finite"),
            ("inf", "inf", "learning_rate must be finite"),
            ("negative", "-0.5", "learning_rate must be finite and > 0, got -0.5"),
            ("zero", "0", "learning_rate must be finite and > 0, got 0"),
            ("yaml-inf", ".inf", "spec must be TOML"),
        )
    ],
    ("row30-value-nan", LAYERED + "[values]\ni1 = nan\n", 2, "value of 'i1' must be finite", ""),
]


@pytest.mark.parametrize(
    ("spec", "code", "message", "detail"),
    [pytest.param(*row[1:], id=row[0]) for row in REFUSED],
)
@pytest.mark.parametrize("command", ["codegen", "derive"])
def test_refused_spec(workdir, capsys, command, spec, code, message, detail):
    path = workdir / "s.toml"
    path.write_bytes(spec if isinstance(spec, bytes) else spec.encode("utf-8"))
    before = snapshot(workdir)
    args = [command, "s.toml"] + (["--out", "out"] if command == "codegen" else [])
    got, out, err, seconds = run(capsys, *args)
    assert got == code, err
    line = one_line_error(err)
    assert message in line
    assert detail in line
    assert "s.toml" in line  # the message names the file
    assert snapshot(workdir) == before  # nothing written, nothing changed
    assert not (workdir / "PWNED").exists()
    assert out == ""
    # CPU time; the slowest row (a deeply dotted key) takes 0.3 s alone, more in a busy worker
    assert seconds < 1.5


def test_row01_spec_missing_or_directory(workdir, capsys):
    before = snapshot(workdir)
    for spec in ("x.toml", "out"):
        code, _, err, _ = run(capsys, "codegen", spec, "--out", "out")
        assert code == 2
        assert f"spec file '{spec}' not found" in one_line_error(err)
    assert snapshot(workdir) == before


def test_row04_spec_size_cap(workdir, capsys):
    with (workdir / "big.toml").open("wb") as stream:
        stream.truncate(50_000_000)  # sparse: 50 MB without writing them
    before = snapshot(workdir)
    code, _, err, seconds = run(capsys, "codegen", "big.toml", "--out", "out")
    assert code == 2
    assert "big.toml: spec is larger than 1000000 bytes" in one_line_error(err)
    assert seconds < 1.0
    assert snapshot(workdir) == before


# -------------------------------------------------------------------------------------------
# Specs that are accepted, with a warning where the row asks for one.


def test_row14_sympy_special_names_are_plain_symbols(workdir, capsys):
    names = ["E", "I", "N", "S", "gamma", "pi", "beta"]
    spec = graph(
        {"z": "E*x + I*x + N + S + gamma + pi*beta", "a": "sigmoid(z)", "L": "(t - a)^2/2"},
        params=names,
        loss="L",
    )
    (workdir / "s.toml").write_text(spec)
    code, out, err, _ = run(capsys, "derive", "s.toml")
    assert code == 0, err
    assert "exp(1)" not in out and "E x + I x" in out and "β π" in out
    network = load_spec("s.toml")
    expr = network.node(sp.Symbol("z")).expr
    assert expr.free_symbols == {sp.Symbol(n) for n in [*names, "x"]}
    assert not expr.has(sp.E, sp.I, sp.pi, sp.EulerGamma)
    module = load_generated(generate_module(derive(network), source="s.toml"))
    zeros = {name: np.asarray(0.0) for name in names}
    # Plain symbols set to 0 give z = 0 and sigmoid(z) = 1/2; Euler's e, i or pi would not.
    assert module.forward(zeros, np.array([[3.0]]), check_inputs=True).tolist() == [[0.5]]


def test_row25_unused_parameter_is_a_warning(workdir, capsys):
    (workdir / "s.toml").write_text(one_node("w*x", params=("w", "b")))
    code, out, err, _ = run(capsys, "derive", "s.toml")
    assert code == 0, err
    assert (
        err == "symbackprop: warning: parameter 'b' does not reach the loss; its gradient is zero\n"
    )
    assert out


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        pytest.param(
            layers('{units = 1, activation = "softmax"}', extra='loss = "cross_entropy"'),
            "softmax",
            id="row28-softmax-one-unit",
        ),
        pytest.param(
            layers("{units = 2}", extra='loss = "cross_entropy"'),
            "softmax",
            id="row28-cross-entropy-without-softmax",
        ),
        pytest.param(
            layers('{units = 1, activation = "tanh"}', extra='loss = "bce"'),
            "sigmoid",
            id="row28-bce-without-sigmoid",
        ),
    ],
)
def test_row28_output_that_is_not_a_probability(workdir, capsys, spec, reason):
    """Exit 2, or exit 0 with a warning that gives the reason (the row allows either)."""
    (workdir / "s.toml").write_text(spec)
    code, _, err, _ = run(capsys, "derive", "s.toml")
    assert code in (0, 2), err
    lines = err.strip().splitlines()
    kind = "error" if code == 2 else "warning"
    assert any(line.startswith(f"symbackprop: {kind}: ") and reason in line for line in lines), err


def test_row28_unit_level_builder_warns_about_the_missing_softmax():
    network = build_layered(
        name="n", inputs=1, layers=[LayerSpec(units=2)], loss="cross_entropy", notation="plain"
    )
    assert any("probabilities summing to 1" in w and "'sigmoid'" in w for w in network.warnings)


# -------------------------------------------------------------------------------------------
# 29: resource limits


def chain(length: int) -> str:
    """A graph spec of ``length`` sigmoid units in a row: always unit level, deep on purpose."""
    nodes = {"h1": "sigmoid(w*x + b)"}
    nodes.update({f"h{i}": f"sigmoid(w*h{i - 1} + b)" for i in range(2, length + 1)})
    nodes["E"] = f"(t - h{length})^2/2"
    return graph(nodes)


@pytest.mark.parametrize(
    ("length", "args", "budget", "message"),
    [
        pytest.param(  # about 1.9 s alone, parsing 3,000 nodes; the suite runs on every core
            3000,
            [],
            6.0,
            "more than 10000 operations (raise --max-ops",
            id="row29-3000-layers-over-default-max-ops",
        ),
        pytest.param(
            10, ["--max-ops", "20"], 1.0, "more than 20 operations", id="row29-over-max-ops"
        ),
        pytest.param(
            400,
            ["--max-ops", "10000000", "--max-seconds", "1"],
            2.5,
            "gave up after 1 s (raise --max-seconds)",
            id="row29-over-max-seconds",
        ),
    ],
)
def test_row29_huge_network_is_exit_5_within_the_budget(
    workdir, capsys, length, args, budget, message
):
    (workdir / "s.toml").write_text(chain(length))
    before = snapshot(workdir)
    code, _, err, seconds = run(capsys, *args, "codegen", "s.toml", "--out", "out")
    assert code == 5, err
    assert message in one_line_error(err)
    assert seconds < budget
    assert snapshot(workdir) == before
    assert not list(workdir.rglob("*.tmp"))


# -------------------------------------------------------------------------------------------
# 19: hostile free text reaches the PDF as literal text


HOSTILE_TITLE = (
    r"\input{/etc/passwd} ^^5cinput{/etc/hostname} \write18{touch PWNED} }\end{document}"
    " 50% & $5 #1 ~x_y^z"
)


def test_row19_hostile_title_is_literal_text(workdir, capsys, require_pdflatex):
    spec = f"title = {toml(HOSTILE_TITLE)}\n" + LAYERED
    (workdir / "s.toml").write_text(spec)
    code, _, err, _ = run(capsys, "handout", "s.toml", "--out", "out")
    assert code == 0, err
    tex = (workdir / "out/s.tex").read_text()
    assert r"\input{/etc" not in tex and "^^5c" not in tex and r"\write18" not in tex
    pdf = workdir / "out/s.pdf"
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    for piece in (
        "/etc/passwd",
        "^^5cinput{/etc/hostname}",
        "write18{touch PWNED}",
        "50% & $5 #1 ~x_y^z",
    ):
        assert piece in flat
    assert "root:" not in text  # /etc/passwd was not read
    assert not (workdir / "PWNED").exists()


# -------------------------------------------------------------------------------------------
# 20-23: hand-written claims, through the claims parser (the verify command comes later)


class Resolver:
    """Names are plain symbols; sigma, exp, tanh are the elementary functions."""

    def symbol(self, base, sub, sup):
        if base not in ("x", "y", "z", "E"):  # 'e' unknown, so e^{-z} is exp(-z)
            raise InvalidInput(f"unknown symbol '{base}'")
        return sp.Symbol(f"{base}_{sub}" if sub else base)

    def partial(self, of, wrt):
        return sp.diff(of, wrt)

    def function(self, name, arg, prime):
        f = {"sigma": lambda u: 1 / (1 + sp.exp(-u)), "exp": sp.exp, "tanh": sp.tanh}[name]
        return sp.diff(f(arg), arg) if prime else f(arg)

    def is_index(self, letter):
        return letter in "jk"

    def index_range(self, index, where, bindings):
        return ["1", "2"]


def claim_sides(text: str) -> list[sp.Expr]:
    [claim] = parse_claims(text)
    return [to_sympy(side, Resolver()) for side in claim.sides]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            r"y = \input{/etc/passwd}", r"col 5: unknown command '\input'", id="row20-input"
        ),
        pytest.param(r"y = \write18{ls}", r"col 5: unknown command '\write", id="row20-write18"),
        pytest.param(r"y = \text{softmax}(z)", "unknown symbol 'text'", id="row20-text"),
        pytest.param(
            r"y = \operatorname{f}(z)", "unknown symbol 'operatorname'", id="row20-operatorname"
        ),
        pytest.param(r"\partial E = 1", r"\partial is only supported as \frac", id="row23-partial"),
        pytest.param(
            "y = " + "(" * 100_000, "longer than 10000 characters", id="row12-claim-parens"
        ),
    ],
)
def test_claims_refused_cleanly(text, message):
    start = time.process_time()
    with pytest.raises(InvalidInput) as info:
        parse_claims(text)
    assert message in str(info.value)
    assert info.value.exit_code == 2
    assert time.process_time() - start < 1.0


def test_row11_claim_exponent_tower_fails_fast():
    start = time.process_time()
    with pytest.raises(InvalidInput):
        claim_sides(r"y = 2^{2^{2^{2^{2}}}}")
    assert time.process_time() - start < 1.0


def test_row21_same_derivative_written_differently_is_equal():
    left, right = claim_sides(r"\sigma(z)(1-\sigma(z)) = e^{-z}/(1+e^{-z})^2")
    assert sp.simplify(left - right) == 0


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(r"\sigma(z)(1-\sigma(z)) = 2 e^{-z}/(1+e^{-z})^2", id="row22-factor-2"),
        pytest.param(r"\sigma(z)(1-\sigma(z)) = -e^{-z}/(1+e^{-z})^2", id="row22-sign"),
    ],
)
def test_row22_wrong_claim_differs_at_a_point(text):
    left, right = claim_sides(text)
    z = sp.Symbol("z")
    assert (left - right).subs(z, sp.Rational(1, 3)).evalf() != 0


def test_row23_tanh_parses_as_a_call():
    left, right = claim_sides(r"y = \tanh(x)")
    assert right == sp.tanh(sp.Symbol("x"))


# -------------------------------------------------------------------------------------------
# 31-35: the generated module


@pytest.fixture(scope="module")
def mazur():
    return load_generated(generate_module(derive(load_spec("mazur")), source="mazur"), "mazur_gen")


X = np.array([[0.05, 0.10]])
T = np.array([[0.01, 0.99]])


@pytest.mark.parametrize(
    ("x", "t", "message"),
    [
        pytest.param(
            np.array([[np.nan, 0.1]]), T, "x contains non-finite values", id="row31-nan-x"
        ),
        pytest.param(
            np.array([[np.inf, 0.1]]), T, "x contains non-finite values", id="row31-inf-x"
        ),
        pytest.param(
            X, np.array([[0.0, -np.inf]]), "t contains non-finite values", id="row31-inf-t"
        ),
        pytest.param(np.zeros((0, 2)), np.zeros((0, 2)), "empty batch", id="row33-empty-batch"),
        pytest.param(
            np.zeros((1, 3)),
            T,
            r"x must be an array of shape (N, 2), got (1, 3)",
            id="row34-wrong-width",
        ),
        pytest.param(
            np.zeros(2), T, r"x must be an array of shape (N, 2), got (2,)", id="row34-wrong-ndim"
        ),
        pytest.param(
            X,
            np.zeros((1, 3)),
            r"t must be an array of shape (N, 2), got (1, 3)",
            id="row34-wrong-t",
        ),
        pytest.param(
            X.astype(np.float16), T, "x must be float32 or float64, got float16", id="row34-float16"
        ),
        # lists and integers are accepted, objects refused with a TypeError: test_module_interface
        pytest.param(
            np.zeros((2, 2)),
            T,
            "x and t must have the same batch size, got 2 and 1",
            id="row34-batch-mismatch",
        ),
    ],
)
@pytest.mark.parametrize("function", ["gradients", "loss"])
def test_generated_code_refuses_bad_arrays(mazur, function, x, t, message):
    params = mazur.init_params()
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(mazur, function)(params, x, t, check_inputs=True)


def test_row31_nan_propagates_without_check(mazur):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grads = mazur.gradients(mazur.init_params(), np.array([[np.nan, 0.1]]), T)
    assert np.isnan(grads["w1"]) and np.isnan(grads["w5"])  # not silently cleaned


def _strict():
    """Overflow, division by zero and invalid operations raise (warnings are errors as well).

    Underflow (a result rounding to zero or a subnormal) is not an error: NumPy ignores it by
    default, and it is the correctly rounded result, e.g. (t - y)^2 for y = sigmoid(-80) in f32.
    """
    return np.errstate(all="raise", under="ignore")


def _unit_net(activation: str, loss: str = "half_sse") -> object:
    spec = layers(f'{{units = 2, activation = "{activation}"}}', extra=f'loss = "{loss}"')
    spec = spec.replace("inputs = 2", "inputs = 1")
    network = load_spec_text(spec, source="s.toml", name="s")
    return load_generated(generate_module(derive(network), source="s.toml"), f"g_{activation}")


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softplus", "relu", "linear"])
@pytest.mark.parametrize(
    ("dtype", "big"), [(np.float64, 1000.0), (np.float32, 80.0)], ids=["f64", "f32"]
)
def test_row32_extreme_logits_give_finite_loss_and_gradients(activation, dtype, big):
    module = _unit_net(activation)
    params = {name: np.asarray(1.0, dtype=dtype) for name in module.PARAMS}
    x = np.array([[big], [-big], [0.0]], dtype=dtype)
    for target in (0.0, 1.0):
        t = np.full((3, 2), target, dtype=dtype)
        with _strict(), warnings.catch_warnings():
            warnings.simplefilter("error")
            loss = module.loss(params, x, t, check_inputs=True)
            grads = module.gradients(params, x, t, check_inputs=True)
        assert np.isfinite(loss)
        assert all(np.isfinite(g) and g.dtype == dtype for g in grads.values())


def test_row35_float32_in_float32_out(mazur):
    g64 = mazur.gradients(mazur.init_params(), X, T, check_inputs=True)
    g32 = mazur.gradients(
        mazur.init_params(np.float32), X.astype(np.float32), T.astype(np.float32), check_inputs=True
    )
    assert set(g32) == set(g64)
    for name, value in g32.items():
        assert value.dtype == np.float32
        np.testing.assert_allclose(value, g64[name], rtol=2e-3, atol=1e-6)


# -------------------------------------------------------------------------------------------
# 36-38: refusing to overwrite, crashes while writing, paths that leave --out


@pytest.mark.parametrize(
    "old",
    [
        pytest.param(b"# my own notes\n", id="row36-no-header"),
        pytest.param(None, id="row36-edited"),
    ],
)
def test_row36_edited_or_foreign_file_is_not_overwritten(workdir, capsys, old):
    target = workdir / "out/mazur.py"
    assert run(capsys, "codegen", "mazur", "--out", "out")[0] == 0
    old = old or target.read_bytes().replace(b"import numpy as np", b"import numpy as np  # mine")
    target.write_bytes(old)
    before = snapshot(workdir)
    code, _, err, _ = run(capsys, "codegen", "mazur", "--out", "out")
    assert code == 4
    assert "refusing to overwrite" in one_line_error(err) and "--force" in err
    assert snapshot(workdir) == before
    code, _, err, _ = run(capsys, "codegen", "mazur", "--out", "out", "--force")
    assert code == 0, err
    assert (workdir / "out/mazur.py.bak").read_bytes() == old
    assert target.read_bytes() != old


def _crash_os_replace(src, dst):
    raise OSError(errno.EIO, "simulated crash in os.replace")


def _crash_os_write(fd, data):
    raise OSError(errno.ENOSPC, "No space left on device")


class _Killed(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


def _half_then_die(real_write):
    def write(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise _Killed

    return write


@pytest.mark.parametrize(
    ("name", "make", "code"),
    [
        pytest.param("replace", lambda real: _crash_os_replace, 2, id="row37-replace-fails"),
        pytest.param("write", lambda real: _crash_os_write, 2, id="row37-disk-full"),
        pytest.param("write", _half_then_die, None, id="row37-killed-mid-write"),
    ],
)
def test_row37_crash_mid_write_keeps_the_old_file(workdir, capsys, monkeypatch, name, make, code):
    (workdir / "s.toml").write_text(graph())
    target = workdir / "out/s.py"
    target.write_text(stamp("OLD = 1\n", comment="#", source="s.toml"))  # ours: may be replaced
    before = snapshot(workdir)
    with monkeypatch.context() as patch:
        patch.setattr(os, name, make(getattr(os, name)))
        if code is None:
            with pytest.raises(_Killed):
                cli.main(["codegen", "s.toml", "--out", "out"])
        else:
            got, _, err, _ = run(capsys, "codegen", "s.toml", "--out", "out")
            assert got == code
            assert "cannot write" in one_line_error(err)
    assert snapshot(workdir) == before  # the old file intact, and no temp file left
    assert run(capsys, "codegen", "s.toml", "--out", "out")[0] == 0  # and it works afterwards


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only directory")
def test_row37_read_only_directory(workdir, capsys):
    (workdir / "out").chmod(0o555)
    try:
        code, _, err, _ = run(capsys, "codegen", "mazur", "--out", "out")
    finally:
        (workdir / "out").chmod(0o755)
    assert code == 2 and "cannot write" in one_line_error(err)
    assert not (workdir / "out/mazur.py").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--out", "out", "-o", "../../etc/x.py"],
            "output must stay inside --out",
            id="row38-dotdot",
        ),
        pytest.param(
            ["--out", "out", "-o", "/tmp/elsewhere.py"],
            "output must stay inside --out",
            id="row38-absolute",
        ),
        pytest.param(
            ["--out", "out", "--output=-rf"], "output must stay inside --out", id="row38-dash"
        ),
        pytest.param(
            ["--out", "out", "-o", ".."], "output must stay inside --out", id="row38-parent"
        ),
        pytest.param(
            ["--out", "out", "-o", "link/x.py"], "output must stay inside --out", id="row38-symlink"
        ),
        pytest.param(["--out", "out", "-o", "."], "it is a directory", id="row38-directory"),
    ],
)
def test_row38_outputs_stay_inside_out(workdir, capsys, args, message):
    outside = workdir / "outside"
    outside.mkdir()
    (workdir / "out/link").symlink_to(outside)
    before = snapshot(workdir)
    code, _, err, _ = run(capsys, "codegen", "mazur", *args)
    assert code == 2
    assert message in one_line_error(err)
    assert snapshot(workdir) == before
    assert not Path("/tmp/elsewhere.py").exists()


@pytest.mark.parametrize("name", ["-rf", "..", "../../etc/passwd", "a/b", "con"])
def test_row38_network_name_cannot_pick_the_output_path(workdir, capsys, name):
    (workdir / "s.toml").write_text(f"name = {toml(name)}\n" + LAYERED)
    before = snapshot(workdir)
    code, _, err, _ = run(capsys, "codegen", "s.toml")
    assert code == 2
    assert "name" in one_line_error(err)
    assert snapshot(workdir) == before


def test_row38_free_text_cannot_escape_the_docstring(workdir, capsys):
    title = 'x""" + str(__import__("os").system("touch PWNED")) + """ \\ \u202e'
    (workdir / "s.toml").write_text(f"title = {toml(title)}\n" + LAYERED)
    assert run(capsys, "codegen", "s.toml", "-o", "gen.py")[0] == 0
    module = load_generated((workdir / "gen.py").read_text(), "gen_title")
    assert title in module.__doc__
    assert not (workdir / "PWNED").exists()


# -------------------------------------------------------------------------------------------
# 39: pdflatex missing or hanging


def test_row39_pdflatex_missing_warns_and_writes_the_tex(workdir, capsys, monkeypatch):
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX", "")
    code, _, err, _ = run(capsys, "handout", "mazur", "--out", "out")
    assert code == 0
    assert err.startswith("symbackprop: warning: pdflatex not found")
    assert (workdir / "out/mazur.tex").is_file()
    assert not (workdir / "out/mazur.pdf").exists()


def test_row39_pdflatex_hang_is_killed(workdir, capsys, monkeypatch, require_pdflatex):
    # A test hook: a wrapper that puts an endless macro into the document, then runs the real
    # pdflatex (exec: same process, so the timeout kills the TeX run itself).
    hook = workdir / "hook" / "pdflatex"
    hook.parent.mkdir()
    hook.write_text(
        "#!/bin/sh\n"
        "sed -i 's/\\\\begin{document}/\\\\begin{document}\\\\def\\\\x{\\\\x}\\\\x/' handout.tex\n"
        f'exec "{require_pdflatex}" "$@"\n'
    )
    hook.chmod(0o755)
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX", str(hook))
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX_TIMEOUT", "2")
    assert run(capsys, "codegen", "mazur", "--out", "out")[0] == 0
    # what the handout costs without pdflatex, on this machine now (other tests share it)
    start = time.perf_counter()
    assert run(capsys, "handout", "mazur", "-o", "tex-only/mazur.tex", "--no-pdf")[0] == 0
    without_pdflatex = time.perf_counter() - start
    before = snapshot(workdir)
    start = time.perf_counter()
    code, _, err, _ = run(capsys, "handout", "mazur", "--out", "out")
    assert code == 6
    assert "pdflatex timed out after 2 s" in one_line_error(err)
    # the hung TeX run is killed at its 2 s timeout: the handout took little longer than without
    assert time.perf_counter() - start - without_pdflatex < 10
    after = snapshot(workdir)
    assert after["out/mazur.py"] == before["out/mazur.py"]
    assert after["out/mazur.tex"].startswith(b"% Generated by symbackprop")
    assert set(after) == set(before) | {"out/mazur.tex"}  # no PDF, no stray files


# -------------------------------------------------------------------------------------------
# 40: byte-identical output whatever the hash seed, working directory or time zone

_GENERATE_ALL = """
import sys
sys.path.insert(0, sys.argv[2])
import blackmemo  # as in the test processes: black's output for a repeated source reused
blackmemo.install()
from symbackprop.cli.commands import main
from symbackprop.spec.load import example_names
for name in [*example_names(), sys.argv[1]]:
    for command in ("codegen", "handout"):
        extra = ["--no-pdf"] if command == "handout" else []
        assert main([command, name, "--out", "out", *extra]) == 0  # relative to the cwd
"""


def test_row40_every_example_is_byte_identical_across_hash_seeds(tmp_path):
    spec = tmp_path / "special.toml"
    names = ["E", "I", "N", "S", "gamma", "pi", "beta"]
    spec.write_text(
        graph(
            {"z": "E*x + I + N*S + gamma + pi*beta", "a": "sigmoid(z)", "L": "(t - a)^2/2"},
            params=names,
            loss="L",
        )
    )
    # The two interpreters run side by side: on a core the other test worker has left idle,
    # this, the longest test, does not hold up the end of the run.
    runs = []
    for seed, zone in (("0", "UTC"), ("1", "Asia/Kolkata")):
        cwd = tmp_path / f"cwd{seed}"
        cwd.mkdir()
        env = dict(os.environ, PYTHONHASHSEED=seed, TZ=zone)
        child = subprocess.Popen(
            [sys.executable, "-c", _GENERATE_ALL, str(spec), str(Path(__file__).parent)],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        runs.append((child, cwd))
    results = []
    try:
        for child, cwd in runs:
            _, err = child.communicate(timeout=600)  # a guard against a hang, not a budget
            assert child.returncode == 0, err.decode()[-2000:]
            results.append(snapshot(cwd / "out"))
    finally:
        for child, _ in runs:  # a no-op once it has exited; a hung one does not outlive the test
            child.kill()
            child.communicate()
    assert len(results[0]) == 2 * (len(example_names()) + 1)
    assert results[0] == results[1]


def test_row40_unchanged_files_keep_their_mtime(workdir, capsys):
    assert run(capsys, "codegen", "mazur", "--out", "out")[0] == 0
    target = workdir / "out/mazur.py"
    os.utime(target, (1_000_000_000, 1_000_000_000))
    code, out, _, _ = run(capsys, "codegen", "mazur", "--out", "out")
    assert code == 0 and out.startswith("unchanged")
    assert target.stat().st_mtime == 1_000_000_000


# -------------------------------------------------------------------------------------------
# The contract's first line: user text never reaches eval, exec, sympify, parse_expr, lambdify

FORBIDDEN = {"eval", "exec", "sympify", "parse_expr", "lambdify"}


def forbidden_calls(source: str) -> list[str]:
    """Uses of a forbidden name in code (calls, imports, aliases, ``sp.sympify``).

    Comments and strings (docstrings) are ignored, and so are a method ``def eval`` (SymPy's
    ``Function.eval`` hook) and calls of such a method (``cls.eval``).
    """
    tokens = [
        tok
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE)
    ]
    found = []
    for before, tok, after in zip([None, *tokens], tokens, [*tokens[1:], None]):
        if tok.type != tokenize.NAME or tok.string not in FORBIDDEN:
            continue
        if before is not None and before.string == "def":  # SymPy's Function.eval hook
            continue
        if before is not None and before.string == "." and tok.string in ("eval", "exec"):
            continue  # a method such as cls.eval, not the builtin
        call = "(" if after is not None and after.string == "(" else ""
        found.append(f"{tok.string}{call} at line {tok.start[0]}")
    return found


def test_forbidden_call_detector_finds_calls_and_ignores_text():
    assert forbidden_calls("x = sp.sympify(s)\ny = eval (t)\n") == [
        "sympify( at line 1",
        "eval( at line 2",
    ]
    assert forbidden_calls('"""eval(x)"""\n# exec(y)\ns = "lambdify(f)"\nevaluate(x)\n') == []
    assert forbidden_calls("class F:\n    def eval(cls, z):\n        return cls.eval(z)\n") == []
    assert forbidden_calls("sp.parse_expr(s)\n") == ["parse_expr( at line 1"]
    assert forbidden_calls("from sympy import (\n  sympify as s)\n") == ["sympify at line 2"]


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_package_never_calls_eval_exec_sympify_parse_expr_lambdify(path):
    assert forbidden_calls(path.read_text(encoding="utf-8")) == []


# Row 26. Weight and bias shapes are never declared: they follow from the layer widths, so the
# row's "W2 (3×5) fed by a 4-unit h1" cannot be written. The shapes a spec does state are the
# example rows of [data], and those are checked against the layer widths.
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("x = [[1.0, 2.0, 3.0]]\nt = [[0.0, 1.0]]\n", "each row of x must list 2 numbers"),
        ("x = [[1.0, 2.0]]\nt = [[0.0, 1.0, 0.0]]\n", "each row of t must list 2 numbers"),
        ("x = [[1.0, 2.0], [3.0, 4.0]]\nt = [[0.0, 1.0]]\n", "same number of rows"),
    ],
    ids=["row26-x-width", "row26-t-width", "row26-batch-mismatch"],
)
def test_row26_shape_mismatch(workdir, capsys, data, message):
    spec = (
        'level = "layer"\n'
        + layers(
            '{units = 4, activation = "tanh"}',
            '{units = 2, activation = "softmax"}',
            extra='loss = "cross_entropy"\n',
        )
        + "[data]\n"
        + data
    )
    (workdir / "s.toml").write_text(spec)
    before = snapshot(workdir)
    code, _, err, _ = run(capsys, "codegen", "s.toml", "--out", "out", "-o", "s2.py")
    assert code == 2, err
    assert message in one_line_error(err)
    assert snapshot(workdir) == before

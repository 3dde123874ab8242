"""The proof that an activation is defined in one place only: a new one, added either through
the registry's API or in a spec as an expression of z, goes through every command at both
levels (derive, handout with its PDF, codegen, check, verify) with no other edit.

softsign(z) = z / (1 + |z|), f'(z) = (1 − |a|)² in terms of its output (1 − |a| = 1/(1 + |z|)).
"""

from __future__ import annotations

import pytest
import sympy as sp
from clirun import one_line_error, run

from symbackprop.rules import registry as rules

SOFTSIGN = rules.Activation(
    name="softsign",
    latex=r"\operatorname{softsign}",
    definition=lambda z: z / (1 + sp.Abs(z)),
    derivative=lambda z, a: sp.Pow(rules._sub(sp.Integer(1), sp.Abs(a)), 2, evaluate=False),
    claim_names=("softsign",),
)

SPEC = """\
level = "{level}"
[network]
inputs = 2
layers = [{{ units = 2, activation = {activation} }}, {{ units = 1, activation = "sigmoid" }}]
"""

# Claims about the 2-2-1 net at unit level (plain notation: x_1, net_u3, out_u3, w5 …).
CLAIMS = """\
out_u3 = {name}(net_u3)
delta_u3 = delta_u5 * w5 * {name}'(net_u3)
"""
WRONG = "delta_u3 = delta_u5 * w5 * out_u3 * (1 - out_u3)\n"


@pytest.fixture
def softsign():
    rules.register(SOFTSIGN)
    yield SOFTSIGN
    rules.unregister(SOFTSIGN.name)


@pytest.fixture
def swish_spec():
    yield '{ name = "swish", f = "z*sigmoid(z)" }'
    rules.unregister("swish")  # the spec registered it; later tests start without it


LAYER_CLAIMS = """\
\\frac{{\\partial C}}{{\\partial b^l_j}} = \\delta^l_j
a^{{2}}_{{j}} = {name}(z^{{2}}_{{j}})
"""
LAYER_WRONG = """\
\\frac{{\\partial C}}{{\\partial b^l_j}} = -\\delta^l_j
"""


def _all_commands(capsys, tmp_path, level: str, activation: str, name: str) -> None:
    spec = tmp_path / f"net_{level}.toml"
    spec.write_text(SPEC.format(level=level, activation=activation), encoding="utf-8")
    code, out, err = run(capsys, "derive", str(spec))
    assert code == 0, err
    assert name in out
    code, out, err = run(capsys, "handout", str(spec), "-o", str(tmp_path / f"{level}.tex"))
    assert code == 0, err
    tex = (tmp_path / f"{level}.tex").read_text(encoding="utf-8")
    assert rf"\operatorname{{{name}}}" in tex
    code, out, err = run(capsys, "codegen", str(spec), "-o", str(tmp_path / f"{level}.py"))
    assert code == 0, err
    code, out, err = run(capsys, "check", str(spec))
    assert code == 0, out + err
    assert "ok: derived = generated NumPy = finite differences" in out
    claims = tmp_path / "claims.txt"
    claims.write_text(CLAIMS.format(name=name), encoding="utf-8")
    code, out, err = run(capsys, "verify", str(spec), str(claims))
    if level == "layer":  # BP1-BP4 claims, the activation by its registry name
        claims.write_text(LAYER_CLAIMS.format(name=name), encoding="utf-8")
        code, out, err = run(capsys, "verify", str(spec), str(claims))
        assert code == 0, out + err
        claims.write_text(LAYER_WRONG.format(name=name), encoding="utf-8")
        code, out, err = run(capsys, "verify", str(spec), str(claims))
        assert code == 3, out + err
        return
    assert code == 0, out + err
    assert "2 correct" in out
    claims.write_text(WRONG, encoding="utf-8")
    code, out, err = run(capsys, "verify", str(spec), str(claims))
    assert code == 3, out + err


@pytest.mark.parametrize("level", ["unit", "layer"])
def test_an_entry_registered_through_the_api_works_everywhere(capsys, tmp_path, softsign, level):
    _all_commands(capsys, tmp_path, level, '"softsign"', "softsign")


@pytest.mark.parametrize("level", ["unit", "layer"])
def test_an_activation_defined_in_the_spec_works_everywhere(capsys, tmp_path, swish_spec, level):
    _all_commands(capsys, tmp_path, level, swish_spec, "swish")
    derivative = rules.ACTIVATIONS["swish"].derivative(sp.Symbol("z"), None)
    z = sp.Symbol("z")
    expected = sp.diff(z / (1 + sp.exp(-z)), z)  # the oracle, written without the registry
    for point in (sp.Rational(-5, 2), sp.Rational(1, 3)):
        got = rules.to_elementary(derivative).subs(z, point)
        assert abs(sp.N(got - expected.subs(z, point), 30)) < 1e-25


@pytest.mark.parametrize("level", ["unit", "layer"])
def test_the_handouts_compile(capsys, tmp_path, softsign, swish_spec, level, require_pdflatex):
    for activation in ('"softsign"', swish_spec):
        spec = tmp_path / "net.toml"
        spec.write_text(SPEC.format(level=level, activation=activation), encoding="utf-8")
        code, out, err = run(capsys, "handout", str(spec), "-o", str(tmp_path / "h.tex"))
        assert code == 0, err
        assert (tmp_path / "h.pdf").stat().st_size > 1000


@pytest.mark.parametrize(
    "activation, message",
    [
        ('{ name = "relu", f = "z" }', "activation 'relu' is already in the registry"),
        ('{ name = "linear", f = "z" }', "activation 'linear' is already in the registry"),
        ('{ name = "print", f = "z" }', "'print' is a reserved name"),
        ('{ name = "sq", f = "z*w" }', "unknown symbol 'w'"),
        ('{ name = "sq", f = "z**2", g = "z" }', "unknown key 'g'"),
    ],
)
def test_bad_custom_activations_are_one_line_errors(capsys, tmp_path, activation, message):
    spec = tmp_path / "bad.toml"
    spec.write_text(SPEC.format(level="unit", activation=activation), encoding="utf-8")
    code, out, err = run(capsys, "check", str(spec))
    assert code == 2
    assert message in one_line_error(err)
    assert "sq" not in rules.ACTIVATIONS


def test_a_graph_spec_can_define_and_call_an_activation(capsys, tmp_path):
    spec = tmp_path / "g.toml"
    spec.write_text(
        """\
[graph]
inputs = ["x"]
targets = ["t"]
params = ["w", "b"]
activations = { cube = "z**3/3 + z" }
nodes = { net = "w*x + b", out = "cube(net)", E = "(t - out)**2/2" }
loss = "E"
[values]
x = 0.5
t = 0.25
w = 0.3
b = -0.1
""",
        encoding="utf-8",
    )
    try:
        code, out, err = run(capsys, "check", str(spec))
        assert code == 0, out + err
        code, out, err = run(capsys, "derive", str(spec))
        assert "cube(net)" in out
        assert "(1 + net²)" in out  # the derived derivative of z³/3 + z
    finally:
        rules.unregister("cube")

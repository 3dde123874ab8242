"""The terminal text of a derivation (``symbackprop derive``, ``str(derivation)``), both levels.

Two kinds of checks: the text is in the notation, never SymPy's internals (no ``__`` names,
``Sum(``, ``Indexed``, marker functions), for every built-in example and random nets; and the
printed equations are right: lines are parsed back into SymPy and compared with the
derivation's own expressions at random points, their printed numbers with ``sympy.diff`` of the
loss written out independently, and the layer level's specialised BP1/BP2 with ``sympy.diff`` of
the activation and loss definitions.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths

from __future__ import annotations

import random
import re

import pytest
import sympy as sp
from sympy.parsing.sympy_parser import (
    implicit_multiplication,
    parse_expr,
    standard_transformations,
)

from symbackprop.cli.commands import main
from symbackprop.derivation.layer import LayerNet, derive_layers
from symbackprop.derivation.unit import derive
from symbackprop.model.layered import LayerSpec, build_layered
from symbackprop.printers.text import TextPrinter, derivation_text, layer_derivation_text
from symbackprop.rules import registry as rules
from symbackprop.rules.layer_losses import required_output
from symbackprop.spec.load import example_names, load_spec

FORBIDDEN = ("__", "Sum(", "Indexed", "FPrime", "DCDa", "KroneckerDelta", "**", "sigmoid(")
PRESETS = ("mazur", "essa", "hmkcode", "jacobs", "nielsen")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "softplus", "leaky_relu", "linear")
UNIT_LOSSES = ("half_sse", "gaussian_loglik", "bce", "bernoulli_loglik")
LAYER_LOSSES = ("half_sse", "gaussian_loglik", "bce", "bernoulli_loglik", "cross_entropy")


def _clean(text: str) -> None:
    for token in FORBIDDEN:
        assert token not in text, (token, text)


def _derive_text(capsys, *args: str) -> str:
    assert main(["derive", *args]) == 0
    return capsys.readouterr().out


# ---------------------------------------------------------------------------------------
# Notation, not internals


@pytest.mark.parametrize("name", example_names())
def test_every_example_prints_in_its_notation(capsys, name: str) -> None:
    out = _derive_text(capsys, name)
    _clean(out)
    net = load_spec(name)
    d = derive_layers(net) if isinstance(net, LayerNet) else derive(net)
    assert str(d) + "\n" == out  # str() is the text derive prints
    assert "\n" not in repr(d) and len(repr(d)) < 120 and name in repr(d)


@pytest.mark.parametrize("name", example_names())
def test_latex_format_still_works(capsys, name: str) -> None:
    out = _derive_text(capsys, name, "--format", "latex")
    assert "\\" in out and "δ" not in out and "Sum(" not in out


def _random_unit_net(rng: random.Random, values: bool):
    preset = rng.choice(PRESETS)
    depth = rng.randint(1, 3)
    layers = [
        LayerSpec(rng.randint(1, 2), rng.choice(ACTIVATIONS), rng.choice(("unit", "shared")))
        for _ in range(depth)
    ]
    loss = rng.choice(UNIT_LOSSES)
    if loss in ("bce", "bernoulli_loglik"):
        layers[-1] = LayerSpec(layers[-1].units, "sigmoid", layers[-1].bias)
    net = build_layered(name="r", inputs=rng.randint(1, 3), layers=layers, loss=loss,
                        notation=preset)  # fmt: skip
    if not values:
        return net
    given = {s.name: sp.Rational(rng.randint(-90, 90), 100) for s in (*net.inputs, *net.params)}
    given |= {s.name: sp.Rational(rng.randint(5, 95), 100) for s in net.targets}
    given[net.learning_rate.name] = sp.Rational(1, 4)
    return build_layered(name="r", inputs=len(net.inputs), layers=layers, loss=loss,
                         notation=preset, values=given)  # fmt: skip


def _random_layer_net(rng: random.Random) -> LayerNet:
    depth = rng.randint(1, 3)
    loss = rng.choice(LAYER_LOSSES)
    acts = [rng.choice(ACTIVATIONS) for _ in range(depth)]
    acts[-1] = required_output(loss) or rng.choice((*ACTIVATIONS, "softmax"))
    sizes = tuple(rng.randint(1, 4) for _ in range(depth + 1))
    return LayerNet("r", sizes, tuple(acts), loss=loss, reduction=rng.choice(("sum", "mean")),
                    weight_decay=rng.choice((0.0, 0.01)))  # fmt: skip


@pytest.mark.parametrize("seed", range(8))
def test_random_nets_print_in_notation(seed: int) -> None:
    rng = random.Random(seed)
    unit = derive(_random_unit_net(rng, values=seed % 2 == 0))
    _clean(str(unit))
    layer = derive_layers(_random_layer_net(rng))
    text = str(layer)
    _clean(text)
    labels = [line.split()[0] for line in text.splitlines() if line.startswith("  BP")]
    assert labels.count("BP1") == 1 and labels.count("BP2") == layer.net.depth - 1


def test_names_as_the_notations_write_them() -> None:
    p = TextPrinter()
    cases = {
        "w__h_11": "w^h_11", "delta__y_1": "δ^y_1", "delta_o1": "δ_o1", "Delta": "Δ",
        "w__2_1_11": "w^2_1,11", "net_h7_2": "net_h7,2", "eta": "η", "E_total": "E_total",
    }  # fmt: skip
    for name, printed in cases.items():
        assert p.doprint(sp.Symbol(name)) == printed
    jacobs = load_spec("jacobs").notation
    assert TextPrinter(jacobs).doprint(sp.Symbol("ystar_1")) == "y*_1"
    assert TextPrinter(jacobs).doprint(sp.Symbol("logL")) == "log L"


# ---------------------------------------------------------------------------------------
# The printed equations are right: unit level


_FUNCTIONS = {"σ": "sigmoid", "ReLU": "relu", "LReLU": "leaky_relu", "softplus": "softplus"}


def _parser(derivation):
    """Text → SymPy for this derivation's printed lines: every symbol's printed name is a token."""
    net = derivation.network
    printer = TextPrinter(net.notation)
    symbols = {*net.inputs, *net.targets, *net.params, net.loss, net.learning_rate}
    symbols |= {f.symbol for f in derivation.forward} | {d.symbol for d in derivation.deltas}
    symbols |= {derivation.gradient_symbol(p) for p in net.params}
    names = {printer.doprint(s): s for s in symbols}
    assert len(names) == len(symbols)  # two symbols never print alike
    token = {name: f"v{i}" for i, name in enumerate(names)}
    local = {token[n]: s for n, s in names.items()}
    local |= {f: rules.activation(f).function for f in _FUNCTIONS.values()}
    local |= {"Heaviside": sp.Heaviside, "log": sp.log, "exp": sp.exp}
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w^*,∂/])({alternation})(?![\w^*,])")

    def parse(text: str) -> sp.Expr:
        text = pattern.sub(lambda m: f" {token[m[1]]} ", text)
        for shown, name in sorted(_FUNCTIONS.items(), key=lambda kv: -len(kv[0])):
            text = re.sub(rf"(?<!\w){shown}\(", f"{name}(", text)
        while "[" in text:  # Iverson brackets, innermost first
            text = re.sub(r"\[([^\[\]]*?) > 0\]", r"Heaviside(\1, 0)", text)
        for a, b in (("−", "-"), ("·", "*"), ("×", "*"), ("²", "**2"), ("½", "(1/2)")):
            text = text.replace(a, b)
        return parse_expr(
            text,
            local_dict=local,
            transformations=standard_transformations + (implicit_multiplication,),
        )

    return parse, names


def _lines(text: str, section: str) -> list[tuple[str, str, str | None]]:
    """(left side, right side, printed value or None) of a section's equations."""
    body = text.split(f"\n{section}", 1)[1].split("\n\n", 1)[0]
    out = []
    for line in body.splitlines()[1:]:
        m = re.match(r"\s+\S*\s+(.+?) = (.+?)(?:\s{2,}= (\S+))?$", line)
        if m:
            out.append((m[1], m[2].strip(), m[3]))
    return out


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def _close(a, b, tol=1e-7) -> bool:
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(b)))


def _at(expr: sp.Expr, env) -> sp.Float:
    """``expr`` at the numbers of ``env`` (30 digits; Floats put in evaluate as they go)."""
    return sp.N(expr.xreplace({s: sp.Float(v, 30) for s, v in env.items()}), 30)


def _full(net, expr: sp.Expr, keep: sp.Symbol | None = None) -> sp.Expr:
    """``expr`` over the leaves, every node written out by its definition except ``keep``."""
    defs = {n.symbol: n.expr for n in net.nodes if n.symbol != keep}
    for _ in range(len(defs) + 1):
        new = expr.xreplace(defs)
        if new == expr:
            return expr
        expr = new
    return expr


def _check_printed_derivation(derivation) -> int:
    """Every forward, δ and gradient line parses back to the derivation's expression; with an
    example, its number is that expression's value and (δ's, gradients) sympy.diff's."""
    net = derivation.network
    text = derivation_text(derivation)
    parse, names = _parser(derivation)
    exprs = {f.symbol: f.expr for f in derivation.forward}
    exprs |= {d.symbol: d.expr for d in derivation.deltas}
    exprs |= {derivation.gradient_symbol(g.param): g.expr for g in derivation.gradients}
    rng = random.Random(1)
    point = {s: sp.Rational(rng.randint(10, 90), 100) for s in names.values()}
    checked = 0
    printed: dict[sp.Symbol, float] = {s: float(v) for s, v in net.values}
    rows = [r for sec in ("forward", "δ's", "gradients") for r in _lines(text, sec)]
    for lhs, rhs, value in rows:
        symbol = names[lhs]
        parsed = parse(rhs)
        want = exprs[symbol].doit()
        assert _close(_at(parsed, point), _at(want, point)), (lhs, rhs)
        if value is not None:
            printed[symbol] = _number(value)
            here = _at(parsed, printed)
            assert _close(here, printed[symbol], 1e-6), (lhs, rhs, value)
        checked += 1
    if not net.has_example:
        return checked
    example = dict(net.values)
    for d in derivation.deltas:  # δ_n = ∂E/∂n, the rest of the graph written out
        oracle = sp.diff(_full(net, net.node(net.loss).expr, keep=d.of), d.of)
        at = _at(_full(net, oracle), example)
        assert _close(printed[d.symbol], at, 1e-7), (d.symbol, printed[d.symbol], at)
    loss = _full(net, net.node(net.loss).expr)
    for p in net.params:
        at = _at(sp.diff(loss, p), example)
        assert _close(printed[derivation.gradient_symbol(p)], at, 1e-7), p
    return checked


@pytest.mark.parametrize("name", ["mazur", "essa", "hmkcode", "jacobs"])
def test_example_lines_parse_back_and_match_sympy_diff(name: str) -> None:
    derivation = derive(load_spec(name))
    assert _check_printed_derivation(derivation) == (
        len(derivation.forward) + len(derivation.deltas) + len(derivation.gradients)
    )


@pytest.mark.parametrize("seed", range(6))
def test_random_unit_lines_parse_back_and_match_sympy_diff(seed: int) -> None:
    rng = random.Random(100 + seed)
    assert _check_printed_derivation(derive(_random_unit_net(rng, values=True))) > 0


def test_nielsen_delta_line_at_the_example() -> None:
    """A 2-2-1 net in Nielsen's symbols: the printed δ^3_1 line, read back, is sympy.diff of
    the cost with respect to z^3_1, at the example's numbers."""
    values = {"x_1": 0.5, "x_2": -0.25, "y_1": 0.75, "eta": 0.5, "b__2_1": 0.1,
              "b__2_2": -0.2, "b__3_1": 0.3, "w__2_11": 0.4, "w__2_12": -0.5,
              "w__2_21": 0.6, "w__2_22": 0.7, "w__3_11": -0.8, "w__3_12": 0.9}  # fmt: skip
    net = build_layered(
        name="small",
        inputs=2,
        layers=[LayerSpec(2, "tanh"), LayerSpec(1, "sigmoid")],
        notation="nielsen",
        values={k: sp.Rational(str(v)) for k, v in values.items()},
    )
    d = derive(net)
    text = str(d)
    line = next(ln for ln in text.splitlines() if "δ^3_1 = " in ln)
    assert "δ^3_1 = (a^3_1 − y_1) · a^3_1 (1 − a^3_1)" in line
    printed = _number(line.rsplit("= ", 1)[1])
    x1, x2, y1 = values["x_1"], values["x_2"], values["y_1"]
    z = sp.Symbol("z")
    h1 = sp.tanh(values["w__2_11"] * x1 + values["w__2_12"] * x2 + values["b__2_1"])
    h2 = sp.tanh(values["w__2_21"] * x1 + values["w__2_22"] * x2 + values["b__2_2"])
    z3 = values["w__3_11"] * h1 + values["w__3_12"] * h2 + values["b__3_1"]
    cost = (y1 - 1 / (1 + sp.exp(-z))) ** 2 / 2
    assert _close(printed, sp.diff(cost, z).subs(z, z3).evalf(30), 1e-8)
    assert _check_printed_derivation(d) > 0


# ---------------------------------------------------------------------------------------
# The printed equations are right: layer level


def _layer_parse(text: str, l: int, upstream: sp.Symbol | None = None) -> sp.Expr:
    a, y, z = sp.symbols("a y z")
    text = text.replace(f"a^{l}_j", " a ").replace("y_j", " y ").replace(f"z^{l}_j", " z ")
    if upstream is not None:
        text = re.sub(r"\(Σ_k w\^\d+_kj δ\^\d+_k\)|^Σ_k w\^\d+_kj δ\^\d+_k$", " S ", text)
    text = re.sub(r"\[ z  > 0\]", "Heaviside(z, 0)", text)
    for a_, b_ in (("−", "-"), ("·", "*"), ("²", "**2"), ("½", "(1/2)")):
        text = text.replace(a_, b_)
    local = {"a": a, "y": y, "z": z, "S": upstream, "Heaviside": sp.Heaviside, "exp": sp.exp}
    return parse_expr(
        text,
        local_dict=local,
        transformations=standard_transformations + (implicit_multiplication,),
    )


def _special(text: str, label: str) -> list[str]:
    """The specialised right sides printed under each ``label`` line (index form)."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.strip().startswith(label):
            nxt = lines[i + 1].strip()
            if nxt.startswith("= "):
                out.append(re.split(r"\s{3,}", nxt[2:])[0].strip())
            else:  # general and specialised coincide
                out.append(re.split(r"\s{3,}", line.split(" = ", 1)[1])[0].strip())
    return out


@pytest.mark.parametrize(
    ("output", "loss"),
    [(f, loss) for f in ("sigmoid", "tanh", "relu", "softplus", "leaky_relu", "linear")
     for loss in ("half_sse", "gaussian_loglik")]
    + [("sigmoid", "bce"), ("sigmoid", "bernoulli_loglik")],
)  # fmt: skip
def test_layer_bp1_and_bp2_match_sympy_diff(output: str, loss: str) -> None:
    net = LayerNet("t", (2, 3, 2), (output, output), loss=loss)
    text = layer_derivation_text(derive_layers(net))
    zz, yy, S = sp.symbols("z y S")
    f = (lambda u: u) if output == "linear" else rules.activation(output).definition
    rng = random.Random(7)
    for _ in range(5):
        at = {
            zz: sp.Rational(rng.choice([-1, 1]) * rng.randint(5, 95), 40),
            yy: sp.Rational(rng.randint(5, 95), 100),
            S: sp.Rational(rng.randint(-9, 9), 7),
        }
        a_at = f(zz).subs(at)
        (bp1,) = _special(text, "BP1")
        got = _layer_parse(bp1, 2).subs({sp.Symbol("a"): a_at, sp.Symbol("z"): at[zz],
                                         sp.Symbol("y"): at[yy]})  # fmt: skip
        want = sp.diff(rules.loss(loss).term(f(zz), yy), zz).subs(at)
        assert _close(got.evalf(30), want.evalf(30)), (bp1, got, want)
        (bp2,) = _special(text, "BP2")
        got = _layer_parse(bp2, 1, S).subs({sp.Symbol("a"): a_at, sp.Symbol("z"): at[zz], S: at[S]})
        want = at[S] * sp.diff(f(zz), zz).subs(at)
        assert _close(got.evalf(30), want.evalf(30)), (bp2, got, want)


@pytest.mark.parametrize("loss", ["cross_entropy", "multinomial_loglik"])
def test_layer_softmax_bp1_matches_sympy_diff(loss: str) -> None:
    """The printed a^L_j − y_j (or y_j − a^L_j) is ∂C/∂z_j of the softmax and the loss, for a
    target that sums to one (the printed assumption)."""
    net = LayerNet("t", (2, 3), ("softmax",), loss=loss)
    text = layer_derivation_text(derive_layers(net))
    assert "assumes: Σ_k y_k = 1" in text
    (bp1,) = _special(text, "BP1")
    z = sp.symbols("z1:4")
    y = (sp.Rational(1, 5), sp.Rational(3, 10), sp.Rational(1, 2))
    soft = [sp.exp(zi) / sum(sp.exp(zk) for zk in z) for zi in z]
    cost = sum(rules.loss(loss).term(soft[k], y[k]) for k in range(3))
    at = {z[0]: sp.Rational(1, 3), z[1]: sp.Rational(-1, 2), z[2]: 2}
    for j in range(3):
        got = _layer_parse(bp1, 1).subs({sp.Symbol("a"): soft[j].subs(at), sp.Symbol("y"): y[j]})
        assert _close(got.evalf(30), sp.diff(cost, z[j]).subs(at).evalf(30)), bp1


def test_layer_vector_forms() -> None:
    text = str(derive_layers(LayerNet("t", (4, 3, 2), ("tanh", "softmax"), loss="cross_entropy",
                                      weight_decay=0.5)))  # fmt: skip
    for expected in (
        "z^1 = W^1 x + b^1",
        "a^2 = softmax(z^2)",
        "δ^2 = (diag(a^2) − a^2 (a^2)ᵀ) ∇_a C",
        "= a^2 − y",
        "δ^1 = ((W^2)ᵀ δ^2) ⊙ tanh'(z^1)",
        "= ((W^2)ᵀ δ^2) ⊙ (1 − (a^1)²)",
        "∂C/∂W^1 = δ^1 xᵀ + λ W^1",
        "∂C/∂b^2 = δ^2",
        "BP4  ∂C/∂w^2_jk = a^1_k δ^2_j + λ w^2_jk",
        "C_x = Σ_k −y_k log(a^2_k)",
    ):
        assert expected in text, expected

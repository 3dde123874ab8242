"""The classification losses, softmax outputs and leaky ReLU at the unit level.

Oracles: ``sympy.diff`` of the fully expanded elementary loss (tests/oracle.py), central finite
differences of the generated module, and the Kronecker-δ steps checked for equality with
SymPy (each step against the next, the first against ``diff`` of the expanded loss in z).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp
from clirun import one_line_error, run
from oracle import expanded_gradients, expanded_loss

from symbackprop.codegen.loader import load_generated
from symbackprop.codegen.unit import generate_module
from symbackprop.derivation.evaluate import evaluate, format_number
from symbackprop.derivation.unit import derive
from symbackprop.errors import InvalidInput
from symbackprop.model.layered import LayerSpec, build_layered
from symbackprop.spec.layer import resolve_level
from symbackprop.spec.load import load_spec, load_spec_text


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# (sizes, hidden activation, output activation, loss, notation)
CASES = [
    ((2, 2, 3), "sigmoid", "softmax", "cross_entropy", "nielsen"),
    ((2, 2, 3), "tanh", "softmax", "multinomial_loglik", "jacobs"),
    ((3, 2, 2), "leaky_relu", "softmax", "cross_entropy", "mazur"),
    ((2, 3, 2), "leaky_relu", "sigmoid", "bce", "essa"),
    ((2, 2, 1), "sigmoid", "sigmoid", "bernoulli_loglik", "jacobs"),
    ((2, 2, 2), "sigmoid", "softmax", "half_sse", "plain"),  # softmax without a matched loss
    ((1, 2, 2), "relu", "linear", "gaussian_loglik", "jacobs"),
]
IDS = [f"{c[2]}-{c[3]}-{c[1]}" for c in CASES]


def network(case):
    sizes, hidden, output, loss, notation = case
    layers = [LayerSpec(n, hidden) for n in sizes[1:-1]] + [LayerSpec(sizes[-1], output)]
    return build_layered(name="t", inputs=sizes[0], layers=layers, loss=loss, notation=notation)


def point(net, seed: int) -> dict:
    """Exact rationals for every leaf, away from ReLU kinks; softmax targets sum to 1."""
    rng = np.random.default_rng(seed)

    def value(low: float, high: float) -> sp.Rational:
        return sp.Rational(int(rng.integers(low * 1000, high * 1000)), 1000)

    at = {s: value(-1, 1) for s in (*net.params, *net.inputs)}
    targets = [value(0.05, 0.95) for _ in net.targets]
    if net.matched is not None and net.matched.targets_sum_to_one:
        targets = [t / sum(targets) for t in targets]
    at.update(zip(net.targets, targets))
    at[net.learning_rate] = sp.Rational(1, 10)
    return at


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_equal_sympy_diff_of_the_expanded_loss(case):
    net = network(case)
    derivation = derive(net)
    for seed in (1, 2):
        at = point(net, seed)
        worked = evaluate(derivation, at)
        oracle = expanded_gradients(net, at)
        for p in net.params:
            assert abs(worked.gradients[p] - oracle[p]) <= sp.Float("1e-30") * (
                1 + abs(oracle[p])
            ), p


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_generated_module_equals_finite_differences(case):
    net = network(case)
    module = load_generated(generate_module(derive(net), source="t"))
    rng = np.random.default_rng(3)
    params = {p.name: np.float64(rng.uniform(-1, 1)) for p in net.params}
    x = rng.uniform(-1, 1, size=(4, len(net.inputs)))
    t = rng.uniform(0.05, 0.95, size=(4, len(net.targets)))
    if net.matched is not None and net.matched.targets_sum_to_one:
        t /= t.sum(axis=1, keepdims=True)
    grads = module.gradients(params, x, t)
    for name in params:
        h = 1e-5
        up, down = dict(params), dict(params)
        up[name], down[name] = params[name] + h, params[name] - h
        fd = (module.loss(up, x, t) - module.loss(down, x, t)) / (2 * h)
        assert abs(grads[name] - fd) <= 1e-7 * (1 + abs(fd)), name
    # one example goes through the unrolled scalar path: the same numbers
    one = module.gradients(params, x[:1], t[:1])
    flat = module.gradients_flat([float(params[p.name]) for p in net.params], x[0], t[0])
    many = module._backward(params, x[:1], t[:1])[1]
    for i, p in enumerate(net.params):
        assert one[p.name] == pytest.approx(many[p.name], rel=1e-12, abs=1e-15)
        assert flat[i] == pytest.approx(many[p.name], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c[3] in ("cross_entropy", "multinomial_loglik")], ids=str
)
def test_softmax_steps_through_the_kronecker_delta_are_equal(case):
    net = network(case)
    m = net.matched
    derivation = derive(net)
    assert len(derivation.simplifications) == len(m.pre)
    definition = {n.symbol: n.expr.doit() for n in net.nodes if n.softmax}
    # the loss as a function of the output net inputs z (the softmax substituted)
    loss_of_z = net.node(net.loss).expr.doit().xreplace(definition)
    last_target = {m.targets[-1]: 1 - sum(m.targets[:-1])}  # Σ y = 1
    for k, simp in enumerate(derivation.simplifications):
        assert simp.of == m.pre[k]
        assert simp.condition == sp.Eq(sum(m.targets), 1)
        for a_i, z_k, jac in simp.jacobian:  # ∂a_i/∂z_k = a_i(δ_ik − a_k)
            direct = sp.diff(definition[a_i], z_k)
            assert sp.simplify(jac.doit().xreplace(definition) - direct) == 0
        assert any(isinstance(e, sp.KroneckerDelta) for e in sp.preorder_traversal(simp.steps[0]))
        first = simp.steps[0].doit().xreplace(definition)
        assert sp.simplify(first - sp.diff(loss_of_z, z_k)) == 0
        for before, after in zip(simp.steps[:-2], simp.steps[1:-1]):
            assert sp.simplify(before.doit() - after.doit()) == 0
        assert sp.expand(simp.steps[-2].doit() - simp.steps[-1]) != 0  # it needs Σ y = 1
        assert sp.expand((simp.steps[-2].doit() - simp.steps[-1]).xreplace(last_target)) == 0
        delta = next(d for d in derivation.deltas if d.of == m.pre[k])
        assert delta.expr == simp.steps[-1]
        a_k, y_k = m.out[k], m.targets[k]
        assert delta.expr.doit() == (y_k - a_k if net.maximize else a_k - y_k)


@pytest.mark.parametrize("loss", ["bce", "bernoulli_loglik"])
def test_sigmoid_output_delta_cancels_to_a_minus_y(loss):
    net = network(((2, 2, 2), "sigmoid", "sigmoid", loss, "mazur"))
    derivation = derive(net)
    m = net.matched
    for k, simp in enumerate(derivation.simplifications):
        assert simp.condition is None and simp.jacobian == ()
        a, y = m.out[k], m.targets[k]
        assert sp.simplify(simp.steps[0].doit() - simp.steps[1].doit()) == 0
        assert simp.steps[1].doit() == (y - a if loss == "bernoulli_loglik" else a - y)
        # the oracle: the loss's derivative through the sigmoid, in z
        z = m.pre[k]
        ell = net.node(net.loss).expr.doit().xreplace({a: 1 / (1 + sp.exp(-z))})
        expected = simp.steps[1].doit().xreplace({a: 1 / (1 + sp.exp(-z))})
        assert sp.simplify(sp.diff(ell, z) - expected) == 0


def test_log_likelihoods_are_ascended():
    for loss in ("multinomial_loglik", "bernoulli_loglik"):
        output = "softmax" if loss == "multinomial_loglik" else "sigmoid"
        derivation = derive(network(((2, 2, 2), "sigmoid", output, loss, "jacobs")))
        assert derivation.network.maximize
        for u in derivation.updates:  # p⁺ = p + ε ∂ log L/∂p
            assert u.expr.doit() == u.param + derivation.network.learning_rate * u.gradient


def test_generated_softmax_and_bce_are_stable_at_logits_of_1000():
    for output, loss in (("softmax", "cross_entropy"), ("sigmoid", "bce")):
        net = build_layered(
            name="s", inputs=1, layers=[LayerSpec(3, output, "none")], loss=loss, notation="plain"
        )
        module = load_generated(generate_module(derive(net), source="s"))
        params = {p.name: np.float64(s) for p, s in zip(net.params, (1000.0, -1000.0, 0.0))}
        x = np.array([[1.0], [-1.0]])
        t = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
        with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
            warnings.simplefilter("error")
            value = module.loss(params, x, t)
            grads = module.gradients(params, x, t)
            one = module.gradients(params, x[:1], t[:1])
        assert np.isfinite(value) and value > 1000  # the wrong class by 1000 (or 2000)
        assert all(np.isfinite(g) for g in (*grads.values(), *one.values()))
        # δ = a − y, computed here independently: softmax(1000, −1000, 0) and σ(±1000), σ(0)
        z = np.array([1000.0, -1000.0, 0.0])
        if output == "softmax":
            a = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        else:
            a = np.array([1.0, 0.0, 0.5])
        for p, expected in zip(net.params, (a - t[0]) * x[0, 0]):
            assert one[p.name] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("doc", "level"),
    [
        ({"network": {"inputs": 2, "layers": [{"units": 3, "activation": "softmax"}]}}, "unit"),
        ({"network": {"inputs": 2, "loss": "bce", "layers": [{"units": 1}]}}, "unit"),
        ({"network": {"inputs": 2, "layers": [{"units": 2, "activation": "leaky_relu"}]}}, "unit"),
        ({"network": {"inputs": 9, "layers": [{"units": 9}, {"units": 9}]}}, "layer"),
        ({"values": {}, "network": {"inputs": 9, "layers": [{"units": 9}, {"units": 9}]}}, "unit"),
        ({"values": {}, "network": {"inputs": 30, "layers": [{"units": 30}]}}, "layer"),
        ({"network": {"inputs": 2, "weight_decay": 0.1, "layers": [{"units": 2}]}}, "layer"),
        ({"network": {"inputs": 2, "layers": [{"units": 2, "activation": "elu"}]}}, "unit"),
    ],
)
def test_level_choice(doc, level):
    assert resolve_level(doc) == level


SPEC_342 = """
name = "n342"
[network]
inputs = 3
layers = [{ units = 4, activation = "sigmoid" }, { units = 2, activation = "softmax" }]
loss = "cross_entropy"
[training]
learning_rate = 0.5
[values]
x_1 = 0.5
x_2 = -1.0
x_3 = 0.25
y_1 = 0
y_2 = 1
"""


def _values_342() -> str:
    lines = []
    for j in range(1, 5):
        lines += [f"w__2_{j}{k} = {0.1 * (j - k) + 0.05}" for k in range(1, 4)]
        lines.append(f"b__2_{j} = {0.1 * j}")
    for j in range(1, 3):
        lines += [f"w__3_{j}{k} = {0.2 * (-1) ** (j + k) * k}" for k in range(1, 5)]
        lines.append(f"b__3_{j} = {-0.1 * j}")
    return 'notation = "nielsen"\n' + SPEC_342 + "\n".join(lines) + "\n"


def test_342_softmax_cross_entropy_with_values_is_a_unit_level_handout(workdir, capsys):
    text = _values_342()
    net = load_spec_text(text, source="n342.toml", name="n342")
    assert net.matched is not None and net.has_example  # unit level, with its numbers
    worked = evaluate(derive(net))
    (workdir / "n342.toml").write_text(text)
    code, _, err = run(capsys, "handout", "n342.toml", "-o", "n342.tex", "--no-pdf")
    assert code == 0, err
    tex = (workdir / "n342.tex").read_text()
    for symbol in (net.loss, *net.matched.out):
        assert f"= {format_number(worked.values[symbol])}" in tex
    assert r"\delta_{1 2}" in tex and r"\text{since }" in tex
    code, out, err = run(capsys, "derive", "n342.toml")
    assert code == 0, err
    assert format_number(worked.values[net.loss]) in out
    assert "(using y_1 + y_2 = 1)" in out


def test_softmax_targets_must_sum_to_one(workdir, capsys):
    text = _values_342().replace("y_2 = 1", "y_2 = 0.5")
    (workdir / "bad.toml").write_text(text)
    code, _, err = run(capsys, "derive", "bad.toml")
    assert code == 2
    assert "must be >= 0 and sum to 1" in one_line_error(err)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ('[{ units = 2, activation = "softmax" }, { units = 2 }]', "output activation only"),
        ('[{ units = 1, activation = "softmax" }]', "softmax over 1 unit"),
    ],
)
def test_softmax_misuse_is_one_line(workdir, capsys, layers, message):
    spec = f'level = "unit"\n[network]\ninputs = 2\nlayers = {layers}\nloss = "cross_entropy"\n'
    (workdir / "s.toml").write_text(spec)
    code, _, err = run(capsys, "derive", "s.toml")
    assert code == 2 and message in one_line_error(err)


def test_builder_refuses_what_the_spec_refuses():
    with pytest.raises(InvalidInput, match="output activation only"):
        build_layered(
            name="n", inputs=1, layers=[LayerSpec(2, "softmax"), LayerSpec(1)], notation="plain"
        )


def test_jacobs_softmax_example_every_command(workdir, capsys, require_pdflatex):
    net = load_spec("jacobs_softmax")
    assert net.matched is not None and net.matched.activation == "softmax" and net.maximize
    worked = evaluate(derive(net))
    code, out, err = run(capsys, "derive", "jacobs_softmax")
    assert code == 0, err
    delta = format_number(worked.values[sp.Symbol("delta__y_1")])
    assert f"δ^y_1 = y*_1 − y_1  = {delta}" in out
    assert "∂y_2/∂s^y_1 = y_2 (δ_21 − y_1)" in out
    assert "= y*_1 − y_1   (using y*_1 + y*_2 + y*_3 = 1)" in out

    code, _, err = run(capsys, "handout", "jacobs_softmax", "-o", "js.tex")
    assert code == 0, err
    tex = (workdir / "js.tex").read_text()
    assert r"= y_{i} \left(\delta_{i k} - y_{k}\right)," in tex
    assert r"= y^{*}_{1} - y_{1} \qquad \text{since } y^{*}_{1} + y^{*}_{2} + y^{*}_{3} = 1" in tex
    assert f"= {delta}" in tex
    assert (workdir / "js.pdf").stat().st_size > 10_000

    code, _, err = run(capsys, "codegen", "jacobs_softmax", "-o", "js.py")
    assert code == 0, err
    module = load_generated((workdir / "js.py").read_text())
    grads = module.gradients(module.init_params(), module.EXAMPLE_X, module.EXAMPLE_T)
    for p in net.params:
        assert grads[p.name] == pytest.approx(float(worked.gradients[p]), rel=1e-12)

    code, out, err = run(capsys, "check", "jacobs_softmax")
    assert code == 0, out + err

    claims = workdir / "claims.txt"
    claims.write_text(
        r"\frac{\partial \log L}{\partial w^{y}_{11}} = \delta^{y}_{1} h_{1}" "\n"
        r"\delta^{y}_{1} = y^{*}_{1} - y_{1}" "\n"
        r"\frac{\partial y_{1}}{\partial s^{y}_{2}} = -y_{1} y_{2}" "\n"
    )  # fmt: skip
    code, out, err = run(capsys, "verify", "jacobs_softmax", str(claims))
    assert code == 0, out + err
    claims.write_text(r"\delta^{y}_{2} = y_{2} - y^{*}_{2}" "\n")
    code, out, err = run(capsys, "verify", "jacobs_softmax", str(claims))
    assert code == 3 and "sign" in out


def test_expanded_loss_oracle_sees_the_softmax():
    """The oracle substitutes the softmax's own definition (no δ-recursion involved)."""
    net = network(CASES[0])
    loss = expanded_loss(net)
    assert loss.has(sp.exp) and not loss.free_symbols & set(net.matched.out)

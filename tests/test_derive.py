"""The δ-recursion against sympy.diff of the fully expanded loss, and its shape."""

from __future__ import annotations

import pytest
import sympy as sp
from oracle import expanded_gradients, random_point, small_net

from symbackprop.derivation.evaluate import evaluate
from symbackprop.derivation.unit import derive
from symbackprop.spec.load import example_names, load_spec

UNIT_EXAMPLES = ["mazur", "hmkcode", "jacobs", "essa"]


def _assert_close(derived: dict, expected: dict, rel: float = 1e-25) -> None:
    for param, value in expected.items():
        got = derived[param]
        assert abs(got - value) <= rel * max(1, abs(value)), (param, got, value)


@pytest.mark.parametrize("name", UNIT_EXAMPLES)
def test_example_gradients_equal_sympy_diff_of_expanded_loss(name):
    network = load_spec(name)
    point = network.value_map
    worked = evaluate(derive(network))
    _assert_close(worked.gradients, expanded_gradients(network, point))


SIZES = [(2, 3, 2), (3, 2, 2, 1), (1, 4, 1)]
ACTIVATIONS = ["sigmoid", "tanh", "relu", "softplus", "linear"]


@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_random_small_nets_equal_sympy_diff(sizes, activation):
    network = small_net(sizes, activation, notation="nielsen")
    point = random_point(network, seed=sum(sizes) + len(activation))
    worked = evaluate(derive(network), point)
    _assert_close(worked.gradients, expanded_gradients(network, point))


@pytest.mark.parametrize("bias", ["unit", "shared", "none"])
@pytest.mark.parametrize("notation", ["mazur", "essa", "jacobs", "nielsen", "hmkcode"])
def test_every_notation_and_bias_mode_derives_the_same_gradients(notation, bias):
    network = small_net((2, 2, 2), "sigmoid", notation=notation, bias=bias)
    point = random_point(network, seed=7)
    worked = evaluate(derive(network), point)
    _assert_close(worked.gradients, expanded_gradients(network, point))


def test_mazur_delta_recursion_reads_like_the_notes():
    d = derive(load_spec("mazur"))
    by_name = {x.symbol.name: x for x in d.deltas}
    s = sp.Symbol
    # δ_h1 = (δ_o1 w5 + δ_o2 w7) out_h1 (1 − out_h1), in that order
    assert sp.sstr(by_name["delta_h1"].expr, order="none") == (
        "(delta_o1*w5 + delta_o2*w7)*(out_h1*(1 - out_h1))"
    )
    assert by_name["delta_h1"].through == s("out_h1")
    grads = {g.param.name: g for g in d.gradients}
    assert grads["w5"].expr == sp.Mul(s("delta_o1"), s("out_h1"), evaluate=False)
    # the shared bias sums the δ's of the units it feeds
    assert grads["b2"].expr.doit() == s("delta_o1") + s("delta_o2")
    chain = [
        (p.num.name, p.den.name) for p in (*grads["w5"].terms[0].via, grads["w5"].terms[0].local)
    ]
    assert chain == [("E_total", "out_o1"), ("out_o1", "net_o1"), ("net_o1", "w5")]
    # output layer first, as in the notes
    assert [g.param.name for g in d.gradients[:4]] == ["w5", "w6", "w7", "w8"]


def test_derivation_is_deterministic_and_pure():
    a = derive(load_spec("mazur"))
    b = derive(load_spec("mazur"))
    assert a == b


def test_jacobs_is_gradient_ascent():
    d = derive(load_spec("jacobs"))
    assert d.network.maximize
    update = d.updates[0]
    assert sp.sstr(update.expr, order="none").startswith(f"{update.param.name} + epsilon*")


def test_every_builtin_example_derives():
    from symbackprop.derivation.layer import LayerNet, derive_layers

    for name in example_names():
        network = load_spec(name)
        if isinstance(network, LayerNet):  # layer level (nielsen, digits): BP1-BP4
            assert derive_layers(network).gradients
        else:
            assert derive(network).gradients


def test_cost_is_linear_in_the_number_of_units():
    """Derivation touches each local expression once: 4x the units, about 4x the time."""
    import time

    def cost(width: int) -> float:
        # CPU time of this process, best of 5: the other test workers share the cores, and one
        # run can meet a GC pause (in CI one wall-clock run gave 21x for 4x the weights).
        network = small_net((width, width, width), "sigmoid", notation="nielsen")
        times = []
        for _ in range(5):
            start = time.process_time()
            derive(network)
            times.append(time.process_time() - start)
        return min(times)

    cost(4)  # warm up caches
    small, large = cost(6), cost(12)  # 4x the weights
    assert large < 10 * small, (small, large)


def test_derivation_displays_itself_as_latex_in_a_notebook():
    text = derive(load_spec("mazur"))._repr_latex_()
    assert text.startswith("$$\\begin{aligned}") and text.endswith("\\end{aligned}$$")
    assert r"\delta_{h1} &= \left(\delta_{o1} w_{5} + \delta_{o2} w_{7}\right)" in text
    assert r"\frac{\partial E_{total}}{\partial w_{5}} &= \delta_{o1} out_{h1}" in text

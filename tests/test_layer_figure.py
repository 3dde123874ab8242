"""The layer handout's figure (a chain of layer boxes) and its finite-differences cost count."""

import numpy as np
import pytest

from symbackprop.cli.commands import main
from symbackprop.codegen.loader import load_generated
from symbackprop.derivation.layer import LayerNet
from symbackprop.derived import derived
from symbackprop.handout.layer_figure import gradient_costs, layer_figure
from symbackprop.spec.load import load_spec


def _net(sizes, activations, loss="half_sse"):
    return LayerNet(name="t", sizes=sizes, activations=activations, loss=loss)


@pytest.mark.parametrize("spec", ["nielsen", "digits"])
def test_costs_count_what_the_generated_module_multiplies(spec):
    """Independent count: the arrays of the generated module's init_params."""
    net = load_spec(spec)
    params = load_generated(derived(net).module(source=spec)).init_params()
    weights = [params[f"W{layer}"] for layer in range(1, len(net.sizes))]
    forward = sum(w.size for w in weights)  # one multiply-add per weight and example
    backward = sum(w.size for w in weights) + sum(w.size for w in weights[1:])
    total = sum(p.size for p in params.values())
    costs = gradient_costs(net)
    assert costs.params == total
    assert costs.forward_macs == forward
    assert costs.finite_difference_passes == total + 1
    assert costs.finite_difference_macs == (total + 1) * forward
    assert costs.backprop_macs == forward + backward
    assert costs.ratio == pytest.approx((total + 1) * forward / (forward + backward))


def test_nielsen_handout_states_the_counts(tmp_path):
    assert main(["handout", "nielsen", "-o", str(tmp_path / "n.tex"), "--no-pdf"]) == 0
    text = (tmp_path / "n.tex").read_text()
    # 784-30-10: 23,820 weights + 40 biases; forward 23,820; backward 23,820 + 300.
    for needle in ("23,860 parameters", "23,861 forward passes", "23,820 multiply-adds each"):
        assert needle in text
    assert f"{23_861 * 23_820:,} in all" in text
    assert f"{23_820 * 2 + 300:,} multiply-adds" in text
    # the nielsen style numbers the input layer 1 (a^1 = x), as Nielsen does
    assert r"\node[box] (n0) at (0.00,0) {$a^{1} = x \in \mathbb{R}^{784}$};" in text


def test_figure_has_a_box_per_layer_and_delta_arrows_back():
    figure = layer_figure(_net((4, 5, 3, 2), ("tanh", "relu", "sigmoid")))
    labels = [b.label for b in figure.boxes]
    assert labels == [
        r"$x \in \mathbb{R}^{4}$",
        r"$a^{1} \in \mathbb{R}^{5}$",
        r"$a^{2} \in \mathbb{R}^{3}$",
        r"$a^{3} \in \mathbb{R}^{2}$",
        "$C$",
    ]
    assert [(a.src, a.dst) for a in figure.forward] == [
        ("n0", "n1"),
        ("n1", "n2"),
        ("n2", "n3"),
        ("n3", "n4"),
    ]
    assert r"\tanh" in figure.forward[0].label and r"\sigma" in figure.forward[2].label
    # delta^3 comes from the cost (BP1), delta^2 and delta^1 from the layer above (BP2).
    assert [(a.src, a.dst, a.label) for a in figure.backward] == [
        ("n4", "n3", r"$\delta^{3}$"),
        ("n3", "n2", r"$\delta^{2}$"),
        ("n2", "n1", r"$\delta^{1}$"),
    ]
    xs = [float(b.x) for b in figure.boxes]
    assert xs == sorted(xs) and not figure.scaled


def test_a_deep_net_is_scaled_to_the_page_not_crowded():
    depth = 9
    figure = layer_figure(_net((3,) * (depth + 1), ("tanh",) * depth))
    steps = np.diff([float(b.x) for b in figure.boxes])
    assert figure.scaled and len(figure.boxes) == depth + 2
    assert np.allclose(steps, steps[0]) and steps[0] >= 3.0  # room for the labels, then scaled
    assert not layer_figure(_net((3, 3, 3), ("tanh", "tanh"))).scaled

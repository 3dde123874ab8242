# ruff: noqa: E741 - l is the layer index, as in the maths
"""One spec, two views: a notation's [values] read at the layer level gives the same numbers.

The unit level evaluates its own derivation exactly (derivation.evaluate); the layer level maps
the same [values] table onto W^l, b^l and one example row (spec.layer) and works BP1–BP4 at 30
digits (derivation.layer_values). The two routes share no code past the spec reader.
"""

from __future__ import annotations

import pytest

from symbackprop.derivation.evaluate import evaluate
from symbackprop.derivation.layer import derive_layers
from symbackprop.derivation.layer_values import example_params, worked_example
from symbackprop.derivation.unit import derive
from symbackprop.spec.load import load_spec


@pytest.mark.parametrize("name", ["essa", "jacobs", "jacobs_softmax"])
def test_layer_view_of_a_notation_example_has_the_unit_views_gradients(name):
    unit = derive(load_spec(name, level="unit"))
    worked = evaluate(unit)
    layer_net = load_spec(name, level="layer")
    assert layer_net.data_x, "the example's inputs and targets become the layer view's data row"
    ex = worked_example(
        derive_layers(layer_net),
        example_params(layer_net),
        layer_net.data_x[0],
        layer_net.data_t[0],
    )
    layout = unit.network.layout
    columns = [list(col) for col in layout.columns]
    where = {u: (l, i) for l, col in enumerate(columns) for i, u in enumerate(col)}
    grads = worked.gradients
    checked = 0
    for frm, to, param in layout.edges:
        (l, j), (_, k) = where[to], where[frm]
        symbol = next(p for p in unit.network.params if p.name == param)
        got = float(ex.layers[l - 1].grad_W[j][k])
        assert got == pytest.approx(float(grads[symbol]), rel=1e-12, abs=1e-15), (param, l, j, k)
        checked += 1
    assert checked == sum(len(columns[l]) * len(columns[l - 1]) for l in range(1, len(columns)))

"""The layer-level reading of a ``[network]`` spec, and the choice of level.

``level = "unit" | "layer" | "auto"`` (top of the spec, default ``"auto"``). ``"auto"`` picks the
unit level — one symbol per neuron quantity, handouts with every number, unrolled code — for
tiny nets (at most ``AUTO_UNIT_LIMIT`` units, inputs included) that the unit level can express,
and the layer level (BP1–BP4, matmul code) otherwise. A spec with a ``[values]`` table (a worked
example, printed unit by unit at the unit level) stays at the unit level up to
``VALUES_UNIT_LIMIT`` units. Both levels know every activation and loss of the registry, softmax
outputs and the optimizers; only the layer level knows L2 weight decay and ``[data]`` rows, and a
spec that uses one of those goes to the layer level (``level = "unit"`` is then an error).

Layer-level keys, besides the common ones: ``[network] weight_decay`` (λ),
``[data] x = [[…], …], t = [[…], …]`` (example rows; they become EXAMPLE_X / EXAMPLE_T),
``[values] w1_2_3 = 0.5, b1_2 = 0.1`` (w^1_{23}, b^1_2: parameters of the handout's worked example).
"""

from __future__ import annotations

import re

from symbackprop.derivation.layer import LayerNet
from symbackprop.errors import InvalidInput
from symbackprop.rules.layer_losses import SOFTMAX
from symbackprop.rules.registry import LOSSES, activation_names


def unit_activations() -> tuple[str, ...]:
    """Activations the unit level can express: every registry entry, ``linear`` and the
    ``softmax`` output layer."""
    return (*activation_names(), SOFTMAX)


def unit_losses() -> tuple[str, ...]:
    """Losses the unit level can express: every loss of the registry (those made for a softmax
    or sigmoid output get their matched δ = a − y there too)."""
    return tuple(LOSSES)


def activation_key(value) -> object:
    """The activation's name as a layer table gives it (a string, or a custom one's table)."""
    return value.get("name") if isinstance(value, dict) else value


AUTO_UNIT_LIMIT = 12
LEVELS = ("unit", "layer", "auto")
VALUES_UNIT_LIMIT = 40  # units (inputs included): an example whose numbers fit a handout
_DATA = {"x", "t"}


def resolve_level(data: dict) -> str:
    """``"unit"`` or ``"layer"`` for a spec's parsed TOML (see the module docstring)."""
    from symbackprop.spec.load import _get

    level = _get(data, "level", str, "spec", "auto")
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    if "graph" in data:
        if level == "layer":
            raise InvalidInput('a [graph] spec has the unit level only (level = "unit")')
        return "unit"
    net = data.get("network", {})
    layers = net.get("layers", []) if isinstance(net, dict) else []
    layer_only = [k for k in ("weight_decay",) if k in net]
    layer_only += ["[data]"] if "data" in data else []
    layer_only += (
        [f"loss '{net['loss']}'"] if net.get("loss", "half_sse") not in unit_losses() else []
    )
    layer_only += [
        f"activation '{lay.get('activation')}'"
        for lay in layers
        if isinstance(lay, dict)
        and activation_key(lay.get("activation", "sigmoid")) not in unit_activations()
    ]
    if level == "unit":
        if layer_only:
            raise InvalidInput(f'{layer_only[0]} needs level = "layer" (or "auto")')
        return "unit"
    if level == "layer" or layer_only:
        return "layer"
    units = net.get("inputs", 0) + sum(
        lay.get("units", 0) for lay in layers if isinstance(lay, dict)
    )
    limit = VALUES_UNIT_LIMIT if "values" in data else AUTO_UNIT_LIMIT
    return "unit" if isinstance(units, int) and units <= limit else "layer"


def build_layer_net(data: dict, *, name: str, title: str, rate: float) -> LayerNet:
    """A :class:`LayerNet` from a spec's parsed TOML (keys already checked by :mod:`spec.load`)."""
    from symbackprop.spec.load import _get, read_network_table, read_optimizers

    table = read_network_table(data)
    if not table.layers:
        raise InvalidInput("a network needs at least one layer after the inputs")
    sizes, acts = [table.inputs], []
    for i, layer in enumerate(table.layers, start=1):
        where = f"[network] layer {i}"
        if layer.bias != "unit":
            raise InvalidInput(
                "the layer level has one bias per unit",
                where=where,
                hint='remove bias or set level = "unit"',
            )
        sizes.append(layer.units)
        act = layer.activation
        if act == SOFTMAX and i != len(table.layers):
            raise InvalidInput("softmax is an output activation only", where=where)
        if act == SOFTMAX and sizes[-1] == 1:
            raise InvalidInput(
                "a softmax over 1 unit is always 1, so the loss would not depend on the weights",
                where=where,
                hint='use at least 2 output units, or a sigmoid output with loss = "bce"',
            )
        acts.append(act)
    if any(isinstance(s, bool) or s < 1 for s in sizes):
        raise InvalidInput(f"layer sizes must be integers >= 1, got {sizes}")
    training = _get(data, "training", dict, "spec", {})
    x, t = _data(data, sizes)
    values, warnings = _values(data.get("values", {}), sizes)
    if warnings:  # names in the spec's notation (w5, i1, W_13): read as the unit level does
        try:
            values, example = _notation_values(data, name, title)
        except InvalidInput:  # the unit level cannot read this spec: the names stay unused
            pass
        else:
            warnings = ()
            if not x and example is not None:
                x, t = example
    net = LayerNet(
        name=name,
        sizes=tuple(sizes),
        activations=tuple(acts),
        loss=table.loss,
        reduction=table.reduction,
        weight_decay=table.weight_decay,
        learning_rate=rate,
        title=title,
        data_x=x,
        data_t=t,
        optimizer=read_optimizers(training)[0],
        values=values,
        warnings=warnings,
    )
    from symbackprop.derivation.layer import derive_layers

    derive_layers(net)  # unknown names and impossible loss/activation pairs fail here
    return net


_VALUE_NAME = re.compile(r"(w)(\d+)_(\d+)_(\d+)|(b)(\d+)_(\d+)")


def _values(table: dict, sizes: list[int]) -> tuple:
    """``[values]`` at the layer level: entries of the parameters for the handout's worked
    example, ``w<l>_<j>_<k>`` for w^l_{jk} and ``b<l>_<j>`` for b^l_j (layers and units from 1;
    numbers already checked by :mod:`spec.load`), and a warning naming any other keys (a unit
    level spec read with ``--level layer``), which are not used."""
    out, ignored = [], []
    for key, value in table.items():
        found = _VALUE_NAME.fullmatch(key)
        hint = "layer-level [values] name parameter entries: w<l>_<j>_<k> (w^l_jk), b<l>_<j>"
        if not found:  # a unit-level name (the spec read with --level layer): not used here
            ignored.append(key)
            continue
        if found[1]:
            layer, j, k = (int(found[i]) for i in (2, 3, 4))
            ok = 1 <= layer < len(sizes) and 1 <= j <= sizes[layer] and 1 <= k <= sizes[layer - 1]
            entry = ((f"W{layer}", (j - 1, k - 1)), float(value))
        else:
            layer, j = int(found[6]), int(found[7])
            ok = 1 <= layer < len(sizes) and 1 <= j <= sizes[layer]
            entry = ((f"b{layer}", (j - 1,)), float(value))
        if not ok:
            raise InvalidInput(
                f"'{key}' is outside the network (sizes {'-'.join(map(str, sizes))})",
                where="[values]",
                hint=hint,
            )
        out.append(entry)
    warnings = ()
    if ignored:
        shown = ", ".join(ignored[:3]) + (", ..." if len(ignored) > 3 else "")
        warnings = (
            f"[values] {shown}: not layer-level parameter names (w<l>_<j>_<k>, b<l>_<j>), "
            "not used",
        )
    return tuple(out), warnings


def _notation_values(data: dict, name: str, title: str) -> tuple:
    """A ``[values]`` table written in the spec's notation (``w5``, ``i1``, ``W_13``, ``y_1``):
    read through the unit-level reading of the same spec, whose figure layout says which weight
    joins which units. Returns the parameter entries and the example (x, t) as one data row, or
    None when the inputs or targets are not all given."""
    from symbackprop.spec.load import load_spec_data

    unit = load_spec_data({**data, "level": "unit"}, name=name)
    known = unit.value_map
    layout = unit.layout
    columns = [list(col) for col in layout.columns]
    where = {
        label: (layer, i + 1) for layer, col in enumerate(columns) for i, label in enumerate(col)
    }
    entries = []
    for frm, to, param in layout.edges:
        symbol = next((p for p in unit.params if p.name == param), None)
        if symbol in known and frm in where and to in where:
            (layer, j), (_, k) = where[to], where[frm]
            entries.append(((f"W{layer}", (j - 1, k - 1)), float(known[symbol])))
    for param, fed in layout.biases:
        symbol = next((p for p in unit.params if p.name == param), None)
        for label in fed:
            if symbol in known and label in where:
                layer, j = where[label]
                entries.append(((f"b{layer}", (j - 1,)), float(known[symbol])))
    example = None
    if all(s in known for s in (*unit.inputs, *unit.targets)):
        row_x = tuple(float(known[s]) for s in unit.inputs)
        row_t = tuple(float(known[s]) for s in unit.targets)
        example = ((row_x,), (row_t,))
    return tuple(entries), example


def _data(data: dict, sizes: list[int]):
    from symbackprop.spec.load import _check_keys, _get, _number

    table = _get(data, "data", dict, "spec", {})
    _check_keys(table, _DATA, "[data]")
    rows = {}
    for key, width in (("x", sizes[0]), ("t", sizes[-1])):
        value = _get(table, key, list, "[data]", [])
        checked = []
        for row in value:
            if not isinstance(row, list) or len(row) != width:
                raise InvalidInput(f"each row of {key} must list {width} numbers", where="[data]")
            checked.append(tuple(float(_number(v, f"{key} entry", "[data]")) for v in row))
        rows[key] = tuple(checked)
    if len(rows["x"]) != len(rows["t"]):
        raise InvalidInput("[data] x and t must have the same number of rows")
    return rows["x"], rows["t"]

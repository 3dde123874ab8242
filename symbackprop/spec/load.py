"""Specs: a TOML file (or a built-in example's name) → a validated :class:`Network`.

Two forms, documented with full examples in README.md and ``symbackprop/examples/*.toml``:

- **layered** — a ``[network]`` table: ``inputs``, ``layers`` (``units``, ``activation``,
  ``bias``), ``loss``, ``reduction``; names come from the ``notation`` preset;
- **graph** — a ``[graph]`` table: ``inputs``, ``targets``, ``params`` (name lists), ``loss`` (the
  loss node's name), ``nodes`` (name = expression, read by :mod:`spec.exprparse`, never by eval),
  optional ``units`` (node → unit label) and ``maximize``.

Both take ``name``, ``title``, ``notation`` at the top, ``[training] learning_rate``,
``[training] optimizer`` (:func:`read_optimizers`) and ``[values]`` (numbers for a worked
example). Every key is checked: unknown keys suggest the closest known one, wrong types say what
was expected, numbers must be finite.
"""

from __future__ import annotations

import difflib
import math
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sympy as sp

from symbackprop.budget import require_layered_unit_operations
from symbackprop.errors import InvalidInput
from symbackprop.model.layered import MAX_UNITS, LayerSpec, build_layered
from symbackprop.model.names import check_unique, validate_name
from symbackprop.model.network import Network, Node, build_network
from symbackprop.model.notation import preset
from symbackprop.rules import registry as rules
from symbackprop.rules.optimizers import OptimizerSpec, settings_for
from symbackprop.spec.exprparse import parse_expression

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_SPEC_BYTES = 1_000_000
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"

_TOP = {
    "name",
    "title",
    "notation",
    "style",
    "network",
    "graph",
    "training",
    "values",
    "level",
    "data",
}
_NETWORK = {"inputs", "layers", "loss", "reduction", "weight_decay"}
_LAYER = {"units", "activation", "bias"}
_GRAPH = {"inputs", "targets", "params", "nodes", "loss", "units", "maximize", "activations"}
_CUSTOM = {"name", "f"}
_TRAINING = {"learning_rate", "rate_symbol", "optimizer"}
_TYPE_NAMES = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "table",
}


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


_ELSEWHERE = {"[network]": _NETWORK, "[graph]": _GRAPH, "[training]": _TRAINING, "a layer": _LAYER}


def _check_keys(table: dict, allowed: set[str], where: str) -> None:
    for key in table:
        if key in allowed:
            continue
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        hint = f"did you mean '{close[0]}'?" if close else None
        if hint is None:  # a typo of a key that belongs in another table
            for table_name, keys in _ELSEWHERE.items():
                near = difflib.get_close_matches(key, sorted(keys), n=1)
                if near:
                    hint = f"did you mean '{near[0]}' (in {table_name})?"
                    break
        raise InvalidInput(
            f"unknown key '{key}' in {where}", hint=hint or f"known: {', '.join(sorted(allowed))}"
        )


def _get(table: dict, key: str, kind: type | tuple, where: str, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise InvalidInput(f"missing key '{key}' in {where}")
        return default
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    bad_bool = isinstance(value, bool) and bool not in kinds
    if bad_bool or not isinstance(value, kinds):
        want = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise InvalidInput(
            f"{key} must be {'an' if want[0] in 'aeiou' else 'a'} {want}, "
            f"got {_type_name(value)} {value!r}"[:200],
            where=where,
        )
    return value


def _number(value: Any, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(
            f"{what} must be a number, got {_type_name(value)} {value!r}"[:200], where=where
        )
    if not math.isfinite(value):
        raise InvalidInput(f"{what} must be finite, got {value!r}", where=where)
    return value


# Windows device names: a network called 'con' would be written to con.py, which is the console.
_DEVICE_NAMES = {"con", "prn", "aux", "nul"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in range(10)
}


def _network_name(given: str | None, file_stem: str) -> str:
    """The network's name, which also names its output files: a valid name (see names.py).

    Without a ``name`` key the spec file's stem is used, made an identifier ('my-net' -> my_net).
    """
    name = given
    if name is None:
        name = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", file_stem)).strip("_")
        name = name if name[:1].isalpha() else f"net_{name}".rstrip("_")
    validate_name(name, what="network name", where="name")
    if name.lower() in _DEVICE_NAMES:
        raise InvalidInput(
            f"'{name}' is a reserved name",
            where="name",
            hint="a Windows device name; choose another, e.g. 'net_1'",
        )
    return name


def _toml_problem(exc: Exception, text: str) -> str:
    """tomllib's message, naming the key when it is defined twice (tomllib only gives the line)."""
    message = str(exc)
    found = re.search(r"\(at line (\d+), column \d+\)", message)
    if found and message.startswith(("Cannot overwrite a value", "Cannot declare")):
        lines = text.splitlines()
        number = int(found[1])
        line = lines[number - 1] if number <= len(lines) else ""
        key = re.match(r"\s*\[*\s*([^=\]]+?)\s*(=|\])", line)
        if key:
            return f"duplicate key '{key[1][:80]}' at line {number}"
    return message


def load_spec_text(text: str, *, source: str, name: str, level: str | None = None) -> Network:
    """Parse and validate a spec given as TOML text; ``level`` overrides the spec's own."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"spec must be TOML: {_toml_problem(exc, text)}", where=source) from None
    except RecursionError:
        raise InvalidInput("spec is nested too deeply", where=source) from None
    if level is not None:
        data["level"] = level
    try:
        return _build(data, source=source, default_name=name)
    except InvalidInput as exc:
        if exc.where is None:
            exc.where = source
        elif not exc.where.startswith(source):  # name the file, then the place in it
            exc.where = f"{source}: {exc.where}"
        exc.args = (exc.format(),)
        raise


def load_spec(spec: str, *, level: str | None = None) -> Network:
    """A built-in example's name, or the path of a TOML spec file.

    ``level`` (``"unit"``, ``"layer"`` or ``"auto"``) overrides the spec's ``level`` key.
    """
    path = EXAMPLES_DIR / f"{spec}.toml"
    if "/" not in spec and "\\" not in spec and not spec.endswith(".toml") and path.is_file():
        text = path.read_text(encoding="utf-8")
        return load_spec_text(text, source=spec, name=spec, level=level)
    path = Path(spec)
    if not path.is_file():
        known = ", ".join(example_names())
        raise InvalidInput(f"spec file '{spec}' not found", hint=f"built-in examples: {known}")
    if path.stat().st_size > MAX_SPEC_BYTES:
        raise InvalidInput(f"spec is larger than {MAX_SPEC_BYTES} bytes", where=spec)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise InvalidInput(
            f"spec must be TOML in UTF-8: byte {exc.start} (line {line}, col {col}) is not UTF-8",
            where=spec,
        ) from None
    return load_spec_text(text, source=spec, name=path.stem, level=level)


def example_names() -> list[str]:
    """Names of the built-in examples."""
    return sorted(p.stem for p in EXAMPLES_DIR.glob("*.toml"))


def load_spec_data(data: dict, *, name: str) -> Network:
    """The network of a spec already parsed from TOML (``data`` is not changed)."""
    return _build(dict(data), source=name, default_name=name)


def _build(data: dict, *, source: str, default_name: str) -> Network:
    _check_keys(data, _TOP, "the spec")
    name = _network_name(_get(data, "name", str, "spec", None), default_name)
    title = _get(data, "title", str, "spec", "")
    notation = preset(_get(data, "notation", str, "spec", "plain"))
    style = _get(data, "style", str, "spec", "")
    if style:
        from symbackprop.handout.styles import check_style_name

        check_style_name(style, where="spec")
    training = _get(data, "training", dict, "spec", {})
    _check_keys(training, _TRAINING, "[training]")
    rate = _number(training.get("learning_rate", 0.1), "learning_rate", "[training]")
    if rate <= 0:
        raise InvalidInput(
            f"learning_rate must be finite and > 0, got {rate!r}", where="[training]"
        )
    values = _get(data, "values", dict, "spec", {})
    numbers: dict[str, object] = {}
    for key, value in values.items():
        numbers[key] = str(_number(value, f"value of '{key}'", "[values]"))
    if ("network" in data) == ("graph" in data):
        raise InvalidInput("a spec needs exactly one of [network] (layered) or [graph]")
    _check_size(data.get("network"))
    define_activations(data)
    from symbackprop.spec.layer import (  # the layer level (spec/layer.py)
        build_layer_net,
        resolve_level,
    )

    if resolve_level(data) == "layer":
        return replace(build_layer_net(data, name=name, title=title, rate=rate), style=style)
    optimizers = read_optimizers(training)
    if "network" in data:
        rate_name = notation.rate_name
        numbers.setdefault(rate_name, str(rate))
        built = _layered(read_network_table(data), name, title, notation, numbers)
    else:
        graph = _get(data, "graph", dict, "spec")
        rate_name = _get(training, "rate_symbol", str, "[training]", "eta")
        numbers.setdefault(rate_name, str(rate))
        built = _graph(graph, name, title, notation, numbers, rate_name)
    return replace(built, optimizers=optimizers, style=style)


def _check_size(table: object) -> None:
    """Refuse absurd widths at either level before any work (1e9 units is a typo or an attack)."""
    if not isinstance(table, dict):
        return
    layers = table.get("layers")
    widths = [("inputs", "[network]", table.get("inputs", 1))] + [
        ("units", f"[network] layer {i}", layer.get("units", 1))
        for i, layer in enumerate(layers if isinstance(layers, list) else [], start=1)
        if isinstance(layer, dict)
    ]
    for key, where, width in widths:  # the type first: both levels add the widths up
        _get({key: width}, key, int, where)
    total = sum(w for _, _, w in widths if w > 0)
    if total > MAX_UNITS:
        raise InvalidInput(
            f"{total} units is more than the limit of {MAX_UNITS}", where="[network]"
        )


@dataclass(frozen=True)
class NetworkTable:
    """A ``[network]`` table as read once for both levels: the key names, types and layer
    tables are checked here; each level then builds its own net from it."""

    inputs: int
    layers: tuple[LayerSpec, ...]
    loss: str
    reduction: str
    weight_decay: float


def read_network_table(data: dict) -> NetworkTable:
    """The spec's ``[network]`` table (the one reader of it; :mod:`spec.layer` uses it too)."""
    table = _get(data, "network", dict, "spec")
    _check_keys(table, _NETWORK, "[network]")
    inputs = _get(table, "inputs", int, "[network]")
    layers = []
    for i, layer in enumerate(_get(table, "layers", list, "[network]"), start=1):
        where = f"[network] layer {i}"
        if not isinstance(layer, dict):
            raise InvalidInput(f"each layer must be a table, got {_type_name(layer)}", where=where)
        _check_keys(layer, _LAYER, where)
        layers.append(
            LayerSpec(
                units=_get(layer, "units", int, where),
                activation=activation_name(layer, where),
                bias=_get(layer, "bias", str, where, "unit"),
            )
        )
    decay = _number(table.get("weight_decay", 0.0), "weight_decay", "[network]")
    if decay < 0:
        raise InvalidInput(f"weight_decay must be >= 0, got {decay!r}", where="[network]")
    return NetworkTable(
        inputs=inputs,
        layers=tuple(layers),
        loss=_get(table, "loss", str, "[network]", "half_sse"),
        reduction=_reduction(table),
        weight_decay=decay,
    )


def _layered(table: NetworkTable, name: str, title: str, notation, numbers: dict) -> Network:
    # a command's --max-ops refuses a net too big at unit level before it is built
    require_layered_unit_operations(name, [table.inputs, *(s.units for s in table.layers)])
    return build_layered(
        name=name,
        inputs=table.inputs,
        layers=list(table.layers),
        loss=table.loss,
        notation=notation,
        values=numbers,
        title=title,
        reduction=table.reduction,
    )


def read_optimizers(training: dict) -> tuple[OptimizerSpec, ...]:
    """``[training] optimizer``: one table ``{ name = "adam", beta1 = 0.9 }`` (PyTorch's names
    and defaults) or an array of them; the first is the module's ``optimizer_step``, and the
    unit handout works two steps of each (SGD without a table)."""
    where = "[training.optimizer]"
    given = _get(training, "optimizer", (dict, list), "[training]", {"name": "sgd"})
    tables = given if isinstance(given, list) else [given]
    if not tables:
        raise InvalidInput("optimizer must list at least one table", where=where)
    specs = []
    for table in tables:
        if not isinstance(table, dict):
            raise InvalidInput(f"optimizer must list tables, got {_type_name(table)}", where=where)
        name = _get(table, "name", str, where, "sgd")
        numbers = {k: _number(v, k, where) for k, v in table.items() if k != "name"}
        settings = settings_for(name, numbers, where=where)
        specs.append(OptimizerSpec(name, tuple(sorted(settings.items()))))
    return tuple(specs)


def _reduction(table: dict) -> str:
    reduction = _get(table, "reduction", str, "spec", "sum")
    if reduction not in ("sum", "mean"):
        raise InvalidInput(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    return reduction


def _names(table: dict, key: str) -> list[str]:
    items = _get(table, key, list, "[graph]", [])
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput(
                f"{key} must list names, got {_type_name(item)} {item!r}", where="[graph]"
            )
    return items


def _graph(table: dict, name: str, title: str, notation, numbers: dict, rate: str) -> Network:
    _check_keys(table, _GRAPH, "[graph]")
    inputs, targets, params = (_names(table, k) for k in ("inputs", "targets", "params"))
    node_defs = _get(table, "nodes", dict, "[graph]")
    loss_name = _get(table, "loss", str, "[graph]")
    units = _get(table, "units", dict, "[graph]", {})
    if loss_name not in node_defs:
        raise InvalidInput(
            f"loss '{loss_name}' is not one of the nodes", hint=f"nodes: {', '.join(node_defs)}"
        )
    # Names first: a node called 'class' is a bad name, not a syntax error in an expression.
    declared = [("input", inputs), ("target", targets), ("parameter", params), ("node", node_defs)]
    check_unique(
        (validate_name(n, what=f"{kind} name", where="[graph]"), f"{kind} '{n}'")
        for kind, group in declared
        for n in group
    )
    symbols = {n: sp.Symbol(n) for n in (*inputs, *targets, *params, *node_defs)}
    texts = " ".join(t for t in node_defs.values() if isinstance(t, str))
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", texts))
    idle = [n for n in (*inputs, *targets, *params) if n not in words]  # for "did you mean"
    functions = _functions()
    nodes = []
    for node_name, text in node_defs.items():
        where = f"[graph.nodes] {node_name}"
        if not isinstance(text, str):
            raise InvalidInput(
                f"a node is defined by an expression string, got {_type_name(text)}", where=where
            )
        expr = parse_expression(text, symbols, functions, where=where, suggest=idle)
        unit = _get(units, node_name, str, "[graph.units]", None)
        nodes.append(Node(sp.Symbol(node_name), expr, unit=unit))
    loss = next(n for n in nodes if n.symbol.name == loss_name)
    nodes.remove(loss)
    return build_network(
        name=name,
        inputs=inputs,
        targets=targets,
        params=params,
        nodes=nodes,
        loss=loss,
        learning_rate=rate,
        maximize=_get(table, "maximize", bool, "[graph]", False),
        values=numbers,
        notation=notation,
        title=title,
    )


def _functions() -> dict:
    """What a spec expression may call: every registry activation, exp and log."""
    functions = {n: rule.function for n, rule in rules.ACTIVATIONS.items()}
    functions.update(exp=sp.exp, log=sp.log)
    return functions


def activation_name(layer: dict, where: str) -> str:
    """A layer's activation name: the string, or the ``name`` of a custom one's table (which
    :func:`define_activations` has registered)."""
    value = _get(layer, "activation", (str, dict), where, "sigmoid")
    return value["name"] if isinstance(value, dict) else value


def define_activations(data: dict) -> None:
    """Register the activations a spec defines as expressions of ``z``: in a ``[network]``
    layer, ``activation = { name = "swish", f = "z*sigmoid(z)" }``; in a ``[graph]``,
    ``activations = { swish = "z*sigmoid(z)" }``. Their derivatives are derived by SymPy."""
    found: list[tuple[str, object, str]] = []
    network = data.get("network")
    layers = network.get("layers") if isinstance(network, dict) else None
    for i, layer in enumerate(layers if isinstance(layers, list) else [], start=1):
        value = layer.get("activation") if isinstance(layer, dict) else None
        if isinstance(value, dict):
            where = f"[network] layer {i} activation"
            _check_keys(value, _CUSTOM, where)
            found.append((_get(value, "name", str, where), _get(value, "f", str, where), where))
    graph = data.get("graph")
    if isinstance(graph, dict) and "activations" in graph:
        table = _get(graph, "activations", dict, "[graph]")
        for name, text in table.items():
            found.append((name, text, f"[graph.activations] {name}"))
    seen: dict[str, sp.Expr] = {}
    z = sp.Symbol("z")
    for name, text, where in found:
        validate_name(name, what="activation name", where=where)
        old = rules.ACTIVATIONS.get(name)
        if old is not None and not old.custom or name in (rules.LINEAR, rules.SOFTMAX):
            raise InvalidInput(
                f"activation '{name}' is already in the registry",
                where=where,
                hint=f'use activation = "{name}", or give yours another name',
            )
        if not isinstance(text, str):
            raise InvalidInput(f"f must be an expression string of z, got {_type_name(text)}")
        expr = parse_expression(text, {"z": z}, _functions(), where=where)
        if name in seen and seen[name] != expr:
            raise InvalidInput(f"activation '{name}' is defined twice, differently", where=where)
        seen[name] = expr
        try:
            rules.custom_activation(name, expr, z)
        except InvalidInput as exc:
            exc.where = exc.where or where
            raise

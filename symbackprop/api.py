"""The public Python API: build or load a network, and derive it.

A network built here is written as the data of a TOML spec and read by the same code that
reads spec files (:func:`spec.load.load_spec_data`): the same checks, the same error messages,
and the level (unit or layer) decided in the same one place. :func:`derive` gives the
:class:`derived.Derived`, from which every output comes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import sympy as sp

from symbackprop.derivation.layer import LayerNet
from symbackprop.derived import Derived, derived
from symbackprop.errors import InvalidInput
from symbackprop.model.network import Network

Net = Network | LayerNet


def _optimizer(value: object) -> object:
    """``"adam"`` → ``{"name": "adam"}``; a table or a list of them as in ``[training]``."""
    if isinstance(value, str):
        return {"name": value}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence):
        return [_optimizer(v) for v in value]
    return value  # the spec reader names the wrong type


def _training(learning_rate, optimizer, rate_symbol=None) -> dict:
    table: dict = {"learning_rate": learning_rate}
    if optimizer is not None:
        table["optimizer"] = _optimizer(optimizer)
    if rate_symbol is not None:
        table["rate_symbol"] = rate_symbol
    return table


def _spec(name: str, title: str, notation: str, level: str, training: dict, values, data, style=""):
    spec: dict = {"name": name, "title": title, "notation": notation, "level": level}
    if style:
        spec["style"] = style
    spec["training"] = training
    if values is not None:
        spec["values"] = {str(k): v for k, v in dict(values).items()}
    if data is not None:
        spec["data"] = {k: [list(row) for row in rows] for k, rows in dict(data).items()}
    return spec


def layered(
    inputs: int,
    layers: Sequence[int | Mapping],
    *,
    activation: str | Mapping = "sigmoid",
    bias: str = "unit",
    loss: str = "half_sse",
    reduction: str = "sum",
    weight_decay: float | None = None,
    notation: str = "plain",
    style: str = "",
    level: str = "auto",
    learning_rate: float = 0.1,
    optimizer: str | Mapping | Sequence | None = None,
    values: Mapping[str, float] | None = None,
    data: Mapping[str, Sequence[Sequence[float]]] | None = None,
    name: str = "net",
    title: str = "",
) -> Net:
    """A fully connected network: the ``[network]`` form of a spec.

    Args:
        inputs: the number of input units.
        layers: the layers after the inputs, first hidden to output: a width, or a table as in
            a spec (``{"units": 3, "activation": "tanh", "bias": "shared"}``); ``activation``
            and ``bias`` fill what a layer leaves out.
        activation: a registry name (``"sigmoid"``, ``"tanh"``, ``"relu"``, …; ``"softmax"`` on
            the output) or a custom one, ``{"name": "swish", "f": "z*sigmoid(z)"}``.
        loss, reduction, weight_decay: as ``[network]`` in a spec.
        notation: the course's names: ``"plain"``, ``"mazur"``, ``"essa"``, ``"hmkcode"``,
            ``"jacobs"``, ``"nielsen"`` (the layer level writes Nielsen's).
        style: the handout's document style, after a lecture: ``"mazur"``, ``"fausett"``,
            ``"hmkcode"``, ``"jacobs"``, ``"nielsen"`` (default: the notation's lecture's).
        level: ``"auto"``, ``"unit"`` or ``"layer"``.
        learning_rate, optimizer: as ``[training]``: ``optimizer="adam"``, a table
            ``{"name": "momentum", "momentum": 0.9}`` or a list of them.
        values: a worked example, keyed by the notation's names (``{"i1": 0.05, "w1": 0.15,
            …}``), as ``[values]``.
        data: example rows ``{"x": [[…]], "t": [[…]]}`` (layer level), as ``[data]``.
    """
    table: dict = {
        "inputs": inputs,
        "layers": [_layer(layer, activation, bias) for layer in layers],
        "loss": loss,
        "reduction": reduction,
    }
    if weight_decay is not None:
        table["weight_decay"] = weight_decay
    training = _training(learning_rate, optimizer)
    spec = _spec(name, title, notation, level, training, values, data, style)
    spec["network"] = table
    return _read(spec, name)


def _layer(layer: int | Mapping, activation, bias: str) -> object:
    if isinstance(layer, Mapping):
        return {"activation": activation, "bias": bias, **layer}
    if isinstance(layer, int) and not isinstance(layer, bool):
        return {"units": layer, "activation": activation, "bias": bias}
    return layer  # the spec reader says a layer must be a table


def network(
    *,
    inputs: Sequence[str | sp.Symbol],
    targets: Sequence[str | sp.Symbol],
    params: Sequence[str | sp.Symbol],
    nodes: Mapping[str | sp.Symbol, str | sp.Expr] | Sequence[tuple],
    loss: str | sp.Symbol,
    maximize: bool = False,
    units: Mapping[str | sp.Symbol, str] | None = None,
    activations: Mapping[str, str] | None = None,
    notation: str = "plain",
    style: str = "",
    learning_rate: float = 0.1,
    rate_symbol: str = "eta",
    optimizer: str | Mapping | Sequence | None = None,
    values: Mapping[str | sp.Symbol, float] | None = None,
    name: str = "net",
    title: str = "",
) -> Network:
    """Any acyclic graph of named expressions: the ``[graph]`` form of a spec (unit level).

    Args:
        inputs, targets, params: the leaf names.
        nodes: name → expression, as text (``"w1*x1 + b"``, ``"sigmoid(z)"``) or SymPy; read by
            the spec's allow-listed parser either way (the registry's activations, ``exp``,
            ``log``), never evaluated as Python. The loss is one of them.
        loss: the name of the loss node; ``maximize=True`` for a log-likelihood.
        units: node → the unit it belongs to, which names its δ.
        activations: custom activations as expressions of ``z``, ``{"cube": "z**3/3 + z"}``.
        notation, style, learning_rate, rate_symbol, optimizer, values: as in a spec.
    """
    pairs = nodes.items() if isinstance(nodes, Mapping) else nodes
    table: dict = {
        "inputs": [str(s) for s in inputs],
        "targets": [str(s) for s in targets],
        "params": [str(s) for s in params],
        "nodes": {str(k): v if isinstance(v, str) else sp.sstr(v) for k, v in pairs},
        "loss": str(loss),
        "maximize": maximize,
    }
    if units is not None:
        table["units"] = {str(k): v for k, v in units.items()}
    if activations is not None:
        table["activations"] = dict(activations)
    training = _training(learning_rate, optimizer, rate_symbol)
    spec = _spec(name, title, notation, "auto", training, values, None, style)
    spec["graph"] = table
    return _read(spec, name)


def _read(spec: dict, name: str) -> Net:
    from symbackprop.spec.load import load_spec_data

    return load_spec_data(spec, name=name)


def example(name: str, *, level: str | None = None) -> Net:
    """A built-in example (``"mazur"``, ``"essa"``, ``"nielsen"``, ``"digits"``, …), read at its
    own level or at ``level``."""
    from symbackprop.spec.load import example_names, load_spec

    if name not in example_names():
        raise InvalidInput(
            f"no built-in example '{name}'", hint=f"known: {', '.join(example_names())}"
        )
    return load_spec(name, level=level)


def load(path: str | os.PathLike, *, level: str | None = None) -> Net:
    """The network of a TOML spec file (see README, "The spec format")."""
    from symbackprop.spec.load import load_spec

    text = os.fspath(path)
    if not text.lower().endswith(".toml") and "/" not in text and "\\" not in text:
        text = f"./{text}"  # a file, never a built-in example of the same name
    return load_spec(text, level=level)


def derive(net: Net | str | os.PathLike, *, level: str | None = None) -> Derived:
    """Derive a network — built by :func:`layered` or :func:`network`, or a built-in example's
    name or a spec file's path as the commands take it — at its level (``level`` overrides a
    spec's). ``str()`` of the result is the derivation as text; its methods give the rest."""
    if isinstance(net, (str, os.PathLike)):
        from symbackprop.spec.load import load_spec

        source = os.fspath(net)
        return derived(load_spec(source, level=level), source=source)
    if level is not None:
        raise InvalidInput("level applies to a spec; build the network at the level instead")
    return derived(net)

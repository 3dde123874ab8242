"""Positions and labels for the TikZ drawing of a network (seed 000, Figure 1).

Pure layout: columns of units left to right, units spread vertically and centred, an edge per
weight labelled with the weight's LaTeX, bias nodes under the column they feed. The template
draws what this returns; large networks are drawn without labels, and very large ones not at
all (a figure of a 784-unit layer helps nobody).
"""

from __future__ import annotations

from dataclasses import dataclass

from symbackprop.model.network import Layout, Network
from symbackprop.printers.printing import NotationLatexPrinter

MAX_LABELLED_EDGES = 40
MAX_DRAWN_UNITS = 40


@dataclass(frozen=True)
class FigureNode:
    ident: str
    x: str
    y: str
    label: str
    kind: str  # "input", "unit" or "bias"


@dataclass(frozen=True)
class FigureEdge:
    src: str
    dst: str
    label: str
    pos: str  # where along the edge the label sits, e.g. "0.3"


@dataclass(frozen=True)
class Figure:
    nodes: tuple[FigureNode, ...]
    edges: tuple[FigureEdge, ...]
    labelled: bool


def _unit_latex(network: Network, label: str, printer: NotationLatexPrinter) -> str:
    """The unit's name as the notes write it in the figure (``h_{1}``)."""
    if label[0].isalpha() and label[1:].isdigit():
        return f"{label[0]}_{{{label[1:]}}}"
    return printer.name_latex(f"u_{label}")


def build_figure(network: Network) -> Figure | None:
    """The figure of a layered network, or None when it has no layout or is too large."""
    layout: Layout | None = network.layout
    if layout is None or sum(len(c) for c in layout.columns) > MAX_DRAWN_UNITS:
        return None
    printer = NotationLatexPrinter(network.notation)
    tallest = max(len(c) for c in layout.columns)
    nodes: list[FigureNode] = []
    ident = {}
    for col, column in enumerate(layout.columns):
        offset = (tallest - len(column)) / 2
        for row, label in enumerate(column):
            ident[label] = f"n{col}x{row}"
            y = -(row + offset) * 1.6
            kind = "input" if col == 0 else "unit"
            nodes.append(
                FigureNode(
                    ident[label],
                    f"{col * 4.0:.2f}",
                    f"{y:.2f}",
                    _unit_latex(network, label, printer),
                    kind,
                )
            )
    labelled = len(layout.edges) <= MAX_LABELLED_EDGES
    edges = []
    for i, (src, dst, param) in enumerate(layout.edges):
        label = printer.name_latex(param) if labelled else ""
        # Alternate label positions so labels of edges that cross do not overlap.
        edges.append(FigureEdge(ident[src], ident[dst], label, "0.25" if i % 2 == 0 else "0.42"))
    column_of = {label: col for col, column in enumerate(layout.columns) for label in column}
    # Only shared biases are drawn (seed 000's b1, b2); one bias per unit would double the
    # clutter, and the forward equations name them anyway.
    for k, (bias, units) in enumerate(b for b in layout.biases if len(b[1]) > 1):
        col = column_of[units[0]]
        bias_id = f"b{k}"
        x, y = (col - 0.5) * 4.0, -tallest * 1.6
        nodes.append(FigureNode(bias_id, f"{x:.2f}", f"{y:.2f}", printer.name_latex(bias), "bias"))
        for unit in units:
            edges.append(FigureEdge(bias_id, ident[unit], "", "0.5"))
    return Figure(tuple(nodes), tuple(edges), labelled)

"""Positions and labels for the TikZ drawing of a network (seed 000, Figure 1), computed here.

Pure layout, in centimetres; ``templates/latex/network_figure.tex.jinja`` only places what this
returns. Names are those of the equations: an input is drawn as its input symbol (``x_1``,
``i_1``, Fausett's ``y_1``), a unit as the notes name it (``h_1``, ``o_1``, numbered hidden
layers ``h_{7,2}``) or, where the notation names units by number (Fausett's unit 3, Nielsen's
``2_1``), as its output symbol (``y_3``, ``a^{2}_{1}``).

- **Layered nets**: columns of units left to right, centred vertically; an edge per weight with
  the weight's name as its label. A label is placed on its edge, at the first of a list of
  positions where its box meets no other label, no unit and no bias box; when some label finds
  no place, the columns move apart and the placement starts again. So labels never overlap, up
  to 8 units per layer (``tests/test_figure.py`` checks the boxes). Biases are drawn: a shared
  bias (seed 000's b1) as one box under the gap before its layer with an edge to each unit, a
  per-unit bias as a box right above its unit.
- **Graph-form nets** (no layout): every input, target, parameter and node, in columns by depth
  (a node one column right of the deepest thing it uses; a leaf one column left of its first
  user), edges from what a node uses to the node, unlabelled.

Large networks are drawn without weight labels, and very large ones not at all.

With ``values`` (a name → its printed number), a layered net is drawn with its starting values,
as seed 000's Figure 1: each weight's and bias's label carries its number (``w_{1} = 0.15``),
and each input's and target's number is written beside its unit (left of the inputs, right of
the outputs). These labels are boxes the weight labels avoid, like the units.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import sympy as sp

from symbackprop.model.network import Layout, Network
from symbackprop.printers.printing import NotationLatexPrinter

MAX_LABELLED_EDGES = 200  # 8-8-8-8 has 192 weights
MAX_DRAWN_UNITS = 40
MAX_GRAPH_NODES = 40

ROW_CM = 1.6  # unit to unit, vertically
ROW_BIAS_CM = 2.1  # with a bias box above every unit
UNIT_RADIUS_CM = 0.45  # the unit style's minimum size is 9 mm
BIAS_RISE_CM = 1.05  # bias box centre above its unit
GAPS_CM = tuple(3.0 + 0.5 * k for k in range(21))  # column spacings tried, 3 to 13 cm
# Where along an edge (0 = source border, 1 = destination border) a label may sit, best first.
POSITIONS = tuple(sorted((0.08 + 0.03 * k for k in range(29)), key=lambda t: abs(t - 0.3)))

# Sizes of \scriptsize (8 pt) math as the weight/bias styles print it, rounded up: a character
# of the base line, one in a sub- or superscript (6 pt), the box's inner sep on each side.
_PT = 0.03515  # cm
_CHAR = 5.2 * _PT
_SCRIPT_CHAR = 4.0 * _PT
_PAD = 1.5 * _PT
_HEIGHT = 9.5 * _PT  # \scriptsize strut, no scripts
_SCRIPT_EXTRA = 2.5 * _PT  # a subscript's depth or a superscript's height
_MARGIN = 0.04  # cm kept free between boxes


@dataclass(frozen=True)
class FigureNode:
    ident: str
    x: str  # cm, printed
    y: str
    label: str  # LaTeX math
    kind: str  # "input", "unit", "bias" or "weight" (a value beside a unit): the TikZ styles
    name: str = ""  # the unit label, input, parameter or node name it stands for
    emph: bool = False  # highlighted (a slide's path)


@dataclass(frozen=True)
class FigureEdge:
    src: str
    dst: str
    label: str  # LaTeX math, or "" for no label
    lx: str = "0"  # label centre, cm, printed
    ly: str = "0"
    param: str = ""  # the parameter the edge carries (weight or bias), if any
    faint: bool = False  # a bias's or a leaf's edge: drawn grey
    emph: bool = False


@dataclass(frozen=True)
class Box:
    """An axis-aligned box: centre and size, cm."""

    x: float
    y: float
    w: float
    h: float

    def meets(self, other: Box) -> bool:
        return (
            abs(self.x - other.x) * 2 < self.w + other.w + 2 * _MARGIN
            and abs(self.y - other.y) * 2 < self.h + other.h + 2 * _MARGIN
        )


@dataclass(frozen=True)
class Figure:
    nodes: tuple[FigureNode, ...]
    edges: tuple[FigureEdge, ...]
    labelled: bool
    width: float = 0.0  # cm, the extent of the nodes' centres
    height: float = 0.0
    label_boxes: tuple[Box, ...] = ()  # the weight labels' boxes, as placed
    obstacle_boxes: tuple[Box, ...] = ()  # units and bias boxes the labels avoid
    scale: str = "1"  # the template's \\scalebox factor: fits the handout's text block

    def fitted(self, width_cm: float, height_cm: float) -> Figure:
        """This figure scaled down (never up) to fit ``width_cm`` × ``height_cm``."""
        room = min(1.0, width_cm / (self.width + 1.4), height_cm / (self.height + 1.4))
        return replace(self, scale=f"{room:.3f}".rstrip("0").rstrip("."))


def _strip(tex: str) -> tuple[str, str]:
    """The characters of a math label on its base line and in its scripts (estimates)."""
    base, script = [], []
    depth = 0
    target = base
    i = 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            word = m.group(1)
            if word not in ("left", "right", "mathrm", "quad", ",", ";"):
                target.append("x")  # a Greek letter or a symbol: one character
            i += len(m.group(0))
            continue
        if ch in "_^":
            target = script
            if i + 1 < len(tex) and tex[i + 1] != "{":
                script.append(tex[i + 1])
                target = base if depth == 0 else script
                i += 2
                continue
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                target = base
        elif not ch.isspace():
            target.append(ch)
        i += 1
    return "".join(base), "".join(script)


def _chars(text: str) -> float:
    """Characters counted in average widths: capitals and w, m are wider, commas narrower."""
    return sum(1.5 if c.isupper() or c in "wm" else 0.6 if c in ",.;" else 1.0 for c in text)


def label_size(tex: str) -> tuple[float, float]:
    """Width and height (cm) of a label in the weight style, estimated from above."""
    base, script = _strip(tex)
    width = _chars(base) * _CHAR + _chars(script) * _SCRIPT_CHAR + 2 * _PAD
    scripts = ("_" in tex) + ("^" in tex)
    return width * 1.08, _HEIGHT + scripts * _SCRIPT_EXTRA + 2 * _PAD


def _unit_latex(network: Network, label: str, printer: NotationLatexPrinter) -> str:
    """The unit's name as the notes write it in the figure (module docstring)."""
    m = re.fullmatch(r"([A-Za-z]+)([0-9]+)((?:_[0-9]+)*)", label)
    if m:
        index = ",".join([m.group(2), *m.group(3).split("_")[1:]])
        return f"{m.group(1)}_{{{index}}}"
    # Named by number: draw the unit's output (its last node before the loss).
    outputs = [node.symbol for node in network.nodes if node.unit == label]
    return printer.doprint(outputs[-1]) if outputs else printer.name_latex(label)


def _point(a: tuple[float, float], b: tuple[float, float], t: float, ra: float, rb: float):
    """The point at ``t`` of the segment from a's border to b's border (circles ra, rb)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = (dx * dx + dy * dy) ** 0.5
    ux, uy = dx / length, dy / length
    sx, sy = a[0] + ux * ra, a[1] + uy * ra
    ex, ey = b[0] - ux * rb, b[1] - uy * rb
    return sx + (ex - sx) * t, sy + (ey - sy) * t


def _place_labels(centres, edges, sizes, obstacles) -> list[tuple[float, float]] | None:
    """A position for each edge's label meeting no other box, or None if some has none."""
    placed: list[Box] = []
    where = []
    for (src, dst), (w, h) in zip(edges, sizes):
        for t in POSITIONS:
            x, y = _point(centres[src], centres[dst], t, UNIT_RADIUS_CM, UNIT_RADIUS_CM)
            box = Box(x, y, w, h)
            if not any(box.meets(o) for o in obstacles) and not any(box.meets(p) for p in placed):
                placed.append(box)
                where.append((x, y))
                break
        else:
            return None
    return where


def _cm(value: float) -> str:
    return f"{value:.2f}"


VALUE_SEP_CM = 0.12  # between a unit's border and the value written beside it


def _geometry(
    layout: Layout,
    bias_label: Callable[[str], str],
    gap: float,
    row_cm: float,
    own: dict,
    shared: list,
    beside: Mapping[str, str] | None = None,
):
    """Unit centres, bias box centres and the boxes labels must avoid, for a column spacing;
    ``beside`` (unit → label) adds the value boxes beside the first and last columns."""
    tallest = max(len(c) for c in layout.columns)
    column_of = {label: col for col, column in enumerate(layout.columns) for label in column}
    centres: dict[str, tuple[float, float]] = {}
    for col, column in enumerate(layout.columns):
        offset = (tallest - len(column)) / 2
        for row, label in enumerate(column):
            centres[label] = (col * gap, -(row + offset) * row_cm)
    obstacles = [Box(x, y, 2 * UNIT_RADIUS_CM, 2 * UNIT_RADIUS_CM) for x, y in centres.values()]
    bias_at: dict[str, tuple[float, float]] = {}
    for unit, bias in own.items():
        x, y = centres[unit]
        bias_at[bias] = (x, y + BIAS_RISE_CM)
    for bias, units in shared:
        bias_at[bias] = ((column_of[units[0]] - 0.5) * gap, -tallest * row_cm)
    for bias, (x, y) in bias_at.items():
        w, h = label_size(bias_label(bias))
        obstacles.append(Box(x, y, max(w, 0.7), max(h, 0.5)))
    for box in _beside_boxes(layout, centres, beside or {}).values():
        obstacles.append(box)
    return centres, bias_at, obstacles


def _beside_boxes(layout: Layout, centres: dict, beside: Mapping[str, str]) -> dict[str, Box]:
    """Boxes of the values written beside units: left of an input, right of an output."""
    boxes = {}
    for unit, text in beside.items():
        x, y = centres[unit]
        w, h = label_size(text)
        side = -1 if unit in layout.columns[0] else 1
        boxes[unit] = Box(x + side * (UNIT_RADIUS_CM + VALUE_SEP_CM + w / 2), y, w, h)
    return boxes


PAGE_CM = (16.0, 18.0)  # the handout's text block, less the caption


def build_figure(network: Network, values: Mapping[str, str] | None = None) -> Figure | None:
    """The figure of a network, or None when it is too large to draw; with ``values``, a
    layered net's starting values on it (module docstring)."""
    if network.layout is None:
        figure = _graph_figure(network)
    else:
        figure = _layered_figure(network, network.layout, values or {})
    return None if figure is None else figure.fitted(*PAGE_CM)


def _layered_figure(network: Network, layout: Layout, values: Mapping[str, str]) -> Figure | None:
    if sum(len(c) for c in layout.columns) > MAX_DRAWN_UNITS:
        return None
    printer = NotationLatexPrinter(network.notation)

    def named(name: str) -> str:
        """A weight's or bias's label: its name, with its value when given."""
        text = printer.name_latex(name)
        return f"{text} = {values[name]}" if name in values else text

    column_of = {label: col for col, column in enumerate(layout.columns) for label in column}
    shared = [b for b in layout.biases if len(b[1]) > 1]
    own = {units[0]: bias for bias, units in layout.biases if len(units) == 1}
    row_cm = ROW_BIAS_CM if own else ROW_CM
    inputs = {i: sym for i, sym in enumerate(network.inputs)}
    labels: dict[str, str] = {}
    for col, column in enumerate(layout.columns):
        for row, label in enumerate(column):
            if col == 0 and row in inputs:
                labels[label] = printer.doprint(inputs[row])
            else:
                labels[label] = _unit_latex(network, label, printer)
    beside = {}
    ends_of = {"input": network.inputs, "target": network.targets}
    for col, kind in ((0, "input"), (len(layout.columns) - 1, "target")):
        for label, sym in zip(layout.columns[col], ends_of[kind]):
            if sym.name in values:
                beside[label] = f"{printer.doprint(sym)} = {values[sym.name]}"
    labelled = len(layout.edges) <= MAX_LABELLED_EDGES
    edge_labels = [named(param) for _, _, param in layout.edges]
    sizes = [label_size(text) for text in edge_labels]
    ends = [(src, dst) for src, dst, _ in layout.edges]
    where = None
    for gap in GAPS_CM if labelled else GAPS_CM[:1]:
        centres, bias_at, obstacles = _geometry(layout, named, gap, row_cm, own, shared, beside)
        where = _place_labels(centres, ends, sizes, obstacles) if labelled else None
        if where is not None:
            break
    if where is None:  # too many weights, or no spacing leaves room: draw the edges unlabelled
        labelled = False
        centres, bias_at, obstacles = _geometry(
            layout, named, GAPS_CM[0], row_cm, own, shared, beside
        )
        edge_labels = [""] * len(ends)
        where = [(0.0, 0.0)] * len(ends)
    ident = {
        label: f"n{col}x{row}"
        for col, c in enumerate(layout.columns)
        for row, label in enumerate(c)
    }
    nodes = [
        FigureNode(
            ident[label],
            _cm(centres[label][0]),
            _cm(centres[label][1]),
            labels[label],
            "input" if column_of[label] == 0 else "unit",
            name=label,
        )
        for column in layout.columns
        for label in column
    ]
    edges = [
        FigureEdge(ident[src], ident[dst], text, _cm(x), _cm(y), param=param)
        for (src, dst, param), text, (x, y) in zip(layout.edges, edge_labels, where)
    ]
    for k, (bias, units) in enumerate([(b, (u,)) for u, b in own.items()] + shared):
        x, y = bias_at[bias]
        node_id = f"b{k}"
        nodes.append(FigureNode(node_id, _cm(x), _cm(y), named(bias), "bias", name=bias))
        for unit in units:
            edges.append(FigureEdge(node_id, ident[unit], "", param=bias, faint=True))
    beside_boxes = _beside_boxes(layout, centres, beside)
    for unit, box in beside_boxes.items():
        nodes.append(
            FigureNode(f"v{ident[unit]}", _cm(box.x), _cm(box.y), beside[unit], "weight", name=unit)
        )
    boxes = tuple(Box(x, y, w, h) for (x, y), (w, h) in zip(where, sizes)) if labelled else ()
    xs = [c[0] for c in centres.values()] + [b[0] for b in bias_at.values()]
    xs += [b.x + sign * b.w / 2 for b in beside_boxes.values() for sign in (-1, 1)]
    ys = [c[1] for c in centres.values()] + [b[1] for b in bias_at.values()]
    return Figure(
        tuple(nodes),
        tuple(edges),
        labelled,
        width=max(xs) - min(xs),
        height=max(ys) - min(ys),
        label_boxes=boxes,
        obstacle_boxes=tuple(obstacles),
    )


def _graph_figure(network: Network) -> Figure | None:
    """A graph-form net drawn by depth (module docstring)."""
    printer = NotationLatexPrinter(network.notation)
    node_syms = [node.symbol for node in network.nodes]  # the loss is the last
    exprs = {node.symbol: node.expr for node in network.nodes}
    leaves = [*network.inputs, *network.params, *network.targets]
    if len(node_syms) + len(leaves) > MAX_GRAPH_NODES:
        return None
    depth: dict[sp.Symbol, int] = {s: 0 for s in network.inputs}
    for sym in node_syms:  # network.nodes is in topological order
        used = [s for s in exprs[sym].free_symbols if s in depth]
        depth[sym] = 1 + max((depth[s] for s in used), default=0)
    users: dict[sp.Symbol, list[sp.Symbol]] = {}
    for sym in node_syms:
        for s in sorted(exprs[sym].free_symbols, key=lambda s: s.name):
            users.setdefault(s, []).append(sym)
    for leaf in (*network.params, *network.targets):
        if leaf in users:
            depth[leaf] = max(0, min(depth[u] for u in users[leaf]) - 1)
    drawn = [
        s
        for s in (*network.inputs, *network.params, *network.targets, *node_syms)
        if s in depth and (s in users or s in node_syms)
    ]
    columns: dict[int, list[sp.Symbol]] = {}
    for sym in drawn:
        columns.setdefault(depth[sym], []).append(sym)
    tallest = max(len(c) for c in columns.values())
    gap, row_cm = 2.4, 1.3
    ident, nodes = {}, []
    kinds = {
        **{s: "input" for s in (*network.inputs, *network.targets)},
        **{s: "bias" for s in network.params},
    }
    centres = {}
    for col in sorted(columns):
        column = columns[col]
        offset = (tallest - len(column)) / 2
        for row, sym in enumerate(column):
            ident[sym] = f"g{col}x{row}"
            centres[sym] = (col * gap, -(row + offset) * row_cm)
            nodes.append(
                FigureNode(
                    ident[sym],
                    _cm(centres[sym][0]),
                    _cm(centres[sym][1]),
                    printer.doprint(sym),
                    kinds.get(sym, "unit"),
                    name=sym.name,
                )
            )
    edges = []
    for sym in node_syms:
        for s in sorted(exprs[sym].free_symbols, key=lambda s: s.name):
            if s in ident:
                param = s.name if s in network.params else ""
                edges.append(FigureEdge(ident[s], ident[sym], "", param=param, faint=s in kinds))
    xs = [c[0] for c in centres.values()]
    ys = [c[1] for c in centres.values()]
    return Figure(tuple(nodes), tuple(edges), False, max(xs) - min(xs), max(ys) - min(ys))

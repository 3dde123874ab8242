"""A deck as data: frames of equation rows with the overlay each row appears on, and figures with
a highlighted path. Both levels build a :class:`Deck`; ``templates/latex/slides.tex.jinja`` lays
it out, and :func:`render_deck` fills the template.

Overlays: a row with ``step = k`` is uncovered from the frame's k-th slide on, so a derivation
is revealed one line at a time (the space it takes is kept from the first slide, so nothing
moves). In a question deck (``show_solutions=False``) every answer row is left out by the
builders and a row asking for it takes its place.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from symbackprop.handout.figure import Figure
from symbackprop.output.render import render

TEXT_CM = 14.0  # 16:9 Beamer text width (16 cm paper, 1 cm margins)
BODY_CM = 6.2  # height under the frame title, less a line of text
SIDE_CM = (5.0, 5.6)  # the figure beside a derivation
FULL_EM = 38.0  # a row's budget without a figure (\small math)
BESIDE_EM = 22.5  # a row's budget beside a figure
MAX_ROWS = 7  # rows of one frame; more go to a continuation frame


@dataclass(frozen=True)
class Row:
    lhs: str
    rhs: str  # LaTeX, starting with its relation (= …)
    step: int = 1


@dataclass(frozen=True)
class Frame:
    title: str
    text: str = ""  # LaTeX prose above the rows
    rows: tuple[Row, ...] = ()
    figure: Figure | None = None
    side: bool = False  # the figure beside the rows (else above, alone)
    note: str = ""  # LaTeX prose under the rows
    question: bool = False  # a question frame: room left to work
    chain: Chain | None = None  # the layer level's figure, drawn above the rows


@dataclass(frozen=True)
class ChainArrow:
    src: str
    dst: str
    label: str
    emph: bool = False


@dataclass(frozen=True)
class Chain:
    """The layer figure (:mod:`handout.layer_figure`) with a layer's path emphasised."""

    boxes: tuple  # of layer_figure.FigureBox
    forward: tuple[ChainArrow, ...]
    backward: tuple[ChainArrow, ...]
    scale: str


@dataclass(frozen=True)
class Deck:
    title: str
    subtitle: str
    source: str
    frames: tuple[Frame, ...]
    show_solutions: bool


def highlight(figure: Figure, *, param: str = "", unit: str = "") -> Figure:
    """The figure with the path of ``param`` (the edges carrying it, then everything downstream
    of their heads) or of ``unit`` (the unit and everything downstream) drawn emphasised; only
    the emphasised weights keep their labels. Emphasised edges are drawn last, on top."""
    start = {e.dst for e in figure.edges if param and e.param == param}
    if unit:
        start |= {n.ident for n in figure.nodes if n.name == unit}
    reached, frontier = set(start), list(start)
    while frontier:
        node = frontier.pop()
        for e in figure.edges:
            if e.src == node and e.dst not in reached and not e.faint:
                reached.add(e.dst)
                frontier.append(e.dst)
    edges = []
    for e in figure.edges:
        on = (bool(param) and e.param == param) or (e.src in reached and not e.faint)
        edges.append(replace(e, emph=on, label=e.label if on and e.param == param else ""))
    edges.sort(key=lambda e: e.emph)
    nodes = tuple(replace(n, emph=n.ident in reached) for n in figure.nodes)
    return replace(figure, nodes=nodes, edges=tuple(edges))


def split(frame: Frame, size: int = MAX_ROWS) -> list[Frame]:
    """A frame with more rows than fit, as several frames (``(continued)`` after the first);
    each part's overlays start again at 1. A row never starts a part with its continuation
    (a row of a broken sum, ``\\quad + …``, stays with the row it continues)."""
    if len(frame.rows) <= size:
        return [frame]
    parts: list[list[Row]] = [[]]
    for row in frame.rows:
        starts = not row.rhs.startswith(r"\quad")
        if len(parts[-1]) >= size and starts:
            parts.append([])
        parts[-1].append(row)
    frames = []
    for k, rows in enumerate(parts):
        first = min(r.step for r in rows)
        renumbered = tuple(replace(r, step=r.step - first + 1) for r in rows)
        title = frame.title if k == 0 else frame.title + " (continued)"
        frames.append(
            replace(
                frame,
                title=title,
                rows=renumbered,
                text=frame.text if k == 0 else "",
                note=frame.note if k == len(parts) - 1 else "",
            )
        )
    return frames


def render_deck(deck: Deck) -> str:
    """The deck's LaTeX source (without the do-not-edit header)."""
    return render(
        "latex",
        "slides.tex.jinja",
        deck=deck,
        side_width=f"{SIDE_CM[0] / TEXT_CM + 0.02:.2f}",
        main_width=f"{1 - SIDE_CM[0] / TEXT_CM - 0.05:.2f}",
    )

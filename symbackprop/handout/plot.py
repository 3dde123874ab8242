"""The axes of a training curve: what is plotted, on which scale, over which range.

A loss that falls by decades is drawn on a log scale; a log-likelihood, which rises towards 0
from below, is drawn as −log L so that it can be (its approach to 0 is then a fall by decades,
not a flat line at "−2.5 × 10⁻³¹"). Once the plotted value is below :data:`ROUNDING` of where it
started, the float64 code has reached its rounding errors and every later point is noise at the
floor: the plot ends at that update, and the text says so.
"""

from __future__ import annotations

from dataclasses import dataclass

ROUNDING = 1e-12  # a loss this small relative to its start is at float64's rounding level
DECADES = 2.0  # a curve spanning more than this many powers of ten gets a log axis


@dataclass(frozen=True)
class Axes:
    """The plotted points and how to draw them.

    Attributes:
        points: ``(step, value)`` pairs to draw (the value negated for a log-likelihood).
        negated: True when the values are −log L rather than log L.
        log: True for a logarithmic value axis.
        end: the last step drawn (the x axis runs from 0 to it).
        flat_from: the step from which the curve sits at the rounding floor (None: it never
            does before the end of the run).
    """

    points: tuple[tuple[int, float], ...]
    negated: bool
    log: bool
    end: int
    flat_from: int | None


def _decades(values: list[float]) -> float:
    positive = [v for v in values if v > 0]
    if len(positive) < 2:
        return 0.0
    from math import log10

    return log10(max(positive)) - log10(min(positive))


def training_axes(points: list[tuple[int, float]], *, maximize: bool, end: int) -> Axes:
    """How to draw ``points`` (``(step, loss)``, the loss a log-likelihood when ``maximize``),
    run up to step ``end``."""
    negated = maximize and bool(points) and all(v <= 0 for _, v in points)
    drawn = [(s, -v if negated else v) for s, v in points]
    flat_from = None
    if drawn and drawn[0][1] > 0:
        floor = abs(drawn[0][1]) * ROUNDING
        flat_from = next((s for s, v in drawn if 0 <= v <= floor), None)
    if flat_from is not None:
        cut = [(s, v) for s, v in drawn if s <= flat_from]
        drawn, end = cut, max(flat_from, 1)
    values = [v for _, v in drawn]
    log = bool(values) and min(values) > 0 and _decades(values) > DECADES
    return Axes(tuple(drawn), negated, log, end, flat_from)


def ticks(span: int) -> list[int]:
    """Steps marked on the x axis: each one on a short axis, else five."""
    return list(range(span + 1)) if span <= 8 else [span * k // 4 for k in range(5)]


def coordinates(points) -> str:
    """pgfplots ``coordinates`` text."""
    return " ".join(f"({step},{value:.6g})" for step, value in points)

"""The worked example trained for the handout's error plot (seed 000, Figure 4).

Two routes, each for what it does best: the error after the first update is evaluated exactly
from the derivation (the updated weights put back into the forward pass); the curve over many
updates runs the generated module itself, so the plot shows what the code a reader gets does.
The module runs in a child process (:mod:`check.subrun`), never in the tool's own.

A learning rate too large for the net makes the updates diverge: the loss overflows to inf or
NaN. That is a result to show, not an error: the curve stops at the last finite loss and the
update where it overflowed is returned with it.
"""

from __future__ import annotations

import math

import sympy as sp

from symbackprop.check import subrun
from symbackprop.codegen.unit import generate_module
from symbackprop.derivation.equations import Derivation
from symbackprop.derivation.evaluate import Worked, evaluate

ITERATIONS = 10_000
SAMPLES = 100  # points plotted


def error_after_update(derivation: Derivation, worked: Worked) -> sp.Expr:
    """The loss at the example after one update of every parameter (exact)."""
    network = derivation.network
    point = {**network.value_map, **worked.updated}
    return evaluate(derivation, point).values[network.loss]


def finite_prefix(rows) -> tuple[list[tuple[int, float]], int | None]:
    """The ``(step, loss)`` rows up to the first non-finite loss, and that row's step (None
    when every loss is finite)."""
    points = []
    for step, value in rows:
        if not math.isfinite(value):
            return points, int(step)
        points.append((int(step), float(value)))
    return points, None


def loss_curve(
    derivation: Derivation, iterations: int = ITERATIONS
) -> tuple[list[tuple[int, float]], int | None]:
    """``(iteration, loss before it)`` every ``iterations / SAMPLES`` steps, and the final loss,
    from ``sgd_step`` of the generated module on the example; and the update at which the loss
    overflowed, or None."""
    job = subrun.Job()
    job.sgd_curve(iterations, max(1, iterations // SAMPLES))
    # SGD whatever the spec's optimizers: the handout's curve is that of its worked SGD update
    text = generate_module(derivation, source=derivation.network.name, optimizers=["sgd"])
    (rows,) = subrun.run(text, job, what="the handout's training run")
    return finite_prefix(rows)

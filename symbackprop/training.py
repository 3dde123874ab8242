"""The worked example trained for the handout's error plot (seed 000, Figure 4).

Two routes, each for what it does best: the error after the first update is evaluated exactly
from the derivation (the updated weights put back into the forward pass); the curve over many
updates runs the generated module itself, so the plot shows what the code a reader gets does.
"""

from __future__ import annotations

import sympy as sp

from .codegen import generate_module
from .equations import Derivation
from .evaluate import Worked, evaluate
from .loader import load_generated

ITERATIONS = 10_000
SAMPLES = 100  # points plotted


def error_after_update(derivation: Derivation, worked: Worked) -> sp.Expr:
    """The loss at the example after one update of every parameter (exact)."""
    network = derivation.network
    point = {**network.value_map, **worked.updated}
    return evaluate(derivation, point).values[network.loss]


def loss_curve(derivation: Derivation, iterations: int = ITERATIONS) -> list[tuple[int, float]]:
    """``(iteration, loss before it)`` every ``iterations / SAMPLES`` steps, and the final loss,
    from ``sgd_step`` of the generated module on the example."""
    module = load_generated(generate_module(derivation, source=derivation.network.name))
    params = module.init_params()
    every = max(1, iterations // SAMPLES)
    points = []
    for step in range(iterations):
        value = float(module.sgd_step(params, module.EXAMPLE_X, module.EXAMPLE_T))
        if step % every == 0:
            points.append((step, value))
    points.append((iterations, float(module.loss(params, module.EXAMPLE_X, module.EXAMPLE_T))))
    return points

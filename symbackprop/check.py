"""``symbackprop check``: three routes to the gradient must agree.

1. **derived** — the δ-recursion evaluated exactly (:mod:`evaluate`, 40 digits);
2. **numpy** — the generated module in float64;
3. **finite differences** — central differences of the generated module's loss, Richardson
   extrapolated (error O(h⁴)), which uses no derivative at all.

At random points (parameters and inputs uniform in [-1, 1], targets in [0.05, 0.95]), for every
parameter, the relative error of routes 2 and 3 against route 1 must be at most ``tolerance``
(1e-7, DESIGN.md). The relative error divides by the larger of the exact value and a thousandth
of the largest gradient, so a gradient that is zero up to rounding does not fail the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from .codegen import generate_module
from .derive import derive
from .evaluate import evaluate
from .loader import load_generated
from .network import Network

TOLERANCE = 1e-7


@dataclass(frozen=True)
class ParamCheck:
    name: str
    derived: float
    numpy_error: float
    fd_error: float


@dataclass(frozen=True)
class Report:
    network: str
    points: int
    params: tuple[ParamCheck, ...]
    tolerance: float

    @property
    def ok(self) -> bool:
        return all(
            p.numpy_error <= self.tolerance and p.fd_error <= self.tolerance for p in self.params
        )


def relative_error(values: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|values − exact| over |exact|, floored at a thousandth of the largest |exact|."""
    floor = max(1e-3 * float(np.max(np.abs(exact))), 1e-12)
    return np.abs(values - exact) / np.maximum(np.abs(exact), floor)


def richardson_derivative(f: Callable[[float], float], base: float) -> float:
    """f'(base) from central differences at h and h/2, Richardson-extrapolated (error O(h⁴))."""
    h = 1e-3 * max(1.0, abs(base))
    central = [(f(base + step) - f(base - step)) / (2 * step) for step in (h, h / 2)]
    return (4 * central[1] - central[0]) / 3  # the h² terms cancel


def _finite_differences(module, params: dict, x: np.ndarray, t: np.ndarray) -> dict:
    def loss_at(name: str, value: float) -> float:
        trial = dict(params)
        trial[name] = np.asarray(value)
        return float(module.loss(trial, x, t))

    return {
        name: richardson_derivative(lambda v, n=name: loss_at(n, v), float(params[name]))
        for name in params
    }


def check_network(
    network: Network, *, points: int = 3, seed: int = 0, tolerance: float = TOLERANCE
) -> Report:
    """Compare derived, generated and finite-difference gradients at random points."""
    derivation = derive(network)
    module = load_generated(generate_module(derivation, source=network.name))
    rng = np.random.default_rng(seed)
    names = [p.name for p in network.params]
    worst_np = np.zeros(len(names))
    worst_fd = np.zeros(len(names))
    derived_first = None
    for _ in range(points):
        params = {p: rng.uniform(-1, 1) for p in names}
        x = rng.uniform(-1, 1, size=(1, len(network.inputs)))
        t = rng.uniform(0.05, 0.95, size=(1, len(network.targets)))
        point = {p: sp.Float(v, 30) for p, v in zip(network.params, params.values())}
        point.update({s: sp.Float(v, 30) for s, v in zip(network.inputs, x[0])})
        point.update({s: sp.Float(v, 30) for s, v in zip(network.targets, t[0])})
        point[network.learning_rate] = sp.Rational(1, 10)
        worked = evaluate(derivation, point)
        exact = np.array([float(worked.gradients[p]) for p in network.params])
        arrays = {k: np.asarray(v) for k, v in params.items()}
        grads = module.gradients(arrays, x, t)
        numeric = np.array([float(grads[n]) for n in names])
        fd = _finite_differences(module, arrays, x, t)
        approx = np.array([fd[n] for n in names])
        worst_np = np.maximum(worst_np, relative_error(numeric, exact))
        worst_fd = np.maximum(worst_fd, relative_error(approx, exact))
        if derived_first is None:
            derived_first = exact
    checks = tuple(
        ParamCheck(n, float(d), float(e1), float(e2))
        for n, d, e1, e2 in zip(names, derived_first, worst_np, worst_fd)
    )
    return Report(network.name, points, checks, tolerance)


def format_report(report: Report) -> str:
    """A table: parameter, derived gradient at the first point, worst relative errors."""
    lines = [
        f"check '{report.network}' at {report.points} random points "
        f"(tolerance {report.tolerance:g}, worst relative error per parameter)",
        f"  {'parameter':16s} {'derived':>16s} {'numpy':>10s} {'fin.diff.':>10s}",
    ]
    for p in report.params:
        flag = "" if max(p.numpy_error, p.fd_error) <= report.tolerance else "  <-- disagrees"
        lines.append(
            f"  {p.name:16s} {p.derived:16.9g} {p.numpy_error:10.2e} {p.fd_error:10.2e}{flag}"
        )
    lines.append(
        "ok: derived = generated NumPy = finite differences"
        if report.ok
        else "FAILED: the routes disagree"
    )
    return "\n".join(lines)

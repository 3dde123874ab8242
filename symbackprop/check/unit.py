"""``symbackprop check``: three routes to the gradient must agree.

1. **derived** — the δ-recursion evaluated exactly (:mod:`derivation.evaluate`, 40 digits);
2. **numpy** — the generated module in float64;
3. **finite differences** — central differences of the generated module's loss, Richardson
   extrapolated (error O(h⁴)), which uses no derivative at all; at most ``FD_SAMPLE``
   parameters per point, drawn at random, so the cost does not grow with the square of the net.

The generated module runs in a child process (:mod:`check.subrun`), all points in one run.

At random points (parameters and inputs uniform in [-1, 1], targets in [0.05, 0.95], scaled to
sum to 1 for a softmax output whose δ is simplified to a − y, which assumes it) the
relative error of route 2 against route 1 must be at most ``tolerance`` (1e-7, DESIGN.md). The
relative error divides by the larger of the exact value and a thousandth of the largest
gradient, so a gradient that is zero up to rounding does not fail the check. Route 3 is itself
approximate: :func:`richardson` returns an error estimate with each derivative (the difference
of the two step sizes, plus the rounding of the loss divided by the step), and a finite
difference agrees when it is within ``tolerance`` plus that estimate — on badly conditioned nets
a tiny gradient's finite difference is dominated by rounding, which is not a disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from symbackprop.check import subrun
from symbackprop.codegen.unit import generate_module
from symbackprop.derivation.evaluate import evaluate
from symbackprop.derivation.numrange import OutOfRange
from symbackprop.derivation.unit import derive
from symbackprop.errors import InvalidInput
from symbackprop.model.network import Network

TOLERANCE = 1e-7
REDRAWS = 50  # random points tried before a net's domain is taken as empty
FD_SAMPLE = 40  # parameters (unit level) or entries per array (layer level) per point
# The rounding of one loss evaluation, in units of eps * |loss|: a loss is a sum of a few
# rounded terms, each of relative error ~eps; a few more guard against unlucky accumulation.
LOSS_ROUNDING = 8.0


@dataclass(frozen=True)
class ParamCheck:
    name: str
    derived: float
    numpy_error: float
    fd_error: float  # NaN when no point differenced this parameter (see FD_SAMPLE)
    fd_allowed: float = TOLERANCE  # the tolerance widened by the finite differences' own error


@dataclass(frozen=True)
class Report:
    network: str
    points: int
    params: tuple[ParamCheck, ...]
    tolerance: float

    @property
    def ok(self) -> bool:
        return all(
            p.numpy_error <= self.tolerance and not p.fd_error > p.fd_allowed  # NaN: not sampled
            for p in self.params
        )


def relative_error(values: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|values − exact| over |exact|, floored at a thousandth of the largest |exact|."""
    return np.abs(values - exact) / _denominator(exact)


def _denominator(exact: np.ndarray) -> np.ndarray:
    exact = np.asarray(exact, dtype=np.float64)
    floor = max(1e-3 * float(np.max(np.abs(exact), initial=0.0)), 1e-12)
    return np.maximum(np.abs(exact), floor)


def richardson_steps(base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The four trial values of each entry, rows (b+h, b−h, b+h/2, b−h/2), and the steps h."""
    base = np.asarray(base, dtype=np.float64)
    h = 1e-3 * np.maximum(1.0, np.abs(base))
    values = np.stack([base + h, base - h, base + h / 2, base - h / 2], axis=-1)
    return values, (values[..., 0] - values[..., 1]) / 2  # the steps as actually represented


def richardson(losses: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f'(b) from the losses at :func:`richardson_steps`, Richardson-extrapolated (error O(h⁴)),
    and an estimate of its error.

    The estimate is |D(h/2) − D(h)| / 3, the size of the h² term the extrapolation removes (a
    bound for D(h/2)'s error, generous for the extrapolated value), plus the rounding of the
    four losses carried through the formula (sum of |coefficients| = 3/h) at
    ``LOSS_ROUNDING`` · eps · |loss|.
    """
    losses = np.asarray(losses, dtype=np.float64)
    wide = (losses[..., 0] - losses[..., 1]) / (2 * h)
    narrow = (losses[..., 2] - losses[..., 3]) / h
    value = (4 * narrow - wide) / 3  # the h² terms cancel
    scale = np.max(np.abs(losses), axis=-1)
    error = np.abs(narrow - wide) / 3 + 3 * LOSS_ROUNDING * np.finfo(np.float64).eps * scale / h
    return value, error


def fd_comparison(
    fd: np.ndarray, error: np.ndarray, exact: np.ndarray, denominator: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Relative error of finite differences against the exact gradient, and the relative error
    allowed: ``tolerance`` plus the finite differences' own estimated error."""
    return np.abs(fd - exact) / denominator, tolerance + error / denominator


def _worst(rel: np.ndarray, allowed: np.ndarray) -> tuple[float, float]:
    """The (error, allowed) pair of the entry closest to failing."""
    i = int(np.argmax(rel / allowed))
    return float(rel[i]), float(allowed[i])


def _random_point(network: Network, derivation, rng: np.random.Generator):
    """Parameters, x, t drawn at random, and the derivation evaluated there. A point where some
    node is undefined or complex (``log`` of a negative input, say) is drawn again, up to
    :data:`REDRAWS` times, so that a net with a restricted domain is still checked; past that,
    the last point's error (exit 2, naming the node) stands."""
    names = [p.name for p in network.params]
    for attempt in range(REDRAWS):
        params = {p: rng.uniform(-1, 1) for p in names}
        x = rng.uniform(-1, 1, size=(1, len(network.inputs)))
        t = rng.uniform(0.05, 0.95, size=(1, len(network.targets)))
        if network.matched is not None and network.matched.targets_sum_to_one:
            t /= t.sum()  # δ_k = a_k − y_k holds for targets that are a distribution
        point = {p: sp.Float(v, 30) for p, v in zip(network.params, params.values())}
        point.update({s: sp.Float(v, 30) for s, v in zip(network.inputs, x[0])})
        point.update({s: sp.Float(v, 30) for s, v in zip(network.targets, t[0])})
        point[network.learning_rate] = sp.Rational(1, 10)
        try:
            return params, x, t, evaluate(derivation, point)
        except OutOfRange:
            if attempt == REDRAWS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def check_network(
    network: Network,
    *,
    points: int = 3,
    seed: int = 0,
    tolerance: float = TOLERANCE,
    max_memory: float | None = None,
) -> Report:
    """Compare derived, generated and finite-difference gradients at random points.

    ``max_memory`` is unused at unit level: the network's size is bounded by ``--max-ops``.
    """
    if points < 1:
        raise InvalidInput(f"points must be at least 1, not {points}", hint="--points")
    if not network.params:
        raise InvalidInput(
            f"network '{network.name}' has no parameters: there is no gradient to check",
            hint="declare params in [graph]",
        )
    derivation = derive(network)
    text = generate_module(derivation, source=network.name)
    rng = np.random.default_rng(seed)
    names = [p.name for p in network.params]
    job = subrun.Job()
    plans = []
    for _ in range(points):
        params, x, t, worked = _random_point(network, derivation, rng)
        exact = np.array([float(worked.gradients[p]) for p in network.params])
        sample = np.sort(rng.choice(len(names), min(len(names), FD_SAMPLE), replace=False))
        values, h = richardson_steps(np.array([params[names[i]] for i in sample]))
        arrays = {k: np.asarray(v) for k, v in params.items()}
        ref = job.point(arrays, x, t)
        plans.append(
            (
                exact,
                sample,
                h,
                job.gradients(ref),
                job.losses(ref, [(names[i], ()) for i in sample], values),
            )
        )
    results = subrun.run(text, job, what=f"the module generated for '{network.name}'")
    worst_np = np.zeros(len(names))
    worst_fd = np.full(len(names), np.nan)  # NaN until a point differences the parameter
    allowed_fd = np.full(len(names), tolerance)
    for exact, sample, h, grads_at, losses_at in plans:
        grads = results[grads_at]
        numeric = np.array([float(grads[n]) for n in names])
        worst_np = np.maximum(worst_np, relative_error(numeric, exact))
        fd, error = richardson(results[losses_at], h)
        rel, allowed = fd_comparison(
            fd, error, exact[sample], _denominator(exact)[sample], tolerance
        )
        for i, r, a in zip(sample, rel, allowed):
            if not r / a <= worst_fd[i] / allowed_fd[i]:  # also when worst_fd[i] is NaN
                worst_fd[i], allowed_fd[i] = r, a
    derived_first = plans[0][0]
    checks = tuple(
        ParamCheck(n, float(d), float(e1), float(e2), float(a2))
        for n, d, e1, e2, a2 in zip(names, derived_first, worst_np, worst_fd, allowed_fd)
    )
    return Report(network.name, points, checks, tolerance)


def _fd_text(error: float) -> str:
    return f"{'not taken':>10s}" if np.isnan(error) else f"{error:10.2e}"


def format_report(report: Report) -> str:
    """A table: parameter, derived gradient at the first point, worst relative errors."""
    lines = [
        f"check '{report.network}' at {report.points} random points "
        f"(tolerance {report.tolerance:g}, worst relative error per parameter; finite "
        "differences may differ by their own estimated error too)",
        f"  {'parameter':16s} {'derived':>16s} {'numpy':>10s} {'fin.diff.':>10s} {'allowed':>10s}",
    ]
    for p in report.params:
        bad = p.numpy_error > report.tolerance or p.fd_error > p.fd_allowed
        lines.append(
            f"  {p.name:16s} {p.derived:16.9g} {p.numpy_error:10.2e} {_fd_text(p.fd_error)} "
            f"{p.fd_allowed:10.2e}{'  <-- disagrees' if bad else ''}"
        )
    lines.append(
        "ok: derived = generated NumPy = finite differences"
        if report.ok
        else "FAILED: the routes disagree"
    )
    return "\n".join(lines)

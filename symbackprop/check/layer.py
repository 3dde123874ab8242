"""``symbackprop check`` for layer-level nets: three routes to the gradient must agree.

1. **derived** — BP1–BP4 of :mod:`derivation.layer` evaluated at 30 significant digits (mpmath): the
   per-unit rules (f', ∂C/∂a, the fused δ^L) are the derivation's own SymPy expressions,
   evaluated by a small tree walker; the sums of BP2 and BP4 are written out;
2. **numpy** — the generated matmul module in float64;
3. **finite differences** — Richardson-extrapolated central differences of the generated
   module's ``loss`` (no derivative at all), with their own error estimate (see :mod:`check.unit`);
   on large layers a random sample of at most ``FD_SAMPLE`` entries per parameter array and
   ``FD_TOTAL`` per point, to keep the check fast.

The generated module runs in a child process (:mod:`check.subrun`), all points in one run; the job's
memory and time are estimated from the sizes first (:func:`check_cost`), and a job over the
limits is refused (exit 5) before anything is allocated.

Points: parameters and inputs uniform in [−1, 1], targets in [0.05, 0.95] (rows normalised to
sum to one for the fused softmax losses, the assumption their δ^L needs), a batch of two.
The verdict and the report format are those of :mod:`check.unit`.
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import mpmath
import numpy as np

from symbackprop import budget
from symbackprop.check import subrun
from symbackprop.check.unit import (
    TOLERANCE,
    ParamCheck,
    Report,
    _denominator,
    fd_comparison,
    relative_error,
    richardson,
    richardson_steps,
)
from symbackprop.codegen.layer import generate_layer_module
from symbackprop.derivation.layer import LayerDerivation, LayerNet, derive_layers
from symbackprop.derivation.layer_values import bp_values
from symbackprop.errors import InvalidInput
from symbackprop.rules.layer_losses import SOFTMAX

FD_SAMPLE = 40  # entries per parameter array and point
FD_TOTAL = 200  # entries per point over all arrays
BATCH = 2


def derived_gradients(d: LayerDerivation, params: dict, x: np.ndarray, t: np.ndarray) -> dict:
    """The gradient by the derived equations at 30 digits, as float64 arrays."""
    net = d.net
    mp = {
        k: [[mpmath.mpf(float(v)) for v in row] for row in np.atleast_2d(p)]
        for k, p in params.items()
    }
    L = net.depth
    grads = {k: [[mpmath.mpf(0)] * len(row) for row in v] for k, v in mp.items()}
    Ws = [mp[f"W{l}"] for l in range(1, L + 1)]
    bs = [mp[f"b{l}"][0] for l in range(1, L + 1)]
    for xrow, trow in zip(x, t):
        xs = [mpmath.mpf(float(v)) for v in xrow]
        ys = [mpmath.mpf(float(v)) for v in trow]
        _, acts, by_layer = bp_values(d, Ws, bs, xs, ys)
        for l in range(1, L + 1):  # BP3, BP4
            for jj, dj in enumerate(by_layer[l]):
                grads[f"b{l}"][0][jj] += dj
                row = grads[f"W{l}"][jj]
                for kk, av in enumerate(acts[l - 1]):
                    row[kk] += av * dj
    scale = mpmath.mpf(1) / len(x) if net.reduction == "mean" else mpmath.mpf(1)
    sign = -1 if d.output.maximize else 1
    out = {}
    for name, rows in grads.items():
        decay = name.startswith("W") and net.weight_decay
        values = [
            [
                scale * (v + (sign * net.weight_decay * mp[name][r][c] if decay else 0))
                for c, v in enumerate(row)
            ]
            for r, row in enumerate(rows)
        ]
        out[name] = np.array([[float(v) for v in row] for row in values]).reshape(
            np.shape(params[name])
        )
    return out


def random_point(net: LayerNet, rng: np.random.Generator, batch: int = BATCH):
    """Parameters, inputs and targets of one check point (see the module docstring)."""
    params = {}
    for l in range(1, net.depth + 1):
        params[f"W{l}"] = rng.uniform(-1, 1, size=(net.sizes[l], net.sizes[l - 1]))
        params[f"b{l}"] = rng.uniform(-1, 1, size=net.sizes[l])
    x = rng.uniform(-1, 1, size=(batch, net.sizes[0]))
    t = rng.uniform(0.05, 0.95, size=(batch, net.sizes[-1]))
    if net.activations[-1] == SOFTMAX:
        t = t / t.sum(axis=1, keepdims=True)
    return params, x, t


def fd_entries(net: LayerNet, rng: np.random.Generator) -> list[tuple[str, tuple]]:
    """The parameter entries differenced at one point: at most ``FD_SAMPLE`` per array, and
    at most ``FD_TOTAL`` in all (spread over the arrays), so deep or wide nets stay fast."""
    shapes = {
        name: (
            (net.sizes[int(name[1:])], net.sizes[int(name[1:]) - 1])
            if name[0] == "W"
            else (net.sizes[int(name[1:])],)
        )
        for name in net.params
    }
    quota = {name: min(int(np.prod(shape)), FD_SAMPLE) for name, shape in shapes.items()}
    total = sum(quota.values())
    if len(quota) > FD_TOTAL:
        chosen = set(rng.choice(list(quota), FD_TOTAL, replace=False))
        quota = {name: int(name in chosen) for name in quota}
    elif total > FD_TOTAL:
        quota = {name: max(1, q * FD_TOTAL // total) for name, q in quota.items()}
    entries = []
    for name, shape in shapes.items():
        size = int(np.prod(shape))
        for flat in np.sort(rng.choice(size, quota[name], replace=False)):
            entries.append((name, tuple(int(i) for i in np.unravel_index(flat, shape))))
    return entries


def check_cost(net: LayerNet, points: int) -> tuple[float, float]:
    """Bytes and seconds :func:`check_layer_net` needs, from the sizes (see :mod:`budget`).

    Memory: the 30-digit route holds three numbers per parameter (the parameters, the
    gradient sums, the scaled gradient) while the float64 copies of every point's parameters,
    exact and generated gradients are kept, and the child holds its own. Time: the 30-digit
    route's multiply-adds (forward, BP2 and BP4: about three per weight per example), the
    generated module's calls (one ``gradients`` and four losses per differenced entry, each a
    few matmuls plus a few calls per layer), and the derivation and code generation per layer.
    """
    n = budget.layer_params(net.sizes)
    depth = net.depth
    entries = min(n, FD_TOTAL, FD_SAMPLE * 2 * depth)
    memory = 3 * budget.MPF_BYTES * n + 8 * n * (4 * points + 4)
    per_loss = 2 * n * BATCH * budget.FLOP_SECONDS + 10 * depth * budget.CALL_SECONDS
    seconds = (
        points * 3 * n * BATCH * budget.MPF_SECONDS
        + points * (4 * entries + 3) * per_loss
        + depth * budget.LAYER_SECONDS
    )
    return memory, seconds


def check_layer_net(
    net: LayerNet, *, points: int = 3, seed: int = 0, tolerance: float = TOLERANCE
) -> Report:
    """Compare derived, generated and finite-difference gradients at random points."""
    if points < 1:
        raise InvalidInput(f"points must be at least 1, not {points}", hint="--points")
    memory, seconds = check_cost(net, points)
    budget.require(f"check of '{net.name}'", memory=memory, seconds=seconds)
    d = derive_layers(net)
    text = generate_layer_module(d, source=net.name)
    rng = np.random.default_rng(seed)
    job = subrun.Job()
    plans = []
    for _ in range(points):
        params, x, t = random_point(net, rng)
        with mpmath.workdps(30):
            exact = derived_gradients(d, params, x, t)
        entries = fd_entries(net, rng)
        values, h = richardson_steps(np.array([params[n][ix] for n, ix in entries]))
        ref = job.point(params, x, t)
        plans.append((exact, entries, h, job.gradients(ref), job.losses(ref, entries, values)))
    results = subrun.run(text, job, what=f"the module generated for '{net.name}'")
    # numpy error, finite-difference error (NaN until an entry of p is differenced), allowed
    worst = {p: [0.0, float("nan"), tolerance] for p in net.params}
    for exact, entries, h, grads_at, losses_at in plans:
        numeric = results[grads_at]
        for name in net.params:
            np_err = float(np.max(relative_error(numeric[name], exact[name]), initial=0.0))
            worst[name][0] = max(worst[name][0], np_err)
        fd, error = richardson(results[losses_at], h)
        for (name, ix), value, err in zip(entries, fd, error):
            e = exact[name]
            rel, allowed = fd_comparison(value, err, e[ix], _denominator(e)[ix], tolerance)
            if not rel / allowed <= worst[name][1] / worst[name][2]:  # also when still NaN
                worst[name][1:] = [float(rel), float(allowed)]
    first = {name: float(plans[0][0][name].flat[0]) for name in net.params}
    checks = tuple(ParamCheck(p, first[p], *worst[p]) for p in net.params)
    return Report(net.name, points, checks, tolerance)

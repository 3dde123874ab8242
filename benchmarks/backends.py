"""The generated torch, JAX, array-API and CuPy modules as benchmark peers.

``backend_peers(case)`` returns ``(name, setup)`` pairs in the form of :mod:`peers`:
``setup(case, dtype) -> (run, to_list)``, ``run()`` one full gradient on data prepared once (in
the library's own arrays), ``to_list`` the result as NumPy arrays ``[dW1, db1, …]`` for the
agreement check; a peer that cannot run here raises :class:`peers.Unavailable`. A harness adds
them to its table as it adds the peers of :data:`peers.MODULE_PEERS`.

Run alone, ``python benchmarks/backends.py`` times the comparisons the backends are held to, at
784-128-64-10 batch 1024 in float32 and float64 (``--cases`` names others, ``--cases all`` takes
every case with backend modules): the torch module against torch eager (autograd)
and torch's GEMM floor (the products backprop needs, into row-major and into column-major
outputs: the torch module writes float64 ones column-major), the JAX module against
``jax.jit(jax.grad)`` of the same loss (its parameters a list, and a dict as the module takes
them), and the array-API module on NumPy against the NumPy
module. Peers take turns (interleaved rounds, the
order rotated each round); each figure is the median per call of its best round, with the spread
of the round medians. The ratio of each peer to the first is taken in paired turns, one a round
(the two alternate call by call, as in ``timing.py``), and shown as the median over the rounds
with its min-max.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import lru_cache, partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import timing  # noqa: E402
from nets import CASES, Case, make_data  # noqa: E402
from peers import FLOORS, FRAMEWORKS, HAND, Unavailable, _need  # noqa: E402
from pinning import pin_threads  # noqa: E402

from generated import layer_module, layer_net  # noqa: E402

BACKENDS = ("torch", "jax", "array-api", "cupy")


@lru_cache(maxsize=None)
def backend_module(case: Case, backend: str):
    """The case's net generated for ``backend`` and imported (its library must be installed)."""
    import importlib.util
    import tempfile

    from symbackprop.codegen.backends import generate_backend_module
    from symbackprop.derivation.layer import derive_layers

    text = generate_backend_module(derive_layers(layer_net(case)), backend, source="bench")
    with tempfile.TemporaryDirectory(prefix="symbackprop-bench-") as tmp:
        path = Path(tmp) / f"bench_{backend.replace('-', '_')}.py"
        path.write_text(text, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def _names(case: Case) -> list[str]:
    return [n for layer in range(1, len(case.sizes)) for n in (f"W{layer}", f"b{layer}")]


def _to_list(case: Case, as_numpy):
    return lambda grads: [np.asarray(as_numpy(grads[n]), dtype=np.float64) for n in _names(case)]


def torch_module_peer(case: Case, dtype):
    torch = _need("torch")
    module = backend_module(case, "torch")
    params, x, t = make_data(case, dtype)
    # torch's own (aligned) copies, as the torch eager peer has them
    p = {n: torch.tensor(v) for n, v in zip(_names(case), params)}
    tx, tt = torch.tensor(x), torch.tensor(t)
    return (lambda: module.gradients(p, tx, tt)), _to_list(case, lambda g: g.numpy())


def jax_module_peer(case: Case, dtype):
    jax = _need("jax")
    jax.config.update("jax_enable_x64", True)
    module = backend_module(case, "jax")
    params, x, t = make_data(case, dtype)
    p = {n: jax.device_put(v) for n, v in zip(_names(case), params)}
    jx, jt = jax.device_put(x), jax.device_put(t)

    def run():
        grads = module.gradients(p, jx, jt)
        for g in grads.values():
            g.block_until_ready()
        return grads

    return run, _to_list(case, np.asarray)


def array_api_numpy_peer(case: Case, dtype):
    """The generic module on NumPy arrays (what array-api costs over the NumPy module)."""
    _need("array_api_compat")
    module = backend_module(case, "array-api")
    params, x, t = make_data(case, dtype)
    p = dict(zip(_names(case), params))
    return (lambda: module.gradients(p, x, t)), _to_list(case, np.asarray)


def cupy_module_peer(case: Case, dtype):
    cp = _need("cupy")
    try:
        cp.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - cupy installed without a usable GPU
        raise Unavailable(f"no CUDA device ({exc})") from exc
    module = backend_module(case, "cupy")
    params, x, t = make_data(case, dtype)
    p = {n: cp.asarray(v) for n, v in zip(_names(case), params)}
    gx, gt = cp.asarray(x), cp.asarray(t)

    def run():
        grads = module.gradients(p, gx, gt)
        cp.cuda.Device().synchronize()
        return grads

    return run, _to_list(case, cp.asnumpy)


def torch_floor_column_major_peer(case: Case, dtype):
    """The GEMM floor's products on torch's BLAS (:func:`nets.gemm_floor`: the same eight calls,
    exactly those backprop needs), with the (N, width) outputs column-major. With MKL in float64
    these products take markedly less time than into the row-major outputs of the floor; the
    torch module uses that layout in float64, so this is the floor it is held to there."""
    torch = _need("torch")
    params, x, t = make_data(case, dtype)
    depth, n = len(case.sizes) - 1, case.batch
    gen = torch.Generator().manual_seed(1)

    def column_major(width):
        return (torch.rand((width, n), generator=gen, dtype=torch.from_numpy(x).dtype) - 0.5).T

    tx = torch.from_numpy(x)
    acts = [tx] + [column_major(m) for m in case.sizes[1:]]
    deltas = [None] + [column_major(m) for m in case.sizes[1:]]
    zs = [column_major(m) for m in case.sizes[1:]]
    weights = [torch.from_numpy(params[2 * layer]) for layer in range(depth)]
    grads = [torch.zeros_like(w) for w in weights]

    def run():
        for layer in range(depth):
            torch.matmul(acts[layer], weights[layer].T, out=zs[layer])
        for layer in range(depth - 1, -1, -1):
            torch.matmul(deltas[layer + 1].T, acts[layer], out=grads[layer])
            if layer:
                torch.matmul(deltas[layer + 1], weights[layer], out=deltas[layer])
        return grads

    return run, None


def numpy_module_peer(case: Case, dtype):
    """The NumPy module's default call (fresh gradient arrays)."""
    module = layer_module(case)
    params, x, t = make_data(case, dtype)
    p = dict(zip(_names(case), params))
    return (lambda: module.gradients(p, x, t)), _to_list(case, np.asarray)


# The hand-written and framework peers by key (benchmarks/peers.py), for the standalone run.
PEERS = {peer.key: peer.setup for peer in (*HAND, *FRAMEWORKS, *FLOORS)}

PEERS_BY_BACKEND = {
    "torch": ("torch module", torch_module_peer),
    "jax": ("jax module", jax_module_peer),
    "array-api": ("array-api module (numpy)", array_api_numpy_peer),
    "cupy": ("cupy module", cupy_module_peer),
}


def backend_peers(case: Case) -> list[tuple[str, object]]:
    """``(name, setup)`` of each backend module for ``case`` (peers.py wraps them as
    :data:`peers.MODULE_PEERS`)
    (layer-level nets only: the tiny unit-level cases have no backend module)."""
    if "softmax" not in case.activations and case.n_params <= 100:
        return []
    return [PEERS_BY_BACKEND[b] for b in BACKENDS]


def _agree(reference, result, to_list, dtype) -> float:
    got = to_list(result)
    worst = 0.0
    for g, r in zip(got, reference):
        worst = max(worst, float(np.max(np.abs(g - r)) / max(np.max(np.abs(r)), 1e-300)))
    return worst


def measure(case: Case, dtype, peers, rounds: int, seconds: float, clock=time.perf_counter) -> dict:
    """Interleaved rounds: each peer in turn runs for about ``seconds``; per peer, the median
    call time of each round. Returns name → (best round's median, spread of round medians,
    worst relative disagreement with the first peer)."""
    runs = {}
    for name, setup in peers:
        try:
            runs[name] = setup(case, dtype)
        except Unavailable as exc:
            print(f"  {name}: n/a ({exc})")
    first = next(iter(runs))
    reference = runs[first][1](runs[first][0]())
    samples = {name: [] for name in runs}
    errors = {}
    for name, (run, to_list) in runs.items():
        result = run()  # warm up (JIT compilation, allocator) and check agreement
        for _ in range(3):
            result = run()
        errors[name] = _agree(reference, result, to_list, dtype) if to_list else float("nan")
    paired = {name: [] for name in runs}
    budget = timing.Budget(rounds, settle_s=0.1, warm_s=0.05, turn_s=seconds / 2, sample_s=0.005)
    loops = {name: timing._loops(run, budget.sample_s) for name, (run, _) in runs.items()}
    for index in range(rounds):
        order = list(runs.items())
        order = order[index % len(order) :] + order[: index % len(order)]  # rotated each round
        for name, (run, _) in order:
            times = []
            stop = time.perf_counter() + seconds
            while time.perf_counter() < stop or len(times) < 3:
                start = clock()
                run()
                times.append(clock() - start)
            samples[name].append(statistics.median(times))
        for name, (run, _) in runs.items():  # each against the first, sample by sample
            ratio = 1.0
            if name != first:
                ratio = timing._paired_turn(
                    run, loops[name], runs[first][0], loops[first], budget, clock
                )
            paired[name].append(ratio)
    return {
        name: (
            min(meds),
            (max(meds) - min(meds)) / min(meds),
            errors[name],
            sorted(paired[name]),  # per round, against the first
        )
        for name, meds in samples.items()
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.4, help="per peer per round")
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch, BLAS and XLA threads (1: XLA single-threaded)",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or this process's CPU time (all its threads): on a machine other jobs "
        "share, --threads 1 --clock cpu still compares peers fairly",
    )
    parser.add_argument("--only", choices=("torch", "jax", "array-api"), action="append")
    parser.add_argument(
        "--cases",
        default="784-128-64-10 tanh+softmax-CE b1024",
        help="comma-separated case labels (as in run.py's table), or 'all': every case that has "
        "backend modules",
    )
    args = parser.parse_args(argv)
    labels = [c.label for c in CASES if backend_peers(c)]
    wanted = labels if args.cases == "all" else [p.strip() for p in args.cases.split(",")]
    unknown = [w for w in wanted if w not in labels]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}; the cases: {', '.join(labels)}")
    held = None
    if "jax" not in sys.modules:  # XLA reads its flags and sizes its pool when JAX starts
        held = pin_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    comparisons = [
        (
            "torch",
            [
                PEERS_BY_BACKEND["torch"],
                ("torch eager", PEERS["torch"]),
                ("torch GEMM floor", PEERS["floor.torch"]),
                ("torch GEMM floor, col-major", torch_floor_column_major_peer),
            ],
        ),
        (
            "jax",
            [
                PEERS_BY_BACKEND["jax"],
                ("jax.jit(jax.grad)", PEERS["jax.jit"]),
                ("jax.jit(jax.grad), dict params", partial(PEERS["jax.jit"], as_dict=True)),
            ],
        ),
        ("array-api", [("numpy module", numpy_module_peer), PEERS_BY_BACKEND["array-api"]]),
    ]
    comparisons = [c for c in comparisons if not args.only or c[0] in args.only]
    cpus = f" (held to CPU {', '.join(map(str, held))})" if held else ""
    budget = f"{args.rounds} rounds of {args.seconds} s, {args.clock} clock"
    print(f"{args.threads} threads{cpus}, {budget}")
    runs = [(c, dtype) for c in CASES if c.label in wanted for dtype in (np.float32, np.float64)]
    with timing.thread_limit(args.threads):
        for case, dtype in runs:
            for label, peers in comparisons:
                result = measure(case, dtype, peers, args.rounds, args.seconds, clock)
                base = next(iter(result.values()))[0]
                print(f"{case.label} {np.dtype(dtype).name} {label}:", flush=True)
                for name, (best, spread, error, ratios) in result.items():
                    print(
                        f"  {name:31s} {best * 1e3:8.3f} ms  x{best / base:5.2f}  "
                        f"spread {spread:5.1%}  max rel diff {error:.1e}  "
                        f"per-round ratio to the first: median {statistics.median(ratios):.3f} "
                        f"({ratios[0]:.3f}-{ratios[-1]:.3f})"
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

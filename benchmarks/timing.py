"""Agreement check and interleaved timing of every peer on every case and dtype."""

from __future__ import annotations

import contextlib
import statistics
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
from nets import CASES, Case, make_data, numpy_gradients
from peers import PEERS, Unavailable

from generated import generated_peer

ORDER = ("generated", "numpy", "jax.jit", "torch", "autograd", "floor", "floor.torch")
SETTLE_S = 0.25  # idle time before each peer's turn (a tenth of it with --quick)
TOLERANCE = {"float64": 1e-9, "float32": 2e-3}  # max |g − g_ref| / max |g_ref|, per parameter


@dataclass
class Result:
    """One peer on one case and dtype."""

    case: Case
    dtype: str
    peer: str
    median_s: float = float("nan")
    samples: int = 0
    note: str = ""  # why it did not run
    error: str = ""  # disagreement or crash: a failure of the benchmark
    max_rel_error: float = float("nan")
    times: list[float] = field(default_factory=list)


@contextlib.contextmanager
def thread_limit(threads: int):
    """Pin BLAS (threadpoolctl when available) and torch to ``threads`` threads."""
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=threads):
        yield


def _setup(peer: str, case: Case, dtype):
    if peer == "generated":
        return generated_peer(case, dtype)
    return PEERS[peer](case, dtype)


def _agreement(case: Case, dtype, to_list, run) -> float:
    reference = numpy_gradients(case, *make_data(case, np.float64))
    got = to_list(run())
    worst = 0.0
    for g, ref in zip(got, reference, strict=True):
        scale = max(float(np.max(np.abs(ref))), 1e-300)
        worst = max(worst, float(np.max(np.abs(np.asarray(g) - ref))) / scale)
    return worst


def _calibrate(run, target_s: float) -> int:
    """Calls per sample so that one sample lasts about ``target_s``."""
    start = time.perf_counter_ns()
    run()
    once = max(time.perf_counter_ns() - start, 1) / 1e9
    return max(1, int(target_s / once))


def _sample(run, loops: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(loops):
        run()
    return (time.perf_counter_ns() - start) / 1e9 / loops


def time_case(case: Case, dtype_name: str, quick: bool, log) -> list[Result]:
    dtype = np.dtype(dtype_name).type
    results, runs = [], {}
    for peer in ORDER:
        result = Result(case, dtype_name, peer)
        results.append(result)
        try:
            run, to_list = _setup(peer, case, dtype)
            if to_list is not None:
                result.max_rel_error = _agreement(case, dtype, to_list, run)
                if not result.max_rel_error <= TOLERANCE[dtype_name]:
                    result.error = f"gradients disagree: max rel error {result.max_rel_error:.2e}"
                    log(f"    {peer}: {result.error}")
                    continue
        except Unavailable as exc:
            result.note = str(exc)
            continue
        except Exception as exc:  # a crash is reported, and the other peers still run
            result.error = f"{type(exc).__name__}: {exc}"
            log(f"    {peer}: {result.error}\n{traceback.format_exc(limit=3)}")
            continue
        warm_end = time.perf_counter() + (0.05 if quick else 0.3)
        calls = 0
        while calls < 3 or time.perf_counter() < warm_end:
            run()
            calls += 1
        runs[peer] = (run, _calibrate(run, 0.002 if quick else 0.005))
    rounds = 3 if quick else 7
    budget = (0.15 if quick else 1.2) / rounds  # seconds per peer and round
    by_peer = {r.peer: r for r in results}
    for _ in range(rounds):  # interleaved: a slow spell of the machine hits every peer alike
        for peer, (run, loops) in runs.items():
            # The thread pools of the peer before (OpenBLAS, OpenMP, XLA) spin for up to about
            # 0.2 s after their last call, on the cores this peer is about to use.
            time.sleep(SETTLE_S / 10 if quick else SETTLE_S)
            end = time.perf_counter() + budget
            while True:
                by_peer[peer].times.append(_sample(run, loops))
                if time.perf_counter() >= end:
                    break
    for peer in runs:
        r = by_peer[peer]
        r.median_s = statistics.median(r.times)
        r.samples = len(r.times)
    return results


def run_cases(args, log) -> list[Result]:
    prefixes = [p.strip() for p in args.cases.split(",") if p.strip()]
    results = []
    for case in CASES:
        if prefixes and not any(case.name.startswith(p) for p in prefixes):
            continue
        for dtype_name in [d.strip() for d in args.dtypes.split(",")]:
            log(f"{case.label} {dtype_name}")
            rows = time_case(case, dtype_name, args.quick, log)
            for r in rows:
                shown = f"{r.median_s * 1e6:10.1f} µs" if r.samples else (r.note or r.error)
                log(f"    {r.peer:10s} {shown}")
            results.extend(rows)
    return results

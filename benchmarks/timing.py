"""Agreement check and interleaved, steady-state timing of every peer on every case and dtype.

How a figure is taken: every implementation ("item": a peer on one data layout) is set up and
checked first. Then ``rounds`` rounds; in each, every item takes one turn, in an order rotated
from round to round. A turn is a short pause (so that the previous item's spinning BLAS or XLA
threads are idle), a warm-up of untimed calls (so the turn starts in the steady state a loop of
calls reaches: caches, branch predictors and the allocator's free lists warm), then samples, each a
loop of calls lasting a few milliseconds timed with ``perf_counter_ns``. The turn's figure is the
median of its samples; an item's time is the median of its round figures, and its spread the
min–max of them.

The ratios the targets are judged on are measured in paired turns: after the items' turns, each
round gives every compared pair one turn in which the two alternate sample by sample (a few
milliseconds each, in the order A B B A …), so that both see the same state of the machine; the
turn's ratio is the median of its sample ratios, and the pair's ratio the median of the rounds'
with their min–max as its spread. On a shared virtual machine whose speed drifts by a third
within seconds, ratios of the items' own turns (seconds apart) spread over 0.6–1.5; paired, the
same ratios spread over a few percent, so that a margin can be read against its spread.
``tests/test_benchmark_harness.py`` checks that the figures agree with a plain ``timeit`` of each
function run alone.
"""

from __future__ import annotations

import contextlib
import statistics
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
from nets import CASES, GEMM_BOUND, Case, make_data, numpy_gradients
from peers import FLOORS, FRAMEWORKS, HAND, MODULE_PEERS, Peer, Unavailable

from generated import GENERATED

# The clock of the samples (ns): wall time. The harness test swaps in the process's CPU time,
# which a busy machine's other processes do not stretch, to compare with timeit on that clock.
CLOCK = time.perf_counter_ns
TOLERANCE = {"float64": 1e-9, "float32": 2e-3}  # max |g − g_ref| / max |g_ref|, per parameter
LAYOUTS = ("user", "aligned")
SLOW = {"4096-4096-4096 tanh"}  # a call takes a good fraction of a second: not in --quick


@dataclass(frozen=True)
class Budget:
    """Seconds per turn (pause, warm-up, samples), rounds, and the length of one sample."""

    rounds: int
    settle_s: float
    warm_s: float
    turn_s: float
    sample_s: float


QUICK = Budget(rounds=5, settle_s=0.02, warm_s=0.01, turn_s=0.03, sample_s=0.002)
FULL = Budget(rounds=9, settle_s=0.1, warm_s=0.05, turn_s=0.15, sample_s=0.005)


@dataclass
class Result:
    """One peer on one case, dtype and data layout."""

    case: Case
    dtype: str
    peer: str
    layout: str = "aligned"
    note: str = ""  # why it did not run
    error: str = ""  # disagreement or crash: a failure of the benchmark
    max_rel_error: float = float("nan")
    rounds: list[float] = field(default_factory=list)  # the figure of each round, seconds
    samples: int = 0
    # (peer, layout) of another item -> this item's time / that one's, per round (paired turns)
    paired: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    @property
    def median_s(self) -> float:
        return statistics.median(self.rounds) if self.rounds else float("nan")

    @property
    def min_s(self) -> float:
        return min(self.rounds) if self.rounds else float("nan")

    @property
    def max_s(self) -> float:
        return max(self.rounds) if self.rounds else float("nan")

    @property
    def timed(self) -> bool:
        return bool(self.rounds)


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


def all_peers() -> tuple[Peer, ...]:
    return (*GENERATED, *MODULE_PEERS, *HAND, *FRAMEWORKS, *FLOORS)


def _agreement(case: Case, to_list, run) -> float:
    reference = numpy_gradients(case, *make_data(case, np.float64))
    got = to_list(run())
    worst = 0.0
    for g, ref in zip(got, reference, strict=True):
        scale = max(float(np.max(np.abs(ref))), 1e-300)
        worst = max(worst, float(np.max(np.abs(np.asarray(g) - ref))) / scale)
    return worst


def _loops(run, target_s: float) -> int:
    """Calls per sample so that one sample lasts about ``target_s`` (measured warm)."""
    run()
    start = time.perf_counter_ns()
    run()
    once = max(time.perf_counter_ns() - start, 1) / 1e9
    return max(1, int(target_s / once))


def _sample(run, loops: int, clock=None) -> float:
    """Seconds per call over ``loops`` calls, on ``clock`` (seconds) or ``CLOCK`` (ns)."""
    tick, unit = (CLOCK, 1e-9) if clock is None else (clock, 1.0)
    start = tick()
    for _ in range(loops):
        run()
    return (tick() - start) * unit / loops


def _settle_and_warm(budget: Budget, *runs) -> None:
    """A turn's start: pause, then untimed calls of each of ``runs`` (at least two each)."""
    time.sleep(budget.settle_s)
    end = time.perf_counter() + budget.warm_s
    calls = 0
    while calls < 2 or time.perf_counter() < end:
        for run in runs:
            run()
        calls += 1


def _turn(run, loops: int, budget: Budget) -> tuple[float, int]:
    """One item's turn in a round: pause, warm up, sample; (median of the samples, count)."""
    _settle_and_warm(budget, run)
    samples = []
    end = time.perf_counter() + budget.turn_s
    while not samples or time.perf_counter() < end:
        samples.append(_sample(run, loops))
    return statistics.median(samples), len(samples)


def _paired_turn(a, loops_a: int, b, loops_b: int, budget: Budget, clock=None) -> float:
    """One paired turn: pause, warm both up, then samples of a and b in turns (A B B A …);
    the median of the samples' ratios a / b (``clock``: see ``_sample``)."""
    _settle_and_warm(budget, a, b)
    ratios = []
    end = time.perf_counter() + 2 * budget.turn_s
    while len(ratios) < 2 or time.perf_counter() < end:
        if len(ratios) % 2:
            tb = _sample(b, loops_b, clock)
            ta = _sample(a, loops_a, clock)
        else:
            ta = _sample(a, loops_a, clock)
            tb = _sample(b, loops_b, clock)
        ratios.append(ta / tb)
    return statistics.median(ratios)


def compared_pairs(case: Case, results) -> list[tuple[int, int]]:
    """The items whose ratio a target judges (see ``report._targets``), as index pairs
    (mine, theirs) into ``results``, where both are there."""
    where = {(r.peer, r.layout): i for i, r in enumerate(results)}
    if case.name.startswith("2-2-2"):
        wanted = [(("numpy", "user"), ("sbp", "user")), (("jax.jit", "aligned"), ("sbp", "user"))]
    else:
        wanted = [
            ((mine, layout), (theirs, layout))
            for layout in LAYOUTS
            for mine, theirs in (("sbp", "numpy"), ("sbp.out", "numpy.tuned"))
        ]
        if case.label in GEMM_BOUND:
            wanted.append((("sbp.out", "aligned"), ("floor", "aligned")))
            wanted.append((("floor.act", "aligned"), ("floor", "aligned")))
    return [(where[a], where[b]) for a, b in wanted if a in where and b in where]


def setup_items(case: Case, dtype_name: str, peers, layouts, log):
    """Check every item; returns (results, {index of a timed result: run})."""
    dtype = np.dtype(dtype_name).type
    results, runs = [], {}
    for peer in peers:
        for layout in layouts if peer.by_layout else ("aligned",):
            result = Result(case, dtype_name, peer.key, layout)
            results.append(result)
            try:
                run, to_list = peer.setup(case, dtype, layout)
                if to_list is not None:
                    result.max_rel_error = _agreement(case, to_list, run)
                    worst = result.max_rel_error
                    if not worst <= TOLERANCE[dtype_name]:
                        result.error = f"gradients disagree: max rel error {worst:.2e}"
                        log(f"    {peer.key} ({layout}): {result.error}")
                        continue
            except Unavailable as exc:
                result.note = str(exc)
                continue
            except Exception as exc:  # a crash is reported, and the other peers still run
                result.error = f"{type(exc).__name__}: {exc}"
                log(f"    {peer.key}: {result.error}\n{traceback.format_exc(limit=3)}")
                continue
            runs[len(results) - 1] = run
    return results, runs


def time_case(
    case: Case, dtype_name: str, quick: bool, log, peers=None, layouts=LAYOUTS, budget=None
) -> list[Result]:
    budget = budget or (QUICK if quick else FULL)
    results, runs = setup_items(case, dtype_name, peers or all_peers(), layouts, log)
    loops = {i: _loops(run, budget.sample_s) for i, run in runs.items()}
    order = list(runs)
    pairs = [(i, j) for i, j in compared_pairs(case, results) if i in runs and j in runs]
    for k in range(budget.rounds):  # interleaved: a slow spell of the machine hits every item
        shift = k % len(order) if order else 0
        for i in order[shift:] + order[:shift]:
            figure, count = _turn(runs[i], loops[i], budget)
            results[i].rounds.append(figure)
            results[i].samples += count
        for i, j in pairs:
            ratio = _paired_turn(runs[i], loops[i], runs[j], loops[j], budget)
            other = (results[j].peer, results[j].layout)
            results[i].paired.setdefault(other, []).append(ratio)
    return results


def run_cases(args, log) -> list[Result]:
    prefixes = [p.strip() for p in args.cases.split(",") if p.strip()]
    results = []
    for case in CASES:
        if prefixes and not any(case.name.startswith(p) for p in prefixes):
            continue
        if args.quick and case.name in SLOW and not prefixes:
            log(f"{case.label}: left out of --quick (seconds per call; name it with --cases)")
            continue
        for dtype_name in [d.strip() for d in args.dtypes.split(",")]:
            log(f"{case.label} {dtype_name}")
            rows = time_case(case, dtype_name, args.quick, log)
            for r in rows:
                if r.timed:
                    shown = (
                        f"{r.median_s * 1e6:10.1f} µs  [{r.min_s * 1e6:.1f}–{r.max_s * 1e6:.1f}]"
                    )
                else:
                    shown = r.note or r.error
                log(f"    {r.peer:12s} {r.layout:8s} {shown}")
            results.extend(rows)
    return results

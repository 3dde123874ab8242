"""Benchmark: symbackprop's generated gradient code against its peers, side by side, in one run.

    python benchmarks/run.py [--quick] [--cases 2-2-2,784-30-10] [--dtypes float64,float32]
                             [--threads N] [--out benchmarks/results] [--no-derivation]

For every case and dtype: the generated module's two calls (``gradients(p, x, t)`` and
``gradients(..., out=g)``), plain and tuned hand NumPy, each on data as a user has it and on
64-byte-aligned data, jax.jit(grad), torch eager, autograd, the GEMM floors and any module in
``peers.MODULE_PEERS``. Each implementation's gradients are first checked against plain NumPy in
float64 (a disagreement is an error, and that peer is not timed); then all are timed in
interleaved rounds of steady-state turns (see ``timing.py``), and the median time with its
min–max over the rounds is reported, with the targets' ratios taken in paired turns, one a round.
Peers come from the optional ``bench`` extra (jax, torch, autograd); a missing one is reported,
not fatal. Writes ``results.md`` (the table), ``results.json`` and ``results.png`` to ``--out``.
BLAS and framework thread pools are pinned to the same number of threads for everyone; with
fewer threads than CPUs the process is held to that many CPUs (``pinning.py``), which is what
keeps XLA's own pool to them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short budgets (< 2 minutes)")
    parser.add_argument("--cases", default="", help="comma-separated name prefixes, e.g. 2-2-2")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--no-derivation", action="store_true", help="skip the scaling study")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = _arguments(argv)
    sys.path.insert(0, str(HERE))
    from pinning import pin_threads  # the standard library only: before NumPy loads

    pin_threads(args.threads)
    import report  # noqa: E402 - after the thread pins
    import timing

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    machine = report.machine(args.threads)
    print(report.machine_line(machine), flush=True)
    with timing.thread_limit(args.threads):
        results = timing.run_cases(args, log=lambda s: print(s, flush=True))
        scaling = None
        if not args.no_derivation:
            import derivation

            print("derivation + code generation:", flush=True)
            scaling = derivation.run(args.quick, log=lambda s: print(s, flush=True))
    budget = timing.QUICK if args.quick else timing.FULL
    text = report.markdown(machine, results, scaling, quick=args.quick, budget=budget)
    (out / "results.md").write_text(text, encoding="utf-8")
    report.write_json(out / "results.json", machine, results, scaling)
    plotted = report.plot(out / "results.png", results)
    print()
    print(text)
    print(
        f"wrote {out / 'results.md'}, {out / 'results.json'}" + (", results.png" if plotted else "")
    )
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Time ``verify`` per claim file: the derivation, then the claims (CPU seconds).

    python benchmarks/verify_speed.py [--repeat N] [--cold-runs K]

For each file of examples/claims/ (with its spec) and for a 50-claim file made of the first 50
claims of seed 000 (Mazur's network), prints the derivation time and the time to decide every
claim after it: ``cold`` in a fresh Python process per file (SymPy's caches empty, what a user
of ``symbackprop verify`` gets; the least of K such processes, for a machine that is not idle),
then in this process the first run (``first``: caches warm from
the files before it) and the best of N (``best``), each with a fresh checker; the cold time per
claim and the verdict counts. The target: a 50-claim file on a seed network decides in under
1 s after the derivation.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from symbackprop.derivation.layer import LayerNet
from symbackprop.derivation.unit import derive
from symbackprop.spec.load import load_spec
from symbackprop.verify.claimcheck import Checker
from symbackprop.verify.layer import LayerChecker
from symbackprop.verify.resolve import NetworkResolver
from symbackprop.verify.run import check_line

CLAIMS = Path(__file__).resolve().parent.parent / "examples" / "claims"
FILES = [
    ("mazur", "seed000_mazur.txt"),
    ("essa", "seed001_essa.txt"),
    ("jacobs", "seed003_jacobs.txt"),
    (str(CLAIMS / "nielsen_2_3_4.toml"), "seed004_nielsen.txt"),
    ("nielsen", "nielsen_bp.tex"),
    ("digits", "digits_bp.tex"),
]


def claim_lines(text: str) -> list[tuple[int, str]]:
    return [
        (n, line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and line.lstrip()[0] not in "#%"
    ]


def time_file(spec: str, lines: list[tuple[int, str]], repeat: int) -> tuple:
    start = time.process_time()
    network = load_spec(spec)
    derivation = None if isinstance(network, LayerNet) else derive(network)
    derive_s = time.process_time() - start
    best, first, counts = float("inf"), None, {}
    for _ in range(repeat):
        start = time.process_time()
        if derivation is None:
            checker = LayerChecker(network)
        else:
            checker = Checker(NetworkResolver(derivation))
        verdicts = [check_line(checker, line, n) for n, line in lines]
        took = time.process_time() - start
        first = took if first is None else first
        best = min(best, took)
        counts = {}
        for v in verdicts:
            counts[v.verdict] = counts.get(v.verdict, 0) + 1
    return derive_s, first, best, counts


def cold(spec: str, name: str, count: int) -> tuple[float, float]:
    """(derivation s, deciding s) of one file in a fresh process: its first run."""
    done = subprocess.run(
        [sys.executable, __file__, "--cold", spec, name, str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(done.stdout)
    return out["derive"], out["decide"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=1, help="fresh processes per file")
    parser.add_argument("--cold", nargs=3, metavar=("SPEC", "FILE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold:  # the child process of cold(): one first run, as JSON
        spec, name, count = args.cold
        lines = claim_lines((CLAIMS / name).read_text("utf-8"))[: int(count)]
        derive_s, first, _best, _counts = time_file(spec, lines, 1)
        print(json.dumps({"derive": derive_s, "decide": first}))
        return
    rows = [(spec, name, name, claim_lines((CLAIMS / name).read_text("utf-8")))
            for spec, name in FILES]  # fmt: skip
    rows.append(("mazur", "50 claims of seed000", rows[0][1], rows[0][3][:50]))
    head = f"{'file':24s} {'claims':>6s} {'derive s':>8s} {'cold s':>7s} {'first s':>8s}"
    print(f"{head} {'best s':>7s} {'ms/claim':>8s}  verdicts")
    for spec, label, name, lines in rows:
        runs = [cold(spec, name, len(lines)) for _ in range(args.cold_runs)]
        derive_s, cold_s = min(runs, key=lambda run: run[1])
        _, first, best, counts = time_file(spec, lines, args.repeat)
        per = 1000 * cold_s / max(1, len(lines))
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        row = f"{label:24s} {len(lines):6d} {derive_s:8.2f} {cold_s:7.2f} {first:8.2f}"
        print(f"{row} {best:7.2f} {per:8.1f}  {shown}", flush=True)


if __name__ == "__main__":
    main()

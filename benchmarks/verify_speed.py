"""Time ``verify`` per claim file: the derivation, then the claims (CPU seconds of this process).

    python benchmarks/verify_speed.py [--repeat N]

For each file of examples/claims/ (with its spec) and for a 50-claim file made of the first 50
claims of seed 000 (Mazur's network), prints the derivation time, the time to decide every
claim after it — the first run (SymPy's caches cold for these claims) and the best of N, each
with a fresh checker — the first run's time per claim and the verdict counts. The target: a
50-claim file on a seed network decides in under 1 s after the derivation.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = [(spec, name, claim_lines((CLAIMS / name).read_text("utf-8"))) for spec, name in FILES]
    rows.append(("mazur", "50 claims of seed000", rows[0][2][:50]))
    head = f"{'file':24s} {'claims':>6s} {'derive s':>8s} {'first s':>8s} {'best s':>7s}"
    print(f"{head} {'ms/claim':>8s}  verdicts")
    for spec, name, lines in rows:
        derive_s, first, best, counts = time_file(spec, lines, args.repeat)
        per = 1000 * first / max(1, len(lines))
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        row = f"{name:24s} {len(lines):6d} {derive_s:8.2f} {first:8.2f} {best:7.2f}"
        print(f"{row} {per:8.1f}  {shown}")


if __name__ == "__main__":
    main()

"""The benchmark's outputs: machine description, markdown table, JSON and plot."""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
from collections import defaultdict

from nets import GEMM_BOUND

PEER_COLUMNS = ("generated", "numpy", "jax.jit", "torch", "autograd", "floor", "floor.torch")
PEER_TITLES = {
    "generated": "symbackprop",
    "numpy": "NumPy by hand",
    "jax.jit": "jax.jit(grad)",
    "torch": "torch eager",
    "autograd": "autograd",
    "floor": "GEMM floor",
    "floor.torch": "GEMM floor on torch's BLAS",
}
PEERS_ONLY = ("numpy", "jax.jit", "torch", "autograd")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine(threads: int) -> dict:
    blas = ""
    try:
        from threadpoolctl import threadpool_info

        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if infos:
            i = infos[0]
            blas = f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
    except ImportError:
        pass
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "blas": blas or "unknown",
        "jax": _version("jax"),
        "torch": _version("torch"),
        "autograd": _version("autograd"),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
    }


def machine_line(m: dict) -> str:
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['threads']} threads for every peer; Python "
        f"{m['python']}, NumPy {m['numpy']} ({m['blas']}), jax {m['jax']}, torch {m['torch']}, "
        f"autograd {m['autograd']}; OPENBLAS_CORETYPE {m['OPENBLAS_CORETYPE']}"
    )


def _time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "–"
    us = seconds * 1e6
    if us >= 10_000:
        return f"{us / 1000:.1f} ms"
    return f"{us:.3g} µs" if us < 100 else f"{us:.0f} µs"


def _grouped(results):
    groups = defaultdict(dict)
    for r in results:
        groups[(r.case.label, r.dtype)][r.peer] = r
    return groups


def _cell(r) -> str:
    if r is None:
        return "–"
    if r.samples:
        return _time(r.median_s)
    if r.error:
        return f"error: {r.error}"
    return r.note or "–"


def _best_peer(row) -> tuple[str, float]:
    timed = [(row[p].median_s, p) for p in PEERS_ONLY if p in row and row[p].samples]
    if not timed:
        return "", math.nan
    best = min(timed)
    return best[1], best[0]


def markdown(m: dict, results, scaling, quick: bool) -> str:
    lines = [
        "# symbackprop benchmark" + (" (--quick)" if quick else ""),
        "",
        f"Machine: {machine_line(m)}.",
        "",
        "Median time per full gradient (forward + backward, every dW and db; loss summed over the "
        "batch). Every implementation's gradients were checked against NumPy in float64 first. "
        "*best peer / symbackprop* > 1 means the generated code is faster than the fastest "
        "peer of the same dtype; *symbackprop / floor* is the distance from doing only "
        "backprop's GEMMs; GFLOP/s counts those GEMMs. *GEMM floor on torch's BLAS* runs the "
        "same products through ``torch.matmul``: where it is below NumPy's floor, torch's "
        "matrix products alone are faster than any code on NumPy's BLAS can be.",
        "",
        "| case | dtype | "
        + " | ".join(PEER_TITLES[p] for p in PEER_COLUMNS)
        + " | best peer / symbackprop | symbackprop / floor | GFLOP/s symbackprop (floor) |",
        "|" + "---|" * (len(PEER_COLUMNS) + 5),
    ]
    for (label, dtype), row in _grouped(results).items():
        case = next(iter(row.values())).case
        gen, floor = row.get("generated"), row.get("floor")
        best_name, best = _best_peer(row)
        speedup = vs_floor = "–"
        flops = "–"
        if gen is not None and gen.samples:
            if best_name:
                speedup = f"{best / gen.median_s:.2f}× ({best_name})"
            if floor is not None and floor.samples:
                vs_floor = f"{gen.median_s / floor.median_s:.2f}"
            flops = f"{case.flops / gen.median_s / 1e9:.2f}"
        if floor is not None and floor.samples:
            flops += f" ({case.flops / floor.median_s / 1e9:.2f})"
        cells = [_cell(row.get(p)) for p in PEER_COLUMNS]
        lines.append(
            f"| {label} | {dtype} | " + " | ".join(cells) + f" | {speedup} | {vs_floor} | {flops} |"
        )
    lines += ["", *_targets(results)]
    if scaling is not None:
        lines += ["", *_scaling(scaling)]
    return "\n".join(lines) + "\n"


def _targets(results) -> list[str]:
    out = ["## Targets", ""]
    for (label, dtype), row in _grouped(results).items():
        gen = row.get("generated")
        if gen is None or not gen.samples:
            out.append(f"- {label} {dtype}: generated code not measured ({_cell(gen)})")
            continue
        if label.startswith("2-2-2"):
            for peer in ("numpy", "jax.jit"):
                r = row.get(peer)
                if r is not None and r.samples:
                    ratio = r.median_s / gen.median_s
                    verdict = "met" if ratio >= 15 else "NOT met"
                    out.append(
                        f"- {label} {dtype}: {ratio:.1f}× faster than {peer} "
                        f"(target ≥ 15×): {verdict}"
                    )
            continue
        best_name, best = _best_peer(row)
        if best_name:
            verdict = "met" if gen.median_s <= best else "NOT met"
            out.append(
                f"- {label} {dtype}: {best / gen.median_s:.2f}× the speed of the "
                f"fastest peer ({best_name}) (target ≥ 1): {verdict}"
            )
        floor = row.get("floor")
        if label in GEMM_BOUND and floor is not None and floor.samples:
            ratio = gen.median_s / floor.median_s
            verdict = "met" if ratio <= 1.15 else "NOT met"
            out.append(
                f"- {label} {dtype}: {ratio:.2f}× the GEMM floor (target ≤ 1.15): " f"{verdict}"
            )
            out += _blas_gap(row)
    return out


def _blas_gap(row) -> list[str]:
    """For a GEMM-bound case, how torch's BLAS compares with NumPy's (not a target)."""
    floor, theirs, torch = row.get("floor"), row.get("floor.torch"), row.get("torch")
    if not all(r is not None and r.samples for r in (floor, theirs, torch)):
        return []
    room = torch.median_s - floor.median_s
    return [
        f"  - for reference: torch's GEMMs alone take {theirs.median_s / floor.median_s:.2f}× "
        f"NumPy's floor; torch eager leaves {_time(room) if room > 0 else 'no time'} above "
        "NumPy's floor for everything that is not a GEMM"
    ]


def _scaling(scaling) -> list[str]:
    out = [
        "## Derivation + code generation",
        "",
        "| level | net | parameters | derive | codegen | total |",
        "|---|---|---|---|---|---|",
    ]
    for level in ("unit", "layer"):
        for t in scaling[level]:
            codegen = (
                "n/a (layer codegen pending)" if math.isnan(t.codegen_s) else f"{t.codegen_s:.2f} s"
            )
            out.append(
                f"| {level} | {t.label} | {t.params:,} | {t.derive_s:.2f} s | {codegen} "
                f"| {t.total_s:.2f} s |"
            )
    out += [
        "",
        f"Unit level grows as parameters^{scaling['exponent']:.2f} (least squares over "
        "the larger sizes; target ≤ 1.1).",
    ]
    return out


def write_json(path, m: dict, results, scaling) -> None:
    data = {
        "machine": m,
        "results": [
            {
                "case": r.case.label,
                "dtype": r.dtype,
                "peer": r.peer,
                "median_s": r.median_s,
                "samples": r.samples,
                "note": r.note,
                "error": r.error,
                "max_rel_error": r.max_rel_error,
                "flops": r.case.flops,
            }
            for r in results
        ],
    }
    if scaling is not None:
        data["derivation"] = {
            level: [
                {
                    "net": t.label,
                    "params": t.params,
                    "derive_s": t.derive_s,
                    "codegen_s": None if math.isnan(t.codegen_s) else t.codegen_s,
                }
                for t in scaling[level]
            ]
            for level in ("unit", "layer")
        }
        data["derivation"]["unit_exponent"] = scaling["exponent"]
    path.write_text(json.dumps(data, indent=2, allow_nan=True) + "\n", encoding="utf-8")


def plot(path, results) -> bool:
    """Time relative to the GEMM floor per case, dtype and peer (log scale); False without
    matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    groups = [
        (key, row)
        for key, row in _grouped(results).items()
        if "floor" in row and row["floor"].samples
    ]
    if not groups:
        return False
    peers = [p for p in PEER_COLUMNS if not p.startswith("floor")]
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(groups)), 4.5))
    width = 0.8 / len(peers)
    for i, peer in enumerate(peers):
        xs, ys = [], []
        for g, (_, row) in enumerate(groups):
            r = row.get(peer)
            if r is not None and r.samples:
                xs.append(g + (i - len(peers) / 2 + 0.5) * width)
                ys.append(r.median_s / row["floor"].median_s)
        ax.bar(xs, ys, width, label=PEER_TITLES[peer])
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylabel("time / GEMM-only floor (log)")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{label}\n{dtype}" for (label, dtype), _ in groups], fontsize=7)
    ax.legend(fontsize=8)
    ax.set_title("Full gradient time relative to the GEMM floor (lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True

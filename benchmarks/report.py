"""The benchmark's outputs: machine description, markdown table, JSON and plot."""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import statistics
from collections import defaultdict

from nets import GEMM_BOUND
from peers import MODULE_PEERS

from generated import GENERATED

HAND_TITLES = {"numpy": "NumPy by hand, plain", "numpy.tuned": "NumPy by hand, tuned"}
OTHER_TITLES = {
    "jax.jit": "jax.jit(grad)",
    "torch": "torch eager",
    "autograd": "autograd",
    "floor": "GEMM floor",
    "floor.act": "GEMM floor + activations",
    "floor.torch": "GEMM floor on torch's BLAS",
}
PEERS_ONLY = ("numpy", "numpy.tuned", "jax.jit", "torch", "autograd")
DEFAULT_TARGET = 1.05  # gradients(p, x, t) / plain hand NumPy
OUT_TARGET = 1.00  # gradients(..., out=g) / tuned hand NumPy
FLOOR_TARGET = 1.15  # gradients(..., out=g) / NumPy's GEMM floor, on the GEMM-bound cases


def _titles() -> dict:
    """Column key → title, in table order: generated modules, hand NumPy, frameworks, floors."""
    return {
        "sbp": "symbackprop `gradients(p, x, t)`",
        "sbp.out": "symbackprop `out=g`",
        **{p.key: p.title for p in MODULE_PEERS},
        **HAND_TITLES,
        **OTHER_TITLES,
    }


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
        "cpus": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "blas": blas or "unknown",
        "jax": _version("jax"),
        "torch": _version("torch"),
        "autograd": _version("autograd"),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
    }


def _cpus(m: dict) -> str:
    """The CPUs the run was held to (``pinning.pin_threads``), when fewer than all."""
    cpus = m.get("cpus")
    if not cpus or len(cpus) >= (m["cores"] or 0):
        return ""
    return f" (held to CPU {', '.join(map(str, cpus))}: XLA's pool too)"


def machine_line(m: dict) -> str:
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['threads']} thread{'s' if m['threads'] != 1 else ''} "
        f"for every peer{_cpus(m)}; Python "
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


def _number(seconds: float, unit: float) -> str:
    value = seconds / unit
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def _spread(r) -> str:
    """median (min–max) over the rounds, in one unit."""
    unit = 1e-3 if r.median_s >= 0.01 else 1e-6
    name = "ms" if unit == 1e-3 else "µs"
    return (
        f"{_number(r.median_s, unit)} {name} "
        f"({_number(r.min_s, unit)}–{_number(r.max_s, unit)})"
    )


def _grouped(results):
    """(case label, dtype) → {(peer, layout): result}, in run order."""
    groups = defaultdict(dict)
    for r in results:
        groups[(r.case.label, r.dtype)][(r.peer, r.layout)] = r
    return groups


def _cell(r) -> str:
    if r is None:
        return "–"
    if r.timed:
        return _spread(r)
    if r.error:
        return f"error: {r.error}"
    return r.note or "–"


def round_ratios(a, b) -> list[float]:
    """a's time / b's time in each round: from their paired turns where the harness took them
    (``timing.compared_pairs``), else from their own turns in the same round."""
    if (b.peer, b.layout) in a.paired:
        return a.paired[(b.peer, b.layout)]
    if (a.peer, a.layout) in b.paired:
        return [1 / r for r in b.paired[(a.peer, a.layout)]]
    return [x / y for x, y in zip(a.rounds, b.rounds, strict=True)]


def paired_ratio(a, b) -> tuple[float, float, float]:
    """Median, min and max over the rounds of a's time / b's time (``round_ratios``)."""
    ratios = round_ratios(a, b)
    return statistics.median(ratios), min(ratios), max(ratios)


def _ratio_text(a, b) -> str:
    med, low, high = paired_ratio(a, b)
    return f"{med:.2f}× ({low:.2f}–{high:.2f})"


def _table(groups, layout: str, keys) -> list[str]:
    titles = _titles()
    lines = [
        "| case | dtype | " + " | ".join(titles[k] for k in keys) + " |",
        "|" + "---|" * (len(keys) + 2),
    ]
    for (label, dtype), row in groups.items():
        cells = []
        for k in keys:
            r = row.get((k, layout)) or row.get((k, "aligned"))
            cells.append(_cell(r))
        lines.append(f"| {label} | {dtype} | " + " | ".join(cells) + " |")
    return lines


def markdown(m: dict, results, scaling, quick: bool, budget=None) -> str:
    groups = _grouped(results)
    generated = [p.key for p in GENERATED] + [p.key for p in MODULE_PEERS]
    how = (
        f"{budget.rounds} interleaved rounds; in each, every implementation takes a turn: a "
        f"{budget.settle_s * 1e3:.0f} ms pause, {budget.warm_s * 1e3:.0f} ms of untimed warm-up "
        f"calls, then {budget.turn_s * 1e3:.0f} ms of samples (each a loop of calls of about "
        f"{budget.sample_s * 1e3:.0f} ms); a turn's figure is its median sample"
        if budget
        else "interleaved rounds"
    )
    lines = [
        "# symbackprop benchmark" + (" (--quick)" if quick else ""),
        "",
        f"Machine: {machine_line(m)}.",
        "",
        "Time per full gradient (forward + backward, every dW and db; loss summed over the "
        "batch): median over the rounds (min–max in brackets). "
        f"How: {how}. Every implementation's gradients were checked against NumPy in float64 "
        "first. *Plain* hand NumPy allocates every step (`a @ W.T + b`); *tuned* writes into "
        "buffers allocated once. The GEMM floor runs only backprop's matrix products, into "
        "buffers; on torch's BLAS, the same products through `torch.matmul`; *+ activations*, "
        "the same products with the forward's activations between them (the module's own "
        "kernels, on the GEMM-bound cases): the least NumPy code computing the net can take.",
        "",
        "Data as a user has it (plain arrays; jax, torch and the floors use their own or "
        "aligned memory):",
        "",
        *_table(groups, "user", [*generated, *PEERS_ONLY, "floor", "floor.act", "floor.torch"]),
        "",
        "The same on 64-byte-aligned data (NumPy codes only):",
        "",
        *_table(groups, "aligned", [*generated, "numpy", "numpy.tuned"]),
        "",
        *_targets(results),
    ]
    if scaling is not None:
        lines += ["", *_scaling(scaling)]
    return "\n".join(lines) + "\n"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _targets(results) -> list[str]:
    out = [
        "## Targets",
        "",
        "Each ratio is taken in paired turns, one a round: the two implementations alternate "
        "sample by sample (A B B A …) so that both see the same state of the machine, and the "
        "turn's ratio is the median of the sample ratios. Shown: the median over the rounds, "
        "min–max over the rounds in brackets; a target is met when the median meets it.",
        "",
    ]
    for (label, dtype), row in _grouped(results).items():
        if label.startswith("2-2-2"):
            gen = row.get(("sbp", "user"))
            for peer in ("numpy", "jax.jit"):
                r = row.get((peer, "user")) or row.get((peer, "aligned"))
                if gen is not None and gen.timed and r is not None and r.timed:
                    med, low, high = paired_ratio(r, gen)
                    out.append(
                        f"- {label} {dtype}: {med:.1f}× ({low:.1f}–{high:.1f}) faster than "
                        f"{peer} (target ≥ 15×): {_verdict(med >= 15)}"
                    )
            continue
        for layout in ("user", "aligned"):
            pairs = (
                ("sbp", "numpy", DEFAULT_TARGET, "`gradients(p, x, t)` / plain hand NumPy"),
                ("sbp.out", "numpy.tuned", OUT_TARGET, "`out=g` / tuned hand NumPy"),
            )
            for mine, theirs, target, what in pairs:
                a, b = row.get((mine, layout)), row.get((theirs, layout))
                if a is None or b is None or not (a.timed and b.timed):
                    out.append(f"- {label} {dtype} ({layout} data): {what}: not measured")
                    continue
                med = paired_ratio(a, b)[0]
                out.append(
                    f"- {label} {dtype} ({layout} data): {what} = {_ratio_text(a, b)} "
                    f"(target ≤ {target:.2f}): {_verdict(med <= target)}"
                )
        gen, floor = row.get(("sbp.out", "aligned")), row.get(("floor", "aligned"))
        if label in GEMM_BOUND and gen is not None and gen.timed and floor and floor.timed:
            med = paired_ratio(gen, floor)[0]
            out.append(
                f"- {label} {dtype}: `out=g` / NumPy's GEMM floor = {_ratio_text(gen, floor)} "
                f"(target ≤ {FLOOR_TARGET:.2f}): {_verdict(med <= FLOOR_TARGET)}"
            )
            out += _activation_bound(row) + _blas_gap(row)
        best = [
            (row[(p, "aligned")].median_s, p)
            for p in ("jax.jit", "torch", "autograd")
            if (p, "aligned") in row and row[(p, "aligned")].timed
        ]
        gen = row.get(("sbp", "user"))
        if best and gen is not None and gen.timed:
            t, p = min(best)
            out.append(
                f"  - for reference: the fastest framework ({p}) takes {t / gen.median_s:.2f}× "
                "the time of `gradients(p, x, t)`"
            )
    return out


def _activation_bound(row) -> list[str]:
    """For a GEMM-bound case, what the products and the activations alone take (not a target:
    the least any NumPy code computing the net can take against the floor)."""
    bound, floor = row.get(("floor.act", "aligned")), row.get(("floor", "aligned"))
    if bound is None or floor is None or not (bound.timed and floor.timed):
        return []
    return [
        f"  - for reference: the products and the forward's activations alone (the module's own "
        f"kernels; no bias, f′ or δ) take {_ratio_text(bound, floor)} NumPy's floor"
    ]


def _blas_gap(row) -> list[str]:
    """For a GEMM-bound case, how torch's BLAS compares with NumPy's (not a target)."""
    floor, theirs, torch = (row.get((k, "aligned")) for k in ("floor", "floor.torch", "torch"))
    if not all(r is not None and r.timed for r in (floor, theirs, torch)):
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
                "layout": r.layout,
                "median_s": r.median_s,
                "min_s": r.min_s,
                "max_s": r.max_s,
                "rounds_s": r.rounds,
                "paired_ratios": {
                    f"{peer} ({layout})": v for (peer, layout), v in r.paired.items()
                },
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
    """Time relative to the GEMM floor per case, dtype and peer, on a user's data (log scale);
    False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    groups = [
        (key, row)
        for key, row in _grouped(results).items()
        if ("floor", "aligned") in row and row[("floor", "aligned")].timed
    ]
    if not groups:
        return False
    titles = _titles()

    def timed(peer, row):
        r = row.get((peer, "user")) or row.get((peer, "aligned"))
        return r if r is not None and r.timed else None

    # only the peers this run timed somewhere (a missing library gets no legend entry)
    peers = [
        k for k in titles if not k.startswith("floor") and any(timed(k, row) for _, row in groups)
    ]
    colours = plt.get_cmap("tab20").colors
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(groups)), 5.4))
    width = 0.8 / len(peers)
    for i, peer in enumerate(peers):
        xs, ys = [], []
        for g, (_, row) in enumerate(groups):
            r = timed(peer, row)
            if r is not None:
                xs.append(g + (i - len(peers) / 2 + 0.5) * width)
                ys.append(r.median_s / row[("floor", "aligned")].median_s)
        colour = colours[(2 * i) % len(colours) + (2 * i) // len(colours) % 2]
        ax.bar(xs, ys, width, label=titles[peer].replace("`", ""), color=colour)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylabel("time / GEMM-only floor (log)")
    ax.set_xticks(range(len(groups)))
    # one word a line (case, activation, batch, dtype), so that neighbouring labels never meet
    ax.set_xticklabels(
        ["\n".join(label.split(" ") + [dtype]) for (label, dtype), _ in groups], fontsize=7
    )
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Full gradient time relative to the GEMM floor (lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True

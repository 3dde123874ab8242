"""Cost of derivation + code generation against network size, and its growth exponent.

Unit level: n-n-n sigmoid nets (one bias per unit) of growing n, timed from the layered builder
through ``derive`` to the formatted, audited module text. Layer level: the benchmark cases, timed
through ``derive_layers`` and, when this checkout has one, the layer code generator. The
exponent is the least-squares slope of log(time) against log(parameters) over the sizes from
the third on (the smallest ones measure fixed costs).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from nets import CASES, Case

UNIT_SIZES_FULL = (4, 8, 12, 16, 24, 32, 48, 64, 72)  # 72-72-72 has 10,512 parameters
UNIT_SIZES_QUICK = (4, 6, 8, 12, 16)


@dataclass(frozen=True)
class Timing:
    label: str
    params: int
    derive_s: float
    codegen_s: float  # None-like: nan when there is no code generator

    @property
    def total_s(self) -> float:
        return self.derive_s + (0.0 if math.isnan(self.codegen_s) else self.codegen_s)


def unit_timing(n: int, budget_s: float) -> Timing | None:
    from symbackprop.codegen.unit import generate_module
    from symbackprop.derivation.unit import derive
    from symbackprop.model.layered import LayerSpec, build_layered

    start = time.perf_counter()
    layers = [LayerSpec(n, "sigmoid", "unit"), LayerSpec(n, "sigmoid", "unit")]
    network = build_layered(name="scale", inputs=n, layers=layers, notation="mazur")
    derivation = derive(network)
    mid = time.perf_counter()
    generate_module(derivation, source="scale")
    end = time.perf_counter()
    return Timing(f"{n}-{n}-{n}", len(network.params), mid - start, end - mid)


def layer_timing(case: Case) -> Timing:
    from generated import find_layer_generator, layer_net
    from symbackprop.derivation.layer import derive_layers

    start = time.perf_counter()
    derivation = derive_layers(layer_net(case))
    mid = time.perf_counter()
    generate = find_layer_generator()
    codegen = math.nan
    if generate is not None:
        generate(derivation, source="scale")
        codegen = time.perf_counter() - mid
    return Timing(case.name, case.n_params, mid - start, codegen)


def growth_exponent(timings: list[Timing]) -> float:
    points = [(math.log(t.params), math.log(t.total_s)) for t in timings[2:] if t.total_s > 0]
    if len(points) < 2:
        return math.nan
    mx = sum(p for p, _ in points) / len(points)
    my = sum(q for _, q in points) / len(points)
    num = sum((p - mx) * (q - my) for p, q in points)
    den = sum((p - mx) ** 2 for p, _ in points)
    return num / den


def run(quick: bool, log) -> dict:
    """Unit-level sweep (stops growing past ``limit_s`` per size) and layer-level cases."""
    limit_s = 20.0 if quick else 60.0
    unit: list[Timing] = []
    for n in UNIT_SIZES_QUICK if quick else UNIT_SIZES_FULL:
        timing = unit_timing(n, limit_s)
        unit.append(timing)
        log(
            f"  unit {timing.label}: {timing.params} params, derive {timing.derive_s:.2f} s, "
            f"codegen {timing.codegen_s:.2f} s"
        )
        if timing.total_s > limit_s:
            log("  (stopping the sweep: past the time limit)")
            break
    layer: list[Timing] = []
    seen = set()
    for case in CASES:
        if case.name in seen or case.n_params < 100:
            continue
        seen.add(case.name)
        timing = layer_timing(case)
        layer.append(timing)
        log(
            f"  layer {timing.label}: derive {timing.derive_s:.3f} s, codegen "
            f"{'n/a' if math.isnan(timing.codegen_s) else f'{timing.codegen_s:.2f} s'}"
        )
    return {"unit": unit, "layer": layer, "exponent": growth_exponent(unit)}

"""Resource budgets: estimate a job's memory and time before starting it, refuse what won't fit.

A job too large for the machine should stop at once with exit 5 and the limit it would break,
not after minutes with a ``MemoryError``. Callers estimate from the sizes alone (parameter
count, batch, points, evaluations) with the per-item costs below, measured on this code, and
call :func:`require`. The memory limit is ``--max-memory`` (default: half the machine's
physical memory); the time limit is what is left of ``--max-seconds`` (the running alarm).
The per-item times are the optimistic end of what was measured, so a refusal means the job is
clearly too large; the alarm still stops anything that was merely estimated to fit.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from symbackprop.check.subrun import remaining_seconds
from symbackprop.errors import ResourceLimit

BASELINE_BYTES = 300e6  # the interpreter with SymPy and NumPy loaded, plus the child process
MPF_BYTES = 250  # one 30-digit mpmath number and its list slot (measured: about 224 + 8)
MPF_SECONDS = 3e-6  # one mpmath multiply-add at 30 digits (measured: about 9e-6 all told)
FLOP_SECONDS = 1e-10  # NumPy's matmul, optimistic
CALL_SECONDS = 5e-6  # one NumPy call on small arrays
LAYER_SECONDS = 0.05  # deriving, printing and formatting one layer of a layer-level module

_configured: float | None = None
_max_ops: int | None = None  # the running command's --max-ops, while it loads its spec
_UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


def default_max_memory() -> float:
    """Half the machine's physical memory (or 4 GB when the system does not say)."""
    try:
        return 0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4e9


def parse_memory(text: str) -> float:
    """``--max-memory`` as bytes: a number with an optional k, M, G or T (powers of 1000)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]?)b?\s*", text, re.I)
    value = float(match[1]) * _UNITS[match[2].lower()] if match else math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"not a memory size: {text!r} (e.g. 8G, 500M)")
    return value


def set_max_memory(value: float | None) -> None:
    """The command's ``--max-memory`` (None: the default)."""
    global _configured
    _configured = value


def max_memory() -> float:
    return _configured if _configured is not None else default_max_memory()


def format_bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / 1e3:.3g} kB"


def require(what: str, *, memory: float, seconds: float) -> None:
    """Raise :class:`ResourceLimit` when ``what`` needs more than the limits allow."""
    limit = max_memory()
    needed = memory + BASELINE_BYTES
    if needed > limit:
        raise ResourceLimit(
            f"{what} needs about {format_bytes(needed)}, over the memory limit of "
            f"{format_bytes(limit)} (--max-memory)",
            hint="a smaller network, or raise --max-memory if the machine has it",
        )
    left = remaining_seconds()
    if left is not None and seconds > left:
        raise ResourceLimit(
            f"{what} needs about {seconds:.0f} s, over the {left:.0f} s left of --max-seconds",
            hint="a smaller network, or raise --max-seconds",
        )


def layer_params(sizes) -> int:
    """W and b of every layer of a layer-level net with these sizes (inputs first)."""
    return sum(sizes[i] * sizes[i - 1] + sizes[i] for i in range(1, len(sizes)))


def require_layer_codegen(what: str, sizes) -> None:
    """Deriving and generating a layer-level module: time grows with the depth."""
    require(what, memory=0.0, seconds=LAYER_SECONDS * (len(sizes) - 1))


def operations_refused(name: str, limit: int, *, level: str) -> ResourceLimit:
    """The refusal of a network over ``--max-ops`` (the one wording, counted or estimated)."""
    hint = "raise --max-ops; derivation time grows faster than the network"
    if level == "unit":
        hint += ', or read it at level = "layer" (BP1-BP4 per layer)'
    return ResourceLimit(f"network '{name}' has more than {limit} operations", hint=hint)


@contextmanager
def operation_limit(limit: int | None) -> Iterator[None]:
    """While a command loads its spec, hold unit-level layered nets to ``--max-ops`` before they
    are built (:func:`require_layered_unit_operations`); other callers build without a limit."""
    global _max_ops
    before, _max_ops = _max_ops, limit
    try:
        yield
    finally:
        _max_ops = before


def layered_unit_operations(widths: Sequence[int]) -> int:
    """A lower bound of the operations ``--max-ops`` counts in a fully connected net at unit
    level, inputs first: every weight is one term ``w*a`` (three nodes: the product and its two
    symbols) of its unit's sum; biases, activations and the loss only add to it."""
    return sum(3 * widths[i] * widths[i - 1] for i in range(1, len(widths)))


def require_layered_unit_operations(name: str, widths: Sequence[int]) -> None:
    """Refuse before building, in O(depth), a unit-level net whose weights alone are over the
    running command's ``--max-ops``: building 784-30-10 at unit level takes seconds, only to be
    refused by the exact count. Under the bound the exact count after building decides."""
    if _max_ops is not None and layered_unit_operations(widths) > _max_ops:
        raise operations_refused(name, _max_ops, level="unit")

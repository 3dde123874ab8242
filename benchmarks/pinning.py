"""Thread pins for the benchmark runs, applied before NumPy, torch or JAX start their pools.

Imports nothing but the standard library, so that ``run.py`` can call it before NumPy is loaded.
"""

from __future__ import annotations

import os


def pin_threads(threads: int) -> list[int] | None:
    """Give every pool ``threads`` threads: the BLAS and OpenMP variables, XLA's Eigen flag,
    and, where there are more CPUs than that, this process's CPU affinity (Linux), which is what
    XLA's CPU client sizes its thread pool from: with ``--xla_cpu_multi_thread_eigen=false``
    alone it still ran its loop fusions and independent operations on two threads here (its CPU
    time 1.8x its wall time at one setting of one thread). Returns the CPUs kept, or None when
    the affinity was left alone. Must run before JAX makes its first array."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    flags = os.environ.get("XLA_FLAGS", "")
    multi = "true" if threads > 1 else "false"
    os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen={multi}"
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if threads >= len(cpus):
        return None
    os.sched_setaffinity(0, cpus[:threads])
    return cpus[:threads]

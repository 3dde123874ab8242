"""The cyclic garbage collector, paused while a burst of short-lived objects is made.

Code generation builds and drops millions of small objects (template output, black's syntax
trees, the audit's AST) while the derivation's SymPy expressions stay alive. Each collection the
burst triggers walks all of those live expressions again and frees nothing of them: at 10,000
parameters that is a quarter of the generation time. Reference counting still frees everything
the burst drops; cycles wait for the next collection after the pause.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused_gc():
    """Disable the cyclic collector inside the block; re-enable it if it was enabled before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

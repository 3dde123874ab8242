"""Runtime helpers every backend's module may use, as real source: plain Python, no library.

:mod:`codegen.backends` copies into a generated module the definitions it uses, after those of
the backend's own runtime file. Only names the backend audit allows (no ``.get``: on an array it
is CuPy's copy to the host).
"""


def _state_of(state, optimizer):
    """Refuse a ``state`` that ``<optimizer>_init(params)`` did not make (one TypeError): the
    old ``sgd_step(params, x, t)`` call would pass ``x`` as the state."""
    made = isinstance(state, dict) and "optimizer" in state
    if not made or state["optimizer"] != optimizer:
        got = state["optimizer"] if made else type(state)
        raise TypeError(f"state must be the dict that {optimizer}_init(params) returns, got {got}")

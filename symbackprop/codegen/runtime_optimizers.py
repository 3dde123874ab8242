"""Runtime helpers of the update rules, as real source, placed into modules of both levels.

The optimizer functions (:mod:`codegen.optimizers`) update parameters and state in place, so they
refuse, with one TypeError naming the argument, what cannot be updated in place (a Python float,
an integer array) and a state that is not the one their ``<name>_init`` returned (the old
``sgd_step(params, x, t)`` call passes ``x`` as the state). Nothing here may import anything but
NumPy.
"""

import numpy as np


def _updatable(params):
    """The update rules change each parameter in place, so each must be a float array (0-d at
    the unit level): a Python float or NumPy scalar would be replaced, not updated, and an integer
    array cannot hold p - lr * g (NumPy would refuse it halfway through the update)."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict name -> array, got {type(params)}")
    for name, p in params.items():
        if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
            kind = p.dtype if isinstance(p, np.ndarray) else type(p)
            raise TypeError(f"params[{name!r}] must be a float array to be updated, got {kind}")


def _state_of(state, optimizer):
    """Refuse a ``state`` that ``<optimizer>_init(params)`` did not make."""
    if not isinstance(state, dict) or state.get("optimizer") != optimizer:
        got = state.get("optimizer") if isinstance(state, dict) else type(state)
        raise TypeError(f"state must be the dict that {optimizer}_init(params) returns, got {got}")

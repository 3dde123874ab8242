"""The ``--max-seconds`` limit: an alarm that no ``except Exception`` can swallow.

When the time is up, the SIGALRM handler raises :class:`TimeLimitExpired`, which derives from
``BaseException`` like ``KeyboardInterrupt``: the broad ``except Exception`` clauses in our code,
SymPy, black or jinja2 (which fall back to another, slower way of doing the same work) let it
through, and ``finally`` blocks and the writer's clean-up still run. The CLI turns it into exit 5.

A library that catches ``BaseException`` (or uses a bare ``except:``) and carries on would still
defeat a single alarm, so the timer keeps firing every :data:`REPEAT` seconds after it first
expires and raises again, until the limit's block ends. For :data:`GRACE` seconds it does not
raise while the expiry is already being handled (a ``finally`` or ``except`` clause run because
of it), so clean-up code such as the writer's removal of its temporary file is not interrupted;
after that it raises there too (``except BaseException: slow_fallback()``).

Signal handlers run only between bytecodes: C code that never returns to the interpreter (an
integer power with a huge exponent, mpmath at huge precision) is not stopped by this; such inputs
are bounded where they are parsed and evaluated instead (:mod:`spec.exprparse`,
:mod:`derivation.evaluate`).
"""

from __future__ import annotations

import signal
import sys
import time
from contextlib import contextmanager

from symbackprop.errors import EXIT_LIMIT

REPEAT = 0.25  # seconds between alarms once the limit has passed
GRACE = 0.5  # seconds that clean-up run because of the expiry has before it is interrupted
LONGEST = 1e9  # seconds (31 years): setitimer overflows near 1e10, and no job needs longer


class TimeLimitExpired(BaseException):
    """``--max-seconds`` has passed (exit 5). Not an ``Exception``: see the module docstring."""

    exit_code = EXIT_LIMIT

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"gave up after {seconds:g} s (raise --max-seconds)")


def _handling_expiry() -> bool:
    """True inside an ``except``/``finally`` clause that runs because the limit expired."""
    error = sys.exc_info()[1]
    while error is not None:
        if isinstance(error, TimeLimitExpired):
            return True
        error = error.__context__
    return False


@contextmanager
def time_limit(seconds: float):
    """Raise :class:`TimeLimitExpired` in the main thread when the body runs past ``seconds``,
    and again every :data:`REPEAT` seconds until the body ends. ``seconds`` not in
    (0, :data:`LONGEST`): no limit (the CLI refuses such values before it gets here)."""
    if not 0 < seconds < LONGEST or not hasattr(signal, "SIGALRM"):
        yield
        return
    active, first = True, []

    def expired(signum, frame):
        if not active:
            return
        now = time.monotonic()
        first[:] = first or [now]
        if now - first[0] < GRACE and _handling_expiry():
            return
        raise TimeLimitExpired(seconds)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT)
    try:
        yield
    finally:
        active = False  # an alarm already pending when the timer stops does nothing
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

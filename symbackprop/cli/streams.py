"""Standard output of the command line, and what happens when it cannot be written.

Closed (``>&-``), a full disk (``>/dev/full``) or a pipe whose reader stopped (``| head -1``):
the command still runs to the end and its exit code is kept when it is not 0 (a wrong claim
stays 3), else it becomes 2; one line on stderr says why, except for the stopped reader. No
traceback, and no "Exception ignored" when Python flushes stdout at exit.
"""

from __future__ import annotations

import errno
import os
import sys

from symbackprop.errors import EXIT_INVALID, EXIT_OK

# The first error writing standard output, kept so the command can finish and report its own exit
# code: a wrong verdict piped into `head -1` must still exit 3, not die as a BrokenPipeError.
_error: OSError | None = None


def reset() -> None:
    """Forget an earlier failure (the command line can run several times in one process)."""
    global _error
    _error = None


def failed(error: OSError) -> None:
    """Note a failure to write standard output (the first one counts)."""
    global _error
    _error = _error or error


def say(message: str) -> None:
    """Print one line of the command's output; after a failure, print nothing more."""
    if _error is not None:
        return
    if sys.stdout is None:  # started with stdout closed (`>&-`): print() would drop the text
        failed(OSError(errno.EBADF, "standard output is closed"))
        return
    try:
        print(message)
    except OSError as error:
        failed(error)


def finish(code: int) -> int:
    """Flush standard output; after a failure to write it, one line (none for a closed pipe)
    and the command's own exit code if it is not 0, else 2."""
    global _error
    error, _error = _error, None
    if error is None and sys.stdout is not None:
        try:
            sys.stdout.flush()
        except OSError as flush_error:
            error = flush_error
    if error is None:
        return code
    _drop()
    if error.errno != errno.EPIPE:  # a reader that stopped early (`| head -1`) is no news
        reason = error.strerror or str(error)
        print(f"symbackprop: error: cannot write standard output: {reason}", file=sys.stderr)
    return code if code != EXIT_OK else EXIT_INVALID


def _drop() -> None:
    """Send what is still buffered for stdout to /dev/null, so the flush at exit cannot fail
    again and print a traceback-like 'Exception ignored' message."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # no real file descriptor (tests, closed)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until the process ends
    finally:
        os.close(devnull)

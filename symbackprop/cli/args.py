"""Parsing the command line's options: allowed ranges, and errors in one line.

Every numeric option has a range; a value outside it (``--digits 0``, ``--max-seconds nan``,
``--seed -1``) is exit 2 with a message naming the range, in the one-line format of every other
error (argparse would print its usage first).
"""

from __future__ import annotations

import argparse
import math

from symbackprop.errors import EXIT_INVALID

# Ranges of the numeric options. Numbers are evaluated at 40 digits (evaluate.PRECISION) and
# rounded with decimal's default context, which holds 28; a day is more than any job needs.
DIGITS = (1, 28)
POINTS = (1, 1000)
SEED = (0, 2**32 - 1)  # what numpy's legacy and default generators both accept
MAX_OPS_RANGE = (1, 10**9)
MAX_SECONDS = 86_400.0


class Parser(argparse.ArgumentParser):
    """argparse with the one-line error format of every other error (still exit 2)."""

    def error(self, message: str):
        self.exit(EXIT_INVALID, f"symbackprop: error: {message} (see '{self.prog} --help')\n")


def integer(low: int, high: int):
    """An argparse type: an integer from ``low`` to ``high``, else a message giving the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be an integer from {low} to {high}, not {text!r}"
            )
        return value

    return parse


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, more than 0 and at most MAX_SECONDS."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds above 0 and at most {MAX_SECONDS:g}, not {text!r}"
        )
    return value


def memory(text: str) -> float:
    """An argparse type: a size in bytes such as ``8G`` or ``512M`` (see budget.parse_memory)."""
    from symbackprop.budget import parse_memory

    try:
        return parse_memory(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None

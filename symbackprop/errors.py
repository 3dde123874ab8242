"""Errors with the exit codes of the command line.

Every error the user can cause is a :class:`SymbackpropError` subclass carrying its exit code.
The CLI prints ``str(error)`` as one line on stderr and exits with ``error.exit_code``; nothing
else in the package prints. Messages name the file, the line (when there is one), the thing that
is wrong and a hint, e.g. ``spec.toml:12: unknown activation 'relu6x' (known: linear, relu, ...)``.

Exit codes (DESIGN.md): 0 ok, 1 internal error, 2 invalid input, 3 a claim is wrong,
4 refused to overwrite, 5 resource limit, 6 pdflatex failed, 7 a claim is undecided (verify
could not decide it within its resource limit, and no claim is wrong or unreadable).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INVALID = 2
EXIT_CLAIM_WRONG = 3
EXIT_REFUSED = 4
EXIT_LIMIT = 5
EXIT_PDFLATEX = 6
EXIT_UNDECIDED = 7


class SymbackpropError(Exception):
    """Base class: an error the user can act on; ``exit_code`` is what the CLI returns."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class InvalidInput(SymbackpropError):
    """A spec, a claim, a name or an option is not acceptable (exit 2)."""

    exit_code = EXIT_INVALID


class RefusedOverwrite(SymbackpropError):
    """An output file exists and was not written by us, or was edited since (exit 4)."""

    exit_code = EXIT_REFUSED


class ResourceLimit(SymbackpropError):
    """A size, depth, time or operation-count limit was hit (exit 5)."""

    exit_code = EXIT_LIMIT


class PdflatexFailed(SymbackpropError):
    """pdflatex ran and failed or timed out (exit 6); the .tex is kept, no PDF is written."""

    exit_code = EXIT_PDFLATEX

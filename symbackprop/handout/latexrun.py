"""Run pdflatex on a handout in a sandbox and return the PDF.

Handout text carries user strings (titles, notes), so pdflatex is treated as running untrusted
input. Each compile happens in a fresh temporary directory that is also the only place kpathsea
lets TeX read or write by name (``openin_any=p``, ``openout_any=p``, ``TEXMFOUTPUT``): TeX can
still load packages from its own tree, but ``\\input{/etc/passwd}`` and ``\\openout`` to
``../x`` are refused. Shell escape is off twice over (``-no-shell-escape`` and
``shell_escape=f``). pdflatex runs in its own process group under a deadline, so a document that
loops forever (``\\def\\x{\\x}\\x``) is killed together with anything it started.

Environment: ``SYMBACKPROP_PDFLATEX`` picks the executable (empty: behave as if none is
installed); ``SYMBACKPROP_PDFLATEX_TIMEOUT`` overrides the timeout in seconds.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path

from symbackprop.errors import InvalidInput, PdflatexFailed

_JOB = "handout"
_MAX_ERROR_LINES = 10
_TIMEOUT_HINT = (
    "the document may loop forever; set SYMBACKPROP_PDFLATEX_TIMEOUT (seconds) to allow more time"
)
_FAILED_HINT = "the .tex file is kept; no PDF was written"


def find_pdflatex() -> str | None:
    """Locate the pdflatex executable.

    Returns:
        The path from ``SYMBACKPROP_PDFLATEX`` if set (None if it is empty or not executable),
        else pdflatex on ``PATH``, else None.
    """
    chosen = os.environ.get("SYMBACKPROP_PDFLATEX")
    if chosen is None:
        return shutil.which("pdflatex")
    # Empty means "pretend pdflatex is missing", which is how tests reach that branch.
    return shutil.which(chosen) if chosen else None


def _timeout(default: float) -> float:
    raw = os.environ.get("SYMBACKPROP_PDFLATEX_TIMEOUT")
    if raw is None:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidInput(
            f"SYMBACKPROP_PDFLATEX_TIMEOUT={raw!r} is not a positive number of seconds"
        )
    return seconds


def _error_lines(log: Path) -> list[str]:
    """Collect the lines starting with ``!`` and the line after each, at most a few."""
    found: list[str] = []
    take_next = False
    with suppress(OSError), log.open(encoding="utf-8", errors="replace") as lines:
        # Streamed: a runaway document can leave a log far too big to read at once.
        for line in lines:
            line = line.rstrip()
            if line.startswith("!") or (take_next and line):
                found.append(line)
            take_next = line.startswith("!")
            if len(found) >= _MAX_ERROR_LINES:
                break
    return found


def _tail(path: Path, count: int = 3) -> list[str]:
    """The last few non-empty lines of pdflatex's terminal output, for when no log exists."""
    with suppress(OSError), path.open("rb") as stream:
        stream.seek(max(0, path.stat().st_size - 4096))
        text = stream.read().decode("utf-8", errors="replace")
        return [line.strip() for line in text.splitlines() if line.strip()][-count:]
    return []


def _run_once(command: list[str], workdir: Path, env: dict[str, str], deadline: float) -> int:
    """Run pdflatex once; kill its whole process group if the deadline passes."""
    # Terminal output goes to a file, not a pipe: a chatty loop cannot fill a pipe and stall.
    with (workdir / "pdflatex.out").open("ab") as out:
        proc = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,  # an error must never wait for an answer on a terminal
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group, so killpg also takes its children
        )
        try:
            return proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except BaseException:
            # Timeout or Ctrl-C. The leader is not reaped yet, so its group id cannot have been
            # reused by an unrelated process: killing the group is safe.
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise


# A box this much too wide or too high is a warning worth reading (TeX's own \\hfuzz is 0.1 pt).
BOX_TOLERANCE_PT = 1.0


def box_warnings(log: str, tolerance: float = BOX_TOLERANCE_PT) -> list[str]:
    """The log's overfull boxes wider or higher than ``tolerance`` points, and its underfull
    boxes (badness, not points: each one is a line TeX had to stretch too far)."""
    found = []
    for line in log.splitlines():
        m = re.match(r"Overfull \\[hv]box \(([0-9.]+)pt too (wide|high)\)", line)
        if (m and float(m.group(1)) > tolerance) or line.startswith("Underfull \\"):
            found.append(line.strip())
    return found


def compile_pdf(tex: str, *, timeout: float = 120.0, runs: int = 2) -> bytes:
    """Compile a LaTeX document in a sandbox; the PDF (see :func:`compile_with_log`)."""
    return compile_with_log(tex, timeout=timeout, runs=runs)[0]


def compile_with_log(tex: str, *, timeout: float = 120.0, runs: int = 2) -> tuple[bytes, str]:
    """Compile a LaTeX document in a sandboxed temporary directory; the PDF and the last run's
    log.

    Args:
        tex: The complete document.
        timeout: Seconds allowed for all runs together; ``SYMBACKPROP_PDFLATEX_TIMEOUT``, when
            set, takes precedence so tests and users can change it without touching callers.
        runs: How often to run pdflatex (the second run resolves references).

    Returns:
        The bytes of the PDF, and the text of pdflatex's log.

    Raises:
        PdflatexFailed: If pdflatex is missing, fails, times out or produces no PDF; the
            message holds the ``!`` lines of the log.
        InvalidInput: If ``SYMBACKPROP_PDFLATEX_TIMEOUT`` is not a positive number.
    """
    seconds = _timeout(timeout)
    pdflatex = find_pdflatex()
    if pdflatex is None:
        raise PdflatexFailed("pdflatex not found", hint="install TeX Live or set PATH")
    command = [
        pdflatex,
        "-no-shell-escape",
        "-interaction=nonstopmode",
        "-halt-on-error",
        f"-jobname={_JOB}",
        f"{_JOB}.tex",
    ]
    with tempfile.TemporaryDirectory(prefix="symbackprop-tex-") as name:
        workdir = Path(name)
        # Environment variables override texmf.cnf, whatever the system default is.
        env = dict(os.environ, openin_any="p", openout_any="p", shell_escape="f")
        env["TEXMFOUTPUT"] = name
        # A fixed date makes the PDF's bytes depend on the .tex only (no creation timestamp).
        env["SOURCE_DATE_EPOCH"] = "0"
        env["FORCE_SOURCE_DATE"] = "1"
        (workdir / f"{_JOB}.tex").write_text(tex, encoding="utf-8")
        deadline = time.monotonic() + seconds
        for _ in range(max(1, runs)):
            try:
                code = _run_once(command, workdir, env, deadline)
            except subprocess.TimeoutExpired:
                raise PdflatexFailed(
                    f"pdflatex timed out after {seconds:g} s", hint=_TIMEOUT_HINT
                ) from None
            except OSError as error:
                raise PdflatexFailed(
                    f"cannot run '{pdflatex}': {error.strerror or error}",
                    hint="install TeX Live or set SYMBACKPROP_PDFLATEX",
                ) from error
            if code != 0:
                details = _error_lines(workdir / f"{_JOB}.log") or _tail(workdir / "pdflatex.out")
                raise PdflatexFailed(
                    f"pdflatex failed (exit {code}): " + " | ".join(details), hint=_FAILED_HINT
                )
        try:
            pdf = (workdir / f"{_JOB}.pdf").read_bytes()
        except FileNotFoundError:
            raise PdflatexFailed(
                "pdflatex produced no PDF (the document has no pages)", hint=_FAILED_HINT
            ) from None
        # The writer's stamp goes before the last startxref (writer.stamp_pdf): a file without
        # one is no complete PDF, whatever pdflatex's exit code said.
        if not pdf.startswith(b"%PDF-") or b"\nstartxref" not in pdf[-4096:]:
            raise PdflatexFailed("pdflatex wrote an incomplete PDF", hint=_FAILED_HINT)
        log_path = workdir / f"{_JOB}.log"  # a pdflatex that keeps no log gives an empty one
        log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
        return pdf, log

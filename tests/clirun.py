"""Running ``symbackprop`` in-process for the tests, and what they check of every run.

``run`` drives ``cli.main`` with pytest's ``capsys``; ``one_line_error`` asserts the error
contract of DESIGN.md (one line on stderr, no traceback); ``snapshot`` records every file under
a directory so a test can assert that nothing was written.
"""

from __future__ import annotations

import time
from pathlib import Path

from symbackprop.cli import commands as cli


def run_timed(capsys, *args: str) -> tuple[int, str, str, float]:
    """``symbackprop ARGS`` in-process: (exit code, stdout, stderr, seconds of this process's
    CPU time: the work done, not the waits for a core that other test workers share)."""
    capsys.readouterr()
    start = time.process_time()
    code = cli.main(list(args))
    seconds = time.process_time() - start
    out, err = capsys.readouterr()
    return code, out, err, seconds


def run(capsys, *args: str) -> tuple[int, str, str]:
    """``symbackprop ARGS`` in-process: (exit code, stdout, stderr)."""
    return run_timed(capsys, *args)[:3]


def one_line_error(err: str) -> str:
    """The one line of a refused command's stderr (no traceback), returned for its message."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("symbackprop: error: "), err
    return lines[0]


def snapshot(root: Path) -> dict[str, bytes]:
    """The bytes of every file under ``root``."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }

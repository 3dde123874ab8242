"""Every row of BAD_INPUTS.md has at least one test whose id names it (``rowNN-…``).

Rows 1-40 live in ``test_bad_inputs.py``, rows 41-51 in the ``test_security_*.py`` files, by
topic (exec, io, limits, check, numerics, names). This test reads the test sources, so a row
whose tests are deleted or renamed fails here rather than silently dropping out.
"""

from __future__ import annotations

import re
from pathlib import Path

ROWS = 51  # BAD_INPUTS.md's rows
TESTS = Path(__file__).resolve().parent


def test_every_row_has_a_test():
    text = "\n".join(
        p.read_text(encoding="utf-8")
        for p in sorted(TESTS.glob("test_*.py"))
        if p.name != Path(__file__).name
    )
    found = {int(n) for n in re.findall(r"row(\d\d)[-_]", text)}
    missing = [n for n in range(1, ROWS + 1) if n not in found]
    assert not missing, f"BAD_INPUTS.md rows without a test: {missing}"

"""The README's Python example runs unchanged, and its outputs agree with the CLI's."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks(section: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, re.S)


def test_from_python_example_runs(capsys):
    blocks = _python_blocks("From Python")
    assert blocks
    scope: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), scope)  # noqa: S102 - our own README
    out = capsys.readouterr().out
    assert scope["report"].ok
    assert scope["layer"].level == "layer"
    # the printed derivation is the same text `derived(...).text()` gives
    assert str(scope["d"]) in out
    # the module text names the gradients function, as every generated module does
    assert "def gradients(" in scope["source"]

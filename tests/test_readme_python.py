"""Every fenced ``python`` block of the README runs unchanged, in order, in one namespace (as a
reader pastes them into one session), in an empty working directory, after the ``symbackprop``
commands of the ``sh`` blocks before it (as a reader runs them: e.g. the one that writes the module
a block imports); what it prints and writes agrees with the commands' output."""

from __future__ import annotations

import re
from pathlib import Path

from clirun import run

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[tuple[str, int, str]]:
    """(language, line number, code) of every ```python and ```sh block, in order, the fences'
    indentation removed."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"^( *)```(python|sh)\n(.*?)^\1```", text, re.S | re.M):
        indent = len(match.group(1))
        code = "".join(line[indent:] for line in match.group(3).splitlines(keepends=True))
        blocks.append((match.group(2), text.count("\n", 0, match.start()) + 2, code))
    return blocks


def _python_blocks() -> list[tuple[int, str]]:
    return [(line, code) for lang, line, code in _blocks() if lang == "python"]


def test_every_python_block_runs(tmp_path, monkeypatch, capsys):
    blocks = _python_blocks()
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # a module the commands wrote is imported from here
    scope: dict = {"__name__": "readme"}
    printed = []
    for lang, line, code in _blocks():
        if lang == "sh":  # the symbackprop commands (the install lines are for a fresh machine)
            for command in code.splitlines():
                if command.startswith("symbackprop "):
                    args = command.split("#")[0].split()[1:]
                    printed.append(capsys.readouterr().out)
                    assert run(capsys, *args)[0] == 0, command
            continue
        # blank lines up front: a traceback names the README's own line
        exec(compile("\n" * (line - 1) + code, str(README), "exec"), scope)  # noqa: S102
    out = "".join(printed) + capsys.readouterr().out
    code, cli_out, _ = run(capsys, "derive", "digits")

    # the printed derivation is what `symbackprop derive` prints for the same spec
    assert str(scope["d"]) in out
    assert scope["report"].ok and scope["verdicts"].ok
    assert str(scope["verdicts"]).splitlines()[0] == "line 1: correct (symbolic)"
    assert "def gradients(" in scope["source"]
    # the written files are the commands' stamped outputs, the module's body the text shown
    written = (tmp_path / "tiny.py").read_text(encoding="utf-8")
    assert written.startswith("# ") and written.endswith(scope["source"])
    assert "\\begin{document}" in (tmp_path / "tiny.tex").read_text(encoding="utf-8")
    assert scope["digits"].level == "layer"
    assert code == 0 and cli_out.rstrip("\n") == scope["digits"].text()

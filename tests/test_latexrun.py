"""Tests for handout.latexrun: pdflatex compiles, fails cleanly, times out, stays sandboxed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from symbackprop.errors import InvalidInput, PdflatexFailed
from symbackprop.handout import latexrun
from symbackprop.handout.latexrun import compile_pdf, find_pdflatex


def document(body: str) -> str:
    return "\\documentclass{article}\n\\begin{document}\n" + body + "\n\\end{document}\n"


def living_in_group(pgid: int, wait: float = 2.0) -> list[int]:
    """Pids of processes in a process group that are still alive (zombies do not count).

    Read from /proc, because an orphan that was killed stays a zombie in the group until init
    reaps it, and os.killpg(pgid, 0) counts zombies. SIGKILL is asynchronous, hence the wait.
    """
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to inspect process groups")
    deadline = time.monotonic() + wait
    while True:
        alive = []
        for stat_file in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                # Fields after the parenthesised command: state, ppid, pgrp, ...
                fields = stat_file.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    alive.append(int(stat_file.parent.name))
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


class RecordingTempDir(tempfile.TemporaryDirectory):
    """A TemporaryDirectory that remembers what was in it just before it is removed."""

    contents: list[list[str]] = []

    def cleanup(self) -> None:
        RecordingTempDir.contents.append(sorted(os.listdir(self.name)))
        super().cleanup()


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from an empty cwd and put pdflatex's temp dir under tmp_path/tmp."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setattr(latexrun.tempfile, "TemporaryDirectory", RecordingTempDir)
    RecordingTempDir.contents = []
    return tmp_path


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen]:
    """The processes compile_pdf starts, recorded so a test can check they are gone."""
    processes: list[subprocess.Popen] = []

    class RecordingPopen(subprocess.Popen):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            processes.append(self)

    monkeypatch.setattr(latexrun.subprocess, "Popen", RecordingPopen)
    return processes


# --- no pdflatex needed ---------------------------------------------------------------------


def test_find_pdflatex_honours_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX", "")
    assert find_pdflatex() is None
    with pytest.raises(PdflatexFailed, match="pdflatex not found") as caught:
        compile_pdf(document("x"))
    assert caught.value.exit_code == 6

    fake = tmp_path / "mytex"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX", str(fake))
    assert find_pdflatex() == str(fake)
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX", str(tmp_path / "missing"))
    assert find_pdflatex() is None


def test_fake_pdflatex_without_pdf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "mytex"
    fake.write_text("#!/bin/sh\necho 'fatal: something broke'\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX", str(fake))
    # No log was written, so the terminal output is what the user gets to see.
    with pytest.raises(PdflatexFailed, match=r"exit 3\): fatal: something broke"):
        compile_pdf(document("x"))


def test_hang_kills_whole_process_group(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, started: list[subprocess.Popen]
) -> None:
    # A stand-in pdflatex that starts a child and hangs: killing only the parent would leave
    # the child running, so this checks that the whole group goes.
    fake = tmp_path / "mytex"
    fake.write_text("#!/bin/sh\nsleep 600 &\nsleep 600\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX", str(fake))
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX_TIMEOUT", "1")
    try:
        with pytest.raises(PdflatexFailed, match="timed out after 1 s"):
            compile_pdf(document("x"))
        assert living_in_group(started[0].pid) == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started[0].pid, signal.SIGKILL)


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", ""])
def test_bad_timeout_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX_TIMEOUT", value)
    with pytest.raises(InvalidInput, match="SYMBACKPROP_PDFLATEX_TIMEOUT"):
        compile_pdf(document("x"))


def test_require_pdflatex_fixture(tmp_path: Path) -> None:
    # Run the real conftest in a separate pytest with pdflatex hidden: skip, or fail when required.
    here = Path(__file__).parent
    for name in ("conftest.py", "blackmemo.py"):  # the conftest and the module it imports
        (tmp_path / name).write_text((here / name).read_text())
    (tmp_path / "test_it.py").write_text("def test_it(require_pdflatex):\n    pass\n")
    repo = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, SYMBACKPROP_PDFLATEX="", PYTHONPATH=repo)
    env.pop("SYMBACKPROP_REQUIRE_PDFLATEX", None)
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "test_it.py"]
    skipped = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout, skipped.stdout
    env["SYMBACKPROP_REQUIRE_PDFLATEX"] = "1"
    failed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert failed.returncode == 1 and "1 error" in failed.stdout, failed.stdout


# --- with pdflatex --------------------------------------------------------------------------


def test_tiny_document_compiles(require_pdflatex: str, sandbox: Path) -> None:
    pdf = compile_pdf(
        document(
            r"Hello, $\delta^{2}_{j}$. See~\ref{eq}. \begin{equation}" r"x\label{eq}\end{equation}"
        )
    )
    assert pdf.startswith(b"%PDF")
    assert os.listdir(sandbox / "cwd") == [] and os.listdir(sandbox / "tmp") == []
    assert "handout.pdf" in RecordingTempDir.contents[0]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (r"\undefinedmacro", r"! Undefined control sequence\. \| l\.3 \\undefinedmacro"),
        (r"$x", r"! Missing \$ inserted"),
        ("", "produced no PDF"),
    ],
)
def test_error_shows_bang_lines(require_pdflatex: str, sandbox: Path, body: str, expected: str):
    with pytest.raises(PdflatexFailed, match=expected) as caught:
        compile_pdf(document(body))
    assert caught.value.exit_code == 6
    assert "\n" not in str(caught.value)  # errors are one line on stderr


def test_endless_loop_is_killed(
    require_pdflatex: str,
    sandbox: Path,
    monkeypatch: pytest.MonkeyPatch,
    started: list[subprocess.Popen],
) -> None:
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX_TIMEOUT", "3")
    begin = time.monotonic()
    with pytest.raises(PdflatexFailed, match="timed out after 3 s"):
        compile_pdf(document(r"\def\x{\x}\x"))
    assert time.monotonic() - begin < 10
    assert len(started) == 1 and started[0].returncode is not None  # killed and reaped
    assert living_in_group(started[0].pid) == []  # nothing is left in its process group
    assert os.listdir(sandbox / "tmp") == []


@pytest.mark.parametrize(
    "reader",
    [
        r"\input{/etc/hostname}",
        r"^^5cinput{/etc/hostname}",
        r"\input{SECRET}",
        r"\input{../SECRET}",
        r"\newread\myread \openin\myread=SECRET \read\myread to\leaked \leaked",
    ],
)
def test_cannot_read_files_outside(require_pdflatex: str, sandbox: Path, reader: str) -> None:
    secret = sandbox / "tmp" / "secret.tex"  # the compile dir is sandbox/tmp/<random>
    secret.write_text("LEAKEDTEXT\n")
    reader = reader.replace("../SECRET", "../secret.tex").replace("SECRET", str(secret))
    with pytest.raises(PdflatexFailed) as caught:
        compile_pdf(document(reader))
    assert "LEAKEDTEXT" not in str(caught.value)
    assert "handout.pdf" not in RecordingTempDir.contents[0]


def test_shell_escape_is_off(require_pdflatex: str, sandbox: Path) -> None:
    # If the shell ran, PWNED exists in pdflatex's cwd and the document stops with an error.
    body = r"\immediate\write18{touch PWNED}\IfFileExists{PWNED}{\errmessage{PWNED exists}}{}ok"
    assert compile_pdf(document(body)).startswith(b"%PDF")
    assert "PWNED" not in RecordingTempDir.contents[0]
    assert list(sandbox.rglob("PWNED")) == []


def test_cannot_write_files_outside(require_pdflatex: str, sandbox: Path) -> None:
    body = r"\newwrite\out \immediate\openout\out=../escaped.txt \immediate\write\out{x}ok"
    with pytest.raises(PdflatexFailed):
        compile_pdf(document(body))
    assert list(sandbox.rglob("escaped.txt")) == []

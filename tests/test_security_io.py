"""Outputs that must not be lost, CLI numbers out of range, and the standard streams.

BAD_INPUTS rows 42 (the PDF protected like every other output; ``-o X.pdf``), 46 (numeric
options out of range) and 51 (claims that are binary, UTF-16, with a byte-order mark or CRLF;
stdout closed, full, or a pipe closed early), and issue item 3 (symbolic links as targets,
backups that are never replaced). Ids ``row42-...``, ``row46-...``, ``row51-...``, ``item3-...``.

The CLI runs in-process (``cli.main``) where it can; the stream cases that need a real file
descriptor 1 (closed, /dev/full, a pipe) run ``python -m symbackprop`` in a subprocess. Most PDF
cases use a stand-in pdflatex that writes a PDF-shaped file carrying the checksum of the .tex it
was given (fast, and it shows which .tex a PDF came from); one test runs the real pdflatex and
checks the stamped PDF with poppler's tools.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mpmath
import pytest

from symbackprop import cli
from symbackprop.writer import pdf_made_from

CORRECT = "dE/dw5 = delta_o1*out_h1"  # Mazur's w5 gradient as in the tutorial
WRONG = "dE/dw5 = 2*delta_o1"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file (and where each link points) under ``root``."""
    found = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            found[name] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            found[name] = path.read_bytes()
        else:
            found[name] = b"<dir>"
    return found


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("symbackprop: error: "), err
    return lines[0]


def tex_digest(path: Path) -> str:
    """The digest a PDF's stamp should carry for the .tex at ``path`` (computed here, not by
    the writer)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    return tmp_path.resolve()  # as the CLI prints paths


@pytest.fixture
def fake_pdflatex(tmp_path, monkeypatch) -> None:
    """A pdflatex that writes a PDF-shaped file holding the checksum of handout.tex."""
    script = tmp_path.parent / f"{tmp_path.name}-bin" / "pdflatex"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\n"
        "{ printf '%%PDF-1.4\\n%% '; cksum < handout.tex; "
        "printf 'startxref\\n9\\n%%%%EOF\\n'; } > handout.pdf\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("SYMBACKPROP_PDFLATEX", str(script))


# -------------------------------------------------------------------------------------------
# Row 42 and item 3: the PDF is protected like every other output


@pytest.mark.parametrize("kind", [pytest.param("foreign", id="row42-foreign-pdf"),
                                  pytest.param("edited", id="row42-edited-pdf")])  # fmt: skip
def test_row42_pdf_not_ours_is_refused_then_kept_as_bak(workdir, capsys, fake_pdflatex, kind):
    pdf = workdir / "out/mazur.pdf"
    if kind == "foreign":
        pdf.write_bytes(b"%PDF-1.4\n% the user's own slides\n%%EOF\n")
    else:
        assert run(capsys, "handout", "mazur", "--out", "out")[0] == 0
        assert pdf_made_from(pdf.read_bytes()) == tex_digest(workdir / "out/mazur.tex")
        pdf.write_bytes(pdf.read_bytes().replace(b"PDF-1.4", b"PDF-1.7"))
    old = pdf.read_bytes()
    before = snapshot(workdir)

    code, out, err = run(capsys, "handout", "mazur", "--out", "out")
    assert code == 4, err
    line = one_line_error(err)
    assert "refusing to overwrite" in line and "mazur.pdf" in line and "--force" in line
    assert out == ""
    assert snapshot(workdir) == before  # checked before writing: not even the .tex is new

    code, out, err = run(capsys, "handout", "mazur", "--out", "out", "--force")
    assert code == 0, err
    assert (workdir / "out/mazur.pdf.bak").read_bytes() == old
    assert pdf_made_from(pdf.read_bytes()) == tex_digest(workdir / "out/mazur.tex")
    assert out.splitlines()[-1] == f"wrote {pdf}"


@pytest.mark.parametrize(
    ("args", "name"),
    [
        pytest.param(["-o", "notes.pdf"], "notes.pdf", id="row42-o-pdf"),
        pytest.param(["-o", "NOTES.PDF"], "NOTES.PDF", id="row42-o-pdf-upper-case"),
        pytest.param(["--out", "out", "-o", "sub/x.pdf"], "sub/x.pdf", id="row42-o-pdf-in-out"),
    ],
)
def test_row42_o_with_pdf_suffix_is_refused(workdir, capsys, fake_pdflatex, args, name):
    before = snapshot(workdir)
    code, _, err = run(capsys, "handout", "mazur", *args)
    assert code == 2
    line = one_line_error(err)
    assert f"-o names the .tex file, not the PDF: '{name}'" in line
    assert snapshot(workdir) == before


def test_row42_current_pdf_is_untouched_and_a_stale_one_rebuilt(workdir, capsys, fake_pdflatex):
    tex, pdf = workdir / "out/mazur.tex", workdir / "out/mazur.pdf"
    assert run(capsys, "handout", "mazur", "--out", "out")[1] == f"wrote {tex}\nwrote {pdf}\n"
    os.utime(pdf, (1_000_000_000, 1_000_000_000))
    code, out, _ = run(capsys, "handout", "mazur", "--out", "out")
    assert (code, out) == (0, f"unchanged {tex}\nunchanged {pdf}\n")
    assert pdf.stat().st_mtime == 1_000_000_000

    # The .tex changes while the PDF is not rebuilt; the next run must not call the PDF current.
    assert run(capsys, "handout", "mazur", "--out", "out", "--no-solutions", "--no-pdf")[0] == 0
    assert pdf_made_from(pdf.read_bytes()) != tex_digest(tex)
    code, out, _ = run(capsys, "handout", "mazur", "--out", "out", "--no-solutions")
    assert (code, out) == (0, f"unchanged {tex}\nwrote {pdf}\n")
    assert pdf_made_from(pdf.read_bytes()) == tex_digest(tex)
    assert not list(workdir.rglob("*.bak*"))  # our own PDFs are replaced without backups


def test_row42_stamped_pdf_is_valid(workdir, capsys, require_pdflatex):
    tools = [shutil.which(t) for t in ("pdfinfo", "pdftotext")]
    if None in tools:
        pytest.skip("poppler's pdfinfo/pdftotext are not installed")
    assert run(capsys, "handout", "mazur", "--out", "out")[0] == 0
    stamped = (workdir / "out/mazur.pdf").read_bytes()
    assert pdf_made_from(stamped) == tex_digest(workdir / "out/mazur.tex")
    # The stamp line sits before startxref, whose offset must still point at the xref section
    # (a table, or an xref stream object).
    offset = int(re.findall(rb"startxref\s+(\d+)", stamped)[-1])
    assert re.match(rb"xref|\d+ \d+ obj", stamped[offset:])
    # What pdflatex made is the stamped file without our one line; both read the same.
    original = re.sub(rb"%symbackprop tex-sha256:[0-9a-f]{16} sha256:[0-9a-f]{16}\n", b"", stamped)
    assert len(original) < len(stamped) and b"%symbackprop" not in original
    (workdir / "original.pdf").write_bytes(original)
    texts = []
    for name in ("out/mazur.pdf", "original.pdf"):
        info = subprocess.run(["pdfinfo", name], capture_output=True, text=True, timeout=60)
        assert info.returncode == 0 and info.stderr == "", info.stderr
        text = subprocess.run(["pdftotext", name, "-"], capture_output=True, text=True, timeout=60)
        assert text.returncode == 0 and text.stderr == "", text.stderr
        texts.append(text.stdout)
    assert texts[0] == texts[1] and "Backpropagation" in texts[0]


def test_item3_force_never_replaces_a_backup(workdir, capsys):
    target = workdir / "out/mazur.py"
    outside = workdir / "victim.txt"
    outside.write_text("not to be touched\n")
    target.write_text("# mine, first\n")
    assert run(capsys, "codegen", "mazur", "--out", "out", "--force")[0] == 0
    target.write_text("# mine, second\n")
    (workdir / "out/mazur.py.bak.2").symlink_to(outside)  # a taken name, even as a link
    code, _, err = run(capsys, "codegen", "mazur", "--out", "out")
    assert code == 4 and "the old file is kept as mazur.py.bak.1" in one_line_error(err)
    assert run(capsys, "codegen", "mazur", "--out", "out", "--force")[0] == 0
    target.write_text("# mine, third\n")
    assert run(capsys, "codegen", "mazur", "--out", "out", "--force")[0] == 0
    out = workdir / "out"
    assert (out / "mazur.py.bak").read_text() == "# mine, first\n"
    assert (out / "mazur.py.bak.1").read_text() == "# mine, second\n"
    assert (out / "mazur.py.bak.3").read_text() == "# mine, third\n"
    assert os.readlink(out / "mazur.py.bak.2") == str(outside)
    assert outside.read_text() == "not to be touched\n"


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        pytest.param(
            {"dl.tex": "nope/deeper/x.tex"},
            ["-o", "dl.tex"],
            "cannot write 'dl.tex': it is a symbolic link",
            id="item3-dangling-link-as-o",
        ),
        pytest.param(
            {"ln.tex": "real.tex"},
            ["-o", "ln.tex"],
            "cannot write 'ln.tex': it is a symbolic link",
            id="item3-link-to-a-file-as-o",
        ),
        pytest.param(
            {"lnk": "nope/deeper"},
            ["-o", "lnk/x.tex"],
            "the symbolic link",
            id="item3-dangling-directory-link",
        ),
        pytest.param(
            {"dl": "nope/deeper"},
            ["--out", "dl"],
            "points to nothing",
            id="item3-dangling-link-as-out",
        ),
        pytest.param(
            {"out/mazur.pdf": "../real.tex"},
            ["--out", "out"],
            "cannot write '{workdir}/out/mazur.pdf': it is a symbolic link",
            id="item3-pdf-beside-is-a-link",
        ),
    ],
)
def test_item3_symbolic_link_targets_are_refused(
    workdir, capsys, fake_pdflatex, setup, args, message
):
    (workdir / "real.tex").write_text("% my own notes\n")
    for link, points_to in setup.items():
        (workdir / link).symlink_to(workdir / points_to if "/" not in link else points_to)
    before = snapshot(workdir)
    code, _, err = run(capsys, "handout", "mazur", *args)
    assert code == 2
    assert message.format(workdir=workdir.resolve()) in one_line_error(err)
    assert snapshot(workdir) == before  # nothing written, no missing directory created
    assert not (workdir / "nope").exists()


# -------------------------------------------------------------------------------------------
# Row 46: numeric options out of range are exit 2 with the allowed range

SECONDS = "must be a number of seconds above 0 and at most 86400"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        *[
            pytest.param(["--max-seconds", v, "examples"], SECONDS, id=f"row46-max-seconds-{v}")
            for v in ("nan", "inf", "1e300", "0", "-1", "86401", "soon")
        ],
        *[
            pytest.param(
                ["derive", "mazur", "--digits", v],
                "must be an integer from 1 to 28",
                id=f"row46-digits-{v}",
            )
            for v in ("0", "100", "-3", "29", "1.5")
        ],
        pytest.param(
            ["handout", "mazur", "--digits", "0"],
            "must be an integer from 1 to 28",
            id="row46-handout-digits-0",
        ),
        *[
            pytest.param(
                ["check", "mazur", "--points", v],
                "must be an integer from 1 to 1000",
                id=f"row46-points-{v}",
            )
            for v in ("0", "-2", "1001")
        ],
        *[
            pytest.param(
                ["check", "mazur", "--seed", v],
                "must be an integer from 0 to 4294967295",
                id=f"row46-seed-{v}",
            )
            for v in ("-1", "4294967296", "1e3")
        ],
        *[
            pytest.param(
                ["--max-ops", v, "derive", "mazur"],
                "must be an integer from 1 to 1000000000",
                id=f"row46-ops-{v}",
            )
            for v in ("-5", "0", "10000000000000")
        ],
    ],
)
def test_row46_numbers_out_of_range(workdir, capsys, args, message):
    before = snapshot(workdir)
    code, out, err = run(capsys, *args)
    assert code == 2
    line = one_line_error(err)
    option = next(a for a in args if a.startswith("--"))
    assert f"argument {option}: {message}" in line
    assert out == "" and snapshot(workdir) == before


def _mazur_out_o1() -> mpmath.mpf:
    """out_o1 of Mazur's example, computed here with mpmath at 50 digits."""
    with mpmath.workdps(50):
        v = {k: mpmath.mpf(s) for k, s in dict(i1="0.05", i2="0.10", w1="0.15", w2="0.20",
             w3="0.25", w4="0.30", w5="0.40", w6="0.45", b1="0.35", b2="0.60").items()}  # fmt: skip
        sig = lambda z: 1 / (1 + mpmath.exp(-z))  # noqa: E731
        h1 = sig(v["w1"] * v["i1"] + v["w2"] * v["i2"] + v["b1"])
        h2 = sig(v["w3"] * v["i1"] + v["w4"] * v["i2"] + v["b1"])
        return sig(v["w5"] * h1 + v["w6"] * h2 + v["b2"])


@pytest.mark.parametrize("digits", [pytest.param(1, id="row46-digits-1"),
                                    pytest.param(28, id="row46-digits-28")])  # fmt: skip
def test_row46_digits_at_the_ends_of_the_range(capsys, digits):
    code, out, err = run(capsys, "derive", "mazur", "--digits", str(digits))
    assert code == 0, err
    printed = re.search(r"out_o1 = sigmoid\(net_o1\)\s+= (\S+)", out)[1]
    with mpmath.workdps(50):
        assert printed == mpmath.nstr(_mazur_out_o1(), digits, strip_zeros=False)


def test_row46_largest_values_are_accepted(capsys):
    code, _, err = run(
        capsys, "--max-seconds", "86400", "--max-ops", "1000000000",
        "check", "mazur", "--points", "1", "--seed", str(2**32 - 1),
    )  # fmt: skip
    assert code == 0, err


def test_row46_help_and_usage_errors_return_from_main(capsys):
    code, out, _ = run(capsys, "check", "--help")
    assert code == 0 and "--seed" in out
    code, _, err = run(capsys, "derive")
    assert code == 2 and "the following arguments are required: SPEC" in one_line_error(err)


# -------------------------------------------------------------------------------------------
# Row 51: reading claims (file or stdin) as UTF-8 text, or exit 2

LF = f"{CORRECT}\n{WRONG}\n".encode()
BINARY = b"\x89PNG\r\n\x1a\n" + random.Random(51).randbytes(300)
NOT_TEXT = [
    pytest.param(BINARY, "claims must be UTF-8 text (byte 0 is not)", id="binary"),
    pytest.param(LF.decode().encode("utf-16"), "but this is UTF-16", id="utf16"),
    pytest.param(b"caf\xe9 = 1\n", "claims must be UTF-8 text (byte 3 is not)", id="latin1"),
    pytest.param(LF + b"\0\1\2", f"(a NUL byte at {len(LF)})", id="nul"),
]
TEXT = [
    pytest.param(b"\xef\xbb\xbf" + LF, id="bom"),
    pytest.param(LF.replace(b"\n", b"\r\n"), id="crlf"),
    pytest.param(b"\xef\xbb\xbf" + LF.replace(b"\n", b"\r\n"), id="bom-crlf"),
    pytest.param(LF.replace(b"\n", b"\r"), id="cr"),
]


def _claims_via(how: str, data: bytes, workdir: Path, monkeypatch) -> str:
    if how == "file":
        (workdir / "claims.txt").write_bytes(data)
        return "claims.txt"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    return "-"


@pytest.fixture(scope="module")
def plain_verdicts(tmp_path_factory) -> str:
    """What verify prints for the claims with plain LF line ends, the reference."""
    path = tmp_path_factory.mktemp("plain") / "claims.txt"
    path.write_bytes(LF)
    out = io.StringIO()
    real, sys.stdout = sys.stdout, out
    try:
        assert cli.main(["verify", "mazur", str(path)]) == 3
    finally:
        sys.stdout = real
    return out.getvalue()


@pytest.mark.parametrize("how", ["file", "stdin"])
@pytest.mark.parametrize("data", TEXT)
def test_row51_bom_and_line_ends_read_as_text(
    workdir, capsys, monkeypatch, plain_verdicts, how, data
):
    claims = _claims_via(how, data, workdir, monkeypatch)
    code, out, err = run(capsys, "verify", "mazur", claims)
    assert (code, err) == (3, "")
    assert out == plain_verdicts


@pytest.mark.parametrize("how", ["file", "stdin"])
@pytest.mark.parametrize(("data", "message"), NOT_TEXT)
def test_row51_claims_that_are_not_utf8_text(workdir, capsys, monkeypatch, how, data, message):
    claims = _claims_via(how, data, workdir, monkeypatch)
    code, out, err = run(capsys, "verify", "mazur", claims)
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith(f"symbackprop: error: {'<stdin>' if how == 'stdin' else claims}: ")
    assert message in line


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        pytest.param(".", "claims file '.' is a directory", id="row51-directory"),
        pytest.param("-", "<stdin>: standard input is closed", id="row51-stdin-closed"),
    ],
)
def test_row51_unreadable_claims_source(workdir, capsys, monkeypatch, claims, message):
    monkeypatch.setattr(sys, "stdin", None)
    code, _, err = run(capsys, "verify", "mazur", claims)
    assert code == 2 and message in one_line_error(err)


# -------------------------------------------------------------------------------------------
# Row 51: stdout closed, full, or a pipe closed early: quiet, non-zero, the command's own code


class _FailingStdout(io.TextIOBase):
    def __init__(self, error: OSError):
        self.error = error

    def write(self, text: str) -> int:
        raise self.error


@pytest.mark.parametrize(
    ("error", "stderr"),
    [
        pytest.param(BrokenPipeError(errno.EPIPE, "Broken pipe"), "", id="row51-epipe"),
        pytest.param(
            OSError(errno.ENOSPC, "No space left on device"),
            "symbackprop: error: cannot write standard output: No space left on device\n",
            id="row51-enospc",
        ),
        pytest.param(
            None,
            "symbackprop: error: cannot write standard output: standard output is closed\n",
            id="row51-stdout-none",
        ),
    ],
)
@pytest.mark.parametrize(("claims", "code"), [(WRONG, 3), (CORRECT, 2)])
def test_row51_stdout_failures_in_process(
    workdir, capsys, monkeypatch, error, stderr, claims, code
):
    (workdir / "c.txt").write_text(claims + "\n")
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdout", None if error is None else _FailingStdout(error))
    assert cli.main(["verify", "mazur", "c.txt"]) == code  # 3 stays 3; 0 becomes 2
    assert capsys.readouterr().err == stderr


def _stderr_lines(data: bytes) -> list[str]:
    text = data.decode()
    assert "Traceback" not in text and "Exception ignored" not in text, text
    return text.splitlines()


@pytest.mark.parametrize(("claims", "code"), [pytest.param(WRONG, 3, id="row51-wrong-claims"),
                                             pytest.param(CORRECT, 2, id="row51-correct")])  # fmt: skip
@pytest.mark.parametrize("stream", ["closed", "dev-full", "pipe-closed-early"])
def test_row51_stdout_failures_in_a_real_process(tmp_path, claims, code, stream):
    (tmp_path / "c.txt").write_text(claims + "\n")
    argv = [sys.executable, "-m", "symbackprop", "verify", "mazur", "c.txt"]
    if stream == "closed":
        proc = subprocess.run(
            ["sh", "-c", 'exec "$@" >&-', "sh", *argv],
            cwd=tmp_path, stderr=subprocess.PIPE, timeout=300,
        )  # fmt: skip
        expected = ["symbackprop: error: cannot write standard output: standard output is closed"]
    elif stream == "dev-full":
        if not os.path.exists("/dev/full"):
            pytest.skip("no /dev/full")
        with open("/dev/full", "wb") as full:
            proc = subprocess.run(
                argv, cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, timeout=300
            )
        expected = ["symbackprop: error: cannot write standard output: No space left on device"]
    else:
        child = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        child.stdout.close()  # the reader is gone before anything is written
        _, err = child.communicate(timeout=300)
        proc = subprocess.CompletedProcess(argv, child.returncode, None, err)
        expected = []  # a reader that stopped is no news
    assert proc.returncode == code
    assert _stderr_lines(proc.stderr) == expected


def test_row51_verify_into_head_keeps_exit_3(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("needs bash for pipefail")
    (tmp_path / "c.txt").write_text(f"{WRONG}\n{WRONG}\n")
    proc = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$@" | head -1', "bash",
         sys.executable, "-m", "symbackprop", "verify", "mazur", "c.txt"],
        cwd=tmp_path, capture_output=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 3
    assert proc.stdout.decode().startswith("line 1: WRONG") and proc.stdout.count(b"\n") == 1
    assert _stderr_lines(proc.stderr) == []

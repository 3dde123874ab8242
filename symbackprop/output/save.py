"""Writing a module or a handout from Python as the commands write them.

Stamped with the do-not-edit header, checked before anything is written, written atomically
(:mod:`output.writer`); a handout's PDF is compiled only when asked, and only when the one
beside the ``.tex`` was not made from the same text.
"""

from __future__ import annotations

import os
from pathlib import Path

from symbackprop.errors import InvalidInput, PdflatexFailed
from symbackprop.output.outpath import resolve_inside
from symbackprop.output.stamps import pdf_is_current, stamp, stamp_pdf
from symbackprop.output.writer import check_all, write_all
from symbackprop.results import Written


def save_module(path: str | os.PathLike, text: str, *, source: str, force: bool) -> Written:
    """Write a generated module's text (without header) to ``path``, as ``codegen`` does."""
    target = resolve_inside(None, path)
    files = [(target, stamp(text, comment="#", source=source))]
    written = write_all(files, force=force)
    return Written((target,), tuple(written))


def save_handout(
    path: str | os.PathLike, text: str, *, source: str, pdf: bool, force: bool
) -> Written:
    """Write a handout's LaTeX (without header) to ``path``, and with ``pdf`` its PDF beside
    it, as ``handout`` does: both targets are checked before pdflatex runs, and when pdflatex
    fails the ``.tex`` is written (to look into) and the error raised."""
    from symbackprop.handout.latexrun import compile_pdf, find_pdflatex

    if Path(path).suffix.lower() == ".pdf":
        raise InvalidInput(
            f"the path names the .tex file, not the PDF: '{path}'",
            hint="give the .tex; with pdf=True the PDF is written beside it",
        )
    target = resolve_inside(None, path)
    tex = stamp(text, comment="%", source=source)
    files: list = [(target, tex)]
    pdf_path = target.with_suffix(".pdf") if pdf else None
    if pdf_path is not None and find_pdflatex() is None:
        raise PdflatexFailed(
            "pdflatex not found", hint="install TeX Live, or leave pdf=False for the .tex only"
        )
    check_all(files + ([(pdf_path, None)] if pdf_path else []), force=force)
    if pdf_path is not None and not pdf_is_current(pdf_path, tex):
        try:
            compiled = compile_pdf(tex)
        except PdflatexFailed:
            write_all(files, force=force)
            raise
        files.append((pdf_path, stamp_pdf(compiled, tex)))
    written = write_all(files, force=force)
    paths = (target,) if pdf_path is None else (target, pdf_path)
    return Written(paths, tuple(written))

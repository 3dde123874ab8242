"""Writing a module or a handout from Python as the commands write them.

Stamped with the do-not-edit header, checked before anything is written, written atomically
(:mod:`output.writer`); a handout's PDF is compiled only when asked, and only when the one
beside the ``.tex`` was not made from the same text.
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
    from symbackprop.handout.latexrun import find_pdflatex

    if Path(path).suffix.lower() == ".pdf":
        raise InvalidInput(
            f"the path names the .tex file, not the PDF: '{path}'",
            hint="give the .tex; with pdf=True the PDF is written beside it",
        )
    target = resolve_inside(None, path)
    tex = stamp(text, comment="%", source=source)
    pdf_path = target.with_suffix(".pdf") if pdf else None
    if pdf_path is not None and find_pdflatex() is None:
        raise PdflatexFailed(
            "pdflatex not found", hint="install TeX Live, or leave pdf=False for the .tex only"
        )
    files, written = write_tex_and_pdf(target, tex, pdf_path, force=force)
    paths = (target,) if pdf_path is None else (target, pdf_path)
    return Written(paths, tuple(written))


def write_tex_and_pdf(
    target: Path,
    tex: str,
    pdf_path: Path | None,
    *,
    force: bool,
    on_failure: Callable[[list, list], None] | None = None,
) -> tuple[list, list]:
    """Write the stamped ``tex`` to ``target`` and, when ``pdf_path`` is given, its PDF there,
    compiled unless the PDF there was made from the same text. Both targets are checked before
    pdflatex runs, so a refusal of either writes neither; when pdflatex fails, the ``.tex`` is
    written (to look into), ``on_failure(files, written)`` is told, and the error raised.
    Returns the (path, content) pairs and what :func:`write_all` wrote of them."""
    from symbackprop.handout.latexrun import compile_pdf

    files: list = [(target, tex)]
    check_all(files + ([(pdf_path, None)] if pdf_path else []), force=force)
    if pdf_path is not None and not pdf_is_current(pdf_path, tex):
        try:
            compiled = compile_pdf(tex)
        except PdflatexFailed:
            written = write_all(files, force=force)
            if on_failure is not None:
                on_failure(files, written)
            raise
        files.append((pdf_path, stamp_pdf(compiled, tex)))
    return files, write_all(files, force=force)

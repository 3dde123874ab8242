"""Shared pytest fixtures."""

from __future__ import annotations

import os

import pytest

from symbackprop.handout.latexrun import find_pdflatex


@pytest.fixture
def require_pdflatex() -> str:
    """Return the pdflatex path; skip without it, or fail if SYMBACKPROP_REQUIRE_PDFLATEX=1.

    CI sets the variable so a missing TeX installation cannot silently turn tests into skips.
    """
    path = find_pdflatex()
    if path is None:
        if os.environ.get("SYMBACKPROP_REQUIRE_PDFLATEX") == "1":
            pytest.fail("pdflatex not found, and SYMBACKPROP_REQUIRE_PDFLATEX=1 requires it")
        pytest.skip("pdflatex not found (set SYMBACKPROP_REQUIRE_PDFLATEX=1 to fail instead)")
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-generated",
        action="store_true",
        help="rewrite generated/ from the built-in examples instead of comparing with it",
    )

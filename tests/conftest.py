"""Shared pytest fixtures."""

from __future__ import annotations

import os

import blackmemo
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


# The longest single tests (tens of seconds of CPU each, measured), started first: with ``-n auto``
# xdist hands out tests in collection order, and one of these left for the end would run alone
# while the other workers sit idle. A test here that no longer exists is simply not found. (Only
# tests that share no module-scoped fixture with others: moved apart, such a fixture runs twice.)
LONG_TESTS_FIRST = (
    "tests/test_readme_python.py::test_every_python_block_runs",
    "tests/test_bad_inputs.py::test_row40_every_example_is_byte_identical_across_hash_seeds",
    "tests/test_benchmark_harness.py::test_harness_figures_agree_with_timeit_alone",
    "tests/test_notebook.py::test_notebook_executes",
    "tests/test_fuzz_cli.py::test_fuzz_layered_specs",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    first = {nodeid: rank for rank, nodeid in enumerate(LONG_TESTS_FIRST)}
    items.sort(key=lambda item: first.get(item.nodeid, len(first)))  # stable: the rest in order


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-generated",
        action="store_true",
        help="rewrite generated/ from the built-in examples instead of comparing with it",
    )


@pytest.fixture(scope="session", autouse=True)
def _black_results_reused():
    """Every test process reuses black's results (tests/blackmemo.py; row 40's interpreters
    install it too, the other subprocess tests' do not); a test that replaces
    ``black.format_str`` with monkeypatch replaces the wrapper for its own duration."""
    restore = blackmemo.install()
    yield
    restore()

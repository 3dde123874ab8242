"""Black's output for a source it has formatted before in this process, reused.

``black.format_str`` is a pure function of the source and the mode, and most of the time of
``codegen`` (and of ``handout`` and ``check``, which generate the module too): the suite generates
the same built-in examples' modules hundreds of times, and reusing black's results cuts the CPU of
a repeated command by about 60 %. A new source still goes to black, and users are untouched.
"""

from __future__ import annotations

from collections.abc import Callable

import black


def install() -> Callable[[], None]:
    """Wrap ``black.format_str`` with the memo; returns the function that puts black's back."""
    real = black.format_str
    results: dict[tuple[str, str], str] = {}

    def format_str(src_contents: str, *, mode: black.Mode) -> str:
        key = (src_contents, repr(mode))
        if key not in results:
            if len(results) > 50_000:  # bounded: the suite needs a few thousand
                results.clear()
            results[key] = real(src_contents, mode=mode)
        return results[key]

    black.format_str = format_str

    def restore() -> None:
        black.format_str = real

    return restore

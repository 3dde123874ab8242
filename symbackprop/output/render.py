"""The one jinja2 environment, and where the templates live.

Templates hold layout only: they receive strings already printed, loop over them and branch on
booleans computed in Python. ``StrictUndefined`` turns a missing variable into an error instead
of empty text. LaTeX templates use ``\\VAR{…}`` and ``\\BLOCK{…}`` delimiters, because Jinja's
default ``{#`` and ``{%`` collide with LaTeX (``{#1}``, ``{%}``).

``TEMPLATES_DIR`` is found once: inside the installed package (the wheel ships the top-level
``templates/`` as ``symbackprop/templates``) or, in a source checkout, next to the package.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

_PACKAGE = Path(__file__).resolve().parent.parent


def _templates_dir() -> Path:
    for candidate in (_PACKAGE / "templates", _PACKAGE.parent / "templates"):
        if (candidate / "numpy").is_dir():
            return candidate
    raise RuntimeError(f"symbackprop templates not found next to {_PACKAGE}")


TEMPLATES_DIR = _templates_dir()

_COMMON = dict(
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    # No HTML autoescaping: the output is LaTeX or Python; names reaching it are validated
    # identifiers and free text is escaped for LaTeX before rendering (handout.escape_text).
    autoescape=False,
)


@lru_cache(maxsize=None)
def environment(kind: str) -> jinja2.Environment:
    """The environment for ``kind`` = ``"numpy"`` or ``"latex"`` templates."""
    loader = jinja2.FileSystemLoader(str(TEMPLATES_DIR / kind))
    if kind == "latex":
        return jinja2.Environment(  # noqa: S701 - see _COMMON
            loader=loader,
            block_start_string=r"\BLOCK{",
            block_end_string="}",
            variable_start_string=r"\VAR{",
            variable_end_string="}",
            comment_start_string=r"\#{",
            comment_end_string="}",
            line_statement_prefix=None,
            **_COMMON,
        )
    return jinja2.Environment(loader=loader, **_COMMON)  # noqa: S701 - see _COMMON


def render(kind: str, template: str, **context) -> str:
    """Render ``templates/<kind>/<template>`` with ``context``."""
    return environment(kind).get_template(template).render(**context)

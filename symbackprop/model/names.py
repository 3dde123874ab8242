"""Validation of user-chosen names.

Names (inputs, targets, parameters, nodes, layers) are the only user strings that ever reach
generated Python or LaTeX, so they are checked once, here, against one rule:

* a name is an ASCII identifier: a letter, then letters, digits or ``_``, at most 64 characters;
* it does not start with ``_`` and contains ``__`` at most once, in the SymPy superscript form
  ``base__super_sub`` (``w__h_11`` renders as :math:`w^{h}_{11}`), never at the end;
* it is not reserved: Python keywords, soft keywords and builtins, the modules the generated code
  imports, and the names the generated module defines (see :data:`RESERVED`);
* names are unique ignoring case (``W1`` and ``w1`` clash), see :func:`check_unique`.

Non-ASCII is refused outright rather than NFKC-normalised: Python would silently read ``ﬁle``
as ``file`` and ``ＡＢ`` as ``AB``, and bidi controls (U+202E) make source text lie about its
order. Validation is case-sensitive against :data:`RESERVED` (``Print`` is fine, ``print`` not).
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from collections.abc import Iterable

from symbackprop.errors import InvalidInput

MAX_NAME_LENGTH = 64

NAME_RULE = (
    "names are ASCII identifiers: a letter, then letters, digits or '_' "
    f"(at most {MAX_NAME_LENGTH})"
)

# ``site`` adds these to builtins; listed explicitly so ``python -S`` accepts the same names.
_SITE_BUILTINS = frozenset({"copyright", "credits", "exit", "help", "license", "quit"})

# Names the generated NumPy module defines or uses as locals; a user name equal to one of them
# would shadow it. Template-internal helpers start with '_' and are covered by the '_' rule.
_GENERATED_NAMES = frozenset(
    {
        "np",
        "numpy",
        "math",
        "self",
        "cls",
        "params",
        "grads",
        "state",
        "forward",
        "gradients",
        "gradients_flat",
        "loss_out",
        "sgd_step",
        "init_params",
        "loss_value",
        "check_inputs",
        "EXAMPLE_X",
        "EXAMPLE_T",
    }
)

_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
_BUILTINS = frozenset(dir(builtins)) | _SITE_BUILTINS

RESERVED: frozenset[str] = _KEYWORDS | _BUILTINS | _GENERATED_NAMES
"""Names a user may not choose (names starting with ``_`` are refused separately)."""

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _shown(name: str) -> str:
    """Quote ``name`` for an error message without letting control or bidi characters through."""
    if len(name) > 40:
        name = name[:37] + "..."
    if any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in name):
        return ascii(name)
    return f"'{name}'"


def _reserved_reason(name: str) -> str:
    if name in _KEYWORDS:
        return "a Python keyword"
    if name in _BUILTINS:
        return "a Python builtin"
    return "used by the generated code"


def validate_name(name: object, *, what: str = "name", where: str | None = None) -> str:
    """Check one user-chosen name against the naming rule.

    Args:
        name: The candidate, as read from a spec or given through the API.
        what: What the name is for, used in messages (e.g. ``"parameter name"``).
        where: Location for the message, e.g. ``"spec.toml:4"``.

    Returns:
        ``name`` unchanged, typed as ``str``.

    Raises:
        InvalidInput: The name is not a string, not ASCII, not an identifier, too long, uses
            ``_``/``__`` outside the allowed forms, or is reserved.
    """
    if not isinstance(name, str):
        raise InvalidInput(
            f"{what} must be a string, got {type(name).__name__}", where=where, hint=NAME_RULE
        )
    if not name.isascii():
        bad = next(ch for ch in name if not ch.isascii())
        label = unicodedata.name(bad, "unnamed character")
        raise InvalidInput(
            f"names must be ASCII: {_shown(name)}",
            where=where,
            hint=f"U+{ord(bad):04X} {label}; spell Greek letters out, e.g. 'delta_1'",
        )
    if name.startswith("_"):
        raise InvalidInput(
            f"invalid {what} {_shown(name)}: names may not start with '_'",
            where=where,
            hint=NAME_RULE,
        )
    if len(name) > MAX_NAME_LENGTH or not _IDENTIFIER.fullmatch(name):
        size = f" ({len(name)} characters)" if len(name) > MAX_NAME_LENGTH else ""
        raise InvalidInput(f"invalid {what} {_shown(name)}{size}: {NAME_RULE}", where=where)
    # '__' is SymPy's superscript marker: allowed once, between a base and a superscript.
    if "__" in name and (name.count("__") > 1 or "___" in name or name.endswith("__")):
        raise InvalidInput(
            f"invalid {what} {_shown(name)}: '__' may appear once, as base__super_sub",
            where=where,
            hint="e.g. 'w__h_11' for w^{h}_{11}",
        )
    if name in RESERVED:
        raise InvalidInput(
            f"'{name}' is a reserved name",
            where=where,
            hint=f"{_reserved_reason(name)}; choose another, e.g. '{name}_1'",
        )
    return name


def check_unique(entries: Iterable[tuple[str, str]]) -> None:
    """Check that names are unique ignoring case.

    Case is folded because ``W1`` and ``w1`` are easily confused on a slide, and would collide
    on case-insensitive file systems if a name ever becomes part of a file name.

    Args:
        entries: ``(name, description)`` pairs in definition order, where the description says
            what and where the definition is, e.g. ``"parameter 'w1' (spec.toml line 4)"``.

    Raises:
        InvalidInput: Two entries share a name; the message names both descriptions.
    """
    seen: dict[str, tuple[str, str]] = {}
    for name, description in entries:
        key = name.casefold()
        if key in seen:
            first_name, first_description = seen[key]
            hint = "names must be unique ignoring case" if first_name != name else None
            raise InvalidInput(
                f"duplicate name {_shown(first_name)}: {first_description} and {description}",
                hint=hint,
            )
        seen[key] = (name, description)

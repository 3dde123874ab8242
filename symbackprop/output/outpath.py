"""Where an output goes: inside ``--out``, and never through an unsafe symbolic link.

A target that is itself a symbolic link (dangling or not) is refused, and so is a path through a
link to a missing directory, so that no write lands where the path does not say and no directory
is created at the far end of a link. Links to existing directories on the way are followed (and
must stay inside ``--out`` when one is given). The missing directories of a path that passes are
all below a real directory, and the writer creates them.
"""

from __future__ import annotations

from pathlib import Path

from symbackprop.errors import InvalidInput


def resolve_inside(out_dir: Path | None, path: str | Path) -> Path:
    """Resolve an output path, keeping it inside ``out_dir`` when one is given.

    Args:
        out_dir: The ``--out`` directory, or None to take ``path`` as the user gave it.
        path: The output file, relative to ``out_dir`` (or the working directory).

    Returns:
        The resolved (absolute, symlink-free) target path.

    Raises:
        InvalidInput: If the target leaves ``out_dir`` (``..``, an absolute path elsewhere, a
            symlink pointing outside), starts with ``-``, is an existing directory, is a
            symbolic link, or goes through a link to a missing directory.
    """
    if "\0" in str(path) or (out_dir is not None and "\0" in str(out_dir)):
        raise InvalidInput(f"output path {str(path)!r} contains a NUL byte")
    given = Path(path)
    if out_dir is None:
        target = _follow(Path.cwd(), given, given)
    else:
        base = _follow(Path.cwd(), out_dir, out_dir, last_may_link=True)
        # '..' is refused even where it would land back inside: there is no honest use for it.
        bad = [part for part in given.parts if part == ".." or part.startswith("-")]
        target = None if bad else _follow(base, given, given)
        if target is None or not target.is_relative_to(base):
            raise InvalidInput(
                f"output must stay inside --out '{base}', but '{given}' does not",
                hint="give a plain relative name such as 'net.py', without '..' or a leading '-'",
            )
    if target.is_dir():
        raise InvalidInput(f"cannot write '{given}': it is a directory", hint="name a file")
    return target


def _follow(start: Path, path: Path, given: Path, *, last_may_link: bool = False) -> Path:
    """``start / path`` resolved one component at a time, refusing unsafe symbolic links.

    Unlike ``Path.resolve``, a link whose target is missing is an error rather than a path to
    create, and the last component may not be a link at all (unless ``last_may_link``).
    """
    current = Path(start.anchor) if path.is_absolute() else start.resolve()
    parts = path.parts[1:] if path.is_absolute() else path.parts
    for i, part in enumerate(parts):
        if part == ".":
            continue
        if part == "..":
            current = current.parent  # ``current`` is free of links, so this is the real parent
            continue
        step = current / part
        if step.is_symlink():
            if i == len(parts) - 1 and not last_may_link:
                raise InvalidInput(
                    f"cannot write '{given}': it is a symbolic link",
                    hint="name the file it points to instead",
                )
            try:
                step = step.resolve(strict=True)
            except (OSError, RuntimeError):  # missing target, or a loop of links
                raise InvalidInput(
                    f"cannot write '{given}': the symbolic link '{step}' points to nothing",
                    hint="create its target first, or name a real directory",
                ) from None
        current = step
    return current

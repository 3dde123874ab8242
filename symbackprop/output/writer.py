"""Safe output files: a do-not-edit stamp, no writes outside ``--out``, atomic replacement.

Every generated text file starts with one header line (see :func:`stamp`) that carries a digest
of the rest of the file; a PDF carries the same kind of digest in a comment line just before its
final ``startxref`` (see :func:`stamp_pdf`). The digest lets us tell our own, untouched output
(safe to regenerate) from a file a user wrote or edited (never overwritten without ``--force``;
the old one is then kept as ``<name>.bak``, or ``<name>.bak.1``, ``.bak.2`` ... when that name is
taken: a backup never replaces another). Files are written to a temporary file in the target's
directory, flushed, ``fsync``-ed and then moved over the target with ``os.replace``, so a crash
leaves the old file or the new one, never half of one. A file whose bytes would not change is not
touched, so its mtime survives and ``make``-style tools see nothing new.

Output paths are resolved by :func:`outpath.resolve_inside` (inside ``--out``, no symbolic link as
the target); a target found to be a link when it is written is refused here as well.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import stat
import tempfile
import time
from pathlib import Path

from symbackprop.errors import InvalidInput, RefusedOverwrite
from symbackprop.output.outpath import resolve_inside
from symbackprop.output.stamps import (
    is_ours,
    is_pristine,
    pdf_is_current,
    pdf_made_from,
    stamp,
    stamp_pdf,
)

# The stamp functions are part of the writer's interface: generate, stamp, write.
__all__ = [
    "check_all",
    "is_pristine",
    "pdf_is_current",
    "pdf_made_from",
    "resolve_inside",
    "stamp",
    "stamp_pdf",
    "write_all",
    "write_atomic",
]


def _exists(path: Path) -> bool:
    """Tell whether a target exists, refusing one that is not a regular file."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return False
    except OSError as error:
        raise _cannot_write(path, error) from error
    if not stat.S_ISREG(mode):
        # A directory cannot be replaced, reading a FIFO to compare it would block, and a link
        # would be replaced by a file rather than written through.
        kind = {stat.S_IFDIR: "a directory", stat.S_IFLNK: "a symbolic link"}.get(
            stat.S_IFMT(mode), "not a regular file"
        )
        raise InvalidInput(f"cannot write '{path}': it is {kind}", hint="name a file")
    return True


_MAX_BACKUPS = 100


def _backup_names(path: Path) -> list[Path]:
    """The names a backup of ``path`` may take, in order: X.bak, X.bak.1, … X.bak.99."""
    return [path.with_name(f"{path.name}.bak{f'.{n}' if n else ''}") for n in range(_MAX_BACKUPS)]


def _free_backup(path: Path) -> Path:
    """The first backup name of ``path`` that is not taken; refuses when all are."""
    for name in _backup_names(path):
        if not os.path.lexists(name):
            return name
    raise RefusedOverwrite(
        f"refusing to overwrite '{path}': {_MAX_BACKUPS} backups of it exist already",
        hint=f"remove old {path.name}.bak.* files",
    )


def _plan(path: Path, data: bytes | None, force: bool) -> tuple[bool, bytes | None]:
    """Check one target before anything is written.

    Args:
        path: The target.
        data: Its new contents, or None when they are not known yet (only check the refusal).
        force: As in :func:`write_all`.

    Returns:
        ``(needed, backup)``: whether the file must be written, and the old bytes to keep in a
        ``.bak`` first (None when there is nothing worth keeping).
    """
    if not _exists(path):
        return True, None
    try:
        old = path.read_bytes()
    except OSError as error:
        raise _cannot_write(path, error) from error
    if old == data:
        return False, None
    if is_ours(old):
        return True, None
    backup = _free_backup(path)
    if not force:
        raise RefusedOverwrite(
            f"refusing to overwrite '{path}': it was edited by hand or not written by symbackprop",
            hint=f"use --force; the old file is kept as {backup.name}",
        )
    return True, old


def _cannot_write(path: Path, error: OSError) -> InvalidInput:
    return InvalidInput(f"cannot write '{path}': {error.strerror or error}")


def _default_mode() -> int:
    # mkstemp creates files 0600; a generated file should get the mode any new file would get,
    # and only the umask knows that. Reading it means setting it, so put it straight back.
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


# A temp file of ours this old was left by a process that was killed (kill -9, power loss)
# between creating it and renaming it; no live write takes this long.
_STALE_SECONDS = 600


def _remove_stale_temps(path: Path) -> None:
    """Delete temp files a killed earlier run left beside ``path`` (``.NAME.*.tmp``)."""
    now = time.time()
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - leftover.lstat().st_mtime > _STALE_SECONDS:
                leftover.unlink()


def _fill(fd: int, data: bytes, mode: int) -> None:
    """Give ``fd`` the ``mode``, write all of ``data`` to it, fsync and close it."""
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:  # os.write may write less than asked
            view = view[os.write(fd, view) :]
        os.fsync(fd)  # the data must be on disk before a rename makes it visible
    finally:
        os.close(fd)


def _temp_copy(path: Path, data: bytes, mode: int) -> str:
    """A complete, fsync-ed temp file holding ``data`` beside ``path``; returns its name."""
    # Same directory, so a rename to ``path`` stays within one file system and is atomic.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        _fill(fd, data, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it and move it over ``path``."""
    tmp = None
    try:
        # ``path`` comes from resolve_inside: its missing parents lie under a real directory.
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(path)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)  # keep e.g. a chmod +x the user made
        except FileNotFoundError:
            mode = _default_mode()
        tmp = _temp_copy(path, data, mode)
        os.replace(tmp, path)
    except BaseException as error:
        # Whatever happened (disk full, Ctrl-C), the old file is intact: drop the temp file.
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(error, OSError):
            raise _cannot_write(path, error) from error
        raise


# What link() fails with where a file system has no hard links (FAT, some network mounts).
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}


def _keep_backup(path: Path, old: bytes) -> Path:
    """Save ``old`` under the first free backup name of ``path``, never replacing a file."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        tmp = _temp_copy(path, old, mode)
    except OSError as error:
        raise _cannot_write(path, error) from error
    try:
        while True:
            backup = _free_backup(path)
            try:
                # link() fails if the name exists, so a backup that appeared meanwhile survives.
                os.link(tmp, backup)
                return backup
            except FileExistsError:
                continue
            except OSError as error:
                if error.errno not in _NO_HARD_LINKS:
                    raise _cannot_write(backup, error) from error
            try:  # no hard links here: create the name exclusively, which never replaces either
                fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            except OSError as error:
                raise _cannot_write(backup, error) from error
            try:
                _fill(fd, old, mode)
            except OSError as error:
                with contextlib.suppress(OSError):
                    backup.unlink()  # ours, half written: the original is still untouched
                raise _cannot_write(backup, error) from error
            return backup
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def write_atomic(path: Path, text: str, *, force: bool = False) -> bool:
    """Write a generated text file atomically, refusing to clobber a user's file.

    Args:
        path: The target file; missing parent directories are created.
        text: The full contents, normally from :func:`stamp`.
        force: Overwrite a file that was edited or not written by us, keeping it as ``.bak``.

    Returns:
        True if the file was written, False if it already held exactly ``text`` (untouched).

    Raises:
        RefusedOverwrite: If the target is not pristine generated output and ``force`` is off.
        InvalidInput: If the target is a directory or cannot be written.
    """
    return bool(write_all([(path, text)], force=force))


def _encode(data: str | bytes | None) -> bytes | None:
    return data.encode("utf-8") if isinstance(data, str) else data


def check_all(files: list[tuple[Path, str | bytes | None]], *, force: bool) -> None:
    """Refuse now what :func:`write_all` would refuse later, writing nothing.

    Args:
        files: ``(path, contents)`` pairs; contents None for a file not made yet (a PDF still
            to be compiled): it is refused when it exists and is not our unedited output.
        force: As in :func:`write_all`.

    Raises:
        RefusedOverwrite, InvalidInput: As :func:`write_all` would.
    """
    for path, data in files:
        _plan(path, _encode(data), force)


def write_all(files: list[tuple[Path, str | bytes]], *, force: bool) -> list[Path]:
    """Write several generated files, checking all of them before writing any.

    A refusal of any target leaves every target as it was. A failure while writing (disk full)
    can still leave earlier files new and later ones old; each file on its own is atomic.

    Args:
        files: ``(path, contents)`` pairs: text (stamped with :func:`stamp`, written as UTF-8)
            or the bytes of a PDF stamped with :func:`stamp_pdf`.
        force: Overwrite files that were edited or not written by us, keeping each old one as
            ``<name>.bak`` (or ``.bak.1``, ``.bak.2`` … when that exists: no backup is replaced).

    Returns:
        The paths actually written, in order; unchanged files are left out.

    Raises:
        RefusedOverwrite: If a target is not ours or was edited and ``force`` is off; nothing
            is written.
        InvalidInput: If a target is a directory, a symbolic link or cannot be written.
    """
    encoded = [(path, _encode(data)) for path, data in files]
    plans = [(path, data, *_plan(path, data, force)) for path, data in encoded]
    written = []
    for path, data, needed, backup in plans:
        if not needed:
            continue
        if backup is not None:
            _keep_backup(path, backup)
        _replace(path, data)
        written.append(path)
    return written

"""Files we keep under var/ (keys, the SQLite database, the message log): private from the first byte.

Directories are created 0700 and files 0600 by passing the mode to mkdir/open itself, never by a
chmod after the write, so nothing is readable by other users even for a moment. Every writer of a
file under var/ goes through these helpers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import TextIO

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Make `path` (and any missing parents) a directory only its owner can open; an existing
    directory is tightened to 0700 (parents that already exist are left alone)."""
    missing = []
    walk = path
    while not walk.exists():
        missing.append(walk)
        walk = walk.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, DIR_MODE)
    if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
        os.chmod(path, DIR_MODE)
    return path


def _tighten(fd: int) -> None:
    if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:  # made earlier, before this helper existed
        os.fchmod(fd, FILE_MODE)


def _tighten_path(path: Path) -> None:
    with contextlib.suppress(OSError):
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, FILE_MODE)


def write_private(path: Path, data: bytes | str) -> None:
    """Write (replace) a file created 0600 in a 0700 directory."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        _tighten(fd)
        os.write(fd, data.encode("utf-8") if isinstance(data, str) else data)
    finally:
        os.close(fd)


def create_private_once(path: Path, data: bytes | str) -> bool:
    """Create `path` with `data` unless it exists; atomic between processes (the file is written
    under a temporary name and linked into place, so a reader never sees it half-written).
    Returns whether this call created it."""
    if path.exists():
        _tighten_path(path)  # made before this helper existed
        return False
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.write(fd, data.encode("utf-8") if isinstance(data, str) else data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(temporary)


def append_private(path: Path) -> TextIO:
    """Open a log file for appending (UTF-8), created 0600 in a 0700 directory."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    try:
        _tighten(fd)
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "a", encoding="utf-8")


def private_sqlite_file(database: str | None) -> None:
    """Before SQLite opens `database`, make sure the file exists and is 0600 (SQLite gives its
    -wal and -shm files the database file's mode). An existing file is only chmod'ed by path:
    opening and closing it through a Python fd would drop this process's SQLite locks on it."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        for existing in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            try:
                if stat.S_IMODE(existing.stat().st_mode) & 0o077:
                    os.chmod(existing, FILE_MODE)
            except FileNotFoundError:
                pass
            except PermissionError:  # not ours (a shared deployment): leave it to its owner
                pass
    else:
        os.close(fd)  # a new, empty file: no SQLite connection can hold it yet


__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "append_private",
    "create_private_once",
    "private_dir",
    "private_sqlite_file",
    "write_private",
]

"""Atomic file writes: a temporary file in the destination's folder, synced, then moved over the destination.

A failed or interrupted write never leaves a half-written file behind and keeps what the destination held
before; readers see the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import secrets
from collections.abc import Callable
from typing import IO

__all__ = ["atomic_write", "atomic_write_text"]


def _fsync_directory(folder: pathlib.Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: pathlib.Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write`` on a temporary file next to ``path``, sync it, then move it over ``path``.

    A failed write leaves no half-written file behind and keeps what ``path`` held before.
    """
    if path.is_dir():
        raise IsADirectoryError(f"Cannot save to {path}: it is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL with mode 0o666 gives the file the usual permissions (umask applies), unlike mkstemp's 0o600.
    while True:
        tmp_path = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_path)
        raise
    _fsync_directory(path.parent)


def atomic_write_text(path: pathlib.Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` with :func:`atomic_write`: readers see the old file or the new one."""
    data = text.encode()

    def write(file: IO[bytes]) -> None:
        file.write(data)

    atomic_write(path, write)

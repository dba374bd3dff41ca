"""Atomic file writes: a temporary file in the destination's folder, synced, then moved over the destination.

A failed or interrupted write never leaves a half-written file behind and keeps what the destination held
before; readers see the old file or the new one, never a mix. A write killed outright (SIGKILL, power loss)
leaves its temporary file; the next atomic write to the same folder removes such leftovers: only files named
like this module's temporary files (``.<name>.<12 hex digits>.tmp``) and last modified at least a second
before the current process started, so a save still running in another process is never touched.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import secrets
import time
from collections.abc import Callable
from typing import IO

__all__ = ["TEMP_NAME", "atomic_write", "atomic_write_text", "process_start_time", "remove_stale_temp_files"]

#: Names of the temporary files :func:`atomic_write` creates (and the only files it ever removes).
TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")


def _linux_start_time() -> float | None:
    """This process's start (seconds since the epoch, to 10 ms) from /proc, or None where there is no /proc: its
    start in clock ticks after boot, against the time since boot now."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of proc(5), counted after the ")" that ends field 2
        with open("/proc/uptime", "rb") as uptime_file:
            uptime = float(uptime_file.read().split()[0])
        return time.time() - (uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return None


_IMPORT_TIME = time.time()
_START_MARGIN_S = 1.0
_START_TIME = _linux_start_time()


def process_start_time() -> float:
    """When this process started (elsewhere than Linux: when this module was imported, a little later)."""
    return _START_TIME if _START_TIME is not None else _IMPORT_TIME


def remove_stale_temp_files(folder: pathlib.Path) -> list[pathlib.Path]:
    """Remove temporary files of interrupted atomic writes in ``folder``: names matching :data:`TEMP_NAME`, last
    modified at least a second before this process started (so no write in progress, here or in a process started
    earlier and still writing, is touched). Returns what was removed; files that vanish or cannot be removed are
    skipped."""
    removed: list[pathlib.Path] = []
    # the start time is known to a clock tick and the boot clock it comes from drifts from the wall clock: a file
    # modified in the second before this process started is left for a later save
    started = process_start_time() - _START_MARGIN_S
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not TEMP_NAME.fullmatch(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_mtime >= started:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(pathlib.Path(entry.path))
    return removed


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

    A failed write leaves no half-written file behind and keeps what ``path`` held before. Temporary files left
    in the folder by writes that were killed are removed first (:func:`remove_stale_temp_files`).
    """
    if path.is_dir():
        raise IsADirectoryError(f"Cannot save to {path}: it is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path.parent)
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

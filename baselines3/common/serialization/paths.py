"""Where saved files go: ``open_path`` (Stable-Baselines3's file opener) and the suffix a saved file gets."""

from __future__ import annotations

import io
import pathlib
import warnings
from typing import IO, cast

__all__ = ["open_path", "with_zip_suffix"]


def with_zip_suffix(path: pathlib.Path) -> pathlib.Path:
    """``path`` with ``.zip`` appended unless it already ends with it (in any case)."""
    return path if path.name.lower().endswith(".zip") else path.with_name(path.name + ".zip")


def open_path(
    path: str | pathlib.Path | IO[bytes], mode: str, verbose: int = 0, suffix: str | None = None
) -> IO[bytes]:
    """Open ``path`` as a binary file for reading (``"r"``/``"read"``) or writing (``"w"``/``"write"``).

    An open binary file is checked (not closed, readable or writable as asked; ValueError otherwise) and returned
    as it is. A path (str or pathlib.Path) is opened:

    * reading: when it does not exist and ``suffix`` is given, ``<path>.<suffix>`` is tried instead (with a
      warning when ``verbose >= 2``);
    * writing: a path without a suffix gets ``.<suffix>``; missing parent folders are created (with a warning);
      a path that is a folder is written to ``<path>_2`` instead (with a warning); overwriting an existing file
      warns when ``verbose >= 2``.

    The caller closes the returned file. Any other type is a TypeError.
    """
    normalized = {"r": "r", "read": "r", "w": "w", "write": "w"}.get(mode.lower() if isinstance(mode, str) else "")
    if normalized is None:
        raise ValueError(f"Expected mode to be either 'w' or 'r', got {mode!r}")
    if isinstance(path, io.IOBase) and not isinstance(path, io.TextIOBase):
        if path.closed:
            raise ValueError(f"File stream {path} is closed.")
        if normalized == "w" and not path.writable():
            raise ValueError(f"Expected a writable file, got {path}")
        if normalized == "r" and not path.readable():
            raise ValueError(f"Expected a readable file, got {path}")
        return cast(IO[bytes], path)
    if not isinstance(path, (str, pathlib.Path)):
        raise TypeError(f"Cannot open {path!r}: expected a str, a pathlib.Path or an open binary file")
    target = pathlib.Path(path)
    if normalized == "r":
        if not target.exists() and suffix:
            with_suffix = pathlib.Path(f"{target}.{suffix}")
            if verbose >= 2:
                warnings.warn(f"Path '{target}' not found. Attempting {with_suffix}.", stacklevel=2)
            target = with_suffix
        return target.open("rb")
    if target.suffix == "" and suffix:
        target = pathlib.Path(f"{target}.{suffix}")
    if target.is_dir():
        warnings.warn(f"Path '{target}' is a folder. Will save instead to {target}_2", stacklevel=2)
        target = pathlib.Path(f"{target}_2")
    if not target.parent.exists():
        warnings.warn(f"Path '{target.parent}' does not exist. Will create it.", stacklevel=2)
        target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_file() and verbose >= 2:
        warnings.warn(f"Path '{target}' exists, will overwrite it.", stacklevel=2)
    return target.open("wb")

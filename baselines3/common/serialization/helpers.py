"""Small file and attribute helpers that Stable-Baselines3 code imports from ``common.save_util``.

``load_from_pkl`` differs on purpose: it reads pickles with the restricted unpickler of the SB3 importer, so a
pickle can hold plain data (numbers, strings, containers, NumPy arrays, spaces) but never runs code.
"""

from __future__ import annotations

import functools
import json
import pathlib
import pickle
from typing import IO, Any

from baselines3.common.serialization.paths import open_path
from baselines3.common.serialization.sb3.unpickler import restricted_loads


def recursive_getattr(obj: Any, attr: str, *args: Any) -> Any:
    """``getattr`` along a dotted path (``"policy.optimizer"``); ``args`` is the default, as for ``getattr``."""
    return functools.reduce(lambda current, name: getattr(current, name, *args), attr.split("."), obj)


def recursive_setattr(obj: Any, attr: str, value: Any) -> None:
    """``setattr`` along a dotted path: sets the last name on the object the rest of the path leads to."""
    parent, _, name = attr.rpartition(".")
    setattr(recursive_getattr(obj, parent) if parent else obj, name, value)


def is_json_serializable(item: Any) -> bool:
    """Whether ``json.dumps`` takes ``item`` as it is."""
    try:
        json.dumps(item)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def open_path_str(path: str, mode: str, verbose: int = 0, suffix: str | None = None) -> IO[bytes]:
    """:func:`open_path` for a path given as a string."""
    return open_path(pathlib.Path(path), mode, verbose, suffix)


def open_path_pathlib(path: pathlib.Path, mode: str, verbose: int = 0, suffix: str | None = None) -> IO[bytes]:
    """:func:`open_path` for a ``pathlib.Path``."""
    return open_path(path, mode, verbose, suffix)


def save_to_pkl(path: str | pathlib.Path | IO[bytes], obj: Any, verbose: int = 0) -> None:
    """Pickle ``obj`` to ``path`` (``.pkl`` is appended to a path without a suffix)."""
    file = open_path(path, "w", verbose=verbose, suffix="pkl")
    try:
        pickle.dump(obj, file, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        if isinstance(path, (str, pathlib.Path)):
            file.close()


def load_from_pkl(path: str | pathlib.Path | IO[bytes], verbose: int = 0) -> Any:
    """Read a pickle without running code: only plain data and the data classes the SB3 importer allows are
    rebuilt; anything else (a function, a class of your own) raises ``RefusedPickleError`` naming it."""
    file = open_path(path, "r", verbose=verbose, suffix="pkl")
    try:
        return restricted_loads(file.read(), str(path))
    finally:
        if isinstance(path, (str, pathlib.Path)):
            file.close()

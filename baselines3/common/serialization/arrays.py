"""Numeric arrays plus JSON metadata in an ``.npz`` archive (replay buffers), read without unpickling.

The metadata is one JSON string in the ``__meta__`` member, written with the tagged codec; the classes it may
name are torch modules and optimizers only (a buffer's metadata names its own class by name, as a string).
"""

from __future__ import annotations

import json
import os
import pathlib
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from baselines3.common.serialization.atomic import atomic_write
from baselines3.common.serialization.codec import TORCH_CLASSES, decode_data, encode_data
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.serialization.spaces_json import NUMERIC_KINDS

__all__ = ["ARRAYS_META_KEY", "load_arrays", "save_arrays"]

ARRAYS_META_KEY = "__meta__"


def save_arrays(
    path: str | os.PathLike[str], meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> pathlib.Path:
    """Write numeric arrays plus JSON metadata to an ``.npz`` archive, atomically (``.npz`` is appended if missing).

    Used for replay buffers: ``load_arrays`` reads it back with ``allow_pickle=False``, so loading runs no code.
    Returns the path written.
    """
    path = pathlib.Path(path)
    if not path.name.lower().endswith(".npz"):
        path = path.with_name(path.name + ".npz")
    for name, array in arrays.items():
        if name == ARRAYS_META_KEY or np.asarray(array).dtype.kind not in NUMERIC_KINDS:
            raise TypeError(
                f"Cannot save array {name!r}: only numeric arrays (not {np.asarray(array).dtype}) are saved"
            )
    meta_json = json.dumps(encode_data(meta, TORCH_CLASSES)[0], allow_nan=False)
    members = {ARRAYS_META_KEY: np.array(meta_json), **arrays}
    atomic_write(path, lambda file: np.savez(file, **members))  # type: ignore[arg-type]
    return path


def load_arrays(path: str | os.PathLike[str], meta_only: bool = False) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read an archive written by ``save_arrays``: ``(meta, arrays)`` (``arrays`` empty with ``meta_only``: the
    members are read lazily, so that is cheap even for a multi-GB buffer). Never unpickles anything."""
    path = pathlib.Path(path)
    if not path.exists() and not path.name.lower().endswith(".npz"):
        path = path.with_name(path.name + ".npz")
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a single .npy array
            raise ValueError(f"it holds a single {type(loaded).__name__}, not an .npz archive")
        with loaded as archive:
            names = [ARRAYS_META_KEY] if meta_only and ARRAYS_META_KEY in archive.files else archive.files
            arrays = {name: archive[name] for name in names}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ModelLoadError(
            f"{path} is not an array archive written by baselines3 (or it is corrupt): {error}"
        ) from error
    if ARRAYS_META_KEY not in arrays:
        raise ModelLoadError(f"{path} has no {ARRAYS_META_KEY!r} member: it was not written by baselines3")
    try:
        meta_json = json.loads(str(arrays.pop(ARRAYS_META_KEY)))
        if not isinstance(meta_json, dict):
            raise TypeError(f"expected a JSON object, got {type(meta_json).__name__}")
        meta = decode_data(meta_json, TORCH_CLASSES)
    except (ValueError, TypeError) as error:
        raise ModelLoadError(f"{path}: unreadable metadata: {error}") from error
    return meta, arrays

"""Numeric arrays plus JSON metadata in an ``.npz`` archive (replay buffers), read without unpickling.

The metadata is one JSON string in the ``__meta__`` member, written with the tagged codec; the classes it may
name are torch modules and optimizers only (a buffer's metadata names its own class by name, as a string).
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import struct
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from baselines3.common.serialization.atomic import atomic_write
from baselines3.common.serialization.codec import TORCH_CLASSES, decode_data, encode_data
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.serialization.limits import check_zip_directory, current_limits, open_zip
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


def _read_npy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, kinds: str = NUMERIC_KINDS) -> np.ndarray:
    """One ``.npy`` member: its header is checked (a numeric dtype; the shape it declares must account for exactly
    the member's declared size) before NumPy allocates the array from it, and reading stops at that size."""
    try:
        with archive.open(info) as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_1_0(handle, max_header_size=_MAX_HEADER)
            elif version in ((2, 0), (3, 0)):
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(handle, max_header_size=_MAX_HEADER)
            else:
                raise ValueError(f"unknown .npy format version {version}")
            header_size = handle.tell()
    except ModelLoadError:
        raise
    except (
        ValueError,
        OSError,
        EOFError,
        SyntaxError,
        TypeError,
        zipfile.BadZipFile,
        zlib.error,
        struct.error,
    ) as error:
        raise ModelLoadError(f"{label}: member {info.filename!r} is not a valid .npy array: {error}") from error
    if dtype.hasobject or dtype.kind not in kinds:
        raise ModelLoadError(f"{label}: member {info.filename!r} has dtype {dtype}; only numeric arrays are read")
    elements = math.prod(shape)
    if header_size + elements * dtype.itemsize != info.file_size:
        raise ModelLoadError(
            f"{label}: member {info.filename!r} declares an array of shape {shape} ({dtype}), which does not match "
            f"the member's size of {info.file_size} bytes"
        )
    try:
        with archive.open(info) as handle:
            array = np.lib.format.read_array(handle, allow_pickle=False, max_header_size=_MAX_HEADER)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, struct.error) as error:
        raise ModelLoadError(f"{label}: member {info.filename!r} is corrupt or truncated: {error!r}") from error
    return array


_MAX_HEADER = 10_000


def load_arrays(path: str | os.PathLike[str], meta_only: bool = False) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read an archive written by ``save_arrays``: ``(meta, arrays)`` (``arrays`` empty with ``meta_only``: the
    members are read lazily, so that is cheap even for a multi-GB buffer). Never unpickles anything.

    The zip directory is checked against :class:`~baselines3.common.serialization.limits.LoadLimits` first
    (``max_buffer_bytes`` for the arrays together, ``max_json_bytes`` for the metadata, compression ratio), and
    each array's header against its member's size before the array is allocated; ModelLoadError otherwise.
    """
    path = pathlib.Path(path)
    if not path.exists() and not path.name.lower().endswith(".npz"):
        path = path.with_name(path.name + ".npz")
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}")
    label = str(path)
    limits = current_limits()
    meta_member = ARRAYS_META_KEY + ".npy"
    archive = open_zip(str(path), label, "array archive written by baselines3")
    with archive:
        members = check_zip_directory(
            archive,
            label,
            member_cap={meta_member: limits.max_json_bytes},
            default_cap=limits.max_buffer_bytes,
            total_cap=limits.max_buffer_bytes,
        )
        if meta_member not in members:
            raise ModelLoadError(f"{path} has no {ARRAYS_META_KEY!r} member: it was not written by baselines3")
        odd = [name for name in members if not name.endswith(".npy")]
        if odd:
            raise ModelLoadError(f"{path}: members {odd[:5]} are not .npy arrays; it was not written by baselines3")
        meta_array = _read_npy(archive, members[meta_member], label, kinds="U")
        arrays: dict[str, np.ndarray] = {}
        if not meta_only:
            for name, info in members.items():
                if name != meta_member:
                    arrays[name[: -len(".npy")]] = _read_npy(archive, info, label)
    if meta_array.dtype.kind != "U" or meta_array.ndim != 0:
        raise ModelLoadError(f"{path}: unreadable metadata: {ARRAYS_META_KEY!r} is not a string")
    try:
        meta_json = json.loads(str(meta_array))
        if not isinstance(meta_json, dict):
            raise TypeError(f"expected a JSON object, got {type(meta_json).__name__}")
        meta = decode_data(meta_json, TORCH_CLASSES)
    except (ValueError, TypeError, RecursionError) as error:
        raise ModelLoadError(f"{path}: unreadable metadata: {error}") from error
    return meta, arrays

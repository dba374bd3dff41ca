"""The model archive: a zip that loads without running any code from the file.

Archive members (see ``docs/save_format.md``):

- ``_format_version``: the archive format, an integer (this module writes ``FORMAT_VERSION``).
- ``data.json``: hyperparameters and training state as JSON (the tagged codec of
  :mod:`baselines3.common.serialization.codec`; classes allowed by :data:`MODEL_CLASSES`).
- ``<name>.pth``: one PyTorch state dict per entry of ``params`` (``policy.pth``,
  ``policy.optimizer.pth``...), read back with ``torch.load(..., weights_only=True)``.
- ``pytorch_variables.pth``: other tensors (e.g. SAC's log entropy coefficient), also weights-only.
- ``unsafe_objects.pkl``: only when some value cannot be described as JSON (a lambda, a user's class). It is
  unpickled only when the caller passes ``allow_pickle=True``.
- ``system_info.txt`` and ``_baselines3_version``: for people reading the file.

Saving to a path is atomic (:func:`~baselines3.common.serialization.atomic.atomic_write`), so a failed save
never leaves a half-written model behind.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import pickle
import struct
import time
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from typing import IO, Any

import cloudpickle
import torch

from baselines3.common.buffers import ReplayBuffer, RolloutBuffer
from baselines3.common.serialization.atomic import atomic_write
from baselines3.common.serialization.codec import TAG_PICKLED, TORCH_CLASSES, decode_data, encode_data
from baselines3.common.serialization.errors import ModelLoadError, UnsafeObjectsSkippedWarning
from baselines3.common.serialization.limits import (
    check_json_sizes,
    check_zip_directory,
    current_limits,
    open_zip,
    read_bounded,
)
from baselines3.common.serialization.paths import with_zip_suffix
from baselines3.common.utils import get_device, get_system_info, library_version

__all__ = [
    "FORMAT_VERSION",
    "MODEL_CLASSES",
    "SUPPORTED_FORMAT_VERSIONS",
    "data_to_json",
    "json_to_data",
    "load_archive",
    "load_from_zip_file",
    "load_tensors",
    "read_member",
    "save_to_zip_file",
]

#: Archive format this module writes.
FORMAT_VERSION = 1
#: Archive formats this module reads.
SUPPORTED_FORMAT_VERSIONS: tuple[int, ...] = (1,)

FORMAT_MEMBER = "_format_version"
DATA_MEMBER = "data.json"
PICKLE_MEMBER = "unsafe_objects.pkl"
VARIABLES_MEMBER = "pytorch_variables.pth"
SYSTEM_INFO_MEMBER = "system_info.txt"
VERSION_MEMBER = "_baselines3_version"
#: Optional member: RNG states and collector state for resuming training (older files lack it).
TRAINING_STATE_MEMBER = "training_state.json"
_RESERVED_PARAM_NAMES = {
    DATA_MEMBER,
    PICKLE_MEMBER,
    SYSTEM_INFO_MEMBER,
    FORMAT_MEMBER,
    VERSION_MEMBER,
    TRAINING_STATE_MEMBER,
}
#: Members holding JSON or text (SB3's ``data`` and version member too): held to ``LoadLimits.max_json_bytes``.
TEXT_MEMBERS = frozenset(
    {DATA_MEMBER, FORMAT_MEMBER, VERSION_MEMBER, SYSTEM_INFO_MEMBER, TRAINING_STATE_MEMBER, "data"}
    | {"_stable_baselines3_version"}
)

#: What a class named in data.json may be: a torch module (policies, feature extractors, activations), an
#: optimizer or a buffer (``replay_buffer_class``, ``rollout_buffer_class``).
MODEL_CLASSES = replace(
    TORCH_CLASSES,
    class_bases=(*TORCH_CLASSES.class_bases, ReplayBuffer, RolloutBuffer),
    description="module, optimizer or buffer class",
)


def data_to_json(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``data`` into its JSON description and the entries JSON cannot describe.

    Returns ``(json_dict, unserializable)``: every top-level entry goes whole into one of the two. Lambdas,
    user classes and other arbitrary objects go into ``unserializable`` (saved only in the pickled member).
    """
    return encode_data(data, MODEL_CLASSES)


def json_to_data(json_dict: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Rebuild the values described by :func:`data_to_json`.

    Entries named in ``custom_objects`` are not decoded at all; the given objects are used instead. Classes
    are imported only as :data:`MODEL_CLASSES` allows; anything else raises ModelLoadError.
    """
    return decode_data(json_dict, MODEL_CLASSES, custom_objects)


# ----------------------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------------------

_PLAIN_TYPES = (
    bool,
    int,
    float,
    complex,
    str,
    bytes,
    bytearray,
    type(None),
    torch.Size,
    torch.device,
    torch.dtype,
)


def _check_weights_only(obj: Any, where: str) -> None:
    """Fail at save time for anything ``torch.load(weights_only=True)`` would refuse at load time."""
    kind = type(obj)
    if kind is torch.Tensor or kind is torch.nn.Parameter or kind in _PLAIN_TYPES:
        return
    if kind in (list, tuple, set):
        for i, item in enumerate(obj):
            _check_weights_only(item, f"{where}[{i}]")
        return
    if kind is dict or kind is OrderedDict:
        for key, item in obj.items():
            _check_weights_only(key, f"{where}.<key>")
            _check_weights_only(item, f"{where}[{key!r}]")
        return
    raise TypeError(
        f"{where} is a {kind.__module__}.{kind.__qualname__}; .pth members may hold only tensors, numbers, "
        "strings and lists/tuples/dicts of them (they are loaded with weights_only=True)"
    )


def _dump_json(json_data: dict[str, Any]) -> str:
    """Strict JSON (no NaN/Infinity), one top-level entry per line: readable, yet compact for big arrays."""
    lines = [f"  {json.dumps(key)}: {json.dumps(value, allow_nan=False)}" for key, value in json_data.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n" if lines else "{}\n"


def _pickle_member(objects: dict[str, Any]) -> bytes:
    """The pickled member: a plain dict of key -> cloudpickle bytes, so each key can be restored on its own.

    The outer dict holds only strings and bytes, which the loader reads with an unpickler that imports
    nothing.
    """
    blobs: dict[str, bytes] = {}
    for key, value in objects.items():
        try:
            blobs[str(key)] = cloudpickle.dumps(value)
        except Exception as error:
            raise TypeError(
                f"Cannot save {key!r}: it has no JSON description and cannot be pickled: {error}"
            ) from error
    return pickle.dumps(blobs, protocol=4)


def _write_archive(
    file: IO[bytes],
    data_bytes: bytes,
    params: Mapping[str, Any],
    pytorch_variables: Any,
    pickle_bytes: bytes | None,
    training_state_bytes: bytes | None = None,
) -> None:
    now = time.localtime()[:6]

    def member_info(name: str, compress_type: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=now)
        info.compress_type = compress_type
        info.external_attr = 0o644 << 16  # rw-r--r-- when extracted
        return info

    with zipfile.ZipFile(file, mode="w") as archive:
        archive.writestr(member_info(FORMAT_MEMBER, zipfile.ZIP_STORED), f"{FORMAT_VERSION}\n")
        archive.writestr(member_info(DATA_MEMBER, zipfile.ZIP_DEFLATED), data_bytes)
        tensors = [(f"{name}.pth", state) for name, state in params.items()]
        if pytorch_variables is not None:
            tensors.append((VARIABLES_MEMBER, pytorch_variables))
        for member, state in tensors:
            # Tensor bytes hardly compress: store them, which is much faster.
            with archive.open(member_info(member, zipfile.ZIP_STORED), mode="w", force_zip64=True) as handle:
                torch.save(state, handle)
        if pickle_bytes is not None:
            archive.writestr(member_info(PICKLE_MEMBER, zipfile.ZIP_DEFLATED), pickle_bytes)
        if training_state_bytes is not None:
            archive.writestr(member_info(TRAINING_STATE_MEMBER, zipfile.ZIP_DEFLATED), training_state_bytes)
        archive.writestr(member_info(SYSTEM_INFO_MEMBER, zipfile.ZIP_DEFLATED), get_system_info(print_info=False)[1])
        archive.writestr(member_info(VERSION_MEMBER, zipfile.ZIP_STORED), library_version())


def save_to_zip_file(
    save_path: str | os.PathLike[str] | IO[bytes],
    data: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    pytorch_variables: Mapping[str, Any] | None = None,
    extra_pickled: Mapping[str, Any] | None = None,
    training_state: Mapping[str, Any] | None = None,
) -> None:
    """Write a model archive to a path (atomically; ``.zip`` is appended if missing) or a binary file object.

    ``params`` maps member names (``"policy"``, ``"policy.optimizer"``...) to state dicts;
    ``pytorch_variables`` holds other tensors. Entries of ``data`` without a JSON description, and everything
    in ``extra_pickled``, go to the pickled member, which loading restores only on request. ``training_state``
    (RNG states and episode statistics, plain JSON) goes to the optional ``training_state.json`` member.
    """
    json_data, unserializable = data_to_json(data or {})
    pickled = {**unserializable, **(extra_pickled or {})}
    for key in pickled:
        json_data[str(key)] = {TAG_PICKLED: PICKLE_MEMBER}
    data_bytes = _dump_json(json_data).encode("utf-8")
    pickle_bytes = _pickle_member(pickled) if pickled else None
    state_bytes = None
    if training_state is not None:
        state_bytes = json.dumps(dict(training_state), allow_nan=False).encode("utf-8")

    params = params or {}
    for name, state in params.items():
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.endswith(".pth"):
            raise ValueError(
                f"Invalid parameter name {name!r}: use a plain name such as 'policy' or 'policy.optimizer'"
            )
        if name + ".pth" == VARIABLES_MEMBER or name in _RESERVED_PARAM_NAMES:
            raise ValueError(f"Parameter name {name!r} is reserved for another archive member")
        _check_weights_only(state, f"params[{name!r}]")
    if pytorch_variables is not None:
        _check_weights_only(pytorch_variables, "pytorch_variables")

    if not isinstance(save_path, (str, os.PathLike)):
        if not hasattr(save_path, "write"):
            raise TypeError(f"save_path must be a path or a binary file object, got {save_path!r}")
        _write_archive(save_path, data_bytes, params, pytorch_variables, pickle_bytes, state_bytes)
        return

    path = with_zip_suffix(pathlib.Path(save_path))
    atomic_write(
        path, lambda file: _write_archive(file, data_bytes, params, pytorch_variables, pickle_bytes, state_bytes)
    )


# ----------------------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------------------


class _NoImportUnpickler(pickle.Unpickler):
    """Unpickler for the outer dict of the pickled member: builtin containers only, never imports anything."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to import {module}.{name}")


def _open_source(load_path: Any) -> tuple[str | IO[bytes], str]:
    """The path or file to read and a label for error messages; tries the ``.zip`` suffix for paths."""
    if isinstance(load_path, (str, os.PathLike)):
        path = pathlib.Path(load_path)
        if path.is_file():
            return str(path), str(path)
        with_suffix = with_zip_suffix(path)
        if with_suffix != path and with_suffix.is_file():
            return str(with_suffix), str(with_suffix)
        if path.is_dir():
            raise ModelLoadError(f"{path} is a directory, not a saved model (.zip file)")
        tried = f"{path}" + (f" or {with_suffix}" if with_suffix != path else "")
        raise FileNotFoundError(f"No saved model found at {tried}")
    if hasattr(load_path, "read") and hasattr(load_path, "seek"):
        return load_path, str(getattr(load_path, "name", f"<{type(load_path).__name__}>"))
    raise TypeError(f"load_path must be a path or a readable, seekable binary file object, got {load_path!r}")


def member_cap(member: str) -> int:
    """The most bytes ``member`` may decompress to: JSON/text members are held to ``max_json_bytes``."""
    limits = current_limits()
    return limits.max_json_bytes if member in TEXT_MEMBERS else limits.max_member_bytes


def check_archive(archive: zipfile.ZipFile, label: str) -> dict[str, zipfile.ZipInfo]:
    """The zip directory checked against the load limits (sizes, ratios, duplicates) before anything is read."""
    caps = {info.filename: member_cap(info.filename) for info in archive.infolist()}
    return check_zip_directory(archive, label, member_cap=caps)


def read_member(archive: zipfile.ZipFile, member: str, label: str) -> bytes:
    """The bytes of ``member``, read with its size cap enforced while reading; ModelLoadError (naming
    ``label``) when it is missing, corrupt or too large."""
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise ModelLoadError(f"{label}: required member {member!r} is missing from the archive") from None
    cap = member_cap(member)
    if info.file_size > cap:
        raise ModelLoadError(
            f"{label}: member {member!r} would decompress to {info.file_size} bytes, more than the limit of {cap} "
            "bytes for it (see LoadLimits; raise it with load_limits(...) if you trust this file)"
        )
    return read_bounded(archive, info, cap, label)


def _check_torch_file(raw: bytes, member: str, label: str) -> None:
    """A ``.pth`` member must be PyTorch's zip format with stored records only: PyTorch sizes its buffer for a
    record from the record's declared size, so a deflated record could inflate far past the member's bytes,
    and the legacy (non-zip) format sizes storages from the pickle before reading them."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as inner:
            infos = inner.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, struct.error) as error:
        raise ModelLoadError(
            f"{label}: member {member!r} is not a PyTorch zip-format tensor file (torch.save since PyTorch 1.6 "
            f"writes one; the legacy format is not read): {error}"
        ) from error
    declared = 0
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            raise ModelLoadError(
                f"{label}: member {member!r} holds a compressed record {info.filename!r}; torch.save writes "
                "stored records only"
            )
        declared += info.file_size
    if declared > len(raw):
        raise ModelLoadError(f"{label}: member {member!r} declares {declared} bytes of records in {len(raw)} bytes")


def load_tensors(archive: zipfile.ZipFile, member: str, label: str, device: torch.device) -> Any:
    """The tensors in ``member``, read with ``weights_only=True`` onto ``device``; ModelLoadError otherwise."""
    raw = read_member(archive, member, label)
    _check_torch_file(raw, member, label)
    try:
        return torch.load(io.BytesIO(raw), map_location=device, weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise ModelLoadError(
            f"{label}: member {member!r} holds objects other than tensors and plain containers, which are "
            f"not loaded (tensors load with weights_only=True): {first_line}"
        ) from error
    except (RuntimeError, EOFError, ValueError, OSError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise ModelLoadError(f"{label}: cannot read tensors from member {member!r}: {error!r}") from error


def _read_format_version(archive: zipfile.ZipFile, names: set[str], label: str) -> int:
    if FORMAT_MEMBER not in names:
        if "data" in names and DATA_MEMBER not in names:
            raise ModelLoadError(
                f"{label} looks like a Stable-Baselines3 file (it has a 'data' member but no "
                f"{FORMAT_MEMBER!r}); baselines3 reads only its own format"
            )
        raise ModelLoadError(f"{label}: required member {FORMAT_MEMBER!r} is missing; this is not a baselines3 model")
    text = read_member(archive, FORMAT_MEMBER, label).decode("ascii", errors="replace").strip()
    if not text.isdigit():
        raise ModelLoadError(f"{label}: member {FORMAT_MEMBER!r} should hold an integer, got {text!r}")
    version = int(text)
    if version not in SUPPORTED_FORMAT_VERSIONS:
        writer = ""
        if VERSION_MEMBER in names:
            writer = f" by baselines3 {read_member(archive, VERSION_MEMBER, label).decode(errors='replace')!s}"
        advice = " Upgrade baselines3 to read it." if version > max(SUPPORTED_FORMAT_VERSIONS) else ""
        raise ModelLoadError(
            f"{label} was written{writer} in archive format version {version}; this baselines3 "
            f"({library_version()}) reads format versions {list(SUPPORTED_FORMAT_VERSIONS)}.{advice}"
        )
    return version


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _read_data(
    archive: zipfile.ZipFile,
    names: set[str],
    label: str,
    custom_objects: Mapping[str, Any],
    allow_pickle: bool,
) -> dict[str, Any]:
    raw = read_member(archive, DATA_MEMBER, label)
    try:
        json_dict = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ModelLoadError(f"{label}: member {DATA_MEMBER!r} is malformed: {error!r}") from error
    if not isinstance(json_dict, dict):
        raise ModelLoadError(f"{label}: member {DATA_MEMBER!r} must hold a JSON object, got {type(json_dict).__name__}")
    check_json_sizes(json_dict, f"{label}: {DATA_MEMBER}")

    pickled_keys = [key for key, value in json_dict.items() if isinstance(value, dict) and set(value) == {TAG_PICKLED}]
    try:
        data = json_to_data({k: v for k, v in json_dict.items() if k not in pickled_keys}, custom_objects)
    except ModelLoadError as error:
        raise ModelLoadError(f"{label}: {DATA_MEMBER}: {error}") from error
    except RecursionError as error:
        raise ModelLoadError(f"{label}: {DATA_MEMBER}: values nested too deeply") from error

    needed = [key for key in pickled_keys if key not in custom_objects]
    if needed and not allow_pickle:
        warnings.warn(
            f"{label}: skipped {len(needed)} saved value(s) that only exist as pickled Python objects: "
            f"{', '.join(repr(key) for key in needed)}. Unpickling can run arbitrary code, so it is off by "
            "default. If you trust this file, load it with allow_pickle=True; otherwise pass replacements "
            "with custom_objects={" + ", ".join(f"{key!r}: ..." for key in needed) + "}.",
            UnsafeObjectsSkippedWarning,
            stacklevel=3,
        )
    elif needed:
        raw_pickle = read_member(archive, PICKLE_MEMBER, label)
        try:
            blobs = _NoImportUnpickler(io.BytesIO(raw_pickle)).load()
        except Exception as error:
            raise ModelLoadError(f"{label}: member {PICKLE_MEMBER!r} is malformed: {error}") from error
        if not isinstance(blobs, dict):
            raise ModelLoadError(f"{label}: member {PICKLE_MEMBER!r} is malformed: expected a dict")
        for key in needed:
            blob = blobs.get(key)
            if not isinstance(blob, bytes):
                raise ModelLoadError(f"{label}: member {PICKLE_MEMBER!r} has no entry for {key!r}")
            try:
                data[key] = cloudpickle.loads(blob)
            except Exception as error:
                warnings.warn(
                    f"{label}: could not unpickle {key!r} ({type(error).__name__}: {error}); it was skipped. "
                    f"Pass a replacement with custom_objects={{{key!r}: ...}}.",
                    UnsafeObjectsSkippedWarning,
                    stacklevel=3,
                )
    # as in SB3, a custom object replaces a saved value only: a name the file does not hold is ignored
    data.update({key: value for key, value in custom_objects.items() if key in json_dict})
    return data


def load_from_zip_file(
    load_path: str | os.PathLike[str] | IO[bytes],
    device: torch.device | str = "auto",
    custom_objects: Mapping[str, Any] | None = None,
    allow_pickle: bool = False,
    print_system_info: bool = False,
    load_data: bool = True,
) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any] | None]:
    """Read a model archive: ``(data, params, pytorch_variables)``.

    ``data`` is None when ``load_data`` is False, ``pytorch_variables`` None when the archive has none.
    Tensors are loaded with ``weights_only=True`` onto ``device``. Pickled values are restored only with
    ``allow_pickle=True`` (only for files you trust); otherwise a warning names what was skipped. Entries of
    ``custom_objects`` replace saved values (and are never decoded). Raises ``ModelLoadError`` (a ValueError)
    for anything wrong with the file (including a member over the
    :class:`~baselines3.common.serialization.limits.LoadLimits`) and FileNotFoundError when there is none.
    """
    data, params, pytorch_variables, _ = load_archive(
        load_path, device, custom_objects, allow_pickle, print_system_info, load_data
    )
    return data, params, pytorch_variables


def load_archive(
    load_path: str | os.PathLike[str] | IO[bytes],
    device: torch.device | str = "auto",
    custom_objects: Mapping[str, Any] | None = None,
    allow_pickle: bool = False,
    print_system_info: bool = False,
    load_data: bool = True,
) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any] | None, bytes | None]:
    """:func:`load_from_zip_file` plus the raw ``training_state.json`` member (None when the file has none)."""
    source, label = _open_source(load_path)
    custom_objects = dict(custom_objects or {})
    torch_device = get_device(device)
    archive = open_zip(source, label, "zip archive (not a saved model, or a truncated/corrupt one)")
    with archive:
        names = set(check_archive(archive, label))
        _read_format_version(archive, names, label)
        if DATA_MEMBER not in names:
            raise ModelLoadError(f"{label}: required member {DATA_MEMBER!r} is missing from the archive")
        if print_system_info:
            print("== CURRENT SYSTEM INFO ==")
            get_system_info(print_info=True)
            print("== SAVED MODEL SYSTEM INFO ==")
            if SYSTEM_INFO_MEMBER in names:
                print(read_member(archive, SYSTEM_INFO_MEMBER, label).decode("utf-8", errors="replace"))
            else:
                print(f"(no {SYSTEM_INFO_MEMBER} in the archive)")

        data = _read_data(archive, names, label, custom_objects, allow_pickle) if load_data else None

        params: dict[str, Any] = {}
        pytorch_variables: dict[str, Any] | None = None
        for member in archive.namelist():
            if not member.endswith(".pth"):
                continue
            if member == VARIABLES_MEMBER:
                pytorch_variables = load_tensors(archive, member, label, torch_device)
            else:
                params[member[: -len(".pth")]] = load_tensors(archive, member, label, torch_device)
        state = read_member(archive, TRAINING_STATE_MEMBER, label) if TRAINING_STATE_MEMBER in names else None
    return data, params, pytorch_variables, state

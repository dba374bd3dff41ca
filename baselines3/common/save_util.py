"""Reading and writing saved models: a zip archive that loads without running any code from the file.

Archive members (see ``docs/save_format.md``):

- ``_format_version``: the archive format, an integer (this module writes ``FORMAT_VERSION``).
- ``data.json``: hyperparameters and training state as JSON. Values JSON has no type for (NumPy arrays,
  spaces, schedules, classes such as ``torch.nn.ReLU``) are tagged objects such as ``{"__class__": "..."}``.
- ``<name>.pth``: one PyTorch state dict per entry of ``params`` (``policy.pth``,
  ``policy.optimizer.pth``...), read back with ``torch.load(..., weights_only=True)``.
- ``pytorch_variables.pth``: other tensors (e.g. SAC's log entropy coefficient), also weights-only.
- ``unsafe_objects.pkl``: only when some value cannot be described as JSON (a lambda, a user's class). It is
  unpickled only when the caller passes ``allow_pickle=True``.
- ``system_info.txt`` and ``_baselines3_version``: for people reading the file.

Saving to a path is atomic: the archive is written to a temporary file in the same folder, synced to disk and
then moved over the destination, so a failed save never leaves a half-written model behind.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import math
import os
import pathlib
import pickle
import re
import secrets
import struct
import time
import warnings
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import IO, Any, cast

import cloudpickle
import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.schedules import Schedule, schedule_from_spec
from baselines3.common.utils import get_device, get_system_info, library_version

__all__ = [
    "ALLOWED_CLASS_PREFIXES",
    "FORMAT_VERSION",
    "SUPPORTED_FORMAT_VERSIONS",
    "ModelLoadError",
    "UnsafeObjectsSkippedWarning",
    "atomic_write",
    "data_to_json",
    "get_device",
    "json_to_data",
    "load_arrays",
    "load_from_zip_file",
    "open_path",
    "save_arrays",
    "save_to_zip_file",
    "space_from_json",
    "space_to_json",
]

#: Archive format this module writes.
FORMAT_VERSION = 1
#: Archive formats this module reads.
SUPPORTED_FORMAT_VERSIONS: tuple[int, ...] = (1,)

#: Module prefixes whose classes ``data.json`` may name, e.g.
#: ``{"__class__": "torch.nn.modules.activation.ReLU"}``.
ALLOWED_CLASS_PREFIXES: tuple[str, ...] = ("torch.nn.", "torch.optim.", "baselines3.")
#: Module prefixes whose classes may be rebuilt from a spec (``{"__object__": ..., "spec": ...}``).
_ALLOWED_OBJECT_PREFIXES: tuple[str, ...] = ("baselines3.",)

FORMAT_MEMBER = "_format_version"
DATA_MEMBER = "data.json"
PICKLE_MEMBER = "unsafe_objects.pkl"
VARIABLES_MEMBER = "pytorch_variables.pth"
SYSTEM_INFO_MEMBER = "system_info.txt"
VERSION_MEMBER = "_baselines3_version"
_RESERVED_PARAM_NAMES = {DATA_MEMBER, PICKLE_MEMBER, SYSTEM_INFO_MEMBER, FORMAT_MEMBER, VERSION_MEMBER}

# Tags of the JSON objects that stand for values JSON has no type for.
_TAG_FLOAT = "__float__"
_TAG_TUPLE = "__tuple__"
_TAG_DICT = "__dict__"
_TAG_NDARRAY = "__ndarray__"
_TAG_NPSCALAR = "__npscalar__"
_TAG_DEVICE = "__device__"
_TAG_SPACE = "__space__"
_TAG_SCHEDULE = "__schedule__"
_TAG_CLASS = "__class__"
_TAG_OBJECT = "__object__"
_TAG_PICKLED = "__pickled__"
_TAGS = frozenset(
    {
        _TAG_FLOAT,
        _TAG_TUPLE,
        _TAG_DICT,
        _TAG_NDARRAY,
        _TAG_NPSCALAR,
        _TAG_DEVICE,
        _TAG_SPACE,
        _TAG_SCHEDULE,
        _TAG_CLASS,
        _TAG_OBJECT,
        _TAG_PICKLED,
    }
)

# NumPy dtype kinds allowed in arrays and spaces: bool, signed/unsigned int, float.
_NUMERIC_KINDS = "biuf"
_IMPORT_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
_SUPPORTED_SPACES = ("Box", "Discrete", "MultiDiscrete", "MultiBinary", "Dict", "Tuple")


class ModelLoadError(ValueError):
    """A saved model cannot be read: not a zip, corrupt, a missing member, a newer format, malformed data."""


class UnsafeObjectsSkippedWarning(UserWarning):
    """Some saved values need unpickling and were skipped because ``allow_pickle`` was False."""


class _NotJSONDescribable(Exception):
    """Internal: a value has no JSON description (it goes to the pickled member instead)."""


# ----------------------------------------------------------------------------------------------------------
# Spaces
# ----------------------------------------------------------------------------------------------------------


def _nonfinite_to_str(value: float) -> float | str:
    """JSON has no inf/nan: write them as the strings NumPy parses back ("inf", "-inf", "nan")."""
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _array_to_json(array: np.ndarray) -> Any:
    """Nested lists of Python numbers, with non-finite floats as strings."""
    if array.dtype.kind == "f":
        flat = [_nonfinite_to_str(v) for v in array.ravel().tolist()]
        return np.array(flat, dtype=object).reshape(array.shape).tolist()
    return array.tolist()


def _check_dtype(name: Any, where: str) -> np.dtype:
    """A NumPy dtype from its name, limited to bool/int/uint/float."""
    if not isinstance(name, str):
        raise ModelLoadError(f"{where}: a dtype must be given by name (e.g. 'float32'), got {name!r}")
    try:
        dtype = np.dtype(name)
    except TypeError as error:
        raise ModelLoadError(f"{where}: unknown dtype {name!r}") from error
    if dtype.kind not in _NUMERIC_KINDS:
        raise ModelLoadError(f"{where}: dtype {name!r} is not allowed; expected a bool, integer or float dtype")
    return dtype


def _array_from_json(value: Any, dtype: np.dtype, where: str) -> np.ndarray:
    try:
        return np.array(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as error:
        raise ModelLoadError(f"{where}: cannot read {value!r} as an array of {dtype}: {error}") from error


def _bound_to_json(bound: np.ndarray) -> Any:
    """A Box bound: one number when all entries are equal (compact for images), else nested lists."""
    if bound.size > 0 and bool(np.all(bound == bound.flat[0])):
        return _array_to_json(bound.reshape(-1)[:1])[0]
    return _array_to_json(bound)


def space_to_json(space: spaces.Space) -> dict[str, Any]:
    """Describe a gymnasium space as JSON (Box, Discrete, MultiDiscrete, MultiBinary, Dict, Tuple).

    Raises ValueError for other space types, naming the supported ones.
    """
    kind = type(space)
    if kind is spaces.Box and isinstance(space, spaces.Box):
        return {
            _TAG_SPACE: "Box",
            "shape": list(space.shape or ()),
            "dtype": str(space.dtype),
            "low": _bound_to_json(space.low),
            "high": _bound_to_json(space.high),
        }
    if kind is spaces.Discrete and isinstance(space, spaces.Discrete):
        return {
            _TAG_SPACE: "Discrete",
            "n": int(space.n),
            "start": int(space.start),
            "dtype": str(space.dtype),
        }
    if kind is spaces.MultiDiscrete and isinstance(space, spaces.MultiDiscrete):
        return {
            _TAG_SPACE: "MultiDiscrete",
            "nvec": space.nvec.tolist(),
            "start": space.start.tolist(),
            "dtype": str(space.dtype),
        }
    if kind is spaces.MultiBinary and isinstance(space, spaces.MultiBinary):
        n = np.asarray(space.n)
        return {_TAG_SPACE: "MultiBinary", "n": int(n) if n.ndim == 0 else n.tolist()}
    if kind is spaces.Dict and isinstance(space, spaces.Dict):
        items = []
        for key, subspace in space.spaces.items():
            if not isinstance(key, str):
                raise ValueError(f"Dict space keys must be strings to be saved as JSON, got {key!r}")
            items.append([key, space_to_json(subspace)])
        return {_TAG_SPACE: "Dict", "spaces": items}
    if kind is spaces.Tuple and isinstance(space, spaces.Tuple):
        return {_TAG_SPACE: "Tuple", "spaces": [space_to_json(subspace) for subspace in space.spaces]}
    raise ValueError(
        f"Cannot describe space {space!r} (type {kind.__module__}.{kind.__qualname__}) as JSON; "
        f"supported: {', '.join(_SUPPORTED_SPACES)} from gymnasium.spaces"
    )


def _fields(obj: dict[str, Any], required: set[str], where: str) -> None:
    missing = sorted(required - set(obj))
    extra = sorted(set(obj) - required)
    if missing or extra:
        raise ModelLoadError(f"{where}: expected fields {sorted(required)}, missing {missing}, unexpected {extra}")


def _int_field(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelLoadError(f"{where}: expected an integer, got {value!r}")
    return value


def space_from_json(obj: dict[str, Any], where: str = "space") -> spaces.Space:
    """Rebuild a space described by :func:`space_to_json`; ModelLoadError on a malformed description."""
    if not isinstance(obj, dict) or _TAG_SPACE not in obj:
        raise ModelLoadError(f"{where}: expected a space description with a {_TAG_SPACE!r} key, got {obj!r}")
    kind = obj[_TAG_SPACE]
    try:
        if kind == "Box":
            _fields(obj, {_TAG_SPACE, "shape", "dtype", "low", "high"}, where)
            dtype = _check_dtype(obj["dtype"], f"{where}.dtype")
            if not isinstance(obj["shape"], list):
                raise ModelLoadError(f"{where}.shape: expected a list of integers, got {obj['shape']!r}")
            shape = tuple(_int_field(dim, f"{where}.shape") for dim in obj["shape"])
            low = np.broadcast_to(_array_from_json(obj["low"], dtype, f"{where}.low"), shape).copy()
            high = np.broadcast_to(_array_from_json(obj["high"], dtype, f"{where}.high"), shape).copy()
            return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
        if kind == "Discrete":
            _fields(obj, {_TAG_SPACE, "n", "start", "dtype"}, where)
            return spaces.Discrete(
                _int_field(obj["n"], f"{where}.n"),
                start=_int_field(obj["start"], f"{where}.start"),
                dtype=_check_dtype(obj["dtype"], f"{where}.dtype"),  # type: ignore[arg-type]
            )
        if kind == "MultiDiscrete":
            _fields(obj, {_TAG_SPACE, "nvec", "start", "dtype"}, where)
            dtype = _check_dtype(obj["dtype"], f"{where}.dtype")
            nvec = _array_from_json(obj["nvec"], dtype, f"{where}.nvec")
            start = _array_from_json(obj["start"], dtype, f"{where}.start")
            return spaces.MultiDiscrete(nvec, dtype=dtype, start=start)  # type: ignore[arg-type]
        if kind == "MultiBinary":
            _fields(obj, {_TAG_SPACE, "n"}, where)
            n = obj["n"]
            if isinstance(n, list):
                return spaces.MultiBinary([_int_field(dim, f"{where}.n") for dim in n])
            return spaces.MultiBinary(_int_field(n, f"{where}.n"))
        if kind == "Dict":
            _fields(obj, {_TAG_SPACE, "spaces"}, where)
            items = obj["spaces"]
            if not isinstance(items, list) or not all(
                isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) for item in items
            ):
                raise ModelLoadError(f"{where}.spaces: expected a list of [key, space] pairs, got {items!r}")
            return spaces.Dict([(key, space_from_json(sub, f"{where}[{key!r}]")) for key, sub in items])
        if kind == "Tuple":
            _fields(obj, {_TAG_SPACE, "spaces"}, where)
            if not isinstance(obj["spaces"], list):
                raise ModelLoadError(f"{where}.spaces: expected a list of spaces, got {obj['spaces']!r}")
            return spaces.Tuple([space_from_json(sub, f"{where}[{i}]") for i, sub in enumerate(obj["spaces"])])
    except ModelLoadError:
        raise
    except (ValueError, TypeError, AssertionError) as error:
        raise ModelLoadError(f"{where}: invalid {kind} space description {obj!r}: {error}") from error
    raise ModelLoadError(f"{where}: unknown space type {kind!r}; supported: {', '.join(_SUPPORTED_SPACES)}")


# ----------------------------------------------------------------------------------------------------------
# Hyperparameters <-> JSON
# ----------------------------------------------------------------------------------------------------------


def _import_path(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _has_prefix(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path.startswith(prefix) for prefix in prefixes)


def _resolve_class(path: Any, where: str, prefixes: tuple[str, ...]) -> type:
    """Import the class named by ``path``, but only under ``prefixes`` and only if it really lives there.

    The prefix check comes before any import, and the result must be a class whose own module and qualified
    name give back ``path`` (so a module under an allowed prefix cannot hand out, e.g., ``os.system``).
    """
    if not isinstance(path, str) or not _IMPORT_PATH.fullmatch(path):
        raise ModelLoadError(f"{where}: {path!r} is not a valid import path")
    if not _has_prefix(path, prefixes):
        raise ModelLoadError(
            f"{where}: refusing to import {path!r}; data.json may only name classes under {list(prefixes)}. "
            "If you trust this file, supply the value yourself with custom_objects"
        )
    parts = path.split(".")
    if any(part.startswith("__") for part in parts):
        raise ModelLoadError(f"{where}: refusing to import {path!r} (dunder names are not allowed)")
    obj: Any = None
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        if not _has_prefix(module_name + ".", prefixes):
            break
        try:
            obj = importlib.import_module(module_name)
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            obj = None
        break
    if not isinstance(obj, type) or _import_path(obj) != path:
        raise ModelLoadError(f"{where}: {path!r} does not name a class that can be imported from {list(prefixes)}")
    return obj


def _allowed_class_bases() -> tuple[type, ...]:
    """What a class named in data.json may be: a torch module (policies, feature extractors, activations), an
    optimizer or a buffer. Checked before the class is used, so a file cannot put, e.g., a file-writing logger
    class where the policy will call an activation class. (Imported here: the buffers import this module.)"""
    from baselines3.common.buffers import ReplayBuffer, RolloutBuffer

    return (torch.nn.Module, torch.optim.Optimizer, ReplayBuffer, RolloutBuffer)


def _resolve_allowed_class(path: Any, where: str) -> type:
    cls = _resolve_class(path, where, ALLOWED_CLASS_PREFIXES)
    if not issubclass(cls, _allowed_class_bases()):
        raise ModelLoadError(
            f"{where}: {path!r} is not a module, optimizer or buffer class, the only classes data.json may name. "
            "If you trust this file, supply the value yourself with custom_objects"
        )
    return cls


def _class_is_describable(cls: type) -> bool:
    path = _import_path(cls)
    if "<locals>" in path or not _has_prefix(path, ALLOWED_CLASS_PREFIXES):
        return False
    try:
        return _resolve_class(path, "", ALLOWED_CLASS_PREFIXES) is cls
    except ModelLoadError:
        return False


def _encode(value: Any) -> Any:
    """One value as JSON; raises _NotJSONDescribable for anything without a safe description."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {_TAG_FLOAT: _nonfinite_to_str(value)}
    if kind is list:
        return [_encode(item) for item in value]
    if kind is tuple:
        return {_TAG_TUPLE: [_encode(item) for item in value]}
    if kind is dict or kind is OrderedDict:
        if all(type(key) is str and key not in _TAGS for key in value):
            return {key: _encode(item) for key, item in value.items()}
        return {_TAG_DICT: [[_encode(key), _encode(item)] for key, item in value.items()]}
    if isinstance(value, np.ndarray) and value.dtype.kind in _NUMERIC_KINDS:
        return {_TAG_NDARRAY: _array_to_json(value), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, np.generic) and value.dtype.kind in _NUMERIC_KINDS:
        item = value.item()
        return {
            _TAG_NPSCALAR: _nonfinite_to_str(item) if isinstance(item, float) else item,
            "dtype": str(value.dtype),
        }
    if kind is torch.device:
        return {_TAG_DEVICE: str(value)}
    if isinstance(value, spaces.Space):
        try:
            return space_to_json(value)
        except ValueError as error:
            raise _NotJSONDescribable(str(error)) from error
    if isinstance(value, Schedule):
        if not value.json_describable:
            raise _NotJSONDescribable(f"{value!r} is not JSON describable")
        spec = value.to_spec()
        schedule_from_spec(spec)  # only specs that read back are written
        return {_TAG_SCHEDULE: spec}
    if isinstance(value, type):
        if _class_is_describable(value) and issubclass(value, _allowed_class_bases()):
            return {_TAG_CLASS: _import_path(value)}
        raise _NotJSONDescribable(
            f"class {_import_path(value)} is outside {list(ALLOWED_CLASS_PREFIXES)} or not a module, optimizer or "
            "buffer class"
        )
    # Objects of the library's own classes that describe themselves with to_spec()/from_spec().
    if (
        _has_prefix(_import_path(kind), _ALLOWED_OBJECT_PREFIXES)
        and callable(getattr(value, "to_spec", None))
        and callable(getattr(kind, "from_spec", None))
        and _class_is_describable(kind)
    ):
        return {_TAG_OBJECT: _import_path(kind), "spec": _encode(value.to_spec())}
    raise _NotJSONDescribable(f"{kind.__module__}.{kind.__qualname__} has no JSON description")


def data_to_json(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``data`` into its JSON description and the entries JSON cannot describe.

    Returns ``(json_dict, unserializable)``: every top-level entry goes whole into one of the two. Lambdas,
    user classes and other arbitrary objects go into ``unserializable`` (saved only in the pickled member).
    """
    json_dict: dict[str, Any] = {}
    unserializable: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            unserializable[key] = value
            continue
        try:
            json_dict[key] = _encode(value)
        except (_NotJSONDescribable, RecursionError):
            unserializable[key] = value
    return json_dict, unserializable


def _exact_keys(obj: dict[str, Any], keys: set[str], where: str) -> None:
    if set(obj) != keys:
        raise ModelLoadError(f"{where}: malformed tagged value {obj!r}; expected exactly the keys {sorted(keys)}")


def _decode(value: Any, where: str) -> Any:
    """Inverse of :func:`_encode`; raises ModelLoadError naming ``where`` on malformed input."""
    if isinstance(value, list):
        return [_decode(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    tags = _TAGS.intersection(value)
    if not tags:
        return {key: _decode(item, f"{where}.{key}") for key, item in value.items()}
    if len(tags) > 1:
        raise ModelLoadError(f"{where}: a value carries several type tags {sorted(tags)}")
    (tag,) = tags
    if tag == _TAG_FLOAT:
        _exact_keys(value, {tag}, where)
        if value[tag] not in ("inf", "-inf", "nan"):
            raise ModelLoadError(f"{where}: {value[tag]!r} is not 'inf', '-inf' or 'nan'")
        return float(value[tag])
    if tag == _TAG_TUPLE:
        _exact_keys(value, {tag}, where)
        if not isinstance(value[tag], list):
            raise ModelLoadError(f"{where}: a tuple must be stored as a list, got {value[tag]!r}")
        return tuple(_decode(value[tag], where))
    if tag == _TAG_DICT:
        _exact_keys(value, {tag}, where)
        pairs = value[tag]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise ModelLoadError(f"{where}: a dict must be stored as [key, value] pairs, got {pairs!r}")
        result = {}
        for key, item in pairs:
            decoded_key = _decode(key, f"{where}.<key>")
            try:
                result[decoded_key] = _decode(item, f"{where}.{decoded_key}")
            except TypeError as error:
                raise ModelLoadError(f"{where}: dict key {decoded_key!r} is not hashable") from error
        return result
    if tag == _TAG_NDARRAY:
        _exact_keys(value, {tag, "dtype", "shape"}, where)
        dtype = _check_dtype(value["dtype"], f"{where}.dtype")
        array = _array_from_json(value[tag], dtype, where)
        shape = value["shape"]
        if not isinstance(shape, list) or tuple(shape) != array.shape:
            raise ModelLoadError(f"{where}: array shape {array.shape} does not match the stored shape {shape!r}")
        return array
    if tag == _TAG_NPSCALAR:
        _exact_keys(value, {tag, "dtype"}, where)
        dtype = _check_dtype(value["dtype"], f"{where}.dtype")
        if isinstance(value[tag], (list, dict)):
            raise ModelLoadError(f"{where}: a NumPy scalar must be a number, got {value[tag]!r}")
        return _array_from_json(value[tag], dtype, where)[()]
    if tag == _TAG_DEVICE:
        _exact_keys(value, {tag}, where)
        try:
            return torch.device(value[tag])
        except (RuntimeError, TypeError) as error:
            raise ModelLoadError(f"{where}: invalid device {value[tag]!r}") from error
    if tag == _TAG_SPACE:
        return space_from_json(value, where)
    if tag == _TAG_SCHEDULE:
        _exact_keys(value, {tag}, where)
        try:
            return schedule_from_spec(value[tag])
        except (ValueError, TypeError) as error:
            raise ModelLoadError(f"{where}: {error}") from error
    if tag == _TAG_CLASS:
        _exact_keys(value, {tag}, where)
        return _resolve_allowed_class(value[tag], where)
    if tag == _TAG_OBJECT:
        _exact_keys(value, {tag, "spec"}, where)
        cls = _resolve_class(value[tag], where, _ALLOWED_OBJECT_PREFIXES)
        from_spec = getattr(cls, "from_spec", None)
        if not callable(from_spec):
            raise ModelLoadError(f"{where}: {value[tag]!r} has no from_spec() to rebuild it from JSON")
        try:
            return from_spec(_decode(value["spec"], f"{where}.spec"))
        except (ValueError, TypeError) as error:
            raise ModelLoadError(f"{where}: cannot rebuild {value[tag]!r} from its spec: {error}") from error
    # _TAG_PICKLED: only meaningful at the top level, handled by the loader.
    raise ModelLoadError(f"{where}: a {tag!r} placeholder is only allowed for a top-level entry")


def json_to_data(json_dict: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Rebuild the values described by :func:`data_to_json`.

    Entries named in ``custom_objects`` are not decoded at all; the given objects are used instead. Classes
    are imported only from ``ALLOWED_CLASS_PREFIXES``; anything else raises ModelLoadError.
    """
    custom_objects = custom_objects or {}
    data: dict[str, Any] = {}
    for key, value in json_dict.items():
        if key in custom_objects:
            data[key] = custom_objects[key]
        else:
            data[key] = _decode(value, key)
    return data


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


def _with_zip_suffix(path: pathlib.Path) -> pathlib.Path:
    return path if path.name.lower().endswith(".zip") else path.with_name(path.name + ".zip")


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
        archive.writestr(member_info(SYSTEM_INFO_MEMBER, zipfile.ZIP_DEFLATED), get_system_info(print_info=False)[1])
        archive.writestr(member_info(VERSION_MEMBER, zipfile.ZIP_STORED), library_version())


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


def save_to_zip_file(
    save_path: str | os.PathLike[str] | IO[bytes],
    data: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    pytorch_variables: Mapping[str, Any] | None = None,
    extra_pickled: Mapping[str, Any] | None = None,
) -> None:
    """Write a model archive to a path (atomically; ``.zip`` is appended if missing) or a binary file object.

    ``params`` maps member names (``"policy"``, ``"policy.optimizer"``...) to state dicts;
    ``pytorch_variables`` holds other tensors. Entries of ``data`` without a JSON description, and everything
    in ``extra_pickled``, go to the pickled member, which loading restores only on request.
    """
    json_data, unserializable = data_to_json(data or {})
    pickled = {**unserializable, **(extra_pickled or {})}
    for key in pickled:
        json_data[str(key)] = {_TAG_PICKLED: PICKLE_MEMBER}
    data_bytes = _dump_json(json_data).encode("utf-8")
    pickle_bytes = _pickle_member(pickled) if pickled else None

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
        _write_archive(save_path, data_bytes, params, pytorch_variables, pickle_bytes)
        return

    path = _with_zip_suffix(pathlib.Path(save_path))
    atomic_write(path, lambda file: _write_archive(file, data_bytes, params, pytorch_variables, pickle_bytes))


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
        if name == ARRAYS_META_KEY or np.asarray(array).dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(
                f"Cannot save array {name!r}: only numeric arrays (not {np.asarray(array).dtype}) are saved"
            )
    meta_json = json.dumps(data_to_json(meta)[0], allow_nan=False)
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
        meta = json_to_data(meta_json)
    except (ValueError, TypeError) as error:
        raise ModelLoadError(f"{path}: unreadable metadata: {error}") from error
    return meta, arrays


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
        with_suffix = _with_zip_suffix(path)
        if with_suffix != path and with_suffix.is_file():
            return str(with_suffix), str(with_suffix)
        if path.is_dir():
            raise ModelLoadError(f"{path} is a directory, not a saved model (.zip file)")
        tried = f"{path}" + (f" or {with_suffix}" if with_suffix != path else "")
        raise FileNotFoundError(f"No saved model found at {tried}")
    if hasattr(load_path, "read") and hasattr(load_path, "seek"):
        return load_path, str(getattr(load_path, "name", f"<{type(load_path).__name__}>"))
    raise TypeError(f"load_path must be a path or a readable, seekable binary file object, got {load_path!r}")


def _read_member(archive: zipfile.ZipFile, member: str, label: str) -> bytes:
    try:
        return archive.read(member)
    except KeyError:
        raise ModelLoadError(f"{label}: required member {member!r} is missing from the archive") from None
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        struct.error,
        NotImplementedError,
        RuntimeError,
    ) as error:
        raise ModelLoadError(f"{label}: member {member!r} is corrupt or truncated: {error}") from error


def _load_tensors(archive: zipfile.ZipFile, member: str, label: str, device: torch.device) -> Any:
    raw = _read_member(archive, member, label)
    try:
        return torch.load(io.BytesIO(raw), map_location=device, weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise ModelLoadError(
            f"{label}: member {member!r} holds objects other than tensors and plain containers, which are "
            f"not loaded (tensors load with weights_only=True): {first_line}"
        ) from error
    except (RuntimeError, EOFError, ValueError, OSError) as error:
        raise ModelLoadError(f"{label}: cannot read tensors from member {member!r}: {error}") from error


def _read_format_version(archive: zipfile.ZipFile, names: set[str], label: str) -> int:
    if FORMAT_MEMBER not in names:
        if "data" in names and DATA_MEMBER not in names:
            raise ModelLoadError(
                f"{label} looks like a Stable-Baselines3 file (it has a 'data' member but no "
                f"{FORMAT_MEMBER!r}); baselines3 reads only its own format"
            )
        raise ModelLoadError(f"{label}: required member {FORMAT_MEMBER!r} is missing; this is not a baselines3 model")
    text = _read_member(archive, FORMAT_MEMBER, label).decode("ascii", errors="replace").strip()
    if not text.isdigit():
        raise ModelLoadError(f"{label}: member {FORMAT_MEMBER!r} should hold an integer, got {text!r}")
    version = int(text)
    if version not in SUPPORTED_FORMAT_VERSIONS:
        writer = ""
        if VERSION_MEMBER in names:
            writer = f" by baselines3 {_read_member(archive, VERSION_MEMBER, label).decode(errors='replace')!s}"
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
    raw = _read_member(archive, DATA_MEMBER, label)
    try:
        json_dict = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ModelLoadError(f"{label}: member {DATA_MEMBER!r} is malformed: {error!r}") from error
    if not isinstance(json_dict, dict):
        raise ModelLoadError(f"{label}: member {DATA_MEMBER!r} must hold a JSON object, got {type(json_dict).__name__}")

    pickled_keys = [key for key, value in json_dict.items() if isinstance(value, dict) and set(value) == {_TAG_PICKLED}]
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
        raw_pickle = _read_member(archive, PICKLE_MEMBER, label)
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
    for anything wrong with the file and FileNotFoundError when there is none.
    """
    source, label = _open_source(load_path)
    custom_objects = dict(custom_objects or {})
    torch_device = get_device(device)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, EOFError, struct.error, ValueError, OSError) as error:
        raise ModelLoadError(
            f"{label} is not a valid zip archive (not a saved model, or a truncated/corrupt one): {error}"
        ) from error
    with archive:
        names = set(archive.namelist())
        _read_format_version(archive, names, label)
        if DATA_MEMBER not in names:
            raise ModelLoadError(f"{label}: required member {DATA_MEMBER!r} is missing from the archive")
        if print_system_info:
            print("== CURRENT SYSTEM INFO ==")
            get_system_info(print_info=True)
            print("== SAVED MODEL SYSTEM INFO ==")
            if SYSTEM_INFO_MEMBER in names:
                print(_read_member(archive, SYSTEM_INFO_MEMBER, label).decode("utf-8", errors="replace"))
            else:
                print(f"(no {SYSTEM_INFO_MEMBER} in the archive)")

        data = _read_data(archive, names, label, custom_objects, allow_pickle) if load_data else None

        params: dict[str, Any] = {}
        pytorch_variables: dict[str, Any] | None = None
        for member in archive.namelist():
            if not member.endswith(".pth"):
                continue
            if member == VARIABLES_MEMBER:
                pytorch_variables = _load_tensors(archive, member, label, torch_device)
            else:
                params[member[: -len(".pth")]] = _load_tensors(archive, member, label, torch_device)
    return data, params, pytorch_variables


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

"""The tagged JSON codec: hyperparameters and training state as JSON, read back without running code.

Values JSON has no type for are tagged objects: ``{"__tuple__": [...]}``, ``{"__ndarray__": ..., "dtype": ...,
"shape": ...}``, ``{"__class__": "torch.nn.modules.activation.ReLU"}``, ``{"__schedule__": {...}}``... Which
classes a description may name is a :class:`ClassAllowList` the caller passes in (the model archive allows
modules, optimizers and buffers; array metadata only modules and optimizers): a name is imported only under the
allowed module prefixes, must really live there, and must derive from an allowed base class.
"""

from __future__ import annotations

import importlib
import math
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.schedules import Schedule, schedule_from_spec
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.serialization.limits import check_spec_sizes
from baselines3.common.serialization.spaces_json import (
    NUMERIC_KINDS,
    TAG_SPACE,
    array_from_json,
    array_to_json,
    check_dtype,
    nonfinite_to_str,
    space_from_json,
    space_to_json,
)

__all__ = [
    "ALLOWED_CLASS_PREFIXES",
    "ALLOWED_OBJECT_PREFIXES",
    "TAGS",
    "TAG_PICKLED",
    "TORCH_CLASSES",
    "ClassAllowList",
    "decode_data",
    "encode_data",
]

#: Module prefixes whose classes a description may name, e.g.
#: ``{"__class__": "torch.nn.modules.activation.ReLU"}``.
ALLOWED_CLASS_PREFIXES: tuple[str, ...] = ("torch.nn.", "torch.optim.", "baselines3.")
#: Module prefixes whose classes may be rebuilt from a spec (``{"__object__": ..., "spec": ...}``).
ALLOWED_OBJECT_PREFIXES: tuple[str, ...] = ("baselines3.",)

# Tags of the JSON objects that stand for values JSON has no type for.
_TAG_FLOAT = "__float__"
_TAG_TUPLE = "__tuple__"
_TAG_DICT = "__dict__"
_TAG_NDARRAY = "__ndarray__"
_TAG_NPSCALAR = "__npscalar__"
_TAG_DEVICE = "__device__"
_TAG_SCHEDULE = "__schedule__"
_TAG_CLASS = "__class__"
_TAG_OBJECT = "__object__"
#: A top-level entry kept in the archive's pickled member instead (only the archive reader resolves it).
TAG_PICKLED = "__pickled__"
TAGS = frozenset(
    {
        _TAG_FLOAT,
        _TAG_TUPLE,
        _TAG_DICT,
        _TAG_NDARRAY,
        _TAG_NPSCALAR,
        _TAG_DEVICE,
        TAG_SPACE,
        _TAG_SCHEDULE,
        _TAG_CLASS,
        _TAG_OBJECT,
        TAG_PICKLED,
    }
)

_IMPORT_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")


@dataclass(frozen=True)
class ClassAllowList:
    """The classes a description may name: checked before a named class is used, so a file cannot put, e.g., a
    file-writing logger class where the policy will call an activation class."""

    #: modules whose classes ``{"__class__": ...}`` may name
    class_prefixes: tuple[str, ...]
    #: what such a class must derive from
    class_bases: tuple[type, ...]
    #: modules whose classes ``{"__object__": ..., "spec": ...}`` may rebuild with ``from_spec``
    object_prefixes: tuple[str, ...]
    #: what the bases are, for error messages ("module, optimizer or buffer class")
    description: str


#: Torch modules (policies, feature extractors, activations) and optimizers.
TORCH_CLASSES = ClassAllowList(
    class_prefixes=ALLOWED_CLASS_PREFIXES,
    class_bases=(torch.nn.Module, torch.optim.Optimizer),
    object_prefixes=ALLOWED_OBJECT_PREFIXES,
    description="module or optimizer class",
)


class _NotJSONDescribable(Exception):
    """A value has no JSON description (it goes to the pickled member instead)."""


# ----------------------------------------------------------------------------------------------------------
# Classes
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


def _resolve_allowed_class(path: Any, where: str, allowed: ClassAllowList) -> type:
    cls = _resolve_class(path, where, allowed.class_prefixes)
    if not issubclass(cls, allowed.class_bases):
        raise ModelLoadError(
            f"{where}: {path!r} is not a {allowed.description}, the only classes data.json may name. "
            "If you trust this file, supply the value yourself with custom_objects"
        )
    return cls


def _class_is_describable(cls: type, prefixes: tuple[str, ...]) -> bool:
    path = _import_path(cls)
    if "<locals>" in path or not _has_prefix(path, prefixes):
        return False
    try:
        return _resolve_class(path, "", prefixes) is cls
    except ModelLoadError:
        return False


# ----------------------------------------------------------------------------------------------------------
# Encoding and decoding
# ----------------------------------------------------------------------------------------------------------


def _encode(value: Any, allowed: ClassAllowList) -> Any:
    """One value as JSON; raises _NotJSONDescribable for anything without a safe description."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {_TAG_FLOAT: nonfinite_to_str(value)}
    if kind is list:
        return [_encode(item, allowed) for item in value]
    if kind is tuple:
        return {_TAG_TUPLE: [_encode(item, allowed) for item in value]}
    if kind is dict or kind is OrderedDict:
        if all(type(key) is str and key not in TAGS for key in value):
            return {key: _encode(item, allowed) for key, item in value.items()}
        return {_TAG_DICT: [[_encode(key, allowed), _encode(item, allowed)] for key, item in value.items()]}
    if isinstance(value, np.ndarray) and value.dtype.kind in NUMERIC_KINDS:
        return {_TAG_NDARRAY: array_to_json(value), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, np.generic) and value.dtype.kind in NUMERIC_KINDS:
        item = value.item()
        return {
            _TAG_NPSCALAR: nonfinite_to_str(item) if isinstance(item, float) else item,
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
        if _class_is_describable(value, allowed.class_prefixes) and issubclass(value, allowed.class_bases):
            return {_TAG_CLASS: _import_path(value)}
        raise _NotJSONDescribable(
            f"class {_import_path(value)} is outside {list(allowed.class_prefixes)} or not a {allowed.description}"
        )
    # Objects of the library's own classes that describe themselves with to_spec()/from_spec().
    if (
        _has_prefix(_import_path(kind), allowed.object_prefixes)
        and callable(getattr(value, "to_spec", None))
        and callable(getattr(kind, "from_spec", None))
        and _class_is_describable(kind, allowed.class_prefixes)
    ):
        return {_TAG_OBJECT: _import_path(kind), "spec": _encode(value.to_spec(), allowed)}
    raise _NotJSONDescribable(f"{kind.__module__}.{kind.__qualname__} has no JSON description")


def encode_data(data: Mapping[str, Any], allowed: ClassAllowList) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``data`` into its JSON description and the entries JSON cannot describe.

    Returns ``(json_dict, unserializable)``: every top-level entry goes whole into one of the two. Lambdas,
    user classes and other arbitrary objects go into ``unserializable`` (saved only in the pickled member), and
    so do classes ``allowed`` does not name.
    """
    json_dict: dict[str, Any] = {}
    unserializable: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            unserializable[key] = value
            continue
        try:
            json_dict[key] = _encode(value, allowed)
        except (_NotJSONDescribable, RecursionError):
            unserializable[key] = value
    return json_dict, unserializable


def _exact_keys(obj: dict[str, Any], keys: set[str], where: str) -> None:
    if set(obj) != keys:
        raise ModelLoadError(f"{where}: malformed tagged value {obj!r}; expected exactly the keys {sorted(keys)}")


def _decode(value: Any, where: str, allowed: ClassAllowList) -> Any:
    """Inverse of :func:`_encode`; raises ModelLoadError naming ``where`` on malformed input."""
    if isinstance(value, list):
        return [_decode(item, f"{where}[{i}]", allowed) for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    tags = TAGS.intersection(value)
    if not tags:
        return {key: _decode(item, f"{where}.{key}", allowed) for key, item in value.items()}
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
        return tuple(_decode(value[tag], where, allowed))
    if tag == _TAG_DICT:
        _exact_keys(value, {tag}, where)
        pairs = value[tag]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise ModelLoadError(f"{where}: a dict must be stored as [key, value] pairs, got {pairs!r}")
        result = {}
        for key, item in pairs:
            decoded_key = _decode(key, f"{where}.<key>", allowed)
            try:
                result[decoded_key] = _decode(item, f"{where}.{decoded_key}", allowed)
            except TypeError as error:
                raise ModelLoadError(f"{where}: dict key {decoded_key!r} is not hashable") from error
        return result
    if tag == _TAG_NDARRAY:
        _exact_keys(value, {tag, "dtype", "shape"}, where)
        dtype = check_dtype(value["dtype"], f"{where}.dtype")
        array = array_from_json(value[tag], dtype, where)
        shape = value["shape"]
        if not isinstance(shape, list) or tuple(shape) != array.shape:
            raise ModelLoadError(f"{where}: array shape {array.shape} does not match the stored shape {shape!r}")
        return array
    if tag == _TAG_NPSCALAR:
        _exact_keys(value, {tag, "dtype"}, where)
        dtype = check_dtype(value["dtype"], f"{where}.dtype")
        if isinstance(value[tag], (list, dict)):
            raise ModelLoadError(f"{where}: a NumPy scalar must be a number, got {value[tag]!r}")
        return array_from_json(value[tag], dtype, where)[()]
    if tag == _TAG_DEVICE:
        _exact_keys(value, {tag}, where)
        try:
            return torch.device(value[tag])
        except (RuntimeError, TypeError) as error:
            raise ModelLoadError(f"{where}: invalid device {value[tag]!r}") from error
    if tag == TAG_SPACE:
        return space_from_json(value, where)
    if tag == _TAG_SCHEDULE:
        _exact_keys(value, {tag}, where)
        try:
            return schedule_from_spec(value[tag])
        except (ValueError, TypeError) as error:
            raise ModelLoadError(f"{where}: {error}") from error
    if tag == _TAG_CLASS:
        _exact_keys(value, {tag}, where)
        return _resolve_allowed_class(value[tag], where, allowed)
    if tag == _TAG_OBJECT:
        _exact_keys(value, {tag, "spec"}, where)
        cls = _resolve_class(value[tag], where, allowed.object_prefixes)
        from_spec = getattr(cls, "from_spec", None)
        if not callable(from_spec):
            raise ModelLoadError(f"{where}: {value[tag]!r} has no from_spec() to rebuild it from JSON")
        check_spec_sizes(value["spec"], where)  # before from_spec allocates one object per env
        try:
            return from_spec(_decode(value["spec"], f"{where}.spec", allowed))
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
            raise ModelLoadError(f"{where}: cannot rebuild {value[tag]!r} from its spec: {error!r}") from error
    # TAG_PICKLED: only meaningful at the top level, handled by the loader.
    raise ModelLoadError(f"{where}: a {tag!r} placeholder is only allowed for a top-level entry")


def decode_data(
    json_dict: Mapping[str, Any], allowed: ClassAllowList, custom_objects: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Rebuild the values described by :func:`encode_data`.

    Entries named in ``custom_objects`` are not decoded at all; the given objects are used instead. Classes
    are imported only as ``allowed`` permits; anything else raises ModelLoadError.
    """
    custom_objects = custom_objects or {}
    data: dict[str, Any] = {}
    for key, value in json_dict.items():
        if key in custom_objects:
            data[key] = custom_objects[key]
        else:
            data[key] = _decode(value, key, allowed)
    return data


# ----------------------------------------------------------------------------------------------------------
# Writing

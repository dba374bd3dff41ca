"""Reading and writing saved models (the names Stable-Baselines3 code imports from ``common.save_util``).

The code lives in :mod:`baselines3.common.serialization`; this module re-exports it. See
``docs/save_format.md`` for the archive format.
"""

from __future__ import annotations

from baselines3.common.serialization.archive import (
    DATA_MEMBER,
    FORMAT_MEMBER,
    FORMAT_VERSION,
    MODEL_CLASSES,
    PICKLE_MEMBER,
    SUPPORTED_FORMAT_VERSIONS,
    SYSTEM_INFO_MEMBER,
    VARIABLES_MEMBER,
    VERSION_MEMBER,
    data_to_json,
    json_to_data,
    load_from_zip_file,
    save_to_zip_file,
)
from baselines3.common.serialization.arrays import ARRAYS_META_KEY, load_arrays, save_arrays
from baselines3.common.serialization.atomic import atomic_write, atomic_write_text
from baselines3.common.serialization.codec import ALLOWED_CLASS_PREFIXES
from baselines3.common.serialization.errors import ModelLoadError, UnsafeObjectsSkippedWarning
from baselines3.common.serialization.helpers import (
    is_json_serializable,
    load_from_pkl,
    open_path_pathlib,
    open_path_str,
    recursive_getattr,
    recursive_setattr,
    save_to_pkl,
)
from baselines3.common.serialization.paths import open_path
from baselines3.common.serialization.spaces_json import space_from_json, space_to_json
from baselines3.common.utils import get_device

__all__ = [
    "ALLOWED_CLASS_PREFIXES",
    "ARRAYS_META_KEY",
    "DATA_MEMBER",
    "FORMAT_MEMBER",
    "FORMAT_VERSION",
    "MODEL_CLASSES",
    "PICKLE_MEMBER",
    "SUPPORTED_FORMAT_VERSIONS",
    "SYSTEM_INFO_MEMBER",
    "VARIABLES_MEMBER",
    "VERSION_MEMBER",
    "ModelLoadError",
    "UnsafeObjectsSkippedWarning",
    "atomic_write",
    "atomic_write_text",
    "data_to_json",
    "get_device",
    "is_json_serializable",
    "json_to_data",
    "load_arrays",
    "load_from_pkl",
    "load_from_zip_file",
    "open_path",
    "open_path_pathlib",
    "open_path_str",
    "recursive_getattr",
    "recursive_setattr",
    "save_arrays",
    "save_to_pkl",
    "save_to_zip_file",
    "space_from_json",
    "space_to_json",
]

"""Gymnasium spaces as JSON and back (Box, Discrete, MultiDiscrete, MultiBinary, Dict, Tuple).

A space is an object tagged ``{"__space__": "<type>", ...}``; reading one checks every field, and dtypes are
limited to bool, integer and float, so a file cannot make a space of arbitrary objects.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces

from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.serialization.limits import current_limits, space_elements

__all__ = ["NUMERIC_KINDS", "TAG_SPACE", "space_from_json", "space_to_json"]

#: The tag of a space description.
TAG_SPACE = "__space__"
#: NumPy dtype kinds allowed in arrays and spaces: bool, signed/unsigned int, float.
NUMERIC_KINDS = "biuf"
_SUPPORTED_SPACES = ("Box", "Discrete", "MultiDiscrete", "MultiBinary", "Dict", "Tuple")


def nonfinite_to_str(value: float) -> float | str:
    """JSON has no inf/nan: write them as the strings NumPy parses back ("inf", "-inf", "nan")."""
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def array_to_json(array: np.ndarray) -> Any:
    """Nested lists of Python numbers, with non-finite floats as strings."""
    if array.dtype.kind == "f":
        flat = [nonfinite_to_str(v) for v in array.ravel().tolist()]
        return np.array(flat, dtype=object).reshape(array.shape).tolist()
    return array.tolist()


def check_dtype(name: Any, where: str) -> np.dtype:
    """A NumPy dtype from its name, limited to bool/int/uint/float."""
    if not isinstance(name, str):
        raise ModelLoadError(f"{where}: a dtype must be given by name (e.g. 'float32'), got {name!r}")
    try:
        dtype = np.dtype(name)
    except TypeError as error:
        raise ModelLoadError(f"{where}: unknown dtype {name!r}") from error
    if dtype.kind not in NUMERIC_KINDS:
        raise ModelLoadError(f"{where}: dtype {name!r} is not allowed; expected a bool, integer or float dtype")
    return dtype


def array_from_json(value: Any, dtype: np.dtype, where: str) -> np.ndarray:
    try:
        return np.array(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as error:
        raise ModelLoadError(f"{where}: cannot read {value!r} as an array of {dtype}: {error}") from error


def _bound_to_json(bound: np.ndarray) -> Any:
    """A Box bound: one number when all entries are equal (compact for images), else nested lists."""
    if bound.size > 0 and bool(np.all(bound == bound.flat[0])):
        return array_to_json(bound.reshape(-1)[:1])[0]
    return array_to_json(bound)


def space_to_json(space: spaces.Space[Any]) -> dict[str, Any]:
    """Describe a gymnasium space as JSON (Box, Discrete, MultiDiscrete, MultiBinary, Dict, Tuple).

    Raises ValueError for other space types, naming the supported ones.
    """
    kind = type(space)
    if kind is spaces.Box and isinstance(space, spaces.Box):
        return {
            TAG_SPACE: "Box",
            "shape": list(space.shape or ()),
            "dtype": str(space.dtype),
            "low": _bound_to_json(space.low),
            "high": _bound_to_json(space.high),
        }
    if kind is spaces.Discrete and isinstance(space, spaces.Discrete):
        return {
            TAG_SPACE: "Discrete",
            "n": int(space.n),
            "start": int(space.start),
            "dtype": str(space.dtype),
        }
    if kind is spaces.MultiDiscrete and isinstance(space, spaces.MultiDiscrete):
        return {
            TAG_SPACE: "MultiDiscrete",
            "nvec": space.nvec.tolist(),
            "start": space.start.tolist(),
            "dtype": str(space.dtype),
        }
    if kind is spaces.MultiBinary and isinstance(space, spaces.MultiBinary):
        n = np.asarray(space.n)
        return {TAG_SPACE: "MultiBinary", "n": int(n) if n.ndim == 0 else n.tolist()}
    if kind is spaces.Dict and isinstance(space, spaces.Dict):
        items = []
        for key, subspace in space.spaces.items():
            if not isinstance(key, str):
                raise ValueError(f"Dict space keys must be strings to be saved as JSON, got {key!r}")
            items.append([key, space_to_json(subspace)])
        return {TAG_SPACE: "Dict", "spaces": items}
    if kind is spaces.Tuple and isinstance(space, spaces.Tuple):
        return {TAG_SPACE: "Tuple", "spaces": [space_to_json(subspace) for subspace in space.spaces]}
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


def space_from_json(obj: dict[str, Any], where: str = "space") -> spaces.Space[Any]:
    """Rebuild a space described by :func:`space_to_json`; ModelLoadError on a malformed description."""
    if not isinstance(obj, dict) or TAG_SPACE not in obj:
        raise ModelLoadError(f"{where}: expected a space description with a {TAG_SPACE!r} key, got {obj!r}")
    kind = obj[TAG_SPACE]
    elements, limit = space_elements(obj, where), current_limits().max_space_elements
    if elements > limit:
        raise ModelLoadError(
            f"{where}: the {kind} space has {elements} elements, more than the limit of {limit} "
            "(LoadLimits.max_space_elements)"
        )
    try:
        if kind == "Box":
            _fields(obj, {TAG_SPACE, "shape", "dtype", "low", "high"}, where)
            dtype = check_dtype(obj["dtype"], f"{where}.dtype")
            if not isinstance(obj["shape"], list):
                raise ModelLoadError(f"{where}.shape: expected a list of integers, got {obj['shape']!r}")
            shape = tuple(_int_field(dim, f"{where}.shape") for dim in obj["shape"])
            low = np.broadcast_to(array_from_json(obj["low"], dtype, f"{where}.low"), shape).copy()
            high = np.broadcast_to(array_from_json(obj["high"], dtype, f"{where}.high"), shape).copy()
            return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
        if kind == "Discrete":
            _fields(obj, {TAG_SPACE, "n", "start", "dtype"}, where)
            return spaces.Discrete(
                _int_field(obj["n"], f"{where}.n"),
                start=_int_field(obj["start"], f"{where}.start"),
                dtype=check_dtype(obj["dtype"], f"{where}.dtype"),
            )
        if kind == "MultiDiscrete":
            _fields(obj, {TAG_SPACE, "nvec", "start", "dtype"}, where)
            dtype = check_dtype(obj["dtype"], f"{where}.dtype")
            nvec = array_from_json(obj["nvec"], dtype, f"{where}.nvec")
            start = array_from_json(obj["start"], dtype, f"{where}.start")
            return spaces.MultiDiscrete(nvec, dtype=dtype, start=start)
        if kind == "MultiBinary":
            _fields(obj, {TAG_SPACE, "n"}, where)
            n = obj["n"]
            if isinstance(n, list):
                return spaces.MultiBinary([_int_field(dim, f"{where}.n") for dim in n])
            return spaces.MultiBinary(_int_field(n, f"{where}.n"))
        if kind == "Dict":
            _fields(obj, {TAG_SPACE, "spaces"}, where)
            items = obj["spaces"]
            if not isinstance(items, list) or not all(
                isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) for item in items
            ):
                raise ModelLoadError(f"{where}.spaces: expected a list of [key, space] pairs, got {items!r}")
            return spaces.Dict([(key, space_from_json(sub, f"{where}[{key!r}]")) for key, sub in items])
        if kind == "Tuple":
            _fields(obj, {TAG_SPACE, "spaces"}, where)
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

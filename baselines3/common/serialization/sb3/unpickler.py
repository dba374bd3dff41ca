"""The restricted unpickler for Stable-Baselines3 files: it imports nothing and runs no code from the file.

``find_class`` answers only for globals on the allow-list (:mod:`.allow_list`), with an inert stand-in class that
records what the pickle says (its arguments and state); no function or class of any library is called while
unpickling. :func:`restricted_loads` then turns the stand-ins into real values (our spaces, schedules, arrays of
numeric dtypes, noise objects), validating each.
"""

from __future__ import annotations

import io
import pickle
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common import torch_layers
from baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise, VectorizedActionNoise
from baselines3.common.schedules import ConstantSchedule, LinearSchedule, Schedule
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.serialization.sb3.allow_list import kind_of

__all__ = [
    "DISCARDED_VALUE",
    "CollectedState",
    "Discarded",
    "RefusedPickleError",
    "RestrictedUnpickler",
    "SB3Class",
    "SB3ImportWarning",
    "as_float",
    "as_int",
    "restricted_loads",
    "warn_sb3",
]


class SB3ImportWarning(UserWarning):
    """Something in a Stable-Baselines3 file was skipped or replaced while importing it."""


class RefusedPickleError(pickle.UnpicklingError):
    """A pickle names a global that is not on the allow-list of data classes."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"refusing to import {name!r}: it is not one of the data classes a Stable-Baselines3 file may name"
        )
        self.name = name


def warn_sb3(message: str) -> None:
    """Warn with :class:`SB3ImportWarning`, pointing at the code that called ``load``."""
    warnings.warn(message, SB3ImportWarning, stacklevel=5)


# ----------------------------------------------------------------------------------------------------------
# Unpickling into stand-ins
# ----------------------------------------------------------------------------------------------------------


class _Stub:
    """An inert stand-in for an allowed class or function: records its arguments, state and items."""

    origin: str = ""
    kind: str = ""
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    state: Any
    items: list[tuple[Any, Any]]
    appended: list[Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> _Stub:
        self = object.__new__(cls)
        self.__dict__.update(args=args, kwargs=kwargs, state=None, items=[], appended=[])
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.__dict__["state"] = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__["items"].append((key, value))

    def append(self, value: Any) -> None:
        self.__dict__["appended"].append(value)

    def extend(self, values: Any) -> None:
        self.__dict__["appended"].extend(values)

    def __repr__(self) -> str:
        return f"<stand-in for {self.origin}>"


_STUB_CLASSES: dict[str, type[_Stub]] = {}


def _stub_class(origin: str, kind: str) -> type[_Stub]:
    if origin not in _STUB_CLASSES:
        _STUB_CLASSES[origin] = type(f"Stub[{origin}]", (_Stub,), {"origin": origin, "kind": kind})
    return _STUB_CLASSES[origin]


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that imports nothing: allowed globals become inert stand-ins, others are refused."""

    def find_class(self, module: str, name: str) -> Any:
        kind = kind_of(module, name)
        if kind is None:
            raise RefusedPickleError(f"{module}.{name}")
        return _stub_class(f"{module}.{name}", kind)

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError(f"refusing persistent id {pid!r}")


def restricted_loads(raw: bytes, where: str = "pickle") -> Any:
    """Unpickle ``raw`` with :class:`RestrictedUnpickler` and turn the stand-ins into values.

    Raises RefusedPickleError for a global outside the allow-list and ModelLoadError for anything malformed.
    """
    try:
        loaded = RestrictedUnpickler(io.BytesIO(raw)).load()
    except RefusedPickleError:
        raise
    except Exception as error:  # a corrupt pickle can fail in many ways
        raise ModelLoadError(f"{where}: not a readable pickle: {type(error).__name__}: {error}") from error
    try:
        return _materialize(loaded, where)
    except RecursionError as error:
        raise ModelLoadError(f"{where}: values nested too deeply (or cyclic)") from error


# ----------------------------------------------------------------------------------------------------------
# Stand-ins -> values
# ----------------------------------------------------------------------------------------------------------


class SB3Class:
    """A class a Stable-Baselines3 file names that maps onto something of ours only in context (policies,
    buffers)."""

    def __init__(self, origin: str, kind: str) -> None:
        self.origin = origin
        self.kind = kind

    @property
    def name(self) -> str:
        return self.origin.rsplit(".", 1)[1]

    @property
    def module(self) -> str:
        return self.origin.rsplit(".", 1)[0]

    def __repr__(self) -> str:
        return f"<class {self.origin}>"


class Discarded:
    """What an ignored value (a random generator's state, a device) turns into."""

    def __repr__(self) -> str:
        return "<discarded>"


DISCARDED_VALUE = Discarded()
_NUMERIC_KINDS = "biuf"


def _state_dict(stub: _Stub, where: str) -> dict[str, Any]:
    state = stub.state
    if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or isinstance(state[0], dict)):
        state = {**(state[0] or {}), **(state[1] or {})}  # (dict state, slot state)
    if state is None:
        state = {}
    if not isinstance(state, dict):
        raise ModelLoadError(f"{where}: {stub.origin} has state {type(state).__name__}, expected a dict")
    return state


def _check_dtype(dtype: Any, where: str) -> np.dtype:
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None:
        raise ModelLoadError(f"{where}: dtype {dtype!r} is not allowed; expected a bool, integer or float dtype")
    return dtype


def _to_dtype(stub: _Stub, where: str) -> np.dtype:
    if not stub.args or not isinstance(stub.args[0], str):
        raise ModelLoadError(f"{where}: a dtype must be given by a name such as 'f4', got {stub.args!r}")
    try:
        dtype = np.dtype(stub.args[0])
    except TypeError as error:
        raise ModelLoadError(f"{where}: unknown dtype {stub.args[0]!r}") from error
    _check_dtype(dtype, where)
    state = stub.state
    if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">") and dtype.itemsize > 1:
        dtype = dtype.newbyteorder(state[1])
    return dtype


def _array(buffer: Any, dtype: Any, shape: Any, order: str, where: str) -> np.ndarray:
    dtype = _check_dtype(dtype, where)
    if isinstance(buffer, bytearray):
        buffer = bytes(buffer)
    if not isinstance(buffer, bytes):
        raise ModelLoadError(f"{where}: array data must be bytes, got {type(buffer).__name__}")
    if not isinstance(shape, tuple) or not all(isinstance(dim, int) and dim >= 0 for dim in shape):
        raise ModelLoadError(f"{where}: invalid array shape {shape!r}")
    if order not in ("C", "F"):
        raise ModelLoadError(f"{where}: invalid array order {order!r}")
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(buffer) != expected:
        raise ModelLoadError(
            f"{where}: array of shape {shape} and dtype {dtype} needs {expected} bytes, got {len(buffer)}"
        )
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if order == "F" else "C").copy()


def as_int(value: Any, where: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu":
            return int(value)
        raise ModelLoadError(f"{where}: expected an integer, got {value!r}")
    return int(value)


def as_float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ModelLoadError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _space(stub: _Stub, where: str) -> spaces.Space[Any]:
    state = _state_dict(stub, where)
    name = stub.origin.rsplit(".", 1)[1]
    shape = state.get("_shape", state.get("shape"))
    try:
        if name == "Box":
            dtype = _check_dtype(state.get("dtype"), f"{where}.dtype")
            low, high = state.get("low"), state.get("high")
            if not isinstance(low, np.ndarray) or not isinstance(high, np.ndarray):
                raise ModelLoadError(f"{where}: a Box needs low and high arrays, got {low!r} and {high!r}")
            return spaces.Box(low=low, high=high, shape=tuple(shape) if shape is not None else None, dtype=dtype)
        if name == "Discrete":
            dtype = state.get("dtype", np.dtype(np.int64))
            return spaces.Discrete(
                as_int(state.get("n"), f"{where}.n"),
                start=as_int(state.get("start", 0), f"{where}.start"),
                dtype=_check_dtype(dtype, f"{where}.dtype"),
            )
        if name == "MultiDiscrete":
            nvec = state.get("nvec")
            if not isinstance(nvec, np.ndarray):
                raise ModelLoadError(f"{where}: a MultiDiscrete needs an nvec array, got {nvec!r}")
            dtype = _check_dtype(state.get("dtype", nvec.dtype), f"{where}.dtype")
            start = state.get("start")
            return spaces.MultiDiscrete(nvec, dtype=dtype, start=start)
        if name == "MultiBinary":
            n = state.get("n")
            if isinstance(n, (tuple, list, np.ndarray)):
                return spaces.MultiBinary([as_int(dim, f"{where}.n") for dim in np.asarray(n).reshape(-1)])
            return spaces.MultiBinary(as_int(n, f"{where}.n"))
        if name == "Dict":
            subspaces = state.get("spaces")
            if not isinstance(subspaces, dict):
                raise ModelLoadError(f"{where}: a Dict space needs a dict of spaces, got {subspaces!r}")
            items = []
            for key, sub in subspaces.items():
                if not isinstance(key, str) or not isinstance(sub, spaces.Space):
                    raise ModelLoadError(f"{where}: Dict entry {key!r} is not a space: {sub!r}")
                items.append((key, sub))
            return spaces.Dict(items)
        if name == "Tuple":
            subspaces = state.get("spaces")
            if not isinstance(subspaces, (tuple, list)) or not all(isinstance(s, spaces.Space) for s in subspaces):
                raise ModelLoadError(f"{where}: a Tuple space needs a sequence of spaces, got {subspaces!r}")
            return spaces.Tuple(tuple(subspaces))
    except ModelLoadError:
        raise
    except (ValueError, TypeError, AssertionError) as error:
        raise ModelLoadError(f"{where}: invalid {name} space {state!r}: {error}") from error
    raise ModelLoadError(f"{where}: unsupported space {stub.origin}")  # pragma: no cover - guarded by kind_of


def _schedule(stub: _Stub, where: str) -> Schedule:
    state = _state_dict(stub, where)
    if stub.kind == "float_schedule":
        inner = state.get("value_schedule")
        if isinstance(inner, Schedule):
            return inner
        return ConstantSchedule(as_float(inner, f"{where}.value_schedule"))
    if stub.kind == "constant_schedule":
        return ConstantSchedule(as_float(state.get("val"), f"{where}.val"))
    return LinearSchedule(
        as_float(state.get("start"), f"{where}.start"),
        as_float(state.get("end"), f"{where}.end"),
        as_float(state.get("end_fraction"), f"{where}.end_fraction"),
    )


def _noise(stub: _Stub, where: str) -> Any:
    state = _state_dict(stub, where)
    try:
        if stub.kind == "normal_noise":
            return NormalActionNoise(mean=state["_mu"], sigma=state["_sigma"])
        if stub.kind == "ou_noise":
            return OrnsteinUhlenbeckActionNoise(
                mean=state["_mu"],
                sigma=state["_sigma"],
                theta=as_float(state["_theta"], f"{where}._theta"),
                dt=as_float(state["_dt"], f"{where}._dt"),
                initial_noise=state.get("initial_noise"),
            )
        return VectorizedActionNoise(state["base_noise"], as_int(state["n_envs"], f"{where}.n_envs"))
    except (KeyError, TypeError, ValueError) as error:
        raise ModelLoadError(f"{where}: cannot rebuild {stub.origin} from {sorted(state)}: {error}") from error


def _class_value(stub_class: type[_Stub], where: str) -> Any:
    """A class named by the pickle (not instantiated): ours, a torch class, or an SB3Class marker."""
    origin, kind = stub_class.origin, stub_class.kind
    module, name = origin.rsplit(".", 1)
    if kind == "torch_class":
        value = getattr(torch.optim if module.startswith("torch.optim") else torch.nn, name, None)
        if not isinstance(value, type) or value.__module__ != module:
            raise ModelLoadError(f"{where}: {origin} is not available in this torch")
        return value
    if kind == "extractor":
        return getattr(torch_layers, name)
    if kind == "numpy_type":
        return np.dtype(name.rstrip("_")).type
    if kind in ("policy", "buffer"):
        return SB3Class(origin, kind)
    if kind == "ndarray":
        return np.ndarray
    raise ModelLoadError(f"{where}: {origin} is not usable as a value")


def _materialize(value: Any, where: str) -> Any:
    """Replace the stand-ins in an unpickled value by real values, checking each (a stand-in the pickle refers
    to twice is converted once)."""
    if isinstance(value, _Stub):
        done = value.__dict__.get("materialized")
        if done is None:
            done = value.__dict__["materialized"] = (_materialize_one(value, where),)
        return done[0]
    return _materialize_one(value, where)


def _materialize_one(value: Any, where: str) -> Any:
    kind_of_value = type(value)
    if value is None or kind_of_value in (bool, int, float, str, bytes, complex):
        return value
    if kind_of_value is bytearray:
        return bytes(value)
    if kind_of_value is list:
        return [_materialize(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if kind_of_value is tuple:
        return tuple(_materialize(item, f"{where}[{i}]") for i, item in enumerate(value))
    if kind_of_value in (set, frozenset):
        return kind_of_value(_materialize(item, where) for item in value)
    if kind_of_value is dict:
        return {_materialize(k, f"{where}.<key>"): _materialize(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, type) and issubclass(value, _Stub):
        return _class_value(value, where)
    if not isinstance(value, _Stub):
        raise ModelLoadError(f"{where}: unexpected {kind_of_value.__name__} in the pickle")
    kind, args = value.kind, value.args
    if kind == "discarded":
        return DISCARDED_VALUE
    if kind == "encode":  # protocol-2 bytes: _codecs.encode(text, "latin1")
        if len(args) != 2 or not isinstance(args[0], str) or args[1] != "latin1":
            raise ModelLoadError(f"{where}: unexpected _codecs.encode arguments {args!r}")
        return args[0].encode("latin1")
    if kind == "odict":
        items = [(_materialize(k, f"{where}.<key>"), _materialize(v, f"{where}.{k}")) for k, v in value.items]
        if args and isinstance(args[0], list):
            items = [tuple(_materialize(pair, where)) for pair in args[0]] + items
        return OrderedDict(items)
    if kind == "deque":
        initial = _materialize(args[0], where) if args else []
        return [*list(initial), *(_materialize(v, where) for v in value.appended)]
    if kind == "dtype":
        return _to_dtype(value, where)
    if kind == "frombuffer":
        buffer, dtype, shape, order = (_materialize(arg, where) for arg in (*args, None, None, None, None)[:4])
        return _array(buffer, dtype, shape, order or "C", where)
    if kind == "reconstruct":
        state = _materialize(value.state, where)
        if not isinstance(state, tuple) or len(state) != 5:
            raise ModelLoadError(f"{where}: unexpected ndarray state {state!r}")
        _, shape, dtype, fortran, data = state
        return _array(data, dtype, shape, "F" if fortran else "C", where)
    if kind == "scalar":
        dtype, data = (_materialize(arg, where) for arg in (*args, None, None)[:2])
        return _array(data, dtype, (), "C", where)[()]
    if kind == "space":
        value.state = _materialize(value.state, where)
        return _space(value, where)
    # everything else is read from its (materialized) state
    value.state = _materialize(value.state, where)
    value.args = _materialize(args, where)
    if kind in ("float_schedule", "constant_schedule", "linear_schedule"):
        return _schedule(value, where)
    if kind in ("normal_noise", "ou_noise", "vectorized_noise"):
        return _noise(value, where)
    if kind == "train_freq":
        if len(value.args) != 2:
            raise ModelLoadError(f"{where}: TrainFreq needs (frequency, unit), got {value.args!r}")
        return (as_int(value.args[0], f"{where}.frequency"), value.args[1])
    if kind == "train_freq_unit":
        if len(value.args) != 1 or value.args[0] not in ("step", "episode"):
            raise ModelLoadError(f"{where}: unknown train frequency unit {value.args!r}")
        return value.args[0]
    if kind in ("vec_normalize", "running_mean_std", "buffer"):
        return CollectedState(value.origin, _state_dict(value, where))
    raise ModelLoadError(f"{where}: {value.origin} cannot be rebuilt as a value")


class CollectedState:
    """The state of an SB3 object (VecNormalize, RunningMeanStd, a replay buffer), without the object."""

    def __init__(self, origin: str, state: dict[str, Any]) -> None:
        self.origin = origin
        self.state = state

    def __repr__(self) -> str:
        return f"<state of {self.origin}>"

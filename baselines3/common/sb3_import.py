"""Reading files saved by Stable-Baselines3 (SB3) and sb3-contrib without running any code from them.

SB3 writes a model as a zip whose ``data`` member is JSON; values JSON has no type for (spaces, schedules,
classes, NumPy arrays) are base64 pickles under a ``":serialized:"`` key. Its ``vec_normalize.pkl`` and replay
buffer ``.pkl`` files are plain pickles. Unpickling normally imports and calls whatever the file names, so here
every pickle goes through :class:`RestrictedUnpickler`:

- ``find_class`` answers only for names on an allow-list of data classes (spaces, NumPy array/dtype/scalar
  reconstruction, SB3 schedules, torch activation and optimizer classes, SB3 policy, feature-extractor, buffer
  and noise classes...). It returns an inert stand-in class that only records what the pickle says (its
  arguments and state); no function or class of any library is called while unpickling. Any other name (a
  lambda, cloudpickle's code reconstruction, ``os.system``, a user's class) raises :class:`RefusedPickleError`.
- :func:`_materialize` then turns the stand-ins into real values (our spaces, schedules, arrays of numeric
  dtypes, our policy classes), validating each.

A refused field that a model can run without (a lambda learning rate or clip range, SB3's runtime state) is
skipped with an :class:`SB3ImportWarning`; one it needs (spaces, policy class, policy_kwargs) raises
:class:`~baselines3.common.save_util.ModelLoadError` naming the field. Weights are read with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import inspect
import io
import json
import os
import pathlib
import pickle
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common import save_util
from baselines3.common.save_util import ModelLoadError
from baselines3.common.schedules import ConstantSchedule, LinearSchedule, Schedule

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm
    from baselines3.common.vec_env import VecEnv, VecNormalize

__all__ = [
    "SB3_POLICY_MODULES",
    "RefusedPickleError",
    "RestrictedUnpickler",
    "SB3ImportWarning",
    "fit_params",
    "is_sb3_archive",
    "load_sb3_replay_buffer",
    "read_sb3_archive",
    "restricted_loads",
    "vec_normalize_from_sb3_pickle",
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


#: Algorithm name -> modules of SB3 / sb3-contrib whose policy classes that algorithm's files name.
#: A new algorithm needs one line here (its files are then mapped onto its own ``policy_aliases``).
SB3_POLICY_MODULES: dict[str, tuple[str, ...]] = {
    "PPO": (
        "stable_baselines3.common.policies",
        "stable_baselines3.ppo.policies",
        "sb3_contrib.common.recurrent.policies",
        "sb3_contrib.ppo_recurrent.policies",
    ),
    "RecurrentPPO": ("sb3_contrib.common.recurrent.policies", "sb3_contrib.ppo_recurrent.policies"),
    "A2C": ("stable_baselines3.common.policies", "stable_baselines3.a2c.policies"),
    "DQN": ("stable_baselines3.dqn.policies",),
    "SAC": ("stable_baselines3.sac.policies",),
    "TD3": ("stable_baselines3.td3.policies",),
    "DDPG": ("stable_baselines3.td3.policies", "stable_baselines3.ddpg.policies"),
}

#: SB3 policy class name -> the policy alias that names our equivalent (looked up in ``cls.policy_aliases``).
_POLICY_ALIAS_OF: dict[str, str] = {
    "ActorCriticPolicy": "MlpPolicy",
    "ActorCriticCnnPolicy": "CnnPolicy",
    "MultiInputActorCriticPolicy": "MultiInputPolicy",
    "RecurrentActorCriticPolicy": "MlpLstmPolicy",
    "RecurrentActorCriticCnnPolicy": "CnnLstmPolicy",
    "RecurrentMultiInputActorCriticPolicy": "MultiInputLstmPolicy",
    "DQNPolicy": "MlpPolicy",
    "SACPolicy": "MlpPolicy",
    "TD3Policy": "MlpPolicy",
    "MlpPolicy": "MlpPolicy",
    "CnnPolicy": "CnnPolicy",
    "MultiInputPolicy": "MultiInputPolicy",
    "MlpLstmPolicy": "MlpLstmPolicy",
    "CnnLstmPolicy": "CnnLstmPolicy",
    "MultiInputLstmPolicy": "MultiInputLstmPolicy",
}

# ----------------------------------------------------------------------------------------------------------
# The allow-list
# ----------------------------------------------------------------------------------------------------------

_SPACE_MODULES = {
    "Box": "box",
    "Discrete": "discrete",
    "MultiDiscrete": "multi_discrete",
    "MultiBinary": "multi_binary",
    "Dict": "dict",
    "Tuple": "tuple",
}
_ACTIVATIONS = frozenset(
    [
        "ReLU",
        "Tanh",
        "ELU",
        "LeakyReLU",
        "SiLU",
        "GELU",
        "Sigmoid",
        "Softplus",
        "Mish",
        "Hardtanh",
        "SELU",
        "CELU",
        "ReLU6",
        "Hardswish",
        "Hardsigmoid",
        "LogSigmoid",
        "Tanhshrink",
        "Softsign",
        "PReLU",
        "Identity",
    ]
)
_OPTIMIZERS = {
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "sgd": "SGD",
    "adamax": "Adamax",
    "nadam": "NAdam",
    "radam": "RAdam",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
}
_FEATURE_EXTRACTORS = frozenset({"NatureCNN", "FlattenExtractor", "CombinedExtractor"})
_NUMPY_SCALAR_TYPES = frozenset(
    ["bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"]
)
_BUFFER_CLASSES = frozenset(
    {
        "stable_baselines3.common.buffers.ReplayBuffer",
        "stable_baselines3.common.buffers.DictReplayBuffer",
        "stable_baselines3.common.buffers.RolloutBuffer",
        "stable_baselines3.common.buffers.DictRolloutBuffer",
        "sb3_contrib.common.recurrent.buffers.RecurrentRolloutBuffer",
        "sb3_contrib.common.recurrent.buffers.RecurrentDictRolloutBuffer",
    }
)
# Pickled random generators (spaces keep theirs) and devices: read, then thrown away.
_DISCARDED = frozenset(
    {
        "numpy.random._pickle.__generator_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random.__RandomState_ctor",
        "numpy.random._pcg64.PCG64",
        "numpy.random._mt19937.MT19937",
        "numpy.random._philox.Philox",
        "numpy.random._sfc64.SFC64",
        "numpy.random._generator.Generator",
        "numpy.random.mtrand.RandomState",
        "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
        "numpy.random.bit_generator.SeedSequence",
        "torch.device",
    }
)
_NAMED = {
    "numpy._core.numeric._frombuffer": "frombuffer",
    "numpy.core.numeric._frombuffer": "frombuffer",
    "numpy._core.multiarray._reconstruct": "reconstruct",
    "numpy.core.multiarray._reconstruct": "reconstruct",
    "numpy._core.multiarray.scalar": "scalar",
    "numpy.core.multiarray.scalar": "scalar",
    "numpy.ndarray": "ndarray",
    "numpy.dtype": "dtype",
    "_codecs.encode": "encode",
    "collections.OrderedDict": "odict",
    "collections.deque": "deque",
    "stable_baselines3.common.utils.FloatSchedule": "float_schedule",
    "stable_baselines3.common.utils.ConstantSchedule": "constant_schedule",
    "stable_baselines3.common.utils.LinearSchedule": "linear_schedule",
    "stable_baselines3.common.type_aliases.TrainFreq": "train_freq",
    "stable_baselines3.common.type_aliases.TrainFrequencyUnit": "train_freq_unit",
    "stable_baselines3.common.noise.NormalActionNoise": "normal_noise",
    "stable_baselines3.common.noise.OrnsteinUhlenbeckActionNoise": "ou_noise",
    "stable_baselines3.common.noise.VectorizedActionNoise": "vectorized_noise",
    "stable_baselines3.common.vec_env.vec_normalize.VecNormalize": "vec_normalize",
    "stable_baselines3.common.running_mean_std.RunningMeanStd": "running_mean_std",
    "stable_baselines3.common.buffers.ReplayBuffer": "buffer",
    "stable_baselines3.common.buffers.DictReplayBuffer": "buffer",
}


def _kind_of(module: str, name: str) -> str | None:
    """What an allowed global is (a key of the converters below), or None when it is not allowed."""
    path = f"{module}.{name}"
    if path in _NAMED:
        return _NAMED[path]
    if path in _DISCARDED:
        return "discarded"
    if path in _BUFFER_CLASSES:
        return "buffer"
    parts = module.split(".")
    if parts[0] in ("gymnasium", "gym") and parts[1:] == ["spaces", _SPACE_MODULES.get(name, "")]:
        return "space"
    if module == "torch.nn.modules.activation" and name in _ACTIVATIONS:
        return "torch_class"
    if module == "torch.nn.modules.linear" and name == "Identity":
        return "torch_class"
    if len(parts) == 3 and parts[:2] == ["torch", "optim"] and _OPTIMIZERS.get(parts[2]) == name:
        return "torch_class"
    if module == "stable_baselines3.common.torch_layers" and name in _FEATURE_EXTRACTORS:
        return "extractor"
    if module == "numpy" and name in _NUMPY_SCALAR_TYPES:
        return "numpy_type"
    if name in _POLICY_ALIAS_OF and any(module in modules for modules in SB3_POLICY_MODULES.values()):
        return "policy"
    return None


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
        kind = _kind_of(module, name)
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


class _Discarded:
    """What an ignored value (a random generator's state, a device) turns into."""

    def __repr__(self) -> str:
        return "<discarded>"


_DISCARDED_VALUE = _Discarded()
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


def _as_int(value: Any, where: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu":
            return int(value)
        raise ModelLoadError(f"{where}: expected an integer, got {value!r}")
    return int(value)


def _as_float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ModelLoadError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _space(stub: _Stub, where: str) -> spaces.Space:
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
                _as_int(state.get("n"), f"{where}.n"),
                start=_as_int(state.get("start", 0), f"{where}.start"),
                dtype=_check_dtype(dtype, f"{where}.dtype"),  # type: ignore[arg-type]
            )
        if name == "MultiDiscrete":
            nvec = state.get("nvec")
            if not isinstance(nvec, np.ndarray):
                raise ModelLoadError(f"{where}: a MultiDiscrete needs an nvec array, got {nvec!r}")
            dtype = _check_dtype(state.get("dtype", nvec.dtype), f"{where}.dtype")
            start = state.get("start")
            return spaces.MultiDiscrete(nvec, dtype=dtype, start=start)  # type: ignore[arg-type]
        if name == "MultiBinary":
            n = state.get("n")
            if isinstance(n, (tuple, list, np.ndarray)):
                return spaces.MultiBinary([_as_int(dim, f"{where}.n") for dim in np.asarray(n).reshape(-1)])
            return spaces.MultiBinary(_as_int(n, f"{where}.n"))
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
    raise ModelLoadError(f"{where}: unsupported space {stub.origin}")  # pragma: no cover - guarded by _kind_of


def _schedule(stub: _Stub, where: str) -> Schedule:
    state = _state_dict(stub, where)
    if stub.kind == "float_schedule":
        inner = state.get("value_schedule")
        if isinstance(inner, Schedule):
            return inner
        return ConstantSchedule(_as_float(inner, f"{where}.value_schedule"))
    if stub.kind == "constant_schedule":
        return ConstantSchedule(_as_float(state.get("val"), f"{where}.val"))
    return LinearSchedule(
        _as_float(state.get("start"), f"{where}.start"),
        _as_float(state.get("end"), f"{where}.end"),
        _as_float(state.get("end_fraction"), f"{where}.end_fraction"),
    )


def _noise(stub: _Stub, where: str) -> Any:
    from baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise, VectorizedActionNoise

    state = _state_dict(stub, where)
    try:
        if stub.kind == "normal_noise":
            return NormalActionNoise(mean=state["_mu"], sigma=state["_sigma"])
        if stub.kind == "ou_noise":
            return OrnsteinUhlenbeckActionNoise(
                mean=state["_mu"],
                sigma=state["_sigma"],
                theta=_as_float(state["_theta"], f"{where}._theta"),
                dt=_as_float(state["_dt"], f"{where}._dt"),
                initial_noise=state.get("initial_noise"),
            )
        return VectorizedActionNoise(state["base_noise"], _as_int(state["n_envs"], f"{where}.n_envs"))
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
        from baselines3.common import torch_layers

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
        return _DISCARDED_VALUE
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
        return (_as_int(value.args[0], f"{where}.frequency"), value.args[1])
    if kind == "train_freq_unit":
        if len(value.args) != 1 or value.args[0] not in ("step", "episode"):
            raise ModelLoadError(f"{where}: unknown train frequency unit {value.args!r}")
        return value.args[0]
    if kind in ("vec_normalize", "running_mean_std", "buffer"):
        return _Collected(value.origin, _state_dict(value, where))
    raise ModelLoadError(f"{where}: {value.origin} cannot be rebuilt as a value")


class _Collected:
    """The state of an SB3 object (VecNormalize, RunningMeanStd, a replay buffer), without the object."""

    def __init__(self, origin: str, state: dict[str, Any]) -> None:
        self.origin = origin
        self.state = state

    def __repr__(self) -> str:
        return f"<state of {self.origin}>"


# ----------------------------------------------------------------------------------------------------------
# Model archives
# ----------------------------------------------------------------------------------------------------------

#: SB3 fields that hold runtime state we do not restore (the env is reset on load anyway), or that our models
#: rebuild from other fields (schedules derived from hyperparameters).
_IGNORED_FIELDS = frozenset(
    {
        "start_time",
        "_last_obs",
        "_last_episode_starts",
        "_last_original_obs",
        "_last_lstm_states",
        "ep_info_buffer",
        "ep_success_buffer",
        "_num_timesteps_at_start",
        "_stats_window_size",
        "lr_schedule",
        "exploration_schedule",
        "exploration_rate",
        "_n_calls",
        "batch_norm_stats",
        "batch_norm_stats_target",
        "actor_batch_norm_stats",
        "critic_batch_norm_stats",
        "actor_batch_norm_stats_target",
        "critic_batch_norm_stats_target",
        "policy_class",
        "observation_space",
        "action_space",
        "n_envs",
        "tensorboard_log",
        "verbose",
        "device",
        "env",
        "policy",
        "use_sde_at_warmup",
        "use_sde",
        "sde_sample_freq",
    }
)
#: Fields an algorithm fixes itself (SB3's DDPG is a TD3 with these set).
_FIXED_BY_ALGORITHM: dict[str, frozenset[str]] = {
    "DDPG": frozenset({"policy_delay", "target_noise_clip", "target_policy_noise"}),
    # sb3-contrib's RecurrentPPO stores them (its base class has them) but always uses its own sequence buffer
    "RecurrentPPO": frozenset({"rollout_buffer_class", "rollout_buffer_kwargs"}),
}
_NOT_HYPERPARAMETERS = frozenset({"self", "policy", "env", "device", "_init_setup_model"})
_COUNTERS = ("num_timesteps", "_total_timesteps", "_episode_num", "_n_updates", "_current_progress_remaining")
_REQUIRED = ("observation_space", "action_space", "policy_class", "policy_kwargs")


def _source(load_path: Any) -> tuple[Any, str]:
    if isinstance(load_path, (str, os.PathLike)):
        path = pathlib.Path(load_path)
        if not path.is_file() and not path.name.lower().endswith(".zip"):
            path = path.with_name(path.name + ".zip")
        return str(path), str(path)
    return load_path, str(getattr(load_path, "name", f"<{type(load_path).__name__}>"))


def is_sb3_archive(load_path: Any) -> bool:
    """Whether ``load_path`` (a path, with or without ``.zip``, or a seekable binary file) is a zip saved by
    Stable-Baselines3 or sb3-contrib (a ``data`` member and none of baselines3's own)."""
    source, _ = _source(load_path)
    if isinstance(source, str) and not os.path.isfile(source):
        return False
    position = None
    if not isinstance(source, str):
        if not (hasattr(source, "seek") and hasattr(source, "tell")):
            return False
        position = source.tell()
    try:
        with zipfile.ZipFile(source) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False
    finally:
        if position is not None:
            source.seek(position)
    return "data" in names and save_util.DATA_MEMBER not in names and save_util.FORMAT_MEMBER not in names


class _SB3Params(dict):
    """The params of an SB3 file, before :func:`fit_params`."""


class SB3OptimizerState:
    """An SB3 optimizer state dict, kept until the model exists (see :func:`fit_params`)."""

    def __init__(self, state_dict: dict[str, Any], weights: dict[str, torch.Tensor]) -> None:
        self.state_dict = state_dict
        self.weights = weights


def _warn(message: str) -> None:
    warnings.warn(message, SB3ImportWarning, stacklevel=4)


def _decode_fields(json_data: dict[str, Any], label: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(values, refused): every field decoded; refused maps a field to why it could not be read."""
    values: dict[str, Any] = {}
    refused: dict[str, str] = {}
    for key, value in json_data.items():
        if not (isinstance(value, dict) and ":serialized:" in value):
            values[key] = value
            continue
        blob = value[":serialized:"]
        try:
            raw = base64.b64decode(blob.encode() if isinstance(blob, str) else b"", validate=False)
        except (binascii.Error, ValueError):
            refused[key] = "its base64 pickle is malformed"
            continue
        try:
            values[key] = restricted_loads(raw, f"{label}: field {key!r}")
        except RefusedPickleError as error:
            refused[key] = f"it needs {error.name!r}, which is not loaded (it could run code)"
        except ModelLoadError as error:
            refused[key] = str(error)
    return values, refused


def _policy_class(cls: type[BaseAlgorithm], value: Any, label: str) -> type:
    modules = SB3_POLICY_MODULES.get(cls.__name__, ())
    if not isinstance(value, SB3Class) or value.kind != "policy":
        raise ModelLoadError(f"{label}: field 'policy_class' is {value!r}, not a Stable-Baselines3 policy class")
    if value.module not in modules:
        raise ModelLoadError(
            f"{label}: its policy class {value.origin} is not one of {cls.__name__}'s (from {list(modules)}); "
            "load the file with the algorithm that saved it"
        )
    alias = _POLICY_ALIAS_OF.get(value.name)
    if alias is None or alias not in cls.policy_aliases:
        raise ModelLoadError(
            f"{label}: policy class {value.origin} has no equivalent in {cls.__name__} "
            f"(known: {sorted(cls.policy_aliases)})"
        )
    return cls.policy_aliases[alias]


def _check_policy_kwargs(policy_kwargs: Any, label: str) -> dict[str, Any]:
    if policy_kwargs is None:
        return {}
    if not isinstance(policy_kwargs, dict):
        raise ModelLoadError(f"{label}: field 'policy_kwargs' is {policy_kwargs!r}, expected a dict")
    # SB3's off-policy algorithms put their use_sde into policy_kwargs; ours pass it to the policy themselves
    policy_kwargs = {key: value for key, value in policy_kwargs.items() if key != "use_sde"}
    for key, value in policy_kwargs.items():
        if isinstance(value, SB3Class):
            raise ModelLoadError(f"{label}: policy_kwargs[{key!r}] names {value.origin}, which has no equivalent here")
    return policy_kwargs


def _buffer_class(value: Any, field: str, label: str) -> None:
    if value is None or (isinstance(value, SB3Class) and value.origin in _BUFFER_CLASSES):
        return
    _warn(f"{label}: field {field!r} ({value!r}) has no equivalent here; the default buffer is used instead")


def read_sb3_archive(
    load_path: str | os.PathLike[str] | IO[bytes],
    cls: type[BaseAlgorithm],
    device: torch.device | str = "auto",
    custom_objects: Mapping[str, Any] | None = None,
    print_system_info: bool = False,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """Read a Stable-Baselines3 zip for ``cls``: ``(data, params, pytorch_variables)`` as
    :func:`~baselines3.common.save_util.load_from_zip_file` gives for our own files.

    Optimizer states come back as :class:`SB3OptimizerState`; :func:`fit_params` converts them once the model
    is built. Fields that cannot be read safely are skipped with an :class:`SB3ImportWarning`, or refused with
    ModelLoadError when the model cannot run without them.
    """
    source, label = _source(load_path)
    custom = dict(custom_objects or {})
    torch_device = save_util.get_device(device)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ModelLoadError(f"{label} is not a valid zip archive: {error}") from error
    with archive:
        try:
            json_data = json.loads(save_util._read_member(archive, "data", label).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise ModelLoadError(f"{label}: member 'data' is not valid JSON: {error}") from error
        if not isinstance(json_data, dict):
            raise ModelLoadError(f"{label}: member 'data' must hold a JSON object")
        if print_system_info:
            print("== SAVED MODEL SYSTEM INFO ==")
            if "system_info.txt" in archive.namelist():
                print(save_util._read_member(archive, "system_info.txt", label).decode("utf-8", errors="replace"))
        tensors: dict[str, Any] = {}
        for member in archive.namelist():
            if member.endswith(".pth"):
                tensors[member[: -len(".pth")]] = save_util._load_tensors(archive, member, label, torch_device)

    values, refused = _decode_fields({k: v for k, v in json_data.items() if k not in custom}, label)
    values.update(custom)
    for key in _REQUIRED:
        if key in refused:
            raise ModelLoadError(f"{label}: field {key!r} cannot be imported: {refused[key]}")
        if key not in values and key != "policy_kwargs":
            raise ModelLoadError(f"{label}: field {key!r} is missing; pass it with custom_objects={{{key!r}: ...}}")

    data: dict[str, Any] = {"algorithm": cls.__name__}
    policy_class = values["policy_class"]
    data["policy_class"] = policy_class if isinstance(policy_class, type) else _policy_class(cls, policy_class, label)
    for key in ("observation_space", "action_space"):
        if not isinstance(values[key], spaces.Space):
            raise ModelLoadError(f"{label}: field {key!r} is {values[key]!r}, not a space")
        data[key] = values[key]
    data["n_envs"] = values.get("n_envs", 1)
    for key in _COUNTERS:
        if key in values:
            data[key] = values[key]

    init_params = inspect.signature(cls.__init__).parameters
    unknown: list[str] = []
    for key, value in values.items():
        if key in data or key in ("learning_rate", "policy_kwargs", "action_noise", "_stats_window_size"):
            continue
        if key in init_params and key not in _NOT_HYPERPARAMETERS:
            data[key] = value
        elif key not in _IGNORED_FIELDS and key not in _FIXED_BY_ALGORITHM.get(cls.__name__, ()):
            unknown.append(key)
    if "_stats_window_size" in values and "stats_window_size" in init_params:
        data["stats_window_size"] = values["_stats_window_size"]
    data["policy_kwargs"] = _check_policy_kwargs(values.get("policy_kwargs"), label)
    for field in ("replay_buffer_class", "rollout_buffer_class"):
        if field in data:
            _buffer_class(data[field], field, label)
            data[field] = None
    if "action_noise" in values and "action_noise" in init_params:
        data["action_noise"] = values["action_noise"]

    # learning rate: the saved value, a custom one, or the last rate the optimizer used
    learning_rate = values.get("learning_rate")
    if "lr_schedule" in custom and "learning_rate" not in custom:
        learning_rate = custom["lr_schedule"]
    elif "learning_rate" in refused:
        learning_rate = _last_learning_rate(tensors)
        _warn(
            f"{label}: the learning rate is a function that is not loaded ({refused['learning_rate']}); "
            f"the model uses a constant {learning_rate} (the optimizer's last rate) instead. Pass "
            "custom_objects={'learning_rate': ...} to choose another."
        )
    if learning_rate is not None:
        data["learning_rate"] = learning_rate

    for key, why in refused.items():
        if key in ("learning_rate", "lr_schedule") or key in _IGNORED_FIELDS:
            continue
        if key in init_params:
            data.pop(key, None)
            _warn(f"{label}: field {key!r} is skipped and {cls.__name__}'s default used instead: {why}")
    if unknown:
        _warn(f"{label}: fields {sorted(unknown)} have no equivalent in {cls.__name__} and are ignored")
    for key in data:
        if key in init_params and isinstance(data[key], (SB3Class, _Collected, _Discarded)):
            raise ModelLoadError(f"{label}: field {key!r} is {data[key]!r}, which has no equivalent here")

    params: dict[str, Any] = _SB3Params()
    weights = tensors.pop("policy", None)
    if not isinstance(weights, dict):
        raise ModelLoadError(f"{label}: member 'policy.pth' is missing or not a state dict")
    params["policy"] = weights
    variables = tensors.pop("pytorch_variables", None)
    for name, state in tensors.items():
        if isinstance(state, dict):
            params[name] = SB3OptimizerState(state, weights)
    return data, params, (dict(variables) if isinstance(variables, dict) and variables else None)


def _last_learning_rate(tensors: dict[str, Any]) -> float:
    for name in ("policy.optimizer", "actor.optimizer", "critic.optimizer"):
        state = tensors.get(name)
        with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
            return float(state["param_groups"][0]["lr"])  # type: ignore[index]
    return 3e-4


def _storage_key(tensor: torch.Tensor) -> tuple[int, int, tuple[int, ...]]:
    return (tensor.untyped_storage().data_ptr(), int(tensor.storage_offset()), tuple(tensor.shape))


def fit_params(model: BaseAlgorithm, params: dict[str, Any], label: Any = "") -> dict[str, Any]:
    """Turn what :func:`read_sb3_archive` returned into state dicts for ``model`` (a no-op for our own files).

    The policy weights keep their names (our modules are named like SB3's). Each SB3 optimizer's per-parameter
    state is concatenated into our single flat parameter when the parameters match one to one (names, order
    and shapes); otherwise the optimizer keeps its fresh state, with a warning.
    """
    if not isinstance(params, _SB3Params):
        return params
    from baselines3.common.base_class import _get_attr_path

    fitted: dict[str, Any] = {}
    weights = dict(params["policy"])
    own_weights = model.policy.state_dict()
    for key in own_weights:  # files from SB3 < 1.7 had one features extractor for actor and critic
        if key not in weights:
            for prefix in ("pi_features_extractor.", "vf_features_extractor."):
                shared = "features_extractor." + key[len(prefix) :]
                if key.startswith(prefix) and shared in weights:
                    weights[key] = weights[shared]
    fitted["policy"] = weights
    names, _ = model._torch_save_params()
    skipped: list[str] = []
    for name in names:
        if name == "policy":
            continue
        target = _get_attr_path(model, name)
        value = params.get(name)
        converted = None
        if isinstance(value, SB3OptimizerState):
            converted = _convert_optimizer(model, name, target, value)
        if converted is None:
            converted = target.state_dict()
            skipped.append(name)
        fitted[name] = converted
    extra = sorted(set(params) - set(names))
    if skipped or extra:
        _warn(
            f"{label}: optimizer state {sorted(set(skipped) | set(extra))} does not map onto this model's "
            "optimizers and was skipped (predictions are unaffected; training continues with fresh optimizer "
            "statistics)"
        )
    return fitted


def _convert_optimizer(
    model: BaseAlgorithm, name: str, optimizer: torch.optim.Optimizer, saved: SB3OptimizerState
) -> dict[str, Any] | None:
    """SB3's per-parameter optimizer state as the state of our optimizer over one flat parameter, or None."""
    from baselines3.common.base_class import _get_attr_path

    sb3_state = saved.state_dict
    try:
        sb3_params = [index for group in sb3_state["param_groups"] for index in group["params"]]
        per_param = sb3_state["state"]
        sb3_group = sb3_state["param_groups"][0]
    except (KeyError, TypeError, IndexError):
        return None
    own = optimizer.state_dict()
    if len(own["param_groups"]) != 1 or len(own["param_groups"][0]["params"]) != 1:
        return None
    owner_path = name[: -len(".optimizer")] if name.endswith(".optimizer") else None
    flat = _get_attr_path(model, owner_path).__dict__.get("flat_parameters") if owner_path else None
    if flat is None:  # an optimizer over a plain tensor (SAC's entropy coefficient): same layout as SB3's
        if len(sb3_params) != 1:
            return None
        state = per_param.get(sb3_params[0], {})
        return {
            "state": {own["param_groups"][0]["params"][0]: state} if state else {},
            "param_groups": _groups(own, sb3_group),
        }

    # names (as in policy.pth) of our flat parameters, in flat order
    aliases: dict[int, list[str]] = {}
    for param_name, param in model.policy.named_parameters(remove_duplicate=False):
        aliases.setdefault(id(param), []).append(param_name)
    own_names = [aliases.get(id(param), []) for param in flat.params]
    if any(not names for names in own_names):
        return None
    wanted = {alias for names in own_names for alias in names}
    # SB3's optimizer parameters, in its order: the matching policy.pth entries, shared tensors once
    seen: set[tuple[int, int, tuple[int, ...]]] = set()
    sb3_names: list[str] = []
    canonical: dict[str, str] = {}
    first_of: dict[tuple[int, int, tuple[int, ...]], str] = {}
    for key, tensor in saved.weights.items():
        if not isinstance(tensor, torch.Tensor):
            continue
        storage = _storage_key(tensor)
        if storage in first_of:
            canonical[key] = first_of[storage]
            continue
        first_of[storage] = key
        canonical[key] = key
        if key in wanted and storage not in seen:
            seen.add(storage)
            sb3_names.append(key)
    if len(sb3_names) != len(sb3_params):
        return None
    index_of = {key: sb3_params[i] for i, key in enumerate(sb3_names)}
    order = []
    for names in own_names:
        found = [index_of[canonical[alias]] for alias in names if canonical.get(alias) in index_of]
        if not found:
            return None
        order.append(found[0])
    if len(set(order)) != len(order):
        return None
    states = [per_param.get(index) for index in order]
    if all(not state for state in states):
        return {"state": {}, "param_groups": _groups(own, sb3_group)}
    if any(not state for state in states) or len({tuple(sorted(state)) for state in states}) != 1:
        return None
    merged: dict[str, Any] = {}
    for key in states[0]:
        pieces = [state[key] for state in states]
        if not all(isinstance(piece, torch.Tensor) for piece in pieces):
            return None
        if all(piece.shape == param.shape for piece, param in zip(pieces, flat.params)) and pieces[0].dim() > 0:
            merged[key] = torch.cat([piece.reshape(-1) for piece in pieces]).to(flat.flat.device)
        elif all(piece.numel() == 1 for piece in pieces) and len({float(piece) for piece in pieces}) == 1:
            merged[key] = pieces[0].clone()
        else:
            return None
    return {"state": {own["param_groups"][0]["params"][0]: merged}, "param_groups": _groups(own, sb3_group)}


def _groups(own: dict[str, Any], sb3_group: dict[str, Any]) -> list[dict[str, Any]]:
    group = dict(own["param_groups"][0])
    if isinstance(sb3_group.get("lr"), (int, float)):
        group["lr"] = sb3_group["lr"]
    return [group]


# ----------------------------------------------------------------------------------------------------------
# VecNormalize and replay buffers
# ----------------------------------------------------------------------------------------------------------


def _rms(value: Any, where: str) -> Any:
    from baselines3.common.running_mean_std import RunningMeanStd

    if isinstance(value, dict):
        return {key: _rms(sub, f"{where}[{key!r}]") for key, sub in value.items()}
    if not isinstance(value, _Collected) or value.origin != "stable_baselines3.common.running_mean_std.RunningMeanStd":
        raise ValueError(f"{where}: expected RunningMeanStd statistics, got {value!r}")
    mean, var = value.state.get("mean"), value.state.get("var")
    mean = np.asarray(mean) if isinstance(mean, (np.generic, float)) else mean
    var = np.asarray(var) if isinstance(var, (np.generic, float)) else var
    if not isinstance(mean, np.ndarray) or not isinstance(var, np.ndarray) or mean.shape != var.shape:
        raise ValueError(f"{where}: mean and var must be arrays of one shape, got {mean!r} and {var!r}")
    rms = RunningMeanStd(shape=mean.shape)
    rms.mean = mean.astype(np.float64)
    rms.var = var.astype(np.float64)
    rms.count = _as_float(value.state.get("count"), f"{where}.count")
    return rms


def vec_normalize_from_sb3_pickle(raw: bytes, venv: VecEnv, label: str) -> VecNormalize:
    """A VecNormalize around ``venv`` with the settings and statistics of SB3's pickled VecNormalize ``raw``.

    Only the statistics and settings are read (with the restricted unpickler); raises ValueError for a pickle
    that is not an SB3 VecNormalize or names anything outside the allow-list.
    """
    from baselines3.common.vec_env import VecNormalize
    from baselines3.common.vec_env.vec_normalize import _check_obs_shapes

    try:
        loaded = restricted_loads(raw, label)
    except RefusedPickleError as error:
        raise ValueError(f"{label}: not loaded: {error}") from error
    if (
        not isinstance(loaded, _Collected)
        or loaded.origin != "stable_baselines3.common.vec_env.vec_normalize.VecNormalize"
    ):
        raise ValueError(f"{label} holds {loaded!r}, not a Stable-Baselines3 VecNormalize")
    state = loaded.state
    try:
        norm_obs = bool(state["norm_obs"])
        obs_rms = _rms(state["obs_rms"], f"{label}: obs_rms")
        ret_rms = _rms(state["ret_rms"], f"{label}: ret_rms")
        settings = dict(
            training=bool(state.get("training", True)),
            norm_obs=norm_obs,
            norm_reward=bool(state["norm_reward"]),
            clip_obs=_as_float(state["clip_obs"], "clip_obs"),
            clip_reward=_as_float(state["clip_reward"], "clip_reward"),
            gamma=_as_float(state["gamma"], "gamma"),
            epsilon=_as_float(state["epsilon"], "epsilon"),
        )
    except KeyError as error:
        raise ValueError(f"{label}: the SB3 VecNormalize lacks the field {error}") from error
    except ModelLoadError as error:
        raise ValueError(f"{label}: {error}") from error
    keys = state.get("norm_obs_keys")
    if isinstance(obs_rms, dict) and keys is None:
        keys = list(obs_rms)
    _check_obs_shapes(obs_rms, norm_obs, venv.observation_space, label)
    vec_normalize = VecNormalize(venv, norm_obs_keys=keys, **settings)  # type: ignore[arg-type]
    if norm_obs:
        vec_normalize.obs_rms = obs_rms
    vec_normalize.ret_rms = ret_rms
    return vec_normalize


def sb3_pickle_path(path: str | os.PathLike[str]) -> pathlib.Path | None:
    """The SB3 pickle ``path`` names (SB3 appends ``.pkl``), or None when it is not a pickle."""
    candidates = [pathlib.Path(path)]
    if not candidates[0].name.endswith(".pkl"):
        candidates.append(candidates[0].with_name(candidates[0].name + ".pkl"))
    for candidate in candidates:
        if candidate.is_file():
            with open(candidate, "rb") as file:
                if file.read(1) == b"\x80":
                    return candidate
    return None


def load_sb3_replay_buffer(model: BaseAlgorithm, path: pathlib.Path, truncate_last_traj: bool) -> None:
    """Fill ``model.replay_buffer`` from SB3's pickled ReplayBuffer / DictReplayBuffer at ``path``.

    A fresh buffer of the saved size is built (the model's own when its settings match); the spaces must be
    the model's.
    """
    from baselines3.common.buffers import DictReplayBuffer, ReplayBuffer

    label = str(path)
    try:
        loaded = restricted_loads(path.read_bytes(), label)
    except RefusedPickleError as error:
        raise ValueError(f"{label}: not loaded: {error}") from error
    if not isinstance(loaded, _Collected) or loaded.origin not in (
        "stable_baselines3.common.buffers.ReplayBuffer",
        "stable_baselines3.common.buffers.DictReplayBuffer",
    ):
        raise ValueError(f"{label} holds {loaded!r}; only SB3's ReplayBuffer and DictReplayBuffer can be imported")
    state = loaded.state
    for key in ("observation_space", "action_space"):
        if state.get(key) != getattr(model, key):
            raise ValueError(
                f"The replay buffer in {label} does not fit this model: its {key} is {state.get(key)!r}, "
                f"the model's is {getattr(model, key)!r}"
            )
    try:
        buffer_size, n_envs = _as_int(state["buffer_size"], "buffer_size"), _as_int(state["n_envs"], "n_envs")
        meta = dict(
            buffer_size=buffer_size,
            n_envs=n_envs,
            handle_timeout_termination=bool(state.get("handle_timeout_termination", True)),
            pos=_as_int(state["pos"], "pos"),
            full=bool(state["full"]),
        )
        optimize_memory_usage = bool(state.get("optimize_memory_usage", False))
        arrays: dict[str, Any] = {}
        for name in ("actions", "rewards", "dones", "timeouts", "observations", "next_observations"):
            value: Any = state.get(name)
            if name == "timeouts" and value is None:
                value = np.zeros((buffer_size, n_envs), dtype=np.float32)
            if name == "next_observations" and optimize_memory_usage:
                continue
            if isinstance(value, dict):
                arrays.update({f"{name}/{key}": array for key, array in value.items()})
            else:
                arrays[name] = value
    except (KeyError, ModelLoadError) as error:
        raise ValueError(f"{label}: the SB3 replay buffer lacks or garbles the field {error}") from error
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray):
            raise ValueError(f"{label}: field {name!r} is {type(array).__name__}, expected an array")
    buffer_class: type[ReplayBuffer] = (
        DictReplayBuffer if isinstance(model.observation_space, spaces.Dict) else ReplayBuffer
    )
    current = getattr(model, "replay_buffer", None)
    if getattr(model, "replay_buffer_class", None) not in (None, ReplayBuffer, DictReplayBuffer):
        raise ValueError(
            f"{label}: SB3's replay buffers load into ReplayBuffer/DictReplayBuffer, but the model uses "
            f"{model.replay_buffer_class!r}"  # type: ignore[attr-defined]
        )
    if (
        type(current) is buffer_class
        and current.optimize_memory_usage == optimize_memory_usage
        and current.n_envs == n_envs
        and current.buffer_size == buffer_size
    ):
        replay_buffer = current
    else:
        replay_buffer = buffer_class(
            buffer_size * n_envs,
            model.observation_space,  # type: ignore[arg-type]
            model.action_space,
            device=model.device,
            n_envs=n_envs,
            optimize_memory_usage=optimize_memory_usage,
        )
    try:
        replay_buffer._set_arrays(meta, arrays, label)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{label}: cannot fill the replay buffer: {error}") from error
    model.replay_buffer = replay_buffer  # type: ignore[attr-defined]
    if truncate_last_traj:
        replay_buffer.truncate_last_trajectory()

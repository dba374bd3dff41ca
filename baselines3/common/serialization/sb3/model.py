"""Reading a model zip saved by Stable-Baselines3 or sb3-contrib.

SB3 writes a model as a zip whose ``data`` member is JSON; values JSON has no type for (spaces, schedules,
classes, NumPy arrays) are base64 pickles under a ``":serialized:"`` key, read here with the restricted
unpickler. A refused field that a model can run without (a lambda learning rate or clip range, SB3's runtime
state) is skipped with an :class:`SB3ImportWarning`; one it needs (spaces, policy class, policy_kwargs) raises
:class:`~baselines3.common.serialization.errors.ModelLoadError` naming the field. Weights are read with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import inspect
import json
import os
import pathlib
import zipfile
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

import torch
from gymnasium import spaces

from baselines3.common.config import NOT_HYPERPARAMETERS
from baselines3.common.serialization.archive import DATA_MEMBER, FORMAT_MEMBER, load_tensors, read_member
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.serialization.sb3.allow_list import BUFFER_CLASSES, POLICY_ALIAS_OF, SB3_POLICY_MODULES
from baselines3.common.serialization.sb3.unpickler import (
    CollectedState,
    Discarded,
    RefusedPickleError,
    SB3Class,
    restricted_loads,
    warn_sb3,
)
from baselines3.common.utils import get_device

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm

__all__ = ["SB3OptimizerState", "SB3Params", "is_sb3_archive", "read_sb3_archive"]

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
    return "data" in names and DATA_MEMBER not in names and FORMAT_MEMBER not in names


class SB3Params(dict[str, Any]):
    """The params of an SB3 file, before :func:`fit_params`."""


class SB3OptimizerState:
    """An SB3 optimizer state dict, kept until the model exists (see :func:`fit_params`)."""

    def __init__(self, state_dict: dict[str, Any], weights: dict[str, torch.Tensor]) -> None:
        self.state_dict = state_dict
        self.weights = weights


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
    alias = POLICY_ALIAS_OF.get(value.name)
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
    kept: dict[str, Any] = {key: value for key, value in policy_kwargs.items() if key != "use_sde"}
    for key, value in kept.items():
        if isinstance(value, SB3Class):
            raise ModelLoadError(f"{label}: policy_kwargs[{key!r}] names {value.origin}, which has no equivalent here")
    return kept


def _buffer_class(value: Any, field: str, label: str) -> None:
    if value is None or (isinstance(value, SB3Class) and value.origin in BUFFER_CLASSES):
        return
    warn_sb3(f"{label}: field {field!r} ({value!r}) has no equivalent here; the default buffer is used instead")


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
    torch_device = get_device(device)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ModelLoadError(f"{label} is not a valid zip archive: {error}") from error
    with archive:
        try:
            json_data = json.loads(read_member(archive, "data", label).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise ModelLoadError(f"{label}: member 'data' is not valid JSON: {error}") from error
        if not isinstance(json_data, dict):
            raise ModelLoadError(f"{label}: member 'data' must hold a JSON object")
        if print_system_info:
            print("== SAVED MODEL SYSTEM INFO ==")
            if "system_info.txt" in archive.namelist():
                print(read_member(archive, "system_info.txt", label).decode("utf-8", errors="replace"))
        tensors: dict[str, Any] = {}
        for member in archive.namelist():
            if member.endswith(".pth"):
                tensors[member[: -len(".pth")]] = load_tensors(archive, member, label, torch_device)

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
        if key in init_params and key not in NOT_HYPERPARAMETERS:
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
        warn_sb3(
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
            warn_sb3(f"{label}: field {key!r} is skipped and {cls.__name__}'s default used instead: {why}")
    if unknown:
        warn_sb3(f"{label}: fields {sorted(unknown)} have no equivalent in {cls.__name__} and are ignored")
    for key in data:
        if key in init_params and isinstance(data[key], (SB3Class, CollectedState, Discarded)):
            raise ModelLoadError(f"{label}: field {key!r} is {data[key]!r}, which has no equivalent here")

    params: dict[str, Any] = SB3Params()
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

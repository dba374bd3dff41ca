"""Saving and loading whole models: what ``BaseAlgorithm.save`` and ``BaseAlgorithm.load`` do.

:func:`save_model` writes the constructor arguments, spaces and training counters to ``data.json`` and the state
dicts to weights-only members (:mod:`~baselines3.common.serialization.archive`). :func:`load_model` reads our own
archives or Stable-Baselines3's (:mod:`~baselines3.common.serialization.sb3`), rebuilds the model from its
constructor and checks everything a file may set: only training counters among private names, only plain data
as extra attributes (unless the caller opts in), only the model's own tensors with their own shapes.
"""

from __future__ import annotations

import inspect
import math
import pathlib
import warnings
from typing import IO, TYPE_CHECKING, Any, TypeVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.config import NOT_HYPERPARAMETERS
from baselines3.common.policies import BasePolicy
from baselines3.common.serialization.archive import load_archive, save_to_zip_file
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.serialization.params import check_parameters, get_attr_path
from baselines3.common.serialization.resume import check_training_state, read_training_state, training_state
from baselines3.common.serialization.sb3.model import is_sb3_archive, read_sb3_archive
from baselines3.common.serialization.sb3.optimizer import fit_params
from baselines3.common.serialization.validate import check_classes, check_sizes_against_tensors
from baselines3.common.utils import check_for_correct_spaces

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm
    from baselines3.common.vec_env import VecEnv

__all__ = ["NOT_SAVED", "load_model", "save_model"]

SelfBaseAlgorithm = TypeVar("SelfBaseAlgorithm", bound="BaseAlgorithm")

#: Constructor arguments that are not hyperparameters and so are not written to data.json.
NOT_SAVED = NOT_HYPERPARAMETERS  # one list, kept in common/config.py


def save_model(
    model: BaseAlgorithm,
    path: str | pathlib.Path | IO[bytes],
    exclude: list[str] | None = None,
    include: list[str] | None = None,
) -> None:
    """Write ``model`` to a zip (JSON hyperparameters + weights-only tensors), atomically.

    ``include`` adds attributes to the saved data, ``exclude`` leaves entries out.
    """
    data = model._hyperparameters()
    data.update(
        algorithm=type(model).__name__,
        policy_class=model.policy_class,
        observation_space=model.observation_space,
        action_space=model.action_space,
        n_envs=model.n_envs,
        num_timesteps=model.num_timesteps,
        _total_timesteps=model._total_timesteps,
        _episode_num=model._episode_num,
        _n_updates=model._n_updates,
        _current_progress_remaining=model._current_progress_remaining,
    )
    for name in include or []:
        data[name] = getattr(model, name)
    for name in exclude or []:
        data.pop(name, None)
    params = model.get_parameters()
    _, variable_names = model._torch_save_params()
    pytorch_variables = {name: get_attr_path(model, name) for name in variable_names}
    save_to_zip_file(
        path, data=data, params=params, pytorch_variables=pytorch_variables, training_state=training_state(model)
    )


def load_model(
    cls: type[SelfBaseAlgorithm],
    path: str | pathlib.Path | IO[bytes],
    env: gym.Env | VecEnv | str | None = None,
    device: torch.device | str = "auto",
    custom_objects: dict[str, Any] | None = None,
    print_system_info: bool = False,
    force_reset: bool = True,
    allow_pickle: bool = False,
    **kwargs: Any,
) -> SelfBaseAlgorithm:
    """Rebuild a model of class ``cls`` saved at ``path`` (by baselines3 or by Stable-Baselines3).

    Nothing is unpickled unless ``allow_pickle=True`` (only for files you trust). ``env`` must have the saved
    spaces; ``kwargs`` override saved hyperparameters. The whole file is checked (sizes against
    :class:`~baselines3.common.serialization.limits.LoadLimits` and against its own tensors, classes, tensor
    shapes against the rebuilt model) before anything from it is assigned; a file that fails raises
    ``ModelLoadError`` naming the member or field.
    """
    label = str(getattr(path, "name", path))
    data: dict[str, Any] | None
    training_state: dict[str, Any] | None = None
    if is_sb3_archive(path):  # a file saved by Stable-Baselines3: read without unpickling code
        data, params, pytorch_variables = read_sb3_archive(path, cls, device, custom_objects, print_system_info)
    else:
        data, params, pytorch_variables, raw_state = load_archive(
            path,
            device=device,
            custom_objects=custom_objects,
            allow_pickle=allow_pickle,
            print_system_info=print_system_info,
        )
        training_state = read_training_state(raw_state, label)
    assert data is not None
    saved_algo = data.pop("algorithm", cls.__name__)
    if not isinstance(saved_algo, str):
        raise ModelLoadError(f"{label}: field 'algorithm' must be an algorithm name (a string), got {saved_algo!r}")
    if saved_algo != cls.__name__:
        raise ModelLoadError(f"{label} holds a {saved_algo} model; load it with {saved_algo}.load()")
    if "policy_kwargs" in kwargs and kwargs["policy_kwargs"] != data.get("policy_kwargs"):
        raise ValueError(
            f"The given policy_kwargs {kwargs['policy_kwargs']} differ from the saved ones {data.get('policy_kwargs')}"
        )
    missing = [name for name in ("observation_space", "action_space", "policy_class") if name not in data]
    if missing:
        raise ModelLoadError(
            f"{label}: the saved model lacks {missing} (saved with exclude=, or skipped as a pickled value): "
            "pass them with custom_objects={...}"
        )
    observation_space = data.pop("observation_space")
    action_space = data.pop("action_space")
    for name, space in (("observation_space", observation_space), ("action_space", action_space)):
        if not isinstance(space, spaces.Space):
            raise ModelLoadError(f"{label}: field {name!r} must be a space, got {type(space).__name__}")
    saved_n_envs = data.pop("n_envs", 1)
    if isinstance(saved_n_envs, bool) or not isinstance(saved_n_envs, int) or saved_n_envs < 1:
        raise ModelLoadError(f"{label}: field 'n_envs' must be a positive integer, got {saved_n_envs!r}")
    policy_class = data.pop("policy_class")
    if not (isinstance(policy_class, type) and issubclass(policy_class, BasePolicy)):
        raise ModelLoadError(f"{label}: policy_class must be a policy class, got {policy_class!r}")
    check_classes(data, label)
    check_sizes_against_tensors(data, action_space, params, label)
    state = _training_state(data, label)
    init_params = inspect.signature(cls.__init__).parameters
    unknown = [name for name in kwargs if name not in init_params]
    if unknown:
        raise ValueError(f"unknown hyperparameters {unknown} for {cls.__name__}")
    saved = [name for name in data if name in init_params and name not in NOT_SAVED]
    hyperparameters = {**{name: data.pop(name) for name in saved}, **kwargs}
    # what is left was saved with save(include=...) or given in custom_objects: plain attributes
    attributes = _extra_attributes(cls, data, set(custom_objects or {}), allow_pickle, label)

    wrapped_env = None
    if env is not None:
        wrapped_env = cls._prepare_env(env, hyperparameters.get("verbose", 0))
        check_for_correct_spaces(wrapped_env, observation_space, action_space)
    try:
        model = cls(policy=policy_class, env=wrapped_env, device=device, _init_setup_model=False, **hyperparameters)  # type: ignore[call-arg]
        model.observation_space = observation_space
        model.action_space = action_space
        model.n_envs = wrapped_env.num_envs if wrapped_env is not None else saved_n_envs
        for name, value in state.items():
            setattr(model, name, value)
        model._setup_model()
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, RuntimeError, OverflowError) as error:
        if isinstance(error, ModelLoadError):
            raise
        raise ModelLoadError(
            f"{label}: the saved hyperparameters do not build a {cls.__name__}: {type(error).__name__}: {error}"
        ) from error
    if wrapped_env is not None and not force_reset:
        warnings.warn(
            "force_reset=False: the saved model has no last observation; the env is reset anyway", stacklevel=3
        )
    # everything below is checked first, then assigned: a file that fails leaves no half-loaded model
    params = fit_params(model, params, label)
    checked = check_parameters(model, params, exact_match=True, label=label)
    _, variable_names = model._torch_save_params()
    variables = {
        name: _check_saved_variable(model, name, value, variable_names, label)
        for name, value in (pytorch_variables or {}).items()
    }
    for name in attributes:
        if hasattr(model, name) and name not in (custom_objects or {}):
            raise ModelLoadError(
                f"{label}: saved field {name!r} would replace the attribute {cls.__name__}.{name} the model built "
                "itself; a file may only add attributes saved with save(include=...)"
            )
    restore = check_training_state(model, training_state, label) if training_state is not None else None
    model.set_parameters(checked, exact_match=True, device=device)
    for name, value in variables.items():
        with torch.no_grad():
            target = get_attr_path(model, name)
            target.copy_(value.to(device=target.device, dtype=target.dtype))
    for name, value in attributes.items():
        setattr(model, name, value)
    if model.use_sde:
        model.policy.reset_noise()  # type: ignore[operator]
    if restore is not None:
        restore()
    return model


#: Training counters a saved model restores, with the types they must have.
_TRAINING_STATE: dict[str, tuple[type, ...]] = {
    "num_timesteps": (int,),
    "_total_timesteps": (int,),
    "_episode_num": (int,),
    "_n_updates": (int,),
    "_current_progress_remaining": (int, float),
}


def _training_state(data: dict[str, Any], label: str) -> dict[str, Any]:
    """Pop the training counters from loaded `data`. Any other private name is refused: setting arbitrary
    `_`-names (or `__dict__`) from a file would let it replace the model's methods."""
    state = {}
    for name in [name for name in data if name.startswith("_") or name in _TRAINING_STATE]:
        value: Any = data.pop(name)
        types = _TRAINING_STATE.get(name)
        if types is None:
            raise ModelLoadError(f"{label}: unexpected private field {name!r} in the saved model")
        if isinstance(value, bool) or not isinstance(value, (*types, np.integer, np.floating)):
            raise ModelLoadError(f"{label}: field {name!r} must be a number, got {value!r}")
        number: Any = value  # a number by the check above (isinstance narrows it to object for mypy)
        if not math.isfinite(float(number)):
            raise ModelLoadError(f"{label}: field {name!r} must be a finite number, got {value!r}")
        state[name] = value
    return state


def _is_plain_data(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str, np.ndarray, np.generic, spaces.Space)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain_data(item) for item in value)
    if isinstance(value, dict):
        return all(_is_plain_data(key) and _is_plain_data(item) for key, item in value.items())
    return False


def _extra_attributes(
    cls: type, data: dict[str, Any], custom_names: set[str], allow_pickle: bool, label: str
) -> dict[str, Any]:
    """Attributes saved with `save(include=...)`, set on the rebuilt model; `custom_objects` may replace their
    values (as in SB3, a custom object whose name the file does not hold is ignored when the file is read, so it
    never adds an attribute). A name of the class's own (a method, a property) is refused; without
    `allow_pickle`, a value from the file must be plain data (numbers, strings, arrays, spaces and containers of
    them), so a file cannot plant a class or an object where the model expects data."""
    attributes = {}
    for name, value in data.items():
        if name in NOT_SAVED:
            continue
        if hasattr(cls, name):
            raise ModelLoadError(f"{label}: saved field {name!r} would replace {cls.__name__}.{name}")
        if name not in custom_names and not allow_pickle and not _is_plain_data(value):
            raise ModelLoadError(
                f"{label}: saved field {name!r} holds {type(value).__name__}, not plain data; if you trust this "
                f"file, pass it with custom_objects={{{name!r}: ...}} or load with allow_pickle=True"
            )
        attributes[name] = value
    return attributes


def _check_saved_variable(
    model: BaseAlgorithm, name: str, value: Any, variable_names: list[str], label: str
) -> torch.Tensor:
    """A saved tensor (e.g. SAC's log entropy coefficient) checked against the model's own, which it will be copied
    into in place: optimizers hold that tensor (or a flat buffer it is a view of), so replacing it would leave them
    updating an orphan. Only the model's declared variables can be set, and only with their own shape; a name is
    looked up only once it is known to be one of them, so it never becomes an attribute path of its own."""
    if name not in variable_names:
        raise ModelLoadError(
            f"{label}: saved tensor {name!r} has no place in the rebuilt {type(model).__name__} "
            f"(its saved tensors are {variable_names})"
        )
    target = get_attr_path(model, name)
    if not isinstance(value, torch.Tensor) or value.shape != target.shape:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ModelLoadError(
            f"{label}: saved tensor {name!r} has shape {shape}, the rebuilt model's has {tuple(target.shape)}"
        )
    if value.is_floating_point() and not torch.isfinite(value).all():
        raise ModelLoadError(f"{label}: saved tensor {name!r} is not finite: {value}")
    return value

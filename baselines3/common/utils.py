"""Helpers shared by the algorithms: devices, seeding, system info, target-network updates, statistics,
hyperparameter checks."""

from __future__ import annotations

import glob
import importlib.metadata
import os
import platform
import random
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from gymnasium import spaces

import baselines3
from baselines3.common import fast
from baselines3.common.logger import Logger, configure
from baselines3.common.schedules import (
    ConstantSchedule,
    FloatSchedule,
    LinearSchedule,
    constant_fn,
    get_linear_fn,
    get_schedule_fn,
)

if TYPE_CHECKING:  # annotations only: env_runner imports this module
    from baselines3.common.env_runner import TrainFreq

__all__ = [
    "ConstantSchedule",
    "FloatSchedule",
    "LinearSchedule",
    "check_for_correct_spaces",
    "check_hyperparameters",
    "check_shape_equal",
    "configure_logger",
    "constant_fn",
    "explained_variance",
    "get_device",
    "get_latest_run_id",
    "get_linear_fn",
    "get_parameters_by_name",
    "get_schedule_fn",
    "get_system_info",
    "is_vectorized_box_observation",
    "is_vectorized_dict_observation",
    "is_vectorized_discrete_observation",
    "is_vectorized_multibinary_observation",
    "is_vectorized_multidiscrete_observation",
    "is_vectorized_observation",
    "library_version",
    "obs_as_tensor",
    "polyak_update",
    "safe_mean",
    "set_random_seed",
    "should_collect_more_steps",
    "update_learning_rate",
    "zip_strict",
]


def get_device(device: torch.device | str = "auto") -> torch.device:
    """The torch device to use: ``"auto"`` means CUDA when available, else CPU.

    A CUDA device asked for on a machine without CUDA falls back to the CPU (as in Stable-Baselines3), with a
    warning unless the request was ``"auto"``; a CUDA index the machine does not have is a ValueError.
    """
    try:
        result = torch.device("cuda" if device == "auto" else device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"Invalid device {device!r}: expected 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device"
        ) from error
    if result.type == "cuda" and not torch.cuda.is_available():
        if device != "auto":
            # Issued from this line, so a process is told once however many objects resolve the same device.
            message = f"device {str(device)!r} was asked for, but CUDA is not available: using the CPU"
            warnings.warn(message, stacklevel=1)
        return torch.device("cpu")
    if result.type == "cuda" and result.index is not None:
        n_devices = torch.cuda.device_count()
        if result.index >= n_devices:
            raise ValueError(f"device {str(device)!r}: this machine has {n_devices} CUDA device(s)")
    return result


def set_random_seed(seed: int, using_cuda: bool = False) -> None:
    """Seed Python's ``random``, NumPy's global generator and PyTorch (cuDNN made deterministic if asked)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if using_cuda:
        # Deterministic kernels: slower, but runs repeat exactly.
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def library_version() -> str:
    """The baselines3 version (the package root is imported before any of its modules, so this is free)."""
    return str(baselines3.__version__)


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def get_system_info(print_info: bool = True) -> tuple[dict[str, str], str]:
    """Versions of the OS, Python and the main libraries, as a dict and as a printable text (also printed unless
    `print_info=False`, as in SB3)."""
    info = {
        "OS": f"{platform.platform()} {platform.version()}",
        "Python": platform.python_version(),
        "baselines3": library_version(),
        "PyTorch": torch.__version__,
        "GPU Enabled": str(torch.cuda.is_available()),
        "Numpy": np.__version__,
        "Cloudpickle": _package_version("cloudpickle"),
        "Gymnasium": _package_version("gymnasium"),
    }
    text = "".join(f"- {key}: {value}\n" for key, value in info.items())
    if print_info:
        print(text)
    return info, text


def polyak_update(params: Iterable[torch.Tensor], target_params: Iterable[torch.Tensor], tau: float) -> None:
    """Soft target update ``target = (1 - tau) * target + tau * param``, in place, for all tensors at once.

    All tensors in one fused call (see `baselines3.common.fast.lerp_`). The tensors must be floating point (use
    ``tau=1.0`` style copies for integer buffers yourself).
    """
    params_list = list(params)
    target_list = list(target_params)
    if len(params_list) != len(target_list):
        raise ValueError(
            f"polyak_update needs as many target tensors as source tensors, got {len(target_list)} and "
            f"{len(params_list)}"
        )
    if not params_list:
        return
    with torch.no_grad():
        fast.lerp_(target_list, params_list, tau)


def explained_variance(y_pred: np.ndarray, y_true: np.ndarray) -> float:
    """``1 - Var[y_true - y_pred] / Var[y_true]``: 1 is a perfect prediction, 0 no better than the mean.

    Returns NaN when ``y_true`` has zero variance.
    """
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true)
    if y_pred.ndim != 1 or y_true.ndim != 1 or y_pred.shape != y_true.shape:
        raise ValueError(
            f"explained_variance needs two 1-D arrays of the same length, got shapes {y_pred.shape} and {y_true.shape}"
        )
    var_y = np.var(y_true)
    if var_y == 0:
        return float("nan")
    return float(1.0 - np.var(y_true - y_pred) / var_y)


def safe_mean(arr: np.ndarray | list[Any] | Any) -> float:
    """Mean of ``arr``, or NaN when it is empty (instead of NumPy's warning)."""
    return float("nan") if len(arr) == 0 else float(np.mean(arr))


def zip_strict(*iterables: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """``zip`` that raises ValueError when the iterables have different lengths."""
    return zip(*iterables, strict=True)


def obs_as_tensor(
    obs: np.ndarray | torch.Tensor | dict[str, np.ndarray], device: torch.device | str
) -> torch.Tensor | dict[str, torch.Tensor]:
    """Observation(s) as tensor(s) on ``device``; shares memory with the array where possible (CPU)."""
    if isinstance(obs, dict):
        return {key: torch.as_tensor(value, device=device) for key, value in obs.items()}
    if isinstance(obs, (np.ndarray, torch.Tensor)):
        return torch.as_tensor(obs, device=device)
    raise TypeError(f"Unrecognized observation type {type(obs).__name__}: expected a numpy array or a dict of arrays")


def update_learning_rate(optimizer: torch.optim.Optimizer, learning_rate: float) -> None:
    """Set the learning rate of every parameter group of ``optimizer``."""
    for param_group in optimizer.param_groups:
        param_group["lr"] = learning_rate


def _at_least(low: float) -> Callable[[float], bool]:
    return lambda value: value >= low


#: What the hyperparameters several algorithms share may be: (test, the rule in words).
HYPERPARAMETER_RULES: dict[str, tuple[Callable[[float], bool], str]] = {
    "gamma": (lambda value: 0.0 <= value <= 1.0, "in [0, 1]"),
    "gae_lambda": (lambda value: 0.0 <= value <= 1.0, "in [0, 1]"),
    "tau": (lambda value: 0.0 <= value <= 1.0, "in [0, 1] (0: the target networks never move)"),
    "n_steps": (_at_least(1), ">= 1"),
    "n_epochs": (_at_least(1), ">= 1"),
    "batch_size": (_at_least(1), ">= 1"),
    "learning_starts": (_at_least(0), ">= 0"),
    "gradient_steps": (_at_least(-1), ">= 0, or -1 (as many as the env steps collected)"),
    "max_grad_norm": (lambda value: value > 0, "> 0"),
    "clip_range": (lambda value: value > 0, "> 0 (or a schedule)"),
    "clip_range_vf": (lambda value: value > 0, "> 0 (or None: no value clipping)"),
    "target_kl": (lambda value: value > 0, "> 0 (or None: no early stop)"),
    "policy_delay": (_at_least(1), ">= 1"),
    "target_update_interval": (_at_least(1), ">= 1"),
    "target_policy_noise": (_at_least(0), ">= 0"),
    "target_noise_clip": (_at_least(0), ">= 0"),
    "stats_window_size": (_at_least(1), ">= 1 (episodes averaged in the logged rollout statistics)"),
    "log_interval": (_at_least(1), ">= 1 (or None: never log)"),
    "clip_obs": (lambda value: value > 0, "> 0"),
    "clip_reward": (lambda value: value > 0, "> 0"),
    "epsilon": (lambda value: value > 0, "> 0"),
}


#: Hyperparameters that may also be schedules (a callable, a zoo string such as 'lin_0.2', a spec dict).
SCHEDULED = ("clip_range", "clip_range_vf")


def check_hyperparameters(**values: Any) -> None:
    """Raise ValueError naming the first value that breaks its rule in HYPERPARAMETER_RULES: a discount of 2 or
    zero epochs would otherwise train without error and learn nothing. None and schedules (callables) pass."""
    for name, value in values.items():
        if name in SCHEDULED and isinstance(value, (str, dict)):
            value = get_schedule_fn(value)  # a zoo string ('lin_0.2') or a spec; a bad one raises here
        if value is None or callable(value):
            continue
        test, rule = HYPERPARAMETER_RULES[name]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"{name} must be a number {rule}, got {value!r} ({type(value).__name__})")
        if not test(float(value)):
            raise ValueError(f"{name} must be {rule}, got {value!r}")


def get_latest_run_id(log_path: str = "", log_name: str = "") -> int:
    """The highest ``N`` among the folders ``<log_path>/<log_name>_N`` (0 when there are none).

    Folders whose name is ``log_name`` followed by ``_`` and digits count; ``run_extra_3`` is not a run of
    ``run``. Used to number TensorBoard runs: a new run goes to ``<log_name>_<N + 1>``.
    """
    latest = 0
    for path in glob.glob(os.path.join(log_path, f"{glob.escape(log_name)}_[0-9]*")):
        stem, _, number = os.path.basename(path).rpartition("_")
        if stem == log_name and number.isdigit():
            latest = max(latest, int(number))
    return latest


def configure_logger(
    verbose: int = 0,
    tensorboard_log: str | None = None,
    tb_log_name: str = "",
    reset_num_timesteps: bool = True,
) -> Logger:
    """A Logger as ``learn()`` sets one up: stdout when ``verbose >= 1``, and TensorBoard under
    ``<tensorboard_log>/<tb_log_name>_<N>`` when ``tensorboard_log`` is given.

    ``N`` is one more than the latest run there, or the latest run itself when ``reset_num_timesteps`` is False
    (to continue its learning curve; run 1 when there is none yet).
    """
    formats = ["stdout"] if verbose >= 1 else []
    folder = None
    if tensorboard_log is not None:
        run_id = get_latest_run_id(tensorboard_log, tb_log_name)
        if reset_num_timesteps or run_id == 0:
            run_id += 1
        folder = os.path.join(tensorboard_log, f"{tb_log_name}_{run_id}")
        formats.append("tensorboard")
    return configure(folder, formats)


def check_for_correct_spaces(env: Any, observation_space: spaces.Space[Any], action_space: spaces.Space[Any]) -> None:
    """Raise ValueError when ``env``'s observation or action space differs from the ones given (naming both).

    Action spaces must be equal. Box observation spaces may differ in their bounds, and in their dtype when both
    are floating point: normalization wrappers change these (our VecNormalize reports its clipped float32 range,
    SB3's keeps the raw space) and the policy reads observations through its own space either way."""
    if not _observations_compatible(observation_space, env.observation_space):
        raise ValueError(
            f"Observation spaces do not match: the model has {observation_space}, the env has {env.observation_space}"
        )
    if action_space != env.action_space:
        raise ValueError(f"Action spaces do not match: the model has {action_space}, the env has {env.action_space}")


def _observations_compatible(model_space: spaces.Space[Any], env_space: spaces.Space[Any]) -> bool:
    if isinstance(model_space, spaces.Box) and isinstance(env_space, spaces.Box):
        same_kind = model_space.dtype == env_space.dtype or (
            np.issubdtype(model_space.dtype, np.floating) and np.issubdtype(env_space.dtype, np.floating)
        )
        return model_space.shape == env_space.shape and same_kind
    if isinstance(model_space, spaces.Dict) and isinstance(env_space, spaces.Dict):
        return set(model_space.spaces) == set(env_space.spaces) and all(
            _observations_compatible(space, env_space.spaces[key]) for key, space in model_space.spaces.items()
        )
    return model_space == env_space


def check_shape_equal(space1: spaces.Space[Any], space2: spaces.Space[Any]) -> None:
    """Assert that two Box spaces have the same shape, and that two Dict spaces have the same keys with
    (recursively) matching shapes. Spaces of other types pass (AssertionError otherwise, as in SB3)."""
    if isinstance(space1, spaces.Dict):
        assert isinstance(space2, spaces.Dict), f"spaces must be of the same type: {type(space1)} != {type(space2)}"
        keys1, keys2 = list(space1.spaces), list(space2.spaces)
        assert set(keys1) == set(keys2), f"spaces must have the same keys: {keys1} != {keys2}"
        for key in keys1:
            check_shape_equal(space1.spaces[key], space2.spaces[key])
    elif isinstance(space1, spaces.Box):
        assert space1.shape == space2.shape, f"spaces must have the same shape: {space1.shape} != {space2.shape}"


def _shape_of(observation: Any) -> tuple[int, ...]:
    return tuple(np.shape(observation))


def is_vectorized_box_observation(observation: np.ndarray, observation_space: spaces.Box) -> bool:
    """Whether ``observation`` is a batch ``(n_envs, *shape)`` for a Box space (False: one observation).

    Raises ValueError when its shape fits neither."""
    shape = _shape_of(observation)
    if shape == observation_space.shape:
        return False
    if shape[1:] == observation_space.shape:
        return True
    raise ValueError(
        f"Unexpected observation shape {shape} for a Box space: expected {observation_space.shape} or "
        f"(n_envs, {', '.join(map(str, observation_space.shape))})"
    )


def is_vectorized_discrete_observation(observation: int | np.ndarray, observation_space: spaces.Discrete) -> bool:
    """Whether ``observation`` is a batch ``(n_envs,)`` for a Discrete space (False: one scalar).

    Raises ValueError for any other shape."""
    shape = _shape_of(observation)
    if shape == ():
        return False
    if len(shape) == 1:
        return True
    raise ValueError(f"Unexpected observation shape {shape} for a Discrete space: expected () or (n_envs,)")


def is_vectorized_multidiscrete_observation(observation: np.ndarray, observation_space: spaces.MultiDiscrete) -> bool:
    """Whether ``observation`` is a batch ``(n_envs, n)`` for a MultiDiscrete space of ``n`` dimensions.

    Raises ValueError when its shape is neither ``(n,)`` nor ``(n_envs, n)``."""
    shape = _shape_of(observation)
    n = len(observation_space.nvec)
    if shape == (n,):
        return False
    if len(shape) == 2 and shape[1] == n:
        return True
    raise ValueError(
        f"Unexpected observation shape {shape} for a MultiDiscrete space: expected ({n},) or (n_envs, {n})"
    )


def is_vectorized_multibinary_observation(observation: np.ndarray, observation_space: spaces.MultiBinary) -> bool:
    """Whether ``observation`` is a batch ``(n_envs, *shape)`` for a MultiBinary space.

    Raises ValueError when its shape fits neither."""
    shape = _shape_of(observation)
    if shape == observation_space.shape:
        return False
    if len(shape) == len(observation_space.shape) + 1 and shape[1:] == observation_space.shape:
        return True
    raise ValueError(
        f"Unexpected observation shape {shape} for a MultiBinary space: expected {observation_space.shape} or "
        f"(n_envs, {', '.join(map(str, observation_space.shape))})"
    )


def is_vectorized_dict_observation(observation: dict[str, Any], observation_space: spaces.Dict) -> bool:
    """Whether a dict observation is a batch: every entry one observation (False) or every entry a batch (True).

    Raises ValueError naming the first key that breaks the pattern when the entries are mixed."""
    subspaces = observation_space.spaces
    if all(_shape_of(observation[key]) == space.shape for key, space in subspaces.items()):
        return False
    for key, space in subspaces.items():
        if _shape_of(observation[key])[1:] != space.shape:
            try:
                is_vectorized_observation(observation[key], space)
                detail = ""
            except ValueError as error:
                detail = f" {error}"
            raise ValueError(
                "The observation mixes vectorized and non-vectorized entries: unexpected shape "
                f"{_shape_of(observation[key])} for key {key!r} of space {space}.{detail}"
            )
    return True


def is_vectorized_observation(observation: Any, observation_space: spaces.Space[Any]) -> bool:
    """Whether ``observation`` is a batch of observations of ``observation_space`` (one per env) or a single one.

    Supports Box, Discrete, MultiDiscrete, MultiBinary and Dict spaces; raises ValueError for a shape that is
    neither, or for another space type."""
    checks: list[tuple[type[spaces.Space[Any]], Callable[[Any, Any], bool]]] = [
        (spaces.Box, is_vectorized_box_observation),
        (spaces.Discrete, is_vectorized_discrete_observation),
        (spaces.MultiDiscrete, is_vectorized_multidiscrete_observation),
        (spaces.MultiBinary, is_vectorized_multibinary_observation),
        (spaces.Dict, is_vectorized_dict_observation),
    ]
    for space_type, check in checks:
        if isinstance(observation_space, space_type):
            return check(observation, observation_space)
    raise ValueError(f"Cannot tell whether an observation of {observation_space} is vectorized: unsupported space")


def get_parameters_by_name(model: torch.nn.Module, included_names: Iterable[str]) -> list[torch.Tensor]:
    """The tensors of ``model.state_dict()`` whose name contains any of ``included_names`` (in state-dict
    order), e.g. ``["running_"]`` for the batch-norm statistics to copy into a target network."""
    substrings = list(included_names)
    return [tensor for name, tensor in model.state_dict().items() if any(part in name for part in substrings)]


def should_collect_more_steps(train_freq: TrainFreq, num_collected_steps: int, num_collected_episodes: int) -> bool:
    """Whether an off-policy rollout should go on: fewer steps (or episodes, by ``train_freq.unit``) collected
    than ``train_freq.frequency``."""
    unit = getattr(train_freq.unit, "value", train_freq.unit)
    if unit == "step":
        return num_collected_steps < train_freq.frequency
    if unit == "episode":
        return num_collected_episodes < train_freq.frequency
    raise ValueError(f"train_freq's unit must be TrainFrequencyUnit.STEP or TrainFrequencyUnit.EPISODE, got {unit!r}")

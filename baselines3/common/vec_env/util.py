"""Helpers shared by the vectorized environments: observation buffers, image-space checks and wrapper chains."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = [
    "copy_obs_dict",
    "dict_to_obs",
    "is_image_space",
    "is_image_space_channels_first",
    "is_wrapped",
    "obs_space_info",
    "stack_obs",
    "unwrap_wrapper",
]

WrapperT = TypeVar("WrapperT", bound=gym.Wrapper[Any, Any, Any, Any])


def unwrap_wrapper(env: gym.Env[Any, Any], wrapper_class: type[WrapperT]) -> WrapperT | None:
    """The outermost wrapper of type ``wrapper_class`` around ``env``, or None.

    It lives here, below the VecEnvs that ask it (``env_is_wrapped``), and ``env_util`` re-exports it."""
    current: Any = env
    while isinstance(current, gym.Wrapper):
        if isinstance(current, wrapper_class):
            return current
        current = current.env
    return None


def is_wrapped(env: gym.Env[Any, Any], wrapper_class: type[gym.Wrapper[Any, Any, Any, Any]]) -> bool:
    """Whether ``env`` is wrapped (at any depth) in ``wrapper_class``."""
    return unwrap_wrapper(env, wrapper_class) is not None


def copy_obs_dict(obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Copy each array of a dict observation."""
    return {key: np.copy(value) for key, value in obs.items()}


def obs_space_info(
    obs_space: spaces.Space[Any],
) -> tuple[list[str | None], dict[Any, tuple[int, ...]], dict[Any, np.dtype]]:
    """Keys, shapes and dtypes of an observation space (key ``None`` for a non-Dict space).

    Raises a ``TypeError`` for spaces that have no fixed array shape (Tuple, Text, Graph...).
    """
    if isinstance(obs_space, spaces.Dict):
        sub_spaces: dict[Any, spaces.Space[Any]] = dict(obs_space.spaces)
    else:
        sub_spaces = {None: obs_space}
    keys: list[str | None] = []
    shapes: dict[Any, tuple[int, ...]] = {}
    dtypes: dict[Any, np.dtype] = {}
    for key, space in sub_spaces.items():
        if isinstance(space, (spaces.Dict, spaces.Tuple)) or space.shape is None or space.dtype is None:
            where = "" if key is None else f" (key {key!r})"
            raise TypeError(
                "Vectorized envs support Box, Discrete, MultiDiscrete, MultiBinary and a flat Dict of those "
                f"as observation space; got {space}{where}"
            )
        keys.append(key)
        shapes[key] = tuple(space.shape)
        dtypes[key] = np.dtype(space.dtype)
    return keys, shapes, dtypes


def dict_to_obs(obs_space: spaces.Space[Any], obs_dict: dict[Any, np.ndarray]) -> Any:
    """Turn a ``{key: array}`` buffer (key ``None`` for non-Dict spaces) into the observation."""
    if isinstance(obs_space, spaces.Dict):
        return obs_dict
    return obs_dict[None]


def stack_obs(obs_list: Sequence[Any], obs_space: spaces.Space[Any]) -> Any:
    """Stack per-env observations into one batch (a dict of batches for Dict spaces)."""
    if isinstance(obs_space, spaces.Dict):
        return {key: np.stack([obs[key] for obs in obs_list]) for key in obs_space.spaces}
    return np.stack(obs_list)


def is_image_space(space: spaces.Space[Any], check_channels: bool = False) -> bool:
    """True for a 3-D uint8 Box with bounds [0, 255] (an image, channels first or last)."""
    if not (isinstance(space, spaces.Box) and len(space.shape) == 3 and space.dtype == np.uint8):
        return False
    if np.any(space.low != 0) or np.any(space.high != 255):
        return False
    if not check_channels:
        return True
    n_channels = space.shape[0] if is_image_space_channels_first(space) else space.shape[-1]
    return n_channels in (1, 3, 4)


def is_image_space_channels_first(space: spaces.Box) -> bool:
    """Guess whether an image space is (C, H, W): the channel axis is the smallest one."""
    smallest = int(np.argmin(space.shape))
    return smallest == 0

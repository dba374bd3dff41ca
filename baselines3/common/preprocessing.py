"""Observation and action space helpers: shapes, image detection and tensor preprocessing."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces


def is_image_space_channels_first(observation_space: spaces.Box) -> bool:
    """Guess whether an image space is channel-first: the smallest dimension is taken as the channel axis."""
    smallest_dim = int(np.argmin(observation_space.shape))
    if smallest_dim == 1:
        warnings.warn(
            "Treating image space as channels-last, while second dimension was smallest of the three.", stacklevel=2
        )
    return smallest_dim == 0


def is_image_space(
    observation_space: spaces.Space[Any], check_channels: bool = False, normalized_image: bool = False
) -> bool:
    """True when the space looks like an image: a 3-D uint8 Box in [0, 255] (any dtype/range if `normalized_image`)."""
    if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 3:
        return False
    if not normalized_image:
        if observation_space.dtype != np.uint8:
            return False
        if np.any(observation_space.low != 0) or np.any(observation_space.high != 255):
            return False
    if not check_channels:
        return True
    n_channels = (
        observation_space.shape[0] if is_image_space_channels_first(observation_space) else observation_space.shape[-1]
    )
    return n_channels in (1, 3, 4)


def maybe_transpose(observation: np.ndarray, observation_space: spaces.Space[Any]) -> np.ndarray:
    """A channel-last image (or batch of images) of a channel-first image space, made channel-first; any other
    observation is returned as it is."""
    if is_image_space(observation_space):
        shape = observation_space.shape
        if observation.shape != shape and observation.shape[1:] != shape:
            transposed = np.moveaxis(observation, -1, -3)  # (..., H, W, C) -> (..., C, H, W)
            if transposed.shape == shape or transposed.shape[1:] == shape:
                return transposed
    return observation


def preprocess_obs(
    obs: torch.Tensor | dict[str, torch.Tensor],
    observation_space: spaces.Space[Any],
    normalize_images: bool = True,
) -> torch.Tensor | dict[str, torch.Tensor]:
    """Turn raw observations into float network inputs: scale images, one-hot encode discrete observations."""
    if isinstance(observation_space, spaces.Dict):
        assert isinstance(obs, dict), f"Expected a dict of tensors for a Dict space, got {type(obs)}"
        return {
            key: preprocess_obs(obs[key], subspace, normalize_images)  # type: ignore[misc]
            for key, subspace in observation_space.spaces.items()
        }
    assert isinstance(obs, torch.Tensor)
    if isinstance(observation_space, spaces.Box):
        if normalize_images and is_image_space(observation_space):
            floats = obs.float()
            # a new tensor when converted (uint8 images): scaled in place, without a second batch-sized buffer
            return floats.div_(255.0) if floats is not obs else floats / 255.0
        return obs.float()
    if isinstance(observation_space, spaces.Discrete):
        return F.one_hot((obs.long() - int(observation_space.start)).flatten(), int(observation_space.n)).float()
    if isinstance(observation_space, spaces.MultiDiscrete):
        nvec = observation_space.nvec.flatten()
        columns = obs.long().reshape(obs.shape[0], -1) - torch.as_tensor(
            observation_space.start.flatten(), device=obs.device
        )
        return torch.cat(
            [F.one_hot(columns[:, i], int(n)).float() for i, n in enumerate(nvec)],
            dim=-1,
        )
    if isinstance(observation_space, spaces.MultiBinary):
        return obs.float()
    raise NotImplementedError(f"Preprocessing not implemented for observation space {observation_space}")


def get_obs_shape(observation_space: spaces.Space[Any]) -> tuple[int, ...] | dict[str, tuple[int, ...]]:
    """Shape of one observation as stored in buffers (discrete observations are stored as integers)."""
    if isinstance(observation_space, spaces.Box):
        return observation_space.shape
    if isinstance(observation_space, spaces.Discrete):
        return (1,)
    if isinstance(observation_space, spaces.MultiDiscrete):
        return (len(observation_space.nvec),)
    if isinstance(observation_space, spaces.MultiBinary):
        return observation_space.shape
    if isinstance(observation_space, spaces.Dict):
        return {key: get_obs_shape(subspace) for key, subspace in observation_space.spaces.items()}  # type: ignore[misc]
    raise NotImplementedError(f"Observation space {observation_space} is not supported")


def get_flattened_obs_dim(observation_space: spaces.Space[Any]) -> int:
    """Size of one observation once flattened (one-hot size for discrete spaces)."""
    if isinstance(observation_space, spaces.MultiDiscrete):
        return int(np.sum(observation_space.nvec))
    return int(spaces.utils.flatdim(observation_space))


def get_action_dim(action_space: spaces.Space[Any]) -> int:
    """Number of numbers one action is stored as."""
    if isinstance(action_space, spaces.Box):
        return int(np.prod(action_space.shape))
    if isinstance(action_space, spaces.Discrete):
        return 1
    if isinstance(action_space, spaces.MultiDiscrete):
        return len(action_space.nvec)
    if isinstance(action_space, spaces.MultiBinary):
        assert isinstance(action_space.n, int), (
            f"Multi-dimensional MultiBinary({action_space.n}) action space is not supported; flatten it."
        )
        return int(action_space.n)
    raise NotImplementedError(f"Action space {action_space} is not supported")


def check_for_nested_spaces(obs_space: spaces.Space[Any]) -> None:
    """Refuse Dict/Tuple spaces nested inside Dict/Tuple spaces: extractors and buffers do not handle them."""
    if isinstance(obs_space, (spaces.Dict, spaces.Tuple)):
        sub_spaces = obs_space.spaces.values() if isinstance(obs_space, spaces.Dict) else obs_space.spaces
        for sub_space in sub_spaces:
            if isinstance(sub_space, (spaces.Dict, spaces.Tuple)):
                raise NotImplementedError(
                    "Nested observation spaces are not supported (a Dict/Tuple inside a Dict/Tuple): "
                    f"{obs_space}. Flatten the observation into one level of keys."
                )


def check_predict_observation(observation: Any, observation_space: spaces.Space[Any]) -> None:
    """Refuse what `predict()` cannot take as an observation of `observation_space`, with the fix: the
    `(observation, info)` pair gymnasium's `env.reset()` returns, a dict for a non-Dict space, or a non-dict for a
    Dict space (numpy would otherwise fail with an "inhomogeneous shape" error, or worse, accept it)."""
    if (
        isinstance(observation, tuple)
        and len(observation) == 2
        and isinstance(observation[1], dict)
        and not isinstance(observation_space, spaces.Tuple)
    ):
        raise ValueError(
            "predict() got an (observation, info) tuple, which is what gymnasium's env.reset() returns; pass "
            "the observation alone: `obs, info = env.reset()` then `model.predict(obs)` (a VecEnv's reset() "
            "returns the observations only)"
        )
    is_dict_space = isinstance(observation_space, spaces.Dict)
    if isinstance(observation, dict) and not is_dict_space:
        raise ValueError(
            f"predict() got a dict observation (keys {list(observation)}) but the policy's observation_space is "
            f"{observation_space}; pass an array of its shape {observation_space.shape}"
        )
    if isinstance(observation_space, spaces.Dict) and not isinstance(observation, dict):
        raise ValueError(
            f"predict() got a {type(observation).__name__} but the policy's observation_space is a Dict: pass a dict "
            f"with the keys {list(observation_space.spaces)}"
        )

"""``VecTransposeImage``: channel-last images (H, W, C) to channel-first (C, H, W) for PyTorch."""

from __future__ import annotations

from copy import copy
from typing import Any

import numpy as np
from gymnasium import spaces

from baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvObs, VecEnvStepReturn, VecEnvWrapper
from baselines3.common.vec_env.util import is_image_space, is_image_space_channels_first

__all__ = ["VecTransposeImage"]


class VecTransposeImage(VecEnvWrapper):
    """Transpose image observations from (H, W, C) to (C, H, W).

    For Dict spaces, every image entry that is channel-last is transposed and the others are kept.
    Returned arrays are contiguous copies (convolutions and replay buffers prefer that).

    :param venv: the VecEnv to wrap
    :param skip: do nothing (lets code wrap unconditionally and decide later)
    """

    def __init__(self, venv: VecEnv, skip: bool = False) -> None:
        space = venv.observation_space
        if not (is_image_space(space) or isinstance(space, spaces.Dict)):
            raise ValueError(
                f"VecTransposeImage needs an image observation space (uint8 Box (H, W, C) in [0, 255]) or a "
                f"Dict of them, got {space}"
            )
        self.skip = skip
        self.image_space_keys: list[str] = []
        if skip:
            super().__init__(venv)
            return
        if isinstance(space, spaces.Dict):
            new_spaces = dict(space.spaces)
            for key, subspace in space.spaces.items():
                if is_image_space(subspace) and not is_image_space_channels_first(subspace):  # type: ignore[arg-type]
                    self.image_space_keys.append(key)
                    new_spaces[key] = self.transpose_space(subspace, key)  # type: ignore[arg-type]
            observation_space: spaces.Space[Any] = spaces.Dict(new_spaces)
        else:
            observation_space = self.transpose_space(space)  # type: ignore[arg-type]
        super().__init__(venv, observation_space=observation_space)

    @staticmethod
    def transpose_space(observation_space: spaces.Box, key: str = "") -> spaces.Box:
        """The (C, H, W) version of an (H, W, C) image space."""
        where = f" (key {key!r})" if key else ""
        if not is_image_space(observation_space):
            raise ValueError(f"transpose_space needs an image space{where}, got {observation_space}")
        if is_image_space_channels_first(observation_space):
            raise ValueError(
                f"The observation space{where} {observation_space.shape} is already channel-first; "
                "VecTransposeImage expects (H, W, C)"
            )
        height, width, channels = observation_space.shape
        return spaces.Box(low=0, high=255, shape=(channels, height, width), dtype=observation_space.dtype)

    @staticmethod
    def transpose_image(image: np.ndarray) -> np.ndarray:
        """(H, W, C) -> (C, H, W), or (N, H, W, C) -> (N, C, H, W) for a batch."""
        if image.ndim == 3:
            return np.ascontiguousarray(np.transpose(image, (2, 0, 1)))
        return np.ascontiguousarray(np.transpose(image, (0, 3, 1, 2)))

    def transpose_observations(self, observations: VecEnvObs) -> VecEnvObs:
        """Transpose a batch (or single) observation: the array, or the image keys of a dict."""
        if self.skip:
            return observations
        if isinstance(observations, dict):
            observations = copy(observations)  # shallow copy: other keys are not modified
            for key in self.image_space_keys:
                observations[key] = self.transpose_image(observations[key])
            return observations
        return self.transpose_image(observations)  # type: ignore[arg-type]

    def step_wait(self) -> VecEnvStepReturn:
        observations, rewards, dones, infos = self.venv.step_wait()
        for index in np.flatnonzero(dones):
            terminal = infos[index].get("terminal_observation")
            if terminal is not None:
                infos[index]["terminal_observation"] = self.transpose_observations(terminal)
        return self.transpose_observations(observations), rewards, dones, infos

    def reset(self) -> VecEnvObs:
        return self.transpose_observations(self.venv.reset())

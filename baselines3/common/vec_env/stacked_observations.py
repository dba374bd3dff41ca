"""Frame stacking for batches of observations (used by ``VecFrameStack``)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from baselines3.common.vec_env.util import is_image_space, is_image_space_channels_first

__all__ = ["StackedObservations"]


def _is_channels_first(space: spaces.Box, channels_order: str | None) -> bool:
    """Whether frames of ``space`` stack on their first axis: as ``channels_order`` says, or (None) for images
    whose channel axis is first; other observations stack on their last axis."""
    if channels_order is None:
        return is_image_space(space) and is_image_space_channels_first(space)
    if channels_order in ("first", "last"):
        return channels_order == "first"
    raise ValueError(f"channels_order must be 'first', 'last' or None, got {channels_order!r}")


class _BoxStack:
    """Stack of the last ``n_stack`` observations of a Box space for each env."""

    def __init__(self, num_envs: int, n_stack: int, space: spaces.Box, channels_order: str | None) -> None:
        channels_first = _is_channels_first(space, channels_order)
        if channels_first and len(space.shape) == 0:
            raise ValueError("channels_order='first' needs observations with at least one dimension")
        if len(space.shape) == 0:
            # Scalars are stacked along a new last axis.
            space = spaces.Box(space.low.reshape(1), space.high.reshape(1), (1,), space.dtype)
            self.expand = True
        else:
            self.expand = False
        self.channels_first = channels_first
        # Axis of one observation along which frames are stacked, and the size of one frame on it.
        axis = 0 if channels_first else -1
        self.frame_size = space.shape[axis]
        low = np.repeat(space.low, n_stack, axis=axis)
        high = np.repeat(space.high, n_stack, axis=axis)
        self.space = spaces.Box(low=low, high=high, dtype=space.dtype)
        self.stacked = np.zeros((num_envs, *low.shape), dtype=space.dtype)

    def _prepare(self, obs: np.ndarray) -> np.ndarray:
        return obs[..., None] if self.expand else obs

    def reset(self, obs: np.ndarray) -> np.ndarray:
        self.stacked[...] = 0
        self._set_newest(self._prepare(obs))
        return self.stacked.copy()

    def _set_newest(self, obs: np.ndarray) -> None:
        size = self.frame_size
        if self.channels_first:
            self.stacked[:, -size:] = obs
        else:
            self.stacked[..., -size:] = obs

    def shift(self) -> None:
        """Drop the oldest frame of every env (the newest slot then holds stale data until filled)."""
        size = self.frame_size
        if self.channels_first:
            self.stacked[:, :-size] = self.stacked[:, size:]
        else:
            self.stacked[..., :-size] = self.stacked[..., size:]

    def terminal(self, index: int, terminal_obs: np.ndarray) -> np.ndarray:
        """Stacked terminal observation of env ``index`` (call after ``shift``, before ``clear``)."""
        stacked: np.ndarray = self.stacked[index].copy()
        size = self.frame_size
        terminal_obs = terminal_obs[..., None] if self.expand else terminal_obs
        if self.channels_first:
            stacked[-size:] = terminal_obs
        else:
            stacked[..., -size:] = terminal_obs
        return stacked

    def update(self, obs: np.ndarray, dones: np.ndarray) -> np.ndarray:
        self.stacked[dones] = 0
        self._set_newest(self._prepare(obs))
        return self.stacked.copy()


class StackedObservations:
    """Keep the last ``n_stack`` observations of each env, concatenated along the channel axis.

    Non-image Box observations are stacked along their last axis; image observations along their
    channel axis, found automatically (the smallest of the three axes) unless ``channels_order``
    says ``"first"`` or ``"last"``. For Dict spaces each key is stacked on its own
    (``channels_order`` may then be a dict per key).

    :param num_envs: number of envs
    :param n_stack: number of observations stacked
    :param observation_space: observation space of one env (Box or Dict of Box)
    :param channels_order: ``"first"``, ``"last"``, None (auto) or a dict of those per key
    """

    def __init__(
        self,
        num_envs: int,
        n_stack: int,
        observation_space: spaces.Space[Any],
        channels_order: str | Mapping[str, str | None] | None = None,
    ) -> None:
        if int(n_stack) < 1:
            raise ValueError(f"n_stack must be a positive integer, got {n_stack}")
        self.n_stack = int(n_stack)
        self.is_dict = isinstance(observation_space, spaces.Dict)
        self.stacks: dict[Any, _BoxStack] = {}
        if self.is_dict:
            assert isinstance(observation_space, spaces.Dict)
            for key, subspace in observation_space.spaces.items():
                if not isinstance(subspace, spaces.Box):
                    raise TypeError(f"Frame stacking needs Box subspaces, but key {key!r} is {subspace}")
                order = channels_order.get(key) if isinstance(channels_order, Mapping) else channels_order
                self.stacks[key] = _BoxStack(num_envs, self.n_stack, subspace, order)
            self.stacked_observation_space: spaces.Space[Any] = spaces.Dict(
                {key: stack.space for key, stack in self.stacks.items()}
            )
        elif isinstance(observation_space, spaces.Box):
            if isinstance(channels_order, Mapping):
                raise TypeError("channels_order can be a dict only for Dict observation spaces")
            self.stacks[None] = _BoxStack(num_envs, self.n_stack, observation_space, channels_order)
            self.stacked_observation_space = self.stacks[None].space
        else:
            raise TypeError(f"Frame stacking supports Box and Dict observation spaces, got {observation_space}")

    @staticmethod
    def compute_stacking(
        n_stack: int, observation_space: spaces.Box, channels_order: str | None = None
    ) -> tuple[bool, int, tuple[int, ...], int]:
        """How observations of a Box space are stacked (Stable-Baselines3's helper).

        :return: ``(channels_first, stack_dimension, stacked_shape, repeat_axis)``: whether frames stack on the
            first axis of one observation, the axis of a batch ``(n_envs, *shape)`` they stack on (1 or -1), the
            shape of one stacked observation, and the axis of one observation they stack on (0 or -1).
        """
        channels_first = _is_channels_first(observation_space, channels_order)
        repeat_axis = 0 if channels_first else -1
        stacked_shape = list(observation_space.shape)
        stacked_shape[repeat_axis] *= n_stack
        return channels_first, 1 if channels_first else -1, tuple(stacked_shape), repeat_axis

    def reset(self, observation: Any) -> Any:
        """Clear the stacks and put the first observations in the newest slot."""
        if self.is_dict:
            return {key: stack.reset(observation[key]) for key, stack in self.stacks.items()}
        return self.stacks[None].reset(observation)

    def update(
        self, observations: Any, dones: np.ndarray, infos: list[dict[str, Any]]
    ) -> tuple[Any, list[dict[str, Any]]]:
        """Add one step of observations; for finished envs, stack ``terminal_observation`` and restart.

        :return: the stacked observations and the infos (``terminal_observation`` replaced by its stack)
        """
        for stack in self.stacks.values():
            stack.shift()
        for index in np.flatnonzero(dones).tolist():
            info = infos[index]
            if "terminal_observation" not in info:
                warnings.warn("VecFrameStack: a finished env returned no terminal_observation", stacklevel=3)
                continue
            terminal = info["terminal_observation"]
            if self.is_dict:
                info["terminal_observation"] = {
                    key: stack.terminal(index, terminal[key]) for key, stack in self.stacks.items()
                }
            else:
                info["terminal_observation"] = self.stacks[None].terminal(index, terminal)
        dones = np.asarray(dones, dtype=bool)
        if self.is_dict:
            stacked: Any = {key: stack.update(observations[key], dones) for key, stack in self.stacks.items()}
        else:
            stacked = self.stacks[None].update(observations, dones)
        return stacked, infos

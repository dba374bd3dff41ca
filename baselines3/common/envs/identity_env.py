"""Identity probe environments (the reward says whether the action repeats the observation) and a random-image
env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class IdentityEnv(gym.Env):
    """Observation is a random element of `space`; the reward is 1 when the action equals it.

    A policy that learns the identity map reaches the maximum return `ep_length`.
    """

    metadata = {"render_modes": []}

    def __init__(self, dim: int | None = None, space: spaces.Space[Any] | None = None, ep_length: int = 100) -> None:
        if space is None:
            space = spaces.Discrete(2 if dim is None else dim)
        self.action_space = self.observation_space = space
        self.ep_length = ep_length
        self.current_step = 0
        self.state: Any = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.observation_space.seed(seed)
        self.current_step = 0
        self.state = self.observation_space.sample()
        return self.state, {}

    def _reward(self, action: Any) -> float:
        return 1.0 if np.array_equal(self.state, action) else 0.0

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        reward = self._reward(action)
        self.state = self.observation_space.sample()
        self.current_step += 1
        return self.state, reward, False, self.current_step >= self.ep_length, {}


class IdentityEnvBox(IdentityEnv):
    """Continuous identity: reward 1 when the action is within `eps` of the observation."""

    def __init__(self, low: float = -1.0, high: float = 1.0, eps: float = 0.05, ep_length: int = 100) -> None:
        super().__init__(space=spaces.Box(low, high, shape=(1,), dtype=np.float32), ep_length=ep_length)
        self.eps = eps

    def _reward(self, action: Any) -> float:
        return 1.0 if float(np.abs(self.state - action).max()) < self.eps else 0.0


class IdentityEnvMultiDiscrete(IdentityEnv):
    def __init__(self, dim: int = 1, ep_length: int = 100) -> None:
        super().__init__(space=spaces.MultiDiscrete([dim, dim]), ep_length=ep_length)


class IdentityEnvMultiBinary(IdentityEnv):
    def __init__(self, dim: int = 1, ep_length: int = 100) -> None:
        super().__init__(space=spaces.MultiBinary(dim), ep_length=ep_length)


class FakeImageEnv(gym.Env):
    """Random uint8 images (channel-last by default) with a discrete or continuous action; reward is 0."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        action_dim: int = 6,
        screen_height: int = 84,
        screen_width: int = 84,
        n_channels: int = 1,
        discrete: bool = True,
        channel_first: bool = False,
        ep_length: int = 10,
    ) -> None:
        shape = (
            (n_channels, screen_height, screen_width) if channel_first else (screen_height, screen_width, n_channels)
        )
        self.observation_space = spaces.Box(0, 255, shape=shape, dtype=np.uint8)
        if discrete:
            self.action_space: spaces.Space[Any] = spaces.Discrete(action_dim)
        else:
            self.action_space = spaces.Box(-1.0, 1.0, shape=(action_dim,), dtype=np.float32)
        self.ep_length = ep_length
        self.current_step = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.observation_space.seed(seed)
        self.current_step = 0
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.current_step += 1
        return self.observation_space.sample(), 0.0, False, self.current_step >= self.ep_length, {}

"""Environments the zoo's hyperparameter files name that gymnasium does not register (RL Zoo's extras)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class CartPoleNoVelocity(gym.ObservationWrapper):
    """CartPole with the cart and pole velocities removed (RL Zoo's CartPoleNoVel-v1): only position and angle
    are observed, so a policy must infer velocities from what it saw before."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        assert isinstance(space, spaces.Box) and space.shape == (4,)
        self.observation_space = spaces.Box(space.low[[0, 2]], space.high[[0, 2]], dtype=np.float32)

    def observation(self, observation: Any) -> np.ndarray:
        return np.asarray(observation, dtype=np.float32)[[0, 2]]


def cartpole_no_velocity(**kwargs: Any) -> gym.Env:
    """CartPole-v1 without velocities (a function, so any library's make_vec_env can build it)."""
    return CartPoleNoVelocity(gym.make("CartPole-v1", **kwargs))


def register_zoo_envs() -> None:
    """Register CartPoleNoVel-v1 with gymnasium (idempotent)."""
    if "CartPoleNoVel-v1" not in gym.registry:
        gym.register("CartPoleNoVel-v1", entry_point=cartpole_no_velocity)


register_zoo_envs()

"""Environments the zoo's hyperparameter files name that gymnasium does not register (the RL Zoo's extras):
`<Env>NoVel-v<N>`, each env of MaskVelocityWrapper's table with its velocities zeroed, and the envs of the optional
packages that register on import (MiniGrid: `minigrid`; PyBullet: `pybullet_envs_gymnasium`) when installed."""

from __future__ import annotations

import contextlib
import functools
import importlib
from typing import Any

import gymnasium as gym

from zoo.wrappers import MaskVelocityWrapper


def no_velocity_env(env_id: str, **kwargs: Any) -> gym.Env:
    """`env_id` with its velocity entries zeroed (a function, so any library's make_vec_env can build it)."""
    return MaskVelocityWrapper(gym.make(env_id, **kwargs))


def cartpole_no_velocity(**kwargs: Any) -> gym.Env:
    """CartPoleNoVel-v1: CartPole-v1 with the cart and pole velocities zeroed."""
    return no_velocity_env("CartPole-v1", **kwargs)


def no_velocity_id(env_id: str) -> str:
    """'CartPole-v1' -> 'CartPoleNoVel-v1'."""
    name, version = env_id.rsplit("-v", 1)
    return f"{name}NoVel-v{version}"


#: Optional packages whose import registers the envs that hyperparameter files name (as the RL Zoo imports them).
ENV_PACKAGES = ("minigrid", "pybullet_envs_gymnasium")


def register_zoo_envs() -> None:
    """Register the NoVel variant of every env in MaskVelocityWrapper's table with gymnasium, and the envs of the
    installed ENV_PACKAGES (idempotent)."""
    for env_id in MaskVelocityWrapper.velocity_indices:
        if no_velocity_id(env_id) not in gym.registry:
            gym.register(no_velocity_id(env_id), entry_point=functools.partial(no_velocity_env, env_id))
    for package in ENV_PACKAGES:
        with contextlib.suppress(ImportError):  # optional: without it, its envs stay unregistered
            importlib.import_module(package)


register_zoo_envs()

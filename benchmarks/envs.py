"""Environments the benchmarks need that gymnasium does not register (defined once, in the zoo)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from zoo.envs import cartpole_no_velocity, no_velocity_env

__all__ = ["atari", "cartpole_no_velocity", "no_velocity_env"]


def atari(env_id: str, **kwargs: Any) -> gym.Env:
    """`gym.make(env_id)` for an ALE id, registering ale-py's envs first: SB3's and SBX's env workers do not."""
    import ale_py

    gym.register_envs(ale_py)
    return gym.make(env_id, **kwargs)

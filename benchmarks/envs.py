"""Environments the benchmarks need that gymnasium does not register (defined once, in the zoo)."""

from __future__ import annotations

from zoo.envs import cartpole_no_velocity, no_velocity_env

__all__ = ["cartpole_no_velocity", "no_velocity_env"]

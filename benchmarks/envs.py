"""Environments the benchmarks need that gymnasium does not register (defined once, in the zoo)."""

from __future__ import annotations

from zoo.envs import CartPoleNoVelocity, cartpole_no_velocity

__all__ = ["CartPoleNoVelocity", "cartpole_no_velocity"]

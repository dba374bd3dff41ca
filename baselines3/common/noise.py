"""Exploration noise added to deterministic actions (TD3, and SAC/DDPG-style users).

Each noise object describes itself with `to_spec()`/`from_spec()`, so a model that holds one still saves as plain
JSON; its state (Ornstein-Uhlenbeck's last value and the numpy generator) is saved with the model in
`training_state.json` and restored on load.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["ActionNoise", "NormalActionNoise", "OrnsteinUhlenbeckActionNoise", "VectorizedActionNoise"]


class ActionNoise:
    """Base class: `noise()` returns one noise sample shaped like the action; `reset()` starts a new episode."""

    def reset(self) -> None:
        """Called at the end of each episode (no-op for memoryless noise)."""

    @property
    def shape(self) -> tuple[int, ...] | None:
        """The shape of one sample, or None when unknown (checked against the action space by SAC and TD3)."""
        return None

    def __call__(self) -> np.ndarray:
        raise NotImplementedError

    def to_spec(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> ActionNoise:
        return cls(**{key: np.asarray(value) if isinstance(value, list) else value for key, value in spec.items()})


def _as_array(value: Any, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return array


class NormalActionNoise(ActionNoise):
    """Independent Gaussian noise N(mean, sigma) at every step."""

    def __init__(self, mean: np.ndarray | float, sigma: np.ndarray | float, dtype: Any = np.float32) -> None:
        self._mu = _as_array(mean, "mean")
        self._sigma = _as_array(sigma, "sigma")
        if np.any(self._sigma < 0):
            raise ValueError(f"sigma must be >= 0, got {sigma!r}")
        self._dtype = np.dtype(dtype)

    def __call__(self) -> np.ndarray:
        return np.asarray(np.random.normal(self._mu, self._sigma), dtype=self._dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return np.broadcast_shapes(self._mu.shape, self._sigma.shape)

    def to_spec(self) -> dict[str, Any]:
        return dict(mean=self._mu.tolist(), sigma=self._sigma.tolist(), dtype=self._dtype.name)

    def __repr__(self) -> str:
        return f"NormalActionNoise(mu={self._mu}, sigma={self._sigma})"


class OrnsteinUhlenbeckActionNoise(ActionNoise):
    """Temporally correlated noise: x += theta * (mean - x) * dt + sigma * sqrt(dt) * N(0, 1).

    Useful for physical control with inertia (the DDPG paper's choice); reset() restarts from `initial_noise`.
    """

    def __init__(
        self,
        mean: np.ndarray | float,
        sigma: np.ndarray | float,
        theta: float = 0.15,
        dt: float = 1e-2,
        initial_noise: np.ndarray | None = None,
        dtype: Any = np.float32,
    ) -> None:
        self._mu = _as_array(mean, "mean")
        self._sigma = _as_array(sigma, "sigma")
        if np.any(self._sigma < 0):
            raise ValueError(f"sigma must be >= 0, got {sigma!r}")
        if theta < 0 or dt <= 0:
            raise ValueError(f"theta must be >= 0 and dt > 0, got theta={theta}, dt={dt}")
        self._theta = float(theta)
        self._dt = float(dt)
        self.initial_noise = None if initial_noise is None else _as_array(initial_noise, "initial_noise")
        self._dtype = np.dtype(dtype)
        self.noise_prev = np.zeros_like(self._mu)
        self.reset()

    def __call__(self) -> np.ndarray:
        drift = self._theta * (self._mu - self.noise_prev) * self._dt
        diffusion = self._sigma * np.sqrt(self._dt) * np.random.normal(size=self._mu.shape)
        self.noise_prev = self.noise_prev + drift + diffusion
        return self.noise_prev.astype(self._dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return np.broadcast_shapes(self._mu.shape, self._sigma.shape)

    def reset(self) -> None:
        self.noise_prev = self.initial_noise.copy() if self.initial_noise is not None else np.zeros_like(self._mu)

    def to_spec(self) -> dict[str, Any]:
        return dict(
            mean=self._mu.tolist(),
            sigma=self._sigma.tolist(),
            theta=self._theta,
            dt=self._dt,
            initial_noise=None if self.initial_noise is None else self.initial_noise.tolist(),
            dtype=self._dtype.name,
        )

    def __repr__(self) -> str:
        return f"OrnsteinUhlenbeckActionNoise(mu={self._mu}, sigma={self._sigma})"


class VectorizedActionNoise(ActionNoise):
    """One independent copy of `base_noise` per env; `reset(indices)` restarts only the envs whose episode ended."""

    def __init__(self, base_noise: ActionNoise, n_envs: int) -> None:
        if not isinstance(base_noise, ActionNoise):
            raise TypeError(f"base_noise must be an ActionNoise, got {base_noise!r}")
        if isinstance(base_noise, VectorizedActionNoise):
            raise TypeError("base_noise is already vectorized")
        if int(n_envs) != n_envs or n_envs <= 0:
            raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}")
        self.base_noise = base_noise
        self.n_envs = int(n_envs)
        self.noises = [copy.deepcopy(base_noise) for _ in range(self.n_envs)]

    def reset(self, indices: Iterable[int] | None = None) -> None:
        for index in range(self.n_envs) if indices is None else indices:
            self.noises[index].reset()

    def __call__(self) -> np.ndarray:
        return np.stack([noise() for noise in self.noises])

    @property
    def shape(self) -> tuple[int, ...] | None:
        base = self.base_noise.shape
        return None if base is None else (self.n_envs, *base)

    def to_spec(self) -> dict[str, Any]:
        return dict(base_class=type(self.base_noise).__name__, base=self.base_noise.to_spec(), n_envs=self.n_envs)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> VectorizedActionNoise:
        kinds: dict[str, type[ActionNoise]] = {
            "NormalActionNoise": NormalActionNoise,
            "OrnsteinUhlenbeckActionNoise": OrnsteinUhlenbeckActionNoise,
        }
        if spec.get("base_class") not in kinds:
            raise ValueError(f"Unknown base noise {spec.get('base_class')!r}; expected one of {sorted(kinds)}")
        base = kinds[spec["base_class"]].from_spec(spec["base"])
        return cls(base, int(spec["n_envs"]))

    def __repr__(self) -> str:
        return f"VectorizedActionNoise({self.base_noise!r}, n_envs={self.n_envs})"

"""Rollout storage for on-policy algorithms.

Data is written into preallocated numpy arrays during collection (cheap per-step writes) and converted to
tensors once per rollout, never per minibatch.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, NamedTuple

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.losses import compute_gae
from baselines3.common.preprocessing import get_action_dim, get_obs_shape

TensorObs = torch.Tensor | dict[str, torch.Tensor]


class RolloutBatch(NamedTuple):
    """One minibatch of a rollout. `mask` is None for feed-forward policies (every sample is real)."""

    observations: TensorObs
    actions: torch.Tensor
    old_values: torch.Tensor
    old_log_prob: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    episode_starts: torch.Tensor | None = None
    states: Any = None
    mask: torch.Tensor | None = None


RolloutBufferSamples = RolloutBatch  # SB3's name


class RolloutBuffer:
    """Stores `n_steps` transitions of `n_envs` envs, computes GAE, then yields shuffled minibatches."""

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: torch.device | str = "cpu",
        gae_lambda: float = 1.0,
        gamma: float = 0.99,
        n_envs: int = 1,
    ) -> None:
        self.buffer_size = buffer_size
        self.observation_space = observation_space
        self.action_space = action_space
        self.device = torch.device(device)
        self.gae_lambda = gae_lambda
        self.gamma = gamma
        self.n_envs = n_envs
        self.obs_shape = get_obs_shape(observation_space)
        self.action_dim = get_action_dim(action_space)
        self.generator_ready = False
        self.reset()

    def _obs_array(self, shape: tuple[int, ...], space: spaces.Space) -> np.ndarray:
        dtype = space.dtype if space.dtype is not None else np.float32
        return np.zeros((self.buffer_size, self.n_envs, *shape), dtype=dtype)

    def reset(self) -> None:
        if isinstance(self.observation_space, spaces.Dict):
            assert isinstance(self.obs_shape, dict)
            self.observations: np.ndarray | dict[str, np.ndarray] = {
                key: self._obs_array(shape, self.observation_space.spaces[key]) for key, shape in self.obs_shape.items()
            }
        else:
            assert isinstance(self.obs_shape, tuple)
            self.observations = self._obs_array(self.obs_shape, self.observation_space)
        shape = (self.buffer_size, self.n_envs)
        action_dtype = np.float32 if isinstance(self.action_space, spaces.Box) else np.int64
        self.actions = np.zeros((*shape, self.action_dim), dtype=action_dtype)
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.episode_starts = np.zeros(shape, dtype=np.float32)
        self.values = np.zeros(shape, dtype=np.float32)
        self.log_probs = np.zeros(shape, dtype=np.float32)
        self.advantages = np.zeros(shape, dtype=np.float32)
        self.returns = np.zeros(shape, dtype=np.float32)
        self.states: list[Any] = []
        self.pos = 0
        self.full = False
        self.generator_ready = False
        self._tensors: dict[str, Any] | None = None

    def size(self) -> int:
        return self.buffer_size if self.full else self.pos

    def add(
        self,
        obs: np.ndarray | dict[str, np.ndarray],
        action: np.ndarray,
        reward: np.ndarray,
        episode_start: np.ndarray,
        value: np.ndarray,
        log_prob: np.ndarray,
        state: Any = None,
    ) -> None:
        """Store one vec-env step. `state` is the policy's hidden state before this step (None if it has none)."""
        if self.full:
            raise RuntimeError(f"RolloutBuffer is full ({self.buffer_size} steps); call reset() first")
        pos = self.pos
        if isinstance(self.observations, dict):
            assert isinstance(obs, dict)
            for key, array in self.observations.items():
                array[pos] = np.asarray(obs[key]).reshape(array.shape[1:])
        else:
            self.observations[pos] = np.asarray(obs).reshape(self.observations.shape[1:])
        self.actions[pos] = np.asarray(action).reshape(self.n_envs, self.action_dim)
        self.rewards[pos] = reward
        self.episode_starts[pos] = episode_start
        self.values[pos] = value
        self.log_probs[pos] = log_prob
        if state is not None:
            self.states.append(state)
        self.pos += 1
        if self.pos == self.buffer_size:
            self.full = True

    def compute_returns_and_advantage(self, last_values: np.ndarray | torch.Tensor, dones: np.ndarray) -> None:
        """GAE advantages and lambda-returns; `last_values` are V(obs after the last step)."""
        if isinstance(last_values, torch.Tensor):
            last_values = last_values.detach().cpu().numpy()
        self.advantages, self.returns = compute_gae(
            self.rewards,
            self.values,
            self.episode_starts,
            np.asarray(last_values, dtype=np.float32).flatten(),
            np.asarray(dones),
            self.gamma,
            self.gae_lambda,
        )

    def _to_tensors(self) -> dict[str, Any]:
        """Flatten (n_steps, n_envs, ...) to (n_steps * n_envs, ...) and move to torch, once per rollout."""
        n = self.buffer_size * self.n_envs

        def flat(array: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(array.reshape(n, *array.shape[2:]), device=self.device)

        if isinstance(self.observations, dict):
            observations: TensorObs = {key: flat(array) for key, array in self.observations.items()}
        else:
            observations = flat(self.observations)
        return dict(
            observations=observations,
            actions=flat(self.actions),
            old_values=flat(self.values),
            old_log_prob=flat(self.log_probs),
            advantages=flat(self.advantages),
            returns=flat(self.returns),
        )

    def get(self, batch_size: int | None = None) -> Generator[RolloutBatch, None, None]:
        """Yield minibatches covering the rollout once in random order (the whole rollout if `batch_size` is None)."""
        assert self.full, "The rollout buffer must be full before sampling"
        if self._tensors is None:
            self._tensors = self._to_tensors()
        tensors = self._tensors
        n = self.buffer_size * self.n_envs
        if batch_size is None or batch_size >= n:
            # one minibatch of everything: order does not change mean losses, so skip the shuffle
            yield RolloutBatch(**tensors)
            return
        indices = torch.randperm(n, device=self.device)
        for start in range(0, n, batch_size):
            yield self._batch(tensors, indices[start : start + batch_size])

    @staticmethod
    def _batch(tensors: dict[str, Any], idx: torch.Tensor) -> RolloutBatch:
        obs = tensors["observations"]
        observations = {k: v[idx] for k, v in obs.items()} if isinstance(obs, dict) else obs[idx]
        return RolloutBatch(
            observations=observations,
            actions=tensors["actions"][idx],
            old_values=tensors["old_values"][idx],
            old_log_prob=tensors["old_log_prob"][idx],
            advantages=tensors["advantages"][idx],
            returns=tensors["returns"][idx],
        )


DictRolloutBuffer = RolloutBuffer  # Dict observations are handled by RolloutBuffer itself

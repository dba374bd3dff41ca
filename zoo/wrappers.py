"""Env wrappers that RL Zoo hyperparameter entries name (`env_wrapper:`), written for this project."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class TimeFeatureWrapper(gym.Wrapper):
    """Append the fraction of the episode's time budget that is left (1 at reset, 0 at the time limit).

    With a time limit the task is not Markov in the observation alone: the same state is worth less near the
    end. The extra feature gives the value function that information. `test_mode` keeps the feature at 1.0, so
    a policy can be run without a time limit. Box observations get one more dimension; Dict observations get it
    on their "observation" entry (goal-conditioned envs).
    """

    def __init__(self, env: gym.Env, max_steps: int | None = None, test_mode: bool = False) -> None:
        super().__init__(env)
        limit = max_steps if max_steps is not None else getattr(env.spec, "max_episode_steps", None)
        self.max_steps = int(limit) if limit else 1000
        if self.max_steps < 1:
            raise ValueError(f"TimeFeatureWrapper: max_steps must be >= 1, got {self.max_steps}")
        self.test_mode = test_mode
        self._steps = 0
        space = env.observation_space
        if isinstance(space, spaces.Dict):
            if not isinstance(space.spaces.get("observation"), spaces.Box):
                raise ValueError("TimeFeatureWrapper: a Dict observation space needs a Box 'observation' entry")
            self.observation_space = spaces.Dict(
                {**space.spaces, "observation": self._extended(space.spaces["observation"])}  # type: ignore[arg-type]
            )
        elif isinstance(space, spaces.Box) and len(space.shape) == 1:
            self.observation_space = self._extended(space)
        else:
            raise ValueError(f"TimeFeatureWrapper needs a 1-D Box or a Dict observation space, got {space}")

    @staticmethod
    def _extended(box: spaces.Box) -> spaces.Box:
        low = np.append(box.low, 0.0).astype(box.dtype)
        high = np.append(box.high, 1.0).astype(box.dtype)
        return spaces.Box(low=low, high=high, dtype=box.dtype)  # type: ignore[arg-type]

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._steps = 0
        obs, info = self.env.reset(**kwargs)
        return self._with_feature(obs), info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        self._steps += 1
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._with_feature(obs), reward, terminated, truncated, info

    def _with_feature(self, obs: Any) -> Any:
        remaining = 1.0 if self.test_mode else max(1.0 - self._steps / self.max_steps, 0.0)
        if isinstance(obs, dict):
            return {**obs, "observation": np.append(obs["observation"], remaining).astype(obs["observation"].dtype)}
        return np.append(obs, remaining).astype(np.asarray(obs).dtype)

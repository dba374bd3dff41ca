"""Env wrappers that RL Zoo hyperparameter entries name (`env_wrapper:`), with the RL Zoo's names and arguments."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import ResizeObservation


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


class FrameSkip(gym.Wrapper):
    """Repeat each action `skip` times and return the summed reward (stops early when the episode ends)."""

    def __init__(self, env: gym.Env, skip: int = 4) -> None:
        if int(skip) < 1:
            raise ValueError(f"FrameSkip: skip must be >= 1, got {skip}")
        super().__init__(env)
        self.skip = int(skip)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        total = 0.0
        for _ in range(self.skip):
            obs, reward, terminated, truncated, info = self.env.step(action)
            total += float(reward)
            if terminated or truncated:
                break
        return obs, total, terminated, truncated, info


class _History:
    """The last `horizon` observations and actions of a Box env, flattened into one vector (oldest first);
    before the episode has that many steps, the missing ones are zeros."""

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, horizon: int, owner: str):
        if not isinstance(observation_space, spaces.Box) or not isinstance(action_space, spaces.Box):
            raise ValueError(f"{owner} needs Box observations and actions, got {observation_space} and {action_space}")
        if int(horizon) < 1:
            raise ValueError(f"{owner}: horizon must be >= 1, got {horizon}")
        self.horizon = int(horizon)
        self.space = spaces.Box(
            low=np.concatenate([np.tile(observation_space.low, horizon), np.tile(action_space.low, horizon)]),
            high=np.concatenate([np.tile(observation_space.high, horizon), np.tile(action_space.high, horizon)]),
            dtype=observation_space.dtype,  # type: ignore[arg-type]
        )
        self.observations = np.zeros((self.horizon, *observation_space.shape), observation_space.dtype)
        self.actions = np.zeros((self.horizon, *action_space.shape), observation_space.dtype)

    def reset(self, obs: np.ndarray) -> np.ndarray:
        self.observations[:] = 0
        self.actions[:] = 0
        self.observations[-1] = obs
        return self.vector()

    def push(self, obs: np.ndarray, action: np.ndarray) -> np.ndarray:
        self.observations = np.roll(self.observations, -1, axis=0)
        self.actions = np.roll(self.actions, -1, axis=0)
        self.observations[-1] = obs
        self.actions[-1] = action
        return self.vector()

    def vector(self) -> np.ndarray:
        return np.concatenate([self.observations.reshape(-1), self.actions.reshape(-1)])


class HistoryWrapper(gym.Wrapper):
    """Observe the last `horizon` observations and actions (a Box of horizon * (obs_dim + action_dim))."""

    def __init__(self, env: gym.Env, horizon: int = 2) -> None:
        super().__init__(env)
        self.history = _History(env.observation_space, env.action_space, horizon, "HistoryWrapper")
        self.horizon = self.history.horizon
        self.observation_space = self.history.space

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return self.history.reset(obs), info

    def step(self, action: Any) -> tuple[np.ndarray, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self.history.push(obs, action), reward, terminated, truncated, info


class HistoryWrapperObsDict(gym.Wrapper):
    """HistoryWrapper for goal-conditioned Dict observations: the history replaces the "observation" entry."""

    def __init__(self, env: gym.Env, horizon: int = 2) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, spaces.Dict) or "observation" not in space.spaces:
            raise ValueError(f"HistoryWrapperObsDict needs a Dict observation space with 'observation', got {space}")
        self.history = _History(space.spaces["observation"], env.action_space, horizon, "HistoryWrapperObsDict")
        self.horizon = self.history.horizon
        self.observation_space = spaces.Dict({**space.spaces, "observation": self.history.space})

    def reset(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return {**obs, "observation": self.history.reset(obs["observation"])}, info

    def step(self, action: Any) -> tuple[dict[str, Any], Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        history = self.history.push(obs["observation"], action)
        return {**obs, "observation": history}, reward, terminated, truncated, info


class TruncatedOnSuccessWrapper(gym.Wrapper):
    """End the episode (as a time limit) after `n_successes` steps in a row with `info["is_success"]`, and add
    `reward_offset` to every reward (also to `compute_reward`, so HER relabels with the same offset)."""

    def __init__(self, env: gym.Env, reward_offset: float = 0.0, n_successes: int = 1) -> None:
        if int(n_successes) < 1:
            raise ValueError(f"TruncatedOnSuccessWrapper: n_successes must be >= 1, got {n_successes}")
        super().__init__(env)
        self.reward_offset = float(reward_offset)
        self.n_successes = int(n_successes)
        self.current_successes = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.current_successes = 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.current_successes = self.current_successes + 1 if info.get("is_success", False) else 0
        truncated = bool(truncated) or self.current_successes >= self.n_successes
        return obs, float(reward) + self.reward_offset, terminated, truncated, info

    def compute_reward(self, achieved_goal: Any, desired_goal: Any, info: Any) -> Any:
        return self.env.unwrapped.compute_reward(achieved_goal, desired_goal, info) + self.reward_offset  # type: ignore[attr-defined]


class ActionNoiseWrapper(gym.Wrapper):
    """Add Gaussian noise of std `noise_std` to each Box action before the env sees it (clipped to the bounds),
    to test how robust a controller is. The noise is drawn from a generator seeded by `reset(seed=...)`."""

    def __init__(self, env: gym.Env, noise_std: float = 0.1) -> None:
        if not isinstance(env.action_space, spaces.Box):
            raise ValueError(f"ActionNoiseWrapper needs a Box action space, got {env.action_space}")
        if float(noise_std) < 0:
            raise ValueError(f"ActionNoiseWrapper: noise_std must be >= 0, got {noise_std}")
        super().__init__(env)
        self.noise_std = float(noise_std)
        self.rng = np.random.default_rng()

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        if kwargs.get("seed") is not None:
            self.rng = np.random.default_rng(kwargs["seed"])
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        box = self.env.action_space
        noisy = np.asarray(action) + self.rng.normal(0.0, self.noise_std, size=np.shape(action))
        return self.env.step(np.clip(noisy, box.low, box.high).astype(box.dtype))  # type: ignore[attr-defined]


class ActionSmoothingWrapper(gym.Wrapper):
    """Send the env an exponential moving average of the actions: a = c * a_previous + (1 - c) * action, starting
    from zeros at each reset (`smoothing_coef` c: 0 no smoothing, towards 1 smoother)."""

    def __init__(self, env: gym.Env, smoothing_coef: float = 0.0) -> None:
        if not 0.0 <= float(smoothing_coef) < 1.0:
            raise ValueError(f"ActionSmoothingWrapper: smoothing_coef must be in [0, 1), got {smoothing_coef}")
        super().__init__(env)
        self.smoothing_coef = float(smoothing_coef)
        self.smoothed_action: np.ndarray | None = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.smoothed_action = None
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        previous = np.zeros_like(action) if self.smoothed_action is None else self.smoothed_action
        self.smoothed_action = self.smoothing_coef * previous + (1.0 - self.smoothing_coef) * np.asarray(action)
        return self.env.step(self.smoothed_action)


class DelayedRewardWrapper(gym.Wrapper):
    """Pay the rewards out every `delay` steps (and when the episode ends), summed; 0 on the steps between."""

    def __init__(self, env: gym.Env, delay: int = 10) -> None:
        if int(delay) < 1:
            raise ValueError(f"DelayedRewardWrapper: delay must be >= 1, got {delay}")
        super().__init__(env)
        self.delay = int(delay)
        self.current_step = 0
        self.accumulated_reward = 0.0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.current_step = 0
        self.accumulated_reward = 0.0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.current_step += 1
        self.accumulated_reward += float(reward)
        paid = 0.0
        if self.current_step % self.delay == 0 or terminated or truncated:
            paid, self.accumulated_reward = self.accumulated_reward, 0.0
        return obs, paid, terminated, truncated, info


class MaskVelocityWrapper(gym.ObservationWrapper):
    """Zero the velocity entries of a classic-control observation (the RL Zoo's `<Env>NoVel` tasks): the shape
    stays, but the policy must infer velocities from past observations (a partially observed task)."""

    #: Velocity indices per env id, the RL Zoo's table.
    velocity_indices: ClassVar[dict[str, list[int]]] = {
        "CartPole-v1": [1, 3],
        "MountainCar-v0": [1],
        "MountainCarContinuous-v0": [1],
        "Pendulum-v1": [2],
        "LunarLander-v3": [2, 3, 5],
        "LunarLanderContinuous-v3": [2, 3, 5],
    }

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        env_id = env.unwrapped.spec.id if env.unwrapped.spec is not None else None
        if env_id not in self.velocity_indices:
            raise ValueError(
                f"MaskVelocityWrapper knows the velocities of {sorted(self.velocity_indices)}, not of {env_id!r}"
            )
        space = env.observation_space
        if not isinstance(space, spaces.Box):
            raise ValueError(f"MaskVelocityWrapper needs a Box observation space, got {space}")
        self.mask = np.ones(space.shape, dtype=space.dtype)
        self.mask[self.velocity_indices[env_id]] = 0

    def observation(self, observation: Any) -> np.ndarray:
        return observation * self.mask


class YAMLCompatResizeObservation(ResizeObservation):
    """gymnasium's ResizeObservation taking the shape as a list, as YAML writes it (`shape: [84, 84]`)."""

    def __init__(self, env: gym.Env, shape: list[int]) -> None:
        if len(shape) != 2:
            raise ValueError(f"YAMLCompatResizeObservation: shape must be [height, width], got {shape}")
        super().__init__(env, (int(shape[0]), int(shape[1])))

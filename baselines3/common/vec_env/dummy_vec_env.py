"""``DummyVecEnv``: all envs stepped one after the other in the current process."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn
from baselines3.common.vec_env.env_contract import check_obs, raise_unpack_error, reward_batch, split_reset
from baselines3.common.vec_env.util import is_wrapped, obs_space_info

__all__ = ["DummyVecEnv"]


def _check_env_fns(env_fns: Sequence[Callable[[], gym.Env]], owner: str) -> list[Callable[[], gym.Env]]:
    """Validate a list of env-creating functions (shared with SubprocVecEnv)."""
    if isinstance(env_fns, gym.Env) or callable(env_fns):
        raise TypeError(f"{owner} expects a list of functions that create envs, got {type(env_fns).__name__}")
    env_fns = list(env_fns)
    if not env_fns:
        raise ValueError(f"{owner} needs at least one env function, got an empty list")
    for index, env_fn in enumerate(env_fns):
        if not callable(env_fn):
            raise TypeError(
                f"{owner} expects functions that create envs, but item {index} is a {type(env_fn).__name__}; "
                f"pass e.g. [lambda: gym.make('CartPole-v1')] instead of env instances"
            )
    return env_fns


class DummyVecEnv(VecEnv):
    """Run ``len(env_fns)`` envs sequentially in this process.

    The lowest-overhead VecEnv for cheap envs (classic control, most MuJoCo tasks), where the cost of
    inter-process communication would exceed the env step itself.

    Performance choices (``step`` is the hot loop of every algorithm):

    - observations are written into one preallocated batch buffer and a *copy* of it is returned, so
      callers may keep the returned obs (e.g. as the "last obs" of an off-policy algorithm) while the
      buffer is refilled by the next step; the copy is one contiguous ``memcpy``;
    - ``infos`` is a new list holding the info dicts the envs returned, not deep copies (the envs build
      a fresh dict each step); only ``TimeLimit.truncated`` and, on episode end,
      ``terminal_observation`` are added to them.

    :param env_fns: functions that each create one env
    """

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]]) -> None:
        env_fns = _check_env_fns(env_fns, "DummyVecEnv")
        self.envs: list[gym.Env] = [env_fn() for env_fn in env_fns]
        if len({id(env.unwrapped) for env in self.envs}) != len(self.envs):
            raise ValueError(
                "The env functions returned the same env instance several times; each function must create a "
                "new env (e.g. [lambda: gym.make(env_id) for _ in range(n)], not [lambda: env] * n)"
            )
        first = self.envs[0]
        super().__init__(len(env_fns), first.observation_space, first.action_space)
        self._keys, self._shapes, self._dtypes = obs_space_info(self.observation_space)
        self._dict_obs = isinstance(self.observation_space, spaces.Dict)
        self._buf_obs = {
            key: np.zeros((self.num_envs, *self._shapes[key]), dtype=self._dtypes[key]) for key in self._keys
        }
        self.actions: np.ndarray | None = None
        self._closed = False

    def step_async(self, actions: np.ndarray) -> None:
        """Store the actions (one per env; a single env also takes one unbatched action) for ``step_wait``."""
        self.actions = self._action_batch(actions)

    def step_wait(self) -> VecEnvStepReturn:
        actions = self.actions
        if actions is None:
            raise RuntimeError("step_wait() called without a previous step_async(actions)")
        reset_infos = self.reset_infos
        buf = None if self._dict_obs else self._buf_obs[None]
        shape, dtype = self._shapes.get(None), self._dtypes.get(None)
        rewards = []
        dones = []
        infos: list[dict[str, Any]] = []
        for index, (env, action) in enumerate(zip(self.envs, actions)):
            try:
                obs, reward, terminated, truncated, info = env.step(action)
            except (ValueError, TypeError) as exc:
                raise_unpack_error(exc, index, "step", env)
                raise
            done = terminated or truncated
            info["TimeLimit.truncated"] = bool(truncated) and not terminated
            if done:
                info["terminal_observation"] = obs
                obs, reset_infos[index] = self._reset_env(index)
                method = "reset"
            else:
                method = "step"
            if buf is not None:
                # the free check (attribute reads): numpy would broadcast a wrong shape or cast a wrong dtype
                if obs.__class__ is not np.ndarray or obs.shape != shape or obs.dtype is not dtype:
                    check_obs(obs, self.observation_space, self._shapes, self._dtypes, index, method, env)
                buf[index] = obs
            else:
                self._save_obs(index, obs, method)
            rewards.append(reward)
            dones.append(done)
            infos.append(info)
        try:
            reward_array = np.array(rewards, dtype=np.float32)
        except (TypeError, ValueError):
            reward_array = reward_batch(rewards, self.num_envs)  # raises, naming the env
        if reward_array.ndim != 1:  # an env returned an array (a one-element one is taken as a number)
            reward_array = reward_batch(rewards, self.num_envs)
        return self._obs_from_buf(), reward_array, np.array(dones, dtype=bool), infos

    def reset(self) -> VecEnvObs:
        for index in range(self.num_envs):
            options = self._options[index]
            if options:
                obs, self.reset_infos[index] = self._reset_env(index, seed=self._seeds[index], options=options)
            else:
                obs, self.reset_infos[index] = self._reset_env(index, seed=self._seeds[index])
            self._save_obs(index, obs, "reset")
        self._reset_seeds()
        self._reset_options()
        return self._obs_from_buf()

    def _reset_env(self, index: int, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        env = self.envs[index]
        try:
            result = env.reset(**kwargs)
        except (ValueError, TypeError) as exc:  # a wrapper failed to unpack the env's result
            raise_unpack_error(exc, index, "reset", env)
            raise
        return split_reset(result, index, env)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for env in self.envs:
            env.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"get_images() needs envs created with render_mode='rgb_array', not {self.render_mode!r}",
                stacklevel=2,
            )
            return [None for _ in self.envs]
        return [env.render() for env in self.envs]  # type: ignore[misc]

    def _save_obs(self, index: int, obs: Any, method: str) -> None:
        shapes, dtypes = self._shapes, self._dtypes
        if self._dict_obs:
            if obs.__class__ is not dict:
                check_obs(obs, self.observation_space, shapes, dtypes, index, method, self.envs[index])
            for key in self._keys:
                value = obs.get(key)
                if value.__class__ is not np.ndarray or value.shape != shapes[key] or value.dtype is not dtypes[key]:
                    check_obs(obs, self.observation_space, shapes, dtypes, index, method, self.envs[index])
                self._buf_obs[key][index] = value
        else:
            if obs.__class__ is not np.ndarray or obs.shape != shapes[None] or obs.dtype is not dtypes[None]:
                check_obs(obs, self.observation_space, shapes, dtypes, index, method, self.envs[index])
            self._buf_obs[None][index] = obs

    def _obs_from_buf(self) -> VecEnvObs:
        if self._dict_obs:
            return {key: buf.copy() for key, buf in self._buf_obs.items()}  # type: ignore[misc]
        return self._buf_obs[None].copy()

    def _get_target_envs(self, indices: VecEnvIndices) -> list[gym.Env]:
        return [self.envs[index] for index in self._get_indices(indices)]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [env.get_wrapper_attr(attr_name) for env in self._get_target_envs(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for env in self._get_target_envs(indices):
            env.set_wrapper_attr(attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        return [
            env.get_wrapper_attr(method_name)(*method_args, **method_kwargs) for env in self._get_target_envs(indices)
        ]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [is_wrapped(env, wrapper_class) for env in self._get_target_envs(indices)]

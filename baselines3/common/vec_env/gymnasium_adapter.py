"""Use a ``gymnasium.vector.VectorEnv`` (SyncVectorEnv, AsyncVectorEnv, ...) as a baselines3 VecEnv."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers.vector import RecordEpisodeStatistics

from baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn
from baselines3.common.vec_env.util import is_wrapped

__all__ = ["GymnasiumVectorAdapter", "wrap_vector_env"]


def _unbatch_infos(vector_infos: dict[str, Any], num_envs: int, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Turn gymnasium's dict of batched infos (with ``_key`` masks) into one info dict per env."""
    infos: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, value in vector_infos.items():
        if key.startswith("_") or key in skip:
            continue
        mask = vector_infos.get("_" + key)
        indices = range(num_envs) if mask is None else np.flatnonzero(mask)
        if isinstance(value, dict):
            per_env = _unbatch_infos(value, num_envs)
            for index in indices:
                infos[index][key] = per_env[index]
        else:
            for index in indices:
                infos[index][key] = value[index]
    return infos


def _select(obs: Any, index: int) -> Any:
    """Observation of env ``index`` in a batch (a dict for Dict spaces), copied."""
    if isinstance(obs, dict):
        return {key: np.array(value[index]) for key, value in obs.items()}
    return np.array(obs[index])


def _records_episode_statistics(env: gym.vector.VectorEnv) -> bool:
    """Whether gymnasium's vector RecordEpisodeStatistics is in the wrapper chain of ``env``."""
    current: Any = env
    while isinstance(current, gym.vector.VectorWrapper):
        if isinstance(current, RecordEpisodeStatistics):
            return True
        current = current.env
    return False


class GymnasiumVectorAdapter(VecEnv):
    """Present a gymnasium vector env with baselines3's VecEnv semantics.

    Gymnasium resets finished sub-envs either on the *next* step (``NEXT_STEP``, its default), in the
    same step with the last observation in ``info["final_obs"]`` (``SAME_STEP``), or not at all
    (``DISABLED``). This adapter makes all three behave like ``DummyVecEnv``: the step that ends an
    episode returns the first observation of the next one, ``infos[i]["terminal_observation"]``
    holds the last one, and rewards/dones are never zero-padded. For ``NEXT_STEP`` and ``DISABLED``
    the finished envs are reset at once with ``reset(options={"reset_mask": dones})``.

    ``env_is_wrapped`` can only look inside a ``SyncVectorEnv``; for other vector envs it returns False.

    :param env: the gymnasium vector env
    """

    def __init__(self, env: gym.vector.VectorEnv) -> None:
        if not isinstance(env, gym.vector.VectorEnv):
            raise TypeError(f"GymnasiumVectorAdapter needs a gymnasium.vector.VectorEnv, got {type(env).__name__}")
        self.vector_env: Any = env  # Any: sync/async methods (get_attr, call...) are not on the base class
        mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        self.autoreset_mode = mode if isinstance(mode, AutoresetMode) else AutoresetMode(mode)
        if self.autoreset_mode != AutoresetMode.SAME_STEP and _records_episode_statistics(env):
            warnings.warn(
                "gymnasium's vector RecordEpisodeStatistics forgets every env's running return when finished envs "
                "are reset with reset_mask, as this adapter does in NEXT_STEP/DISABLED autoreset mode, so its "
                "info['episode'] would be wrong: wrap the adapter in VecMonitor instead, or make the vector env "
                "with autoreset_mode=SAME_STEP",
                stacklevel=2,
            )
        self._actions: np.ndarray | None = None
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)

    def _find_render_mode(self) -> str | None:
        render_mode: str | None = self.vector_env.render_mode
        return render_mode

    def reset(self) -> VecEnvObs:
        seeds: list[int | None] | None = None
        if any(seed is not None for seed in self._seeds):
            seeds = list(self._seeds)
        options: dict[str, Any] | None = None
        if any(self._options):
            if any(opts != self._options[0] for opts in self._options):
                raise ValueError("A gymnasium vector env takes one options dict for all envs; got different ones")
            options = dict(self._options[0])
        obs: VecEnvObs
        obs, vector_infos = self.vector_env.reset(seed=seeds, options=options)
        self.reset_infos = _unbatch_infos(vector_infos, self.num_envs)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, terminations, truncations, vector_infos = self.vector_env.step(self._actions)
        terminations = np.asarray(terminations, dtype=bool)
        truncations = np.asarray(truncations, dtype=bool)
        dones = terminations | truncations
        time_limit = truncations & ~terminations
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            infos = self._same_step_infos(vector_infos, dones)
        else:
            infos = _unbatch_infos(vector_infos, self.num_envs)
            if dones.any():
                done_indices = np.flatnonzero(dones).tolist()
                for index in done_indices:
                    infos[index]["terminal_observation"] = _select(obs, index)
                obs, reset_vector_infos = self.vector_env.reset(options={"reset_mask": dones.copy()})
                reset_infos = _unbatch_infos(reset_vector_infos, self.num_envs)
                for index in done_indices:
                    self.reset_infos[index] = reset_infos[index]
        for index, info in enumerate(infos):
            info["TimeLimit.truncated"] = bool(time_limit[index])
        return obs, np.asarray(rewards, dtype=np.float32), dones, infos

    def _same_step_infos(self, vector_infos: dict[str, Any], dones: np.ndarray) -> list[dict[str, Any]]:
        """Infos for SAME_STEP mode: step infos of finished envs come from ``final_info``."""
        infos = _unbatch_infos(vector_infos, self.num_envs, skip=("final_obs", "final_info"))
        if not dones.any():
            return infos
        final_obs = vector_infos["final_obs"]
        final_infos = _unbatch_infos(vector_infos.get("final_info", {}), self.num_envs)
        for index in np.flatnonzero(dones).tolist():
            self.reset_infos[index] = infos[index]  # what is there now came from the reset
            infos[index] = final_infos[index]
            infos[index]["terminal_observation"] = final_obs[index]
        return infos

    def close(self) -> None:
        self.vector_env.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"get_images() needs envs created with render_mode='rgb_array', not {self.render_mode!r}",
                stacklevel=2,
            )
            return [None] * self.num_envs
        frames = self.vector_env.render()
        return list(frames) if frames is not None else [None] * self.num_envs

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        values = self.vector_env.get_attr(attr_name)
        return [values[index] for index in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        targets = self._get_indices(indices)
        if len(targets) == self.num_envs:
            self.vector_env.set_attr(attr_name, [value] * self.num_envs)
            return
        values = list(self.vector_env.get_attr(attr_name))
        for index in targets:
            values[index] = value
        self.vector_env.set_attr(attr_name, values)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        targets = self._get_indices(indices)
        sub_envs = getattr(self.vector_env, "envs", None)
        if sub_envs is not None:  # SyncVectorEnv: call only the selected envs
            return [sub_envs[index].get_wrapper_attr(method_name)(*method_args, **method_kwargs) for index in targets]
        if sorted(targets) != list(range(self.num_envs)):
            # gymnasium's call() reaches every env: calling it for some would change the others too
            raise NotImplementedError(
                f"env_method({method_name!r}, indices={indices!r}): {type(self.vector_env).__name__} can only "
                "call a method on all of its envs; leave out indices, or use SubprocVecEnv"
            )
        results = self.vector_env.call(method_name, *method_args, **method_kwargs)
        return [results[index] for index in targets]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        targets = self._get_indices(indices)
        sub_envs = getattr(self.vector_env, "envs", None)
        if sub_envs is None:
            return [False] * len(targets)
        return [is_wrapped(sub_envs[index], wrapper_class) for index in targets]


def wrap_vector_env(env: gym.vector.VectorEnv | VecEnv) -> VecEnv:
    """Return ``env`` as a baselines3 VecEnv: VecEnvs unchanged, gymnasium vector envs adapted."""
    if isinstance(env, VecEnv):
        return env
    if isinstance(env, gym.vector.VectorEnv):
        return GymnasiumVectorAdapter(env)
    raise TypeError(
        f"wrap_vector_env expects a gymnasium.vector.VectorEnv or a VecEnv, got {type(env).__name__}; "
        "use DummyVecEnv([lambda: env]) for a single gymnasium env"
    )

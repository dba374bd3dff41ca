"""``VecMonitor``: episode statistics computed on the batch (a vectorized ``Monitor``)."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from baselines3.common.monitor import Monitor, ResultsWriter
from baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvObs, VecEnvStepReturn, VecEnvWrapper

__all__ = ["VecMonitor"]


class VecMonitor(VecEnvWrapper):
    """Record return, length and duration of each episode of each env.

    Adds ``info["episode"] = {"r": return, "l": length, "t": seconds since start}`` to the info of
    the step that ends an episode and, with ``filename``, writes the same rows as ``Monitor``
    (readable by ``load_results``). Useful for envs that are not wrapped in ``Monitor`` one by one,
    e.g. a gymnasium vector env.

    :param venv: the VecEnv to wrap
    :param filename: monitor CSV path (None: no file)
    :param info_keywords: keys of the final step's info logged with each episode
    """

    def __init__(self, venv: VecEnv, filename: str | None = None, info_keywords: tuple[str, ...] = ()) -> None:
        super().__init__(venv)
        try:
            already_monitored = any(venv.env_is_wrapped(Monitor))
        except (AttributeError, NotImplementedError):
            already_monitored = False
        if already_monitored:
            warnings.warn(
                "The envs are already wrapped in Monitor; VecMonitor's episode statistics will replace "
                "theirs in info['episode'].",
                UserWarning,
                stacklevel=2,
            )
        self.episode_count = 0
        self.t_start = time.time()
        env_id = None
        spec = getattr(venv, "spec", None)
        if spec is not None:
            env_id = spec.id
        self.results_writer: ResultsWriter | None = None
        if filename is not None:
            self.results_writer = ResultsWriter(
                filename,
                header={"t_start": self.t_start, "env_id": str(env_id)},
                extra_keys=tuple(info_keywords),
            )
        self.info_keywords = tuple(info_keywords)
        self.episode_returns = np.zeros(self.num_envs, dtype=np.float64)
        self.episode_lengths = np.zeros(self.num_envs, dtype=np.int64)

    def reset(self) -> VecEnvObs:
        obs = self.venv.reset()
        self.episode_returns[:] = 0.0
        self.episode_lengths[:] = 0
        return obs

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        self.episode_returns += rewards
        self.episode_lengths += 1
        if dones.any():
            for index in np.flatnonzero(dones):
                info = infos[index]
                episode_info: dict[str, Any] = {
                    "r": round(float(self.episode_returns[index]), 6),
                    "l": int(self.episode_lengths[index]),
                    "t": round(time.time() - self.t_start, 6),
                }
                for key in self.info_keywords:
                    episode_info[key] = info[key]
                info["episode"] = episode_info
                self.episode_count += 1
                self.episode_returns[index] = 0.0
                self.episode_lengths[index] = 0
                if self.results_writer is not None:
                    self.results_writer.write_row(episode_info)
        return obs, rewards, dones, infos

    def close(self) -> None:
        if self.results_writer is not None:
            self.results_writer.close()
        self.venv.close()

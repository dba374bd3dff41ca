"""``VecExtractDictObs``: keep one key of a Dict observation."""

from __future__ import annotations

from gymnasium import spaces

from baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvObs, VecEnvStepReturn, VecEnvWrapper

__all__ = ["VecExtractDictObs"]


class VecExtractDictObs(VecEnvWrapper):
    """Replace Dict observations by their entry ``key`` (``terminal_observation`` included).

    :param venv: a VecEnv with a Dict observation space
    :param key: the key to keep
    """

    def __init__(self, venv: VecEnv, key: str) -> None:
        space = venv.observation_space
        if not isinstance(space, spaces.Dict):
            raise TypeError(f"VecExtractDictObs needs a Dict observation space, got {space}")
        if key not in space.spaces:
            raise KeyError(f"VecExtractDictObs: key {key!r} is not in the observation space keys {list(space.spaces)}")
        self.key = key
        super().__init__(venv, observation_space=space.spaces[key])

    def reset(self) -> VecEnvObs:
        return self.venv.reset()[self.key]  # type: ignore[call-overload]

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        for index in dones.nonzero()[0]:
            terminal = infos[index].get("terminal_observation")
            if terminal is not None:
                infos[index]["terminal_observation"] = terminal[self.key]
        return obs[self.key], rewards, dones, infos  # type: ignore[call-overload]

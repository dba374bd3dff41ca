"""``VecFrameStack``: give the agent the last ``n_stack`` observations of each env."""

from __future__ import annotations

from collections.abc import Mapping

from baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvObs, VecEnvStepReturn, VecEnvWrapper
from baselines3.common.vec_env.stacked_observations import StackedObservations

__all__ = ["VecFrameStack"]


class VecFrameStack(VecEnvWrapper):
    """Stack the last ``n_stack`` observations of each env along the channel axis.

    When an env finishes, its stack is cleared (zeros) and restarts with the first observation of
    the new episode; ``infos[i]["terminal_observation"]`` is replaced by the stack that ends with the
    terminal observation, i.e. what the agent would have seen had the episode gone on.

    :param venv: the VecEnv to wrap (Box or Dict observations)
    :param n_stack: number of observations stacked
    :param channels_order: ``"first"``, ``"last"`` or None to detect it (images: channel axis, others:
        last axis); a dict per key for Dict spaces
    """

    def __init__(
        self, venv: VecEnv, n_stack: int, channels_order: str | Mapping[str, str | None] | None = None
    ) -> None:
        self.stacked_obs = StackedObservations(venv.num_envs, n_stack, venv.observation_space, channels_order)
        self.n_stack = self.stacked_obs.n_stack
        super().__init__(venv, observation_space=self.stacked_obs.stacked_observation_space)

    def step_wait(self) -> VecEnvStepReturn:
        observations, rewards, dones, infos = self.venv.step_wait()
        observations, infos = self.stacked_obs.update(observations, dones, infos)
        return observations, rewards, dones, infos

    def reset(self) -> VecEnvObs:
        observations: VecEnvObs = self.stacked_obs.reset(self.venv.reset())
        return observations

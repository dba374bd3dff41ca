"""Vectorized environments: step a batch of envs as one, plus wrappers that act on the batch."""

from __future__ import annotations

from copy import deepcopy
from typing import TypeVar

import gymnasium as gym

from baselines3.common.vec_env.base_vec_env import (
    CloudpickleWrapper,
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
    VecEnvWrapper,
)
from baselines3.common.vec_env.dummy_vec_env import DummyVecEnv
from baselines3.common.vec_env.env_contract import EnvContractError
from baselines3.common.vec_env.gymnasium_adapter import GymnasiumVectorAdapter, wrap_vector_env
from baselines3.common.vec_env.stacked_observations import StackedObservations
from baselines3.common.vec_env.subproc_vec_env import SubprocVecEnv, VecEnvTimeoutError, VecEnvWorkerError
from baselines3.common.vec_env.vec_check_nan import VecCheckNan
from baselines3.common.vec_env.vec_extract_dict_obs import VecExtractDictObs
from baselines3.common.vec_env.vec_frame_stack import VecFrameStack
from baselines3.common.vec_env.vec_monitor import VecMonitor
from baselines3.common.vec_env.vec_normalize import VecNormalize
from baselines3.common.vec_env.vec_transpose import VecTransposeImage
from baselines3.common.vec_env.vec_video_recorder import VecVideoRecorder

VecEnvWrapperT = TypeVar("VecEnvWrapperT", bound=VecEnvWrapper)


def as_vec_env(env: gym.Env | gym.vector.VectorEnv | VecEnv) -> VecEnv:
    """``env`` as a VecEnv: a VecEnv as it is, a gymnasium vector env through the adapter, a single env in a
    DummyVecEnv (without adding a Monitor)."""
    if isinstance(env, VecEnv):
        return env
    if isinstance(env, gym.vector.VectorEnv):
        return wrap_vector_env(env)
    if not isinstance(env, gym.Env):
        raise TypeError(f"expected a gymnasium.Env, a gymnasium vector env or a VecEnv, got {type(env).__name__}")
    return DummyVecEnv([lambda: env])


def unwrap_vec_wrapper(env: VecEnv, vec_wrapper_class: type[VecEnvWrapperT]) -> VecEnvWrapperT | None:
    """The outermost wrapper of type ``vec_wrapper_class`` in the chain of ``env``, or None."""
    current: VecEnv = env
    while isinstance(current, VecEnvWrapper):
        if isinstance(current, vec_wrapper_class):
            return current
        current = current.venv
    return None


def unwrap_vec_normalize(env: VecEnv) -> VecNormalize | None:
    """The ``VecNormalize`` wrapper in the chain of ``env``, or None."""
    return unwrap_vec_wrapper(env, VecNormalize)


def is_vecenv_wrapped(env: VecEnv, vec_wrapper_class: type[VecEnvWrapper]) -> bool:
    """Whether ``env`` has a wrapper of type ``vec_wrapper_class`` in its chain."""
    return unwrap_vec_wrapper(env, vec_wrapper_class) is not None


def sync_envs_normalization(env: VecEnv, eval_env: VecEnv) -> None:
    """Copy the ``VecNormalize`` statistics of ``env`` to ``eval_env`` (e.g. before an evaluation).

    Both must have their ``VecNormalize`` wrappers at the same depths of their wrapper chains;
    otherwise an ``AttributeError`` explains the mismatch (evaluating with un-normalised
    observations would silently give wrong results).
    """
    env_level: VecEnv = env
    eval_level: VecEnv = eval_env
    depth = 0
    while isinstance(env_level, VecEnvWrapper):
        if isinstance(env_level, VecNormalize):
            if not isinstance(eval_level, VecNormalize):
                raise AttributeError(
                    f"sync_envs_normalization: the training env has a VecNormalize at wrapper depth {depth}, "
                    f"but the eval env has {type(eval_level).__name__} there; wrap both envs the same way"
                )
            eval_level.obs_rms = deepcopy(env_level.obs_rms)
            eval_level.ret_rms = deepcopy(env_level.ret_rms)
        if not isinstance(eval_level, VecEnvWrapper):
            if unwrap_vec_normalize(env_level.venv) is None:
                return
            raise AttributeError(
                "sync_envs_normalization: the eval env has fewer wrappers than the training env, which has a "
                "VecNormalize deeper down; wrap both envs the same way"
            )
        env_level = env_level.venv
        eval_level = eval_level.venv
        depth += 1


__all__ = [
    "CloudpickleWrapper",
    "DummyVecEnv",
    "EnvContractError",
    "GymnasiumVectorAdapter",
    "StackedObservations",
    "SubprocVecEnv",
    "VecCheckNan",
    "VecEnv",
    "VecEnvIndices",
    "VecEnvObs",
    "VecEnvStepReturn",
    "VecEnvTimeoutError",
    "VecEnvWorkerError",
    "VecEnvWrapper",
    "VecExtractDictObs",
    "VecFrameStack",
    "VecMonitor",
    "VecNormalize",
    "VecTransposeImage",
    "VecVideoRecorder",
    "as_vec_env",
    "is_vecenv_wrapped",
    "sync_envs_normalization",
    "unwrap_vec_normalize",
    "unwrap_vec_wrapper",
    "wrap_vector_env",
]

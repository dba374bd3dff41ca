"""Type names that Stable-Baselines3 code imports from `common.type_aliases`, for annotations in user code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, SupportsFloat

import gymnasium as gym
import numpy as np
import torch

from baselines3.common.buffers import (
    DictReplayBufferSamples,
    ReplayBufferSamples,
    RolloutBatch,
    RolloutBufferSamples,
)
from baselines3.common.callbacks import BaseCallback
from baselines3.common.env_runner import RolloutReturn, TrainFreq, TrainFrequencyUnit
from baselines3.common.vec_env import VecEnv

GymEnv = gym.Env | VecEnv
GymObs = tuple[Any, ...] | dict[str, Any] | np.ndarray | int
GymResetReturn = tuple[GymObs, dict[str, Any]]
AtariResetReturn = tuple[np.ndarray, dict[str, Any]]
GymStepReturn = tuple[GymObs, float, bool, bool, dict[str, Any]]
AtariStepReturn = tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]
TensorDict = dict[str, torch.Tensor]
OptimizerStateDict = dict[str, Any]
MaybeCallback = None | Callable[..., Any] | list[BaseCallback] | BaseCallback
PyTorchObs = torch.Tensor | TensorDict
#: progress remaining (1 at the start of learn(), 0 at the end) -> a value such as the learning rate
Schedule = Callable[[float], float]
#: the rollout minibatch, for Dict observation spaces too
DictRolloutBufferSamples = RolloutBatch


class PolicyPredictor(Protocol):
    """Anything with a `predict` like the models' and policies' (e.g. for `evaluate_policy`)."""

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]: ...


__all__ = [
    "AtariResetReturn",
    "AtariStepReturn",
    "DictReplayBufferSamples",
    "DictRolloutBufferSamples",
    "GymEnv",
    "GymObs",
    "GymResetReturn",
    "GymStepReturn",
    "MaybeCallback",
    "OptimizerStateDict",
    "PolicyPredictor",
    "PyTorchObs",
    "ReplayBufferSamples",
    "RolloutBufferSamples",
    "RolloutReturn",
    "Schedule",
    "TensorDict",
    "TrainFreq",
    "TrainFrequencyUnit",
]

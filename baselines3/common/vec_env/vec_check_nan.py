"""``VecCheckNan``: find where NaN or infinite values first enter training."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvObs, VecEnvStepReturn, VecEnvWrapper

__all__ = ["VecCheckNan"]


def _invalid_envs(name: str, value: Any, check_inf: bool) -> list[str]:
    """Descriptions of the NaN/inf found in a batch, e.g. ``"NaN in observations of env(s) [1, 3]"``."""
    if isinstance(value, dict):
        found: list[str] = []
        for key, sub_value in value.items():
            found += _invalid_envs(f"{name}[{key!r}]", sub_value, check_inf)
        return found
    array = np.asarray(value)
    if array.dtype.kind not in "fc":  # integers and booleans cannot hold NaN or inf
        return []
    if check_inf:
        if np.isfinite(array).all():
            return []
    elif not np.isnan(array).any():
        return []
    problems = []
    kinds = [("NaN", np.isnan)] + ([("inf", np.isinf)] if check_inf else [])
    for label, test in kinds:
        bad = test(array)
        if bad.ndim > 1:
            bad = bad.reshape(bad.shape[0], -1).any(axis=1)
        if bad.ndim == 0:
            if bad:
                problems.append(f"{label} in {name}")
        elif bad.any():
            problems.append(f"{label} in {name} of env(s) {np.flatnonzero(bad).tolist()}")
    return problems


class VecCheckNan(VecEnvWrapper):
    """Check actions, observations and rewards for NaN (and inf) at every step.

    The message says what was invalid (actions, observations or rewards, and which dict key), the
    env indices, the step count and whether the values came from the agent (actions) or from the
    env (after ``step``/``reset``).

    :param venv: the VecEnv to wrap
    :param raise_exception: raise ``ValueError`` instead of warning
    :param warn_once: warn only for the first problem
    :param check_inf: also flag +/-inf
    """

    def __init__(
        self, venv: VecEnv, raise_exception: bool = False, warn_once: bool = True, check_inf: bool = True
    ) -> None:
        super().__init__(venv)
        self.raise_exception = raise_exception
        self.warn_once = warn_once
        self.check_inf = check_inf
        self._user_warned = False
        self.num_steps = 0  # completed steps since creation
        self._actions: np.ndarray | None = None

    def step_async(self, actions: np.ndarray) -> None:
        problems = _invalid_envs("actions", actions, self.check_inf)
        if problems:
            self._report(problems, f"in the actions passed to step {self.num_steps + 1} (produced by the agent)")
        self._actions = actions
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        observations, rewards, dones, infos = self.venv.step_wait()
        self.num_steps += 1
        problems = _invalid_envs("observations", observations, self.check_inf)
        problems += _invalid_envs("rewards", rewards, self.check_inf)
        if problems:
            self._report(problems, f"returned by the env at step {self.num_steps}, after actions {self._actions!r}")
        return observations, rewards, dones, infos

    def reset(self) -> VecEnvObs:
        observations = self.venv.reset()
        problems = _invalid_envs("observations", observations, self.check_inf)
        if problems:
            self._report(problems, f"returned by reset() (after {self.num_steps} steps)")
        return observations

    def _report(self, problems: list[str], where: str) -> None:
        if not self.raise_exception and self.warn_once and self._user_warned:
            return
        message = f"VecCheckNan found {'; '.join(problems)} {where}."
        if self.raise_exception:
            raise ValueError(message)
        self._user_warned = True
        warnings.warn(message, UserWarning, stacklevel=3)

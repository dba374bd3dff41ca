"""Reading the statistics and settings of Stable-Baselines3's pickled VecNormalize (``vec_normalize.pkl``).

Only the settings and the running statistics are read, with the restricted unpickler; building the wrapper
around an env is :meth:`baselines3.common.vec_env.VecNormalize.load`'s job.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from baselines3.common.running_mean_std import RunningMeanStd
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.serialization.sb3.unpickler import CollectedState, RefusedPickleError, as_float, restricted_loads

__all__ = ["SB3VecNormalize", "read_sb3_vec_normalize"]

_VEC_NORMALIZE = "stable_baselines3.common.vec_env.vec_normalize.VecNormalize"
_RUNNING_MEAN_STD = "stable_baselines3.common.running_mean_std.RunningMeanStd"


class SB3VecNormalize(NamedTuple):
    """What an SB3 VecNormalize pickle holds: its constructor settings, normalized keys and statistics."""

    #: training, norm_obs, norm_reward, clip_obs, clip_reward, gamma, epsilon
    settings: dict[str, Any]
    norm_obs_keys: list[str] | None
    obs_rms: RunningMeanStd | dict[str, RunningMeanStd]
    ret_rms: RunningMeanStd


def _rms(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return {key: _rms(sub, f"{where}[{key!r}]") for key, sub in value.items()}
    if not isinstance(value, CollectedState) or value.origin != _RUNNING_MEAN_STD:
        raise ValueError(f"{where}: expected RunningMeanStd statistics, got {value!r}")
    mean, var = value.state.get("mean"), value.state.get("var")
    mean = np.asarray(mean) if isinstance(mean, (np.generic, float)) else mean
    var = np.asarray(var) if isinstance(var, (np.generic, float)) else var
    if not isinstance(mean, np.ndarray) or not isinstance(var, np.ndarray) or mean.shape != var.shape:
        raise ValueError(f"{where}: mean and var must be arrays of one shape, got {mean!r} and {var!r}")
    rms = RunningMeanStd(shape=mean.shape)
    rms.mean = mean.astype(np.float64)
    rms.var = var.astype(np.float64)
    rms.count = as_float(value.state.get("count"), f"{where}.count")
    return rms


def read_sb3_vec_normalize(raw: bytes, label: str) -> SB3VecNormalize:
    """The settings and statistics of SB3's pickled VecNormalize ``raw``.

    Raises ValueError for a pickle that is not an SB3 VecNormalize or names anything outside the allow-list.
    """
    try:
        loaded = restricted_loads(raw, label)
    except RefusedPickleError as error:
        raise ValueError(f"{label}: not loaded: {error}") from error
    if not isinstance(loaded, CollectedState) or loaded.origin != _VEC_NORMALIZE:
        raise ValueError(f"{label} holds {loaded!r}, not a Stable-Baselines3 VecNormalize")
    state = loaded.state
    try:
        norm_obs = bool(state["norm_obs"])
        obs_rms = _rms(state["obs_rms"], f"{label}: obs_rms")
        ret_rms = _rms(state["ret_rms"], f"{label}: ret_rms")
        settings = dict(
            training=bool(state.get("training", True)),
            norm_obs=norm_obs,
            norm_reward=bool(state["norm_reward"]),
            clip_obs=as_float(state["clip_obs"], "clip_obs"),
            clip_reward=as_float(state["clip_reward"], "clip_reward"),
            gamma=as_float(state["gamma"], "gamma"),
            epsilon=as_float(state["epsilon"], "epsilon"),
        )
    except KeyError as error:
        raise ValueError(f"{label}: the SB3 VecNormalize lacks the field {error}") from error
    except ModelLoadError as error:
        raise ValueError(f"{label}: {error}") from error
    keys = state.get("norm_obs_keys")
    if isinstance(obs_rms, dict) and keys is None:
        keys = list(obs_rms)
    return SB3VecNormalize(settings, keys, obs_rms, ret_rms)

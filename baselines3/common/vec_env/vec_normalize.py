"""``VecNormalize``: running normalisation of observations and return-based scaling of rewards.

Saved statistics are a JSON file (no pickle), so loading one never runs code.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
from copy import deepcopy
from typing import Any

import numpy as np
from gymnasium import spaces

from baselines3.common.running_mean_std import RunningMeanStd
from baselines3.common.serialization.atomic import atomic_write_text
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.serialization.limits import current_limits, finite_number
from baselines3.common.serialization.sb3.vec_normalize import read_sb3_vec_normalize
from baselines3.common.utils import check_hyperparameters
from baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvObs, VecEnvStepReturn, VecEnvWrapper

__all__ = ["VecNormalize"]

_FORMAT = "baselines3.VecNormalize"
_FORMAT_VERSION = 1


def _rms_to_json(rms: RunningMeanStd) -> dict[str, Any]:
    return {
        "shape": list(rms.mean.shape),
        "mean": rms.mean.tolist(),
        "var": rms.var.tolist(),
        "count": rms.count,
    }


def _shape_from_json(value: Any, where: str) -> tuple[int, ...]:
    limit = current_limits().max_space_elements
    if not isinstance(value, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value):
        raise ModelLoadError(
            f"Corrupt VecNormalize file: the shape of {where} must be a list of integers, got {value!r}"
        )
    if math.prod(value) > limit:
        raise ModelLoadError(
            f"Corrupt VecNormalize file: the shape of {where} {tuple(value)} has more than {limit} elements "
            "(LoadLimits.max_space_elements)"
        )
    return tuple(value)


def _check_statistics(rms: RunningMeanStd, where: str) -> RunningMeanStd:
    """Statistics that would turn observations or rewards into NaN are refused: a NaN or infinite mean, a
    negative or non-finite variance, a count that is not a finite positive number."""
    if not np.all(np.isfinite(rms.mean)):
        raise ModelLoadError(f"Corrupt VecNormalize file: the mean of {where} is not finite: {rms.mean}")
    if not np.all(np.isfinite(rms.var)) or np.any(rms.var < 0):
        raise ModelLoadError(
            f"Corrupt VecNormalize file: the variance of {where} must be finite and >= 0, got {rms.var}"
        )
    if not (math.isfinite(rms.count) and rms.count > 0):
        raise ModelLoadError(f"Corrupt VecNormalize file: the count of {where} must be finite and > 0, got {rms.count}")
    return rms


def _rms_from_json(data: dict[str, Any], where: str, expected: tuple[int, ...] | None = None) -> RunningMeanStd:
    """Statistics from JSON; their shape is checked (against ``expected`` when given) before anything is built."""
    if not isinstance(data, dict):
        raise TypeError(where)
    shape = _shape_from_json(data["shape"], where)
    if expected is not None and shape != expected:
        raise ModelLoadError(
            f"Statistics of {where} have shape {shape}, but the venv's observation space has shape {expected} there"
        )
    rms = RunningMeanStd(shape=shape)
    try:
        mean = np.asarray(data["mean"], dtype=np.float64)
        var = np.asarray(data["var"], dtype=np.float64)
    except (ValueError, TypeError, OverflowError) as error:
        raise ModelLoadError(f"Corrupt VecNormalize file: statistics of {where} are not numeric: {error}") from error
    if mean.shape != shape or var.shape != shape:
        raise ModelLoadError(
            f"Corrupt VecNormalize file: statistics of {where} do not have shape {shape} (mean {mean.shape}, "
            f"var {var.shape})"
        )
    rms.mean, rms.var = mean, var
    rms.count = finite_number(data["count"], f"{where}.count", "VecNormalize file")
    return _check_statistics(rms, where)


def _expected_shapes(space: spaces.Space[Any]) -> Any:
    """Observation shapes the venv's space gives statistics (by key for a Dict space), for checks before building."""
    if isinstance(space, spaces.Dict):
        return {key: sub.shape for key, sub in space.spaces.items()}
    return space.shape


def _check_obs_shapes(
    obs_rms: RunningMeanStd | dict[str, RunningMeanStd], norm_obs: bool, space: spaces.Space[Any], source: str
) -> None:
    """Raise ``ValueError`` if observation statistics do not fit an observation space."""
    if not norm_obs:
        return
    if isinstance(obs_rms, dict):
        if not isinstance(space, spaces.Dict):
            raise ValueError(f"Statistics in {source} are for a Dict observation space, but the venv has {space}")
        for key, rms in obs_rms.items():
            if key not in space.spaces:
                raise ValueError(
                    f"Statistics in {source} normalise key {key!r}, which the venv's observation space lacks "
                    f"(keys: {list(space.spaces)})"
                )
            if rms.mean.shape != space.spaces[key].shape:
                raise ValueError(
                    f"Statistics in {source} for key {key!r} have shape {rms.mean.shape}, but the venv's "
                    f"observation space has shape {space.spaces[key].shape} there"
                )
    elif isinstance(space, spaces.Dict) or space.shape != obs_rms.mean.shape:
        raise ValueError(
            f"Statistics in {source} have observation shape {obs_rms.mean.shape}, but the venv's observation "
            f"space is {space}"
        )


class VecNormalize(VecEnvWrapper):
    """Normalise observations with running mean/std and scale rewards by the std of the discounted return.

    Observations become ``clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs)`` (float32).
    Rewards are divided by ``sqrt(var(R) + epsilon)``, where ``R = gamma * R + r`` is the running
    discounted return of each env (reset at episode ends), then clipped to ``clip_reward``; they are
    not centred, so their sign is kept. Statistics are updated only while ``training`` is True.

    :param venv: the VecEnv to wrap
    :param training: update the statistics
    :param norm_obs: normalise observations
    :param norm_reward: scale rewards
    :param clip_obs: bound of normalised observations
    :param clip_reward: bound of scaled rewards
    :param gamma: discount of the return used for reward scaling
    :param epsilon: added to variances to avoid division by zero
    :param norm_obs_keys: keys of a Dict observation space to normalise (default: all)
    """

    obs_rms: RunningMeanStd | dict[str, RunningMeanStd]

    def __init__(
        self,
        venv: VecEnv,
        training: bool = True,
        norm_obs: bool = True,
        norm_reward: bool = True,
        clip_obs: float = 10.0,
        clip_reward: float = 10.0,
        gamma: float = 0.99,
        epsilon: float = 1e-8,
        norm_obs_keys: list[str] | None = None,
    ) -> None:
        check_hyperparameters(clip_obs=clip_obs, clip_reward=clip_reward, gamma=gamma, epsilon=epsilon)
        VecEnvWrapper.__init__(self, venv)
        self.norm_obs = norm_obs
        self.clip_obs = clip_obs
        self.norm_obs_keys = list(norm_obs_keys) if norm_obs_keys is not None else None
        self.obs_rms = self._make_obs_rms(venv.observation_space)
        self.observation_space = self._normalized_space(venv.observation_space)
        self.ret_rms = RunningMeanStd(shape=())
        self.clip_reward = clip_reward
        self.returns = np.zeros(self.num_envs)
        self.gamma = gamma
        self.epsilon = epsilon
        self.training = training
        self.norm_reward = norm_reward
        self.old_obs: VecEnvObs = np.array([])
        self.old_reward = np.array([])

    def _make_obs_rms(self, space: spaces.Space[Any]) -> RunningMeanStd | dict[str, RunningMeanStd]:
        """Check the observation space (and ``norm_obs_keys``) and create fresh statistics for it."""
        if not self.norm_obs:
            return RunningMeanStd(shape=())  # unused placeholder
        if isinstance(space, spaces.Dict):
            keys = list(space.spaces) if self.norm_obs_keys is None else self.norm_obs_keys
            for key in keys:
                if key not in space.spaces:
                    raise ValueError(f"norm_obs_keys has {key!r}, which is not a key of {list(space.spaces)}")
                if not isinstance(space.spaces[key], spaces.Box):
                    raise ValueError(
                        f"VecNormalize can only normalise Box subspaces, but {key!r} is {space.spaces[key]}; "
                        "leave it out with norm_obs_keys"
                    )
            self.norm_obs_keys = keys
            return {key: RunningMeanStd(shape=space.spaces[key].shape or ()) for key in keys}
        if isinstance(space, spaces.Box):
            return RunningMeanStd(shape=space.shape)
        raise ValueError(
            f"VecNormalize normalises Box and Dict observation spaces, got {space}; use norm_obs=False to "
            "only scale rewards"
        )

    def _normalized_space(self, space: spaces.Space[Any]) -> spaces.Space[Any]:
        """Observation space after normalisation: normalised parts become float32 in [-clip_obs, clip_obs]."""
        if not self.norm_obs:
            return space
        bound = float(self.clip_obs)
        if isinstance(space, spaces.Dict):
            new_spaces = dict(space.spaces)
            for key in self.norm_obs_keys or ():
                new_spaces[key] = spaces.Box(-bound, bound, space.spaces[key].shape, np.float32)
            return spaces.Dict(new_spaces)
        return spaces.Box(-bound, bound, space.shape, np.float32)

    # ----- pickling support: the wrapped venv is never part of the state -------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["venv"]
        del state["returns"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.venv = None  # type: ignore[assignment]

    def set_venv(self, venv: VecEnv) -> None:
        """Attach a VecEnv to a VecNormalize that has none (e.g. after unpickling), keeping the statistics."""
        if self.__dict__.get("venv") is not None:
            raise ValueError("This VecNormalize already wraps a VecEnv; create a new VecNormalize instead")
        _check_obs_shapes(self.obs_rms, self.norm_obs, venv.observation_space, "this VecNormalize")
        VecEnvWrapper.__init__(self, venv)
        self.observation_space = self._normalized_space(venv.observation_space)
        self.returns = np.zeros(self.num_envs)

    # ----- VecEnv API ---------------------------------------------------------------------------------
    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        self.old_obs = obs
        self.old_reward = rewards
        if self.training and self.norm_obs:
            self._update_obs_rms(obs)
        normalized = self.normalize_obs(obs)
        if self.training:
            self._update_reward(rewards)
        rewards = self.normalize_reward(rewards)
        if dones.any():
            for index in np.flatnonzero(dones):
                terminal = infos[index].get("terminal_observation")
                if terminal is not None:
                    infos[index]["terminal_observation"] = self.normalize_obs(terminal)
            self.returns[dones] = 0.0
        return normalized, rewards, dones, infos

    def reset(self) -> VecEnvObs:
        obs = self.venv.reset()
        self.old_obs = obs
        self.returns = np.zeros(self.num_envs)
        if self.training and self.norm_obs:
            self._update_obs_rms(obs)
        return self.normalize_obs(obs)

    def _update_obs_rms(self, obs: VecEnvObs) -> None:
        if isinstance(self.obs_rms, dict):
            assert isinstance(obs, dict)
            for key, rms in self.obs_rms.items():
                rms.update(obs[key])
        else:
            self.obs_rms.update(obs)  # type: ignore[arg-type]

    def _update_reward(self, reward: np.ndarray) -> None:
        self.returns = self.returns * self.gamma + reward
        self.ret_rms.update(self.returns)

    # ----- (un)normalisation --------------------------------------------------------------------------
    def _normalize(self, obs: np.ndarray, rms: RunningMeanStd) -> np.ndarray:
        scaled = (obs - rms.mean) / np.sqrt(rms.var + self.epsilon)
        return np.clip(scaled, -self.clip_obs, self.clip_obs).astype(np.float32)

    def _unnormalize(self, obs: np.ndarray, rms: RunningMeanStd) -> np.ndarray:
        return obs * np.sqrt(rms.var + self.epsilon) + rms.mean

    def normalize_obs(self, obs: VecEnvObs) -> VecEnvObs:
        """Normalise a batch (or a single observation) with the current statistics; returns a new object."""
        if not self.norm_obs:
            return deepcopy(obs)
        if isinstance(self.obs_rms, dict):
            assert isinstance(obs, dict)
            result = dict(obs)
            for key, rms in self.obs_rms.items():
                result[key] = self._normalize(obs[key], rms)
            return result
        return self._normalize(obs, self.obs_rms)  # type: ignore[arg-type]

    def normalize_reward(self, reward: np.ndarray) -> np.ndarray:
        """Scale rewards by the std of the discounted return and clip them."""
        if not self.norm_reward:
            return reward
        scaled = np.clip(reward / np.sqrt(self.ret_rms.var + self.epsilon), -self.clip_reward, self.clip_reward)
        return scaled.astype(np.float32)

    def unnormalize_obs(self, obs: VecEnvObs) -> VecEnvObs:
        """Invert ``normalize_obs`` (exact unless values were clipped)."""
        if not self.norm_obs:
            return deepcopy(obs)
        if isinstance(self.obs_rms, dict):
            assert isinstance(obs, dict)
            result = dict(obs)
            for key, rms in self.obs_rms.items():
                result[key] = self._unnormalize(obs[key], rms)
            return result
        return self._unnormalize(obs, self.obs_rms)  # type: ignore[arg-type]

    def unnormalize_reward(self, reward: np.ndarray) -> np.ndarray:
        """Invert ``normalize_reward`` (exact unless values were clipped)."""
        if self.norm_reward:
            return reward * np.sqrt(self.ret_rms.var + self.epsilon)
        return reward

    def get_original_obs(self) -> VecEnvObs:
        """The last observations before normalisation."""
        return deepcopy(self.old_obs)

    def get_original_reward(self) -> np.ndarray:
        """The last rewards before scaling."""
        return self.old_reward.copy()

    # ----- saving -------------------------------------------------------------------------------------
    def save(self, save_path: str | os.PathLike[str]) -> None:
        """Write settings and statistics as JSON to ``save_path`` (atomically: temp file + rename)."""
        if isinstance(self.obs_rms, dict):
            obs_rms: Any = {key: _rms_to_json(rms) for key, rms in self.obs_rms.items()}
        else:
            obs_rms = _rms_to_json(self.obs_rms)
        data = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "settings": {
                "training": self.training,
                "norm_obs": self.norm_obs,
                "norm_reward": self.norm_reward,
                "clip_obs": self.clip_obs,
                "clip_reward": self.clip_reward,
                "gamma": self.gamma,
                "epsilon": self.epsilon,
                "norm_obs_keys": self.norm_obs_keys,
            },
            "obs_rms": obs_rms,
            "obs_rms_is_dict": isinstance(self.obs_rms, dict),
            "ret_rms": _rms_to_json(self.ret_rms),
        }
        path = pathlib.Path(os.fspath(save_path))
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(data))

    @staticmethod
    def load(load_path: str | os.PathLike[str], venv: VecEnv) -> VecNormalize:
        """Create a VecNormalize around ``venv`` with the settings and statistics saved in ``load_path``.

        Also reads Stable-Baselines3's pickled ``vec_normalize.pkl`` (statistics and settings only, with an
        unpickler that imports nothing). Raises ``ValueError`` (``ModelLoadError``) if the file is neither, is
        larger than ``LoadLimits.max_json_bytes``, holds statistics that do not fit ``venv``'s observations, or
        statistics that would give NaN (a non-finite mean, a negative or non-finite variance).
        """
        path = os.fspath(load_path)
        limit = current_limits().max_json_bytes
        with open(path, "rb") as file:
            raw = file.read(limit + 1)
        if len(raw) > limit:
            raise ModelLoadError(
                f"{path!r} is larger than {limit} bytes, the limit for a VecNormalize file (LoadLimits.max_json_bytes)"
            )
        if raw[:1] == b"\x80":  # a pickle saved by Stable-Baselines3: only its statistics are read, no code runs
            return vec_normalize_from_sb3_pickle(raw, venv, repr(path))
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ModelLoadError(f"{path!r} is not a VecNormalize JSON file: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ModelLoadError(f"{path!r} is not a VecNormalize file (missing format tag {_FORMAT!r})")
        version = data.get("version", 0)
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise ModelLoadError(f"{path!r}: field 'version' must be a non-negative integer, got {version!r}")
        if version > _FORMAT_VERSION:
            raise ModelLoadError(
                f"{path!r} has format version {data['version']}; this baselines3 reads versions up to {_FORMAT_VERSION}"
            )
        try:
            return VecNormalize._from_json(data, venv, repr(path))
        except ModelLoadError as exc:
            raise ModelLoadError(f"{path!r}: {exc}") from exc
        except (KeyError, TypeError, AttributeError) as exc:
            raise ModelLoadError(
                f"{path!r} is not a valid VecNormalize file: missing or malformed field {exc}"
            ) from exc

    @staticmethod
    def _from_json(data: dict[str, Any], venv: VecEnv, label: str) -> VecNormalize:
        settings = data["settings"]
        if not isinstance(settings, dict):
            raise TypeError("'settings'")
        flags = {key: settings[key] for key in ("training", "norm_obs", "norm_reward")}
        for key, flag in flags.items():
            if not isinstance(flag, bool):
                raise ModelLoadError(f"field 'settings.{key}' must be true or false, got {flag!r}")
        numbers = {
            key: finite_number(settings[key], f"settings.{key}", "VecNormalize file", minimum=0.0)
            for key in ("clip_obs", "clip_reward", "gamma", "epsilon")
        }
        keys = settings["norm_obs_keys"]
        if keys is not None and not (isinstance(keys, list) and all(isinstance(key, str) for key in keys)):
            raise ModelLoadError(f"field 'settings.norm_obs_keys' must be a list of strings or null, got {keys!r}")
        expected = _expected_shapes(venv.observation_space) if flags["norm_obs"] else None
        obs_rms: Any
        is_dict = data["obs_rms_is_dict"]
        if not isinstance(is_dict, bool):
            raise ModelLoadError(f"field 'obs_rms_is_dict' must be true or false, got {is_dict!r}")
        if is_dict:
            saved = data["obs_rms"]
            if not isinstance(saved, dict):
                raise TypeError("'obs_rms'")
            if isinstance(expected, dict):
                extra = [key for key in saved if key not in expected]
                if extra:
                    raise ModelLoadError(
                        f"Statistics in {label} normalise key {extra[0]!r}, which the venv's observation space lacks "
                        f"(keys: {list(expected)})"
                    )
            obs_rms = {
                key: _rms_from_json(value, f"key {key!r}", expected.get(key) if isinstance(expected, dict) else None)
                for key, value in saved.items()
            }
        else:
            obs_rms = _rms_from_json(data["obs_rms"], "observations", expected if isinstance(expected, tuple) else None)
        _check_obs_shapes(obs_rms, flags["norm_obs"], venv.observation_space, label)
        ret_rms = _rms_from_json(data["ret_rms"], "returns", ())
        vec_normalize = VecNormalize(
            venv,
            training=flags["training"],
            norm_obs=flags["norm_obs"],
            norm_reward=flags["norm_reward"],
            clip_obs=numbers["clip_obs"],
            clip_reward=numbers["clip_reward"],
            gamma=numbers["gamma"],
            epsilon=numbers["epsilon"],
            norm_obs_keys=keys,
        )
        if vec_normalize.norm_obs:
            vec_normalize.obs_rms = obs_rms
        vec_normalize.ret_rms = ret_rms
        return vec_normalize


def vec_normalize_from_sb3_pickle(raw: bytes, venv: VecEnv, label: str) -> VecNormalize:
    """A VecNormalize around ``venv`` with the settings and statistics of SB3's pickled VecNormalize ``raw``.

    Only the statistics and settings are read (with the restricted unpickler); raises ValueError for a pickle
    that is not an SB3 VecNormalize or names anything outside the allow-list.
    """
    saved = read_sb3_vec_normalize(raw, label)
    norm_obs = bool(saved.settings["norm_obs"])
    for key, rms in saved.obs_rms.items() if isinstance(saved.obs_rms, dict) else [("observations", saved.obs_rms)]:
        _check_statistics(rms, f"{label}: {key}")
    _check_statistics(saved.ret_rms, f"{label}: returns")
    _check_obs_shapes(saved.obs_rms, norm_obs, venv.observation_space, label)
    vec_normalize = VecNormalize(venv, norm_obs_keys=saved.norm_obs_keys, **saved.settings)
    if norm_obs:
        vec_normalize.obs_rms = saved.obs_rms
    vec_normalize.ret_rms = saved.ret_rms
    return vec_normalize

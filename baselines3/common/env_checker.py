"""Check that a gymnasium env follows the API and has spaces the algorithms can use."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from baselines3.common.preprocessing import is_image_space_channels_first

# Observation spaces the algorithms handle (Dict of these too).
_SUPPORTED_OBS = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary, spaces.Dict)
_SUPPORTED_ACTIONS = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
# Smallest image side that NatureCNN accepts.
_MIN_IMAGE_SIDE = 36


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)


def _obs_spaces(observation_space: spaces.Space) -> dict[str, spaces.Space]:
    """The observation space by key ("" for a space that is not a Dict)."""
    if isinstance(observation_space, spaces.Dict):
        return dict(observation_space.spaces)
    return {"": observation_space}


def _where(key: str) -> str:
    return f" (key {key!r})" if key else ""


def _check_spaces(env: gym.Env) -> None:
    """Both spaces exist and are gymnasium spaces."""
    for name in ("observation_space", "action_space"):
        if not hasattr(env, name):
            raise AttributeError(
                f"The env must define self.{name} (a gymnasium.spaces.Space), e.g. in __init__; it has none"
            )
        space = getattr(env, name)
        if not isinstance(space, spaces.Space):
            raise TypeError(
                f"env.{name} must be a gymnasium.spaces.Space (e.g. spaces.Box), got {type(space).__name__}; "
                "spaces from the old `gym` package are not supported, use `gymnasium.spaces`"
            )


def _check_unsupported_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> None:
    """Raise on spaces the algorithms cannot use at all; warn on ones that need a wrapper."""
    if isinstance(observation_space, spaces.Dict):
        for key, subspace in observation_space.spaces.items():
            if isinstance(subspace, (spaces.Dict, spaces.Tuple)):
                raise ValueError(
                    f"Nested observation spaces are not supported: key {key!r} of the Dict "
                    "observation space is "
                    f"a {type(subspace).__name__}. Flatten the observation into one level of keys "
                    "(e.g. 'outer_inner') whose values are Box/Discrete/MultiDiscrete/MultiBinary spaces."
                )
            if not isinstance(subspace, _SUPPORTED_OBS):
                raise ValueError(
                    f"Observation key {key!r} has space {subspace}, which is not supported: use "
                    "Box, Discrete, "
                    "MultiDiscrete or MultiBinary"
                )
    elif isinstance(observation_space, spaces.Tuple):
        _warn(
            "Tuple observation spaces are not supported by the algorithms: use a Dict observation space "
            "instead (one key per element)."
        )
    elif not isinstance(observation_space, _SUPPORTED_OBS):
        _warn(
            f"The observation space {observation_space} is not supported by the algorithms: use "
            "Box, Discrete, "
            "MultiDiscrete, MultiBinary or a Dict of those."
        )

    for key, subspace in _obs_spaces(observation_space).items():
        if isinstance(subspace, spaces.Discrete) and subspace.start != 0:
            _warn(
                f"Discrete observation space{_where(key)} starts at {subspace.start}, not 0: check that the "
                "algorithm handles it or shift it to start at 0."
            )
        if isinstance(subspace, spaces.MultiDiscrete) and np.any(subspace.start != 0):
            _warn(f"MultiDiscrete observation space{_where(key)} does not start at 0: shift it to start at 0.")

    if not isinstance(action_space, _SUPPORTED_ACTIONS):
        raise ValueError(
            f"The action space {action_space} is not supported: use Box, Discrete, MultiDiscrete or MultiBinary"
        )
    if isinstance(action_space, spaces.Discrete) and action_space.start != 0:
        _warn(
            f"Discrete action space starts at {action_space.start}, not 0: the algorithms output actions "
            f"0..n-1; use Discrete({action_space.n}) and shift the action in the env."
        )
    if isinstance(action_space, spaces.MultiDiscrete) and np.any(action_space.start != 0):
        _warn("MultiDiscrete action space does not start at 0: the algorithms output actions from 0.")
    if isinstance(action_space, spaces.MultiBinary) and len(action_space.shape) > 1:
        raise ValueError(
            f"Multi-dimensional MultiBinary{action_space.shape} action spaces are not supported: "
            f"use MultiBinary({int(np.prod(action_space.shape))})"
        )


def _check_image_obs(space: spaces.Box, key: str) -> None:
    """Warnings for image-like Box spaces the CNN policies would not treat as images."""
    if space.dtype != np.uint8:
        _warn(
            f"The observation space{_where(key)} looks like an image (3 dims) but its dtype is "
            f"{space.dtype}; "
            "CnnPolicy expects np.uint8 images in [0, 255]. Otherwise pass "
            "policy_kwargs=dict(normalize_images=False) if the values are already normalized."
        )
    if np.any(space.low != 0) or np.any(space.high != 255):
        _warn(
            f"The image observation space{_where(key)} has bounds other than low=0, high=255; "
            "CnnPolicy treats "
            "only uint8 spaces in [0, 255] as images (it divides by 255)."
        )
    if is_image_space_channels_first(space):
        height, width = space.shape[1], space.shape[2]
    else:
        height, width = space.shape[0], space.shape[1]
        if space.shape[-1] not in (1, 3, 4):
            _warn(
                f"The image observation space{_where(key)} of shape {space.shape} is read as "
                "channel-last with "
                f"{space.shape[-1]} channels; images should have 1, 3 or 4 channels (channel-last images are "
                "transposed to channel-first with VecTransposeImage)."
            )
    if height < _MIN_IMAGE_SIDE or width < _MIN_IMAGE_SIDE:
        _warn(
            f"The image observation space{_where(key)} is {height}x{width}, smaller than the "
            f"{_MIN_IMAGE_SIDE}x{_MIN_IMAGE_SIDE} that the default NatureCNN needs; resize the images or use "
            "a custom features_extractor_class."
        )


def _check_box_obs(space: spaces.Box, key: str) -> None:
    """Warnings about Box bounds that are infinite or empty."""
    if len(space.shape) == 3:
        _check_image_obs(space, key)
        return
    if not np.all(np.isfinite(space.low)) or not np.all(np.isfinite(space.high)):
        _warn(
            f"The Box observation space{_where(key)} has non-finite bounds (low={space.low.min()}, "
            f"high={space.high.max()}); that is allowed, but normalizing observations (VecNormalize) then "
            "helps learning."
        )
    if np.any(space.low == space.high):
        _warn(f"The Box observation space{_where(key)} has dimensions with low == high (always one value).")


def _check_action_bounds(action_space: spaces.Space) -> None:
    """A Box action space needs finite bounds: policies scale or clip actions to them."""
    if isinstance(action_space, spaces.Box) and (
        not np.all(np.isfinite(action_space.low)) or not np.all(np.isfinite(action_space.high))
    ):
        raise ValueError(
            f"The Box action space {action_space} must have finite low and high bounds (e.g. -1 and 1): "
            "continuous policies scale or clip actions to them"
        )


def _check_action_space(action_space: spaces.Space) -> None:
    """Warnings for Box action spaces that are not symmetric, normalized float32."""
    if not isinstance(action_space, spaces.Box):
        return
    if np.any(action_space.low != -1) or np.any(action_space.high != 1):
        _warn(
            f"The Box action space has bounds low={action_space.low}, high={action_space.high}; use a "
            "symmetric, normalized space (low=-1, high=1) and rescale actions inside the env: Gaussian "
            "policies start centered on 0 with unit scale."
        )
    if action_space.dtype != np.float32:
        _warn(f"The Box action space has dtype {action_space.dtype}; np.float32 is expected.")


def _check_obs(obs: Any, space: spaces.Space, method: str, key: str = "") -> None:
    """One observation (not a Dict) matches its space: type, shape, dtype, bounds."""
    where = f"The observation returned by {method}(){_where(key)}"
    if isinstance(space, spaces.Discrete):
        if not isinstance(obs, (int, np.integer)) and not (isinstance(obs, np.ndarray) and obs.shape == ()):
            raise TypeError(f"{where} must be an int (Discrete space), got {type(obs).__name__}: {obs!r}")
    elif isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        if not isinstance(obs, np.ndarray):
            raise TypeError(
                f"{where} must be a np.ndarray for a {type(space).__name__} space, got {type(obs).__name__}"
            )
        if obs.shape != space.shape:
            raise ValueError(f"{where} has shape {obs.shape}, but the observation space has shape {space.shape}")
        if isinstance(space, spaces.Box) and obs.dtype != space.dtype:
            raise TypeError(
                f"{where} has dtype {obs.dtype}, but the observation space has dtype {space.dtype}; "
                f"cast it, e.g. obs.astype(np.{space.dtype})"
            )
    if not space.contains(obs):
        detail = ""
        if isinstance(space, spaces.Box) and isinstance(obs, np.ndarray) and obs.shape == space.shape:
            outside = np.flatnonzero((obs < space.low) | (obs > space.high) | ~np.isfinite(obs))
            if outside.size:
                i = int(outside[0])
                flat_obs, low, high = obs.ravel(), space.low.ravel(), space.high.ravel()
                detail = f": e.g. element {i} is {flat_obs[i]}, outside [{low[i]}, {high[i]}]"
        raise ValueError(f"{where} is not in the observation space {space}{detail}")


def _check_returned_obs(obs: Any, observation_space: spaces.Space, method: str) -> None:
    if isinstance(observation_space, spaces.Dict):
        if not isinstance(obs, dict):
            raise TypeError(
                f"The observation returned by {method}() must be a dict for a Dict observation space, "
                f"got {type(obs).__name__}"
            )
        expected, got = set(observation_space.spaces), set(obs)
        if expected != got:
            raise KeyError(
                f"The observation returned by {method}() has keys {sorted(got)}, but the "
                "observation space has "
                f"keys {sorted(expected)}"
            )
        for key, subspace in observation_space.spaces.items():
            _check_obs(obs[key], subspace, method, key)
    elif isinstance(observation_space, _SUPPORTED_OBS):
        _check_obs(obs, observation_space, method)
    elif not observation_space.contains(obs):
        raise ValueError(f"The observation returned by {method}() is not in the observation space")


def _check_reset(env: gym.Env) -> Any:
    """reset(seed=..., options=...) returns (obs, info); the same seed gives the same observation."""
    try:
        result = env.reset(seed=0)
    except TypeError as exc:
        raise TypeError(
            "env.reset() must accept the keyword arguments seed and options: "
            "def reset(self, *, seed=None, options=None), calling super().reset(seed=seed) first"
        ) from exc
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(
            f"env.reset() must return a tuple (obs, info), got {type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, tuple) else "")
        )
    obs, info = result
    if not isinstance(info, dict):
        raise TypeError(f"The info returned by env.reset() must be a dict, got {type(info).__name__}")
    _check_returned_obs(obs, env.observation_space, "reset")

    # Same seed, same first observation (only checked for array observations).
    obs_again, _ = env.reset(seed=0)
    if not _same_obs(obs, obs_again):
        _warn(
            "env.reset(seed=0) twice gave different observations: call super().reset(seed=seed) in reset() "
            "and draw randomness from self.np_random so seeding makes runs reproducible."
        )
    try:
        env.reset(seed=0, options={})
    except TypeError as exc:
        raise TypeError("env.reset() must accept the keyword argument options (a dict or None)") from exc
    return obs


def _same_obs(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_obs(a[k], b[k]) for k in a)
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
    except TypeError:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def _check_step(env: gym.Env) -> None:
    """step(action) returns (obs, reward, terminated, truncated, info) with the right types."""
    action = env.action_space.sample()
    result = env.step(action)
    if not isinstance(result, tuple) or len(result) != 5:
        length = f" of length {len(result)}" if isinstance(result, tuple) else ""
        raise TypeError(
            f"env.step() must return a 5-tuple (obs, reward, terminated, truncated, info), got "
            f"{type(result).__name__}{length}; the old 4-tuple (obs, reward, done, info) API is not supported"
        )
    obs, reward, terminated, truncated, info = result
    _check_returned_obs(obs, env.observation_space, "step")
    if not isinstance(reward, (float, int, np.floating, np.integer)) or isinstance(reward, (bool, np.bool_)):
        raise TypeError(f"The reward returned by step() must be a float, got {type(reward).__name__}: {reward!r}")
    for name, flag in (("terminated", terminated), ("truncated", truncated)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"The {name} value returned by step() must be a bool, got {type(flag).__name__}")
    if not isinstance(info, dict):
        raise TypeError(f"The info returned by step() must be a dict, got {type(info).__name__}")

    # Goal envs: compute_reward must agree with the reward given by step().
    if isinstance(env.observation_space, spaces.Dict) and hasattr(env.unwrapped, "compute_reward"):
        keys = set(env.observation_space.spaces)
        if {"achieved_goal", "desired_goal"} <= keys:
            computed = env.unwrapped.compute_reward(obs["achieved_goal"], obs["desired_goal"], info)
            if not np.allclose(computed, reward):
                raise ValueError(
                    f"compute_reward(achieved_goal, desired_goal, info) = {computed} but step() returned "
                    f"reward {reward}: they must agree (HER recomputes rewards with compute_reward)"
                )


def _check_render(env: gym.Env) -> None:
    render_modes = env.metadata.get("render_modes")
    if render_modes is None:
        _warn(
            "The env declares no render modes: set metadata = {'render_modes': [...], 'render_fps': ...} "
            "on the env class."
        )
        return
    if env.render_mode is not None:
        if env.render_mode not in render_modes:
            raise ValueError(f"env.render_mode is {env.render_mode!r}, which is not one of {list(render_modes)}")
        env.render()


def check_env(env: gym.Env, warn: bool = True, skip_render_check: bool = True) -> None:
    """Check that `env` follows the gymnasium API and has spaces and outputs the algorithms can use.

    Problems that would break training raise an exception naming the problem; with ``warn=True``,
    choices that usually hurt learning (unnormalized action bounds, odd image spaces...) give
    UserWarnings. The env is reset and stepped, so its state changes.

    :param env: the gymnasium env to check (not a VecEnv)
    :param warn: also warn about things that are allowed but not advised
    :param skip_render_check: do not call env.render()
    """
    if not isinstance(env, gym.Env):
        raise TypeError(
            f"check_env expects a gymnasium.Env (subclass gymnasium.Env), got {type(env).__name__}; "
            "VecEnvs and envs of the old `gym` package are not checked"
        )
    _check_spaces(env)
    observation_space, action_space = env.observation_space, env.action_space
    # Problems that break training raise whatever `warn` says; advice is a warning only with warn=True.
    with warnings.catch_warnings():
        if not warn:
            warnings.simplefilter("ignore", UserWarning)
        _check_unsupported_spaces(observation_space, action_space)
        _check_action_bounds(action_space)
        if warn:
            for key, subspace in _obs_spaces(observation_space).items():
                if isinstance(subspace, spaces.Box):
                    _check_box_obs(subspace, key)
            _check_action_space(action_space)
        _check_reset(env)
        _check_step(env)
        if not skip_render_check:
            _check_render(env)


__all__ = ["check_env"]

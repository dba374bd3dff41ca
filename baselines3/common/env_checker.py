"""Check that a gymnasium env follows the API and has spaces the algorithms can use.

The contract is Stable-Baselines3's: a broken env raises AssertionError (TypeError for a ``reset()`` that does not
take ``seed``), and things that work but usually hurt learning, or that the algorithms do not support, give
UserWarnings (with ``warn=True``). The checks raise explicitly, so they also run under ``python -O``.
"""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from baselines3.common.preprocessing import is_image_space_channels_first

__all__ = ["check_env"]

# Smallest image side that NatureCNN accepts.
_MIN_IMAGE_SIDE = 36
# Observation spaces whose returned values are not checked (the algorithms cannot use them at all).
_SKIPPED_OBS = (spaces.Graph, spaces.Sequence, spaces.OneOf)


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)


def _require(condition: Any, message: str) -> None:
    """Raise AssertionError with ``message`` unless ``condition`` holds (an ``assert`` that ``-O`` keeps)."""
    if not condition:
        raise AssertionError(message)


def _obs_spaces(observation_space: spaces.Space[Any]) -> dict[str, spaces.Space[Any]]:
    """The observation space by key ("" for a space that is not a Dict)."""
    if isinstance(observation_space, spaces.Dict):
        return dict(observation_space.spaces)
    return {"": observation_space}


def _where(key: str) -> str:
    return f" (key {key!r})" if key else ""


def _is_goal_env(env: gym.Env) -> bool:
    """Goal-conditioned envs (the old gym.GoalEnv) are recognized by a ``compute_reward`` method."""
    return hasattr(env.unwrapped, "compute_reward")


def _check_spaces(env: gym.Env) -> None:
    """Both spaces exist and are gymnasium spaces; a goal env has a Dict observation space."""
    for name in ("observation_space", "action_space"):
        _require(hasattr(env, name), f"The env must define self.{name} (a gymnasium.spaces.Space), e.g. in __init__")
        space = getattr(env, name)
        _require(
            isinstance(space, spaces.Space),
            f"env.{name} must be a gymnasium.spaces.Space (e.g. spaces.Box), got {type(space).__name__}; "
            "spaces from the old `gym` package are not supported, use `gymnasium.spaces`",
        )
    if _is_goal_env(env):
        _require(
            isinstance(env.observation_space, spaces.Dict),
            "The env defines compute_reward(), so it is taken as a goal-conditioned env, which needs a Dict "
            "observation space (observation, achieved_goal, desired_goal); rename compute_reward() otherwise",
        )


def _check_start(space: spaces.Space[Any], kind: str, key: str = "") -> None:
    if isinstance(space, (spaces.Discrete, spaces.MultiDiscrete)) and np.any(np.asarray(space.start) != 0):
        _warn(
            f"{type(space).__name__} {kind} space{_where(key)} starts at {space.start}, not 0, which the algorithms "
            f"do not support: shift the {kind} in a wrapper or change the space."
        )


def _check_unsupported_spaces(observation_space: spaces.Space[Any], action_space: spaces.Space[Any]) -> bool:
    """Warn about spaces the algorithms do not support. True when the returned values cannot be checked."""
    skip = isinstance(observation_space, _SKIPPED_OBS)
    inner: list[spaces.Space[Any]] = []
    if isinstance(observation_space, spaces.Dict):
        inner = list(observation_space.spaces.values())
        if any(isinstance(space, spaces.Dict) for space in inner):
            _warn(
                "Nested observation spaces (a Dict inside the Dict) are not supported: flatten the observation "
                "into one level of keys, e.g. 'outer_inner'."
            )
        for key, space in observation_space.spaces.items():
            _check_start(space, "observation", key)
    elif isinstance(observation_space, spaces.Tuple):
        inner = list(observation_space.spaces)
        _warn("Tuple observation spaces are not supported: use a Dict observation space (one key per element).")
    skip = skip or any(isinstance(space, (spaces.Graph, spaces.Sequence)) for space in inner)
    for space in [observation_space, *inner]:
        if isinstance(space, _SKIPPED_OBS):
            _warn(
                f"{type(space).__name__} observation spaces are not supported (pad Sequence observations to a fixed "
                "size instead). The checks of the returned values are skipped."
            )
            break
    for space, kind in ((observation_space, "observation"), (action_space, "action")):
        if isinstance(space, spaces.MultiDiscrete) and space.nvec.ndim > 1:
            _warn(
                f"The MultiDiscrete {kind} space has a multi-dimensional nvec {space.nvec.shape}, which is not "
                "supported: flatten it to one dimension with a wrapper."
            )
    _check_start(observation_space, "observation")
    _check_start(action_space, "action")
    if isinstance(action_space, (spaces.Dict, spaces.Tuple)):
        _warn(
            f"{type(action_space).__name__} action spaces are not supported: flatten the action (e.g. into a Box or "
            "a MultiDiscrete) with a wrapper."
        )
    return skip


def _check_image_obs(space: spaces.Box, key: str) -> None:
    """Warnings for image-like (3-dim) Box spaces the CNN policies would not treat as images."""
    if space.dtype != np.uint8:
        _warn(
            f"The observation space{_where(key)} looks like an image (3 dims) but its dtype is {space.dtype}; "
            "CnnPolicy expects np.uint8 images in [0, 255]. If it is not an image, flatten it to a 1-D vector; "
            "if its values are already normalized, pass policy_kwargs=dict(normalize_images=False)."
        )
    if np.any(space.low != 0) or np.any(space.high != 255):
        _warn(
            f"The image observation space{_where(key)} has bounds other than low=0, high=255; CnnPolicy divides "
            "images by 255, so values outside [0, 255] are scaled wrongly."
        )
    if is_image_space_channels_first(space):
        height, width = space.shape[1], space.shape[2]
    else:
        height, width = space.shape[0], space.shape[1]
    if height < _MIN_IMAGE_SIDE or width < _MIN_IMAGE_SIDE:
        _warn(
            f"The image observation space{_where(key)} is {height}x{width}, smaller than the "
            f"{_MIN_IMAGE_SIDE}x{_MIN_IMAGE_SIDE} that the default NatureCNN needs; resize the images or use "
            "a custom features_extractor_class."
        )


def _check_box_obs(space: spaces.Box, key: str) -> None:
    """Warnings for image-like Box spaces and for shapes that are neither a vector nor an image."""
    if len(space.shape) == 3:
        _check_image_obs(space, key)
    if len(space.shape) not in (1, 3):
        _warn(
            f"The observation space{_where(key)} has the unusual shape {space.shape} (neither a 1-D vector nor an "
            "image): flatten it to a vector or use a custom features extractor."
        )


def _check_action_bounds(action_space: spaces.Space[Any]) -> None:
    """A Box action space must have finite bounds: policies scale or clip actions to them. (Checked whatever
    ``warn`` says; Stable-Baselines3 checks it only with ``warn=True``.)"""
    if isinstance(action_space, spaces.Box):
        _require(
            np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high)),
            f"The Box action space {action_space} must have finite low and high bounds (e.g. -1 and 1): "
            "continuous policies scale or clip actions to them",
        )


def _check_action_space(action_space: spaces.Space[Any]) -> None:
    """A Box action space should be symmetric and normalized float32 (warnings)."""
    if not isinstance(action_space, spaces.Box):
        return
    if np.any(action_space.low != -1) or np.any(action_space.high != 1):
        _warn(
            f"The Box action space has bounds low={action_space.low}, high={action_space.high}; use a "
            "symmetric, normalized space (low=-1, high=1) and rescale actions inside the env: Gaussian "
            "policies start centered on 0 with unit scale."
        )
    if action_space.dtype != np.float32:
        _warn(f"The Box action space has dtype {action_space.dtype}; np.float32 is expected (it avoids casts).")


def _check_obs(obs: Any, space: spaces.Space[Any], method: str, key: str = "") -> None:
    """One observation (of a space that is not a Dict) matches its space: type, shape, dtype, bounds."""
    where = f"The observation returned by {method}(){_where(key)}"
    if not isinstance(space, spaces.Tuple):
        _require(not isinstance(obs, tuple), f"{where} must be a single value, not a tuple")
    if isinstance(space, spaces.Discrete):
        is_int = isinstance(obs, (int, np.integer)) and not isinstance(obs, (bool, np.bool_))
        is_int_array = isinstance(obs, np.ndarray) and obs.shape == () and np.issubdtype(obs.dtype, np.integer)
        _require(is_int or is_int_array, f"{where} must be an int (Discrete space), got {type(obs).__name__}")
    elif isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        _require(
            isinstance(obs, np.ndarray),
            f"{where} must be a np.ndarray for a {type(space).__name__} space, got {type(obs).__name__}",
        )
    if isinstance(obs, np.ndarray) and isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        _require(obs.shape == space.shape, f"{where} has shape {obs.shape}, but the space has shape {space.shape}")
        _require(
            np.can_cast(obs.dtype, space.dtype),
            f"{where} has dtype {obs.dtype}, which cannot be cast safely to the space's {space.dtype}; "
            f"cast it, e.g. obs.astype(np.{space.dtype})",
        )
        if isinstance(space, spaces.Box):
            outside = np.flatnonzero((obs < space.low) | (obs > space.high))
            if outside.size:
                lows, highs, values = space.low.ravel(), space.high.ravel(), obs.ravel()
                shown = ", ".join(
                    f"element {i} is {values[i]}, outside [{lows[i]}, {highs[i]}]" for i in outside[:5].tolist()
                )
                raise AssertionError(
                    f"{where} is outside the observation space bounds at {outside.size} place(s): {shown}"
                )
    _require(space.contains(obs), f"{where} is not in the observation space {space}")


def _check_returned_obs(obs: Any, observation_space: spaces.Space[Any], method: str) -> None:
    if not isinstance(observation_space, spaces.Dict):
        _check_obs(obs, observation_space, method)
        return
    _require(
        isinstance(obs, dict),
        f"The observation returned by {method}() must be a dict for a Dict observation space, got {type(obs).__name__}",
    )
    expected, got = list(observation_space.spaces), list(obs)
    _require(
        set(expected) == set(got),
        f"The observation returned by {method}() has keys {sorted(map(str, got))}, but the observation space has "
        f"keys {sorted(map(str, expected))}",
    )
    for key, subspace in observation_space.spaces.items():
        _check_obs(obs[key], subspace, method, key)


def _check_goal_obs(observation_space: spaces.Dict, method: str) -> None:
    keys = list(observation_space.spaces)
    _require(
        len(keys) >= 3,
        "A goal-conditioned env (one with compute_reward()) needs at least the observation keys 'observation', "
        f"'achieved_goal' and 'desired_goal'; the observation space has {keys}",
    )
    for key in ("achieved_goal", "desired_goal"):
        _require(key in keys, f"The observation of a goal-conditioned env ({method}()) needs the key {key!r}: {keys}")


def _check_compute_reward(env: gym.Env, obs: dict[str, Any], reward: float, info: dict[str, Any]) -> None:
    """``compute_reward`` gives step()'s reward, for one goal and for a batch of two (HER relabels in batches)."""
    compute_reward = env.unwrapped.compute_reward  # type: ignore[attr-defined]
    achieved, desired = obs["achieved_goal"], obs["desired_goal"]
    single = compute_reward(achieved, desired, info)
    _require(
        np.all(single == reward),
        f"compute_reward(achieved_goal, desired_goal, info) = {single} but step() returned reward {reward}: "
        "the reward must be computed with compute_reward() (HER recomputes rewards with it)",
    )
    achieved, desired = np.asarray(achieved), np.asarray(desired)
    batch_achieved, batch_desired = np.stack([achieved, achieved]), np.stack([desired, desired])
    if achieved.ndim == 0:
        batch_achieved, batch_desired = batch_achieved.reshape(2, 1), batch_desired.reshape(2, 1)
    rewards = np.asarray(compute_reward(batch_achieved, batch_desired, np.array([info, info])))
    _require(rewards.shape == (2,), f"compute_reward() on a batch of 2 goals returned shape {rewards.shape}, not (2,)")
    _require(
        rewards[0] == reward,
        f"compute_reward() on a batch gives {rewards[0]}, but on one goal {reward}: it must be vectorized",
    )


def _check_returned_values(env: gym.Env) -> None:
    """reset() returns (obs, info) and step() (obs, reward, terminated, truncated, info), of the right types."""
    observation_space, goal_env = env.observation_space, _is_goal_env(env)
    result = env.reset()
    _require(isinstance(result, tuple), f"env.reset() must return a tuple (obs, info), got {type(result).__name__}")
    _require(len(result) == 2, f"env.reset() must return a tuple of 2 (obs, info), not {len(result)}")
    obs, info = result
    _require(isinstance(info, dict), f"The info returned by env.reset() must be a dict, got {type(info).__name__}")
    if goal_env:
        _check_goal_obs(observation_space, "reset")  # type: ignore[arg-type]
    _check_returned_obs(obs, observation_space, "reset")

    step_result = env.step(env.action_space.sample())
    _require(
        isinstance(step_result, tuple) and len(step_result) == 5,
        "env.step() must return 5 values (obs, reward, terminated, truncated, info); the old 4-value "
        "(obs, reward, done, info) API is not supported",
    )
    obs, reward, terminated, truncated, info = step_result
    if goal_env:
        _check_goal_obs(observation_space, "step")  # type: ignore[arg-type]
    _check_returned_obs(obs, observation_space, "step")
    _require(
        isinstance(reward, (int, float, np.integer, np.floating)),
        f"The reward returned by step() must be a float, got {type(reward).__name__}: {reward!r}",
    )
    for name, flag in (("terminated", terminated), ("truncated", truncated)):
        _require(isinstance(flag, (bool, np.bool_)), f"The {name} value returned by step() must be a bool")
    _require(isinstance(info, dict), f"The info returned by step() must be a dict, got {type(info).__name__}")
    if goal_env:
        _check_compute_reward(env, obs, float(reward), info)


def _check_reset_seeding(env: gym.Env, first_obs: Any) -> None:
    """The same seed gives the same first observation (a warning only)."""
    obs_again, _ = env.reset(seed=0)
    if not _same_obs(first_obs, obs_again):
        _warn(
            "env.reset(seed=0) twice gave different observations: call super().reset(seed=seed) in reset() "
            "and draw randomness from self.np_random so seeding makes runs reproducible."
        )


def _same_obs(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_obs(a[k], b[k]) for k in a)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same_obs(x, y) for x, y in zip(a, b))
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
    except (TypeError, ValueError):
        try:
            return bool(np.array_equal(np.asarray(a), np.asarray(b)))
        except Exception:  # observations numpy cannot compare (graphs...): no opinion
            return True


def _is_nested(space: spaces.Space[Any]) -> bool:
    inner = space.spaces.values() if isinstance(space, spaces.Dict) else []
    return isinstance(space, spaces.Tuple) or any(isinstance(s, (spaces.Dict, spaces.Tuple)) for s in inner)


def _check_nan(env: gym.Env) -> None:
    """Ten random steps: warn when an observation or a reward holds NaN or infinity."""
    env.reset()
    for _ in range(10):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        values = list(obs.values()) if isinstance(obs, dict) else [obs]
        for name, value in [*(("observation", v) for v in values), ("reward", reward)]:
            array = np.asarray(value)
            if np.issubdtype(array.dtype, np.number) and not np.all(np.isfinite(array)):
                _warn(f"The env returned a {name} holding NaN or infinity after a random action: {value!r}")
                return
        if terminated or truncated:
            env.reset()


def _check_render(env: gym.Env, warn: bool) -> None:
    if env.metadata.get("render_modes") is None and warn:
        _warn(
            "The env declares no render modes: set metadata = {'render_modes': [...], 'render_fps': ...} "
            "on the env class."
        )
    if env.render_mode:
        env.render()
    env.close()


def check_env(env: gym.Env, warn: bool = True, skip_render_check: bool = True) -> None:
    """Check that ``env`` follows the gymnasium API and has spaces and outputs the algorithms can use.

    Problems that would break training raise AssertionError naming the problem (a ``reset()`` without a ``seed``
    argument raises TypeError); with ``warn=True``, choices that usually hurt learning (unnormalized action
    bounds, odd image spaces...) and spaces the algorithms do not support give UserWarnings. The env is reset and
    stepped (eleven steps), so its state changes.

    :param env: the gymnasium env to check (not a VecEnv)
    :param warn: also warn about things that are allowed but not advised
    :param skip_render_check: do not call env.render()
    """
    _require(
        isinstance(env, gym.Env),
        f"check_env expects a gymnasium.Env (subclass gymnasium.Env), got {type(env).__name__}; "
        "VecEnvs and envs of the old `gym` package are not checked",
    )
    _check_spaces(env)
    observation_space, action_space = env.observation_space, env.action_space
    try:
        result = env.reset(seed=0)
    except TypeError as error:
        raise TypeError(
            "env.reset() must accept the keyword argument seed: def reset(self, *, seed=None, options=None), "
            "calling super().reset(seed=seed) first"
        ) from error
    skip = False
    if warn:
        skip = _check_unsupported_spaces(observation_space, action_space)
        for key, subspace in _obs_spaces(observation_space).items():
            if isinstance(subspace, spaces.Box):
                _check_box_obs(subspace, key)
        _check_action_space(action_space)
    _check_action_bounds(action_space)
    if isinstance(observation_space, _SKIPPED_OBS) or skip:
        return
    if warn and isinstance(result, tuple) and len(result) == 2:
        _check_reset_seeding(env, result[0])
    _check_returned_values(env)
    if not skip_render_check:
        _check_render(env, warn)
    if not _is_nested(observation_space) and not isinstance(action_space, (spaces.Dict, spaces.Tuple)):
        _check_nan(env)

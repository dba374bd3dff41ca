"""Clear errors for envs that break gymnasium's API, raised by the VecEnvs that step them.

The VecEnvs check only what is free on the normal path (the shape and dtype of an array observation, which
are attribute reads); the work of finding out *what* is wrong runs only once something is. Each error names
the env index, the space and what would be right, instead of the numpy broadcast or tuple-unpacking error
the same mistake would otherwise raise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from baselines3.common.vec_env.util import stack_obs

__all__ = [
    "EnvContractError",
    "check_obs",
    "check_obs_batch",
    "raise_unpack_error",
    "reward_batch",
    "split_reset",
    "stack_checked",
]

_CHECK_ENV_HINT = "baselines3.common.env_checker.check_env(env) lists every mismatch of an env with its spaces"


class EnvContractError(ValueError):
    """An env returned something gymnasium's API does not allow (wrong step/reset result, or an observation
    that does not fit its observation space).

    :param message: what is wrong and what would be right
    :param env_index: index of the env in its VecEnv
    """

    def __init__(self, message: str, env_index: int) -> None:
        super().__init__(message)
        self.env_index = env_index

    def __reduce__(self) -> tuple[Any, ...]:  # pickled back from a SubprocVecEnv worker
        return (type(self), (str(self), self.env_index))


def _env_name(index: int, env: Any = None) -> str:
    if env is None:
        return f"Env {index}"
    unwrapped = getattr(env, "unwrapped", env)
    return f"Env {index} ({type(unwrapped).__name__})"


def raise_unpack_error(exc: BaseException, index: int, method: str, env: Any = None) -> None:
    """Raise the contract error behind `exc` when it is a failure to unpack the result of `env.step` or
    `env.reset` (raised by the VecEnv or by a wrapper such as Monitor or TimeLimit that unpacks it first);
    return when `exc` is another error of the env, for the caller to re-raise as it is."""
    error = _unpack_error(exc, index, method, env)
    if error is not None:
        raise error from exc


def _unpack_error(exc: BaseException, index: int, method: str, env: Any) -> EnvContractError | None:
    text = str(exc)
    if not isinstance(exc, (ValueError, TypeError)):
        return None
    name = _env_name(index, env)
    if method == "step" and ("values to unpack (expected 5" in text or "cannot unpack non-iterable" in text):
        got = text.rsplit("got ", 1)[-1].rstrip(")") if "got " in text else "another number of"
        old_api = ""
        if got == "4":
            old_api = (
                " A 4-tuple (obs, reward, done, info) is the old gym API: split `done` into `terminated` (the "
                "episode reached a terminal state) and `truncated` (cut by a time limit), or convert an old gym "
                "env with the shimmy package (gymnasium.make('GymV21Environment-v0', env_id=...))."
            )
        return EnvContractError(
            f"{name}: step() returned {got} values where gymnasium's API returns 5: "
            f"(observation, reward, terminated, truncated, info) (unpacking it failed with: {text}).{old_api}",
            index,
        )
    if method == "reset" and ("values to unpack (expected 2" in text or "cannot unpack non-iterable" in text):
        return EnvContractError(
            f"{name}: reset() must return (observation, info) with `info` a dict, as gymnasium's API does; "
            f"unpacking its result failed with: {text}. An env written for the old gym API returns only the "
            "observation: return `obs, {}` instead.",
            index,
        )
    return None


def split_reset(result: Any, index: int, env: Any = None) -> tuple[Any, dict[str, Any]]:
    """`(obs, info)` from the result of `env.reset()`, or an EnvContractError saying what it returned instead."""
    if type(result) is tuple and len(result) == 2 and isinstance(result[1], dict):
        return result
    if isinstance(result, tuple) and len(result) == 2:
        got = f"a 2-tuple whose second item is a {type(result[1]).__name__}, not the info dict"
    elif isinstance(result, tuple):
        got = f"a tuple of {len(result)} items"
    else:
        shape = f" of shape {result.shape}" if isinstance(result, np.ndarray) else ""
        got = f"a {type(result).__name__}{shape} (the observation alone?)"
    raise EnvContractError(
        f"{_env_name(index, env)}: reset() must return (observation, info) with `info` a dict, as gymnasium's "
        f"API does; it returned {got}. An env written for the old gym API returns only the observation: return "
        "`obs, {}` instead.",
        index,
    )


def _lossy_cast(values: np.ndarray, dtype: np.dtype) -> tuple[Any, Any] | None:
    """(original, stored) of the first value that storing `values` as `dtype` would change, or None when storing
    them keeps every value (float64 -> float32 rounding and other same-kind casts count as keeping them)."""
    if np.can_cast(values.dtype, dtype, "same_kind"):
        return None
    try:
        with np.errstate(all="ignore"):
            stored = values.astype(dtype)
            changed = stored != values
    except (TypeError, ValueError):
        flat = values.reshape(-1)
        return (flat[0] if flat.size else values, "<not convertible>")
    if not np.any(changed):
        return None
    first = np.argwhere(changed)[0]
    return values[tuple(first)], stored[tuple(first)]


def _obs_problem(obs: Any, shape: tuple[int, ...], dtype: np.dtype) -> str | None:
    try:
        values = np.asarray(obs)
    except (TypeError, ValueError) as exc:
        return f"an observation numpy cannot turn into an array ({exc})"
    if values.dtype == object or values.dtype.kind in "USV":
        return f"an observation of numpy dtype {values.dtype} ({type(obs).__name__}), not numbers"
    if values.shape != shape:
        return f"an observation of shape {values.shape} where shape {shape} is needed"
    lossy = _lossy_cast(values, dtype)
    if lossy is not None:
        return (
            f"{values.dtype} observation values that change when stored as the space's {dtype} "
            f"(e.g. {lossy[0]!r} -> {lossy[1]!r}); return {dtype} values or declare the space with dtype "
            f"{values.dtype}"
        )
    return None


def check_obs(
    obs: Any,
    space: spaces.Space[Any],
    shapes: dict[Any, tuple[int, ...]],
    dtypes: dict[Any, np.dtype],
    index: int,
    method: str,
    env: Any = None,
) -> None:
    """Raise an EnvContractError if the observation `obs` of env `index` does not fit `space` (the slow path: the
    VecEnvs call it only when an observation is not an array of the space's exact shape and dtype, and it
    returns quietly for what they accept: Python numbers, lists, and lossless dtype casts)."""
    where = f"{_env_name(index, env)}: {method}() returned"
    if isinstance(space, spaces.Dict):
        if not hasattr(obs, "keys"):
            raise EnvContractError(
                f"{where} a {type(obs).__name__} where its Dict observation_space needs a dict with keys "
                f"{list(space.spaces)}. {_CHECK_ENV_HINT}.",
                index,
            )
        missing = [key for key in space.spaces if key not in obs]
        if missing:
            raise EnvContractError(
                f"{where} a dict observation without the key(s) {missing} of its observation_space {space}. "
                f"{_CHECK_ENV_HINT}.",
                index,
            )
        for key, subspace in space.spaces.items():
            problem = _obs_problem(obs[key], shapes[key], dtypes[key])
            if problem is not None:
                raise EnvContractError(
                    f"{where} {problem}, under key {key!r} of its observation_space {subspace} "
                    f"(in {space}). {_CHECK_ENV_HINT}.",
                    index,
                )
        return
    problem = _obs_problem(obs, shapes[None], dtypes[None])
    if problem is not None:
        raise EnvContractError(f"{where} {problem}, for its observation_space {space}. {_CHECK_ENV_HINT}.", index)


def check_obs_batch(
    obs_list: Any,
    space: spaces.Space[Any],
    shapes: dict[Any, tuple[int, ...]],
    dtypes: dict[Any, np.dtype],
    method: str,
) -> None:
    """The first env's observation in `obs_list` that does not fit `space` raises its EnvContractError (called
    when a batch could not be stacked or came out of the wrong shape or dtype)."""
    for index, obs in enumerate(obs_list):
        check_obs(obs, space, shapes, dtypes, index, method)


def reward_batch(rewards: Any, num_envs: int) -> np.ndarray:
    """The float32 batch of the envs' `rewards` (one number per env), or an EnvContractError naming the first env
    whose reward is not one number."""
    try:
        batch = np.array(rewards, dtype=np.float32)
    except (TypeError, ValueError):
        batch = None
    if batch is not None and batch.shape == (num_envs,):
        return batch
    if batch is not None and batch.size == num_envs:  # one-element arrays, which numpy takes as numbers too
        return batch.reshape(num_envs)
    for index, reward in enumerate(rewards):
        try:
            shape = np.shape(reward)
            np.asarray(reward, dtype=np.float32)
        except (TypeError, ValueError):
            shape = None
        if shape is None or int(np.prod(shape)) != 1:
            what = f"of shape {shape}" if shape is not None else "that is not a number"
            raise EnvContractError(
                f"Env {index}: step() returned a reward {what} ({type(reward).__name__}: {reward!r:.80}); "
                "gymnasium's API returns one float per step (e.g. `float(reward)`).",
                index,
            )
    raise EnvContractError(f"The rewards {rewards!r:.200} do not form one number per env", 0)


def stack_checked(
    obs_list: Any,
    space: spaces.Space[Any],
    shapes: dict[Any, tuple[int, ...]],
    dtypes: dict[Any, np.dtype],
    method: str,
) -> Any:
    """The envs' observations stacked into one batch (as `stack_obs`), or the EnvContractError of the first env
    whose observation does not fit `space`. The batch keeps the envs' dtype when it casts to the space's without
    changing values (as Stable-Baselines3's SubprocVecEnv returns it)."""
    try:
        batch = stack_obs(obs_list, space)
    except (TypeError, ValueError, KeyError, IndexError):
        check_obs_batch(obs_list, space, shapes, dtypes, method)
        raise
    parts = batch.items() if isinstance(batch, dict) else ((None, batch),)
    for key, values in parts:
        if values.shape[1:] != shapes[key] or (
            values.dtype is not dtypes[key] and not np.can_cast(values.dtype, dtypes[key], "same_kind")
        ):
            check_obs_batch(obs_list, space, shapes, dtypes, method)
    return batch

"""Envs that break gymnasium's API get an EnvContractError naming the env, the space and the fix, from both
DummyVecEnv and SubprocVecEnv; envs that keep it (including the lossless dtype casts Stable-Baselines3 accepts)
step as before."""

from __future__ import annotations

import multiprocessing as mp
import pickle
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from baselines3.common.monitor import Monitor
from baselines3.common.vec_env import DummyVecEnv, EnvContractError, SubprocVecEnv, VecEnv

FAST_START = "fork" if "fork" in mp.get_all_start_methods() else None
BOX4 = spaces.Box(-1.0, 1.0, (4,), np.float32)


class ConfigurableEnv(gym.Env):
    """An env whose reset/step results are given functions (module level: SubprocVecEnv pickles it)."""

    def __init__(
        self,
        obs_space: spaces.Space[Any] = BOX4,
        reset_result: Any = None,
        step_result: Any = None,
    ) -> None:
        self.observation_space = obs_space
        self.action_space = spaces.Discrete(2)
        self._reset_result = reset_result
        self._step_result = step_result

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        if self._reset_result is not None:
            return self._reset_result()
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> Any:
        if self._step_result is not None:
            return self._step_result()
        return self.observation_space.sample(), 0.0, False, False, {}


def _zeros(shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
    return np.zeros(shape, dtype)


def four_tuple() -> Any:
    return _zeros((4,)), 0.0, False, {}


def bare_obs() -> Any:
    return _zeros((4,))


def obs_and_float() -> Any:
    return _zeros((4,)), 1.0


def wrong_shape_step() -> Any:
    return _zeros((3,)), 0.0, False, False, {}


def wrong_shape_reset() -> Any:
    return _zeros((4, 1)), {}


def scalar_obs_reset() -> Any:
    return np.float32(0.5), {}


def float_image_reset() -> Any:
    return np.full((8, 8, 3), 0.5), {}


def int64_image_reset() -> Any:
    return np.full((8, 8, 3), 200, dtype=np.int64), {}


def float64_obs_step() -> Any:
    return np.full(4, 0.25), 0.0, False, False, {}


def vector_reward_step() -> Any:
    return _zeros((4,)), np.zeros(2), False, False, {}


def one_element_reward_step() -> Any:
    return _zeros((4,)), np.ones(1), False, False, {}


def dict_missing_key_reset() -> Any:
    return {"a": _zeros((2,))}, {}


def string_obs_reset() -> Any:
    return "observation", {}


IMAGE = spaces.Box(0, 255, (8, 8, 3), np.uint8)
DICT = spaces.Dict({"a": spaces.Box(-1, 1, (2,), np.float32), "b": spaces.Discrete(3)})


def make(kind: str, env_fn: Any) -> VecEnv:
    if kind == "dummy":
        return DummyVecEnv([env_fn, env_fn])
    return SubprocVecEnv([env_fn, env_fn], start_method=FAST_START)


def _run(venv: VecEnv, n_steps: int = 2) -> None:
    try:
        venv.reset()
        for _ in range(n_steps):
            venv.step(np.zeros(venv.num_envs, dtype=np.int64))
    finally:
        venv.close()


BROKEN = {
    # case: (env kwargs, fragments the message must hold)
    "4-tuple step": ({"step_result": four_tuple}, ["step() returned 4 values", "old gym API", "terminated"]),
    "reset without info": ({"reset_result": bare_obs}, ["reset() must return (observation, info)", "obs, {}"]),
    "reset info not a dict": ({"reset_result": obs_and_float}, ["second item is a float, not the info dict"]),
    "step obs wrong shape": ({"step_result": wrong_shape_step}, ["step() returned", "shape (3,)", "(4,)", "Box"]),
    "reset obs wrong shape": ({"reset_result": wrong_shape_reset}, ["shape (4, 1)", "shape (4,) is needed"]),
    "scalar obs for a Box": ({"reset_result": scalar_obs_reset}, ["shape ()", "shape (4,) is needed"]),
    "float image for uint8 space": (
        {"obs_space": IMAGE, "reset_result": float_image_reset},
        ["float64", "uint8", "0.5", "declare the space with dtype float64"],
    ),
    "string obs": ({"reset_result": string_obs_reset}, ["not numbers"]),
    "dict obs missing a key": (
        {"obs_space": DICT, "reset_result": dict_missing_key_reset},
        ["without the key(s) ['b']", "Dict("],
    ),
    "reward not one number": ({"step_result": vector_reward_step}, ["reward of shape (2,)", "one float per step"]),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["dummy", "subproc"])
@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_env_raises_contract_error(kind: str, case: str) -> None:
    kwargs, fragments = BROKEN[case]
    venv = make(kind, lambda: ConfigurableEnv(**kwargs))
    with pytest.raises(EnvContractError) as info:
        _run(venv)
    message = str(info.value)
    assert message.startswith("Env 0"), message
    assert info.value.env_index == 0
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_the_env_that_breaks_the_contract_is_named() -> None:
    venv = DummyVecEnv([ConfigurableEnv, lambda: ConfigurableEnv(step_result=wrong_shape_step)])
    with pytest.raises(EnvContractError, match=r"^Env 1 \(ConfigurableEnv\): step\(\)") as info:
        _run(venv)
    assert info.value.env_index == 1


def test_4_tuple_is_reported_through_monitor_and_time_limit() -> None:
    """Monitor and TimeLimit unpack the step result before the VecEnv sees it: the error is still the contract
    error, with the wrapper's unpacking error as its cause."""

    def make_env() -> gym.Env:
        return Monitor(gym.wrappers.TimeLimit(ConfigurableEnv(step_result=four_tuple), 10))

    with pytest.raises(EnvContractError, match="step\\(\\) returned 4 values") as info:
        _run(DummyVecEnv([make_env]))
    assert isinstance(info.value.__cause__, ValueError)


def test_unrelated_value_error_of_an_env_is_not_rewritten() -> None:
    def raises() -> Any:
        raise ValueError("the simulator diverged")

    with pytest.raises(ValueError, match="the simulator diverged") as info:
        _run(DummyVecEnv([lambda: ConfigurableEnv(step_result=raises)]))
    assert not isinstance(info.value, EnvContractError)


@pytest.mark.parametrize("kind", ["dummy", "subproc"])
def test_lossless_casts_and_one_element_rewards_are_accepted(kind: str) -> None:
    """What Stable-Baselines3 accepts still steps: float64 observations of a float32 space, integer images that
    fit uint8, one-element reward arrays."""
    for kwargs in (
        {"step_result": float64_obs_step},
        {"obs_space": IMAGE, "reset_result": int64_image_reset},
        {"step_result": one_element_reward_step},
    ):
        venv = make(kind, lambda kwargs=kwargs: ConfigurableEnv(**kwargs))
        try:
            obs = venv.reset()
            step_obs, rewards, _, _ = venv.step(np.zeros(2, dtype=np.int64))
        finally:
            venv.close()
        assert rewards.shape == (2,) and rewards.dtype == np.float32
        space = kwargs.get("obs_space", BOX4)
        assert np.shape(obs) == (2, *space.shape) and np.shape(step_obs) == (2, *space.shape)
    # DummyVecEnv stores into the space's dtype, as Stable-Baselines3's does
    venv = DummyVecEnv([lambda: ConfigurableEnv(obs_space=IMAGE, reset_result=int64_image_reset)])
    assert venv.reset().dtype == np.uint8 and int(venv.reset()[0, 0, 0, 0]) == 200


def test_contract_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(EnvContractError("Env 3: bad", 3)))
    assert isinstance(error, EnvContractError) and error.env_index == 3 and str(error) == "Env 3: bad"

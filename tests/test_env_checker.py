"""Tests for baselines3.common.env_checker.check_env on good and broken envs."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from baselines3.common.env_checker import check_env


class GoodEnv(gym.Env):
    """A well-formed env; subclasses break one thing at a time."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None) -> None:
        self.observation_space: spaces.Space = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        self.action_space: spaces.Space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.render_mode = render_mode
        self.rendered = 0

    def _obs(self) -> Any:
        return self.np_random.uniform(-1, 1, size=(3,)).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self._obs(), {}

    def step(self, action):
        return self._obs(), 1.0, False, False, {}

    def render(self):
        self.rendered += 1
        return np.zeros((4, 4, 3), dtype=np.uint8)


def _no_warnings(env: gym.Env, **kwargs: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, **kwargs)


def test_good_env_passes_without_warnings():
    _no_warnings(GoodEnv())


def test_render_check():
    env = GoodEnv(render_mode="rgb_array")
    _no_warnings(env, skip_render_check=False)
    assert env.rendered == 1
    env = GoodEnv(render_mode="human")
    with pytest.raises(ValueError, match="'human'"):
        check_env(env, skip_render_check=False)
    _no_warnings(GoodEnv(render_mode="human"))  # skipped by default


def test_builtin_envs():
    check_env(gym.make("CartPole-v1").unwrapped, warn=False)
    with pytest.warns(UserWarning, match="low=-1, high=1"):
        check_env(gym.make("Pendulum-v1").unwrapped)


def test_not_a_gym_env():
    with pytest.raises(TypeError, match=r"gymnasium\.Env"):
        check_env(object())  # type: ignore[arg-type]


def test_old_step_api_rejected():
    class OldStep(GoodEnv):
        def step(self, action):
            return self._obs(), 1.0, False, {}

    with pytest.raises(TypeError, match="5-tuple"):
        check_env(OldStep())


def test_reset_must_return_obs_and_info():
    class ObsOnlyReset(GoodEnv):
        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return self._obs()

    with pytest.raises(TypeError, match=r"\(obs, info\)"):
        check_env(ObsOnlyReset())


def test_reset_must_accept_seed():
    class NoSeed(GoodEnv):
        def reset(self):  # type: ignore[override]
            return self._obs(), {}

    with pytest.raises(TypeError, match="seed"):
        check_env(NoSeed())


def test_unseeded_reset_warns():
    class IgnoresSeed(GoodEnv):
        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng()

        def _obs(self):
            return self.rng.uniform(-1, 1, size=(3,)).astype(np.float32)

    with pytest.warns(UserWarning, match="np_random"):
        check_env(IgnoresSeed())


def test_observation_checks():
    class WrongDtype(GoodEnv):
        def _obs(self):
            return np.zeros(3, dtype=np.float64)

    class WrongShape(GoodEnv):
        def _obs(self):
            return np.zeros(4, dtype=np.float32)

    class OutOfBounds(GoodEnv):
        def _obs(self):
            return np.array([0.0, 5.0, 0.0], dtype=np.float32)

    class NotArray(GoodEnv):
        def _obs(self):
            return [0.0, 0.0, 0.0]

    with pytest.raises(TypeError, match=r"float64.*float32"):
        check_env(WrongDtype())
    with pytest.raises(ValueError, match=r"shape \(4,\).*\(3,\)"):
        check_env(WrongShape())
    with pytest.raises(ValueError, match=r"element 1 is 5\.0"):
        check_env(OutOfBounds())
    with pytest.raises(TypeError, match=r"np\.ndarray"):
        check_env(NotArray())


def test_step_return_types():
    class BadReward(GoodEnv):
        def step(self, action):
            return self._obs(), np.array([1.0]), False, False, {}

    class BadTerminated(GoodEnv):
        def step(self, action):
            return self._obs(), 1.0, 0, False, {}

    class BadInfo(GoodEnv):
        def step(self, action):
            return self._obs(), 1.0, False, False, None

    with pytest.raises(TypeError, match="reward"):
        check_env(BadReward())
    with pytest.raises(TypeError, match="terminated"):
        check_env(BadTerminated())
    with pytest.raises(TypeError, match="info"):
        check_env(BadInfo())


class DictEnv(GoodEnv):
    def __init__(self, observation_space: spaces.Dict) -> None:
        super().__init__()
        self.observation_space = observation_space

    def _obs(self):
        self.observation_space.seed(0)
        return self.observation_space.sample()


def test_dict_observations():
    _no_warnings(
        DictEnv(
            spaces.Dict(
                {"vec": spaces.Box(-1, 1, (2,), dtype=np.float32), "disc": spaces.Discrete(3)},
            )
        )
    )
    nested = spaces.Dict({"inner": spaces.Dict({"a": spaces.Discrete(2)})})
    with pytest.raises(ValueError, match=r"Nested.*'inner'"):
        check_env(DictEnv(nested), warn=False)

    class MissingKey(DictEnv):
        def _obs(self):
            return {"vec": np.zeros(2, dtype=np.float32)}

    space = spaces.Dict({"vec": spaces.Box(-1, 1, (2,), dtype=np.float32), "disc": spaces.Discrete(3)})
    with pytest.raises(KeyError, match="disc"):
        check_env(MissingKey(space))


class ImageEnv(GoodEnv):
    def __init__(self, space: spaces.Box) -> None:
        super().__init__()
        self.observation_space = space

    def _obs(self):
        return np.zeros(self.observation_space.shape, dtype=self.observation_space.dtype)


def test_image_spaces():
    _no_warnings(ImageEnv(spaces.Box(0, 255, (84, 84, 3), dtype=np.uint8)))
    _no_warnings(ImageEnv(spaces.Box(0, 255, (4, 84, 84), dtype=np.uint8)))
    with pytest.warns(UserWarning, match="smaller than the 36x36"):
        check_env(ImageEnv(spaces.Box(0, 255, (20, 20, 3), dtype=np.uint8)))
    with (
        pytest.warns(UserWarning, match="bounds other than low=0, high=255"),
        pytest.warns(UserWarning, match="dtype is float32"),
    ):
        check_env(ImageEnv(spaces.Box(0, 1, (84, 84, 3), dtype=np.float32)))
    with pytest.warns(UserWarning, match="channel-last with 5 channels"):
        check_env(ImageEnv(spaces.Box(0, 255, (84, 84, 5), dtype=np.uint8)))


def test_box_bounds():
    class InfiniteObs(GoodEnv):
        def __init__(self) -> None:
            super().__init__()
            self.observation_space = spaces.Box(-np.inf, np.inf, (3,), dtype=np.float32)

    with pytest.warns(UserWarning, match="non-finite"):
        check_env(InfiniteObs())

    class InfiniteAction(GoodEnv):
        def __init__(self) -> None:
            super().__init__()
            self.action_space = spaces.Box(-np.inf, np.inf, (2,), dtype=np.float32)

    with pytest.raises(ValueError, match="finite"):
        check_env(InfiniteAction(), warn=False)

    class Asymmetric(GoodEnv):
        def __init__(self) -> None:
            super().__init__()
            self.action_space = spaces.Box(0.0, 1.0, (2,), dtype=np.float32)

    with pytest.warns(UserWarning, match="symmetric"):
        check_env(Asymmetric())
    _no_warnings(Asymmetric(), warn=False)


def test_unsupported_action_space():
    class TupleAction(GoodEnv):
        def __init__(self) -> None:
            super().__init__()
            self.action_space = spaces.Tuple((spaces.Discrete(2), spaces.Discrete(3)))

    with pytest.raises(ValueError, match="action space"):
        check_env(TupleAction())


def test_missing_spaces():
    class NoSpaces(gym.Env):
        def reset(self, *, seed=None, options=None):
            return np.zeros(1), {}

        def step(self, action):
            return np.zeros(1), 0.0, False, False, {}

    with pytest.raises(AttributeError, match="observation_space"):
        check_env(NoSpaces())

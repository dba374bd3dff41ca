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
    env = GoodEnv(render_mode="human")  # not a declared mode: rendered anyway, as in SB3
    _no_warnings(env, skip_render_check=False)
    assert env.rendered == 1
    env = GoodEnv(render_mode="rgb_array")
    _no_warnings(env)  # skipped by default
    assert env.rendered == 0


def test_builtin_envs():
    check_env(gym.make("CartPole-v1").unwrapped, warn=False)
    with pytest.warns(UserWarning, match="low=-1, high=1"):
        check_env(gym.make("Pendulum-v1").unwrapped)


def test_not_a_gym_env():
    with pytest.raises(AssertionError, match=r"gymnasium\.Env"):
        check_env(object())  # type: ignore[arg-type]


def test_old_step_api_rejected():
    class OldStep(GoodEnv):
        def step(self, action):
            return self._obs(), 1.0, False, {}

    with pytest.raises(AssertionError, match="5 values"):
        check_env(OldStep())


def test_reset_must_return_obs_and_info():
    class ObsOnlyReset(GoodEnv):
        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return self._obs()

    with pytest.raises(AssertionError, match=r"\(obs, info\)"):
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

    with pytest.raises(AssertionError, match=r"float64.*float32"):
        check_env(WrongDtype())
    with pytest.raises(AssertionError, match=r"shape \(4,\).*\(3,\)"):
        check_env(WrongShape())
    with pytest.raises(AssertionError, match=r"element 1 is 5\.0"):
        check_env(OutOfBounds())
    with pytest.raises(AssertionError, match=r"np\.ndarray"):
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

    with pytest.raises(AssertionError, match="reward"):
        check_env(BadReward())
    with pytest.raises(AssertionError, match="terminated"):
        check_env(BadTerminated())
    with pytest.raises(AssertionError, match="info"):
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
    with pytest.warns(UserWarning, match=r"Nested observation spaces"):
        check_env(DictEnv(nested))  # unsupported, but a warning only (as in SB3)
    _no_warnings(DictEnv(nested), warn=False)

    class MissingKey(DictEnv):
        def _obs(self):
            return {"vec": np.zeros(2, dtype=np.float32)}

    space = spaces.Dict({"vec": spaces.Box(-1, 1, (2,), dtype=np.float32), "disc": spaces.Discrete(3)})
    with pytest.raises(AssertionError, match="disc"):
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
    with pytest.warns(UserWarning, match="unusual shape"):
        check_env(ImageEnv(spaces.Box(0, 255, (84, 84, 3, 1), dtype=np.uint8)))


def test_box_bounds():
    class InfiniteObs(GoodEnv):
        def __init__(self) -> None:
            super().__init__()
            self.observation_space = spaces.Box(-np.inf, np.inf, (3,), dtype=np.float32)

    _no_warnings(InfiniteObs())  # unbounded observations are common (CartPole's): no warning, as in SB3

    class InfiniteAction(GoodEnv):
        def __init__(self) -> None:
            super().__init__()
            self.action_space = spaces.Box(-np.inf, np.inf, (2,), dtype=np.float32)

    with pytest.raises(AssertionError, match="finite"), pytest.warns(UserWarning, match="symmetric"):
        check_env(InfiniteAction())
    with pytest.raises(AssertionError, match="finite"):
        check_env(InfiniteAction(), warn=False)  # SB3 lets this pass with warn=False

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

    with pytest.warns(UserWarning, match="Tuple action spaces are not supported"):
        check_env(TupleAction())


def test_missing_spaces():
    class NoSpaces(gym.Env):
        def reset(self, *, seed=None, options=None):
            return np.zeros(1), {}

        def step(self, action):
            return np.zeros(1), 0.0, False, False, {}

    with pytest.raises(AssertionError, match="observation_space"):
        check_env(NoSpaces())


# --- the same verdicts as Stable-Baselines3's check_env ---------------------------------------------------------


class ConfigEnv(gym.Env):
    """An env put together from its spaces and a few overrides, for the parity cases."""

    metadata = {"render_modes": ["human"]}

    def __init__(self, obs_space=None, action_space=None, obs=None, step=None, reset=None, render_mode=None):
        self.observation_space = obs_space if obs_space is not None else spaces.Box(-1, 1, (3,), np.float32)
        self.action_space = action_space if action_space is not None else spaces.Discrete(2)
        self._obs, self._step, self._reset = obs, step, reset
        self.render_mode = render_mode
        self.t = 0

    def observation(self):
        if self._obs is not None:
            return self._obs(self)
        return self.observation_space.sample()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space.seed(seed)
        self.t = 0
        if self._reset is not None:
            return self._reset(self)
        return self.observation(), {}

    def step(self, action):
        self.t += 1
        if self._step is not None:
            return self._step(self)
        return self.observation(), 1.0, False, self.t >= 5, {}

    def render(self, mode="human"):
        return None


class NoOptionsResetEnv(ConfigEnv):
    def reset(self, seed=None):  # no options argument: SB3 does not ask for one
        return super().reset(seed=seed)


class NoSeedResetEnv(ConfigEnv):
    def reset(self):
        return self.observation(), {}


def _box(shape, low=-1.0, high=1.0, dtype=np.float32):
    return spaces.Box(low, high, shape, dtype)


def _goal_env(wrong_reward: bool = False):
    from baselines3.common.envs import BitFlippingEnv

    class WrongRewardBitFlipping(BitFlippingEnv):
        def step(self, action):
            obs, reward, terminated, truncated, info = super().step(action)
            return obs, reward + 1.0, terminated, truncated, info

    return (WrongRewardBitFlipping if wrong_reward else BitFlippingEnv)(n_bits=4, render_mode=None)


class NanRewardEnv(ConfigEnv):
    def step(self, action):
        obs, _, terminated, truncated, info = super().step(action)
        return obs, float("nan") if self.t == 3 else 0.0, terminated, truncated, info


PARITY_CASES = {
    "good box env": lambda: ConfigEnv(),
    "CartPole": lambda: gym.make("CartPole-v1"),
    "Pendulum (action bounds 2)": lambda: gym.make("Pendulum-v1"),
    "float32 obs for a float64 space": lambda: ConfigEnv(
        _box((3,), dtype=np.float64), obs=lambda env: np.zeros(3, np.float32)
    ),
    "float64 obs for a float32 space": lambda: ConfigEnv(obs=lambda env: np.zeros(3, np.float64)),
    "float64 space and obs": lambda: ConfigEnv(_box((3,), dtype=np.float64)),
    "obs of the wrong shape": lambda: ConfigEnv(obs=lambda env: np.zeros(4, np.float32)),
    "obs out of bounds": lambda: ConfigEnv(obs=lambda env: np.full(3, 5.0, np.float32)),
    "obs as a list": lambda: ConfigEnv(obs=lambda env: [0.0, 0.0, 0.0]),
    "obs as a tuple": lambda: ConfigEnv(obs=lambda env: (np.zeros(3, np.float32),)),
    "reset returns obs only": lambda: ConfigEnv(reset=lambda env: np.zeros(3, np.float32)),
    "reset info not a dict": lambda: ConfigEnv(reset=lambda env: (np.zeros(3, np.float32), None)),
    "old 4-value step": lambda: ConfigEnv(step=lambda env: (np.zeros(3, np.float32), 0.0, False, {})),
    "reward a string": lambda: ConfigEnv(step=lambda env: (np.zeros(3, np.float32), "1", False, False, {})),
    "terminated an int": lambda: ConfigEnv(step=lambda env: (np.zeros(3, np.float32), 0.0, 0, False, {})),
    "step info not a dict": lambda: ConfigEnv(step=lambda env: (np.zeros(3, np.float32), 0.0, False, False, [])),
    "reset without options": lambda: NoOptionsResetEnv(),
    "reset without seed": lambda: NoSeedResetEnv(),
    "dict obs missing a key": lambda: ConfigEnv(
        spaces.Dict({"a": _box((2,)), "b": spaces.Discrete(3)}), obs=lambda env: {"a": np.zeros(2, np.float32)}
    ),
    "dict obs not a dict": lambda: ConfigEnv(spaces.Dict({"a": _box((2,))}), obs=lambda env: np.zeros(2)),
    "good dict obs": lambda: ConfigEnv(spaces.Dict({"a": _box((2,)), "b": spaces.Discrete(3)})),
    "nested dict obs": lambda: ConfigEnv(spaces.Dict({"a": spaces.Dict({"b": _box((2,))}), "c": _box((2,))})),
    "tuple obs": lambda: ConfigEnv(spaces.Tuple([_box((2,)), spaces.Discrete(2)])),
    "graph obs": lambda: ConfigEnv(spaces.Graph(node_space=_box((2,)), edge_space=None)),
    "oneof obs": lambda: ConfigEnv(spaces.OneOf([spaces.Discrete(2), _box((2,))])),
    "sequence obs": lambda: ConfigEnv(spaces.Sequence(_box((2,)))),
    "2-d box obs": lambda: ConfigEnv(_box((2, 2))),
    "float image": lambda: ConfigEnv(_box((64, 64, 3), 0.0, 1.0)),
    "small image": lambda: ConfigEnv(spaces.Box(0, 255, (20, 20, 1), np.uint8)),
    "good image": lambda: ConfigEnv(spaces.Box(0, 255, (64, 64, 3), np.uint8)),
    "discrete obs starting at 1": lambda: ConfigEnv(spaces.Discrete(3, start=1)),
    "multidiscrete 2-d obs": lambda: ConfigEnv(spaces.MultiDiscrete([[2, 3], [2, 2]])),
    "infinite action bounds": lambda: ConfigEnv(action_space=spaces.Box(-np.inf, np.inf, (2,), np.float32)),
    "float64 actions": lambda: ConfigEnv(action_space=spaces.Box(-1, 1, (2,), np.float64)),
    "discrete actions starting at 1": lambda: ConfigEnv(action_space=spaces.Discrete(3, start=1)),
    "goal env": lambda: _goal_env(),
    "goal env with a reward not from compute_reward": lambda: _goal_env(wrong_reward=True),
    "nan reward": lambda: NanRewardEnv(obs_space=_box((3,), -np.inf, np.inf)),
    "render mode human": lambda: ConfigEnv(render_mode="human"),
}


def _verdict(check, make_env, **kwargs):
    """(exception type or None, whether a UserWarning came from the checker) for one check."""
    env = make_env()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            check(env, **kwargs)
            error = None
        except Exception as exc:  # the type is what is compared
            error = type(exc)
    warned = any(issubclass(w.category, UserWarning) and "gymnasium" not in w.filename for w in caught)
    return error, warned


@pytest.mark.parametrize("warn", [True, False])
@pytest.mark.parametrize("case", sorted(PARITY_CASES))
def test_same_verdict_as_sb3(case: str, warn: bool) -> None:
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    if case == "infinite action bounds" and not warn:
        pytest.skip("SB3 checks the action bounds only with warn=True; baselines3 always (see below)")
    if case in ("graph obs", "oneof obs", "sequence obs") and not warn:
        pytest.skip("SB3 checks these unsupported observations only with warn=False, and fails them; see below")
    kwargs = {"warn": warn, "skip_render_check": case != "render mode human"}
    ours = _verdict(check_env, PARITY_CASES[case], **kwargs)
    theirs = _verdict(sb3_checker.check_env, PARITY_CASES[case], **kwargs)
    assert ours == theirs


def test_stricter_or_more_lenient_than_sb3_on_purpose():
    # Unsupported observation spaces are reported, and their values not checked, with warn=False too (SB3 then
    # checks them as if they were arrays and fails them).
    for space in (spaces.Graph(node_space=_box((2,)), edge_space=None), spaces.Sequence(_box((2,)))):
        _no_warnings(ConfigEnv(space), warn=False)
    # NumPy scalars and 0-d integer arrays are accepted where the algorithms accept them (SB3 asks for Python
    # floats and bools, and numpy integers for Discrete observations).
    for step in (
        lambda env: (np.zeros(3, np.float32), np.float32(1.0), np.bool_(False), np.bool_(False), {}),
        lambda env: (np.zeros(3, np.float32), 1.0, False, False, {}),
    ):
        _no_warnings(ConfigEnv(step=step))
    _no_warnings(ConfigEnv(spaces.Discrete(3), obs=lambda env: np.array(2)))
    # A reset that ignores its seed is worth a warning (SB3 does not check it).
    with pytest.warns(UserWarning, match="np_random"):
        check_env(ConfigEnv(obs=lambda env: np.random.uniform(-1, 1, 3).astype(np.float32)))
    # The checks raise explicitly, so they hold under `python -O` (SB3's are `assert` statements).
    with pytest.raises(AssertionError):
        check_env(ConfigEnv(obs=lambda env: np.zeros(4, np.float32)))

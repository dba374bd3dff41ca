"""Code written for Stable-Baselines3 behaves the same with ``baselines3``: module paths, helpers, env checks,
wrappers. Each comparison runs SB3 itself where it is installed."""

from __future__ import annotations

import importlib

import numpy as np
import pytest


@pytest.mark.parametrize(
    "module, names",
    [
        ("baselines3.common.envs.bit_flipping_env", ["BitFlippingEnv"]),
        (
            "baselines3.common.envs.identity_env",
            ["IdentityEnv", "IdentityEnvBox", "IdentityEnvMultiBinary", "IdentityEnvMultiDiscrete", "FakeImageEnv"],
        ),
        ("baselines3.common.envs.multi_input_envs", ["SimpleMultiObsEnv"]),
    ],
)
def test_env_submodules_hold_the_package_classes(module: str, names: list[str]) -> None:
    package = importlib.import_module("baselines3.common.envs")
    imported = importlib.import_module(module)
    for name in names:
        assert getattr(imported, name) is getattr(package, name)


def _rollout(env, actions):
    obs, _ = env.reset(seed=0)
    steps = [obs]
    for action in actions:
        steps.append(env.step(action))
    return steps


@pytest.mark.parametrize("discrete_actions", [True, False])
@pytest.mark.parametrize("channel_last", [True, False])
def test_simple_multi_obs_env_is_sb3_grid_world(discrete_actions: bool, channel_last: bool) -> None:
    from baselines3.common.envs import SimpleMultiObsEnv

    np.random.seed(3)
    env = SimpleMultiObsEnv(random_start=False, discrete_actions=discrete_actions, channel_last=channel_last)
    assert env.observation_space["vec"].shape == (5,) and env.observation_space["vec"].dtype == np.float64
    assert env.observation_space["img"].shape == ((64, 64, 1) if channel_last else (1, 64, 64))
    moves = [2, 2, 2, 1, 1, 0, 3, 1, 1]  # right x3 (to 3), down x2 (to 11), a wall, back up, down to 15
    actions = moves if discrete_actions else [np.eye(4)[move] for move in moves]
    ours = _rollout(env, actions)
    assert [step[1] for step in ours[1:]] == [-0.1] * 8 + [1.0]
    assert [step[2] for step in ours[1:]] == [False] * 8 + [True] and ours[-1][4] == {"got_to_end": True}
    assert env.observation_space.contains(ours[0])
    sb3_envs = pytest.importorskip("stable_baselines3.common.envs")
    np.random.seed(3)
    theirs = _rollout(
        sb3_envs.SimpleMultiObsEnv(random_start=False, discrete_actions=discrete_actions, channel_last=channel_last),
        actions,
    )
    for mine, other in zip(ours[1:], theirs[1:]):
        for key in ("vec", "img"):
            np.testing.assert_array_equal(mine[0][key], other[0][key])
        assert mine[1:] == other[1:]


def test_simple_multi_obs_env_random_start_and_timeout() -> None:
    from baselines3.common.envs import SimpleMultiObsEnv

    env = SimpleMultiObsEnv(random_start=True)
    starts = set()
    for seed in range(40):
        env.reset(seed=seed)
        starts.add(env.state)
    assert starts <= set(range(15)) and len(starts) > 5  # any cell but the goal
    env.reset(seed=1)
    first = env.state
    env.reset(seed=1)
    assert env.state == first  # the env's own generator: reset(seed=...) repeats the start
    env = SimpleMultiObsEnv(random_start=False)
    env.reset()
    truncated = [env.step(0)[3] for _ in range(101)]  # left from cell 0 stays there
    assert truncated == [False] * 100 + [True]


def test_simple_multi_obs_env_keeps_the_sign_task() -> None:
    from baselines3.common.envs import SimpleMultiObsEnv

    env = SimpleMultiObsEnv(image_size=36, ep_length=3)
    obs, _ = env.reset(seed=0)
    assert obs["img"].shape == (36, 36, 1) and env.action_space.n == 2
    right = int(obs["vec"][0] > 0)
    assert env.step(right)[1] == 1.0


@pytest.mark.parametrize("kwargs", [{}, {"discrete_obs_space": True}, {"image_obs_space": True}])
def test_bit_flipping_conversions_match_sb3(kwargs: dict) -> None:
    from baselines3.common.envs.bit_flipping_env import BitFlippingEnv

    env = BitFlippingEnv(n_bits=5, **kwargs)
    bits = np.array([1, 0, 1, 1, 0], dtype=np.int8)
    encoded = env.convert_if_needed(bits)
    np.testing.assert_array_equal(env.convert_to_bit_vector(encoded, 1), bits[None])
    batch = np.stack([env.convert_if_needed(bits), env.convert_if_needed(1 - bits)])
    np.testing.assert_array_equal(env.convert_to_bit_vector(batch, 2), np.stack([bits, 1 - bits]))
    env.seed(0)
    sb3_env_module = pytest.importorskip("stable_baselines3.common.envs.bit_flipping_env")
    theirs = sb3_env_module.BitFlippingEnv(n_bits=5, **kwargs)
    np.testing.assert_array_equal(np.asarray(encoded), np.asarray(theirs.convert_if_needed(bits)))
    assert type(encoded) is type(theirs.convert_if_needed(bits))


def test_open_path(tmp_path) -> None:
    import io

    from baselines3.common.save_util import open_path

    with open_path(str(tmp_path / "model"), "w", suffix="zip") as file:
        file.write(b"abc")
    assert (tmp_path / "model.zip").read_bytes() == b"abc"
    with open_path(tmp_path / "model", "read", suffix="zip") as file:  # falls back to the suffix
        assert file.read() == b"abc"
    with pytest.warns(UserWarning, match="does not exist. Will create it"):
        open_path(tmp_path / "new" / "deep" / "file.bin", "w").close()
    assert (tmp_path / "new" / "deep" / "file.bin").is_file()
    (tmp_path / "folder").mkdir()
    with pytest.warns(UserWarning, match="is a folder"):
        open_path(tmp_path / "folder", "w").close()
    assert (tmp_path / "folder_2").is_file()
    with pytest.warns(UserWarning, match="will overwrite"):
        open_path(tmp_path / "model.zip", "w", verbose=2).close()
    with pytest.raises(FileNotFoundError):
        open_path(tmp_path / "absent", "r")
    buffer = io.BytesIO()
    assert open_path(buffer, "w") is buffer
    with pytest.raises(ValueError, match="mode"):
        open_path(buffer, "x")
    buffer.close()
    with pytest.raises(ValueError, match="closed"):
        open_path(buffer, "r")
    with open(tmp_path / "model.zip", "rb") as read_only, pytest.raises(ValueError, match="writable"):
        open_path(read_only, "w")
    with pytest.raises(TypeError):
        open_path(3, "r")  # type: ignore[arg-type]
    sb3_save_util = pytest.importorskip("stable_baselines3.common.save_util")
    with sb3_save_util.open_path(tmp_path / "model", "r", suffix="zip") as file:
        assert file.read() == b""  # SB3 finds the same file (emptied by the overwrite above)


@pytest.mark.parametrize(
    "shape, dtype, order",
    [
        ((84, 84, 3), np.uint8, None),
        ((3, 84, 84), np.uint8, None),
        ((4,), np.float32, None),
        ((2, 5), np.float32, "first"),
        ((2, 5), np.float32, "last"),
    ],
)
def test_compute_stacking_matches_sb3(shape, dtype, order) -> None:
    from gymnasium import spaces

    from baselines3.common.vec_env.stacked_observations import StackedObservations

    high = 255 if dtype == np.uint8 else 1.0
    space = spaces.Box(0, high, shape, dtype)
    ours = StackedObservations.compute_stacking(4, space, order)
    assert ours[2] == StackedObservations(2, 4, space, order).stacked_observation_space.shape
    sb3_stacked = pytest.importorskip("stable_baselines3.common.vec_env.stacked_observations")
    assert ours == sb3_stacked.StackedObservations.compute_stacking(4, space, order)


def test_nature_cnn_checks_the_space_as_sb3_does() -> None:
    import torch
    from gymnasium import spaces

    from baselines3.common.torch_layers import NatureCNN

    float_image = spaces.Box(0.0, 1.0, (3, 64, 64), np.float32)
    with pytest.raises(AssertionError, match="NatureCNN needs image observations"):
        NatureCNN(float_image)
    with pytest.raises(ValueError):  # the same error, for code that catches ValueError
        NatureCNN(float_image)
    features = NatureCNN(float_image, features_dim=16, normalized_image=True)
    assert features(torch.rand(2, 3, 64, 64)).shape == (2, 16)
    unbounded = spaces.Box(-np.inf, np.inf, (4, 64, 64), np.float32)
    assert NatureCNN(unbounded, normalized_image=True).features_dim == 512
    sb3_layers = pytest.importorskip("stable_baselines3.common.torch_layers")
    with pytest.raises(AssertionError):
        sb3_layers.NatureCNN(float_image)
    sb3_layers.NatureCNN(float_image, normalized_image=True)


def test_cnn_policy_trains_on_float_images_with_normalize_images_false() -> None:
    import gymnasium as gym
    from gymnasium import spaces

    import baselines3

    class FloatImageEnv(gym.Env):
        observation_space = spaces.Box(0.0, 1.0, (3, 40, 40), np.float32)
        action_space = spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return self.observation_space.sample(), {}

        def step(self, action):
            return self.observation_space.sample(), 0.0, False, True, {}

    model = baselines3.PPO(
        "CnnPolicy", FloatImageEnv(), n_steps=8, batch_size=8, n_epochs=1, policy_kwargs={"normalize_images": False}
    )
    model.learn(8)
    assert model.policy.features_extractor.features_dim == 512


@pytest.mark.parametrize("make", ["DummyVecEnv", "SubprocVecEnv"])
def test_one_env_takes_an_unbatched_action(make: str) -> None:
    import gymnasium as gym

    from baselines3.common import vec_env

    envs = getattr(vec_env, make)([lambda: gym.make("MountainCarContinuous-v0")])
    try:
        envs.reset()
        obs, *_ = envs.step(np.array([[0.5]]))  # a batch of one action
        assert obs.shape == (1, 2)
        obs, *_ = envs.step(np.array([0.5]))  # one action, shaped like the action space: wrapped into a batch
        assert obs.shape == (1, 2)
        with pytest.raises(ValueError, match="one action per env"):
            envs.step(np.zeros((3, 1)))  # SB3 silently uses the first action only
    finally:
        envs.close()
    envs = vec_env.DummyVecEnv([lambda: gym.make("CartPole-v1")])
    envs.reset()
    assert envs.step(1)[0].shape == (1, 4)  # a plain int for one Discrete env
    assert envs.step([1])[0].shape == (1, 4)
    assert envs.step(np.array([0]))[0].shape == (1, 4)
    two = vec_env.DummyVecEnv([lambda: gym.make("CartPole-v1")] * 2)
    two.reset()
    with pytest.raises(ValueError, match="one action per env"):
        two.step(1)
    sb3_vec_env = pytest.importorskip("stable_baselines3.common.vec_env")
    theirs = sb3_vec_env.DummyVecEnv([lambda: gym.make("CartPole-v1")])
    theirs.reset()
    assert theirs.step([1])[0].shape == (1, 4)


def test_maybe_transpose_and_filter_excluded_keys_match_sb3() -> None:
    from gymnasium import spaces

    from baselines3.common.logger import filter_excluded_keys
    from baselines3.common.preprocessing import maybe_transpose

    space = spaces.Box(0, 255, (3, 40, 50), np.uint8)
    rng = np.random.default_rng(0)
    cases = [rng.integers(0, 255, shape, dtype=np.uint8) for shape in [(40, 50, 3), (2, 40, 50, 3), (3, 40, 50)]]
    ours = [maybe_transpose(obs, space) for obs in cases]
    assert [o.shape for o in ours] == [(3, 40, 50), (2, 3, 40, 50), (3, 40, 50)]
    values = {"a": 1, "b": 2, "c": 3}
    excluded = {"a": ("stdout",), "b": ("csv", "tensorboard"), "c": ()}
    assert filter_excluded_keys(values, excluded, "csv") == {"a": 1, "c": 3}
    sb3_preprocessing = pytest.importorskip("stable_baselines3.common.preprocessing")
    sb3_logger = pytest.importorskip("stable_baselines3.common.logger")
    for mine, obs in zip(ours, cases):
        np.testing.assert_array_equal(mine, sb3_preprocessing.maybe_transpose(obs, space))
    for name in ("stdout", "csv", "json"):
        assert filter_excluded_keys(values, excluded, name) == sb3_logger.filter_excluded_keys(values, excluded, name)

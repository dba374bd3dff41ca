"""zoo.wrappers: the time feature appended to observations."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from baselines3.common.envs import BitFlippingEnv
from zoo.wrappers import TimeFeatureWrapper


def test_time_feature_counts_down_to_the_time_limit():
    env = TimeFeatureWrapper(gym.make("Pendulum-v1"))  # max_episode_steps 200 from the registration
    assert env.max_steps == 200 and env.observation_space.shape == (4,)
    obs, _ = env.reset(seed=0)
    assert obs[-1] == 1.0 and env.observation_space.contains(obs)
    for step in range(1, 201):
        obs, _, _, truncated, _ = env.step(env.action_space.sample())
        assert obs[-1] == pytest.approx(1.0 - step / 200)
    assert truncated and obs[-1] == 0.0
    obs, _ = env.reset()
    assert obs[-1] == 1.0


def test_time_feature_test_mode_and_explicit_budget():
    env = TimeFeatureWrapper(gym.make("CartPole-v1"), max_steps=10, test_mode=True)
    env.reset(seed=0)
    obs, *_ = env.step(0)
    assert obs.shape == (5,) and obs[-1] == 1.0
    counting = TimeFeatureWrapper(gym.make("CartPole-v1"), max_steps=10)
    counting.reset(seed=0)
    obs, *_ = counting.step(0)
    assert obs[-1] == pytest.approx(0.9)


def test_time_feature_on_goal_conditioned_dict_observations():
    env = TimeFeatureWrapper(BitFlippingEnv(n_bits=4, continuous=True, max_steps=4), max_steps=4)
    obs, _ = env.reset(seed=0)
    assert obs["observation"].shape == (5,) and obs["observation"][-1] == 1.0
    assert env.observation_space.contains(obs)
    obs, *_ = env.step(np.zeros(4, dtype=np.float32))
    assert obs["observation"][-1] == pytest.approx(0.75) and obs["desired_goal"].shape == (4,)


def test_time_feature_refuses_spaces_it_cannot_extend():
    with pytest.raises(ValueError, match="needs a 1-D Box or a Dict"):
        TimeFeatureWrapper(gym.make("FrozenLake-v1"))
    with pytest.raises(ValueError, match="max_steps must be >= 1"):
        TimeFeatureWrapper(gym.make("CartPole-v1"), max_steps=-5)


class _Counting(gym.Env):
    """Observation = step count (1-D Box of size 2), reward = the step number, ends after `length` steps;
    `success_from` marks is_success from that step on."""

    def __init__(self, length: int = 10, success_from: int = 10**9):
        self.observation_space = gym.spaces.Box(-100, 100, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        self.length, self.success_from, self.t = length, success_from, 0
        self.received: list[np.ndarray] = []

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.full(2, 0.0, np.float32), {}

    def step(self, action):
        self.received.append(np.asarray(action))
        self.t += 1
        obs = np.full(2, float(self.t), np.float32)
        return obs, float(self.t), self.t >= self.length, False, {"is_success": self.t >= self.success_from}


def test_frame_skip_repeats_the_action_and_sums_rewards():
    from zoo.wrappers import FrameSkip

    env = FrameSkip(_Counting(length=10), skip=4)
    env.reset()
    obs, reward, terminated, *_ = env.step(np.zeros(1, np.float32))
    assert obs[0] == 4 and reward == 1 + 2 + 3 + 4 and not terminated
    env.step(np.zeros(1, np.float32))
    obs, reward, terminated, *_ = env.step(np.zeros(1, np.float32))  # steps 9, 10: the episode ends early
    assert obs[0] == 10 and reward == 19 and terminated
    with pytest.raises(ValueError, match="skip"):
        FrameSkip(_Counting(), skip=0)


def test_history_wrapper_stacks_past_observations_and_actions():
    from zoo.wrappers import HistoryWrapper

    env = HistoryWrapper(_Counting(), horizon=3)
    assert env.observation_space.shape == (3 * 2 + 3 * 1,)
    obs, _ = env.reset()
    np.testing.assert_array_equal(obs, np.zeros(9))
    env.step(np.array([0.5], np.float32))
    obs, *_ = env.step(np.array([-0.5], np.float32))
    # oldest first: observations (0, 1, 2), then actions (none yet, 0.5, -0.5)
    np.testing.assert_array_equal(obs, [0, 0, 1, 1, 2, 2, 0, 0.5, -0.5])
    assert env.observation_space.contains(obs.astype(np.float32))
    with pytest.raises(ValueError, match="Box observations and actions"):
        HistoryWrapper(gym.make("CartPole-v1"))


def test_history_wrapper_obs_dict_replaces_the_observation_entry():
    from zoo.wrappers import HistoryWrapperObsDict

    env = HistoryWrapperObsDict(BitFlippingEnv(n_bits=3, continuous=True, max_steps=5), horizon=2)
    obs, _ = env.reset(seed=0)
    assert obs["observation"].shape == (2 * 3 + 2 * 3,) and set(obs) == {"observation", "achieved_goal", "desired_goal"}
    action = np.array([1.0, -1.0, 1.0], np.float32)
    next_obs, *_ = env.step(action)
    np.testing.assert_array_equal(next_obs["observation"][:3], obs["observation"][3:6])
    np.testing.assert_array_equal(next_obs["observation"][-3:], action)


def test_truncated_on_success_and_reward_offset():
    from zoo.wrappers import TruncatedOnSuccessWrapper

    env = TruncatedOnSuccessWrapper(_Counting(length=100, success_from=3), reward_offset=-1.0, n_successes=2)
    env.reset()
    results = [env.step(np.zeros(1, np.float32)) for _ in range(4)]
    assert [r[1] for r in results] == [0.0, 1.0, 2.0, 3.0]
    assert [r[3] for r in results] == [False, False, False, True]  # successes at steps 3 and 4: two in a row


def test_action_noise_smoothing_and_delayed_reward():
    from zoo.wrappers import ActionNoiseWrapper, ActionSmoothingWrapper, DelayedRewardWrapper

    inner = _Counting()
    noisy = ActionNoiseWrapper(inner, noise_std=0.5)
    noisy.reset(seed=3)
    for _ in range(5):
        noisy.step(np.zeros(1, np.float32))
    sent = np.concatenate(inner.received)
    assert np.all(np.abs(sent) <= 1) and np.std(sent) > 0.05
    again = _Counting()
    replay = ActionNoiseWrapper(again, noise_std=0.5)
    replay.reset(seed=3)
    for _ in range(5):
        replay.step(np.zeros(1, np.float32))
    np.testing.assert_array_equal(np.concatenate(again.received), sent)  # seeded by reset

    inner = _Counting()
    smooth = ActionSmoothingWrapper(inner, smoothing_coef=0.5)
    smooth.reset()
    for _ in range(3):
        smooth.step(np.ones(1, np.float32))
    np.testing.assert_allclose(np.concatenate(inner.received), [0.5, 0.75, 0.875])

    delayed = DelayedRewardWrapper(_Counting(length=7), delay=3)
    delayed.reset()
    rewards = [delayed.step(np.zeros(1, np.float32))[1] for _ in range(7)]
    assert rewards == [0, 0, 1 + 2 + 3, 0, 0, 4 + 5 + 6, 7]


def test_no_velocity_envs_zero_the_velocities():
    from zoo.envs import register_zoo_envs
    from zoo.wrappers import MaskVelocityWrapper

    register_zoo_envs()
    for env_id, indices in MaskVelocityWrapper.velocity_indices.items():
        if "Lunar" in env_id:
            pytest.importorskip("Box2D")
        name, version = env_id.rsplit("-v", 1)
        env = gym.make(f"{name}NoVel-v{version}")
        plain = gym.make(env_id)
        obs, _ = env.reset(seed=0)
        plain_obs, _ = plain.reset(seed=0)
        action = plain.action_space.sample()
        obs, *_ = env.step(action)
        plain_obs, *_ = plain.step(action)
        assert obs.shape == plain_obs.shape
        assert np.all(obs[indices] == 0)
        kept = [i for i in range(obs.shape[0]) if i not in indices]
        np.testing.assert_array_equal(obs[kept], plain_obs[kept])
    with pytest.raises(ValueError, match="Acrobot-v1"):
        MaskVelocityWrapper(gym.make("Acrobot-v1"))


def test_yaml_compatible_resize_takes_a_list():
    pytest.importorskip("cv2")
    from baselines3.common.envs import FakeImageEnv
    from zoo.wrappers import YAMLCompatResizeObservation

    env = YAMLCompatResizeObservation(FakeImageEnv(screen_height=32, screen_width=32, n_channels=1), [16, 20])
    assert env.observation_space.shape[:2] == (16, 20)
    obs, _ = env.reset(seed=0)
    assert obs.shape[:2] == (16, 20)

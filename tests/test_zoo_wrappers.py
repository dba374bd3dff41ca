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

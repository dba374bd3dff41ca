"""Tests for baselines3.common.evaluation.evaluate_policy on deterministic toy envs with known returns."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from baselines3.common.evaluation import evaluate_policy
from baselines3.common.monitor import Monitor
from baselines3.common.vec_env import DummyVecEnv, VecMonitor


class FixedEpisodeEnv(gym.Env):
    """Episodes of `length` steps; the reward is `reward` times the action (action 1 -> `reward`)."""

    def __init__(self, length: int, reward: float = 1.0) -> None:
        self.observation_space = spaces.Box(0.0, 1000.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.length, self.reward = length, reward
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        return (
            np.array([self.t], dtype=np.float32),
            self.reward * float(action),
            self.t >= self.length,
            False,
            {},
        )


class LifeLossWrapper(gym.Wrapper):
    """Ends the (wrapped) episode every `every` steps, like a lost life; the inner episode goes on."""

    def __init__(self, env: gym.Env, every: int) -> None:
        super().__init__(env)
        self.every, self.count, self.real_done = every, 0, True

    def reset(self, **kwargs):
        if self.real_done:
            self.count = 0
            return self.env.reset(**kwargs)
        # Continue the inner episode with one step; start a new one if that step ends it.
        obs, _, terminated, truncated, info = self.env.step(1)
        if terminated or truncated:
            self.count = 0
            return self.env.reset(**kwargs)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.real_done = terminated or truncated
        self.count += 1
        return obs, reward, terminated or self.count % self.every == 0, truncated, info


class ConstantModel:
    """Always plays `action`; records what predict() was given."""

    def __init__(self, action: int = 1) -> None:
        self.action = action
        self.calls: list[dict[str, Any]] = []

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        self.calls.append({"state": state, "episode_start": np.array(episode_start), "deterministic": deterministic})
        return np.full(len(observation), self.action), state


def test_single_env_known_return():
    model = ConstantModel()
    mean, std = evaluate_policy(model, Monitor(FixedEpisodeEnv(length=4, reward=0.5)), n_eval_episodes=3)
    assert mean == pytest.approx(2.0) and std == pytest.approx(0.0)
    assert all(call["deterministic"] for call in model.calls)
    assert len(model.calls) == 12


def test_without_monitor_sums_rewards_and_warns():
    with pytest.warns(UserWarning, match="Monitor"):
        rewards, lengths = evaluate_policy(
            ConstantModel(),
            FixedEpisodeEnv(length=3, reward=2.0),
            n_eval_episodes=2,
            return_episode_rewards=True,
        )
    assert rewards == [6.0, 6.0] and lengths == [3, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate_policy(ConstantModel(), FixedEpisodeEnv(length=3), n_eval_episodes=1, warn=False)
        evaluate_policy(ConstantModel(), Monitor(FixedEpisodeEnv(length=3)), n_eval_episodes=1)


def test_unequal_episode_lengths_are_spread_evenly():
    # env 0: short episodes (return 2), env 1: long episodes (return 5). 5 episodes -> 2 on env 0, 3 on env 1.
    env = DummyVecEnv([lambda: Monitor(FixedEpisodeEnv(length=2)), lambda: Monitor(FixedEpisodeEnv(length=5))])
    rewards, lengths = evaluate_policy(ConstantModel(), env, n_eval_episodes=5, return_episode_rewards=True)
    assert sorted(rewards) == [2.0, 2.0, 5.0, 5.0, 5.0]
    assert sorted(lengths) == [2, 2, 5, 5, 5]
    mean, _ = evaluate_policy(ConstantModel(), env, n_eval_episodes=4)
    assert mean == pytest.approx(3.5)  # 2 + 2 + 5 + 5, not biased towards the short episodes


def test_a_gymnasium_vector_env_is_evaluated_env_by_env():
    """A gymnasium vector env goes through the adapter (each sub-env its own episodes), as models take it."""
    from baselines3.common.callbacks import EvalCallback

    def make_vector_env():
        return gym.vector.SyncVectorEnv(
            [lambda: Monitor(FixedEpisodeEnv(length=2)), lambda: Monitor(FixedEpisodeEnv(length=5))]
        )

    rewards, lengths = evaluate_policy(
        ConstantModel(), make_vector_env(), n_eval_episodes=4, return_episode_rewards=True
    )
    assert sorted(lengths) == [2, 2, 5, 5] and sorted(rewards) == [2.0, 2.0, 5.0, 5.0]
    callback = EvalCallback(make_vector_env())
    assert callback.eval_env.num_envs == 2 and callback.eval_env.observation_space.shape == (1,)
    with pytest.raises(TypeError, match=r"expected a gymnasium\.Env"):
        evaluate_policy(ConstantModel(), "CartPole-v1", n_eval_episodes=1)


def test_more_envs_than_episodes():
    env = DummyVecEnv([lambda length=length: FixedEpisodeEnv(length=length) for length in (1, 2, 3)])
    rewards, lengths = evaluate_policy(ConstantModel(), env, n_eval_episodes=2, return_episode_rewards=True, warn=False)
    # targets (2 + i) // 3 = [0, 1, 1]: env 0 runs none
    assert sorted(lengths) == [2, 3]
    assert sorted(rewards) == [2.0, 3.0]


def test_monitor_counts_only_real_episodes_after_life_loss():
    # Inner episodes last 6 steps (return 6); the outer wrapper signals a done every 3 steps, and its
    # reset continues the inner episode with one step: lives of 3 and 2 outer steps.
    env = LifeLossWrapper(Monitor(FixedEpisodeEnv(length=6)), every=3)
    rewards, lengths = evaluate_policy(ConstantModel(), env, n_eval_episodes=2, return_episode_rewards=True)
    assert rewards == [6.0, 6.0]
    assert lengths == [6, 6]
    # Without the Monitor, each life counts as an episode with its partial return.
    rewards, lengths = evaluate_policy(
        ConstantModel(),
        LifeLossWrapper(FixedEpisodeEnv(length=6), every=3),
        n_eval_episodes=2,
        return_episode_rewards=True,
        warn=False,
    )
    assert rewards == [3.0, 2.0]
    assert lengths == [3, 2]


def test_vec_monitor_counts_as_monitor():
    env = VecMonitor(DummyVecEnv([lambda: FixedEpisodeEnv(length=3)]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, _ = evaluate_policy(ConstantModel(), env, n_eval_episodes=2)
    assert mean == pytest.approx(3.0)


class RecurrentModel:
    """Returns a state that counts steps since the last episode start; checks what it is given back."""

    def __init__(self) -> None:
        self.starts: list[list[bool]] = []

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        n = len(observation)
        counter = np.zeros(n) if state is None else state[0].copy()
        assert episode_start is not None and episode_start.shape == (n,)
        self.starts.append(episode_start.tolist())
        counter[episode_start] = 0
        counter += 1
        # the observation is the step index within the episode: the state must agree with it
        assert np.allclose(counter, observation[:, 0] + 1)
        return np.ones(n, dtype=np.int64), (counter,)


def test_recurrent_state_and_episode_start_passed_through():
    model = RecurrentModel()
    env = DummyVecEnv([lambda: FixedEpisodeEnv(length=2), lambda: FixedEpisodeEnv(length=3)])
    evaluate_policy(model, env, n_eval_episodes=4, warn=False)
    assert model.starts[:4] == [[True, True], [False, False], [True, False], [False, True]]


def test_callback_sees_locals_and_reward_threshold():
    seen: list[tuple[int, bool]] = []

    def callback(locals_, globals_):
        seen.append((int(locals_["i"]), bool(locals_["done"])))
        assert isinstance(locals_["info"], dict)

    evaluate_policy(ConstantModel(), Monitor(FixedEpisodeEnv(length=2)), n_eval_episodes=2, callback=callback)
    assert seen == [(0, False), (0, True), (0, False), (0, True)]

    env = Monitor(FixedEpisodeEnv(length=2))
    evaluate_policy(ConstantModel(), env, n_eval_episodes=1, reward_threshold=1.5)
    with pytest.raises(AssertionError, match="threshold"):
        evaluate_policy(ConstantModel(), env, n_eval_episodes=1, reward_threshold=2.5)


def test_bad_episode_count():
    with pytest.raises(ValueError, match="n_eval_episodes"):
        evaluate_policy(ConstantModel(), Monitor(FixedEpisodeEnv(length=2)), n_eval_episodes=0)

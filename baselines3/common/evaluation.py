"""Policy evaluation: run whole episodes and report their returns."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from baselines3.common.monitor import Monitor
from baselines3.common.vec_env import VecMonitor, as_vec_env, is_vecenv_wrapped


class PolicyPredictor(Protocol):
    """Anything with SB3's ``predict`` (a model or a policy)."""

    def predict(
        self,
        observation: Any,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]: ...


def evaluate_policy(
    model: PolicyPredictor,
    env: gym.Env | Any,
    n_eval_episodes: int = 10,
    deterministic: bool = True,
    render: bool = False,
    callback: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
    reward_threshold: float | None = None,
    return_episode_rewards: bool = False,
    warn: bool = True,
) -> tuple[float, float] | tuple[list[float], list[int]]:
    """Run ``n_eval_episodes`` episodes with ``model`` and return (mean, std) of their returns.

    Episodes are shared evenly among the envs of a VecEnv (env ``i`` runs ``(n + i) // n_envs``
    episodes), so short episodes do not crowd out long ones and the mean is unbiased. When the env
    is wrapped in ``Monitor`` (or the VecEnv in ``VecMonitor``) the returns and lengths come from
    ``info["episode"]``: they are those of the original episode even when wrappers end episodes
    early (e.g. on a lost life, which is then not counted until the real end).

    :param model: has ``predict(obs, state, episode_start, deterministic)``; recurrent state is passed on
    :param env: a gymnasium env (wrapped in a DummyVecEnv) or a VecEnv
    :param callback: called as ``callback(locals(), globals())`` after each step, per env still running
    :param reward_threshold: if set, fail (AssertionError) when the mean return is not above it
    :param return_episode_rewards: return the lists (returns, lengths) of every episode instead
    :param warn: warn when the env is not wrapped in a Monitor (returns may then be altered by wrappers)
    """
    if n_eval_episodes < 1:
        raise ValueError(f"n_eval_episodes must be at least 1, got {n_eval_episodes}")
    env = as_vec_env(env)

    is_monitor_wrapped = is_vecenv_wrapped(env, VecMonitor) or env.env_is_wrapped(Monitor)[0]
    if not is_monitor_wrapped and warn:
        warnings.warn(
            "The evaluation env is not wrapped in a Monitor (or VecMonitor): returns and lengths are summed "
            "from rewards after every wrapper, which may differ from the original episode's "
            "(e.g. with reward "
            "clipping or life-loss resets). Wrap the env with Monitor to report the true values.",
            UserWarning,
            stacklevel=2,
        )

    n_envs = env.num_envs
    episode_rewards: list[float] = []
    episode_lengths: list[int] = []
    episode_counts = np.zeros(n_envs, dtype=np.int64)
    # Env i runs (n + i) // n_envs episodes: together exactly n_eval_episodes.
    episode_count_targets = np.array([(n_eval_episodes + i) // n_envs for i in range(n_envs)], dtype=np.int64)
    current_rewards = np.zeros(n_envs, dtype=np.float64)
    current_lengths = np.zeros(n_envs, dtype=np.int64)
    observations = env.reset()
    states = None
    episode_starts = np.ones((n_envs,), dtype=bool)

    while (episode_counts < episode_count_targets).any():
        actions, states = model.predict(
            observations,
            state=states,
            episode_start=episode_starts,
            deterministic=deterministic,
        )
        new_observations, rewards, dones, infos = env.step(actions)
        current_rewards += rewards
        current_lengths += 1
        # Without a callback only the envs that finished an episode need a look.
        env_indices = range(n_envs) if callback is not None else np.flatnonzero(dones)
        for i in env_indices:
            if episode_counts[i] >= episode_count_targets[i]:
                continue
            reward, done, info = rewards[i], dones[i], infos[i]
            if callback is not None:
                callback(locals(), globals())
            if done:
                if is_monitor_wrapped:
                    # A done without "episode" is an early end (e.g. life loss): the episode goes on.
                    if "episode" in info:
                        episode_rewards.append(float(info["episode"]["r"]))
                        episode_lengths.append(int(info["episode"]["l"]))
                        episode_counts[i] += 1
                else:
                    episode_rewards.append(float(current_rewards[i]))
                    episode_lengths.append(int(current_lengths[i]))
                    episode_counts[i] += 1
                current_rewards[i] = 0.0
                current_lengths[i] = 0
        episode_starts = np.array(dones, dtype=bool)
        observations = new_observations
        if render:
            env.render()

    mean_reward = float(np.mean(episode_rewards))
    std_reward = float(np.std(episode_rewards))
    if reward_threshold is not None and not mean_reward > reward_threshold:
        raise AssertionError(f"Mean reward {mean_reward:.2f} is not above the threshold {reward_threshold:.2f}")
    if return_episode_rewards:
        return episode_rewards, episode_lengths
    return mean_reward, std_reward


__all__ = ["PolicyPredictor", "evaluate_policy"]

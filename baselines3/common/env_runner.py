"""The collector: the one object that steps the VecEnv during training.

`EnvRunner` owns everything on the env side of the learn loop: the VecEnv (and its VecNormalize, if any), the
last observation (normalized, and the original one for the replay buffer), which envs start a new episode, the
policy's hidden state, the env-step and episode counters and the finished episodes' statistics. Algorithms call

- `rollout(policy, buffer, n_steps, callback, gamma)` (A2C, PPO): fill a rollout buffer and compute its
  advantages;
- `collect(policy, select_actions, replay_buffer, train_freq, callback)` (DQN, SAC, TD3): step until
  `train_freq` is reached, storing every transition;

then do their own update and logging. The model's SB3 attributes (`model._last_obs`, `model.ep_info_buffer`,
`model._episode_num`, `model.num_timesteps`, ...) read and write the runner's fields.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import Any, NamedTuple

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.buffers import ReplayBuffer, RolloutBuffer
from baselines3.common.callbacks import BaseCallback
from baselines3.common.logger import Logger
from baselines3.common.noise import ActionNoise, VectorizedActionNoise
from baselines3.common.policies import ActorCriticPolicy, BasePolicy
from baselines3.common.utils import obs_as_tensor, safe_mean
from baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_normalize


class TrainFrequencyUnit(Enum):
    STEP = "step"
    EPISODE = "episode"


class TrainFreq(NamedTuple):
    """Collect `frequency` steps (per env) or episodes between update phases."""

    frequency: int
    unit: TrainFrequencyUnit


class RolloutReturn(NamedTuple):
    """What `EnvRunner.collect` did: env steps (summed over envs), finished episodes, and whether to go on."""

    episode_timesteps: int
    n_episodes: int
    continue_training: bool


#: obs -> (actions sent to the env, actions stored in the replay buffer)
ActionSelector = Callable[[Any], tuple[np.ndarray, np.ndarray]]


class EnvRunner:
    """The VecEnv side of training: env, last observations, episode starts, hidden state, counters, episode stats.

    Args:
        env: the (wrapped) VecEnv to step; None until the model is given one.
        stats_window_size: finished episodes kept for the logged episode statistics.
    """

    def __init__(self, env: VecEnv | None = None, stats_window_size: int = 100) -> None:
        self.stats_window_size = stats_window_size
        self.vec_normalize: VecNormalize | None = None
        self._env: VecEnv | None = None
        self.env = env
        #: env steps taken, summed over envs (the model's `num_timesteps`)
        self.num_timesteps = 0
        #: finished episodes (the model's `_episode_num`)
        self.episode_num = 0
        self.last_obs: Any = None
        #: `last_obs` before VecNormalize, for the replay buffer
        self.last_original_obs: Any = None
        #: per env: whether `last_obs` starts an episode
        self.episode_starts: np.ndarray | None = None
        #: the policy's hidden state for `last_obs` (None for feed-forward policies)
        self.state: Any = None
        #: Monitor statistics (info["episode"]) and success flags of the latest finished episodes
        self.ep_info_buffer: deque[dict[str, Any]] | None = None
        self.ep_success_buffer: deque[bool] | None = None

    @property
    def env(self) -> VecEnv | None:
        return self._env

    @env.setter
    def env(self, env: VecEnv | None) -> None:
        self._env = env
        self.vec_normalize = None if env is None else unwrap_vec_normalize(env)

    @property
    def num_envs(self) -> int:
        return self._require_env().num_envs

    # ------------------------------------------------------------------ state
    def reset_episode_stats(self) -> None:
        """Forget the finished episodes' statistics."""
        self.ep_info_buffer = deque(maxlen=self.stats_window_size)
        self.ep_success_buffer = deque(maxlen=self.stats_window_size)

    def reset(self, policy: BasePolicy) -> None:
        """Reset every env: new episodes start, with `policy`'s initial hidden state."""
        env = self._require_env()
        self.last_obs = env.reset()
        self.episode_starts = np.ones((env.num_envs,), dtype=bool)
        self.state = policy.initial_state(env.num_envs)
        self.last_original_obs = None if self.vec_normalize is None else self.vec_normalize.get_original_obs()

    def forget_obs(self) -> None:
        """Drop the last observations (the env changed): the next learn() resets the env."""
        self.last_obs = None
        self.last_original_obs = None

    def update_info_buffer(self, infos: list[dict[str, Any]], dones: np.ndarray) -> None:
        """Keep finished episodes' Monitor stats (info['episode']) and success flags, and count the episodes."""
        if self.ep_info_buffer is None or self.ep_success_buffer is None:
            self.reset_episode_stats()
        assert self.ep_info_buffer is not None and self.ep_success_buffer is not None
        for idx in np.flatnonzero(dones):
            info = infos[idx]
            episode = info.get("episode")
            if episode is not None:
                self.ep_info_buffer.append(episode)
            success = info.get("is_success")
            if success is not None:
                self.ep_success_buffer.append(success)

    def record_episode_stats(self, logger: Logger) -> None:
        """Mean return, length and success rate of the latest finished episodes, under SB3's keys."""
        if self.ep_info_buffer:
            logger.record("rollout/ep_rew_mean", safe_mean([ep["r"] for ep in self.ep_info_buffer]))
            logger.record("rollout/ep_len_mean", safe_mean([ep["l"] for ep in self.ep_info_buffer]))
        if self.ep_success_buffer:
            logger.record("rollout/success_rate", safe_mean(self.ep_success_buffer))

    def _require_env(self) -> VecEnv:
        if self._env is None:
            raise ValueError("This model has no env: pass one with model.set_env(env) before learn()")
        return self._env

    # ------------------------------------------------------------------ on-policy
    def rollout(
        self,
        policy: ActorCriticPolicy,
        rollout_buffer: RolloutBuffer,
        n_rollout_steps: int,
        callback: BaseCallback,
        gamma: float,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
    ) -> bool:
        """Run `policy` for `n_rollout_steps` vec-env steps, fill `rollout_buffer` and compute its advantages.

        Per step: obs -> policy.rollout_step -> (actions, values, log-probs, next hidden state) -> env.step ->
        store. A truncated (time-limit) episode is not a terminal one: the discounted value of its terminal
        observation is added to its last reward. Returns False when a callback asked to stop training.
        """
        assert self.last_obs is not None, "No previous observation: call reset() (learn() does) first"
        env = self._require_env()
        policy.set_training_mode(False)
        rollout_buffer.n_envs = env.num_envs  # set_env() may have changed the number of envs
        rollout_buffer.reset()
        device = policy.device
        action_space = policy.action_space
        clip_low = clip_high = None
        if isinstance(action_space, spaces.Box) and not policy.squash_output:
            clip_low, clip_high = action_space.low, action_space.high
        is_recurrent = policy.is_recurrent
        if use_sde:
            policy.reset_noise(env.num_envs)
        callback.on_rollout_start()

        dones = np.zeros(env.num_envs, dtype=bool)
        new_obs = self.last_obs
        state = self.state
        for n_steps in range(n_rollout_steps):
            if use_sde and sde_sample_freq > 0 and n_steps % sde_sample_freq == 0:
                policy.reset_noise(env.num_envs)
            with torch.inference_mode():
                obs_tensor = obs_as_tensor(self.last_obs, device)
                starts = None
                if is_recurrent:
                    starts = torch.as_tensor(self.episode_starts, dtype=torch.float32, device=device)
                actions_t, values_t, log_probs_t, new_state = policy.rollout_step(obs_tensor, state, starts)
            actions = actions_t.cpu().numpy()
            values = values_t.cpu().numpy()
            log_probs = log_probs_t.cpu().numpy()
            env_actions = actions
            if clip_low is not None:
                env_actions = np.clip(actions, clip_low, clip_high)
            elif policy.squash_output:
                env_actions = policy.unscale_action(actions)

            new_obs, rewards, dones, infos = env.step(env_actions)
            self.num_timesteps += env.num_envs
            callback.update_locals(_step_locals(locals()))
            if not callback.on_step():
                return False
            if dones.any():
                self.update_info_buffer(infos, dones)
                self.episode_num += int(dones.sum())
                rewards = _bootstrap_truncated(policy, infos, dones, rewards, new_state, gamma, device)

            assert self.episode_starts is not None
            rollout_buffer.add(self.last_obs, actions, rewards, self.episode_starts, values, log_probs, state=state)
            self.last_obs = new_obs
            self.episode_starts = dones
            state = new_state
            self.state = new_state

        with torch.inference_mode():
            last_values = policy.bootstrap_values(
                obs_as_tensor(new_obs, device), state, torch.as_tensor(dones, dtype=torch.float32, device=device)
            )
        rollout_buffer.compute_returns_and_advantage(last_values=last_values, dones=dones)
        callback.update_locals(_step_locals(locals()))
        callback.on_rollout_end()
        return True

    # ------------------------------------------------------------------ off-policy
    def collect(
        self,
        policy: BasePolicy,
        select_actions: ActionSelector,
        replay_buffer: ReplayBuffer,
        train_freq: TrainFreq,
        callback: BaseCallback,
        action_noise: ActionNoise | None = None,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        episode_end: Callable[[], None] | None = None,
    ) -> RolloutReturn:
        """Step the env until `train_freq` is reached, storing every transition in `replay_buffer`.

        `select_actions(obs)` returns (env actions, buffer actions) for the last observation. The buffer receives
        the unnormalized observations/rewards when a VecNormalize is used, and the terminal observation (not the
        reset one) as next observation of a finished episode, flagged as a time-limit truncation where it was one.
        Exploration noise is reset for each env whose episode ended, and `episode_end()` is called after each
        finished episode is counted (the learn loop logs there, as SB3 does).
        """
        assert self.last_obs is not None, "No previous observation: call reset() (learn() does) first"
        env = self._require_env()
        policy.set_training_mode(False)
        n_envs = env.num_envs
        if train_freq.unit == TrainFrequencyUnit.EPISODE and n_envs > 1:
            raise ValueError("train_freq in episodes needs a single env; use a step frequency with several envs")
        if use_sde:
            policy.reset_noise(n_envs)  # type: ignore[operator]
        if self.vec_normalize is not None and self.last_original_obs is None:
            self.last_original_obs = self.vec_normalize.get_original_obs()
        callback.on_rollout_start()
        num_steps = num_episodes = 0
        by_steps = train_freq.unit == TrainFrequencyUnit.STEP
        while (num_steps if by_steps else num_episodes) < train_freq.frequency:
            if use_sde and sde_sample_freq > 0 and num_steps % sde_sample_freq == 0:
                policy.reset_noise(n_envs)  # type: ignore[operator]
            actions, buffer_actions = select_actions(self.last_obs)
            new_obs, rewards, dones, infos = env.step(actions)
            self.num_timesteps += n_envs
            num_steps += 1
            if dones.any():
                self.update_info_buffer(infos, dones)
            # stored before the callbacks run, so a checkpoint taken at this step holds this step's transition
            self._store_transition(replay_buffer, buffer_actions, new_obs, rewards, dones, infos)
            callback.update_locals(_step_locals(locals()))
            if not callback.on_step():
                return RolloutReturn(num_steps * n_envs, num_episodes, continue_training=False)
            if dones.any():
                finished = np.flatnonzero(dones)
                num_episodes += len(finished)
                if isinstance(action_noise, VectorizedActionNoise):
                    action_noise.reset([int(idx) for idx in finished])
                elif action_noise is not None:
                    for _ in finished:
                        action_noise.reset()
                for _ in finished:
                    self.episode_num += 1
                    if episode_end is not None:
                        episode_end()
        callback.on_rollout_end()
        return RolloutReturn(num_steps * n_envs, num_episodes, continue_training=True)

    def _store_transition(
        self,
        replay_buffer: ReplayBuffer,
        buffer_actions: np.ndarray,
        new_obs: Any,
        rewards: np.ndarray,
        dones: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        vec_normalize = self.vec_normalize
        new_obs_: Any
        if vec_normalize is not None:
            new_obs_ = vec_normalize.get_original_obs()
            rewards_ = vec_normalize.get_original_reward()
            last_obs = self.last_original_obs
        else:
            new_obs_, rewards_, last_obs = new_obs, rewards, self.last_obs
        next_obs = new_obs_
        if dones.any():
            next_obs = {k: v.copy() for k, v in new_obs_.items()} if isinstance(new_obs_, dict) else new_obs_.copy()
            for idx in np.flatnonzero(dones):
                terminal = infos[idx].get("terminal_observation")
                if terminal is None:
                    continue
                if vec_normalize is not None:
                    terminal = vec_normalize.unnormalize_obs(terminal)
                if isinstance(next_obs, dict):
                    for key in next_obs:
                        next_obs[key][idx] = terminal[key]
                else:
                    next_obs[idx] = terminal
        replay_buffer.add(last_obs, next_obs, buffer_actions, rewards_, dones, infos)
        self.last_obs = new_obs
        if vec_normalize is not None:
            self.last_original_obs = new_obs_


def _step_locals(variables: dict[str, Any]) -> dict[str, Any]:
    """The collector's variables for the callbacks' `locals`, without its `self`: there `self` stays the model (as
    learn() set it), as in SB3, where the collector is a method of the model."""
    variables.pop("self", None)
    return variables


def _bootstrap_truncated(
    policy: ActorCriticPolicy,
    infos: list[dict[str, Any]],
    dones: np.ndarray,
    rewards: np.ndarray,
    state: Any,
    gamma: float,
    device: torch.device,
) -> np.ndarray:
    """rewards + gamma * V(terminal_obs) for envs whose episode was cut by a time limit."""
    truncated = [
        idx
        for idx in np.flatnonzero(dones)
        if infos[idx].get("TimeLimit.truncated", False) and infos[idx].get("terminal_observation") is not None
    ]
    if not truncated:
        return rewards
    indices = np.asarray(truncated)
    terminal_obs = _terminal_obs(infos, indices)
    terminal_tensor, _ = policy.obs_to_tensor(terminal_obs)
    with torch.inference_mode():
        terminal_values = policy.bootstrap_values(
            terminal_tensor,
            policy.select_state(state, indices) if state is not None else None,
            torch.zeros(len(indices), device=device),
        )
    rewards = rewards.astype(np.float32, copy=True)
    rewards[indices] += gamma * terminal_values.cpu().numpy().reshape(-1)
    return rewards


def _terminal_obs(infos: list[dict[str, Any]], indices: np.ndarray) -> Any:
    first = infos[indices[0]]["terminal_observation"]
    if isinstance(first, dict):
        return {key: np.stack([infos[i]["terminal_observation"][key] for i in indices]) for key in first}
    return np.stack([infos[i]["terminal_observation"] for i in indices])


__all__ = ["ActionSelector", "EnvRunner", "RolloutReturn", "TrainFreq", "TrainFrequencyUnit"]

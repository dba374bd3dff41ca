"""Pieces that A2C and PPO call: the rollout collector and the policy/buffer setup."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.buffers import RolloutBuffer, default_rollout_buffer_class
from baselines3.common.callbacks import BaseCallback
from baselines3.common.policies import ActorCriticPolicy
from baselines3.common.utils import obs_as_tensor
from baselines3.common.vec_env import VecEnv

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm


def build_policy_and_buffer(
    model: BaseAlgorithm,
    n_steps: int,
    gamma: float,
    gae_lambda: float,
    rollout_buffer_class: type[RolloutBuffer] | None = None,
    rollout_buffer_kwargs: dict[str, Any] | None = None,
) -> RolloutBuffer:
    """Create `model.policy` on its device and return a matching rollout buffer (without a class, DictRolloutBuffer
    for Dict observations, else RolloutBuffer)."""
    model.policy = model.policy_class(  # type: ignore[call-arg]
        model.observation_space,
        model.action_space,
        model.lr_schedule,
        use_sde=model.use_sde,
        **model.policy_kwargs,
    ).to(model.device)
    buffer_class = rollout_buffer_class or default_rollout_buffer_class(model.observation_space)
    return buffer_class(
        n_steps,
        model.observation_space,
        model.action_space,
        device=model.device,
        gamma=gamma,
        gae_lambda=gae_lambda,
        n_envs=model.n_envs,
        **(rollout_buffer_kwargs or {}),
    )


def collect_rollouts(
    model: BaseAlgorithm,
    env: VecEnv,
    callback: BaseCallback,
    rollout_buffer: RolloutBuffer,
    n_rollout_steps: int,
    gamma: float,
) -> bool:
    """Run the policy for `n_rollout_steps` vec-env steps and fill `rollout_buffer`.

    Per step: obs -> policy.rollout_step -> (actions, values, log-probs, next hidden state) -> env.step -> store.
    A truncated (time-limit) episode is not a terminal one: the discounted value of its terminal observation is
    added to its last reward. Returns False when a callback asked to stop training.
    """
    assert model._last_obs is not None, "No previous observation: call _setup_learn() first"
    policy = cast(ActorCriticPolicy, model.policy)
    policy.set_training_mode(False)
    rollout_buffer.n_envs = env.num_envs  # set_env() may have changed the number of envs
    rollout_buffer.reset()
    device = model.device
    action_space = model.action_space
    clip_low = clip_high = None
    if isinstance(action_space, spaces.Box) and not policy.squash_output:
        clip_low, clip_high = action_space.low, action_space.high
    use_sde = model.use_sde
    is_recurrent = policy.is_recurrent
    if use_sde:
        policy.reset_noise(env.num_envs)
    callback.on_rollout_start()

    dones = np.zeros(env.num_envs, dtype=bool)
    new_obs = model._last_obs
    state = model._last_state
    for n_steps in range(n_rollout_steps):
        if use_sde and model.sde_sample_freq > 0 and n_steps % model.sde_sample_freq == 0:
            policy.reset_noise(env.num_envs)
        with torch.inference_mode():
            obs_tensor = obs_as_tensor(model._last_obs, device)
            starts = None
            if is_recurrent:
                starts = torch.as_tensor(model._last_episode_starts, dtype=torch.float32, device=device)
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
        model.num_timesteps += env.num_envs
        callback.update_locals(locals())
        if not callback.on_step():
            return False
        if dones.any():
            model._update_info_buffer(infos, dones)
            rewards = _bootstrap_truncated(policy, infos, dones, rewards, new_state, gamma, device)

        assert model._last_episode_starts is not None
        rollout_buffer.add(
            model._last_obs, actions, rewards, model._last_episode_starts, values, log_probs, state=state
        )
        model._last_obs = new_obs
        model._last_episode_starts = dones
        state = new_state
        model._last_state = new_state

    with torch.inference_mode():
        last_values = policy.bootstrap_values(
            obs_as_tensor(new_obs, device), state, torch.as_tensor(dones, dtype=torch.float32, device=device)
        )
    rollout_buffer.compute_returns_and_advantage(last_values=last_values, dones=dones)
    callback.update_locals(locals())
    callback.on_rollout_end()
    return True


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
    terminal_obs = _env_indices_obs_from_infos(infos, indices)
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


def _env_indices_obs_from_infos(infos: list[dict[str, Any]], indices: np.ndarray) -> Any:
    first = infos[indices[0]]["terminal_observation"]
    if isinstance(first, dict):
        return {key: np.stack([infos[i]["terminal_observation"][key] for i in indices]) for key in first}
    return np.stack([infos[i]["terminal_observation"] for i in indices])

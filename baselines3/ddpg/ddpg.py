"""Deep Deterministic Policy Gradient (Lillicrap et al., 2016), as TD3 without its three additions.

learn(): repeat { act with the deterministic policy + exploration noise for train_freq steps, storing transitions
-> gradient_steps updates, each: the critic towards r + gamma * Q_target(s', mu_target(s')) -> the actor to
maximize Q(s, mu(s)) -> Polyak-average the target networks -> log }.

That is TD3's loop (baselines3.td3) with one critic (n_critics=1), an actor update after every critic update
(policy_delay=1) and no noise on the target actions (target_policy_noise=0).
"""

from __future__ import annotations

from typing import Any, TypeVar

import torch

from baselines3.common.buffers import ReplayBuffer
from baselines3.common.noise import ActionNoise
from baselines3.td3.policies import TD3Policy
from baselines3.td3.td3 import TD3

SelfDDPG = TypeVar("SelfDDPG", bound="DDPG")


class DDPG(TD3):
    """DDPG with SB3's hyperparameter names and defaults.

    Args:
        policy: the policy class, or its name: "MlpPolicy", "CnnPolicy" (images) or "MultiInputPolicy" (Dict
            observations).
        env: the environment (a gymnasium env, a VecEnv, or a registered env id); None when loading.
        learning_rate: Adam's step size for actor and critic, or a schedule of the remaining progress (1 -> 0).
        buffer_size: transitions the replay buffer holds.
        learning_starts: env steps taken with uniformly random actions, before any update.
        batch_size: transitions per gradient step.
        tau: Polyak coefficient of the target networks (1 copies the online networks).
        gamma: discount factor.
        train_freq: env steps between update phases (an int), or `(n, "step")` / `(n, "episode")`.
        gradient_steps: gradient steps per update phase; -1 does as many as env steps were taken.
        action_noise: exploration noise added to the actor's actions (rescaled to [-1, 1]); None explores only
            during the first `learning_starts` random steps.
        replay_buffer_class: the buffer class (e.g. HerReplayBuffer); None picks ReplayBuffer.
        replay_buffer_kwargs: keyword arguments of the buffer.
        optimize_memory_usage: store each observation once (the next one is the following slot).
        n_steps: n-step returns (> 1 uses NStepReplayBuffer).
        tensorboard_log: folder for TensorBoard logs (None: no TensorBoard).
        policy_kwargs: keyword arguments of the policy (net_arch, activation_fn, ...); `n_critics` defaults to 1.
        verbose: 0 silent, 1 training information, 2 debug.
        seed: seed of the random generators (Python, numpy, torch, action space and env).
        device: "cpu", "cuda" or "auto" (CUDA when available).
        _init_setup_model: build the networks and buffer now (False when loading).
        precision: "fp32", or "bf16" for the updates' matrix products under bfloat16 autocast (see `TD3Config`).
    """

    def __init__(
        self,
        policy: str | type[TD3Policy],
        env: Any,
        learning_rate: float | Any = 1e-3,
        buffer_size: int = 1_000_000,
        learning_starts: int = 100,
        batch_size: int = 256,
        tau: float = 0.005,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 1,
        gradient_steps: int = 1,
        action_noise: ActionNoise | None = None,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        optimize_memory_usage: bool = False,
        n_steps: int = 1,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
        *,
        precision: str = "fp32",
    ) -> None:
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            buffer_size=buffer_size,
            learning_starts=learning_starts,
            batch_size=batch_size,
            tau=tau,
            gamma=gamma,
            train_freq=train_freq,
            gradient_steps=gradient_steps,
            action_noise=action_noise,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            optimize_memory_usage=optimize_memory_usage,
            n_steps=n_steps,
            # TD3's additions switched off: the actor follows every critic update, target actions are not
            # smoothed, and (below) a single critic
            policy_delay=1,
            target_policy_noise=0.0,
            target_noise_clip=0.0,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
            precision=precision,
        )
        self.policy_kwargs.setdefault("n_critics", 1)
        if _init_setup_model:
            self._setup_model()

    def learn(
        self: SelfDDPG,
        total_timesteps: int,
        callback: Any = None,
        log_interval: int = 4,
        tb_log_name: str = "DDPG",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfDDPG:
        """Train for `total_timesteps` env steps (summed over envs)."""
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)

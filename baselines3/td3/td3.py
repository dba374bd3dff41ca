"""Twin Delayed DDPG (Fujimoto et al., 2018).

learn(): repeat { act with the deterministic policy + exploration noise for train_freq steps, storing transitions
-> gradient_steps updates, each: critics towards r + gamma * min_i Q_target_i(s', clip(mu_target(s') + clipped
noise)) -> every policy_delay updates: actor to maximize Q_1(s, mu(s)) and Polyak-average all target nets -> log }.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, TypeVar

import torch
from gymnasium import spaces

from baselines3.common import losses
from baselines3.common.base_class import BaseAlgorithm
from baselines3.common.buffers import ReplayBuffer
from baselines3.common.noise import ActionNoise
from baselines3.common.off_policy import (
    actor_actions,
    build_replay_buffer,
    check_action_noise,
    convert_train_freq,
    dump_logs,
    exploring_actions,
    off_policy_rounds,
)
from baselines3.common.optim import gradient_step
from baselines3.common.policies import BasePolicy, TargetUpdate
from baselines3.common.utils import check_hyperparameters
from baselines3.td3.policies import CnnPolicy, MlpPolicy, MultiInputPolicy, TD3Policy

SelfTD3 = TypeVar("SelfTD3", bound="TD3")


class TD3(BaseAlgorithm):
    """TD3 with SB3's hyperparameter names and defaults.

    Args:
        policy: the policy class, or its name: "MlpPolicy", "CnnPolicy" (images) or "MultiInputPolicy" (Dict
            observations).
        env: the environment (a gymnasium env, a VecEnv, or a registered env id); None when loading.
        learning_rate: Adam's step size for actor and critics, or a schedule of the remaining progress (1 -> 0).
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
        policy_delay: critic updates per actor and target update.
        target_policy_noise: std of the Gaussian noise added to the target actor's actions (target policy
            smoothing); 0 disables smoothing.
        target_noise_clip: the smoothing noise is clipped to [-target_noise_clip, target_noise_clip].
        stats_window_size: episodes averaged in the logged episode statistics.
        tensorboard_log: folder for TensorBoard logs (None: no TensorBoard).
        policy_kwargs: keyword arguments of the policy (net_arch, activation_fn, n_critics, ...).
        verbose: 0 silent, 1 training information, 2 debug.
        seed: seed of the random generators (Python, numpy, torch, action space and env).
        device: "cpu", "cuda" or "auto" (CUDA when available).
        _init_setup_model: build the networks and buffer now (False when loading).
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    supported_action_spaces = (spaces.Box,)
    policy: TD3Policy

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
        policy_delay: int = 2,
        target_policy_noise: float = 0.2,
        target_noise_clip: float = 0.5,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            support_multi_env=True,
            seed=seed,
        )
        check_hyperparameters(
            batch_size=batch_size, learning_starts=learning_starts, tau=tau, gamma=gamma, gradient_steps=gradient_steps,
            policy_delay=policy_delay, target_policy_noise=target_policy_noise, target_noise_clip=target_noise_clip,
        )  # fmt: skip
        self.buffer_size = buffer_size
        self.learning_starts = learning_starts
        self.batch_size = batch_size
        self.tau = tau
        self.gamma = gamma
        self.train_freq = train_freq
        self._train_freq = convert_train_freq(train_freq)
        self.gradient_steps = gradient_steps
        if self.env is not None:
            check_action_noise(action_noise, self.action_space, self.n_envs)
        self.action_noise = action_noise
        self.replay_buffer_class = replay_buffer_class
        self.replay_buffer_kwargs = replay_buffer_kwargs
        self.optimize_memory_usage = optimize_memory_usage
        self.n_steps = n_steps
        self.policy_delay = policy_delay
        self.target_policy_noise = target_policy_noise
        self.target_noise_clip = target_noise_clip
        self.replay_buffer: ReplayBuffer | None = None
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self.policy = self.policy_class(  # type: ignore[assignment]
            self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs
        ).to(self.device)
        self.actor, self.actor_target = self.policy.actor, self.policy.actor_target
        self.critic, self.critic_target = self.policy.critic, self.policy.critic_target
        self._update_actor_target = TargetUpdate(self.actor, self.actor_target)
        self._update_critic_target = TargetUpdate(self.critic, self.critic_target)
        self.replay_buffer = build_replay_buffer(
            self,
            self.buffer_size,
            self.batch_size,
            self.optimize_memory_usage,
            self.replay_buffer_class,
            self.replay_buffer_kwargs,
            self.n_steps,
            self.gamma,
        )

    def _torch_save_params(self) -> tuple[list[str], list[str]]:
        return ["policy", "actor.optimizer", "critic.optimizer"], []

    # ------------------------------------------------------------------ updating
    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """`gradient_steps` critic updates, with an actor and target update every `policy_delay` of them."""
        assert self.replay_buffer is not None
        self.policy.set_training_mode(True)
        self._update_learning_rate([self.actor.optimizer, self.critic.optimizer])
        actor_losses, critic_losses = [], []
        for batch in self.replay_buffer.sample_batches(batch_size, gradient_steps, env=self._vec_normalize_env):
            self._n_updates += 1
            # 1. critics towards r + gamma * min_i Q_target_i(s', smoothed mu_target(s'))
            with torch.no_grad():
                next_actions = self.actor_target.forward(batch.next_observations)
                if self.target_policy_noise > 0 and self.target_noise_clip > 0:  # off in DDPG
                    next_actions = losses.smoothed_target_actions(
                        next_actions, self.target_policy_noise, self.target_noise_clip
                    )
                next_values = self.critic_target.q_values(batch.next_observations, next_actions).min(dim=0).values
                targets = losses.td_target(batch.rewards, batch.dones, next_values, self.gamma, batch.discounts)
            # sum_i MSE(Q_i(s, a), target), as SB3's TD3 (without SAC's factor 0.5: it matters for optimizers
            # other than Adam, and for the logged loss)
            critic_loss = 2.0 * losses.twin_critic_loss(
                self.critic.q_values(batch.observations, batch.actions), targets
            )
            gradient_step(critic_loss, self.critic.optimizer, self.critic.flat_parameters)
            critic_losses.append(critic_loss.detach())
            # 2. delayed: actor along the first critic's gradient, then the target networks
            if self._n_updates % self.policy_delay == 0:
                actions_pi = self.actor.forward(batch.observations)
                actor_loss = losses.td3_actor_loss(
                    self.critic.q1_forward(batch.observations, actions_pi, detach_params=True)
                )
                gradient_step(actor_loss, self.actor.optimizer, self.actor.flat_parameters)
                actor_losses.append(actor_loss.detach())
                self._update_critic_target(self.tau)
                self._update_actor_target(self.tau)
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        if actor_losses:
            self.logger.record("train/actor_loss", torch.stack(actor_losses).mean().item())
        if critic_losses:
            self.logger.record("train/critic_loss", torch.stack(critic_losses).mean().item())

    def learn(
        self: SelfTD3,
        total_timesteps: int,
        callback: Any = None,
        log_interval: int = 4,
        tb_log_name: str = "TD3",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfTD3:
        """Train for `total_timesteps` env steps (summed over envs)."""
        total_timesteps, callback = self._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar, log_interval
        )
        callback.on_training_start(locals(), globals())
        explore = exploring_actions(self, actor_actions(self), self.learning_starts, self.action_noise)
        # 3. (during collection) log each time another log_interval episodes have ended, as SB3 does
        log = functools.partial(dump_logs, self)
        # 1. act with the actor + exploration noise (uniformly at random until learning_starts), store
        for round_ in off_policy_rounds(self, total_timesteps, callback, explore, log_interval, log, self.action_noise):
            # 2. from replayed transitions: smoothed TD targets, critic updates, delayed actor and target updates
            if round_.gradient_steps > 0:
                self.train(round_.gradient_steps, self.batch_size)
        callback.on_training_end()
        return self

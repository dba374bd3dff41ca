"""Twin Delayed DDPG (Fujimoto et al., 2018).

learn(): repeat { act with the deterministic policy + exploration noise for train_freq steps, storing transitions
-> gradient_steps updates, each: critics towards r + gamma * min_i Q_target_i(s', clip(mu_target(s') + clipped
noise)) -> every policy_delay updates: actor to maximize Q_1(s, mu(s)) and Polyak-average all target nets -> log }.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import torch
from gymnasium import spaces

from baselines3.common import losses
from baselines3.common.base_class import BaseAlgorithm
from baselines3.common.buffers import ReplayBuffer
from baselines3.common.config import Schedule, replay_buffer_arguments
from baselines3.common.fast import compiled
from baselines3.common.fast.optim import gradient_step
from baselines3.common.noise import ActionNoise
from baselines3.common.off_policy.critics import regress_critics
from baselines3.common.off_policy.learn import learn_off_policy
from baselines3.common.off_policy.rounds import build_replay_buffer
from baselines3.common.policies import BasePolicy, TargetUpdate
from baselines3.td3.config import TD3Config
from baselines3.td3.policies import CnnPolicy, MlpPolicy, MultiInputPolicy, TD3Policy

SelfTD3 = TypeVar("SelfTD3", bound="TD3")


class TD3(BaseAlgorithm):
    """TD3 with SB3's hyperparameter names and defaults; each is documented in `TD3Config` (`model.config`).

    `policy` is a policy class or "MlpPolicy", "CnnPolicy" (images) or "MultiInputPolicy" (Dict observations);
    `env` a gymnasium env, a VecEnv or an env id (None when loading); `device` "cpu", "cuda" or "auto".
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    supported_action_spaces = (spaces.Box,)
    policy: TD3Policy
    config: TD3Config

    def __init__(
        self,
        policy: str | type[TD3Policy],
        env: Any,
        learning_rate: float | Schedule = 1e-3,
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
        *,
        precision: str = "fp32",
    ) -> None:
        super().__init__(policy, env, TD3Config.from_arguments(locals()), device=device, support_multi_env=True)
        self.replay_buffer: ReplayBuffer | None = None
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.config.seed)
        self.policy = self.policy_class(  # type: ignore[assignment]
            self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs
        ).to(self.device)
        self.actor, self.actor_target = self.policy.actor, self.policy.actor_target
        self.critic, self.critic_target = self.policy.critic, self.policy.critic_target
        self._update_actor_target = TargetUpdate(self.actor, self.actor_target)
        self._update_critic_target = TargetUpdate(self.critic, self.critic_target)
        self._train_freq = self.config.train_frequency
        self.replay_buffer = build_replay_buffer(self, *replay_buffer_arguments(self.config))

    def _torch_save_params(self) -> tuple[list[str], list[str]]:
        return ["policy", "actor.optimizer", "critic.optimizer"], []

    # ------------------------------------------------------------------ updating
    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """`gradient_steps` critic updates, with an actor and target update every `policy_delay` of them."""
        assert self.replay_buffer is not None
        self.policy.set_training_mode(True)
        self._update_learning_rate([self.actor.optimizer, self.critic.optimizer])
        config = self.config
        actor_losses, critic_losses = [], []
        for batch in self.replay_buffer.sample_batches(batch_size, gradient_steps, env=self._vec_normalize_env):
            self._n_updates += 1
            update_actor = self._n_updates % config.policy_delay == 0
            # the whole step below as one compiled program, where the speed seam compiles it (opt-in)
            compiled_step = compiled.td3_update(self)
            step_stats = compiled_step(batch, update_actor) if compiled_step is not None else None
            if step_stats is not None:
                critic_losses.append(step_stats[0])
                if update_actor:
                    actor_losses.append(step_stats[1])
                continue
            # 1. critics towards r + gamma * min_i Q_target_i(s', smoothed mu_target(s'))
            with torch.no_grad():
                next_actions = self.actor_target.forward(batch.next_observations)
                if config.target_policy_noise > 0 and config.target_noise_clip > 0:  # off in DDPG
                    next_actions = losses.smoothed_target_actions(
                        next_actions, config.target_policy_noise, config.target_noise_clip
                    )
                next_values = self.critic_target.q_values(batch.next_observations, next_actions).min(dim=0).values
                targets = losses.td_target(batch.rewards, batch.dones, next_values, config.gamma, batch.discounts)
            # sum_i MSE(Q_i(s, a), target), as SB3's TD3 (without SAC's factor 0.5: it matters for optimizers
            # other than Adam, and for the logged loss)
            critic_losses.append(
                regress_critics(self.critic, batch.observations, batch.actions, targets, loss_scale=2.0)
            )
            # 2. delayed: actor along the first critic's gradient, then the target networks
            if update_actor:
                actions_pi = self.actor.forward(batch.observations)
                actor_loss = losses.td3_actor_loss(
                    self.critic.q1_forward(batch.observations, actions_pi, detach_params=True)
                )
                gradient_step(actor_loss, self.actor.optimizer, self.actor.flat_parameters)
                actor_losses.append(actor_loss.detach())
                self._update_critic_target(config.tau)
                self._update_actor_target(config.tau)
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
        # 1. act with the actor + exploration noise (uniformly at random until learning_starts), store;
        # 2. after each round, train(): smoothed TD targets, critic updates, delayed actor and target updates;
        # 3. log each time another log_interval episodes have ended, as SB3 does
        return learn_off_policy(
            self, self.train, total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar
        )

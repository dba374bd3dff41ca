"""Soft Actor-Critic (Haarnoja et al., 2018), with twin critics and automatic entropy tuning.

learn(): repeat { act with the stochastic policy for train_freq steps, storing transitions -> gradient_steps
updates, each: (entropy coefficient) -> critics towards r + gamma * (min_i Q_target_i(s', a') - alpha log pi(a'|s'))
-> actor to maximize min_i Q_i(s, a) - alpha log pi(a|s) -> Polyak-average the target critics -> log }.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, TypeVar

import numpy as np
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
from baselines3.common.optim import gradient_step, make_optimizer
from baselines3.common.policies import BasePolicy, TargetUpdate
from baselines3.common.utils import check_hyperparameters
from baselines3.sac.policies import CnnPolicy, MlpPolicy, MultiInputPolicy, SACPolicy

SelfSAC = TypeVar("SelfSAC", bound="SAC")


class SAC(BaseAlgorithm):
    """SAC with SB3's hyperparameter names and defaults."""

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    supported_action_spaces = (spaces.Box,)
    policy: SACPolicy

    def __init__(
        self,
        policy: str | type[SACPolicy],
        env: Any,
        learning_rate: float | Any = 3e-4,
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
        ent_coef: str | float = "auto",
        target_update_interval: int = 1,
        target_entropy: str | float = "auto",
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        use_sde_at_warmup: bool = False,
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
            use_sde=use_sde,
            sde_sample_freq=sde_sample_freq,
        )
        check_hyperparameters(
            batch_size=batch_size, learning_starts=learning_starts, tau=tau, gamma=gamma, gradient_steps=gradient_steps
        )
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
        self.ent_coef = ent_coef
        self.target_update_interval = target_update_interval
        self.target_entropy = target_entropy
        self.use_sde_at_warmup = use_sde_at_warmup
        self.replay_buffer: ReplayBuffer | None = None
        self.log_ent_coef: torch.Tensor | None = None
        self.ent_coef_optimizer: torch.optim.Optimizer | None = None
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self.policy = self.policy_class(  # type: ignore[assignment]
            self.observation_space, self.action_space, self.lr_schedule, use_sde=self.use_sde, **self.policy_kwargs
        ).to(self.device)
        self.actor, self.critic, self.critic_target = self.policy.actor, self.policy.critic, self.policy.critic_target
        self._update_target_net = TargetUpdate(self.critic, self.critic_target)
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
        action_dim = int(np.prod(self.action_space.shape))  # type: ignore[arg-type]
        # heuristic target: -dim(A), one nat of entropy less per action dimension
        self._target_entropy = -float(action_dim) if self.target_entropy == "auto" else float(self.target_entropy)
        self._setup_ent_coef()

    def _setup_ent_coef(self) -> None:
        """`"auto"`/`"auto_<init>"`: alpha is learned (log alpha optimized); a number: alpha is fixed."""
        if isinstance(self.ent_coef, str):
            if self.ent_coef != "auto" and not self.ent_coef.startswith("auto_"):
                raise ValueError(f"ent_coef must be a float, 'auto' or 'auto_<initial value>', got {self.ent_coef!r}")
            try:
                init = float(self.ent_coef.split("_", 1)[1]) if "_" in self.ent_coef else 1.0
            except ValueError:
                raise ValueError(f"ent_coef {self.ent_coef!r}: expected 'auto_<number>', e.g. 'auto_0.1'") from None
            if init <= 0:
                raise ValueError(f"The initial entropy coefficient must be > 0, got {init} (from {self.ent_coef!r})")
            log_ent_coef = torch.nn.Parameter(torch.log(torch.ones(1, device=self.device) * init))
            self.ent_coef_optimizer, self._ent_coef_flat = make_optimizer(
                [log_ent_coef], torch.optim.Adam, self.lr_schedule(1), {}
            )
            self.log_ent_coef = self._ent_coef_flat.params[0]
        else:
            if float(self.ent_coef) < 0:
                raise ValueError(f"ent_coef must be >= 0, got {self.ent_coef}")
            self.ent_coef_tensor = torch.tensor(float(self.ent_coef), device=self.device)

    def _torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts = ["policy", "actor.optimizer", "critic.optimizer"]
        if self.ent_coef_optimizer is not None:
            return [*state_dicts, "ent_coef_optimizer"], ["log_ent_coef"]
        return state_dicts, ["ent_coef_tensor"]

    # ------------------------------------------------------------------ updating
    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """`gradient_steps` updates of the entropy coefficient, critics and actor, in that order."""
        assert self.replay_buffer is not None
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers.append(self.ent_coef_optimizer)
        self._update_learning_rate(optimizers)
        stats = []
        batches = self.replay_buffer.sample_batches(batch_size, gradient_steps, env=self._vec_normalize_env)
        for step, batch in enumerate(batches):
            if self.use_sde:
                self.actor.reset_noise()
            actions_pi, log_prob = self.actor.action_log_prob(batch.observations)
            # 1. entropy coefficient: this step's losses use its value before the update
            if self.log_ent_coef is not None:
                ent_coef = torch.exp(self.log_ent_coef.detach())
                ent_coef_loss = losses.sac_entropy_coef_loss(self.log_ent_coef, log_prob, self._target_entropy)
                gradient_step(ent_coef_loss, self.ent_coef_optimizer, self._ent_coef_flat)  # type: ignore[arg-type]
            else:
                ent_coef, ent_coef_loss = self.ent_coef_tensor, torch.zeros(())
            # 2. critics towards the soft TD target
            with torch.no_grad():
                next_actions, next_log_prob = self.actor.action_log_prob(batch.next_observations)
                next_q = self.critic_target.q_values(batch.next_observations, next_actions)
                next_values = losses.sac_next_values(next_q, next_log_prob, ent_coef)
                targets = losses.td_target(batch.rewards, batch.dones, next_values, self.gamma, batch.discounts)
            current_q = self.critic.q_values(batch.observations, batch.actions)
            critic_loss = losses.twin_critic_loss(current_q, targets)
            gradient_step(critic_loss, self.critic.optimizer, self.critic.flat_parameters)
            # 3. actor through the updated critics (their weights get no gradient from this loss)
            q_values_pi = self.critic.q_values(batch.observations, actions_pi, detach_params=True)
            actor_loss = losses.sac_actor_loss(q_values_pi, log_prob, ent_coef)
            gradient_step(actor_loss, self.actor.optimizer, self.actor.flat_parameters)
            # 4. slowly track the critics with the target critics
            if (self._n_updates + step + 1) % self.target_update_interval == 0:
                self._update_target_net(self.tau)
            stats.append(
                torch.stack([actor_loss.detach(), critic_loss.detach(), ent_coef.reshape(()), ent_coef_loss.detach()])
            )
        self._n_updates += gradient_steps
        self._log_train_stats(stats)

    def _log_train_stats(self, stats: list[torch.Tensor]) -> None:
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        if not stats:
            return
        actor_loss, critic_loss, ent_coef, ent_coef_loss = torch.stack(stats).mean(dim=0).tolist()
        self.logger.record("train/ent_coef", ent_coef)
        self.logger.record("train/actor_loss", actor_loss)
        self.logger.record("train/critic_loss", critic_loss)
        if self.ent_coef_optimizer is not None:
            self.logger.record("train/ent_coef_loss", ent_coef_loss)

    def learn(
        self: SelfSAC,
        total_timesteps: int,
        callback: Any = None,
        log_interval: int = 4,
        tb_log_name: str = "SAC",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfSAC:
        """Train for `total_timesteps` env steps (summed over envs)."""
        total_timesteps, callback = self._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar, log_interval
        )
        callback.on_training_start(locals(), globals())
        explore = exploring_actions(self, actor_actions(self), self.learning_starts, self.action_noise)
        # 3. (during collection) log each time another log_interval episodes have ended, as SB3 does
        log = functools.partial(dump_logs, self)
        # 1. act with the stochastic actor (uniformly at random until learning_starts), store transitions
        for round_ in off_policy_rounds(self, total_timesteps, callback, explore, log_interval, log, self.action_noise):
            # 2. from replayed transitions: soft TD targets, then entropy coefficient, critics and actor updates
            if round_.gradient_steps > 0:
                self.train(round_.gradient_steps, self.batch_size)
        callback.on_training_end()
        return self

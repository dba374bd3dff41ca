"""Soft Actor-Critic (Haarnoja et al., 2018), with twin critics and automatic entropy tuning.

learn(): repeat { act with the stochastic policy for train_freq steps, storing transitions -> gradient_steps
updates, each: (entropy coefficient) -> critics towards r + gamma * (min_i Q_target_i(s', a') - alpha log pi(a'|s'))
-> actor to maximize min_i Q_i(s, a) - alpha log pi(a|s) -> Polyak-average the target critics -> log }.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common import losses
from baselines3.common.base_class import BaseAlgorithm
from baselines3.common.buffers import ReplayBuffer
from baselines3.common.config import Schedule, replay_buffer_arguments
from baselines3.common.fast import compiled
from baselines3.common.fast.optim import gradient_step, make_optimizer
from baselines3.common.noise import ActionNoise
from baselines3.common.off_policy.critics import regress_critics
from baselines3.common.off_policy.learn import learn_off_policy
from baselines3.common.off_policy.rounds import build_replay_buffer
from baselines3.common.policies import BasePolicy, TargetUpdate
from baselines3.sac.config import SACConfig
from baselines3.sac.policies import CnnPolicy, MlpPolicy, MultiInputPolicy, SACPolicy

SelfSAC = TypeVar("SelfSAC", bound="SAC")


class SAC(BaseAlgorithm):
    """SAC with SB3's hyperparameter names and defaults; each is documented in `SACConfig` (`model.config`).

    `policy` is a policy class or "MlpPolicy", "CnnPolicy" (images) or "MultiInputPolicy" (Dict observations);
    `env` a gymnasium env, a VecEnv or an env id (None when loading); `device` "cpu", "cuda" or "auto".
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    supported_action_spaces = (spaces.Box,)
    policy: SACPolicy
    config: SACConfig

    def __init__(
        self,
        policy: str | type[SACPolicy],
        env: Any,
        learning_rate: float | Schedule = 3e-4,
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
        *,
        precision: str = "fp32",
    ) -> None:
        super().__init__(policy, env, SACConfig.from_arguments(locals()), device=device, support_multi_env=True)
        self.replay_buffer: ReplayBuffer | None = None
        self.log_ent_coef: torch.Tensor | None = None
        self.ent_coef_optimizer: torch.optim.Optimizer | None = None
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        config = self.config
        self._setup_lr_schedule()
        self.set_random_seed(config.seed)
        self.policy = self.policy_class(  # type: ignore[assignment]
            self.observation_space, self.action_space, self.lr_schedule, use_sde=self.use_sde, **self.policy_kwargs
        ).to(self.device)
        self.actor, self.critic, self.critic_target = self.policy.actor, self.policy.critic, self.policy.critic_target
        self._update_target_net = TargetUpdate(self.critic, self.critic_target)
        self._train_freq = config.train_frequency
        self.replay_buffer = build_replay_buffer(self, *replay_buffer_arguments(config))
        # heuristic target: -dim(A), one nat of entropy less per action dimension
        action_dim = int(np.prod(self.action_space.shape))  # type: ignore[arg-type]
        target = config.target_entropy
        self._target_entropy = -float(action_dim) if target == "auto" else float(target)
        if config.learns_ent_coef:  # log alpha is optimized
            log_ent_coef = torch.nn.Parameter(torch.full((1,), config.initial_ent_coef, device=self.device).log())
            self.ent_coef_optimizer, self._ent_coef_flat = make_optimizer(
                [log_ent_coef], torch.optim.Adam, self.lr_schedule(1), {}
            )
            self.log_ent_coef = self._ent_coef_flat.params[0]
        else:
            self.ent_coef_tensor = torch.tensor(config.initial_ent_coef, device=self.device)

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
            update_target = (self._n_updates + step + 1) % self.config.target_update_interval == 0
            # the whole step below as one compiled program, where the speed seam compiles it (opt-in)
            compiled_step = compiled.sac_update(self)
            step_stats = compiled_step(batch, update_target) if compiled_step is not None else None
            if step_stats is not None:
                stats.append(step_stats)
                continue
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
                targets = losses.td_target(batch.rewards, batch.dones, next_values, self.config.gamma, batch.discounts)
            critic_loss = regress_critics(self.critic, batch.observations, batch.actions, targets)
            # 3. actor through the updated critics (their weights get no gradient from this loss)
            q_values_pi = self.critic.q_values(batch.observations, actions_pi, detach_params=True)
            actor_loss = losses.sac_actor_loss(q_values_pi, log_prob, ent_coef)
            gradient_step(actor_loss, self.actor.optimizer, self.actor.flat_parameters)
            # 4. slowly track the critics with the target critics
            if update_target:
                self._update_target_net(self.config.tau)
            stats.append(torch.stack([actor_loss.detach(), critic_loss, ent_coef.reshape(()), ent_coef_loss.detach()]))
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
        # 1. act with the stochastic actor (uniformly at random until learning_starts), store transitions;
        # 2. after each round, train(): soft TD targets, entropy coefficient, critics and actor updates;
        # 3. log each time another log_interval episodes have ended, as SB3 does
        return learn_off_policy(
            self, self.train, total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar
        )

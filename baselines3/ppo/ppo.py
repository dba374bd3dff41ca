"""Proximal Policy Optimization (Schulman et al., 2017), clipped-surrogate variant.

learn(): repeat { collect n_steps x n_envs transitions -> GAE advantages -> n_epochs of minibatch updates
of the clipped surrogate + value loss - entropy bonus -> log }.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar, cast

import torch

from baselines3.common import losses
from baselines3.common.base_class import BaseAlgorithm
from baselines3.common.buffers import RolloutBuffer
from baselines3.common.config import Schedule, rollout_buffer_arguments
from baselines3.common.fast.optim import gradient_step
from baselines3.common.on_policy.learn import learn_on_policy
from baselines3.common.on_policy.rollouts import (
    POLICY_ALIASES,
    build_policy_and_buffer,
    check_minibatches,
    record_value_fit,
)
from baselines3.common.on_policy.rollouts import collect_rollouts as collect_with_runner
from baselines3.common.policies import ActorCriticPolicy, BasePolicy
from baselines3.common.schedules import get_schedule_fn
from baselines3.ppo.config import PPOConfig

SelfPPO = TypeVar("SelfPPO", bound="PPO")


class PPO(BaseAlgorithm):
    """PPO with SB3's hyperparameter names and defaults; each is documented in `PPOConfig` (`model.config`).

    `policy` is a policy class or "MlpPolicy", "CnnPolicy", "MultiInputPolicy" or an LSTM policy
    ("MlpLstmPolicy", ...); `env` a gymnasium env, a VecEnv or an env id (None when loading); `device` "cpu",
    "cuda" or "auto".
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = dict(POLICY_ALIASES)
    supports_recurrent_policies = True
    config: PPOConfig

    def __init__(
        self,
        policy: str | type[ActorCriticPolicy],
        env: Any,
        learning_rate: float | Schedule = 3e-4,
        n_steps: int = 2048,
        batch_size: int = 64,
        n_epochs: int = 10,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_range: float | Schedule = 0.2,
        clip_range_vf: float | Schedule | None = None,
        normalize_advantage: bool = True,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        rollout_buffer_class: type[RolloutBuffer] | None = None,
        rollout_buffer_kwargs: dict[str, Any] | None = None,
        target_kl: float | None = None,
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
        super().__init__(policy, env, PPOConfig.from_arguments(locals()), device=device, support_multi_env=True)
        if self.env is not None and _init_setup_model:  # a saved model may be loaded with fewer envs to run it
            check_minibatches(n_steps, self.env.num_envs, batch_size, normalize_advantage)
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        config = self.config
        self._setup_lr_schedule()
        self.set_random_seed(config.seed)
        self.rollout_buffer = build_policy_and_buffer(self, *rollout_buffer_arguments(config))
        # SB3 keeps the schedules in these attributes (code that reads model.clip_range calls it)
        self.clip_range = get_schedule_fn(config.clip_range)
        if config.clip_range_vf is not None:
            self.clip_range_vf = get_schedule_fn(config.clip_range_vf)

    def train(self) -> None:
        """n_epochs passes over the rollout in minibatches, each a gradient step on the PPO loss."""
        policy = cast(ActorCriticPolicy, self.policy)
        policy.set_training_mode(True)
        self._update_learning_rate(policy.optimizer)
        progress = self._current_progress_remaining
        clip_range = get_schedule_fn(self.clip_range)(progress)
        clip_range_vf = None if self.clip_range_vf is None else get_schedule_fn(self.clip_range_vf)(progress)
        # statistics stay tensors until the end of train(): no device->host sync per minibatch
        loss_terms: list[torch.Tensor] = []
        log_ratios: list[torch.Tensor] = []
        masks: list[torch.Tensor] = []
        normalized: tuple[torch.Tensor | None, torch.Tensor | None] = (None, None)
        continue_training = True
        for epoch in range(self.n_epochs):
            for batch in self.rollout_buffer.get(self.batch_size):
                values, log_prob, entropy = policy.evaluate_batch(batch)
                advantages = batch.advantages
                if self.normalize_advantage and advantages.numel() > 1:
                    # an unshuffled whole-rollout batch is the same tensor every epoch: normalize it once
                    if normalized[0] is not advantages:
                        normalized = (advantages, losses.normalize_advantages(advantages, batch.mask))
                    advantages = normalized[1]  # type: ignore[assignment]
                pg_loss = losses.ppo_clipped_surrogate_loss(
                    advantages, log_prob, batch.old_log_prob, clip_range, batch.mask
                )
                vf_loss = losses.value_loss(values, batch.returns, batch.old_values, clip_range_vf, batch.mask)
                loss, ent_loss = losses.actor_critic_loss(
                    pg_loss, vf_loss, entropy, log_prob, self.ent_coef, self.vf_coef, batch.mask
                )
                log_ratio = (log_prob - batch.old_log_prob).detach()
                # stop before the step that would push the policy too far from the one that collected the data
                if self.target_kl is not None:
                    approx_kl = losses.approx_kl_divergence(log_ratio, batch.mask).item()
                    if approx_kl > 1.5 * self.target_kl:
                        continue_training = False
                        if self.verbose >= 1:
                            print(f"Early stopping at epoch {epoch} with approx_kl {approx_kl:.4f}")
                        break
                gradient_step(loss, policy.optimizer, policy.flat_parameters, self.max_grad_norm)
                loss_terms.append(torch.stack([pg_loss, vf_loss, ent_loss, loss]).detach())
                log_ratios.append(log_ratio)
                if batch.mask is not None:
                    masks.append(batch.mask)
            self._n_updates += 1
            if not continue_training:
                break
        self._log_train_stats(loss_terms, log_ratios, masks, clip_range, clip_range_vf)

    def _log_train_stats(
        self,
        loss_terms: list[torch.Tensor],
        log_ratios: list[torch.Tensor],
        masks: list[torch.Tensor],
        clip_range: float,
        clip_range_vf: float | None,
    ) -> None:
        record = self.logger.record
        if loss_terms:
            pg, vf, ent, total = torch.stack(loss_terms).mean(dim=0).tolist()
            log_ratio = torch.cat(log_ratios)
            mask = torch.cat(masks) if masks else None
            record("train/entropy_loss", ent)
            record("train/policy_gradient_loss", pg)
            record("train/value_loss", vf)
            record("train/approx_kl", losses.approx_kl_divergence(log_ratio, mask).item())
            record("train/clip_fraction", losses.clip_fraction(log_ratio, clip_range, mask).item())
            record("train/loss", total)
        record_value_fit(self.logger, cast(ActorCriticPolicy, self.policy), self.rollout_buffer)
        record("train/n_updates", self._n_updates, exclude="tensorboard")
        record("train/clip_range", clip_range)
        if clip_range_vf is not None:
            record("train/clip_range_vf", clip_range_vf)

    collect_rollouts = collect_with_runner  # SB3's method (learn() calls it; a subclass may override it)

    def learn(
        self: SelfPPO,
        total_timesteps: int,
        callback: Any = None,
        log_interval: int = 1,
        tb_log_name: str = "PPO",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfPPO:
        """Train for `total_timesteps` env steps (summed over envs)."""
        # 1. collect n_steps per env (returns and advantages are computed at the end of the rollout);
        # 2. train(): n_epochs of minibatch updates of the clipped surrogate + value loss - entropy bonus;
        # 3. every log_interval iterations, log
        return learn_on_policy(
            self, self.train, total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar
        )

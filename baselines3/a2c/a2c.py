"""Advantage Actor-Critic (Mnih et al., 2016), synchronous version.

learn(): repeat { collect n_steps x n_envs transitions -> n-step / GAE advantages -> one gradient step on
policy-gradient loss + value loss - entropy bonus -> log }.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar, cast

import torch

from baselines3.a2c.config import A2CConfig
from baselines3.common import losses
from baselines3.common.base_class import BaseAlgorithm
from baselines3.common.buffers import RolloutBuffer
from baselines3.common.config import Schedule, rollout_buffer_arguments
from baselines3.common.fast.optim import gradient_step
from baselines3.common.on_policy.learn import learn_on_policy
from baselines3.common.on_policy.rollouts import POLICY_ALIASES, build_policy_and_buffer, record_value_fit
from baselines3.common.on_policy.rollouts import collect_rollouts as collect_with_runner
from baselines3.common.policies import ActorCriticPolicy, BasePolicy

SelfA2C = TypeVar("SelfA2C", bound="A2C")


class A2C(BaseAlgorithm):
    """A2C with SB3's hyperparameter names and defaults; each is documented in `A2CConfig` (`model.config`).

    `policy` is a policy class or "MlpPolicy", "CnnPolicy", "MultiInputPolicy" or an LSTM policy
    ("MlpLstmPolicy", ...); `env` a gymnasium env, a VecEnv or an env id (None when loading); `device` "cpu",
    "cuda" or "auto".
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = dict(POLICY_ALIASES)
    supports_recurrent_policies = True
    config: A2CConfig

    def __init__(
        self,
        policy: str | type[ActorCriticPolicy],
        env: Any,
        learning_rate: float | Schedule = 7e-4,
        n_steps: int = 5,
        gamma: float = 0.99,
        gae_lambda: float = 1.0,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        rms_prop_eps: float = 1e-5,
        use_rms_prop: bool = True,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        rollout_buffer_class: type[RolloutBuffer] | None = None,
        rollout_buffer_kwargs: dict[str, Any] | None = None,
        normalize_advantage: bool = False,
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
        super().__init__(policy, env, A2CConfig.from_arguments(locals()), device=device, support_multi_env=True)
        if use_rms_prop and "optimizer_class" not in self.policy_kwargs:
            # the A2C paper's optimizer; alpha=0.99 with a larger epsilon, as in the reference implementation
            self.policy_kwargs["optimizer_class"] = torch.optim.RMSprop
            self.policy_kwargs["optimizer_kwargs"] = dict(alpha=0.99, eps=rms_prop_eps, weight_decay=0)
        if _init_setup_model:
            self._setup_model()

    def _hyperparameters(self) -> dict[str, Any]:
        data = super()._hyperparameters()
        if self.use_rms_prop:
            # the RMSprop settings are derived from use_rms_prop/rms_prop_eps, not chosen by the user
            kwargs = dict(data.get("policy_kwargs") or {})
            if kwargs.get("optimizer_class") is torch.optim.RMSprop:
                kwargs.pop("optimizer_class")
                kwargs.pop("optimizer_kwargs", None)
            data["policy_kwargs"] = kwargs
        return data

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.config.seed)
        self.rollout_buffer = build_policy_and_buffer(self, *rollout_buffer_arguments(self.config))

    def train(self) -> None:
        """One gradient step on the whole rollout."""
        policy = cast(ActorCriticPolicy, self.policy)
        policy.set_training_mode(True)
        self._update_learning_rate(policy.optimizer)
        for batch in self.rollout_buffer.get(batch_size=None):
            values, log_prob, entropy = policy.evaluate_batch(batch)
            advantages = batch.advantages
            if self.normalize_advantage:
                advantages = losses.normalize_advantages(advantages, batch.mask)
            pg_loss = losses.policy_gradient_loss(advantages, log_prob, batch.mask)
            vf_loss = losses.value_loss(values, batch.returns, mask=batch.mask)
            loss, ent_loss = losses.actor_critic_loss(
                pg_loss, vf_loss, entropy, log_prob, self.ent_coef, self.vf_coef, batch.mask
            )
            gradient_step(loss, policy.optimizer, policy.flat_parameters, self.max_grad_norm)
        self._n_updates += 1
        self._pending_stats = (pg_loss.detach(), vf_loss.detach(), ent_loss.detach())

    def _log_train_stats(self) -> None:
        pg_loss, vf_loss, ent_loss = (float(t) for t in self._pending_stats)
        record = self.logger.record
        record("train/n_updates", self._n_updates, exclude="tensorboard")
        record_value_fit(self.logger, cast(ActorCriticPolicy, self.policy), self.rollout_buffer)
        record("train/entropy_loss", ent_loss)
        record("train/policy_loss", pg_loss)
        record("train/value_loss", vf_loss)

    collect_rollouts = collect_with_runner  # SB3's method (learn() calls it; a subclass may override it)

    def learn(
        self: SelfA2C,
        total_timesteps: int,
        callback: Any = None,
        log_interval: int = 100,
        tb_log_name: str = "A2C",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfA2C:
        """Train for `total_timesteps` env steps (summed over envs)."""
        # 1. collect n_steps per env (returns and advantages are computed at the end of the rollout);
        # 2. train(): one gradient step on the whole rollout;
        # 3. every log_interval iterations, log (statistics are read back from tensors only then)
        return learn_on_policy(
            self, self.train, total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar,
            record_train_stats=self._log_train_stats,
        )  # fmt: skip

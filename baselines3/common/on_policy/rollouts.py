"""Pieces that A2C and PPO call: the policy names they accept and the policy/buffer setup (the rollout collector
is `baselines3.common.env_runner.EnvRunner.rollout`)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Protocol, cast

import torch
from gymnasium import spaces

from baselines3.common.buffers import RolloutBuffer, default_rollout_buffer_class
from baselines3.common.finite import check_finite_update, training_parameters
from baselines3.common.policies import (
    ActorCriticCnnPolicy,
    ActorCriticPolicy,
    BasePolicy,
    MultiInputActorCriticPolicy,
)
from baselines3.common.recurrent_policies import (
    RecurrentActorCriticCnnPolicy,
    RecurrentActorCriticPolicy,
    RecurrentMultiInputActorCriticPolicy,
)
from baselines3.common.utils import explained_variance

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm
    from baselines3.common.callbacks import BaseCallback
    from baselines3.common.env_runner import EnvRunner
    from baselines3.common.logger import Logger
    from baselines3.common.vec_env import VecEnv


class OnPolicyModel(Protocol):
    """What `collect_rollouts` reads from A2C and PPO."""

    @property
    def env(self) -> VecEnv | None: ...
    @property
    def runner(self) -> EnvRunner: ...
    @property
    def policy(self) -> BasePolicy: ...
    @property
    def gamma(self) -> float: ...
    @property
    def use_sde(self) -> bool: ...
    @property
    def sde_sample_freq(self) -> int: ...


def collect_rollouts(
    self: OnPolicyModel, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer, n_rollout_steps: int
) -> bool:
    """Fill `rollout_buffer` with `n_rollout_steps` steps of every env of `env` and compute its advantages: SB3's
    method of A2C and PPO (each sets it as `collect_rollouts`; learn() calls it, so a subclass may override it).
    False when a callback stopped training.

    The previous update is first checked to have kept the losses and parameters finite (`baselines3.common.finite`,
    once per update): a NaN or inf raises `NonFiniteTrainingError` before more data is collected with it."""
    if env is not self.env:
        raise ValueError("collect_rollouts steps the model's own env: call model.set_env(env) first")
    check_finite_update(training_parameters(self), self, rollout_buffer)
    policy = cast(ActorCriticPolicy, self.policy)
    return self.runner.rollout(
        policy, rollout_buffer, n_rollout_steps, callback, self.gamma, self.use_sde, self.sde_sample_freq
    )


#: The policy names A2C and PPO accept: SB3's three, and sb3-contrib's recurrent (LSTM) ones
POLICY_ALIASES: dict[str, type[BasePolicy]] = {
    "MlpPolicy": ActorCriticPolicy,
    "CnnPolicy": ActorCriticCnnPolicy,
    "MultiInputPolicy": MultiInputActorCriticPolicy,
    "MlpLstmPolicy": RecurrentActorCriticPolicy,
    "CnnLstmPolicy": RecurrentActorCriticCnnPolicy,
    "MultiInputLstmPolicy": RecurrentMultiInputActorCriticPolicy,
}


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
    model.policy = model.policy_class(
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


def check_minibatches(n_steps: int, n_envs: int, batch_size: int, normalize_advantage: bool) -> None:
    """Refuse a rollout too small to normalize advantages; warn when minibatches of `batch_size` do not tile the
    rollout of `n_steps * n_envs` transitions (SB3 accepts both: published RL Zoo entries rely on it)."""
    rollout_size = n_steps * n_envs
    if rollout_size < 2 and normalize_advantage:
        raise ValueError(f"n_steps * n_envs must be > 1 to normalize advantages, got {rollout_size}")
    if batch_size > rollout_size:
        warnings.warn(
            f"batch_size={batch_size} is larger than the rollout n_steps * n_envs = {n_steps} * {n_envs} = "
            f"{rollout_size}: each epoch is one minibatch of the whole rollout",
            stacklevel=3,
        )
    elif rollout_size % batch_size != 0:
        warnings.warn(
            f"batch_size={batch_size} does not divide the rollout n_steps * n_envs = {rollout_size}: the last "
            f"minibatch of each epoch holds only {rollout_size % batch_size} samples. A divisor of {rollout_size} "
            "avoids that.",
            stacklevel=3,
        )


def record_value_fit(logger: Logger, policy: ActorCriticPolicy, rollout_buffer: RolloutBuffer) -> None:
    """How well the value head explains the rollout's returns, and the action std of a Gaussian policy. Called at
    the end of each update, it also checks that the update kept the losses and parameters finite."""
    check_finite_update(training_parameters(policy), policy, rollout_buffer)
    values, returns = rollout_buffer.values.flatten(), rollout_buffer.returns.flatten()
    logger.record("train/explained_variance", explained_variance(values, returns))
    if isinstance(policy.action_space, spaces.Box) and hasattr(policy, "log_std"):
        logger.record("train/std", float(torch.exp(policy.log_std.detach()).mean()))

"""Pieces that A2C and PPO call: the policy names they accept and the policy/buffer setup (the rollout collector
is `baselines3.common.env_runner.EnvRunner.rollout`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from baselines3.common.buffers import RolloutBuffer, default_rollout_buffer_class
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

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm

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

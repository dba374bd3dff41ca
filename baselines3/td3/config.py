"""TD3's hyperparameters (SB3's names and defaults)."""

from __future__ import annotations

import dataclasses

from baselines3.common.config import ActorCriticOffPolicyConfig, Schedule

__all__ = ["TD3Config"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class TD3Config(ActorCriticOffPolicyConfig):
    """Twin Delayed DDPG's settings: the off-policy ones, plus the delayed actor and target policy smoothing."""

    learning_rate: float | Schedule = 1e-3
    """Adam's step size for actor and critics, or a schedule of the remaining progress (1 -> 0)."""
    policy_delay: int = 2
    """Critic updates per actor and target update."""
    target_policy_noise: float = 0.2
    """Std of the Gaussian noise added to the target actor's actions (target policy smoothing); 0: none."""
    target_noise_clip: float = 0.5
    """The smoothing noise is clipped to [-target_noise_clip, target_noise_clip]."""

"""PPO's hyperparameters (SB3's names and defaults); RecurrentPPO's config is a PPOConfig too."""

from __future__ import annotations

import dataclasses

from baselines3.common.config import OnPolicyConfig, Schedule

__all__ = ["PPOConfig"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PPOConfig(OnPolicyConfig):
    """Proximal Policy Optimization's settings: the on-policy ones, plus minibatches, epochs and clipping."""

    batch_size: int = 64
    """Minibatch size, in transitions."""
    n_epochs: int = 10
    """Passes over each rollout."""
    clip_range: float | Schedule = 0.2
    """How far the probability ratio may move from 1 before the surrogate stops rewarding it (or a schedule)."""
    clip_range_vf: float | Schedule | None = None
    """Clip the value prediction to this distance from the old one (or a schedule); None: no value clipping.
    In the units of the returns, so it depends on the reward scale."""
    target_kl: float | None = None
    """Stop the epochs of an update early when the approximate KL divergence exceeds 1.5 times this; None: never."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.normalize_advantage and self.batch_size < 2:
            raise ValueError(f"batch_size must be > 1 with normalize_advantage=True, got {self.batch_size}")

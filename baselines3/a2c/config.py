"""A2C's hyperparameters (SB3's names and defaults)."""

from __future__ import annotations

import dataclasses

from baselines3.common.config import OnPolicyConfig, Schedule

__all__ = ["A2CConfig"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class A2CConfig(OnPolicyConfig):
    """Advantage Actor-Critic's settings: the on-policy ones with A2C's defaults, plus its RMSprop optimizer."""

    learning_rate: float | Schedule = 7e-4
    """Optimizer step size, or a schedule of the remaining progress (1 -> 0)."""
    n_steps: int = 5
    """Env steps per env in each rollout; one gradient step per rollout."""
    gae_lambda: float = 1.0
    """GAE's trade-off; 1 (the default) gives the classic n-step advantages."""
    normalize_advantage: bool = False
    """Normalize each rollout's advantages to zero mean and unit variance."""
    rms_prop_eps: float = 1e-5
    """RMSprop's epsilon (larger than torch's default, as in the A2C paper's implementation)."""
    use_rms_prop: bool = True
    """Optimize with RMSprop (alpha 0.99), as the paper; False uses the policy's optimizer (Adam)."""

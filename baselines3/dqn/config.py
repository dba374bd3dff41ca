"""DQN's hyperparameters (SB3's names and defaults)."""

from __future__ import annotations

import dataclasses

from baselines3.common.config import OffPolicyConfig, Schedule

__all__ = ["DQNConfig"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DQNConfig(OffPolicyConfig):
    """Deep Q-Network's settings: the off-policy ones with DQN's defaults, plus epsilon-greedy exploration."""

    learning_rate: float | Schedule = 1e-4
    """Adam's step size, or a schedule of the remaining progress (1 -> 0)."""
    batch_size: int = 32
    """Transitions per gradient step."""
    tau: float = 1.0
    """Polyak coefficient of the target network update (1: a hard copy every target_update_interval steps)."""
    train_freq: int | tuple[int, str] = 4
    """Env steps between update phases (an int), or ``(n, "step")`` / ``(n, "episode")``."""
    double_q: bool = False
    """Double DQN: the online network picks the next action, the target network values it (not in SB3)."""
    target_update_interval: int = 10_000
    """Env steps between target network updates."""
    exploration_fraction: float = 0.1
    """Fraction of the training run over which epsilon falls from its initial to its final value."""
    exploration_initial_eps: float = 1.0
    """Probability of a random action at the start."""
    exploration_final_eps: float = 0.05
    """Probability of a random action at the end of the fall, and after."""
    max_grad_norm: float = 10
    """Gradients are rescaled to at most this global norm."""

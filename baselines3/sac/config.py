"""SAC's hyperparameters (SB3's names and defaults)."""

from __future__ import annotations

import dataclasses

from baselines3.common.config import ActorCriticOffPolicyConfig

__all__ = ["SACConfig"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SACConfig(ActorCriticOffPolicyConfig):
    """Soft Actor-Critic's settings: the off-policy ones, plus the entropy coefficient and gSDE."""

    ent_coef: str | float = "auto"
    """Entropy coefficient alpha: a number keeps it fixed; "auto" learns it (from 1), "auto_0.1" from 0.1."""
    target_update_interval: int = 1
    """Gradient steps between target-critic updates."""
    target_entropy: str | float = "auto"
    """The entropy alpha is tuned towards; "auto" is -dim(actions)."""
    use_sde: bool = False
    """Generalized State-Dependent Exploration instead of independent Gaussian noise."""
    sde_sample_freq: int = -1
    """With gSDE, draw new noise weights every this many steps; -1: only at the start of a rollout."""
    use_sde_at_warmup: bool = False
    """With gSDE, explore with it (rather than uniformly at random) before learning starts."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.ent_coef, str):
            if self.ent_coef != "auto" and not self.ent_coef.startswith("auto_"):
                raise ValueError(f"ent_coef must be a float, 'auto' or 'auto_<initial value>', got {self.ent_coef!r}")
            if self.initial_ent_coef <= 0:
                raise ValueError(f"The initial entropy coefficient must be > 0, got {self.ent_coef!r}")
        elif float(self.ent_coef) < 0:
            raise ValueError(f"ent_coef must be >= 0, got {self.ent_coef}")

    @property
    def learns_ent_coef(self) -> bool:
        """Whether alpha is learned ("auto..."), rather than fixed."""
        return isinstance(self.ent_coef, str)

    @property
    def initial_ent_coef(self) -> float:
        """alpha at the start: the number given, or the one after "auto_" (1 for "auto")."""
        if not isinstance(self.ent_coef, str):
            return float(self.ent_coef)
        try:
            return float(self.ent_coef.split("_", 1)[1]) if "_" in self.ent_coef else 1.0
        except ValueError:
            raise ValueError(f"ent_coef {self.ent_coef!r}: expected 'auto_<number>', e.g. 'auto_0.1'") from None

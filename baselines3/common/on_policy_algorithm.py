"""`OnPolicyAlgorithm`, for `isinstance(model, OnPolicyAlgorithm)` checks written for Stable-Baselines3.

Here each algorithm owns its learn loop (see `baselines3.common.on_policy` for the pieces A2C and PPO call), so
this is not a base class to build an algorithm on: A2C and PPO are registered as its virtual subclasses, and
subclassing it is an error that says what to do instead."""

from __future__ import annotations

from abc import ABC
from typing import Any

from baselines3.a2c import A2C
from baselines3.ppo import PPO


class OnPolicyAlgorithm(ABC):  # noqa: B024 (a marker: nothing to implement)
    """A2C and PPO (virtual subclasses)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError(
            f"{cls.__name__}: baselines3 has no OnPolicyAlgorithm template to subclass (each algorithm owns its "
            "learn loop); subclass A2C or PPO, or BaseAlgorithm with its runner "
            "(baselines3.common.env_runner) and the pieces in baselines3.common.on_policy"
        )


OnPolicyAlgorithm.register(A2C)
OnPolicyAlgorithm.register(PPO)

__all__ = ["OnPolicyAlgorithm"]

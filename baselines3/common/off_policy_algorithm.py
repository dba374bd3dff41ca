"""`OffPolicyAlgorithm`, for `isinstance(model, OffPolicyAlgorithm)` checks written for Stable-Baselines3 (e.g.
"does this model have a replay buffer to save?").

Here each algorithm owns its learn loop (see `baselines3.common.off_policy` for the pieces DQN, SAC and TD3
call), so this is not a base class to build an algorithm on: DQN, SAC and TD3 are registered as its virtual
subclasses, and subclassing it is an error that says what to do instead."""

from __future__ import annotations

from abc import ABC
from typing import Any

from baselines3.dqn import DQN
from baselines3.sac import SAC
from baselines3.td3 import TD3


class OffPolicyAlgorithm(ABC):  # noqa: B024 (a marker: nothing to implement)
    """DQN, SAC and TD3 (virtual subclasses)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError(
            f"{cls.__name__}: baselines3 has no OffPolicyAlgorithm template to subclass (each algorithm owns its "
            "learn loop); subclass DQN, SAC or TD3, or BaseAlgorithm with its runner "
            "(baselines3.common.env_runner) and the pieces in baselines3.common.off_policy"
        )


for _algorithm in (DQN, SAC, TD3):
    OffPolicyAlgorithm.register(_algorithm)

__all__ = ["OffPolicyAlgorithm"]

"""baselines3: fast, safe-to-load reinforcement learning algorithms with Stable-Baselines3's API."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from baselines3.a2c import A2C
    from baselines3.common.utils import get_system_info
    from baselines3.ddpg import DDPG
    from baselines3.dqn import DQN
    from baselines3.her import HerReplayBuffer
    from baselines3.ppo import PPO, RecurrentPPO
    from baselines3.sac import SAC
    from baselines3.td3 import TD3

# Algorithms are imported on first use, so processes that need only the env tools (e.g. subprocess env
# workers, which import this package when unpickling their env) do not pay for importing torch.
_ALGORITHMS = {
    "A2C": "baselines3.a2c",
    "DDPG": "baselines3.ddpg",
    "DQN": "baselines3.dqn",
    "HerReplayBuffer": "baselines3.her",
    "PPO": "baselines3.ppo",
    "RecurrentPPO": "baselines3.ppo",
    "SAC": "baselines3.sac",
    "TD3": "baselines3.td3",
    "get_system_info": "baselines3.common.utils",  # SB3 exports it at the top level too
}

__all__ = [
    "A2C",
    "DDPG",
    "DQN",
    "PPO",
    "SAC",
    "TD3",
    "HerReplayBuffer",
    "RecurrentPPO",
    "__version__",
    "get_system_info",
]


def __getattr__(name: str) -> Any:
    if name in _ALGORITHMS:
        return getattr(importlib.import_module(_ALGORITHMS[name]), name)
    raise AttributeError(f"module 'baselines3' has no attribute {name!r}")

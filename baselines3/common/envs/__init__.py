"""Small probe environments: each isolates one capability so a learning test runs in seconds.

The submodules follow Stable-Baselines3's layout (``bit_flipping_env``, ``identity_env``, ``multi_input_envs``).
"""

from baselines3.common.envs.bit_flipping_env import BitFlippingEnv
from baselines3.common.envs.identity_env import (
    FakeImageEnv,
    IdentityEnv,
    IdentityEnvBox,
    IdentityEnvMultiBinary,
    IdentityEnvMultiDiscrete,
)
from baselines3.common.envs.multi_input_envs import SimpleMultiObsEnv

__all__ = [
    "BitFlippingEnv",
    "FakeImageEnv",
    "IdentityEnv",
    "IdentityEnvBox",
    "IdentityEnvMultiBinary",
    "IdentityEnvMultiDiscrete",
    "SimpleMultiObsEnv",
]

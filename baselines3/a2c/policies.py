"""The policy classes A2C accepts by name: the same as PPO's."""

from baselines3.ppo.policies import (
    CnnLstmPolicy,
    CnnPolicy,
    MlpLstmPolicy,
    MlpPolicy,
    MultiInputLstmPolicy,
    MultiInputPolicy,
)

__all__ = ["CnnLstmPolicy", "CnnPolicy", "MlpLstmPolicy", "MlpPolicy", "MultiInputLstmPolicy", "MultiInputPolicy"]

from baselines3.ppo.policies import (
    CnnLstmPolicy,
    CnnPolicy,
    MlpLstmPolicy,
    MlpPolicy,
    MultiInputLstmPolicy,
    MultiInputPolicy,
)
from baselines3.ppo.ppo import PPO
from baselines3.ppo.recurrent_ppo import RecurrentPPO

__all__ = [
    "PPO",
    "CnnLstmPolicy",
    "CnnPolicy",
    "MlpLstmPolicy",
    "MlpPolicy",
    "MultiInputLstmPolicy",
    "MultiInputPolicy",
    "RecurrentPPO",
]

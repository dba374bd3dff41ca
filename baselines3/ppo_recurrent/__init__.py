"""sb3-contrib's module path for RecurrentPPO (`sb3_contrib.ppo_recurrent`), kept for code written against it."""

from baselines3.ppo import CnnLstmPolicy, MlpLstmPolicy, MultiInputLstmPolicy, RecurrentPPO

__all__ = ["CnnLstmPolicy", "MlpLstmPolicy", "MultiInputLstmPolicy", "RecurrentPPO"]

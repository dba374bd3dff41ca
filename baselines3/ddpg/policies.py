"""DDPG uses TD3's policies (a deterministic tanh actor and Q-critics with target copies), with one critic."""

from baselines3.td3.policies import CnnPolicy, MlpPolicy, MultiInputPolicy, TD3Policy

__all__ = ["CnnPolicy", "MlpPolicy", "MultiInputPolicy", "TD3Policy"]

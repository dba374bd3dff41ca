from baselines3.ppo.ppo import PPO

__all__ = ["PPO"]

"""The policy classes PPO and A2C accept by name, importable under those names (SB3's module path)."""

from baselines3.common.on_policy.rollouts import POLICY_ALIASES as ON_POLICY_ALIASES
from baselines3.common.policies import ActorCriticCnnPolicy, ActorCriticPolicy, MultiInputActorCriticPolicy
from baselines3.common.recurrent_policies import (
    RecurrentActorCriticCnnPolicy,
    RecurrentActorCriticPolicy,
    RecurrentMultiInputActorCriticPolicy,
)

MlpPolicy = ActorCriticPolicy
CnnPolicy = ActorCriticCnnPolicy
MultiInputPolicy = MultiInputActorCriticPolicy
MlpLstmPolicy = RecurrentActorCriticPolicy
CnnLstmPolicy = RecurrentActorCriticCnnPolicy
MultiInputLstmPolicy = RecurrentMultiInputActorCriticPolicy

#: The names PPO("MlpPolicy", ...) and A2C(...) accept
POLICY_ALIASES = ON_POLICY_ALIASES

__all__ = ["CnnLstmPolicy", "CnnPolicy", "MlpLstmPolicy", "MlpPolicy", "MultiInputLstmPolicy", "MultiInputPolicy"]

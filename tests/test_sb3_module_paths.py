"""The module paths and names that code written for Stable-Baselines3 imports exist here under `baselines3`."""

from __future__ import annotations

import importlib

import pytest

SB3_NAMES = {
    "baselines3": ["A2C", "DQN", "PPO", "SAC", "TD3", "HerReplayBuffer"],
    "baselines3.a2c": ["A2C", "MlpPolicy", "CnnPolicy", "MultiInputPolicy"],
    "baselines3.a2c.policies": ["MlpPolicy", "CnnPolicy", "MultiInputPolicy"],
    "baselines3.ppo": ["PPO", "MlpPolicy", "CnnPolicy", "MultiInputPolicy"],
    "baselines3.ppo.policies": ["MlpPolicy", "CnnPolicy", "MultiInputPolicy"],
    "baselines3.dqn": ["DQN", "MlpPolicy", "CnnPolicy", "MultiInputPolicy"],
    "baselines3.dqn.policies": ["QNetwork", "DQNPolicy", "MlpPolicy", "CnnPolicy", "MultiInputPolicy"],
    "baselines3.sac": ["SAC", "MlpPolicy", "CnnPolicy", "MultiInputPolicy"],
    "baselines3.td3": ["TD3", "MlpPolicy", "CnnPolicy", "MultiInputPolicy"],
    "baselines3.her": ["HerReplayBuffer", "GoalSelectionStrategy"],
    "baselines3.common.off_policy_algorithm": ["OffPolicyAlgorithm"],
    "baselines3.common.on_policy_algorithm": ["OnPolicyAlgorithm"],
    "baselines3.common.type_aliases": [
        "GymEnv",
        "GymObs",
        "GymStepReturn",
        "MaybeCallback",
        "PolicyPredictor",
        "ReplayBufferSamples",
        "RolloutBufferSamples",
        "RolloutReturn",
        "Schedule",
        "TensorDict",
        "TrainFreq",
        "TrainFrequencyUnit",
    ],
    "baselines3.common.base_class": ["BaseAlgorithm"],
    "baselines3.common.buffers": ["ReplayBuffer", "RolloutBuffer"],
    "baselines3.common.callbacks": [
        "BaseCallback",
        "CallbackList",
        "CheckpointCallback",
        "EvalCallback",
        "StopTrainingOnRewardThreshold",
    ],
    "baselines3.common.env_checker": ["check_env"],
    "baselines3.common.env_util": ["make_vec_env", "make_atari_env"],
    "baselines3.common.evaluation": ["evaluate_policy"],
    "baselines3.common.logger": ["configure", "Logger"],
    "baselines3.common.monitor": ["Monitor", "load_results"],
    "baselines3.common.noise": ["NormalActionNoise", "OrnsteinUhlenbeckActionNoise"],
    "baselines3.common.policies": ["ActorCriticPolicy", "BasePolicy"],
    "baselines3.common.torch_layers": ["BaseFeaturesExtractor", "FlattenExtractor", "NatureCNN", "CombinedExtractor"],
    "baselines3.common.utils": ["set_random_seed", "get_linear_fn", "explained_variance", "polyak_update"],
    "baselines3.common.vec_env": ["DummyVecEnv", "SubprocVecEnv", "VecNormalize", "VecFrameStack", "VecEnv"],
}


@pytest.mark.parametrize("module", sorted(SB3_NAMES))
def test_sb3_import_paths_exist(module):
    imported = importlib.import_module(module)
    missing = [name for name in SB3_NAMES[module] if not hasattr(imported, name)]
    assert not missing, f"{module} lacks {missing}"


def test_policy_names_are_the_classes_the_algorithms_use():
    from baselines3 import A2C, PPO
    from baselines3.a2c import MlpLstmPolicy as A2CLstm
    from baselines3.ppo import CnnPolicy, MlpLstmPolicy, MlpPolicy

    assert PPO.policy_aliases["MlpPolicy"] is MlpPolicy and PPO.policy_aliases["CnnPolicy"] is CnnPolicy
    assert PPO.policy_aliases["MlpLstmPolicy"] is MlpLstmPolicy is A2CLstm
    assert A2C.policy_aliases == PPO.policy_aliases and A2C.policy_aliases is not PPO.policy_aliases
    model = PPO(MlpPolicy, "CartPole-v1", n_steps=64, batch_size=64)  # the class itself, as SB3 allows
    assert type(model.policy) is MlpPolicy


def test_on_and_off_policy_markers_answer_isinstance_and_refuse_subclassing():
    from baselines3 import A2C, DQN, PPO, SAC, TD3
    from baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
    from baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

    assert all(issubclass(cls, OffPolicyAlgorithm) for cls in (DQN, SAC, TD3))
    assert not any(issubclass(cls, OffPolicyAlgorithm) for cls in (A2C, PPO))
    assert all(issubclass(cls, OnPolicyAlgorithm) for cls in (A2C, PPO))
    assert not any(issubclass(cls, OnPolicyAlgorithm) for cls in (DQN, SAC, TD3))
    assert isinstance(DQN("MlpPolicy", "CartPole-v1", buffer_size=100), OffPolicyAlgorithm)

    class MyDQN(DQN):  # subclassing an algorithm stays possible, and the marker follows
        pass

    assert issubclass(MyDQN, OffPolicyAlgorithm)
    with pytest.raises(TypeError, match=r"no OffPolicyAlgorithm template.*subclass DQN, SAC or TD3"):

        class MyAlgorithm(OffPolicyAlgorithm):
            pass

    with pytest.raises(TypeError, match="no OnPolicyAlgorithm template"):

        class MyOnPolicy(OnPolicyAlgorithm):
            pass

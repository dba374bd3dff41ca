"""Files saved by Stable-Baselines3 1.8.0 (gym spaces, cloudpickled schedules) load without running their
pickles, and predict what SB3 predicted. The fixtures and SB3's predictions come from
tests/data/make_sb3_1x_fixtures.py (its docstring has the commands)."""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pytest
import torch

from baselines3 import A2C, DQN, PPO, SAC, TD3
from baselines3.common.vec_env import DummyVecEnv, VecNormalize

DATA = pathlib.Path(__file__).resolve().parents[2] / "data"
EXPECTED = np.load(DATA / "sb3_1_8_expected.npz")
ALGORITHMS = {"ppo": PPO, "a2c": A2C, "dqn": DQN, "sac": SAC, "td3": TD3}


def _values(name: str, model, observations: torch.Tensor, actions: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        if name in ("ppo", "a2c"):
            return model.policy.predict_values(observations).numpy()
        if name == "dqn":
            return model.policy.q_net(observations).numpy()
        return torch.cat(model.critic(observations, torch.as_tensor(actions)), dim=1).numpy()


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_sb3_1x_model_loads_and_predicts_as_sb3_did(name):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        model = ALGORITHMS[name].load(DATA / f"sb3_1_8_{name}.zip")
    observations = EXPECTED["observations"]
    actions, _ = model.predict(observations, deterministic=True)
    np.testing.assert_array_equal(actions, EXPECTED[f"{name}_actions"])
    values = _values(name, model, torch.as_tensor(observations), EXPECTED[f"{name}_actions"])
    np.testing.assert_allclose(values, EXPECTED[f"{name}_values"], rtol=0, atol=1e-6)
    assert model.observation_space.shape == (4,)


def test_sb3_1x_vec_normalize_statistics_load():
    import gymnasium as gym

    env = DummyVecEnv([lambda: gym.make("CartPole-v1")])
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        vec_normalize = VecNormalize.load(DATA / "sb3_1_8_vec_normalize.pkl", env)
    assert vec_normalize.gamma == 0.9 and vec_normalize.clip_obs == 5.0
    np.testing.assert_allclose(
        vec_normalize.normalize_obs(EXPECTED["observations"]), EXPECTED["vec_normalize_obs"], rtol=0, atol=1e-6
    )

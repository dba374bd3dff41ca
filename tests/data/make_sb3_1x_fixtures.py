"""Writes the SB3 1.x fixtures of tests/common/serialization/test_sb3_1x_files.py: models and VecNormalize
statistics saved by Stable-Baselines3 1.8.0 (gym spaces, cloudpickled schedules), with the predictions SB3 made on fixed
observations, so the import of 1.x files is tested without SB3 1.x installed.

Made with (SB3 1.8.0 still installs beside gym 0.26, reusing the installed torch):

    python3 -m venv --system-site-packages /tmp/sb3old
    /tmp/sb3old/bin/pip install --no-deps "stable-baselines3==1.8.0" "gym==0.26.2" gym-notices
    /tmp/sb3old/bin/python tests/data/make_sb3_1x_fixtures.py
"""

from __future__ import annotations

import pathlib

import gym
import numpy as np
import stable_baselines3
import torch
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

HERE = pathlib.Path(__file__).parent
OBS_DIM = 4


class RandomWalkEnv(gym.Env):
    """Random observations in the gym 0.21 API SB3 1.x expects (reset -> obs, step -> 4-tuple)."""

    def __init__(self, continuous: bool) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (OBS_DIM,), np.float32)
        if continuous:
            self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        else:
            self.action_space = gym.spaces.Discrete(3)
        self.rng = np.random.default_rng(0)
        self.steps = 0

    def seed(self, seed=None):
        self.rng = np.random.default_rng(seed)
        return [seed]

    def reset(self):
        self.steps = 0
        return self.rng.uniform(-1, 1, OBS_DIM).astype(np.float32)

    def step(self, action):
        self.steps += 1
        obs = self.rng.uniform(-1, 1, OBS_DIM).astype(np.float32)
        reward = float(obs[0]) * (1.0 if np.ndim(action) == 0 else float(np.sum(action)))
        return obs, reward, self.steps >= 20, {}


def main() -> None:
    assert stable_baselines3.__version__.startswith("1."), stable_baselines3.__version__
    observations = np.random.default_rng(1).uniform(-1, 1, (8, OBS_DIM)).astype(np.float32)
    expected: dict[str, np.ndarray] = {"observations": observations}

    def small() -> dict:
        return dict(net_arch=[32, 32])  # a fresh dict each: SB3 1.x adds keys to the one it is given

    replay = dict(learning_starts=50, buffer_size=500)
    models = {
        "ppo": PPO("MlpPolicy", RandomWalkEnv(False), n_steps=64, batch_size=32, policy_kwargs=small(), seed=0),
        "a2c": A2C("MlpPolicy", RandomWalkEnv(False), n_steps=8, policy_kwargs=small(), seed=0),
        "dqn": DQN("MlpPolicy", RandomWalkEnv(False), **replay, policy_kwargs=small(), seed=0),
        "sac": SAC("MlpPolicy", RandomWalkEnv(True), **replay, policy_kwargs=small(), seed=0),
        "td3": TD3("MlpPolicy", RandomWalkEnv(True), **replay, policy_kwargs=small(), seed=0),
    }
    for name, model in models.items():
        model.learn(200)
        model.save(HERE / f"sb3_1_8_{name}.zip")
        expected[f"{name}_actions"] = model.predict(observations, deterministic=True)[0]
        obs_tensor = torch.as_tensor(observations)
        with torch.no_grad():
            if name in ("ppo", "a2c"):
                expected[f"{name}_values"] = model.policy.predict_values(obs_tensor).numpy()
            elif name == "dqn":
                expected[f"{name}_values"] = model.policy.q_net(obs_tensor).numpy()
            else:
                actions = torch.as_tensor(expected[f"{name}_actions"])
                expected[f"{name}_values"] = torch.cat(model.critic(obs_tensor, actions), dim=1).numpy()
    venv = VecNormalize(DummyVecEnv([lambda: RandomWalkEnv(False)]), gamma=0.9, clip_obs=5.0)
    venv.reset()
    for _ in range(50):
        venv.step(np.array([0]))
    venv.save(str(HERE / "sb3_1_8_vec_normalize.pkl"))
    expected["vec_normalize_obs"] = venv.normalize_obs(observations)
    np.savez(HERE / "sb3_1_8_expected.npz", **expected)


if __name__ == "__main__":
    main()

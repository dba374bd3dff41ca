"""zoo.callbacks: the RL Zoo's SaveVecNormalizeCallback, RawStatisticsCallback and ParallelTrainCallback."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from baselines3 import PPO, SAC
from baselines3.common.env_util import make_vec_env
from baselines3.common.vec_env import VecNormalize
from zoo.callbacks import ParallelTrainCallback, RawStatisticsCallback, SaveVecNormalizeCallback


def test_save_vec_normalize_callback_writes_loadable_statistics(tmp_path):
    env = VecNormalize(make_vec_env("CartPole-v1", n_envs=2, seed=0))
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=64, seed=0)
    callbacks = [
        SaveVecNormalizeCallback(save_freq=16, save_path=str(tmp_path / "latest")),
        SaveVecNormalizeCallback(save_freq=16, save_path=str(tmp_path / "all"), name_prefix="vecnorm"),
    ]
    model.learn(128, callback=callbacks)
    assert (tmp_path / "latest" / "vecnormalize.pkl").exists()
    assert sorted(path.name for path in (tmp_path / "all").iterdir()) == [
        f"vecnorm_{steps}_steps.pkl" for steps in (128, 32, 64, 96)
    ]
    loaded = VecNormalize.load(tmp_path / "latest" / "vecnormalize.pkl", make_vec_env("CartPole-v1", n_envs=2))
    np.testing.assert_allclose(loaded.obs_rms.mean, env.obs_rms.mean)
    with pytest.raises(ValueError, match="save_freq"):
        SaveVecNormalizeCallback(save_freq=0, save_path=str(tmp_path))


def test_raw_statistics_callback_needs_tensorboard_and_writes_episodes(tmp_path):
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, seed=0)
    with pytest.raises(ValueError, match="tensorboard_log"):
        model.learn(64, callback=RawStatisticsCallback())
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=256, batch_size=64, seed=0, tensorboard_log=str(tmp_path))
    callback = RawStatisticsCallback()
    model.learn(256, callback=callback)
    lengths = [info["l"] for info in model.ep_info_buffer]
    assert callback._timesteps_counter == sum(lengths) > 0
    assert any(path.name.startswith("events.out") for path in tmp_path.rglob("*"))


def test_parallel_train_callback_trains_in_a_thread_and_restores_the_model():
    model = SAC(
        "MlpPolicy", "Pendulum-v1", learning_starts=200, buffer_size=2000, batch_size=32, train_freq=(1, "episode")
    )
    before = {name: tensor.clone() for name, tensor in model.policy.state_dict().items()}
    callback = ParallelTrainCallback(gradient_steps=20)
    model.learn(800, callback=callback)
    assert model.gradient_steps == 1  # the model's own setting is back after learn()
    assert callback._learner._n_updates >= 20  # the learner took gradient steps in its thread
    after = model.policy.state_dict()
    assert any(not torch.equal(before[name], after[name]) for name in before)  # and the model got its weights
    assert model._n_updates == 0  # the acting model took none itself
    with pytest.raises(ValueError, match="off-policy"):
        PPO("MlpPolicy", "CartPole-v1", n_steps=64).learn(64, callback=ParallelTrainCallback())

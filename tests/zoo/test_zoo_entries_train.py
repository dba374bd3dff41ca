"""Entries of the optional env packages train through `zoo.train`'s main() for a few thousand steps: a MiniGrid
entry, a MuJoCo entry and a RecurrentPPO (`ppo_lstm`) entry; and the RL Zoo's HER spelling loads."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from baselines3 import PPO, SAC, HerReplayBuffer, RecurrentPPO
from zoo import train as zoo_train
from zoo.config import ConfigError, algorithm_class, load_experiment


def train(tmp_path: pathlib.Path, algo: str, env_id: str, steps: int) -> pathlib.Path:
    flags = ["--algo", algo, "--env", env_id, "-n", str(steps), "-f", str(tmp_path), "--seed", "0"]
    assert zoo_train.main([*flags, "--verbose", "0", "--eval-freq", "-1"]) == 0
    run = tmp_path / algo / f"{env_id}_1"
    assert (run / f"{env_id}.zip").is_file()
    return run


def test_a_minigrid_entry_trains(tmp_path):
    pytest.importorskip("minigrid", reason="MiniGrid entries need the 'minigrid' package, which is not installed")
    run = train(tmp_path, "ppo", "MiniGrid-DoorKey-5x5-v0", 2048)  # 8 envs x 128 steps: two updates
    config = yaml.safe_load((run / "MiniGrid-DoorKey-5x5-v0" / "config.yml").read_text())
    assert config["env_wrapper"] == "minigrid.wrappers.FlatObsWrapper"
    model = PPO.load(run / "MiniGrid-DoorKey-5x5-v0.zip", device="cpu")
    assert model.observation_space.shape == (2835,)  # the flattened image and mission
    assert model.num_timesteps == 2048
    assert (run / "MiniGrid-DoorKey-5x5-v0" / "vecnormalize.pkl").is_file()


def test_a_mujoco_entry_trains(tmp_path):
    pytest.importorskip("mujoco", reason="MuJoCo entries need the 'mujoco' package, which is not installed")
    pytest.importorskip("imageio", reason="gymnasium's MuJoCo envs import 'imageio', which is not installed")
    run = train(tmp_path, "ppo", "Reacher-v5", 2048)  # n_steps 512: four updates
    model = PPO.load(run / "Reacher-v5.zip", device="cpu")
    assert model.observation_space.shape == (10,) and model.n_steps == 512
    assert model.num_timesteps == 2048


def test_a_recurrent_ppo_entry_trains(tmp_path):
    run = train(tmp_path, "ppo_lstm", "CartPoleNoVel-v1", 512)  # 8 envs x 32 steps: two updates
    model = RecurrentPPO.load(run / "CartPoleNoVel-v1.zip", device="cpu")
    assert model.policy.lstm_actor.hidden_size == 64 and model.num_timesteps == 512


def test_her_is_a_replay_buffer_named_in_an_off_policy_entry(tmp_path):
    conf = tmp_path / "sac.yml"
    # the keys of the RL Zoo's SAC FetchReach-v1 entry, loaded (not built) under an installed env id
    conf.write_text(
        "Pendulum-v1:\n"
        "  n_timesteps: !!float 20000\n"
        "  policy: 'MultiInputPolicy'\n"
        "  replay_buffer_class: HerReplayBuffer\n"
        '  replay_buffer_kwargs: "dict(\n'
        "    goal_selection_strategy='future',\n"
        "    n_sampled_goal=4\n"
        '  )"\n'
        "  normalize: \"{'norm_obs': True, 'norm_reward': False}\"\n"
    )
    experiment = load_experiment("sac", "Pendulum-v1", conf_file=conf)
    assert experiment.algo_kwargs["replay_buffer_class"] is HerReplayBuffer
    assert experiment.algo_kwargs["replay_buffer_kwargs"] == {"goal_selection_strategy": "future", "n_sampled_goal": 4}
    assert experiment.normalize == {"norm_obs": True, "norm_reward": False}
    assert algorithm_class("sac") is SAC
    with pytest.raises(ConfigError, match="HER is a replay buffer here"):
        algorithm_class("her")
    conf.write_text("Pendulum-v1:\n  n_timesteps: 1000\n  policy: 'MlpPolicy'\n  replay_buffer_class: NoSuchBuffer\n")
    with pytest.raises(ConfigError, match="'NoSuchBuffer' is not a class of baselines3"):
        load_experiment("sac", "Pendulum-v1", conf_file=conf)

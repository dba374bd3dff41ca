"""The zoo's hyperparameter files: every entry loads and builds its model; bad entries are clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from baselines3.common.callbacks import StopTrainingOnMaxEpisodes
from baselines3.common.schedules import LinearSchedule
from baselines3.common.vec_env import VecMonitor
from zoo.config import ConfigError, load_experiment, parse_policy_kwargs
from zoo.wrappers import TimeFeatureWrapper


def test_values_are_converted():
    experiment = load_experiment("ppo", "CartPole-v1")
    assert isinstance(experiment.algo_kwargs["learning_rate"], LinearSchedule)
    assert experiment.algo_kwargs["learning_rate"](1.0) == pytest.approx(1e-3)
    assert experiment.algo_kwargs["learning_rate"](0.0) == 0.0
    assert experiment.n_timesteps == 100_000 and experiment.n_envs == 8
    lstm = load_experiment("ppo", "CartPoleNoVel-v1")
    assert lstm.algo_kwargs["policy_kwargs"]["activation_fn"] is nn.ReLU
    assert lstm.algo_kwargs["policy_kwargs"]["net_arch"] == {"pi": [64], "vf": [64]}
    assert load_experiment("td3", "Pendulum-v1").algo_kwargs["action_noise"] == ("normal", 0.1)


def test_unknown_keys_name_the_file_the_env_and_the_key(tmp_path):
    path = tmp_path / "ppo.yml"
    path.write_text("CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: 1000\n  n_step: 32\n")
    with pytest.raises(ConfigError, match=r"ppo.yml, entry 'CartPole-v1': unknown key\(s\) \['n_step'\] for PPO"):
        load_experiment("ppo", "CartPole-v1", conf_file=path)
    with pytest.raises(ConfigError, match="no entry for 'Acrobot-v1'"):
        load_experiment("ppo", "Acrobot-v1", conf_file=path)
    with pytest.raises(ConfigError, match="Unknown algorithm 'qrdqn'"):
        load_experiment("qrdqn", "CartPole-v1")
    with pytest.raises(ConfigError, match="no entry for 'CliffWalking-v1'"):  # the benchmarks ask for real entries
        load_experiment("ppo", "CliffWalking-v1", use_default=False)
    path.write_text("CartPole-v1:\n  n_timesteps: 1000\n")
    with pytest.raises(ConfigError, match="'policy' is missing"):
        load_experiment("ppo", "CartPole-v1", conf_file=path)
    path.write_text("CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: 1000\n  learning_rate: lin_fast\n")
    with pytest.raises(ConfigError, match="needs a number after 'lin_'"):
        load_experiment("ppo", "CartPole-v1", conf_file=path)
    for setting, message in [
        ("n_envs: 0", "n_envs must be a whole number >= 1, got 0"),
        ("n_envs: 2.5", "n_envs must be a whole number >= 1, got 2.5"),
        ("frame_stack: four", "frame_stack must be a number, got 'four'"),
        ("noise_type: normal\n  noise_std: big", "noise_std must be a number, got 'big'"),
    ]:
        path.write_text(f"CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: 1e3\n  {setting}\n")
        with pytest.raises(ConfigError, match=f"entry 'CartPole-v1': {message}"):
            load_experiment("ppo", "CartPole-v1", conf_file=path)
    path.write_text("CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: 1e3\n")  # YAML 1.1 reads 1e3 as a string
    assert load_experiment("ppo", "CartPole-v1", conf_file=path).n_timesteps == 1000


@pytest.mark.parametrize(
    "text, expected",
    [
        ("dict(net_arch=[64, 64])", {"net_arch": [64, 64]}),
        ("dict(activation_fn=th.nn.Tanh, log_std_init=-2)", {"activation_fn": torch.nn.Tanh, "log_std_init": -2}),
        ("{'ortho_init': False}", {"ortho_init": False}),
    ],
)
def test_policy_kwargs_strings(text, expected):
    assert parse_policy_kwargs(text) == expected


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "dict(x=open('f'))", "[1, 2]", "dict(a="])
def test_policy_kwargs_strings_never_run_code(text):
    with pytest.raises(ConfigError, match="policy_kwargs"):
        parse_policy_kwargs(text)


def test_keys_naming_classes_are_imported_with_rl_zoo_prefixes_mapped(tmp_path):
    path = tmp_path / "ppo.yml"
    path.write_text(
        "CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: 1000\n"
        "  env_wrapper:\n    - sb3_contrib.common.wrappers.TimeFeatureWrapper:\n        max_steps: 200\n"
        "  vec_env_wrapper: stable_baselines3.common.vec_env.VecMonitor\n"
        "  callback:\n    - stable_baselines3.common.callbacks.StopTrainingOnMaxEpisodes:\n        max_episodes: 3\n"
    )
    experiment = load_experiment("ppo", "CartPole-v1", conf_file=path)
    (wrapper,) = experiment.env_wrapper
    assert wrapper.cls is TimeFeatureWrapper and wrapper.kwargs == {"max_steps": 200}
    assert experiment.vec_env_wrapper[0].cls is VecMonitor and experiment.vec_env_wrapper[0].kwargs == {}
    callback = experiment.callback[0]()
    assert isinstance(callback, StopTrainingOnMaxEpisodes) and callback.max_episodes == 3


@pytest.mark.parametrize(
    "value, message",
    [
        ("some.module.Wrapper", "cannot import module 'some.module'"),
        ("gymnasium.wrappers.NoSuchWrapper", "'gymnasium.wrappers' has no class 'NoSuchWrapper'"),
        ("Wrapper", "must be a dotted path"),
        ("[1, 2]", "expected 'module.Class'"),
        ("{gymnasium.wrappers.TimeLimit: 5}", "arguments of 'gymnasium.wrappers.TimeLimit' must be a mapping"),
    ],
)
def test_bad_class_names_are_errors_naming_the_entry(tmp_path, value, message):
    path = tmp_path / "ppo.yml"
    path.write_text(f"CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: 1000\n  env_wrapper: {value}\n")
    with pytest.raises(ConfigError, match=r"ppo.yml, entry 'CartPole-v1', env_wrapper: ") as error:
        load_experiment("ppo", "CartPole-v1", conf_file=path)
    assert message in str(error.value)


def test_runs_are_found_by_number_with_or_without_a_uuid_suffix(tmp_path):
    import os

    from zoo.runs import find_run

    base = tmp_path / "ppo"
    for name, age in (("CartPole-v1_1", 30), ("CartPole-v1_2_0a1b2c3d", 20), ("CartPole-v1_2_ffee0011", 10)):
        (base / name).mkdir(parents=True)
        os.utime(base / name, (1_000_000 - age, 1_000_000 - age))
    (base / "CartPole-v1_3_notauuid").mkdir()  # not a run folder name: ignored
    (base / "CartPole-v1_9.txt").write_text("")
    assert find_run(str(tmp_path), "ppo", "CartPole-v1", "0").name == "CartPole-v1_2_ffee0011"
    assert find_run(str(tmp_path), "ppo", "CartPole-v1", "1").name == "CartPole-v1_1"
    assert find_run(str(tmp_path), "ppo", "CartPole-v1", "2_0a1b2c3d").name == "CartPole-v1_2_0a1b2c3d"
    with pytest.raises(ConfigError, match=r"Several runs have number 2 .*--exp-id with the suffix, e\.g\. 2_ffee0011"):
        find_run(str(tmp_path), "ppo", "CartPole-v1", "2")
    with pytest.raises(ConfigError, match="No run folder"):
        find_run(str(tmp_path), "ppo", "CartPole-v1", "3")
    with pytest.raises(ConfigError, match="No run of ppo on Pendulum-v1"):
        find_run(str(tmp_path), "ppo", "Pendulum-v1", "0")

"""`python -m zoo.train` run as a real command with tiny budgets."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import yaml

from baselines3 import DQN, PPO, SAC
from baselines3.common.vec_env import DummyVecEnv, VecNormalize
from zoo import enjoy as zoo_enjoy
from zoo import record_video as zoo_record_video
from zoo import train as zoo_train
from zoo.config import ConfigError


def run(*args: str, cwd, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zoo.train", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )


def test_train_writes_the_run_folder_and_continues_with_trained_agent(tmp_path, capsys):
    common = ["-f", str(tmp_path / "logs"), "--seed", "0", "--verbose", "0"]
    done = run("--algo", "ppo", "--env", "CartPole-v1", "-n", "512", "--eval-freq", "256", "--save-freq", "256",
               "-params", "n_epochs:2", "learning_rate:0.001", *common, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "logs" / "ppo" / "CartPole-v1_1"
    names = {p.name for p in run_dir.iterdir()}
    assert {"CartPole-v1.zip", "best_model.zip", "evaluations.npz", "rl_model_256_steps.zip", "CartPole-v1"} <= names
    assert sum(name.endswith(".monitor.csv") for name in names) == 8  # one per env (n_envs 8 in ppo.yml)
    config = yaml.safe_load((run_dir / "CartPole-v1" / "config.yml").read_text())
    assert config["n_epochs"] == 2 and config["learning_rate"] == 0.001 and config["n_envs"] == 8
    assert np.load(run_dir / "evaluations.npz")["timesteps"].tolist() == [256, 512]
    assert PPO.load(run_dir / "CartPole-v1.zip").n_epochs == 2

    # enjoy the model train just wrote, without extra flags (beyond not opening a window here)
    enjoy = subprocess.run(
        [sys.executable, "-m", "zoo.enjoy", "--algo", "ppo", "--env", "CartPole-v1", "-f", str(tmp_path / "logs"),
         "-n", "200", "--no-render", "--load-best"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert enjoy.returncode == 0, enjoy.stderr
    assert "episodes: mean return" in enjoy.stdout and "Episode return" in enjoy.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "zoo.enjoy", "--algo", "ppo", "--env", "CartPole-v1", "-f", str(tmp_path / "logs"),
         "--exp-id", "9", "--no-render"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert missing.returncode == 2 and "No run folder" in missing.stderr
    replay = ["--algo", "ppo", "--env", "CartPole-v1", "-f", str(tmp_path / "logs"), "--no-render"]
    assert zoo_enjoy.main([*replay, "-n", "3"]) == 0
    assert "No episode ended within 3 steps" in capsys.readouterr().out
    for module in (zoo_enjoy, zoo_record_video):
        with pytest.raises(SystemExit):
            module.parse_args([*replay[:-1], "-n", "0"])
        assert "-n must be at least 1, got 0" in capsys.readouterr().err
        with pytest.raises(SystemExit):
            module.parse_args([*replay[:-1], "--n-envs", "0"])
        assert "--n-envs must be at least 1, got 0" in capsys.readouterr().err
    # the RL Zoo's other enjoy flags: several envs, the newest checkpoint, env keywords, a reward log
    flags = ["--n-envs", "2", "--load-last-checkpoint", "--env-kwargs", "sutton_barto_reward:true", "-n", "300"]
    assert zoo_enjoy.main([*replay, *flags, "--reward-log", str(tmp_path / "rewards"), "--custom-objects"]) == 0
    out = capsys.readouterr().out
    assert "rl_model_512_steps.zip" in out  # the newest of the 256 and 512 checkpoints
    assert "episodes: mean return -1.00" in out  # sutton_barto_reward: 0 per step, -1 when the pole falls
    assert len(list((tmp_path / "rewards").glob("*.monitor.csv"))) == 2
    with pytest.raises(SystemExit):
        zoo_enjoy.parse_args([*replay, "--load-best", "--load-last-checkpoint"])
    capsys.readouterr()
    assert zoo_enjoy.main([*replay, "--norm-reward"]) == 2
    assert "not trained with normalization" in capsys.readouterr().err

    # and record a short video of it (mp4 with moviepy/imageio, else GIF)
    video = subprocess.run(
        [sys.executable, "-m", "zoo.record_video", "--algo", "ppo", "--env", "CartPole-v1",
         "-f", str(tmp_path / "logs"), "-n", "20", "-o", str(tmp_path / "videos")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert video.returncode == 0, video.stderr
    (written,) = list((tmp_path / "videos").iterdir())
    assert written.suffix in (".mp4", ".gif") and written.stat().st_size > 1000

    # training curves, from the monitor files and from the evaluations
    for source in ("monitor", "evaluations"):
        png = tmp_path / f"{source}.png"
        done = subprocess.run(
            [sys.executable, "-m", "zoo.plot", "--algos", "ppo", "--env", "CartPole-v1", "-f", str(tmp_path / "logs"),
             "--source", source, "--window", "2", "-o", str(png)],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    nothing = subprocess.run(
        [sys.executable, "-m", "zoo.plot", "--algos", "sac", "--env", "Pendulum-v1", "-f", str(tmp_path / "logs")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert nothing.returncode == 2 and "Nothing to plot" in nothing.stderr

    # continue: a second run folder, counting on from the first run's timesteps; the replay buffer comes along
    done = run("--algo", "dqn", "--env", "CartPole-v1", "-n", "300", "--eval-freq", "-1", "--save-replay-buffer",
               "-params", "learning_starts:100", "buffer_size:1000", *common, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    first = tmp_path / "logs" / "dqn" / "CartPole-v1_1"
    assert (first / "replay_buffer.npz").exists()
    # -params, --seed and the logging flags apply to the continued model (the RL Zoo's behaviour)
    done = run("--algo", "dqn", "--env", "CartPole-v1", "-n", "200", "--eval-freq", "-1",
               "-i", str(first / "CartPole-v1.zip"), "-params", "exploration_final_eps:0.25", "learning_starts:100",
               *common[:2], "--seed", "7", "--verbose", "1", "--log-interval", "1", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    continued = DQN.load(tmp_path / "logs" / "dqn" / "CartPole-v1_2" / "CartPole-v1.zip")
    assert continued.num_timesteps >= 500
    assert continued.exploration_final_eps == 0.25 and continued.seed == 7
    monitor = (tmp_path / "logs" / "dqn" / "CartPole-v1_2" / "0.monitor.csv").read_text().splitlines()
    dumps = [line for line in done.stdout.splitlines() if line.strip("| ").startswith("episodes ")]
    assert len(dumps) == len(monitor) - 2  # --log-interval 1: one log table per episode
    # the network is the saved one: policy_kwargs that differ are refused, not silently ignored
    done = run("--algo", "dqn", "--env", "CartPole-v1", "-n", "200", "-i", str(first / "CartPole-v1.zip"),
               "-params", "policy_kwargs:dict(net_arch=[8])", *common, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2 and "differ from the saved ones" in done.stderr, done.stderr


def test_bad_input_is_a_clear_error_without_a_run_folder(tmp_path):
    logs = tmp_path / "logs"
    no_default = tmp_path / "no_default.yml"  # a file without a `default` entry
    no_default.write_text("CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: 1000\n")
    cases = [
        (["--algo", "ppo", "--env", "NoSuchEnv-v0"], "Unknown env id 'NoSuchEnv-v0'"),
        (["--algo", "ppo", "--env", "CartPole-v1", "-params", "n_epochs"], "key:value"),
        (["--algo", "ppo", "--env", "CartPole-v1", "-params", "n_epoch:3"], "unknown key(s) ['n_epoch']"),
        (["--algo", "ppo", "--env", "CartPole-v1", "-i", "missing.zip"], "does not exist"),
        (["--algo", "ppo", "--env", "FrozenLake-v1", "-conf", str(no_default)], "no entry for 'FrozenLake-v1'"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--env-kwargs", "gravity"], "--env-kwargs items must look like"),
        (["--algo", "ppo", "--env", "Pendulum-v1", "--env-kwargs", "gravity:3"], "rejected by Pendulum-v1"),
        (["--algo", "ppo", "--env", "Pendulum-v1", "--eval-env-kwargs", "gravity:3"], "--eval-env-kwargs {'gravity'"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--gym-packages", "no_such_module"], "'no_such_module' cannot be"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--log-interval", "0"], "--log-interval must be at least 1"),
        *(
            [(["--algo", "sac", "--env", "HalfCheetah-v5"], "needs a package that is not installed")]
            if importlib.util.find_spec("mujoco") is None
            else []
        ),
    ]
    for args, message in cases:
        done = run(*args, "-f", str(logs), cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)
    assert not (logs / "ppo").exists() or not any((logs / "ppo").iterdir())
    done = run("--algo", "qrdqn", "--env", "CartPole-v1", cwd=tmp_path)
    assert done.returncode == 2 and "invalid choice: 'qrdqn'" in done.stderr


def test_an_env_without_an_entry_trains_on_the_default_entry(tmp_path, capsys):
    """As in the RL Zoo: `default` holds the settings for any env the file does not list."""
    flags = ["--algo", "ppo", "--env", "CliffWalking-v1", "-n", "2000", "-f", str(tmp_path), "--eval-freq", "-1"]
    assert zoo_train.main(flags) == 0
    assert "Using the 'default' entry of ppo.yml: it has no entry for CliffWalking-v1" in capsys.readouterr().out
    assert (tmp_path / "ppo" / "CliffWalking-v1_1" / "CliffWalking-v1.zip").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["-n", "0"], "-n must be at least 1 (or -1), got 0"),
        (["-n", "-5"], "-n must be at least 1 (or -1), got -5"),
        (["--save-freq", "0"], "--save-freq must be at least 1"),
        (["--eval-freq", "-2"], "--eval-freq must be at least 1"),
        (["--num-threads", "0"], "--num-threads must be at least 1"),
        (["--eval-episodes", "0"], "--eval-episodes must be at least 1"),
        (["--n-eval-envs", "0"], "--n-eval-envs must be at least 1"),
        (["--seed", "-1"], "--seed must be 0 or more"),
    ],
)
def test_counts_that_mean_nothing_are_rejected(flags, message):
    args = zoo_train.parse_args(["--algo", "ppo", "--env", "CartPole-v1", *flags])
    with pytest.raises(ConfigError, match=re.escape(message)):
        zoo_train.check_numbers(args)
    zoo_train.check_numbers(zoo_train.parse_args(["--algo", "ppo", "--env", "CartPole-v1"]))  # the defaults pass


def test_bad_files_folders_and_devices_are_named_errors(tmp_path, capsys):
    conf = tmp_path / "ppo.yml"
    conf.write_text("CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: abc\n")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    cases = [
        (["-conf", str(conf)], "n_timesteps must be a number, got 'abc'"),
        (["--device", "tpu"], "--device: Invalid device 'tpu'"),
        (["-n", "64", "-f", str(not_a_folder)], f"cannot create the run folder {not_a_folder}"),
    ]
    for flags, message in cases:
        assert zoo_train.main(["--algo", "ppo", "--env", "CartPole-v1", "--verbose", "0", *flags]) == 2
        assert message in capsys.readouterr().err


def test_wrappers_env_kwargs_and_normalization_statistics_carry_over(tmp_path):
    conf = tmp_path / "ppo.yml"
    conf.write_text(
        "Pendulum-v1:\n  policy: MlpPolicy\n  n_timesteps: 256\n  n_envs: 2\n  n_steps: 64\n  batch_size: 64\n"
        "  n_epochs: 1\n  normalize: true\n  env_wrapper: sb3_contrib.common.wrappers.TimeFeatureWrapper\n"
    )
    common = ["--algo", "ppo", "--env", "Pendulum-v1", "-conf", str(conf), "-f", str(tmp_path / "logs"),
              "--seed", "0", "--verbose", "0", "--eval-freq", "128", "--env-kwargs", "g:3.5"]  # fmt: skip
    done = run(*common, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first = tmp_path / "logs" / "ppo" / "Pendulum-v1_1"
    args = yaml.safe_load((first / "Pendulum-v1" / "args.yml").read_text())
    assert args["env_kwargs"] == {"g": 3.5}
    stats = VecNormalize.load(str(first / "Pendulum-v1" / "vecnormalize.pkl"), DummyVecEnv([make_pendulum]))
    assert stats.obs_rms.mean.shape == (4,)  # three Pendulum features and the time feature
    assert PPO.load(first / "Pendulum-v1.zip").observation_space.shape == (4,)

    done = run(*common, "-i", str(first / "Pendulum-v1.zip"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    second = tmp_path / "logs" / "ppo" / "Pendulum-v1_2" / "Pendulum-v1" / "vecnormalize.pkl"
    continued = VecNormalize.load(str(second), DummyVecEnv([make_pendulum]))
    assert continued.obs_rms.count > stats.obs_rms.count + 255  # went on from the saved statistics

    enjoy = subprocess.run(
        [sys.executable, "-m", "zoo.enjoy", "--algo", "ppo", "--env", "Pendulum-v1", "-f", str(tmp_path / "logs"),
         "-n", "200", "--no-render"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert enjoy.returncode == 0, enjoy.stderr
    assert "1 episodes: mean return" in enjoy.stdout


def test_continuing_from_a_checkpoint_takes_its_own_statistics_and_replay_buffer(tmp_path):
    """`-i rl_model_<N>_steps.zip` goes on from the VecNormalize statistics and replay buffer saved at N steps,
    not from the ones the run saved at its end."""
    common = ["--algo", "sac", "--env", "Pendulum-v1", "-f", str(tmp_path / "logs"), "--seed", "0", "--verbose",
              "0", "--eval-freq", "-1", "-params", "learning_starts:50", "buffer_size:2000", "normalize:true",
              "policy_kwargs:dict(net_arch=[16])"]  # fmt: skip
    done = run(*common, "-n", "400", "--save-freq", "200", "--save-replay-buffer", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first = tmp_path / "logs" / "sac" / "Pendulum-v1_1"
    names = {p.name for p in first.iterdir()}
    assert {"rl_model_200_steps.zip", "rl_model_vecnormalize_200_steps.pkl", "rl_model_replay_buffer_200_steps.npz",
            "replay_buffer.npz"} <= names  # fmt: skip
    at_200 = VecNormalize.load(str(first / "rl_model_vecnormalize_200_steps.pkl"), DummyVecEnv([make_plain_pendulum]))
    at_end = VecNormalize.load(str(first / "Pendulum-v1" / "vecnormalize.pkl"), DummyVecEnv([make_plain_pendulum]))
    assert at_200.obs_rms.count < at_end.obs_rms.count - 150

    done = run(*common, "-n", "100", "--save-replay-buffer", "-i", str(first / "rl_model_200_steps.zip"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    second = tmp_path / "logs" / "sac" / "Pendulum-v1_2"
    continued = VecNormalize.load(str(second / "Pendulum-v1" / "vecnormalize.pkl"), DummyVecEnv([make_plain_pendulum]))
    assert continued.obs_rms.count == pytest.approx(at_200.obs_rms.count + 100, abs=2)
    model = SAC.load(second / "Pendulum-v1.zip")
    assert model.num_timesteps == 300
    model.load_replay_buffer(second / "replay_buffer.npz")
    assert model.replay_buffer.size() == 300  # the checkpoint's 200 transitions, then 100 more


def make_plain_pendulum():
    return gym.make("Pendulum-v1")


def make_pendulum():
    from zoo.wrappers import TimeFeatureWrapper

    return TimeFeatureWrapper(gym.make("Pendulum-v1"))


def test_gym_packages_register_envs_for_subprocess_workers_and_enjoy(tmp_path):
    """An env that only a user module registers: trained in SubprocVecEnv workers (fresh interpreters), evaluated
    with its own --eval-env-kwargs, then replayed by zoo.enjoy."""
    (tmp_path / "my_envs.py").write_text(
        "import gymnasium as gym\n"
        "gym.register('MyCartPole-v0', entry_point='gymnasium.envs.classic_control:CartPoleEnv', "
        "max_episode_steps=200)\n"
    )
    conf = tmp_path / "ppo.yml"
    conf.write_text("MyCartPole-v0:\n  policy: MlpPolicy\n  n_timesteps: 128\n  n_envs: 2\n  n_steps: 32\n")
    logs = str(tmp_path / "logs")
    done = run("--algo", "ppo", "--env", "MyCartPole-v0", "--gym-packages", "my_envs", "--vec-env", "subproc",
               "-conf", str(conf), "-f", logs, "--seed", "0", "--verbose", "0", "--eval-freq", "64",
               "--eval-env-kwargs", "max_episode_steps:5", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    evaluations = np.load(tmp_path / "logs" / "ppo" / "MyCartPole-v0_1" / "evaluations.npz")
    assert evaluations["ep_lengths"].size > 0 and (evaluations["ep_lengths"] == 5).all()  # the eval env's limit
    unregistered = run("--algo", "ppo", "--env", "MyCartPole-v0", "-conf", str(conf), "-f", logs, cwd=tmp_path)
    assert unregistered.returncode == 2 and "Unknown env id 'MyCartPole-v0'" in unregistered.stderr

    enjoy = subprocess.run(
        [sys.executable, "-m", "zoo.enjoy", "--algo", "ppo", "--env", "MyCartPole-v0", "--gym-packages", "my_envs",
         "-f", logs, "-n", "50", "--no-render"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert enjoy.returncode == 0, enjoy.stderr


def test_train_prints_its_settings_and_uses_the_rl_zoo_tensorboard_layout(tmp_path, capsys):
    flags = ["--algo", "ppo", "--env", "CartPole-v1", "-n", "256", "-f", str(tmp_path / "logs")]
    assert zoo_train.main([*flags, "-tb", str(tmp_path / "tb"), "--eval-freq", "-1"]) == 0
    out = capsys.readouterr().out
    assert "Hyperparameters for CartPole-v1 (ppo):" in out and "n_steps: 32" in out
    assert f"Log path: {tmp_path / 'logs' / 'ppo' / 'CartPole-v1_1'}" in out
    assert out.index("Log path:") < out.index("total_timesteps")  # printed before training starts
    assert (tmp_path / "tb" / "CartPole-v1" / "PPO_1").is_dir()


@pytest.mark.parametrize("flag, expected", [([], True), (["--truncate-last-trajectory", "false"], False)])
def test_truncate_last_trajectory_reaches_the_replay_buffer_load(tmp_path, monkeypatch, flag, expected):
    common = ["--algo", "dqn", "--env", "CartPole-v1", "--eval-freq", "-1", "--verbose", "0", "-f", str(tmp_path)]
    small = ["-params", "learning_starts:50", "buffer_size:500"]
    assert zoo_train.main([*common, "-n", "100", "--save-replay-buffer", *small]) == 0
    seen = []
    original = DQN.load_replay_buffer

    def recording(self, path, truncate_last_traj=True):
        seen.append(truncate_last_traj)
        return original(self, path, truncate_last_traj)

    monkeypatch.setattr(DQN, "load_replay_buffer", recording)
    first = tmp_path / "dqn" / "CartPole-v1_1" / "CartPole-v1.zip"
    assert zoo_train.main([*common, "-n", "100", "-i", str(first), *small, *flag]) == 0
    assert seen == [expected]


def test_progress_lines_and_the_saved_model_path_are_printed(tmp_path, capsys):
    flags = ["--algo", "ppo", "--env", "CartPole-v1", "-n", "512", "-f", str(tmp_path), "--eval-freq", "-1"]
    assert zoo_train.main([*flags, "--verbose", "0", "-P"]) == 0  # pytest's stdout is no terminal: plain lines
    out = capsys.readouterr().out
    assert re.search(r"^  512 / 512 steps \(100%\), [\d,]+ steps/s", out, re.MULTILINE), out
    run_dir = tmp_path / "ppo" / "CartPole-v1_1"
    assert f"Saved the model to {run_dir / 'CartPole-v1.zip'}" in out
    assert out.rstrip().splitlines()[-1] == f"Saved the run to {run_dir}"  # the line benchmarks.run reads


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--optimization-log-path", "trials"], "--optimization-log-path is a flag of tuning"),
        (["--no-optim-plots"], "--no-optim-plots is a flag of tuning"),
        (["-tags", "a"], "-tags set the W&B run of --track, which is not given"),
        (["--wandb-group", "g"], "--wandb-group set the W&B run of --track"),
        (["--track", "-optimize"], "--track follows one training run"),
    ],
)
def test_flags_that_would_do_nothing_are_errors(tmp_path, capsys, flags, message):
    assert zoo_train.main(["--algo", "ppo", "--env", "CartPole-v1", "-f", str(tmp_path), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "ppo").exists()


def test_track_without_wandb_names_the_package(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    flags = ["--algo", "ppo", "--env", "CartPole-v1", "-n", "256", "-f", str(tmp_path), "--track"]
    assert zoo_train.main(flags) == 2
    assert "--track needs Weights & Biases: pip install wandb" in capsys.readouterr().err
    assert not (tmp_path / "ppo" / "CartPole-v1_1").exists()  # no half-made run folder


@pytest.mark.slow  # W&B starts a service process: about 20 s on 2 busy cores
def test_track_mirrors_the_tensorboard_logs_into_an_offline_wandb_run(tmp_path):
    pytest.importorskip("wandb", reason="--track needs wandb: pip install 'baselines3[track]'")
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "false"}
    flags = ["--algo", "ppo", "--env", "CartPole-v1", "-n", "1024", "-f", str(tmp_path), "--eval-freq", "-1"]
    done = subprocess.run(
        [sys.executable, "-m", "zoo.train", *flags, "--verbose", "0", "--track", "--wandb-group", "g1", "-tags", "t1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "ppo" / "CartPole-v1_1"
    assert (run_dir / "tb" / "CartPole-v1" / "PPO_1").is_dir()  # -tb defaults to <run folder>/tb with --track
    records = list((run_dir / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(records) == 1
    data = records[0].read_bytes()  # W&B's record file: protobuf, whose strings are stored as they are
    for expected in [b"rollout/ep_rew_mean", b"time/fps", b"wandb_group", b"g1", b"t1", b"CartPole-v1__ppo__"]:
        assert expected in data, expected


def test_compile_flag_compiles_the_gradient_step_also_in_bfloat16(tmp_path):
    flags = ["--algo", "sac", "--env", "Pendulum-v1", "-n", "120", "--eval-freq", "-1", "-f", str(tmp_path)]
    small = ["-params", "learning_starts:100", "batch_size:32", "precision:bf16"]
    seam_on = {"BASELINES3_FAST": "1"}  # the compiled step is part of the speed seam, also when the suite runs without
    compiled_run = run(*flags, *small, "--compile", cwd=tmp_path, env=seam_on)
    assert compiled_run.returncode == 0, compiled_run.stderr
    assert "Compiling SAC's gradient step" in compiled_run.stdout
    assert (tmp_path / "sac" / "Pendulum-v1_1" / "Pendulum-v1.zip").is_file()
    eager_run = run(*flags, *small, cwd=tmp_path, env=seam_on)
    assert eager_run.returncode == 0, eager_run.stderr
    assert "Compiling" not in eager_run.stdout

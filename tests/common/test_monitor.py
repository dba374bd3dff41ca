"""Monitor wrapper, its CSV format and load_results."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas
import pytest
from gymnasium import spaces

from baselines3.common.monitor import LoadMonitorResultsError, Monitor, get_monitor_files, load_results


class FixedEnv(gym.Env):
    """Episodes of ``length`` steps with reward ``t * 0.5`` at step t; info carries ``score``."""

    def __init__(self, length: int = 3) -> None:
        self.observation_space = spaces.Box(-1, 1, (1,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.length = length
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return np.zeros(1, np.float32), self.t * 0.5, self.t >= self.length, False, {"score": self.t * 7}


def run_episodes(env: gym.Env, n_episodes: int) -> list[dict[str, Any]]:
    episodes = []
    for _ in range(n_episodes):
        env.reset()
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(0)
            done = terminated or truncated
        episodes.append(info["episode"])
    return episodes


def test_monitor_episode_info_and_getters(tmp_path: Path) -> None:
    env = Monitor(FixedEnv(3), filename=str(tmp_path / "run"), info_keywords=("score",))
    episodes = run_episodes(env, 2)
    assert [(ep["r"], ep["l"], ep["score"]) for ep in episodes] == [(3.0, 3, 21), (3.0, 3, 21)]
    assert env.get_episode_rewards() == [3.0, 3.0]
    assert env.get_episode_lengths() == [3, 3]
    assert env.get_total_steps() == 6
    times = env.get_episode_times()
    assert len(times) == 2 and 0 <= times[0] <= times[1]
    env.close()

    path = tmp_path / "run.monitor.csv"
    lines = path.read_text().splitlines()
    header = json.loads(lines[0][1:])
    assert lines[0].startswith("#") and header["env_id"] == "None"
    assert abs(header["t_start"] - time.time()) < 60
    assert lines[1] == "r,l,t,score"
    assert lines[2].startswith("3.0,3,") and lines[2].endswith(",21")


def test_monitor_env_id_and_folder_name(tmp_path: Path) -> None:
    env = Monitor(gym.make("CartPole-v1"), filename=str(tmp_path))
    env.close()
    files = get_monitor_files(str(tmp_path))
    assert files == [str(tmp_path / "monitor.csv")]
    assert json.loads(Path(files[0]).read_text().splitlines()[0][1:])["env_id"] == "CartPole-v1"


def test_monitor_reset_rules() -> None:
    env = Monitor(FixedEnv(3), allow_early_resets=False)
    with pytest.raises(RuntimeError, match="needs reset"):
        env.step(0)
    env.reset()
    env.step(0)
    with pytest.raises(RuntimeError, match="allow_early_resets"):
        env.reset()
    env.step(0)
    env.step(0)
    env.reset()  # the episode is over: fine

    lenient = Monitor(FixedEnv(3))
    lenient.reset()
    lenient.step(0)
    lenient.reset()  # early reset allowed: the partial episode is dropped
    assert run_episodes(lenient, 1)[0]["l"] == 3


def test_monitor_reset_keywords(tmp_path: Path) -> None:
    env = Monitor(FixedEnv(1), filename=str(tmp_path / "kw"), reset_keywords=("level",))
    with pytest.raises(ValueError, match="level"):
        env.reset()
    env.reset(options={"level": 3})
    env.step(0)
    env.close()
    frame = pandas.read_csv(tmp_path / "kw.monitor.csv", skiprows=1)
    assert frame["level"].tolist() == [3]


def test_load_results_merges_files_sorted_by_time(tmp_path: Path) -> None:
    first = Monitor(FixedEnv(2), filename=str(tmp_path / "0"))
    second = Monitor(FixedEnv(3), filename=str(tmp_path / "1"))
    run_episodes(first, 2)
    run_episodes(second, 1)
    run_episodes(first, 1)
    first.close()
    second.close()
    frame = load_results(str(tmp_path))
    assert list(frame.columns) == ["index", "r", "l", "t"]
    assert len(frame) == 4
    assert frame["t"].is_monotonic_increasing and frame["t"].min() >= 0
    assert sorted(frame["l"].tolist()) == [2, 2, 2, 3]
    assert frame.index.tolist() == [0, 1, 2, 3]
    assert frame["r"].sum() == pytest.approx(3 * 1.5 + 3.0)


def test_load_results_errors(tmp_path: Path) -> None:
    with pytest.raises(LoadMonitorResultsError, match="No monitor files"):
        load_results(str(tmp_path))
    (tmp_path / "bad.monitor.csv").write_text("r,l,t\n1,2,3\n")
    with pytest.raises(LoadMonitorResultsError, match="JSON header"):
        load_results(str(tmp_path))


def test_override_existing_false_appends(tmp_path: Path) -> None:
    for _ in range(2):
        env = Monitor(FixedEnv(1), filename=str(tmp_path / "app"), override_existing=False)
        run_episodes(env, 1)
        env.close()
    assert len(load_results(str(tmp_path))) == 2
    env = Monitor(FixedEnv(1), filename=str(tmp_path / "app"))
    run_episodes(env, 1)
    env.close()
    assert len(load_results(str(tmp_path))) == 1

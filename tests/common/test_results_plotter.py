"""Tests for baselines3.common.results_plotter."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from gymnasium import spaces

from baselines3.common.results_plotter import (
    EPISODES_WINDOW,
    X_EPISODES,
    X_TIMESTEPS,
    X_WALLTIME,
    plot_results,
    rolling_window,
    ts2xy,
    window_func,
)


def test_ts2xy_axes():
    frame = pd.DataFrame({"r": [1.0, 2.0, 3.0], "l": [10, 20, 30], "t": [3600.0, 7200.0, 9000.0]})
    x, y = ts2xy(frame, X_TIMESTEPS)
    assert x.tolist() == [10, 30, 60] and y.tolist() == [1.0, 2.0, 3.0]
    assert ts2xy(frame, X_EPISODES)[0].tolist() == [0, 1, 2]
    assert ts2xy(frame, X_WALLTIME)[0].tolist() == [1.0, 2.0, 2.5]
    with pytest.raises(NotImplementedError, match="walltime_hrs"):
        ts2xy(frame, "steps")


def test_window_func_mean():
    x = np.arange(5)
    y = np.array([1.0, 3.0, 5.0, 7.0, 9.0])
    x_cut, y_mean = window_func(x, y, 2, np.mean)
    assert x_cut.tolist() == [1, 2, 3, 4]
    assert y_mean.tolist() == [2.0, 4.0, 6.0, 8.0]
    assert rolling_window(y, 3).shape == (3, 3)
    with pytest.raises(ValueError, match="window"):
        rolling_window(y, 6)


class OneStepEnv(gym.Env):
    def __init__(self) -> None:
        self.observation_space = spaces.Box(-1, 1, (1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        return np.zeros(1, dtype=np.float32), float(action), True, False, {}


def test_plot_results_from_monitor_files(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from baselines3.common.monitor import Monitor

    env = Monitor(OneStepEnv(), filename=os.path.join(str(tmp_path), "0"))
    for i in range(EPISODES_WINDOW + 20):
        env.reset()
        env.step(i % 2)
    env.close()
    figure = plot_results([str(tmp_path)], num_timesteps=EPISODES_WINDOW + 10, x_axis=X_TIMESTEPS, task_name="t")
    axes = figure.axes[0]
    points = axes.collections[0].get_offsets()
    assert len(points) == EPISODES_WINDOW + 10  # cut at num_timesteps (1 step per episode)
    assert points[:4, 1].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert len(axes.lines) == 1  # the moving average
    assert np.allclose(axes.lines[0].get_ydata(), 0.5)
    assert axes.get_xlabel() == X_TIMESTEPS and axes.get_title() == "t"
    plt.close(figure)

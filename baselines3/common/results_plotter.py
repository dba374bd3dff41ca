"""Plot learning curves from Monitor logs (``*monitor.csv``) with matplotlib."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from baselines3.common.monitor import load_results

X_TIMESTEPS = "timesteps"
X_EPISODES = "episodes"
X_WALLTIME = "walltime_hrs"
POSSIBLE_X_AXES = [X_TIMESTEPS, X_EPISODES, X_WALLTIME]
# Episodes averaged for the smoothed curve.
EPISODES_WINDOW = 100


def rolling_window(array: np.ndarray, window: int) -> np.ndarray:
    """Views of every run of `window` consecutive values along the last axis (no copy)."""
    if window < 1 or window > array.shape[-1]:
        raise ValueError(f"window must be between 1 and {array.shape[-1]} (the array length), got {window}")
    return np.lib.stride_tricks.sliding_window_view(array, window, axis=-1)


def window_func(
    var_1: np.ndarray, var_2: np.ndarray, window: int, func: Callable[..., np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Apply `func` (e.g. np.mean) over sliding windows of `var_2`; `var_1` is cut to the matching x values.

    :return: (var_1 from index window - 1 on, func of each window of var_2)
    """
    windows = rolling_window(np.asarray(var_2), window)
    return np.asarray(var_1)[window - 1 :], func(windows, axis=-1)


def ts2xy(data_frame: pd.DataFrame, x_axis: str) -> tuple[np.ndarray, np.ndarray]:
    """Episode returns (y) against timesteps, episode index or wall-clock hours (x).

    :param data_frame: from ``baselines3.common.monitor.load_results`` (columns r, l, t)
    :param x_axis: "timesteps", "episodes" or "walltime_hrs"
    """
    y = data_frame["r"].to_numpy()
    if x_axis == X_TIMESTEPS:
        x = np.cumsum(data_frame["l"].to_numpy())
    elif x_axis == X_EPISODES:
        x = np.arange(len(data_frame))
    elif x_axis == X_WALLTIME:
        x = data_frame["t"].to_numpy() / 3600.0
    else:
        raise NotImplementedError(f"x_axis must be one of {POSSIBLE_X_AXES}, got {x_axis!r}")
    return x, y


def plot_curves(
    xy_list: Sequence[tuple[np.ndarray, np.ndarray]],
    x_axis: str,
    title: str,
    figsize: tuple[int, int] = (8, 2),
) -> Any:
    """Scatter each (x, y) curve, with its moving average over EPISODES_WINDOW episodes when long enough.

    :return: the matplotlib figure
    """
    import matplotlib.pyplot as plt

    if not xy_list or any(len(x) == 0 for x, _ in xy_list):
        raise ValueError("plot_curves needs at least one curve, and every curve needs at least one episode")
    figure = plt.figure(title, figsize=figsize)
    max_x = max(float(x[-1]) for x, _ in xy_list)
    for x, y in xy_list:
        plt.scatter(x, y, s=2)
        if x.shape[0] >= EPISODES_WINDOW:
            x_mean, y_mean = window_func(x, y, EPISODES_WINDOW, np.mean)
            plt.plot(x_mean, y_mean)
    plt.xlim(0, max_x)
    plt.title(title)
    plt.xlabel(x_axis)
    plt.ylabel("Episode Rewards")
    plt.tight_layout()
    return figure


def plot_results(
    dirs: Sequence[str],
    num_timesteps: int | None,
    x_axis: str,
    task_name: str,
    figsize: tuple[int, int] = (8, 2),
) -> Any:
    """Plot the Monitor logs found in each folder of `dirs`, one curve per folder.

    :param num_timesteps: keep only the episodes within this many timesteps (None: all)
    :param x_axis: "timesteps", "episodes" or "walltime_hrs"
    :param task_name: the plot title
    :return: the matplotlib figure
    """
    xy_list = []
    for folder in dirs:
        data_frame = load_results(folder)
        if num_timesteps is not None:
            data_frame = data_frame[data_frame["l"].cumsum() <= num_timesteps]
        xy_list.append(ts2xy(data_frame, x_axis))
    return plot_curves(xy_list, x_axis, task_name, figsize)


__all__ = [
    "EPISODES_WINDOW",
    "POSSIBLE_X_AXES",
    "X_EPISODES",
    "X_TIMESTEPS",
    "X_WALLTIME",
    "plot_curves",
    "plot_results",
    "rolling_window",
    "ts2xy",
    "window_func",
]

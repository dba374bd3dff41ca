"""Episode statistics: the ``Monitor`` env wrapper, its CSV log format and ``load_results``.

A monitor file is a CSV whose first line is a JSON comment ``#{"t_start": ..., "env_id": ...}``,
followed by a header row ``r,l,t[,extra keys]`` and one row per finished episode:
``r`` the episode return, ``l`` its length and ``t`` the wall-clock seconds since ``t_start``.
"""

from __future__ import annotations

import csv
import json
import os
import time
from glob import glob
from typing import Any, SupportsFloat, TextIO

import gymnasium as gym
import pandas

__all__ = ["LoadMonitorResultsError", "Monitor", "ResultsWriter", "get_monitor_files", "load_results"]


class LoadMonitorResultsError(Exception):
    """Raised when no monitor file can be found or read."""


class ResultsWriter:
    """Write episode rows to a monitor CSV file.

    :param filename: file or folder; ``monitor.csv`` is appended (as ``<name>.monitor.csv``, or
        ``<folder>/monitor.csv`` for an existing folder) unless the name already ends with it
    :param header: JSON-serialisable dict written on the first line
    :param extra_keys: columns written after ``r, l, t``
    :param override_existing: truncate an existing file (else append to it)
    """

    def __init__(
        self,
        filename: str = "",
        header: dict[str, Any] | None = None,
        extra_keys: tuple[str, ...] = (),
        override_existing: bool = True,
    ) -> None:
        filename = os.fspath(filename)
        if not filename.endswith(Monitor.EXT):
            if os.path.isdir(filename):
                filename = os.path.join(filename, Monitor.EXT)
            else:
                filename = f"{filename}.{Monitor.EXT}"
        self.filename = filename
        append = not override_existing and os.path.isfile(filename) and os.path.getsize(filename) > 0
        self.file_handler: TextIO = open(filename, "a" if append else "w", newline="")  # noqa: SIM115
        self.logger = csv.DictWriter(self.file_handler, fieldnames=("r", "l", "t", *extra_keys))
        if not append:
            self.file_handler.write("#" + json.dumps(header if header is not None else {}) + "\n")
            self.logger.writeheader()
        self.file_handler.flush()

    def write_row(self, epinfo: dict[str, Any]) -> None:
        """Write one episode row and flush (so a crash loses at most the current episode)."""
        self.logger.writerow(epinfo)
        self.file_handler.flush()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if not self.file_handler.closed:
            self.file_handler.close()


class Monitor(gym.Wrapper):
    """Record the return, length and duration of each episode.

    When an episode ends, ``info["episode"] = {"r": return, "l": length, "t": seconds since start}``
    is added to the ``info`` of that step and, if ``filename`` is given, a row is written to the
    monitor CSV. ``step`` is on the hot path, so it only keeps a running sum and a counter.

    :param env: the environment
    :param filename: where to write the CSV (None: no file)
    :param allow_early_resets: allow ``reset`` before the episode is over
    :param reset_keywords: keys that must be passed to ``reset`` (as keyword arguments or in
        ``options``) and are logged with each episode
    :param info_keywords: keys of the final step's ``info`` logged with each episode
    :param override_existing: truncate an existing file (else append to it)
    """

    EXT = "monitor.csv"

    def __init__(
        self,
        env: gym.Env,
        filename: str | None = None,
        allow_early_resets: bool = True,
        reset_keywords: tuple[str, ...] = (),
        info_keywords: tuple[str, ...] = (),
        override_existing: bool = True,
    ) -> None:
        super().__init__(env=env)
        self.t_start = time.time()
        self.results_writer: ResultsWriter | None = None
        if filename is not None:
            env_id = env.spec.id if env.spec is not None else None
            self.results_writer = ResultsWriter(
                filename,
                header={"t_start": self.t_start, "env_id": str(env_id)},
                extra_keys=tuple(reset_keywords) + tuple(info_keywords),
                override_existing=override_existing,
            )
        self.reset_keywords = tuple(reset_keywords)
        self.info_keywords = tuple(info_keywords)
        self.allow_early_resets = allow_early_resets
        self.needs_reset = True
        self.episode_returns: list[float] = []
        self.episode_lengths: list[int] = []
        self.episode_times: list[float] = []
        self.total_steps = 0
        self.current_reset_info: dict[str, Any] = {}
        # Running statistics of the current episode.
        self._ep_return = 0.0
        self._ep_len = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset the env and start a new episode; ``reset_keywords`` are read from kwargs or ``options``."""
        if not self.allow_early_resets and not self.needs_reset:
            raise RuntimeError(
                "Tried to reset an environment before the episode was over. To allow this, create the "
                "Monitor with allow_early_resets=True."
            )
        self._ep_return = 0.0
        self._ep_len = 0
        self.needs_reset = False
        if self.reset_keywords:
            options = kwargs.get("options") or {}
            for key in self.reset_keywords:
                value = kwargs.pop(key, None)
                if value is None:
                    value = options.get(key)
                if value is None:
                    raise ValueError(f"Monitor expected reset keyword {key!r} in reset(...) or reset(options=...)")
                self.current_reset_info[key] = value
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and, when the episode ends, add ``info["episode"]`` and log it."""
        if self.needs_reset:
            raise RuntimeError("Tried to step an environment that needs reset (call reset() first)")
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._ep_return += float(reward)
        self._ep_len += 1
        self.total_steps += 1
        if terminated or truncated:
            self._end_episode(info)
        return observation, reward, terminated, truncated, info

    def _end_episode(self, info: dict[str, Any]) -> None:
        self.needs_reset = True
        ep_return = round(self._ep_return, 6)
        ep_time = round(time.time() - self.t_start, 6)
        ep_info: dict[str, Any] = {"r": ep_return, "l": self._ep_len, "t": ep_time}
        for key in self.info_keywords:
            ep_info[key] = info[key]
        self.episode_returns.append(ep_return)
        self.episode_lengths.append(self._ep_len)
        self.episode_times.append(ep_time)
        if self.results_writer is not None:
            self.results_writer.write_row({**ep_info, **self.current_reset_info})
        info["episode"] = ep_info

    def close(self) -> None:
        """Close the env and the CSV file."""
        super().close()
        if self.results_writer is not None:
            self.results_writer.close()

    def get_total_steps(self) -> int:
        """Number of steps taken so far (all episodes)."""
        return self.total_steps

    def get_episode_rewards(self) -> list[float]:
        """Return of each finished episode."""
        return self.episode_returns

    def get_episode_lengths(self) -> list[int]:
        """Length of each finished episode."""
        return self.episode_lengths

    def get_episode_times(self) -> list[float]:
        """Seconds from creation to the end of each finished episode."""
        return self.episode_times


def get_monitor_files(path: str) -> list[str]:
    """All ``*monitor.csv`` files directly inside folder ``path``."""
    return sorted(glob(os.path.join(os.fspath(path), "*" + Monitor.EXT)))


def load_results(path: str) -> pandas.DataFrame:
    """Load every ``*monitor.csv`` in folder ``path`` into one DataFrame sorted by time.

    Columns: ``index`` (row number within its file), ``r``, ``l``, ``t`` (seconds since the earliest
    ``t_start`` of all files) and any extra logged keys.
    """
    monitor_files = get_monitor_files(path)
    if not monitor_files:
        raise LoadMonitorResultsError(f"No monitor files of the form *{Monitor.EXT} found in {path!r}")
    frames = []
    t_starts = []
    for file_name in monitor_files:
        with open(file_name) as file_handler:
            first_line = file_handler.readline()
            if not first_line.startswith("#"):
                raise LoadMonitorResultsError(
                    f"{file_name!r} is not a monitor file: its first line should be a '#{{...}}' JSON header"
                )
            header = json.loads(first_line[1:])
            frame = pandas.read_csv(file_handler, index_col=None)
        frame["t"] += header["t_start"]
        t_starts.append(header["t_start"])
        frames.append(frame)
    data_frame = pandas.concat(frames).sort_values("t", kind="stable").reset_index()
    data_frame["t"] -= min(t_starts)
    return data_frame

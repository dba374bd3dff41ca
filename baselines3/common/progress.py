"""Progress while `learn()` runs, for the command-line tools (`python -m baselines3`, `zoo.train`).

A progress bar on a terminal when tqdm is installed (drawn with rich when that is too); otherwise, e.g. in CI
logs or with output sent to a file, a plain line every few seconds with the steps done, the speed and the mean
return of recent episodes.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from typing import IO

from baselines3.common.callbacks import BaseCallback, ProgressBarCallback
from baselines3.common.utils import safe_mean

__all__ = ["ProgressLines", "training_progress"]


class ProgressLines(BaseCallback):
    """Prints `<done> / <total> steps (<%>), <steps/s> steps/s, mean return <r>, <s> s left` at most every
    `interval_s` seconds of training, and once more when training ends.

    :param interval_s: seconds between two lines (0: a line at every env step)
    :param file: where the lines go (default: standard output at the time of printing)
    """

    def __init__(self, interval_s: float = 5.0, file: IO[str] | None = None) -> None:
        super().__init__()
        if interval_s < 0:
            raise ValueError(f"interval_s must be >= 0 seconds, got {interval_s}")
        self.interval_s = interval_s
        self.file = file
        self._start = 0.0
        self._last = 0.0
        self._steps_at_start = 0
        self._total = 0

    def _on_training_start(self) -> None:
        self._start = self._last = time.perf_counter()
        self._steps_at_start = self.model.num_timesteps
        self._total = int(getattr(self.model, "_total_timesteps", 0) or self.locals.get("total_timesteps", 0))

    def _on_step(self) -> bool:
        now = time.perf_counter()
        if now - self._last >= self.interval_s:
            self._last = now
            self._print(now)
        return True

    def _on_training_end(self) -> None:
        self._print(time.perf_counter())

    def _print(self, now: float) -> None:
        done = self.model.num_timesteps
        elapsed = max(now - self._start, 1e-9)
        speed = (done - self._steps_at_start) / elapsed
        percent = min(100 * done / max(self._total, 1), 100)  # the last rollout may step past the total
        parts = [f"{done:,} / {self._total:,} steps ({percent:.0f}%)", f"{speed:,.0f} steps/s"]
        episodes = [info["r"] for info in (self.model.ep_info_buffer or [])]
        if episodes:
            parts.append(f"mean return {safe_mean(episodes):.1f} (last {len(episodes)} episodes)")
        if 0 < done < self._total and speed > 0:
            parts.append(f"{(self._total - done) / speed:.0f} s left")
        print("  " + ", ".join(parts), file=self.file or sys.stdout, flush=True)


def training_progress(interval_s: float = 5.0, bar: bool | None = None) -> BaseCallback:
    """The progress display for `learn(callback=...)`: a progress bar when `bar` is True, or, with `bar=None`,
    when standard output is a terminal and tqdm is installed; else `ProgressLines(interval_s)`."""
    if bar is None:
        bar = sys.stdout.isatty() and importlib.util.find_spec("tqdm") is not None
    return ProgressBarCallback() if bar else ProgressLines(interval_s)

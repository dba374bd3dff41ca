"""``VecVideoRecorder``: save videos of the envs' rgb frames while they run."""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvObs, VecEnvStepReturn, VecEnvWrapper

__all__ = ["VecVideoRecorder", "write_video"]

_INSTALL_HINT = (
    "VecVideoRecorder needs a video writer: `pip install moviepy` (mp4) or `pip install imageio[ffmpeg]` "
    "(mp4), or `pip install pillow` (GIF fallback)"
)


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _available_writers() -> list[str]:
    writers = []
    if _has_module("imageio") and _has_module("imageio_ffmpeg"):
        writers.append("imageio")
    if _has_module("moviepy"):
        writers.append("moviepy")
    if _has_module("PIL"):
        writers.append("pillow")
    return writers


def _write_with(writer: str, base_path: str, frames: list[np.ndarray], fps: float) -> str:
    if writer == "imageio":
        import imageio

        path = base_path + ".mp4"
        imageio.mimsave(path, frames, fps=fps)  # type: ignore[arg-type]
        return path
    if writer == "moviepy":
        try:
            from moviepy import ImageSequenceClip  # moviepy >= 2
        except ImportError:
            from moviepy.editor import ImageSequenceClip  # type: ignore[no-redef,unused-ignore]
        path = base_path + ".mp4"
        clip = ImageSequenceClip(frames, fps=fps)
        clip.write_videofile(path, logger=None)
        return path
    from PIL import Image

    path = base_path + ".gif"
    images = [Image.fromarray(np.asarray(frame, dtype=np.uint8)) for frame in frames]
    images[0].save(
        path,
        save_all=True,
        append_images=images[1:],
        duration=max(1, round(1000 / fps)),
        loop=0,
        optimize=False,
    )
    return path


def write_video(base_path: str, frames: list[np.ndarray], fps: float) -> str:
    """Write ``frames`` (H, W, 3 uint8) to ``base_path`` + ``.mp4`` (moviepy/imageio) or ``.gif`` (Pillow).

    :return: the path written
    """
    if not frames:
        raise ValueError("write_video got no frames")
    writers = _available_writers()
    if not writers:
        raise ImportError(_INSTALL_HINT)
    errors = []
    for writer in writers:
        try:
            return _write_with(writer, base_path, frames, fps)
        except (ImportError, RuntimeError, ValueError, OSError) as exc:  # e.g. no ffmpeg binary
            errors.append(f"{writer}: {exc}")
    raise RuntimeError("Could not write the video with any installed writer: " + "; ".join(errors))


class VecVideoRecorder(VecEnvWrapper):
    """Record videos of the envs (all envs tiled in one frame) when ``record_video_trigger(step)`` is True.

    ``step`` counts calls to ``step``; a recording starts at a step where the trigger fires (or at
    ``reset`` if ``record_video_trigger(0)``), lasts ``video_length`` steps and is written to
    ``video_folder/<name_prefix>-step-<start>-to-step-<end>.mp4`` (``.gif`` when only Pillow is
    installed). The envs must be created with ``render_mode="rgb_array"``.

    :param venv: the VecEnv to wrap
    :param video_folder: where videos are written (created if missing)
    :param record_video_trigger: function of the step count that says when to start recording
    :param video_length: number of steps per video
    :param name_prefix: start of the video file names
    """

    def __init__(
        self,
        venv: VecEnv,
        video_folder: str,
        record_video_trigger: Callable[[int], bool],
        video_length: int = 200,
        name_prefix: str = "rl-video",
    ) -> None:
        super().__init__(venv)
        if not _available_writers():
            raise ImportError(_INSTALL_HINT)
        if venv.render_mode != "rgb_array":
            raise ValueError(
                f"VecVideoRecorder needs envs created with render_mode='rgb_array', got {venv.render_mode!r} "
                "(e.g. gym.make(env_id, render_mode='rgb_array'); make_vec_env does this for registered ids)"
            )
        if video_length < 1:
            raise ValueError(f"video_length must be at least 1, got {video_length}")
        metadata: dict[str, Any] = {}
        with contextlib.suppress(AttributeError):
            metadata = venv.get_attr("metadata", indices=0)[0] or {}
        self.frames_per_sec = float(metadata.get("render_fps", 30) or 30)
        self.record_video_trigger = record_video_trigger
        self.video_folder = os.path.abspath(video_folder)
        os.makedirs(self.video_folder, exist_ok=True)
        self.name_prefix = name_prefix
        self.video_length = video_length
        self.step_id = 0
        self.recording = False
        self.recorded_frames: list[np.ndarray] = []
        self.video_path = ""
        self.video_paths: list[str] = []  # every file written so far
        self._start_step = 0

    def reset(self) -> VecEnvObs:
        obs = self.venv.reset()
        if not self.recording and self.record_video_trigger(self.step_id):
            self._start_recording()
        return obs

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        self.step_id += 1
        if self.recording:
            self._capture_frame()
            if len(self.recorded_frames) > self.video_length:
                self._stop_recording()
        elif self.record_video_trigger(self.step_id):
            self._start_recording()
        return obs, rewards, dones, infos

    def _start_recording(self) -> None:
        self.recording = True
        self.recorded_frames = []
        self._start_step = self.step_id
        self._capture_frame()

    def _capture_frame(self) -> None:
        frame = self.venv.render(mode="rgb_array")
        if frame is None:
            raise RuntimeError("VecVideoRecorder got no frame from render(mode='rgb_array')")
        self.recorded_frames.append(np.asarray(frame, dtype=np.uint8))

    def _stop_recording(self) -> None:
        """Write the frames recorded so far (if any) and stop recording."""
        if self.recording and self.recorded_frames:
            name = f"{self.name_prefix}-step-{self._start_step}-to-step-{self._start_step + self.video_length}"
            self.video_path = write_video(
                os.path.join(self.video_folder, name), self.recorded_frames, self.frames_per_sec
            )
            self.video_paths.append(self.video_path)
        self.recording = False
        self.recorded_frames = []

    def close(self) -> None:
        """Write any unfinished video, then close the envs."""
        self._stop_recording()
        self.venv.close()

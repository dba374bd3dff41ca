"""VecEnv wrappers: frame stacking, image transposition, NaN checks, dict key extraction, monitor, video."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from baselines3.common.monitor import Monitor, load_results
from baselines3.common.vec_env import (
    DummyVecEnv,
    VecCheckNan,
    VecExtractDictObs,
    VecFrameStack,
    VecMonitor,
    VecTransposeImage,
    VecVideoRecorder,
    vec_video_recorder,
)


class SeqEnv(gym.Env):
    """Observations filled with ``1 + t + 100 * episode`` (easy-to-read stacks); episodes last ``length``."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}

    def __init__(
        self,
        length: int = 2,
        space: spaces.Space | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.observation_space = space if space is not None else spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = spaces.Box(-1, 1, (1,), np.float32)
        self.length = length
        self.render_mode = render_mode
        self.episode = -1
        self.t = 0
        self.nan_at: int | None = None  # step at which the observation becomes NaN
        self.inf_reward_at: int | None = None
        self.steps = 0

    def _fill(self, space: spaces.Space) -> Any:
        value = 1 + self.t + 100 * self.episode
        if isinstance(space, spaces.Dict):
            return {key: self._fill(sub) for key, sub in space.spaces.items()}
        obs = np.full(space.shape, value % 256 if space.dtype == np.uint8 else value, dtype=space.dtype)
        if self.nan_at is not None and self.steps == self.nan_at and obs.dtype.kind == "f":
            obs[...] = np.nan
        return obs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.episode += 1
        self.t = 0
        return self._fill(self.observation_space), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        self.steps += 1
        reward = np.inf if self.steps == self.inf_reward_at else float(self.t)
        return (
            self._fill(self.observation_space),
            reward,
            self.t >= self.length,
            False,
            {"extra": self.t * 10},
        )

    def render(self) -> np.ndarray:
        return np.full((8, 8, 3), (self.steps * 37) % 256, dtype=np.uint8)


def image_space(shape: tuple[int, ...]) -> spaces.Box:
    return spaces.Box(0, 255, shape, np.uint8)


def zeros_action(n: int) -> np.ndarray:
    return np.zeros((n, 1), dtype=np.float32)


# ----- VecFrameStack --------------------------------------------------------------------------------------
def test_frame_stack_vector_obs_and_terminal_observation() -> None:
    venv = VecFrameStack(DummyVecEnv([lambda: SeqEnv(2), lambda: SeqEnv(3)]), n_stack=3)
    assert venv.observation_space.shape == (6,)
    obs = venv.reset()
    np.testing.assert_array_equal(obs, [[0, 0, 0, 0, 1, 1]] * 2)
    obs, _, dones, _ = venv.step(zeros_action(2))
    np.testing.assert_array_equal(obs, [[0, 0, 1, 1, 2, 2]] * 2)
    obs, _, dones, infos = venv.step(zeros_action(2))
    np.testing.assert_array_equal(dones, [True, False])
    # Env 0 restarted: zeros then the first obs of episode 1; its terminal obs is the full old stack.
    np.testing.assert_array_equal(obs[0], [0, 0, 0, 0, 101, 101])
    np.testing.assert_array_equal(infos[0]["terminal_observation"], [1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(obs[1], [1, 1, 2, 2, 3, 3])
    obs, _, _, _ = venv.step(zeros_action(2))
    np.testing.assert_array_equal(obs[0], [0, 0, 101, 101, 102, 102])
    np.testing.assert_array_equal(obs[1], [0, 0, 0, 0, 101, 101])
    venv.close()


def test_frame_stack_images_channel_last_and_first() -> None:
    last = VecFrameStack(DummyVecEnv([lambda: SeqEnv(2, image_space((5, 4, 1)))]), n_stack=4)
    assert last.observation_space.shape == (5, 4, 4)
    obs = last.reset()
    assert obs.shape == (1, 5, 4, 4) and obs.dtype == np.uint8
    obs, *_ = last.step(zeros_action(1))
    np.testing.assert_array_equal(obs[0, 0, 0], [0, 0, 1, 2])

    first = VecFrameStack(DummyVecEnv([lambda: SeqEnv(2, image_space((1, 5, 4)))]), n_stack=4)
    assert first.observation_space.shape == (4, 5, 4)
    first.reset()
    first.step(zeros_action(1))
    obs, _, dones, infos = first.step(zeros_action(1))
    assert dones[0]
    np.testing.assert_array_equal(obs[0, :, 0, 0], [0, 0, 0, 101])
    np.testing.assert_array_equal(infos[0]["terminal_observation"][:, 0, 0], [0, 1, 2, 3])

    forced = VecFrameStack(DummyVecEnv([lambda: SeqEnv(2, spaces.Box(-1, 1, (2, 3)))]), 2, channels_order="first")
    assert forced.observation_space.shape == (4, 3)
    with pytest.raises(ValueError, match="channels_order"):
        VecFrameStack(DummyVecEnv([SeqEnv]), 2, channels_order="middle")
    with pytest.raises(ValueError, match="n_stack"):
        VecFrameStack(DummyVecEnv([SeqEnv]), 0)


def test_frame_stack_dict_observations() -> None:
    space = spaces.Dict({"img": image_space((3, 3, 1)), "vec": spaces.Box(-np.inf, np.inf, (2,), np.float32)})
    venv = VecFrameStack(DummyVecEnv([lambda: SeqEnv(2, space)]), n_stack=2)
    assert venv.observation_space["img"].shape == (3, 3, 2)
    assert venv.observation_space["vec"].shape == (4,)
    obs = venv.reset()
    np.testing.assert_array_equal(obs["vec"][0], [0, 0, 1, 1])
    venv.step(zeros_action(1))
    obs, _, dones, infos = venv.step(zeros_action(1))
    assert dones[0]
    np.testing.assert_array_equal(infos[0]["terminal_observation"]["vec"], [2, 2, 3, 3])
    np.testing.assert_array_equal(infos[0]["terminal_observation"]["img"][0, 0], [2, 3])
    np.testing.assert_array_equal(obs["img"][0, 0, 0], [0, 101])


# ----- VecTransposeImage ----------------------------------------------------------------------------------
def test_transpose_image_box_and_terminal_obs() -> None:
    venv = VecTransposeImage(DummyVecEnv([lambda: SeqEnv(1, image_space((6, 4, 3))) for _ in range(2)]))
    assert venv.observation_space.shape == (3, 6, 4)
    obs = venv.reset()
    assert obs.shape == (2, 3, 6, 4) and obs.flags["C_CONTIGUOUS"]
    obs, _, dones, infos = venv.step(zeros_action(2))
    assert dones.all()
    assert infos[0]["terminal_observation"].shape == (3, 6, 4)
    image = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3)
    np.testing.assert_array_equal(VecTransposeImage.transpose_image(image), image.transpose(2, 0, 1))
    with pytest.raises(ValueError, match="image observation space"):
        VecTransposeImage(DummyVecEnv([SeqEnv]))
    with pytest.raises(ValueError, match="already channel-first"):
        VecTransposeImage(DummyVecEnv([lambda: SeqEnv(1, image_space((3, 6, 4)))]))


def test_transpose_image_dict() -> None:
    space = spaces.Dict({"img": image_space((6, 4, 3)), "vec": spaces.Box(-np.inf, np.inf, (2,), np.float32)})
    venv = VecTransposeImage(DummyVecEnv([lambda: SeqEnv(1, space)]))
    assert venv.image_space_keys == ["img"]
    assert venv.observation_space["img"].shape == (3, 6, 4)
    assert venv.observation_space["vec"].shape == (2,)
    obs = venv.reset()
    assert obs["img"].shape == (1, 3, 6, 4) and obs["vec"].shape == (1, 2)
    _, _, _, infos = venv.step(zeros_action(1))
    assert infos[0]["terminal_observation"]["img"].shape == (3, 6, 4)
    assert infos[0]["terminal_observation"]["vec"].shape == (2,)


# ----- VecCheckNan ----------------------------------------------------------------------------------------
def make_nan_venv(**kwargs: Any) -> VecCheckNan:
    venv = DummyVecEnv([lambda: SeqEnv(100) for _ in range(3)])
    venv.envs[1].unwrapped.nan_at = 3  # type: ignore[attr-defined]
    venv.envs[2].unwrapped.inf_reward_at = 2  # type: ignore[attr-defined]
    return VecCheckNan(venv, **kwargs)


def test_check_nan_raises_with_details() -> None:
    venv = make_nan_venv(raise_exception=True)
    venv.reset()
    venv.step(zeros_action(3))
    with pytest.raises(ValueError) as excinfo:
        venv.step(zeros_action(3))
    message = str(excinfo.value)
    assert "inf in rewards of env(s) [2]" in message and "step 2" in message
    with pytest.raises(ValueError, match=r"NaN in observations of env\(s\) \[1\].*step 3"):
        venv.step(zeros_action(3))
    with pytest.raises(ValueError, match=r"NaN in actions of env\(s\) \[0, 2\].*produced by the agent"):
        venv.step(np.array([[np.nan], [0.0], [np.nan]], dtype=np.float32))


def test_check_nan_warns_once_and_check_inf_flag() -> None:
    venv = make_nan_venv(warn_once=True)
    venv.reset()
    venv.step(zeros_action(3))
    with pytest.warns(UserWarning, match="inf in rewards"):
        venv.step(zeros_action(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        venv.step(zeros_action(3))  # NaN obs, but only the first problem is reported

    quiet = make_nan_venv(raise_exception=True, check_inf=False)
    quiet.reset()
    quiet.step(zeros_action(3))
    quiet.step(zeros_action(3))  # inf reward is not flagged
    with pytest.raises(ValueError, match="NaN in observations"):
        quiet.step(zeros_action(3))


def test_check_nan_dict_key() -> None:
    space = spaces.Dict({"a": spaces.Box(-np.inf, np.inf, (2,), np.float32), "b": spaces.Discrete(3)})
    inner = DummyVecEnv([lambda: SeqEnv(10, space)])
    inner.envs[0].unwrapped.nan_at = 1  # type: ignore[attr-defined]
    venv = VecCheckNan(inner, raise_exception=True)
    venv.reset()
    with pytest.raises(ValueError, match=r"NaN in observations\['a'\] of env\(s\) \[0\]"):
        venv.step(zeros_action(1))


# ----- VecExtractDictObs ----------------------------------------------------------------------------------
def test_extract_dict_obs() -> None:
    space = spaces.Dict({"a": spaces.Box(-np.inf, np.inf, (2,), np.float32), "b": spaces.Box(0, 1, (3,))})
    venv = VecExtractDictObs(DummyVecEnv([lambda: SeqEnv(1, space)]), "a")
    assert venv.observation_space == space["a"]
    assert venv.reset().shape == (1, 2)
    obs, _, _, infos = venv.step(zeros_action(1))
    np.testing.assert_array_equal(obs, [[101, 101]])
    np.testing.assert_array_equal(infos[0]["terminal_observation"], [2, 2])
    with pytest.raises(KeyError, match="'c'"):
        VecExtractDictObs(DummyVecEnv([lambda: SeqEnv(1, space)]), "c")
    with pytest.raises(TypeError, match="Dict observation space"):
        VecExtractDictObs(DummyVecEnv([SeqEnv]), "a")


# ----- VecMonitor -----------------------------------------------------------------------------------------
def test_vec_monitor_episode_info_and_csv(tmp_path: Path) -> None:
    venv = VecMonitor(
        DummyVecEnv([lambda: SeqEnv(2), lambda: SeqEnv(3)]),
        filename=str(tmp_path / "vec"),
        info_keywords=("extra",),
    )
    venv.reset()
    episodes = []
    for _ in range(6):
        _, _, dones, infos = venv.step(zeros_action(2))
        for index in np.flatnonzero(dones):
            episodes.append((int(index), infos[index]["episode"]))
    venv.close()
    # Rewards are 1, 2, ... within an episode.
    assert [(i, ep["r"], ep["l"], ep["extra"]) for i, ep in episodes] == [
        (0, 3.0, 2, 20),
        (1, 6.0, 3, 30),
        (0, 3.0, 2, 20),
        (0, 3.0, 2, 20),
        (1, 6.0, 3, 30),
    ]
    assert venv.episode_count == 5
    frame = load_results(str(tmp_path))
    assert list(frame.columns[:4]) == ["index", "r", "l", "t"]
    assert frame["l"].tolist() == [2, 3, 2, 2, 3] and frame["extra"].tolist() == [20, 30, 20, 20, 30]
    assert (frame["t"].diff().dropna() >= 0).all()


def test_vec_monitor_warns_when_envs_have_monitor() -> None:
    with pytest.warns(UserWarning, match="already wrapped in Monitor"):
        VecMonitor(DummyVecEnv([lambda: Monitor(SeqEnv())]))


# ----- VecVideoRecorder -----------------------------------------------------------------------------------
def test_video_recorder_writes_files(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    inner = DummyVecEnv([lambda: SeqEnv(4, render_mode="rgb_array") for _ in range(2)])
    venv = VecVideoRecorder(inner, str(tmp_path), record_video_trigger=lambda step: step % 10 == 0, video_length=5)
    assert venv.frames_per_sec == 25
    venv.reset()
    for _ in range(12):
        venv.step(zeros_action(2))
    venv.close()
    names = sorted(Path(path).name for path in venv.video_paths)
    assert len(names) == 2
    assert names[0].startswith("rl-video-step-0-to-step-5.") and names[1].startswith("rl-video-step-10-to-step-15.")
    assert all((tmp_path / name).stat().st_size > 0 for name in names)
    if names[0].endswith(".gif"):
        from PIL import Image

        with Image.open(tmp_path / names[0]) as gif:
            assert gif.n_frames == 6  # the frame at the start plus one per step
            assert gif.size == (16, 8)  # two 8x8 env frames side by side


def test_video_recorder_cartpole(tmp_path: Path) -> None:
    pytest.importorskip("pygame")  # CartPole draws its frames with pygame
    from baselines3.common.env_util import make_vec_env

    venv = VecVideoRecorder(make_vec_env("CartPole-v1", n_envs=1, seed=0), str(tmp_path), lambda step: step == 0, 10)
    venv.reset()
    for _ in range(12):
        venv.step(np.zeros(1, dtype=np.int64))
    venv.close()
    assert len(venv.video_paths) == 1 and Path(venv.video_paths[0]).stat().st_size > 0


def test_video_recorder_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        VecVideoRecorder(DummyVecEnv([SeqEnv]), str(tmp_path), lambda step: True)
    monkeypatch.setattr(vec_video_recorder, "_available_writers", lambda: [])
    with pytest.raises(ImportError, match="pip install moviepy"):
        VecVideoRecorder(DummyVecEnv([lambda: SeqEnv(render_mode="rgb_array")]), str(tmp_path), lambda step: True)

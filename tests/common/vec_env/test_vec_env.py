"""VecEnv semantics, checked on DummyVecEnv and SubprocVecEnv alike, plus the gymnasium vector adapter."""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from baselines3.common.env_util import is_wrapped, make_vec_env, unwrap_wrapper
from baselines3.common.monitor import Monitor
from baselines3.common.vec_env import (
    DummyVecEnv,
    GymnasiumVectorAdapter,
    SubprocVecEnv,
    VecEnv,
    VecEnvWorkerError,
    VecFrameStack,
    VecNormalize,
    is_vecenv_wrapped,
    unwrap_vec_normalize,
    unwrap_vec_wrapper,
    wrap_vector_env,
)
from baselines3.common.vec_env.base_vec_env import tile_images

# "fork" starts workers fastest; the default start method gets its own test below.
FAST_START = "fork" if "fork" in mp.get_all_start_methods() else None


class CounterEnv(gym.Env):
    """obs = [episode number, step in episode, a random draw made at reset]; reward = action.

    Episodes last ``episode_length`` steps and end terminated, or truncated when ``truncate``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, episode_length: int = 3, truncate: bool = False, render_mode: str | None = None) -> None:
        self.observation_space = spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = spaces.Discrete(5)
        self.episode_length = episode_length
        self.truncate = truncate
        self.render_mode = render_mode
        self.episode = -1
        self.t = 0
        self.draw = 0.0
        self.marker = "initial"

    def _obs(self) -> np.ndarray:
        return np.array([self.episode, self.t, self.draw], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.episode += 1
        self.t = int(options["start"]) if options and "start" in options else 0
        self.draw = float(self.np_random.uniform())
        return self._obs(), {"reset_episode": self.episode}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        ended = self.t >= self.episode_length
        return self._obs(), float(action), ended and not self.truncate, ended and self.truncate, {"t": self.t}

    def render(self) -> np.ndarray:
        frame = np.zeros((4, 6, 3), dtype=np.uint8)
        frame[..., 0] = self.t
        return frame

    def get_pid(self) -> int:
        return os.getpid()

    def add(self, a: int, b: int = 0) -> int:
        return a + b + self.episode_length

    def die(self) -> None:
        os._exit(3)


class DictCounterEnv(CounterEnv):
    """CounterEnv with a Dict observation: {"vec": the counter obs, "step": Discrete step}."""

    def __init__(self, episode_length: int = 3) -> None:
        super().__init__(episode_length)
        self.observation_space = spaces.Dict(
            {"vec": spaces.Box(-np.inf, np.inf, (3,), np.float32), "step": spaces.Discrete(100)}
        )

    def _obs(self) -> dict[str, Any]:  # type: ignore[override]
        return {"vec": super()._obs(), "step": self.t}


class FailingEnv(CounterEnv):
    """Raises in step number ``fail_at``."""

    def __init__(self, fail_at: int) -> None:
        super().__init__(episode_length=100)
        self.fail_at = fail_at
        self.steps = 0

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.steps += 1
        if self.steps == self.fail_at:
            raise ValueError(f"simulated failure at step {self.steps}")
        return super().step(action)


class MarkerWrapper(gym.Wrapper):
    """A wrapper to look for with env_is_wrapped."""


def make_venv(kind: str, env_fns: list, **kwargs: Any) -> VecEnv:
    if kind == "dummy":
        return DummyVecEnv(env_fns)
    return SubprocVecEnv(env_fns, start_method=kwargs.get("start_method", FAST_START))


@pytest.fixture(params=["dummy", "subproc"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


# ----- core semantics ---------------------------------------------------------------------------------
def test_auto_reset_terminal_observation_and_truncation(kind: str) -> None:
    venv = make_venv(kind, [lambda: CounterEnv(2), lambda: CounterEnv(3, truncate=True)])
    try:
        obs = venv.reset()
        assert obs.shape == (2, 3) and obs.dtype == np.float32
        np.testing.assert_array_equal(obs[:, :2], [[0, 0], [0, 0]])
        assert [info["reset_episode"] for info in venv.reset_infos] == [0, 0]

        obs, rewards, dones, infos = venv.step(np.array([1, 2]))
        assert rewards.dtype == np.float32 and dones.dtype == np.bool_
        np.testing.assert_array_equal(rewards, [1.0, 2.0])
        np.testing.assert_array_equal(dones, [False, False])
        assert infos[0]["TimeLimit.truncated"] is False and "terminal_observation" not in infos[0]
        np.testing.assert_array_equal(obs[:, :2], [[0, 1], [0, 1]])

        # Env 0 terminates at its second step: obs is the new episode's first, terminal obs the last one.
        obs, rewards, dones, infos = venv.step(np.array([3, 4]))
        np.testing.assert_array_equal(dones, [True, False])
        np.testing.assert_array_equal(obs[0, :2], [1, 0])
        np.testing.assert_array_equal(infos[0]["terminal_observation"][:2], [0, 2])
        assert infos[0]["TimeLimit.truncated"] is False
        assert infos[0]["t"] == 2
        assert venv.reset_infos[0]["reset_episode"] == 1

        # Env 1 is truncated at its third step.
        obs, rewards, dones, infos = venv.step(np.array([0, 0]))
        np.testing.assert_array_equal(dones, [False, True])
        assert infos[1]["TimeLimit.truncated"] is True
        np.testing.assert_array_equal(infos[1]["terminal_observation"][:2], [0, 3])
        np.testing.assert_array_equal(obs[1, :2], [1, 0])
        assert venv.reset_infos[1]["reset_episode"] == 1
    finally:
        venv.close()


def test_returned_obs_are_not_overwritten_by_later_steps(kind: str) -> None:
    venv = make_venv(kind, [lambda: CounterEnv(10), lambda: CounterEnv(10)])
    try:
        first = venv.reset()
        kept = first.copy()
        second, *_ = venv.step(np.array([0, 0]))
        third, *_ = venv.step(np.array([0, 0]))
        np.testing.assert_array_equal(first, kept)
        np.testing.assert_array_equal(second[:, 1], [1, 1])
        np.testing.assert_array_equal(third[:, 1], [2, 2])
    finally:
        venv.close()


def test_seed_is_applied_on_next_reset_only(kind: str) -> None:
    venvs = [make_venv(kind, [CounterEnv, CounterEnv, CounterEnv]) for _ in range(2)]
    try:
        assert venvs[0].seed(42) == [42, 43, 44]
        venvs[1].seed(42)
        first = [venv.reset() for venv in venvs]
        np.testing.assert_array_equal(first[0], first[1])
        assert len(set(first[0][:, 2].tolist())) == 3  # each env has its own seed
        again = venvs[0].reset()  # no new seed: the generators continue
        assert not np.allclose(again[:, 2], first[0][:, 2])
        reference = CounterEnv()
        reference.reset(seed=42)
        assert first[0][0, 2] == pytest.approx(reference.draw)
    finally:
        for venv in venvs:
            venv.close()


def test_set_options_used_once(kind: str) -> None:
    venv = make_venv(kind, [lambda: CounterEnv(10), lambda: CounterEnv(10)])
    try:
        venv.set_options([{"start": 4}, {"start": 7}])
        np.testing.assert_array_equal(venv.reset()[:, 1], [4, 7])
        np.testing.assert_array_equal(venv.reset()[:, 1], [0, 0])
        venv.set_options({"start": 2})
        np.testing.assert_array_equal(venv.reset()[:, 1], [2, 2])
        with pytest.raises(ValueError, match="list of 2 dicts"):
            venv.set_options([{}])
    finally:
        venv.close()


def test_attribute_and_method_access(kind: str) -> None:
    venv = make_venv(kind, [lambda: MarkerWrapper(CounterEnv(2)), lambda: CounterEnv(5)])
    try:
        assert venv.get_attr("episode_length") == [2, 5]
        assert venv.get_attr("episode_length", indices=1) == [5]
        venv.set_attr("marker", "changed", indices=[1])
        assert venv.get_attr("marker") == ["initial", "changed"]
        # set_attr reaches through wrappers to the attribute's owner
        assert venv.env_method("add", 1, b=10) == [13, 16]
        assert venv.env_method("add", 1, indices=[0]) == [3]
        assert venv.env_is_wrapped(MarkerWrapper) == [True, False]
        assert venv.env_is_wrapped(MarkerWrapper, indices=1) == [False]
        assert venv.has_attr("episode_length") and not venv.has_attr("no_such_attribute")
        with pytest.raises(AttributeError, match="no_such_attribute"):
            venv.get_attr("no_such_attribute")
        with pytest.raises(IndexError, match="out of range"):
            venv.get_attr("marker", indices=5)
        assert venv.render_mode is None
    finally:
        venv.close()


def test_dict_observations(kind: str) -> None:
    venv = make_venv(kind, [lambda: DictCounterEnv(2), lambda: DictCounterEnv(3)])
    try:
        obs = venv.reset()
        assert set(obs) == {"vec", "step"}
        assert obs["vec"].shape == (2, 3) and obs["step"].shape == (2,)
        venv.step(np.array([0, 0]))
        obs, _, dones, infos = venv.step(np.array([0, 0]))
        np.testing.assert_array_equal(dones, [True, False])
        np.testing.assert_array_equal(obs["step"], [0, 2])
        assert infos[0]["terminal_observation"]["step"] == 2
        np.testing.assert_array_equal(infos[0]["terminal_observation"]["vec"][:2], [0, 2])
    finally:
        venv.close()


def test_render_rgb_array_tiles_frames(kind: str) -> None:
    venv = make_venv(kind, [lambda: CounterEnv(5, render_mode="rgb_array") for _ in range(3)])
    try:
        venv.reset()
        venv.step(np.zeros(3, dtype=int))
        assert venv.render_mode == "rgb_array"
        frames = venv.get_images()
        assert len(frames) == 3 and frames[0] is not None and frames[0].shape == (4, 6, 3)
        image = venv.render(mode="rgb_array")
        assert image is not None
        assert image.shape == (8, 12, 3)  # 3 frames on a 2x2 grid
        assert image[:4, :6, 0].max() == 1 and image[4:, 6:].max() == 0  # last cell is padding
    finally:
        venv.close()


def test_tile_images_layout() -> None:
    images = np.stack([np.full((2, 3, 1), value, dtype=np.uint8) for value in range(1, 6)])
    tiled = tile_images(images)
    assert tiled.shape == (4, 9, 1)
    assert tiled[0, 0, 0] == 1 and tiled[0, 3, 0] == 2 and tiled[0, 6, 0] == 3
    assert tiled[2, 0, 0] == 4 and tiled[2, 3, 0] == 5 and tiled[2, 6, 0] == 0


def test_dummy_vec_env_rejects_bad_env_fns() -> None:
    env = CounterEnv()
    with pytest.raises(ValueError, match="same env instance"):
        DummyVecEnv([lambda: env, lambda: env])
    with pytest.raises(TypeError, match="functions that create envs"):
        DummyVecEnv([CounterEnv()])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="at least one"):
        DummyVecEnv([])


def test_close_is_idempotent(kind: str) -> None:
    venv = make_venv(kind, [CounterEnv])
    venv.reset()
    venv.close()
    venv.close()


# ----- SubprocVecEnv failure handling -----------------------------------------------------------------
@pytest.mark.timeout(30)
def test_worker_exception_names_env_and_error() -> None:
    venv = SubprocVecEnv(
        [lambda: FailingEnv(fail_at=2), lambda: CounterEnv(100), lambda: CounterEnv(100)],
        start_method=FAST_START,
    )
    try:
        venv.reset()
        venv.step(np.array([0, 0, 0]))
        start = time.monotonic()
        with pytest.raises(VecEnvWorkerError) as excinfo:
            venv.step(np.array([0, 0, 0]))
        assert time.monotonic() - start < 5
        message = str(excinfo.value)
        assert "Env 0" in message and "ValueError" in message and "simulated failure at step 2" in message
        assert "Traceback" in message and "in step" in message  # the worker's traceback text
        assert excinfo.value.env_index == 0
        assert isinstance(excinfo.value.__cause__, ValueError)
        # The other workers' replies were consumed: the envs stay usable after the error.
        assert venv.get_attr("t") == [1, 2, 2]
    finally:
        venv.close()


@pytest.mark.timeout(30)
def test_env_creation_error_is_reported() -> None:
    def broken() -> gym.Env:
        raise RuntimeError("cannot build this env")

    with pytest.raises(VecEnvWorkerError, match=r"Env 1 raised RuntimeError .*cannot build this env"):
        SubprocVecEnv([CounterEnv, broken], start_method=FAST_START)


@pytest.mark.timeout(30)
def test_killed_worker_raises_instead_of_hanging() -> None:
    venv = SubprocVecEnv([CounterEnv, CounterEnv], start_method=FAST_START)
    try:
        venv.reset()
        pid = venv.env_method("get_pid", indices=1)[0]
        os.kill(pid, signal.SIGKILL)
        start = time.monotonic()
        with pytest.raises(VecEnvWorkerError, match=r"env 1 .*killed by signal SIGKILL"):
            venv.step(np.array([0, 0]))
        assert time.monotonic() - start < 5
        with pytest.raises(VecEnvWorkerError, match="earlier failure"):
            venv.reset()
    finally:
        start = time.monotonic()
        venv.close()
        venv.close()
        assert time.monotonic() - start < 10


@pytest.mark.timeout(30)
def test_worker_exiting_during_step_raises() -> None:
    venv = SubprocVecEnv([CounterEnv, CounterEnv], start_method=FAST_START)
    try:
        venv.reset()
        with pytest.raises(VecEnvWorkerError, match=r"env 0 .*exited with code 3"):
            venv.env_method("die", indices=0)
    finally:
        venv.close()


@pytest.mark.timeout(60)
def test_subproc_default_start_method() -> None:
    venv = SubprocVecEnv([lambda: CounterEnv(2), lambda: CounterEnv(2)])
    try:
        assert all(process.is_alive() for process in venv.processes)
        venv.seed(3)
        obs = venv.reset()
        _, _, dones, infos = venv.step(np.array([1, 1]))
        _, _, dones, infos = venv.step(np.array([1, 1]))
        assert dones.all() and infos[1]["terminal_observation"][1] == 2
        reference = CounterEnv()
        reference.reset(seed=4)
        assert obs[1, 2] == pytest.approx(reference.draw)
    finally:
        venv.close()


def test_subproc_unpicklable_env_fn_fails_cleanly() -> None:
    lock = threading.Lock()  # cannot be pickled, so the env function cannot reach a spawned worker
    with pytest.raises(TypeError, match="lock"):
        SubprocVecEnv([lambda: CounterEnv(lock is None), CounterEnv], start_method="spawn")


def test_subproc_rejects_unknown_start_method() -> None:
    with pytest.raises(ValueError, match="start_method"):
        SubprocVecEnv([CounterEnv], start_method="teleport")


# ----- wrappers' attribute lookup -----------------------------------------------------------------------
def test_wrapper_attribute_lookup_and_unwrapping() -> None:
    base = DummyVecEnv([CounterEnv, CounterEnv])
    norm = VecNormalize(base)
    stacked = VecFrameStack(norm, n_stack=2)
    assert stacked.n_stack == 2
    assert stacked.training is True  # found on VecNormalize below
    assert stacked.envs is base.envs  # found on DummyVecEnv at the bottom
    assert stacked.unwrapped is base
    assert unwrap_vec_normalize(stacked) is norm
    assert unwrap_vec_wrapper(stacked, VecFrameStack) is stacked
    assert is_vecenv_wrapped(stacked, VecNormalize) and not is_vecenv_wrapped(base, VecNormalize)
    with pytest.raises(AttributeError, match="no_such_attribute"):
        _ = stacked.no_such_attribute
    # Two VecNormalize below: `obs_rms` is ambiguous.
    doubled = VecFrameStack(VecNormalize(VecNormalize(DummyVecEnv([CounterEnv]))), n_stack=2)
    with pytest.raises(AttributeError, match="ambiguous"):
        _ = doubled.obs_rms
    assert stacked.get_attr("episode_length") == [3, 3]
    stacked.close()
    doubled.close()


def test_wrapper_rejects_non_vecenv() -> None:
    with pytest.raises(TypeError, match="DummyVecEnv"):
        VecNormalize(CounterEnv())  # type: ignore[arg-type]


# ----- make_vec_env -------------------------------------------------------------------------------------
def test_make_vec_env_monitor_seeds_and_files(tmp_path: Path) -> None:
    venv = make_vec_env("CartPole-v1", n_envs=3, seed=5, monitor_dir=str(tmp_path), start_index=2)
    other = make_vec_env("CartPole-v1", n_envs=3, seed=5)
    try:
        assert isinstance(venv, DummyVecEnv) and venv.num_envs == 3
        assert venv.env_is_wrapped(Monitor) == [True, True, True]
        assert venv.render_mode == "rgb_array"
        np.testing.assert_array_equal(venv.reset(), other.reset())
        assert sorted(os.listdir(tmp_path)) == ["2.monitor.csv", "3.monitor.csv", "4.monitor.csv"]
        # Env i is reset with seed + i (the start_index does not shift the seeds).
        expected, _ = gym.make("CartPole-v1").reset(seed=6)
        fresh = make_vec_env("CartPole-v1", n_envs=2, seed=5, start_index=2)
        np.testing.assert_array_equal(fresh.reset()[1], expected)
        fresh.close()
    finally:
        venv.close()
        other.close()


def test_make_vec_env_callable_and_wrapper() -> None:
    venv = make_vec_env(
        CounterEnv,
        n_envs=2,
        env_kwargs={"episode_length": 7},
        wrapper_class=gym.wrappers.TimeLimit,
        wrapper_kwargs={"max_episode_steps": 4},
        vec_env_cls=DummyVecEnv,
    )
    assert venv.get_attr("episode_length") == [7, 7]
    assert venv.env_is_wrapped(gym.wrappers.TimeLimit) == [True, True]
    venv.reset()
    for _ in range(3):
        _, _, dones, _ = venv.step(np.zeros(2, dtype=int))
        assert not dones.any()
    _, _, dones, infos = venv.step(np.zeros(2, dtype=int))
    assert dones.all() and infos[0]["TimeLimit.truncated"] is True
    env0 = venv.envs[0]  # type: ignore[attr-defined]
    # wrapper_class goes outside Monitor, so Monitor does not see the truncation it adds
    assert isinstance(env0, gym.wrappers.TimeLimit) and isinstance(env0.env, Monitor)
    assert "episode" not in infos[0]
    assert is_wrapped(env0, Monitor) and isinstance(unwrap_wrapper(env0, Monitor), Monitor)
    assert unwrap_wrapper(env0, MarkerWrapper) is None
    venv.close()


def test_make_vec_env_bad_id_gives_gymnasium_error() -> None:
    with pytest.raises(gym.error.Error, match="CartPol"):
        make_vec_env("CartPol-v1", n_envs=2, vec_env_cls=SubprocVecEnv)
    with pytest.raises(ValueError, match="n_envs"):
        make_vec_env("CartPole-v1", n_envs=0)


@pytest.mark.timeout(60)
def test_make_vec_env_subproc() -> None:
    venv = make_vec_env(
        "CartPole-v1",
        n_envs=2,
        seed=1,
        vec_env_cls=SubprocVecEnv,
        vec_env_kwargs={"start_method": FAST_START},
    )
    reference = make_vec_env("CartPole-v1", n_envs=2, seed=1)
    try:
        np.testing.assert_array_equal(venv.reset(), reference.reset())
        actions = np.array([0, 1])
        for _ in range(30):
            obs, rewards, dones, _ = venv.step(actions)
            ref_obs, ref_rewards, ref_dones, _ = reference.step(actions)
            np.testing.assert_array_equal(obs, ref_obs)
            np.testing.assert_array_equal(rewards, ref_rewards)
            np.testing.assert_array_equal(dones, ref_dones)
    finally:
        venv.close()
        reference.close()


# ----- gymnasium vector adapter -------------------------------------------------------------------------
def _compare_with_dummy(vector_env: gym.vector.VectorEnv, n_envs: int, n_steps: int = 150) -> int:
    """Step an adapted gymnasium vector env and a DummyVecEnv side by side; return the number of dones."""
    adapter = wrap_vector_env(vector_env)
    dummy = DummyVecEnv([lambda: gym.make("CartPole-v1", max_episode_steps=15) for _ in range(n_envs)])
    rng = np.random.default_rng(0)
    n_dones = 0
    try:
        adapter.seed(7)
        dummy.seed(7)
        np.testing.assert_array_equal(adapter.reset(), dummy.reset())
        for _ in range(n_steps):
            actions = rng.integers(0, 2, size=n_envs)
            obs, rewards, dones, infos = adapter.step(actions)
            ref_obs, ref_rewards, ref_dones, ref_infos = dummy.step(actions)
            np.testing.assert_array_equal(obs, ref_obs)
            np.testing.assert_array_equal(rewards, ref_rewards)
            assert rewards.dtype == np.float32 and dones.dtype == np.bool_
            np.testing.assert_array_equal(dones, ref_dones)
            for info, ref_info in zip(infos, ref_infos):
                assert info["TimeLimit.truncated"] == ref_info["TimeLimit.truncated"]
                if "terminal_observation" in ref_info:
                    np.testing.assert_array_equal(info["terminal_observation"], ref_info["terminal_observation"])
                else:
                    assert "terminal_observation" not in info
            n_dones += int(dones.sum())
    finally:
        adapter.close()
        dummy.close()
    return n_dones


@pytest.mark.parametrize("mode", ["NextStep", "SameStep", "Disabled"])
def test_gymnasium_sync_vector_env_matches_dummy(mode: str) -> None:
    vector_env = gym.make_vec(
        "CartPole-v1",
        num_envs=3,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": mode},
        max_episode_steps=15,
    )
    assert _compare_with_dummy(vector_env, 3) > 5


@pytest.mark.timeout(60)
def test_gymnasium_async_vector_env_matches_dummy() -> None:
    vector_env = gym.vector.AsyncVectorEnv([lambda: gym.make("CartPole-v1", max_episode_steps=15) for _ in range(2)])
    assert _compare_with_dummy(vector_env, 2, n_steps=60) > 2


def test_gymnasium_episode_statistics_wrapper_is_flagged_where_the_adapter_breaks_it() -> None:
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    def make(mode: AutoresetMode) -> gym.vector.VectorEnv:
        return RecordEpisodeStatistics(gym.vector.SyncVectorEnv([lambda: CounterEnv(2)], autoreset_mode=mode))

    with pytest.warns(UserWarning, match="VecMonitor"):
        GymnasiumVectorAdapter(make(AutoresetMode.NEXT_STEP)).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GymnasiumVectorAdapter(make(AutoresetMode.SAME_STEP)).close()


def test_gymnasium_async_vector_env_calls_methods_on_all_envs_or_refuses() -> None:
    """gymnasium's call() reaches every env, so a call for some of them would silently change the others."""
    adapter = GymnasiumVectorAdapter(gym.vector.AsyncVectorEnv([lambda: CounterEnv(2), lambda: CounterEnv(4)]))
    try:
        assert adapter.env_method("add", 1) == [3, 5]
        assert adapter.env_method("add", 1, indices=[1, 0]) == [5, 3]
        with pytest.raises(NotImplementedError, match=r"env_method\('add', indices=\[1\]\).*all of its envs"):
            adapter.env_method("add", 1, indices=[1])
    finally:
        adapter.close()


def test_gymnasium_adapter_attributes() -> None:
    vector_env = gym.vector.SyncVectorEnv([lambda: MarkerWrapper(CounterEnv(2)), lambda: CounterEnv(4)])
    adapter = GymnasiumVectorAdapter(vector_env)
    assert adapter.num_envs == 2 and adapter.observation_space.shape == (3,)
    assert adapter.get_attr("episode_length") == [2, 4]
    adapter.set_attr("marker", "x", indices=1)
    assert adapter.get_attr("marker") == ["initial", "x"]
    assert adapter.env_method("add", 1, indices=[1]) == [5]
    assert adapter.env_is_wrapped(MarkerWrapper) == [True, False]
    adapter.reset()
    assert adapter.reset_infos[1]["reset_episode"] == 0
    adapter.reset()
    assert [info["reset_episode"] for info in adapter.reset_infos] == [1, 1]
    with pytest.raises(TypeError, match="DummyVecEnv"):
        wrap_vector_env(CounterEnv())  # type: ignore[arg-type]
    adapter.close()


# ----- documentation examples run -----------------------------------------------------------------------
def test_docs_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = Path(__file__).resolve().parents[3] / "docs" / "vec_envs.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.DOTALL)
    assert blocks, "docs/vec_envs.md has no python examples"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__docs__"}  # blocks build on each other, like the page
    for block in blocks:
        exec(compile(block, str(doc), "exec"), namespace)
    assert (tmp_path / "vec_normalize.json").read_text().startswith("{")
    assert os.listdir(tmp_path / "videos")

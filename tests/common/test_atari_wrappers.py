"""Atari preprocessing (``baselines3.common.atari_wrappers``) and ``make_atari_env`` on real ROMs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

ale_py = pytest.importorskip("ale_py")
cv2 = pytest.importorskip("cv2")

from baselines3.common.atari_wrappers import (  # noqa: E402
    AtariWrapper,
    ClipRewardEnv,
    EpisodicLifeEnv,
    FireResetEnv,
    MaxAndSkipEnv,
    NoopResetEnv,
    StickyActionEnv,
    WarpFrame,
)
from baselines3.common.env_util import make_atari_env, make_vec_env, register_ale_envs_if_needed  # noqa: E402
from baselines3.common.monitor import Monitor  # noqa: E402
from baselines3.common.vec_env import DummyVecEnv, VecFrameStack  # noqa: E402

gym.register_envs(ale_py)

PONG = "PongNoFrameskip-v4"
BREAKOUT = "BreakoutNoFrameskip-v4"
FIRE = 1  # action index of FIRE in Pong and Breakout


class Recorder(gym.Wrapper):
    """Record, for every emulator frame, the action taken, the reward and the screen (gray and RGB)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.clear()

    def clear(self) -> None:
        self.actions: list[int] = []
        self.rewards: list[float] = []
        self.gray: list[np.ndarray] = []
        self.rgb: list[np.ndarray] = []

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.actions.append(int(action))
        self.rewards.append(float(reward))
        base: Any = self.env.unwrapped
        self.gray.append(base.ale.getScreenGrayscale().copy())
        self.rgb.append(np.array(obs, copy=True))
        return obs, reward, terminated, truncated, info


def lives(env: Any) -> int:
    return int(env.unwrapped.ale.lives())


def episode_frame(env: Any) -> int:
    return int(env.unwrapped.ale.getEpisodeFrameNumber())


def resize84(frame: np.ndarray) -> np.ndarray:
    return cv2.resize(frame, (84, 84), interpolation=cv2.INTER_AREA)[:, :, None]


# --- AtariWrapper: observations, frame skip, max-pooling ---------------------------------------------------


@pytest.mark.parametrize("env_id", [PONG, BREAKOUT])
def test_observations_are_84x84x1_uint8(env_id: str) -> None:
    env = AtariWrapper(gym.make(env_id))
    assert env.observation_space == gym.spaces.Box(0, 255, (84, 84, 1), np.uint8)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (84, 84, 1) and obs.dtype == np.uint8
    for _ in range(5):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert obs.shape == (84, 84, 1) and obs.dtype == np.uint8
        assert env.observation_space.contains(obs)
    assert obs.max() > obs.min()  # a real picture, not a blank one


def test_max_pooling_of_the_last_two_frames() -> None:
    recorder = Recorder(gym.make(PONG))
    env = AtariWrapper(recorder, noop_max=0, terminal_on_life_loss=False, clip_reward=False)
    env.reset(seed=0)
    env.action_space.seed(0)
    pooled_differs_from_last = 0
    for _ in range(40):
        recorder.clear()
        obs, reward, *_ = env.step(env.action_space.sample())
        assert recorder.actions == [recorder.actions[0]] * 4
        assert reward == sum(recorder.rewards)
        expected = resize84(np.maximum(recorder.gray[-2], recorder.gray[-1]))
        np.testing.assert_array_equal(obs, expected)
        pooled_differs_from_last += int(not np.array_equal(obs, resize84(recorder.gray[-1])))
    assert pooled_differs_from_last > 0  # the max really mixes in the previous frame (moving ball)


def test_grayscale_is_the_luminance_of_the_rgb_frame() -> None:
    # The pipeline grayscales with the emulator; WarpFrame with OpenCV on the RGB frame: both must agree.
    recorder = Recorder(gym.make(BREAKOUT))
    recorder.reset(seed=0)
    for _ in range(20):
        recorder.step(FIRE)
    for gray, rgb in zip(recorder.gray, recorder.rgb):
        np.testing.assert_array_equal(gray, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


@pytest.mark.parametrize("frame_skip", [1, 3, 4])
def test_frame_skip_counts_emulator_steps(frame_skip: int) -> None:
    recorder = Recorder(gym.make(PONG))
    env = AtariWrapper(recorder, frame_skip=frame_skip)
    env.reset(seed=0)
    for action in [0, 2, 3, 5]:
        recorder.clear()
        before = episode_frame(env)
        env.step(action)
        assert recorder.actions == [action] * frame_skip
        assert episode_frame(env) - before == frame_skip


def test_max_and_skip_env_on_its_own() -> None:
    recorder = Recorder(gym.make(PONG))
    env = MaxAndSkipEnv(recorder, skip=4)
    env.reset(seed=0)
    for action in [2, 3, 2, 3, 0]:
        recorder.clear()
        obs, reward, *_ = env.step(action)
        assert recorder.actions == [action] * 4
        assert reward == sum(recorder.rewards)
        np.testing.assert_array_equal(obs, np.maximum(recorder.rgb[-2], recorder.rgb[-1]))
    recorder = Recorder(gym.make(PONG))
    single = MaxAndSkipEnv(recorder, skip=1)
    single.reset(seed=0)
    obs, *_ = single.step(2)
    np.testing.assert_array_equal(obs, recorder.rgb[-1])


def test_warp_frame_on_its_own() -> None:
    env = WarpFrame(gym.make(BREAKOUT), width=64, height=48)
    assert env.observation_space.shape == (48, 64, 1)
    env.reset(seed=0)
    obs, *_ = env.step(FIRE)
    base: Any = env.unwrapped
    expected = cv2.resize(base.ale.getScreenGrayscale(), (64, 48), interpolation=cv2.INTER_AREA)
    assert obs.shape == (48, 64, 1) and obs.dtype == np.uint8
    np.testing.assert_array_equal(obs[:, :, 0], expected)


# --- resets: no-ops, FIRE, episodic life ------------------------------------------------------------------


def _reset_actions(env: gym.Env, recorder: Recorder, seed: int) -> list[int]:
    recorder.clear()
    env.reset(seed=seed)
    return recorder.actions


def test_noop_reset_takes_1_to_noop_max_noops() -> None:
    recorder = Recorder(gym.make(PONG))
    env = AtariWrapper(recorder, noop_max=8)
    counts = []
    for seed in range(8):
        actions = _reset_actions(env, recorder, seed)
        n_noops = len(actions) - 8
        # no-ops first, then FireResetEnv's FIRE step and action-2 step (Pong has FIRE): 4 frames each
        assert actions == [0] * n_noops + [FIRE] * 4 + [2] * 4
        assert 1 <= n_noops <= 8
        counts.append(n_noops)
    assert len(set(counts)) > 2  # random, not a fixed count
    assert _reset_actions(env, recorder, 3) == [0] * counts[3] + [FIRE] * 4 + [2] * 4  # same seed, same count

    recorder = Recorder(gym.make(PONG))
    noop_env = NoopResetEnv(recorder, noop_max=5)
    counts = [len(_reset_actions(noop_env, recorder, seed)) for seed in range(8)]
    assert all(1 <= count <= 5 for count in counts) and len(set(counts)) > 1
    assert set(recorder.actions) == {0}
    noop_env.override_num_noops = 7
    assert _reset_actions(noop_env, recorder, 0) == [0] * 7
    assert _reset_actions(NoopResetEnv(recorder, noop_max=0), recorder, 0) == []


def test_fire_reset_starts_breakout() -> None:
    # Without FIRE the ball never comes: NOOPs lose no life.
    idle = MaxAndSkipEnv(gym.make(BREAKOUT))
    idle.reset(seed=0)
    for _ in range(300):
        idle.step(0)
    assert lives(idle) == 5
    # With FireResetEnv the ball is launched at reset, and NOOPs soon lose a life.
    recorder = Recorder(gym.make(BREAKOUT))
    env = FireResetEnv(MaxAndSkipEnv(recorder))
    env.reset(seed=0)
    assert recorder.actions == [FIRE] * 4 + [2] * 4  # FIRE, then action 2, as in SB3
    for _ in range(300):
        env.step(0)
        if lives(env) < 5:
            break
    assert lives(env) == 4


def test_episodic_life_ends_episode_but_continues_the_game() -> None:
    monitor = Monitor(gym.make(BREAKOUT))
    env = AtariWrapper(monitor, clip_reward=False)
    env.reset(seed=0)
    for expected_lives in [4, 3, 2, 1]:
        for _ in range(500):
            _, _, terminated, truncated, info = env.step(0)
            if terminated:
                break
        assert terminated and not truncated
        assert lives(env) == expected_lives
        assert "episode" not in info and monitor.episode_returns == []  # the game is not over
        frame = episode_frame(env)
        env.reset()
        assert lives(env) == expected_lives  # same game, not restarted
        assert episode_frame(env) > frame
    for _ in range(500):  # last life: the real game over
        _, _, terminated, _, info = env.step(0)
        if terminated:
            break
    assert terminated and "episode" in info and len(monitor.episode_returns) == 1
    env.reset()
    assert lives(env) == 5 and episode_frame(env) < 100  # a new game


def test_episodic_life_reset_with_seed_or_without_life_loss_restarts_the_game() -> None:
    env = EpisodicLifeEnv(FireResetEnv(MaxAndSkipEnv(gym.make(BREAKOUT))))
    env.reset(seed=0)
    for _ in range(500):
        *_, terminated, _, _ = env.step(0)
        if terminated:
            break
    assert lives(env) == 4 and not env.was_real_done
    env.reset(seed=1)
    assert lives(env) == 5
    for _ in range(5):
        env.step(0)
    env.reset()  # an early reset (no life lost) starts a new game too
    assert lives(env) == 5 and episode_frame(env) < 20


# --- rewards and sticky actions ---------------------------------------------------------------------------


class RewardSequenceEnv(gym.Env):
    """Gives the rewards of a fixed list, one per step."""

    observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, rewards: list[float]) -> None:
        self.rewards = rewards
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action: Any) -> Any:
        reward = self.rewards[self.t]
        self.t += 1
        return np.zeros(1, np.float32), reward, self.t == len(self.rewards), False, {}


def test_clip_reward_to_sign() -> None:
    env = ClipRewardEnv(RewardSequenceEnv([-3.5, 0.0, 2.0, 0.25, -0.01, 1.0]))
    env.reset(seed=0)
    assert [env.step(0)[1] for _ in range(6)] == [-1.0, 0.0, 1.0, 1.0, -1.0, 1.0]


def test_agent_sees_clipped_rewards_while_monitor_sees_game_scores() -> None:
    # Space Invaders scores 5 to 30 points per invader: clipping shows.
    recorder = Recorder(gym.make("SpaceInvadersNoFrameskip-v4"))
    monitor = Monitor(recorder)
    env = AtariWrapper(monitor, terminal_on_life_loss=False)
    env.reset(seed=0)
    env.action_space.seed(0)
    clipped: list[float] = []
    for _ in range(3000):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        clipped.append(float(reward))
        if terminated or truncated:
            break
    assert "episode" in info
    assert set(clipped) <= {0.0, 1.0} and sum(clipped) > 0
    assert info["episode"]["r"] == sum(recorder.rewards) > sum(clipped)


def test_sticky_actions() -> None:
    recorder = Recorder(gym.make(PONG))
    always = StickyActionEnv(recorder, action_repeat_probability=1.0)
    always.reset(seed=0)
    for action in [2, 3, 4]:
        always.step(action)
    assert recorder.actions == [0, 0, 0]  # the NOOP of the reset sticks forever
    never = StickyActionEnv(recorder, action_repeat_probability=0.0)
    never.reset(seed=0)
    recorder.clear()
    for action in [2, 3, 4]:
        never.step(action)
    assert recorder.actions == [2, 3, 4]

    recorder = Recorder(gym.make(PONG))
    env = AtariWrapper(recorder, noop_max=0, action_repeat_probability=0.5)
    env.reset(seed=0)
    previous = recorder.actions[-1]  # the last frame of FireResetEnv's second step (action 2)
    recorder.clear()
    for action in [2, 3] * 10:
        env.step(action)
    # Per frame: the previous frame's action sticks until the new one is taken, then the new one stays.
    n_stuck = 0
    for step, commanded in enumerate([2, 3] * 10):
        frames = recorder.actions[4 * step : 4 * step + 4]
        k = frames.count(previous)
        assert frames == [previous] * k + [commanded] * (4 - k)
        n_stuck += k
        previous = frames[-1]
    assert 10 < n_stuck < 70  # about half of the 80 frames kept the previous action at first


# --- make_atari_env ---------------------------------------------------------------------------------------


def test_make_atari_env_with_frame_stack() -> None:
    venv = VecFrameStack(make_atari_env(PONG, n_envs=2, seed=0), n_stack=4)
    assert venv.observation_space.shape == (84, 84, 4)
    obs: Any = venv.reset()
    assert obs.shape == (2, 84, 84, 4) and obs.dtype == np.uint8
    previous = obs
    for _ in range(3):
        obs, rewards, dones, infos = venv.step(np.array([2, 3]))
        assert obs.shape == (2, 84, 84, 4)
        np.testing.assert_array_equal(obs[..., :3], previous[..., 1:])  # the stack shifts by one frame
        previous = obs
    assert isinstance(venv.envs[0], AtariWrapper)
    venv.close()


def test_make_atari_env_monitor_counts_real_games(tmp_path: Any) -> None:
    venv = make_atari_env(BREAKOUT, n_envs=1, seed=0, monitor_dir=str(tmp_path))
    venv.reset()
    n_dones = 0
    for _ in range(1000):
        _, _, dones, infos = venv.step(np.array([0]))
        n_dones += int(dones[0])
        if "episode" in infos[0]:
            break
    assert n_dones == 5  # one episode per life for the agent, one game for the monitor
    assert os.path.isfile(tmp_path / "0.monitor.csv")
    venv.close()


def test_make_atari_env_v5_skips_4_frames_in_total() -> None:
    venv = make_atari_env("ALE/Pong-v5", n_envs=1, seed=0)
    assert isinstance(venv, DummyVecEnv)
    env = venv.envs[0]
    assert venv.get_attr("_frameskip") == [1]
    venv.reset()
    for _ in range(3):
        before = episode_frame(env)
        venv.step(np.array([2]))
        assert episode_frame(env) - before == 4
    venv.close()
    # The env's own skip instead of the wrapper's: still 4 in total.
    venv = make_atari_env("ALE/Pong-v5", env_kwargs={"frameskip": 4}, wrapper_kwargs={"frame_skip": 1})
    assert isinstance(venv, DummyVecEnv)
    env = venv.envs[0]
    venv.reset()
    before = episode_frame(env)
    venv.step(np.array([2]))
    assert episode_frame(env) - before == 4
    venv.close()
    with pytest.raises(ValueError, match="frameskip"):
        make_atari_env("ALE/Pong-v5", env_kwargs={"frameskip": 4})


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, env=env, cwd=root
    )


def test_ale_ids_work_without_importing_ale_py() -> None:
    # A fresh interpreter, so that no earlier import of ale_py hides a missing registration; the
    # SubprocVecEnv workers (forkserver/spawn) start with a fresh registry too.
    result = _run_python(
        """
        import sys
        from baselines3.common.env_util import make_atari_env, make_vec_env
        from baselines3.common.vec_env import SubprocVecEnv
        assert "ale_py" not in sys.modules
        venv = make_vec_env("PongNoFrameskip-v4", n_envs=1, seed=0)
        print("plain", venv.reset().shape)
        venv.close()
        venv = make_atari_env("ALE/Breakout-v5", n_envs=2, seed=0, vec_env_cls=SubprocVecEnv)
        print("atari", venv.reset().shape, venv.get_attr("_frameskip"))
        venv.close()
        """
    )
    assert result.returncode == 0, result.stderr
    assert "plain (1, 210, 160, 3)" in result.stdout
    assert "atari (2, 84, 84, 1) [1, 1]" in result.stdout


def test_missing_ale_py_names_the_install_extra() -> None:
    result = _run_python(
        """
        import sys
        sys.modules["ale_py"] = None  # as if ale-py were not installed
        from baselines3.common.env_util import make_vec_env
        try:
            make_vec_env("ALE/Pong-v5")
        except ImportError as error:
            print("ImportError:", error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "ImportError:" in result.stdout and "'ALE/Pong-v5'" in result.stdout
    assert 'pip install "baselines3[atari]"' in result.stdout


def test_register_ale_envs_if_needed_leaves_other_ids_alone() -> None:
    register_ale_envs_if_needed("CartPole-v1")
    register_ale_envs_if_needed("NotAnEnv-v0")  # unknown: gymnasium reports it at make time
    with pytest.raises(gym.error.Error, match="NotAnEnv"):
        make_vec_env("NotAnEnv-v0")


# --- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wrapper", [AtariWrapper, EpisodicLifeEnv, FireResetEnv, NoopResetEnv])
def test_non_atari_env_is_rejected(wrapper: Any) -> None:
    with pytest.raises(TypeError, match=r"Atari env from ale_py.*'CartPole-v1'"):
        wrapper(gym.make("CartPole-v1"))


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match=r"'ALE/Pong-v5' already skips frameskip=4"):
        AtariWrapper(gym.make("ALE/Pong-v5"))
    with pytest.raises(ValueError, match="frame_skip must be an integer >= 1, got 0"):
        AtariWrapper(gym.make(PONG), frame_skip=0)
    with pytest.raises(ValueError, match="noop_max must be an integer >= 0, got -1"):
        AtariWrapper(gym.make(PONG), noop_max=-1)
    with pytest.raises(ValueError, match=r"action_repeat_probability must be in \[0, 1\], got 1.5"):
        AtariWrapper(gym.make(PONG), action_repeat_probability=1.5)
    with pytest.raises(ValueError, match="image observations"):
        AtariWrapper(gym.make("ALE/Pong-v5", frameskip=1, obs_type="ram"))
    with pytest.raises(ValueError, match=r"FireResetEnv needs a FIRE action.*'ALE/Freeway-v5'"):
        FireResetEnv(gym.make("ALE/Freeway-v5"))
    with pytest.raises(TypeError, match="WarpFrame needs image frames"):
        WarpFrame(gym.make("CartPole-v1"))


def test_fire_reset_takes_the_same_actions_as_sb3() -> None:
    sb3_atari = pytest.importorskip("stable_baselines3.common.atari_wrappers")
    recorders = []
    for wrapper in (FireResetEnv, sb3_atari.FireResetEnv):
        recorder = Recorder(gym.make(BREAKOUT, frameskip=1))
        env = wrapper(recorder)
        obs, _ = env.reset(seed=0)
        recorders.append((list(recorder.actions), obs))
    assert recorders[0][0] == recorders[1][0] == [FIRE, 2]
    np.testing.assert_array_equal(recorders[0][1], recorders[1][1])

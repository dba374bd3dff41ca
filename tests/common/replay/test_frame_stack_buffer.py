"""FrameStackReplayBuffer: exact equality with ReplayBuffer on the same add() stream, memory, save/load, errors."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from baselines3.common.buffers import ReplayBuffer
from baselines3.common.frame_stack_buffer import FrameStackReplayBuffer
from baselines3.common.replay.sampling import uniform_indices
from baselines3.common.vec_env import DummyVecEnv, VecFrameStack, VecTransposeImage

Step = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]


class _RandomEpisodes(gym.Env):
    """Tiny channel-last uint8 images; episodes of random length end by termination or truncation.

    Pixels take few values, and some frames are all zeros, so equal frames happen by chance as well.
    """

    def __init__(self, height: int = 13, width: int = 14, channels: int = 1, max_len: int = 9) -> None:
        self.shape = (height, width, channels)
        self.observation_space = spaces.Box(0, 255, self.shape, np.uint8)
        self.action_space = spaces.Discrete(3)
        self.max_len = max_len
        self.rng = np.random.default_rng(0)
        self.length = self.t = 0

    def _frame(self) -> np.ndarray:
        if self.rng.random() < 0.1:
            return np.zeros(self.shape, np.uint8)
        return self.rng.integers(0, 4, self.shape, dtype=np.uint8)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t, self.length = 0, int(self.rng.integers(1, self.max_len + 1))
        return self._frame(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        end = self.t >= self.length
        terminated = end and self.rng.random() < 0.5
        return self._frame(), float(self.rng.normal()), terminated, end and not terminated, {}


def _venv_stream(
    n_steps: int, n_envs: int, n_stack: int = 4, channels: int = 1, channel_first: bool = True, seed: int = 0
) -> tuple[spaces.Box, list[Step]]:
    """(observation space, add() arguments) from VecFrameStack over random-length episodes."""

    def make(i: int) -> Any:
        return lambda: _RandomEpisodes(channels=channels)

    venv: Any = VecFrameStack(DummyVecEnv([make(i) for i in range(n_envs)]), n_stack)
    if channel_first:
        venv = VecTransposeImage(venv)
    venv.seed(seed)
    rng = np.random.default_rng(seed)
    obs = venv.reset()
    steps: list[Step] = []
    for _ in range(n_steps):
        actions = rng.integers(0, 3, n_envs)
        new_obs, rewards, dones, infos = venv.step(actions)
        next_obs = new_obs.copy()
        for i in np.flatnonzero(dones):
            next_obs[i] = infos[i]["terminal_observation"]
        steps.append((obs, next_obs, actions, rewards, dones, infos))
        obs = new_obs
    return venv.observation_space, steps


def _adversarial_stream(
    n_steps: int, n_envs: int, n_stack: int = 4, channels: int = 2, channel_first: bool = True, seed: int = 0
) -> tuple[spaces.Box, list[Step]]:
    """A stream that breaks every assumption now and then: observations that are not the previous next
    observation, next observations that are not a shifted stack, zero and repeated frames."""
    rng = np.random.default_rng(seed)
    frame = (channels, 3, 4) if channel_first else (3, 4, channels)
    axis = 0 if channel_first else -1

    def new_frames(k: int) -> np.ndarray:
        frames = rng.integers(0, 3, (k, *frame), dtype=np.uint8)
        frames[rng.random(k) < 0.15] = 0
        return frames

    def stack(frames: np.ndarray) -> np.ndarray:
        return np.concatenate(list(frames), axis=axis)

    def split(obs: np.ndarray) -> np.ndarray:
        return np.stack(np.split(obs, n_stack, axis=axis))

    space = spaces.Box(0, 255, stack(new_frames(n_stack)).shape, np.uint8)
    last_next = [stack(new_frames(n_stack)) for _ in range(n_envs)]
    steps: list[Step] = []
    for _ in range(n_steps):
        obs, nxt, dones, infos = [], [], np.zeros(n_envs, bool), []
        for env in range(n_envs):
            o = split(last_next[env]).copy()
            u = rng.random()
            if u < 0.1:
                o = new_frames(n_stack)  # unrelated observation
            elif u < 0.2:
                o[rng.integers(n_stack)] = new_frames(1)[0]  # one frame differs
            elif u < 0.25:
                o[:-1] = 0  # a reset stack
            n = np.concatenate([o[1:], new_frames(1)])
            v = rng.random()
            if v < 0.1:
                n = new_frames(n_stack)
            elif v < 0.2:
                n[rng.integers(n_stack)] = new_frames(1)[0]
            elif v < 0.25:
                n = o.copy()  # no shift at all
            obs.append(stack(o))
            nxt.append(stack(n))
            last_next[env] = stack(n)
            dones[env] = rng.random() < 0.15
            infos.append({"TimeLimit.truncated": bool(dones[env] and rng.random() < 0.5)})
        steps.append((np.stack(obs), np.stack(nxt), rng.integers(0, 3, n_envs), rng.normal(size=n_envs), dones, infos))
    return space, steps


def _pair(
    space: spaces.Box, n_envs: int, buffer_size: int, **kwargs: Any
) -> tuple[ReplayBuffer, FrameStackReplayBuffer]:
    n_stack = kwargs.pop("n_stack", 4)
    stack_axis = kwargs.pop("stack_axis", None)
    plain = ReplayBuffer(buffer_size, space, spaces.Discrete(3), device="cpu", n_envs=n_envs, **kwargs)
    frames = FrameStackReplayBuffer(
        buffer_size,
        space,
        spaces.Discrete(3),
        device="cpu",
        n_envs=n_envs,
        n_stack=n_stack,
        stack_axis=stack_axis,
        **kwargs,
    )
    return plain, frames


def _valid_flat(buffer: ReplayBuffer) -> np.ndarray:
    """Flat indices ReplayBuffer can return (all stored ones; not slot `pos` of a full optimize_memory_usage one)."""
    slots = np.arange(buffer.size())
    if buffer.full and buffer.optimize_memory_usage:
        slots = slots[slots != buffer.pos]
    return (slots[:, None] * buffer.n_envs + np.arange(buffer.n_envs)[None, :]).reshape(-1)


def _assert_same_samples(a: Any, b: Any) -> None:
    for name in a._fields:
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
            continue
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert torch.equal(x, y), name


def _assert_same(plain: ReplayBuffer, frames: FrameStackReplayBuffer, seed: int | None = 0) -> None:
    """Every stored transition is identical; with a seed, so are `sample()` draws."""
    flat = _valid_flat(plain)
    _assert_same_samples(plain._get_samples(flat), frames._get_samples(flat))
    if seed is None:
        return
    np.random.seed(seed)
    first = plain.sample(32)
    np.random.seed(seed)
    second = frames.sample(32)
    _assert_same_samples(first, second)


def _feed(buffers: list[ReplayBuffer], steps: list[Step]) -> None:
    for step in steps:
        for buffer in buffers:
            buffer.add(*step)


@pytest.mark.parametrize("n_envs", [1, 3])
@pytest.mark.parametrize("channel_first", [True, False])
@pytest.mark.parametrize("channels", [1, 3])
def test_equal_to_replay_buffer_on_frame_stacked_episodes(n_envs: int, channel_first: bool, channels: int) -> None:
    space, steps = _venv_stream(160, n_envs, channels=channels, channel_first=channel_first, seed=n_envs)
    assert space.shape[0 if channel_first else -1] == 4 * channels
    plain, frames = _pair(space, n_envs, buffer_size=23 * n_envs)  # wraps several times
    assert frames.stack_axis == (0 if channel_first else -1)
    assert sum(bool(s[4].any()) for s in steps) > 10  # the stream has episode ends
    assert any(info.get("TimeLimit.truncated") for s in steps for info in s[5])
    for t, step in enumerate(steps):
        plain.add(*step)
        frames.add(*step)
        _assert_same(plain, frames, seed=t if t % 7 == 0 else None)  # a stale frame would show at once
    assert frames.full and plain.full


@pytest.mark.parametrize("channel_first", [True, False])
@pytest.mark.parametrize("n_stack", [1, 2, 4])
def test_equal_on_a_stream_that_breaks_every_assumption(channel_first: bool, n_stack: int) -> None:
    space, steps = _adversarial_stream(150, 3, n_stack=n_stack, channel_first=channel_first, seed=n_stack)
    axis = 0 if channel_first else -1  # tiny frames: inference could pick the wrong axis
    plain, frames = _pair(space, 3, buffer_size=30, n_stack=n_stack, stack_axis=axis)
    for t, step in enumerate(steps):
        plain.add(*step)
        frames.add(*step)
        _assert_same(plain, frames, seed=t if t % 5 == 0 else None)
    _assert_same(plain, frames)


@pytest.mark.parametrize("handle_timeout_termination", [True, False])
def test_optimize_memory_usage_matches_its_replay_buffer(handle_timeout_termination: bool) -> None:
    space, steps = _venv_stream(120, 2, seed=5)
    kwargs = dict(optimize_memory_usage=True, handle_timeout_termination=handle_timeout_termination)
    plain, frames = _pair(space, 2, buffer_size=40, **kwargs)
    for t, step in enumerate(steps):
        plain.add(*step)
        frames.add(*step)
        _assert_same(plain, frames, seed=t if t % 9 == 0 else None)
    _assert_same(plain, frames)
    plain.truncate_last_trajectory()
    frames.truncate_last_trajectory()
    _assert_same(plain, frames, seed=2)
    # with the same seed both draw the same slots, never the oldest one
    np.random.seed(1)
    flat = uniform_indices(frames.storage, 500)
    assert not np.any(flat // 2 == frames.pos)


def test_sample_batches_and_truncation_match() -> None:
    space, steps = _venv_stream(90, 3, seed=2)
    plain, frames = _pair(space, 3, buffer_size=60)
    _feed([plain, frames], steps)
    np.random.seed(3)
    first = plain.sample_batches(8, 4)
    np.random.seed(3)
    second = frames.sample_batches(8, 4)
    assert len(first) == len(second) == 4
    for a, b in zip(first, second):
        _assert_same_samples(a, b)
    plain.truncate_last_trajectory()
    frames.truncate_last_trajectory()
    _assert_same(plain, frames)
    last = (frames.pos - 1) % frames.buffer_size
    assert np.all(frames.dones[last] == 1)


def test_side_store_is_reused_not_grown_forever() -> None:
    # one-step episodes: every observation is a reset stack whose newest frame goes to the side store
    space, steps = _venv_stream(400, 2, seed=4)
    for step in steps:  # force episodes of length one: every step ends, every observation is a reset stack
        step[4][:] = True
    plain, frames = _pair(space, 2, buffer_size=20)
    capacities = []
    for t, step in enumerate(steps):
        plain.add(*step)
        frames.add(*step)
        capacities.append(len(frames.frame_store._extra_step))
        _assert_same(plain, frames, seed=t if t % 50 == 0 else None)
    live_bound = (frames.buffer_size + frames.n_stack + 1) * frames.n_envs * frames.n_stack
    assert frames.n_extra_frames <= live_bound
    assert capacities[-1] == capacities[len(capacities) // 2]  # steady state: no growth in the second half
    assert capacities[-1] <= 4 * live_bound


def test_memory_is_about_one_frame_per_transition() -> None:
    n_stack, size = 4, 84
    rng = np.random.default_rng(0)
    space = spaces.Box(0, 255, (n_stack, size, size), np.uint8)
    buffer_size, episode = 300, 100
    plain = ReplayBuffer(buffer_size, space, spaces.Discrete(6), device="cpu")
    frames = FrameStackReplayBuffer(buffer_size, space, spaces.Discrete(6), device="cpu", n_stack=n_stack)
    stack = np.zeros((1, n_stack, size, size), np.uint8)
    for t in range(buffer_size + 50):
        if t % episode == 0:
            stack[:] = 0
            stack[0, -1] = rng.integers(0, 256, (size, size), dtype=np.uint8)
        nxt = np.concatenate([stack[:, 1:], rng.integers(0, 256, (1, 1, size, size), dtype=np.uint8)], axis=1)
        done = np.array([(t + 1) % episode == 0])
        frames.add(stack, nxt, np.array([t % 6]), np.zeros(1), done, [{}])
        stack = nxt
    frame_bytes = size * size
    per_transition = frames.nbytes() / buffer_size
    assert frame_bytes < per_transition < 1.1 * frame_bytes
    assert plain.nbytes() / frames.nbytes() > 7  # obs + next_obs hold 2 * n_stack frames per transition
    assert frames.n_extra_frames == 4  # one reset frame per stored episode start (t = 0, 100, 200, 300)
    assert frames.nbytes() >= frames.frames.nbytes + frames.observations.nbytes + frames.next_observations.nbytes


@pytest.mark.parametrize("channel_first", [True, False])
def test_save_load_round_trip_and_continue(tmp_path: Any, channel_first: bool) -> None:
    space, steps = _venv_stream(150, 2, channels=3, channel_first=channel_first, seed=6)
    plain, frames = _pair(space, 2, buffer_size=44)
    _feed([plain, frames], steps[:100])
    path = frames.save(tmp_path / "buffer")
    with np.load(path, allow_pickle=False) as archive:  # numeric arrays + JSON only
        assert "frames" in archive.files
    loaded = FrameStackReplayBuffer(10, space, spaces.Discrete(3), device="cpu", n_envs=2)
    loaded.load(path)
    assert (loaded.buffer_size, loaded.pos, loaded.full) == (frames.buffer_size, frames.pos, frames.full)
    _assert_same(plain, loaded)
    assert loaded.nbytes() == frames.nbytes()
    for t, step in enumerate(steps[100:]):  # continuing after a load stays exact
        _feed([plain, frames, loaded], [step])
        _assert_same(plain, loaded, seed=t if t % 10 == 0 else None)
        assert loaded.n_extra_frames == frames.n_extra_frames  # it shares frames across the load as before
    _assert_same(plain, frames, seed=1)


def test_load_rejects_other_layouts(tmp_path: Any) -> None:
    space = spaces.Box(0, 255, (4, 6, 6), np.uint8)
    buffer = FrameStackReplayBuffer(10, space, spaces.Discrete(2), device="cpu", n_stack=4)
    path = buffer.save(tmp_path / "b.npz")
    other = FrameStackReplayBuffer(10, space, spaces.Discrete(2), device="cpu", n_stack=2)
    with pytest.raises(ValueError, match="n_stack"):
        other.load(path)
    plain = ReplayBuffer(10, space, spaces.Discrete(2), device="cpu")
    with pytest.raises(ValueError, match="buffer_class"):
        plain.load(path)


def test_load_rejects_corrupt_references(tmp_path: Any) -> None:
    from baselines3.common.save_util import load_arrays, save_arrays

    space, steps = _venv_stream(30, 1, seed=7)
    buffer = FrameStackReplayBuffer(20, space, spaces.Discrete(3), device="cpu", n_envs=1)
    _feed([buffer], steps)
    meta, arrays = load_arrays(buffer.save(tmp_path / "b"))
    arrays["observations"] = arrays["observations"].copy()
    arrays["observations"][0, 0, 0] = 10**6
    save_arrays(tmp_path / "bad", meta, arrays)
    with pytest.raises(ValueError, match="frame references outside"):
        buffer.load(tmp_path / "bad")


def test_stack_axis_inference_and_frame_shape() -> None:
    first = FrameStackReplayBuffer(4, spaces.Box(0, 255, (12, 84, 84), np.uint8), spaces.Discrete(2), device="cpu")
    assert first.stack_axis == 0 and first.frame_shape == (3, 84, 84)
    last = FrameStackReplayBuffer(4, spaces.Box(0, 255, (84, 84, 4), np.uint8), spaces.Discrete(2), device="cpu")
    assert last.stack_axis == -1 and last.frame_shape == (84, 84, 1)
    explicit = FrameStackReplayBuffer(
        4, spaces.Box(0, 255, (8, 5, 8), np.uint8), spaces.Discrete(2), device="cpu", stack_axis="last", n_stack=2
    )
    assert explicit.stack_axis == -1 and explicit.frame_shape == (8, 5, 4)


@pytest.mark.parametrize(
    ("space", "kwargs", "error", "match"),
    [
        (spaces.Dict({"img": spaces.Box(0, 255, (4, 8, 8), np.uint8)}), {}, TypeError, "Dict"),
        (spaces.Box(0, 1, (4, 8, 8), np.float32), {}, TypeError, "float32"),
        (spaces.Box(0, 255, (4, 8), np.uint8), {}, ValueError, "3-D"),
        (spaces.Box(0, 255, (6, 8, 9), np.uint8), {}, ValueError, "divisible by n_stack=4"),
        (spaces.Box(0, 255, (6, 8, 8), np.uint8), {"stack_axis": 0}, ValueError, "not divisible by n_stack=4"),
        (spaces.Box(0, 255, (4, 8, 4), np.uint8), {}, ValueError, "stack_axis"),
        (spaces.Box(0, 255, (4, 8, 8), np.uint8), {"stack_axis": 1}, ValueError, "stack_axis"),
        (spaces.Box(0, 255, (4, 8, 8), np.uint8), {"n_stack": 0}, ValueError, "n_stack"),
    ],
)
def test_bad_spaces_and_arguments(space: spaces.Space, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        FrameStackReplayBuffer(8, space, spaces.Discrete(2), device="cpu", **kwargs)


def test_add_rejects_wrong_shapes() -> None:
    space = spaces.Box(0, 255, (4, 6, 6), np.uint8)
    buffer = FrameStackReplayBuffer(8, space, spaces.Discrete(2), device="cpu", n_envs=2)
    good = np.zeros((2, 4, 6, 6), np.uint8)
    with pytest.raises(ValueError, match=r"next_obs should have shape \(2, 4, 6, 6\)"):
        buffer.add(good, good[:1], np.zeros(2), np.zeros(2), np.zeros(2), [{}, {}])
    with pytest.raises(TypeError, match="dict"):
        buffer.add({"a": good}, good, np.zeros(2), np.zeros(2), np.zeros(2), [{}, {}])  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # a bad action leaves the buffer as it was
        buffer.add(good, good, np.zeros(3), np.zeros(2), np.zeros(2), [{}, {}])
    assert (buffer.pos, buffer.frame_store._step, buffer.n_extra_frames) == (0, 0, 0)
    buffer.add(good + 1, good + 2, np.zeros(2), np.zeros(2), np.zeros(2), [{}, {}])
    assert (buffer.pos, buffer.frame_store._step) == (1, 1)
    next_obs = buffer.sample(4).next_observations
    assert isinstance(next_obs, torch.Tensor)
    assert torch.equal(next_obs, torch.full((4, 4, 6, 6), 2, dtype=torch.uint8))


def test_dqn_trains_with_it_and_saves_the_buffer(tmp_path: Any) -> None:
    from baselines3 import DQN
    from baselines3.common.envs import FakeImageEnv

    venv = VecFrameStack(DummyVecEnv([lambda: FakeImageEnv(screen_height=36, screen_width=36, ep_length=7)]), 4)
    model = DQN(
        "CnnPolicy",
        venv,
        buffer_size=60,
        learning_starts=20,
        batch_size=8,
        replay_buffer_class=FrameStackReplayBuffer,
        replay_buffer_kwargs=dict(n_stack=4),
        seed=0,
        device="cpu",
    )
    model.learn(80)
    buffer = model.replay_buffer
    assert isinstance(buffer, FrameStackReplayBuffer) and buffer.full
    assert buffer.stack_axis == 0  # the model transposed (36, 36, 4) stacks to (4, 36, 36)
    path = model.save_replay_buffer(str(tmp_path / "replay"))
    np.random.seed(0)
    before = buffer.sample(16)
    model.load_replay_buffer(str(path), truncate_last_traj=False)
    np.random.seed(0)
    _assert_same_samples(before, model.replay_buffer.sample(16))  # type: ignore[union-attr]

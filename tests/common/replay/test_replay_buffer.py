"""ReplayBuffer / NStepReplayBuffer: storage layout, sampling, time limits, memory-optimized storage, n-step returns,
VecNormalize hooks and the .npz save/load round trip."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
import torch
from gymnasium import spaces

from baselines3.common.buffers import DictReplayBuffer, NStepReplayBuffer, ReplayBuffer, ReplayBufferSamples
from baselines3.common.save_util import ModelLoadError

BOX_OBS = spaces.Box(-10.0, 10.0, (3,), np.float32)
BOX_ACT = spaces.Box(-1.0, 1.0, (2,), np.float32)


def _assert_same_samples(a: ReplayBufferSamples, b: ReplayBufferSamples) -> None:
    """Field-by-field exact equality (dict observations compared key by key)."""
    for name, x, y in zip(ReplayBufferSamples._fields, a, b):
        if x is None or y is None:
            assert x is None and y is None, name
        elif isinstance(x, dict):
            assert isinstance(y, dict) and x.keys() == y.keys(), name
            for key in x:
                assert torch.equal(x[key], y[key]), f"{name}/{key}"
        else:
            assert isinstance(y, torch.Tensor) and x.dtype == y.dtype, name
            assert torch.equal(x, y), name


def _all_flat(buffer: ReplayBuffer) -> np.ndarray:
    return np.arange(buffer.size() * buffer.n_envs)


def _fill(buffer: ReplayBuffer, n_steps: int, dones: dict[int, list[int]] | None = None) -> None:
    """Box obs stream: obs of step t for env e is t + 100 e; rewards t + 0.5 e; action t - e."""
    n_envs = buffer.n_envs
    dones = dones or {}
    for t in range(n_steps):
        obs = np.stack([np.full(3, t + 100.0 * e, np.float32) for e in range(n_envs)])
        done = np.zeros(n_envs, dtype=bool)
        done[dones.get(t, [])] = True
        actions = np.stack([np.full(2, t - e) for e in range(n_envs)])
        buffer.add(obs, obs + 1, actions, np.arange(n_envs) * 0.5 + t, done, [{} for _ in range(n_envs)])


# ------------------------------------------------------------------ shapes and dtypes


@pytest.mark.parametrize(
    ("obs_space", "obs_shape", "obs_dtype"),
    [
        (BOX_OBS, (3,), torch.float32),
        (spaces.Box(0, 255, (2, 4, 4), np.uint8), (2, 4, 4), torch.uint8),
        (spaces.Box(-1.0, 1.0, (3,), np.float64), (3,), torch.float64),  # the space's dtype, as in SB3
        (spaces.Discrete(5), (1,), torch.int64),
        (spaces.MultiDiscrete([3, 4, 2]), (3,), torch.int64),
    ],
)
@pytest.mark.parametrize(
    ("action_space", "action_shape", "action_dtype"),
    [
        (BOX_ACT, (2,), torch.float32),
        (spaces.Box(-1.0, 1.0, (2,), np.float64), (2,), torch.float32),  # float64 actions: float32, as in SB3
        (spaces.Discrete(4), (1,), torch.int64),
    ],
)
def test_sample_shapes_and_dtypes(obs_space, obs_shape, obs_dtype, action_space, action_shape, action_dtype):
    buffer = ReplayBuffer(8, obs_space, action_space, device="cpu", n_envs=2)
    for _ in range(3):
        obs = np.stack([obs_space.sample() for _ in range(2)])
        next_obs = np.stack([obs_space.sample() for _ in range(2)])
        actions = np.stack([action_space.sample() for _ in range(2)])
        buffer.add(obs, next_obs, actions, np.ones(2), np.zeros(2), [{}, {}])
    batch = buffer.sample(5)
    assert isinstance(batch, ReplayBufferSamples)
    assert batch.observations.shape == (5, *obs_shape) and batch.observations.dtype == obs_dtype
    assert batch.next_observations.shape == (5, *obs_shape) and batch.next_observations.dtype == obs_dtype
    assert batch.actions.shape == (5, *action_shape) and batch.actions.dtype == action_dtype
    assert batch.rewards.shape == (5, 1) and batch.rewards.dtype == torch.float32
    assert batch.dones.shape == (5, 1) and batch.dones.dtype == torch.float32
    assert batch.discounts is None


def test_dict_observations_keep_their_keys_shapes_and_values():
    space = spaces.Dict({"pos": spaces.Box(-5, 5, (2,), np.float32), "mode": spaces.Discrete(3)})
    buffer = ReplayBuffer(6, space, BOX_ACT, device="cpu", n_envs=1)
    for t in range(4):
        obs = {"pos": np.array([[t, -t]], np.float32), "mode": np.array([t % 3])}
        nxt = {"pos": np.array([[t + 0.5, -t]], np.float32), "mode": np.array([(t + 1) % 3])}
        buffer.add(obs, nxt, np.zeros((1, 2)), np.array([t]), np.array([False]), [{}])
    batch = buffer._get_samples(np.arange(4))
    assert set(batch.observations) == {"pos", "mode"}
    assert batch.observations["pos"].shape == (4, 2) and batch.observations["pos"].dtype == torch.float32
    assert batch.observations["mode"].shape == (4, 1) and batch.observations["mode"].dtype == torch.int64
    assert batch.observations["pos"][:, 0].tolist() == [0, 1, 2, 3]
    assert batch.next_observations["pos"][:, 0].tolist() == [0.5, 1.5, 2.5, 3.5]
    assert batch.next_observations["mode"].flatten().tolist() == [1, 2, 0, 1]


def test_stored_values_come_back_exactly():
    buffer = ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_envs=1)
    _fill(buffer, 4)
    batch = buffer._get_samples(np.array([2, 0]))
    assert batch.observations[:, 0].tolist() == [2.0, 0.0]
    assert batch.next_observations[:, 0].tolist() == [3.0, 1.0]
    assert batch.actions.tolist() == [[2.0, 2.0], [0.0, 0.0]]
    assert batch.rewards.flatten().tolist() == [2.0, 0.0]


# ------------------------------------------------------------------ layout, FIFO


def test_buffer_size_is_split_over_envs():
    buffer = ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_envs=3)
    assert buffer.buffer_size == 3
    assert buffer.observations.shape == (3, 3, 3)
    assert buffer.actions.shape == (3, 3, 2)
    _fill(buffer, 2)
    assert buffer.size() == 2 and not buffer.full
    _fill(buffer, 1)
    assert buffer.full and buffer.pos == 0 and buffer.size() == 3
    # every env's stream lands in its own column
    batch = buffer._get_samples(_all_flat(buffer))
    obs = batch.observations[:, 0].reshape(3, 3)
    assert obs.tolist() == [[0, 100, 200], [1, 101, 201], [0, 100, 200]]  # the second _fill restarts at t=0


def test_fifo_overwrites_the_oldest_steps():
    buffer = ReplayBuffer(3, BOX_OBS, BOX_ACT, device="cpu", n_envs=1)
    _fill(buffer, 5)
    assert buffer.full and buffer.pos == 2
    assert buffer.observations[:, 0, 0].tolist() == [3.0, 4.0, 2.0]
    np.random.seed(0)
    seen = set(buffer.sample(200).observations[:, 0].tolist())
    assert seen == {2.0, 3.0, 4.0}


def test_sampling_before_full_only_draws_written_slots():
    buffer = ReplayBuffer(100, BOX_OBS, BOX_ACT, device="cpu", n_envs=2)
    _fill(buffer, 3)
    np.random.seed(1)
    seen = set(buffer.sample(500).observations[:, 0].tolist())
    assert seen == {0.0, 1.0, 2.0, 100.0, 101.0, 102.0}


# ------------------------------------------------------------------ time limits


@pytest.mark.parametrize("handle_timeout", [True, False])
def test_truncation_is_not_a_termination(handle_timeout):
    buffer = ReplayBuffer(4, BOX_OBS, BOX_ACT, device="cpu", n_envs=2, handle_timeout_termination=handle_timeout)
    obs = np.zeros((2, 3), np.float32)
    # env 0 hits its time limit, env 1 really terminates
    infos = [{"TimeLimit.truncated": True, "terminal_observation": obs[0]}, {"terminal_observation": obs[1]}]
    buffer.add(obs, obs, np.zeros((2, 2)), np.zeros(2), np.array([True, True]), infos)
    buffer.add(obs, obs, np.zeros((2, 2)), np.zeros(2), np.array([False, False]), [{}, {}])
    dones = buffer._get_samples(np.arange(4)).dones.flatten().tolist()
    assert dones == ([0.0, 1.0, 0.0, 0.0] if handle_timeout else [1.0, 1.0, 0.0, 0.0])


# ------------------------------------------------------------------ optimize_memory_usage


def _stream(n_steps: int, n_envs: int, dict_obs: bool) -> list[tuple[Any, ...]]:
    """A vec-env stream with terminations and truncations at staggered times; a finished episode's next_obs is
    the terminal observation (distinct from the reset observation given as the next step's obs)."""
    rng = np.random.default_rng(0)
    steps: list[tuple[Any, ...]] = []
    current = rng.normal(size=(n_envs, 3)).astype(np.float32)
    for t in range(n_steps):
        done = np.array([(t + 2 * e) % 4 == 3 for e in range(n_envs)])
        truncated = done & (np.arange(n_envs) % 2 == 0)
        following = rng.normal(size=(n_envs, 3)).astype(np.float32)
        next_obs = following.copy()
        for e in np.flatnonzero(done):
            next_obs[e] = 1000.0 + t + 10 * e  # terminal observation
        infos = [{"TimeLimit.truncated": True} if truncated[e] else {} for e in range(n_envs)]
        actions = rng.uniform(-1, 1, size=(n_envs, 2))
        rewards = rng.normal(size=n_envs)
        if dict_obs:
            obs_dict = {"a": current, "b": current[:, :1] * 2}
            next_dict = {"a": next_obs, "b": next_obs[:, :1] * 2}
            steps.append((obs_dict, next_dict, actions, rewards, done, infos))
        else:
            steps.append((current, next_obs, actions, rewards, done, infos))
        current = following
    return steps


@pytest.mark.parametrize("dict_obs", [False, True])
@pytest.mark.parametrize("n_added", [5, 8, 13])  # not full, exactly full (pos wrapped to 0), wrapped past full
def test_memory_optimized_buffer_returns_the_same_transitions(dict_obs, n_added):
    obs_space: spaces.Space = BOX_OBS
    if dict_obs:
        obs_space = spaces.Dict({"a": BOX_OBS, "b": spaces.Box(-1e4, 1e4, (1,), np.float32)})
    plain = ReplayBuffer(16, obs_space, BOX_ACT, device="cpu", n_envs=2)
    optimized = ReplayBuffer(16, obs_space, BOX_ACT, device="cpu", n_envs=2, optimize_memory_usage=True)
    for step in _stream(n_added, 2, dict_obs):
        plain.add(*step)
        optimized.add(*step)
    assert optimized.nbytes() < plain.nbytes()
    if optimized.full:
        # the oldest slot lost its observation to the newest next observation: the optimized buffer skips it
        flat = np.array([i for i in range(16) if i // 2 != optimized.pos])
    else:
        flat = _all_flat(plain)
    assert optimized.dones.reshape(-1)[flat].sum() > 0  # the compared set contains episode ends
    _assert_same_samples(plain._get_samples(flat), optimized._get_samples(flat))


def test_memory_optimized_sampling_never_draws_the_overwritten_slot():
    buffer = ReplayBuffer(4, BOX_OBS, BOX_ACT, device="cpu", n_envs=1, optimize_memory_usage=True)
    _fill(buffer, 6)
    assert buffer.pos == 2
    np.random.seed(0)
    seen = set(buffer.sample(300).observations[:, 0].tolist())
    assert seen == {3.0, 4.0, 5.0}  # slot 2 (step 2) is excluded


def test_memory_optimized_buffer_with_one_slot_per_env_is_refused_clearly():
    with pytest.raises(ValueError, match="buffer_size"):
        ReplayBuffer(2, BOX_OBS, BOX_ACT, device="cpu", n_envs=2, optimize_memory_usage=True)


# ------------------------------------------------------------------ sample_batches


@pytest.mark.parametrize("n_envs", [1, 2])
def test_sample_batches_equals_successive_samples(n_envs):
    """The same draws as `n_batches` calls to `sample` under one numpy seed (its docstring's promise)."""
    buffer = ReplayBuffer(40, BOX_OBS, BOX_ACT, device="cpu", n_envs=n_envs)
    _fill(buffer, 30 // n_envs)
    np.random.seed(123)
    batches = buffer.sample_batches(7, 3)
    np.random.seed(123)
    singles = [buffer.sample(7) for _ in range(3)]
    assert len(batches) == 3
    for batch, single in zip(batches, singles):
        _assert_same_samples(batch, single)


def test_sample_batches_splits_dict_observations():
    space = spaces.Dict({"a": BOX_OBS})
    buffer = ReplayBuffer(10, space, BOX_ACT, device="cpu")
    for t in range(5):
        obs = {"a": np.full((1, 3), t, np.float32)}
        buffer.add(obs, obs, np.zeros((1, 2)), np.array([t]), np.array([False]), [{}])
    batches = buffer.sample_batches(4, 2)
    assert [b.observations["a"].shape for b in batches] == [(4, 3), (4, 3)]
    for b in batches:  # observation and reward still belong to the same transition after the split
        assert torch.equal(b.observations["a"][:, 0], b.rewards[:, 0])


# ------------------------------------------------------------------ VecNormalize hook


class _FakeNormalizer:
    """Stands in for VecNormalize: obs doubled, rewards tripled, so each hook is visible in the result."""

    def normalize_obs(self, obs: Any) -> Any:
        if isinstance(obs, dict):
            return {key: value * 2 for key, value in obs.items()}
        return obs * 2

    def normalize_reward(self, reward: np.ndarray) -> np.ndarray:
        return reward * 3


def test_env_normalization_is_applied_to_obs_next_obs_and_rewards():
    buffer = ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu")
    _fill(buffer, 4)
    raw = buffer._get_samples(np.arange(4))
    normalized = buffer._get_samples(np.arange(4), env=_FakeNormalizer())
    assert torch.equal(normalized.observations, raw.observations * 2)
    assert torch.equal(normalized.next_observations, raw.next_observations * 2)
    assert torch.equal(normalized.rewards, raw.rewards * 3)
    assert torch.equal(normalized.actions, raw.actions)
    # the stored data itself stays raw
    assert buffer.observations[:4, 0, 0].tolist() == [0, 1, 2, 3]
    np.random.seed(0)
    sampled = buffer.sample(6, env=_FakeNormalizer())
    assert torch.equal(sampled.observations[:, 0], sampled.rewards[:, 0] / 3 * 2)


# ------------------------------------------------------------------ n-step returns


def _nstep_buffer(**kwargs: Any) -> NStepReplayBuffer:
    """Rewards 1, 2, 3, ... (reward of step t is t + 1); termination at t=3, truncation at t=5; 8 steps."""
    buffer = NStepReplayBuffer(20, BOX_OBS, BOX_ACT, device="cpu", n_steps=3, gamma=0.5, **kwargs)
    for t in range(8):
        obs = np.full((1, 3), t, np.float32)
        infos = [{"TimeLimit.truncated": True}] if t == 5 else [{}]
        buffer.add(obs, obs + 0.5, np.zeros((1, 2)), np.array([t + 1.0]), np.array([t in (3, 5)]), infos)
    return buffer


def test_nstep_returns_against_hand_computed_sums():
    batch = _nstep_buffer()._get_samples(np.array([0, 1, 2, 3, 4, 5, 6, 7]))
    # t=0: 1 + .5*2 + .25*3; t=1: 2 + .5*3 + .25*4; t=2: cut by the termination at 3; t=3: termination itself;
    # t=4: cut by the truncation at 5; t=5: the truncation; t=6: cut at the newest stored step 7; t=7: newest
    assert batch.rewards.flatten().tolist() == [2.75, 4.5, 5.0, 4.0, 8.0, 6.0, 11.0, 8.0]
    assert batch.discounts.flatten().tolist() == [0.125, 0.125, 0.25, 0.5, 0.25, 0.5, 0.25, 0.5]
    # a lookahead that reaches the termination -> done 1; truncation -> bootstrapped (done 0)
    assert batch.dones.flatten().tolist() == [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    # the next observation is that of the last step used
    assert batch.next_observations[:, 0].tolist() == [2.5, 3.5, 3.5, 3.5, 5.5, 5.5, 7.5, 7.5]
    assert batch.observations[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7]


def test_nstep_without_timeout_handling_treats_truncation_as_termination():
    batch = _nstep_buffer(handle_timeout_termination=False)._get_samples(np.array([4, 5]))
    assert batch.rewards.flatten().tolist() == [8.0, 6.0]
    assert batch.dones.flatten().tolist() == [1.0, 1.0]


def test_nstep_lookahead_wraps_around_a_full_buffer_and_stops_at_the_newest_step():
    buffer = NStepReplayBuffer(4, BOX_OBS, BOX_ACT, device="cpu", n_steps=3, gamma=0.5)
    _fill(buffer, 6)  # rewards 0..5; slots hold steps [4, 5, 2, 3], pos = 2, newest = slot 1
    batch = buffer._get_samples(np.array([2, 3, 0, 1]))
    # step 2: 2 + .5*3 + .25*4; step 3: 3 + .5*4 + .25*5; step 4: 4 + .5*5 (5 is newest); step 5: 5
    assert batch.rewards.flatten().tolist() == [4.5, 6.25, 6.5, 5.0]
    assert batch.discounts.flatten().tolist() == [0.125, 0.125, 0.25, 0.5]
    assert batch.next_observations[:, 0].tolist() == [5.0, 6.0, 6.0, 6.0]


def test_nstep_keeps_envs_apart():
    buffer = NStepReplayBuffer(20, BOX_OBS, BOX_ACT, device="cpu", n_envs=2, n_steps=2, gamma=0.5)
    _fill(buffer, 4, dones={1: [1]})  # rewards t + 0.5 e; env 1 terminates at t=1
    batch = buffer._get_samples(np.array([0, 1, 2, 3]))  # (t0,e0), (t0,e1), (t1,e0), (t1,e1)
    assert batch.rewards.flatten().tolist() == [0.5, 0.5 + 0.5 * 1.5, 1 + 0.5 * 2, 1.5]
    assert batch.dones.flatten().tolist() == [0.0, 1.0, 0.0, 1.0]


def test_nstep_with_one_step_matches_the_plain_buffer():
    plain = ReplayBuffer(20, BOX_OBS, BOX_ACT, device="cpu", n_envs=2)
    nstep = NStepReplayBuffer(20, BOX_OBS, BOX_ACT, device="cpu", n_envs=2, n_steps=1, gamma=0.9)
    for step in _stream(7, 2, False):
        plain.add(*step)
        nstep.add(*step)
    a, b = plain._get_samples(_all_flat(plain)), nstep._get_samples(_all_flat(nstep))
    for name in ("observations", "actions", "next_observations", "dones", "rewards"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert torch.allclose(b.discounts, torch.full_like(b.discounts, 0.9))


def test_nstep_applies_reward_normalization_per_step():
    batch = _nstep_buffer()._get_samples(np.array([0]), env=_FakeNormalizer())
    assert batch.rewards.item() == pytest.approx(3 * 2.75)
    assert batch.observations[0, 0].item() == 0.0 and batch.next_observations[0, 0].item() == 5.0


def test_nstep_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_steps"):
        NStepReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_steps=0)
    with pytest.raises(ValueError, match="gamma"):
        NStepReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", gamma=1.5)
    with pytest.raises(ValueError, match="optimize_memory_usage"):
        NStepReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", optimize_memory_usage=True)


# ------------------------------------------------------------------ save / load


def _filled(kind: str) -> ReplayBuffer:
    if kind == "dict":
        space = spaces.Dict({"a": BOX_OBS, "b": spaces.Box(-1e4, 1e4, (1,), np.float32)})
        buffer = ReplayBuffer(10, space, BOX_ACT, device="cpu", n_envs=2, optimize_memory_usage=True)
        for step in _stream(7, 2, True):
            buffer.add(*step)
        return buffer
    if kind == "nstep":
        buffer = NStepReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_envs=2, n_steps=3, gamma=0.5)
    else:
        buffer = ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_envs=2, optimize_memory_usage=kind == "optimized")
    for step in _stream(7, 2, False):
        buffer.add(*step)
    return buffer


def _fresh_like(buffer: ReplayBuffer) -> ReplayBuffer:
    if isinstance(buffer, NStepReplayBuffer):
        return NStepReplayBuffer(10, buffer.observation_space, BOX_ACT, device="cpu", n_envs=2, n_steps=3, gamma=0.5)
    optimize = buffer.optimize_memory_usage
    return ReplayBuffer(10, buffer.observation_space, BOX_ACT, device="cpu", n_envs=2, optimize_memory_usage=optimize)


@pytest.mark.parametrize("kind", ["plain", "optimized", "dict", "nstep"])
def test_save_load_round_trip(tmp_path, kind):
    buffer = _filled(kind)
    written = buffer.save(tmp_path / "buffer")
    assert str(written).endswith(".npz") and os.path.isfile(written)
    restored = _fresh_like(buffer)
    restored.load(written)
    assert (restored.pos, restored.full, restored.size()) == (buffer.pos, buffer.full, buffer.size())
    flat = (
        np.array([i for i in range(10) if i // 2 != buffer.pos]) if buffer.optimize_memory_usage else _all_flat(buffer)
    )
    _assert_same_samples(buffer._get_samples(flat), restored._get_samples(flat))
    # sampling continues identically too
    np.random.seed(5)
    first = buffer.sample(8)
    np.random.seed(5)
    _assert_same_samples(first, restored.sample(8))
    assert os.listdir(tmp_path) == ["buffer.npz"]


def test_load_refuses_other_spaces_and_buffer_kinds(tmp_path):
    path = _filled("plain").save(tmp_path / "buffer.npz")
    other_obs = ReplayBuffer(10, spaces.Box(-10.0, 10.0, (4,), np.float32), BOX_ACT, device="cpu", n_envs=2)
    with pytest.raises(ValueError, match="observation_space"):
        other_obs.load(path)
    other_act = ReplayBuffer(10, BOX_OBS, spaces.Discrete(3), device="cpu", n_envs=2)
    with pytest.raises(ValueError, match="action_space"):
        other_act.load(path)
    optimized = ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_envs=2, optimize_memory_usage=True)
    with pytest.raises(ValueError, match="optimize_memory_usage"):
        optimized.load(path)
    nstep = NStepReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_envs=2)
    with pytest.raises(ValueError, match="buffer_class"):
        nstep.load(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"not an archive at all", b"PK\x03\x04 truncated zip"],
)
def test_load_of_a_corrupt_file_is_a_model_load_error(tmp_path, content):
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError):
        ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu").load(path)


def test_load_of_a_truncated_archive_is_a_model_load_error(tmp_path):
    path = _filled("plain").save(tmp_path / "buffer.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError):
        ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_envs=2).load(path)


def test_load_of_an_npz_without_metadata_is_a_model_load_error(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, actions=np.zeros(3))
    with pytest.raises(ModelLoadError, match="__meta__"):
        ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu").load(path)


def test_load_of_a_plain_npy_file_is_a_model_load_error(tmp_path):
    path = tmp_path / "array.npz"
    with open(path, "wb") as file:
        np.save(file, np.arange(3))
    with pytest.raises(ModelLoadError):
        ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu").load(path)


@pytest.mark.parametrize("meta", ["[1, 2]", '"text"'])
def test_load_of_metadata_that_is_not_an_object_is_a_model_load_error(tmp_path, meta):
    path = tmp_path / "odd.npz"
    np.savez(path, __meta__=np.array(meta))
    with pytest.raises(ModelLoadError):
        ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu").load(path)


def test_load_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu").load(tmp_path / "nowhere.npz")


def test_save_to_an_unwritable_path_raises_and_leaves_no_temp_files(tmp_path):
    buffer = _filled("plain")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        buffer.save(blocker / "buffer.npz")  # parent is a regular file
    directory = tmp_path / "folder.npz"
    directory.mkdir()
    with pytest.raises(OSError):
        buffer.save(directory)
    assert sorted(os.listdir(tmp_path)) == ["a_file", "folder.npz"]
    assert os.listdir(directory) == []


def test_failed_write_keeps_the_old_file_and_leaves_no_temp_files(tmp_path, monkeypatch):
    path = _filled("plain").save(tmp_path / "buffer.npz")
    before = path.read_bytes()

    def failing_savez(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        _filled("optimized").save(path)
    assert os.listdir(tmp_path) == ["buffer.npz"]
    assert path.read_bytes() == before


# ------------------------------------------------------------------ truncate_last_trajectory


def test_truncate_last_trajectory_bootstraps_the_open_step():
    buffer = ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_envs=2)
    _fill(buffer, 3, dones={2: [1]})  # env 1's last step is a real termination, env 0's is open
    buffer.truncate_last_trajectory()
    assert buffer.dones[2].tolist() == [1.0, 1.0]
    assert buffer.timeouts[2].tolist() == [1.0, 0.0]
    assert buffer._get_samples(np.array([4, 5])).dones.flatten().tolist() == [0.0, 1.0]


def test_truncate_last_trajectory_on_an_empty_buffer_does_nothing():
    buffer = ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu")
    buffer.truncate_last_trajectory()
    assert buffer.dones.sum() == 0 and buffer.timeouts.sum() == 0


def test_truncate_last_trajectory_keeps_the_next_observation_in_memory_optimized_storage():
    buffer = ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", optimize_memory_usage=True)
    _fill(buffer, 3)  # step 2's next observation is 3.0 (stored as slot 3's observation)
    buffer.truncate_last_trajectory()
    reset_obs = np.full((1, 3), -7.0, np.float32)  # training resumes from a fresh reset
    buffer.add(reset_obs, reset_obs + 1, np.zeros((1, 2)), np.zeros(1), np.zeros(1), [{}])
    batch = buffer._get_samples(np.array([2, 3]))
    assert batch.next_observations[:, 0].tolist() == [3.0, -6.0]
    assert batch.dones.flatten().tolist() == [0.0, 0.0]


def test_truncate_last_trajectory_cuts_nstep_lookahead():
    buffer = NStepReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_steps=3, gamma=0.5)
    _fill(buffer, 2)  # rewards 0, 1
    buffer.truncate_last_trajectory()
    for _ in range(2):  # a new episode with rewards 10
        obs = np.full((1, 3), 50.0, np.float32)
        buffer.add(obs, obs, np.zeros((1, 2)), np.array([10.0]), np.array([False]), [{}])
    batch = buffer._get_samples(np.array([0]))
    assert batch.rewards.item() == 0 + 0.5 * 1  # the new episode's reward is not added
    assert batch.discounts.item() == 0.25
    assert batch.dones.item() == 0.0
    assert batch.next_observations[0, 0].item() == 2.0


def test_overwritten_slot_forgets_an_old_truncation_flag():
    buffer = ReplayBuffer(2, BOX_OBS, BOX_ACT, device="cpu", handle_timeout_termination=False)
    _fill(buffer, 1)
    buffer.truncate_last_trajectory()  # slot 0 flagged as a time limit
    _fill(buffer, 2, dones={1: [0]})  # step 0 -> slot 1; step 1 overwrites slot 0 and really terminates
    assert buffer.dones[0, 0] == 1.0
    assert buffer._get_samples(np.array([0])).dones.item() == 1.0


# ------------------------------------------------------------------ errors, nbytes


def test_bad_sizes_and_empty_sampling_are_clear_errors():
    with pytest.raises(ValueError, match="buffer_size must be >= 1, got 0"):
        ReplayBuffer(0, BOX_OBS, BOX_ACT, device="cpu")
    with pytest.raises(ValueError, match="n_envs must be >= 1, got 0"):
        ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_envs=0)
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu").sample(4)


def test_nbytes_counts_the_stored_arrays():
    # 5 slots x 2 envs: obs 3 float32 (60 B per slot), actions 2 float32 (40), reward/done/timeout 4 B each
    plain = ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_envs=2)
    assert plain.nbytes() == 5 * 2 * (12 + 12 + 8 + 4 + 4 + 4)
    optimized = ReplayBuffer(10, BOX_OBS, BOX_ACT, device="cpu", n_envs=2, optimize_memory_usage=True)
    assert optimized.nbytes() == 5 * 2 * (12 + 8 + 4 + 4 + 4)
    image = ReplayBuffer(4, spaces.Box(0, 255, (1, 8, 8), np.uint8), spaces.Discrete(2), device="cpu")
    assert image.nbytes() == 4 * (64 + 64 + 8 + 4 + 4 + 4)


def test_dict_replay_buffer_is_the_dict_space_subclass():
    space = spaces.Dict({"pos": spaces.Box(-5, 5, (2,), np.float32), "mode": spaces.Discrete(3)})
    buffer = DictReplayBuffer(6, space, BOX_ACT, device="cpu", optimize_memory_usage=True)
    assert isinstance(buffer, ReplayBuffer) and isinstance(buffer.observations, dict)
    assert not isinstance(ReplayBuffer(6, space, BOX_ACT, device="cpu"), DictReplayBuffer)
    with pytest.raises(ValueError, match="Dict observation spaces"):
        DictReplayBuffer(6, BOX_OBS, BOX_ACT, device="cpu")


def test_a_buffer_smaller_than_the_batch_samples_with_replacement():
    buffer = ReplayBuffer(4, BOX_OBS, BOX_ACT, device="cpu")
    for t in range(6):
        obs = np.full((1, 3), t, np.float32)
        buffer.add(obs, obs + 1, np.zeros((1, 2)), np.zeros(1), np.zeros(1), [{}])
    batch = buffer.sample(32)
    assert batch.observations.shape == (32, 3)
    assert set(batch.observations[:, 0].tolist()) <= {2.0, 3.0, 4.0, 5.0}  # the 4 newest steps

"""Hindsight Experience Replay buffer and the BitFlippingEnv goal env.

Most tests fill the buffer by hand with transitions whose goals encode where they come from: the achieved goal
of the next observation of absolute step t of env e is (e, t + 1), the achieved goal of its observation is
(e, t), and the stored desired goal is (-1, episode number), which no achieved goal equals. A sampled virtual
transition therefore tells which env and step its new goal was taken from.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from baselines3.common.buffers import ReplayBuffer
from baselines3.common.env_checker import check_env
from baselines3.common.envs import BitFlippingEnv
from baselines3.common.vec_env import DummyVecEnv
from baselines3.her import KEY_TO_GOAL_STRATEGY, GoalSelectionStrategy, HerReplayBuffer

GOAL = spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
OBS_SPACE = spaces.Dict({"observation": GOAL, "achieved_goal": GOAL, "desired_goal": GOAL})


class CountingGoalEnv(gym.Env):
    """Goal env whose reward is minus the L1 distance of the goals plus info["bonus"]; counts compute_reward calls."""

    metadata = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = OBS_SPACE
        self.action_space = spaces.Discrete(2)
        self.calls = 0
        self.last_infos: list = []

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        zero = np.zeros(2, dtype=np.float32)
        return {"observation": zero, "achieved_goal": zero, "desired_goal": zero}, {}

    def step(self, action):
        obs, _ = self.reset()
        return obs, 0.0, False, False, {}

    def compute_reward(self, achieved_goal, desired_goal, info):
        self.calls += 1
        self.last_infos = list(info)
        bonus = np.array([i.get("bonus", 0.0) for i in info], dtype=np.float32)
        return -np.abs(np.asarray(achieved_goal) - np.asarray(desired_goal)).sum(axis=-1) + bonus


def _reward(achieved, desired):
    return -np.abs(achieved - desired).sum(axis=-1)


class Filler:
    """Adds hand-made steps to a buffer and records, per absolute step and env, the episode's first/last step."""

    def __init__(self, buffer: HerReplayBuffer, n_envs: int) -> None:
        self.buffer, self.n_envs = buffer, n_envs
        self.t = 0
        self.ep_start = np.zeros(n_envs, dtype=int)
        self.episode_of: dict[tuple[int, int], int] = {}  # (env, step) -> episode start step
        self.episode_end: dict[int, dict[int, int]] = {e: {} for e in range(n_envs)}  # env -> start -> end
        self.episode_id = 0

    def step(self, done, timeout=None, bonus=None) -> None:
        done = np.asarray(done, dtype=bool)
        t, envs = self.t, np.arange(self.n_envs, dtype=np.float32)
        obs = {
            "observation": np.stack([envs, np.full(self.n_envs, t)], 1).astype(np.float32),
            "achieved_goal": np.stack([envs, np.full(self.n_envs, t)], 1).astype(np.float32),
            "desired_goal": np.stack([np.full(self.n_envs, -1.0), self.ep_start], 1).astype(np.float32),
        }
        next_obs = {key: value.copy() for key, value in obs.items()}
        next_obs["achieved_goal"][:, 1] = t + 1
        infos = [
            {"TimeLimit.truncated": bool(timeout[e]) if timeout is not None else False, "terminal_observation": 0}
            for e in range(self.n_envs)
        ]
        if bonus is not None:
            for e in range(self.n_envs):
                infos[e]["bonus"] = bonus[e]
        actions = np.zeros((self.n_envs, 1), dtype=np.int64)
        rewards = 1000.0 + t + 100 * envs  # real rewards never equal a recomputed one
        self.buffer.add(obs, next_obs, actions, rewards, done, infos)
        for e in range(self.n_envs):
            self.episode_of[(e, t)] = int(self.ep_start[e])
            if done[e]:
                self.episode_end[e][int(self.ep_start[e])] = t
                self.ep_start[e] = t + 1
        self.t += 1

    def run(self, lengths_per_env: list[list[int]], total: int) -> None:
        """Step `total` times; env e's episodes have the lengths `lengths_per_env[e]` in turn (cycled)."""
        counters = [0] * self.n_envs
        which = [0] * self.n_envs
        for _ in range(total):
            done = []
            for e in range(self.n_envs):
                counters[e] += 1
                length = lengths_per_env[e][which[e] % len(lengths_per_env[e])]
                done.append(counters[e] == length)
                if counters[e] == length:
                    counters[e], which[e] = 0, which[e] + 1
            self.step(done)


def _make(buffer_size=100, n_envs=1, vec=True, **kwargs):
    env = CountingGoalEnv()
    target = DummyVecEnv([lambda: env]) if vec else env
    buffer = HerReplayBuffer(buffer_size, OBS_SPACE, spaces.Discrete(2), target, device="cpu", n_envs=n_envs, **kwargs)
    return buffer, env


def _np(samples):
    obs = {k: v.numpy() for k, v in samples.observations.items()}
    next_obs = {k: v.numpy() for k, v in samples.next_observations.items()}
    return obs, next_obs, samples.rewards.numpy().reshape(-1), samples.dones.numpy().reshape(-1)


def _check_batch(samples, filler: Filler, strategy: str, oldest: int = 0) -> int:
    """Assert every row of a batch is consistent; returns the number of virtual rows (they come last)."""
    obs, next_obs, rewards, dones = _np(samples)
    virtual = obs["desired_goal"][:, 0] != -1
    n_virtual = int(virtual.sum())
    assert not virtual[: len(virtual) - n_virtual].any(), "real transitions must come first"
    np.testing.assert_array_equal(obs["desired_goal"], next_obs["desired_goal"])
    for row in range(len(rewards)):
        env, t = int(obs["observation"][row, 0]), int(obs["observation"][row, 1])
        np.testing.assert_array_equal(next_obs["achieved_goal"][row], [env, t + 1])
        if not virtual[row]:
            assert rewards[row] == 1000.0 + t + 100 * env
            assert obs["desired_goal"][row, 1] == filler.episode_of[(env, t)]
            continue
        start = filler.episode_of[(env, t)]
        assert start in filler.episode_end[env], "virtual transitions come from finished episodes only"
        end = filler.episode_end[env][start]
        goal_env, goal_step = int(obs["desired_goal"][row, 0]), int(obs["desired_goal"][row, 1]) - 1
        assert goal_env == env
        assert goal_step >= oldest, "goals come from stored steps"
        if strategy == "future":
            assert t <= goal_step <= end
        elif strategy == "final":
            assert goal_step == end
        else:
            assert max(start, oldest) <= goal_step <= end
        assert rewards[row] == pytest.approx(_reward(next_obs["achieved_goal"][row], obs["desired_goal"][row]))
    return n_virtual


# ---------------------------------------------------------------------------------------------------- relabelling
@pytest.mark.parametrize("strategy", ["future", "final", "episode"])
def test_relabels_goals_per_strategy(strategy):
    np.random.seed(0)
    buffer, env = _make(goal_selection_strategy=strategy)
    filler = Filler(buffer, 1)
    filler.run([[5, 3, 7]], total=15)  # episodes [0-4], [5-7], [8-14]
    samples = buffer.sample(500)
    assert _check_batch(samples, filler, strategy) == 500 * 4 // 5
    assert env.calls == 1  # one vectorized compute_reward call per batch
    obs, *_ = _np(samples)
    virtual = obs["desired_goal"][:, 0] != -1
    steps = obs["observation"][virtual, 1].astype(int)
    goals = obs["desired_goal"][virtual, 1].astype(int) - 1
    if strategy == "future":
        # both ends of the range occur: the transition's own next goal and the episode's last
        assert np.any(goals == steps) and np.any((goals > steps) & (goals < 14))
    if strategy == "episode":
        assert np.any(goals < steps)  # earlier steps of the episode too
    assert set(np.unique(steps)) == set(range(15))  # every finished step gets relabelled


def test_strategy_names_and_enum():
    assert GoalSelectionStrategy.from_value("FUTURE") is GoalSelectionStrategy.FUTURE
    assert KEY_TO_GOAL_STRATEGY["episode"] is GoalSelectionStrategy.EPISODE
    buffer, _ = _make(goal_selection_strategy=GoalSelectionStrategy.FINAL)
    assert buffer.goal_selection_strategy is GoalSelectionStrategy.FINAL


@pytest.mark.parametrize("n_sampled_goal, batch_size, n_virtual", [(4, 256, 204), (1, 10, 5), (0, 32, 0), (2, 7, 4)])
def test_real_virtual_ratio(n_sampled_goal, batch_size, n_virtual):
    buffer, _ = _make(n_sampled_goal=n_sampled_goal)
    filler = Filler(buffer, 1)
    filler.run([[4]], total=20)
    assert buffer.her_ratio == pytest.approx(1 - 1 / (n_sampled_goal + 1))
    assert _check_batch(buffer.sample(batch_size), filler, "future") == n_virtual


def test_two_envs_interleaved_episodes():
    np.random.seed(1)
    buffer, _ = _make(n_envs=2, goal_selection_strategy="episode")
    filler = Filler(buffer, 2)
    filler.run([[3, 4], [5, 2]], total=23)  # both envs end with an unfinished episode
    samples = buffer.sample(600)
    _check_batch(samples, filler, "episode")
    obs, *_ = _np(samples)
    virtual = obs["desired_goal"][:, 0] != -1
    assert set(obs["observation"][virtual, 0].astype(int)) == {0, 1}


def test_unfinished_episode_gives_real_transitions_with_warning():
    buffer, env = _make()
    filler = Filler(buffer, 1)
    for _ in range(6):
        filler.step([False])
    with pytest.warns(UserWarning, match="no episode has finished"):
        samples = buffer.sample(50)
    assert _check_batch(samples, filler, "future") == 0 and env.calls == 0
    filler.step([True])
    assert _check_batch(buffer.sample(50), filler, "future") == 40


def test_running_episode_is_never_relabelled():
    np.random.seed(2)
    buffer, _ = _make(goal_selection_strategy="final")
    filler = Filler(buffer, 1)
    filler.run([[3]], total=3)
    for _ in range(20):
        filler.step([False])  # steps 3..22 run on
    obs, *_ = _np(buffer.sample(2000))
    virtual = obs["desired_goal"][:, 0] != -1
    assert obs["observation"][virtual, 1].max() <= 2  # only the finished episode [0-2]
    assert obs["observation"][~virtual, 1].max() > 2  # running steps are still sampled as real transitions


@pytest.mark.parametrize("strategy", ["future", "final", "episode"])
def test_wrap_around(strategy):
    np.random.seed(3)
    buffer, _ = _make(buffer_size=10, goal_selection_strategy=strategy)
    filler = Filler(buffer, 1)
    filler.run([[4]], total=27)  # holds steps 17..26: tail of [16-19], [20-23], running [24-26]
    assert buffer.full
    samples = buffer.sample(1000)
    _check_batch(samples, filler, strategy, oldest=17)
    obs, *_ = _np(samples)
    virtual = obs["desired_goal"][:, 0] != -1
    assert set(obs["observation"][virtual, 1].astype(int)) == set(range(17, 24))


def test_episode_longer_than_buffer():
    np.random.seed(4)
    buffer, _ = _make(buffer_size=8, n_envs=2, goal_selection_strategy="episode")
    filler = Filler(buffer, 2)
    filler.run([[11], [2]], total=11)  # env 0: one episode of 11 steps, 4 per env kept
    samples = buffer.sample(400)
    _check_batch(samples, filler, "episode", oldest=7)
    obs, *_ = _np(samples)
    env0 = (obs["desired_goal"][:, 0] == 0) & (obs["observation"][:, 0] == 0)
    assert set((obs["desired_goal"][env0, 1] - 1).astype(int)) == {7, 8, 9, 10}


def test_timeout_is_not_termination_and_dones_kept():
    buffer, _ = _make()
    filler = Filler(buffer, 1)
    filler.step([True], timeout=[True])  # truncated episode
    filler.step([True], timeout=[False])  # terminated episode
    obs, _, _, dones = _np(buffer.sample(200))
    steps = obs["observation"][:, 1].astype(int)
    assert set(dones[steps == 0]) == {0.0} and set(dones[steps == 1]) == {1.0}


def test_truncate_last_trajectory_closes_running_episodes():
    buffer, _ = _make(n_envs=2)
    filler = Filler(buffer, 2)
    filler.run([[2], [10]], total=5)  # env 0 runs step 4, env 1 runs 0..4
    buffer.truncate_last_trajectory()
    filler.episode_end[0][4] = 4
    filler.episode_end[1][0] = 4
    assert buffer.timeouts[4].tolist() == [1.0, 1.0] and buffer.dones[4].tolist() == [1.0, 1.0]
    np.random.seed(5)
    samples = buffer.sample(500)
    _check_batch(samples, filler, "future")
    obs, *_ = _np(samples)
    virtual = obs["desired_goal"][:, 0] != -1
    assert np.any(virtual & (obs["observation"][:, 0] == 1))


def test_sample_batches_consistent_and_one_reward_call():
    np.random.seed(6)
    buffer, env = _make(n_envs=2, goal_selection_strategy="final")
    filler = Filler(buffer, 2)
    filler.run([[3], [4]], total=16)
    batches = buffer.sample_batches(20, 5)
    assert len(batches) == 5 and env.calls == 1
    for batch in batches:
        assert batch.rewards.shape == (20, 1) and batch.dones.shape == (20, 1)
        assert _check_batch(batch, filler, "final") == 16


def test_normalizer_applied_after_relabelling():
    class Doubler:
        def normalize_obs(self, obs):
            return {key: value * 2 for key, value in obs.items()}

        def normalize_reward(self, reward):
            return reward * 2

    np.random.seed(7)
    buffer, _ = _make()
    filler = Filler(buffer, 1)
    filler.run([[4]], total=8)
    samples = buffer.sample(50, env=Doubler())
    obs = {k: v.numpy() / 2 for k, v in samples.observations.items()}
    next_obs = {k: v.numpy() / 2 for k, v in samples.next_observations.items()}
    rewards = samples.rewards.numpy().reshape(-1) / 2
    virtual = obs["desired_goal"][:, 0] != -1
    assert virtual.sum() == 40
    np.testing.assert_allclose(rewards[virtual], _reward(next_obs["achieved_goal"], obs["desired_goal"])[virtual])


def test_copy_info_dict_passes_infos():
    np.random.seed(8)
    buffer, env = _make(copy_info_dict=True, vec=False)  # a plain gymnasium env works too
    filler = Filler(buffer, 1)
    for t in range(6):
        filler.step([t % 3 == 2], bonus=[0.25 * t])
    obs, next_obs, rewards, _ = _np(buffer.sample(100))
    virtual = obs["desired_goal"][:, 0] != -1
    steps = obs["observation"][virtual, 1]
    np.testing.assert_allclose(
        rewards[virtual], _reward(next_obs["achieved_goal"], obs["desired_goal"])[virtual] + 0.25 * steps
    )
    assert all("terminal_observation" not in info for info in env.last_infos)
    assert [info["bonus"] for info in env.last_infos] == pytest.approx(0.25 * steps)


def test_without_copy_info_dict_infos_are_empty():
    buffer, env = _make()
    Filler(buffer, 1).run([[2]], total=4)
    buffer.sample(10)
    assert env.last_infos == [{}] * 8


def test_env_needed_to_relabel_and_set_env():
    buffer = HerReplayBuffer(50, OBS_SPACE, spaces.Discrete(2), None, device="cpu")
    filler = Filler(buffer, 1)
    filler.run([[2]], total=4)
    with pytest.raises(RuntimeError, match="set_env"):
        buffer.sample(10)
    buffer.set_env(CountingGoalEnv())
    _check_batch(buffer.sample(10), filler, "future")


def test_pickling_drops_env():
    import pickle

    buffer, _ = _make(vec=False)
    Filler(buffer, 1).run([[2]], total=4)
    restored = pickle.loads(pickle.dumps(buffer))
    assert restored.env is None and restored.n_steps_added == 4


# ---------------------------------------------------------------------------------------------------- save / load
def test_save_load_round_trip(tmp_path):
    buffer, _ = _make(buffer_size=12, n_envs=2, goal_selection_strategy="episode")
    filler = Filler(buffer, 2)
    filler.run([[3, 5], [4]], total=9)  # wrapped (6 slots per env), episodes running
    path = buffer.save(tmp_path / "her")
    other, _ = _make(buffer_size=12, n_envs=2, goal_selection_strategy="episode")
    other.load(path)
    for name in ("ep_start", "ep_end", "current_ep_start"):
        np.testing.assert_array_equal(getattr(other.sampler, name), getattr(buffer.sampler, name))
    assert (other.n_steps_added, other.pos, other.full) == (9, buffer.pos, True)
    np.random.seed(9)
    first = buffer.sample_batches(16, 3)
    np.random.seed(9)
    second = other.sample_batches(16, 3)
    for a, b in zip(first, second):
        for key in a.observations:
            torch.testing.assert_close(a.observations[key], b.observations[key])
        torch.testing.assert_close(a.rewards, b.rewards)
    # adding after the load continues the same episodes
    filler.buffer = other
    filler.run([[1], [1]], total=2)
    _check_batch(other.sample(200), filler, "episode", oldest=5)


def test_save_with_infos_warns(tmp_path):
    buffer, _ = _make(copy_info_dict=True)
    Filler(buffer, 1).run([[2]], total=4)
    with pytest.warns(UserWarning, match="info dicts"):
        path = buffer.save(tmp_path / "her_infos")
    other, _ = _make(copy_info_dict=True)
    other.load(path)
    assert other.infos is not None and other.infos[0] == [{}]


def test_load_rejects_plain_replay_buffer_and_bad_counters(tmp_path):
    plain = ReplayBuffer(10, OBS_SPACE, spaces.Discrete(2), device="cpu")
    path = plain.save(tmp_path / "plain")
    buffer, _ = _make(buffer_size=10)
    with pytest.raises(ValueError, match="buffer_class"):
        buffer.load(path)
    from baselines3.common.save_util import load_arrays, save_arrays

    Filler(buffer, 1).run([[2]], total=3)
    meta, arrays = load_arrays(buffer.save(tmp_path / "her"))
    meta["n_steps_added"] = 4  # disagrees with pos = 3
    save_arrays(tmp_path / "bad", meta, arrays)
    with pytest.raises(ValueError, match="n_steps_added"):
        buffer.load(tmp_path / "bad.npz")


# ---------------------------------------------------------------------------------------------------- bad inputs
def test_rejects_non_goal_envs():
    box = spaces.Box(-1, 1, (3,))
    with pytest.raises(ValueError, match="must be a Dict"):
        HerReplayBuffer(10, box, spaces.Discrete(2), CountingGoalEnv())
    partial = spaces.Dict({"observation": GOAL, "achieved_goal": GOAL})
    with pytest.raises(ValueError, match=r"\['desired_goal'\]"):
        HerReplayBuffer(10, partial, spaces.Discrete(2), CountingGoalEnv())
    mismatched = spaces.Dict({"observation": GOAL, "achieved_goal": GOAL, "desired_goal": spaces.Box(0, 1, (3,))})
    with pytest.raises(ValueError, match="same shape"):
        HerReplayBuffer(10, mismatched, spaces.Discrete(2), CountingGoalEnv())

    plain = type("Plain", (gym.Env,), {"observation_space": OBS_SPACE, "action_space": spaces.Discrete(2)})
    with pytest.raises(ValueError, match="compute_reward"):
        HerReplayBuffer(10, OBS_SPACE, spaces.Discrete(2), DummyVecEnv([plain]))
    with pytest.raises(ValueError, match="compute_reward"):
        HerReplayBuffer(10, OBS_SPACE, spaces.Discrete(2), plain())


def test_rejects_bad_options():
    env = CountingGoalEnv()
    with pytest.raises(ValueError, match=r"'futur'.*episode"):
        HerReplayBuffer(10, OBS_SPACE, spaces.Discrete(2), env, goal_selection_strategy="futur")
    with pytest.raises(ValueError, match="optimize_memory_usage"):
        HerReplayBuffer(10, OBS_SPACE, spaces.Discrete(2), env, optimize_memory_usage=True)
    with pytest.raises(ValueError, match="n_sampled_goal"):
        HerReplayBuffer(10, OBS_SPACE, spaces.Discrete(2), env, n_sampled_goal=-1)


def test_non_vectorized_compute_reward_is_an_error():
    class Scalar(CountingGoalEnv):
        def compute_reward(self, achieved_goal, desired_goal, info):
            return 0.0

    buffer = HerReplayBuffer(10, OBS_SPACE, spaces.Discrete(2), Scalar(), device="cpu")
    Filler(buffer, 1).run([[2]], total=2)
    with pytest.raises(ValueError, match="vectorized"):
        buffer.sample(10)


# ---------------------------------------------------------------------------------------------------- BitFlippingEnv
BIT_FLIPPING_VARIANTS = [
    {},
    {"continuous": True},
    {"discrete_obs_space": True},
    {"image_obs_space": True},
    {"image_obs_space": True, "channel_first": False},
]


@pytest.mark.parametrize("kwargs", BIT_FLIPPING_VARIANTS)
def test_bit_flipping_passes_check_env(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(BitFlippingEnv(n_bits=6, **kwargs))


def test_bit_flipping_dynamics():
    env = BitFlippingEnv(n_bits=4, render_mode=None)
    obs, _ = env.reset(seed=3)
    assert isinstance(env.action_space, spaces.Discrete) and env.action_space.n == 4
    assert not np.array_equal(obs["achieved_goal"], obs["desired_goal"])
    np.testing.assert_array_equal(obs["observation"], obs["achieved_goal"])
    start = obs["achieved_goal"].copy()
    obs, reward, terminated, truncated, info = env.step(2)
    expected = start.copy()
    expected[2] = 1 - expected[2]
    np.testing.assert_array_equal(obs["achieved_goal"], expected)
    assert reward == (0.0 if np.array_equal(expected, obs["desired_goal"]) else -1.0)
    # reach the goal bit by bit: success terminates with reward 0
    env.reset(seed=5)
    for i in np.flatnonzero(env.state != env.goal):
        obs, reward, terminated, truncated, info = env.step(int(i))
    assert reward == 0.0 and terminated and not truncated and info["is_success"]


def test_bit_flipping_truncates_after_max_steps():
    env = BitFlippingEnv(n_bits=3, max_steps=5, render_mode=None)
    env.reset(seed=0)
    flags = []
    for _ in range(5):
        env.state = 1 - env.goal  # keep away from the goal
        _, reward, terminated, truncated, _ = env.step(0)
        flags.append((reward, terminated, truncated))
    assert flags[:4] == [(-1.0, False, False)] * 4 and flags[4] == (-1.0, False, True)
    assert BitFlippingEnv(n_bits=7).max_steps == 7


def test_bit_flipping_continuous_flips_positive_actions():
    env = BitFlippingEnv(n_bits=4, continuous=True, render_mode=None)
    obs, _ = env.reset(seed=1)
    obs2, *_ = env.step(np.array([0.5, -0.5, 0.1, -1.0], dtype=np.float32))
    np.testing.assert_array_equal(obs2["achieved_goal"], np.abs(obs["achieved_goal"] - [1, 0, 1, 0]))
    assert obs2["achieved_goal"].dtype == np.float32


@pytest.mark.parametrize("kwargs", BIT_FLIPPING_VARIANTS)
def test_bit_flipping_compute_reward_vectorized(kwargs):
    env = BitFlippingEnv(n_bits=5, render_mode=None, **kwargs)
    rng = np.random.default_rng(0)
    bits_a = rng.integers(0, 2, size=(8, 5))
    bits_b = bits_a.copy()
    bits_b[::2, 0] = 1 - bits_b[::2, 0]  # even rows differ
    achieved = np.stack([env.encode(b) for b in bits_a])
    desired = np.stack([env.encode(b) for b in bits_b])
    if kwargs.get("discrete_obs_space"):
        achieved, desired = achieved.reshape(8, 1), desired.reshape(8, 1)  # as the replay buffer stores them
    rewards = env.compute_reward(achieved, desired, [{}] * 8)
    np.testing.assert_array_equal(rewards, [-1, 0] * 4)
    for row in range(8):
        assert env.compute_reward(env.encode(bits_a[row]), env.encode(bits_b[row]), {}) == rewards[row]
        np.testing.assert_array_equal(env.decode(env.encode(bits_a[row])), bits_a[row])


def test_bit_flipping_render_and_bad_arguments(capsys):
    env = BitFlippingEnv(n_bits=3)
    env.reset(seed=0)
    env.render()
    assert "goal" in capsys.readouterr().out
    frame = BitFlippingEnv(n_bits=3, render_mode="rgb_array")
    frame.reset(seed=0)
    assert frame.render().shape == (16, 24, 3)
    with pytest.raises(ValueError, match="n_bits"):
        BitFlippingEnv(n_bits=0)
    with pytest.raises(ValueError, match="render_mode"):
        BitFlippingEnv(render_mode="ansi")


@pytest.mark.parametrize("kwargs", [{}, {"discrete_obs_space": True}, {"image_obs_space": True}])
def test_her_with_bit_flipping_vec_env(kwargs):
    """Real env steps through DummyVecEnv: relabelled rewards are 0 exactly where the new goal is reached."""
    np.random.seed(10)
    venv = DummyVecEnv([lambda: BitFlippingEnv(n_bits=4, render_mode=None, **kwargs) for _ in range(2)])
    venv.seed(0)
    buffer = HerReplayBuffer(
        64, venv.observation_space, venv.action_space, venv, device="cpu", n_envs=2, goal_selection_strategy="final"
    )
    obs = venv.reset()
    for _ in range(40):
        actions = np.random.randint(0, 4, size=2)
        next_obs, rewards, dones, infos = venv.step(actions)
        stored_next = {key: value.copy() for key, value in next_obs.items()}
        for i in np.flatnonzero(dones):
            for key in stored_next:
                stored_next[key][i] = infos[i]["terminal_observation"][key]
        buffer.add(obs, stored_next, actions, rewards, dones, infos)
        obs = next_obs
    samples = buffer.sample(100)
    achieved = samples.next_observations["achieved_goal"].numpy().reshape(100, -1)
    desired = samples.observations["desired_goal"].numpy().reshape(100, -1)
    reached = np.all(achieved == desired, axis=1)
    np.testing.assert_array_equal(samples.rewards.numpy().reshape(-1), np.where(reached, 0.0, -1.0))
    assert reached[20:].mean() > reached[:20].mean()  # relabelled goals are often reached


# ---------------------------------------------------------------------------------------------------- learning
@pytest.mark.slow
def test_dqn_learns_bit_flipping_with_her_only():
    """8 bits: random exploration (almost) never meets the goal, so DQN alone fails; with HER it solves it."""
    from baselines3 import DQN
    from baselines3.common.evaluation import evaluate_policy

    success = {}
    for use_her in (True, False):
        kwargs: dict = {}
        if use_her:
            kwargs = dict(
                replay_buffer_class=HerReplayBuffer,
                replay_buffer_kwargs=dict(n_sampled_goal=4, goal_selection_strategy="future"),
            )
        model = DQN(
            "MultiInputPolicy",
            BitFlippingEnv(n_bits=8, render_mode=None),
            learning_starts=100,
            learning_rate=1e-3,
            gamma=0.95,
            exploration_fraction=0.3,
            target_update_interval=250,
            buffer_size=20_000,
            policy_kwargs=dict(net_arch=[64, 64]),
            seed=0,
            **kwargs,
        )
        model.learn(8000)
        returns, _ = evaluate_policy(
            model,
            BitFlippingEnv(n_bits=8, render_mode=None),
            n_eval_episodes=50,
            return_episode_rewards=True,
            warn=False,
        )
        success[use_her] = float(np.mean(np.asarray(returns) > -8))  # -8: eight steps without reaching the goal
    assert success[True] >= 0.9, success
    assert success[False] <= 0.3, success

"""RunningMeanStd and VecNormalize checked against statistics computed by hand with numpy."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from baselines3.common.running_mean_std import RunningMeanStd
from baselines3.common.vec_env import DummyVecEnv, VecFrameStack, VecNormalize, sync_envs_normalization

EPS_COUNT = 1e-4  # RunningMeanStd's initial pseudo-count (prior: mean 0, variance 1)


def stats_with_prior(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of ``samples`` merged with the prior pseudo-sample, computed directly."""
    n = samples.shape[0]
    total = n + EPS_COUNT
    sample_mean = samples.mean(axis=0)
    mean = samples.sum(axis=0) / total
    m2 = EPS_COUNT * 1.0 + ((samples - sample_mean) ** 2).sum(axis=0) + (EPS_COUNT * n / total) * sample_mean**2
    return mean, m2 / total


class ScriptedEnv(gym.Env):
    """Returns scripted observations and rewards; episodes last ``length`` steps."""

    def __init__(self, observations: list[Any], rewards: list[float], length: int = 100) -> None:
        self.observations = observations
        self.rewards = rewards
        self.length = length
        first = observations[0]
        if isinstance(first, dict):
            self.observation_space = spaces.Dict(
                {
                    "a": spaces.Box(-np.inf, np.inf, np.shape(first["a"]), np.float64),
                    "b": spaces.Discrete(10),
                }
            )
        else:
            self.observation_space = spaces.Box(-np.inf, np.inf, np.shape(first), np.float64)
        self.action_space = spaces.Discrete(2)
        self.index = 0
        self.t = 0

    def _obs(self) -> Any:
        obs = self.observations[self.index % len(self.observations)]
        return {k: np.array(v) for k, v in obs.items()} if isinstance(obs, dict) else np.array(obs, dtype=np.float64)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        reward = self.rewards[self.index % len(self.rewards)]
        self.index += 1
        self.t += 1
        return self._obs(), reward, self.t >= self.length, False, {}


def two_env_venv(length: int = 100) -> DummyVecEnv:
    obs0 = [[1.0, -2.0], [3.0, 0.0], [5.0, 4.0], [2.0, 2.0]]
    obs1 = [[-1.0, 10.0], [0.0, 8.0], [7.0, -3.0], [1.0, 1.0]]
    return DummyVecEnv(
        [
            lambda: ScriptedEnv(obs0, [1.0, 2.0, -1.0, 0.5], length),
            lambda: ScriptedEnv(obs1, [0.0, 4.0, 3.0, -2.0], length),
        ]
    )


# ----- RunningMeanStd -----------------------------------------------------------------------------------
def test_running_mean_std_matches_closed_form() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 2))
    b = rng.normal(size=(7, 2)) * 3 + 1
    rms = RunningMeanStd(shape=(2,))
    rms.update(a)
    rms.update(b)
    mean, var = stats_with_prior(np.concatenate([a, b]))
    np.testing.assert_allclose(rms.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(rms.var, var, rtol=1e-12)
    assert rms.count == pytest.approx(12 + EPS_COUNT)
    # Splitting the stream differently gives the same result.
    once = RunningMeanStd(shape=(2,))
    once.update(np.concatenate([a, b]))
    np.testing.assert_allclose(once.mean, rms.mean, rtol=1e-12)
    np.testing.assert_allclose(once.var, rms.var, rtol=1e-12)
    # combine() merges statistics like a batch update.
    left, right = RunningMeanStd(shape=(2,)), RunningMeanStd(epsilon=1e-12, shape=(2,))
    left.update(a)
    right.update(b)
    left.combine(right)
    np.testing.assert_allclose(left.mean, rms.mean, rtol=1e-9)
    copied = rms.copy()
    copied.update(a)
    assert rms.count == pytest.approx(12 + EPS_COUNT)
    with pytest.raises(ValueError, match="shape"):
        rms.update(np.zeros((3, 5)))


# ----- observation normalisation ------------------------------------------------------------------------
def test_obs_normalization_arithmetic() -> None:
    venv = VecNormalize(two_env_venv(), norm_reward=False)
    assert venv.observation_space == spaces.Box(-10.0, 10.0, (2,), np.float32)
    reset_obs = venv.reset()
    raw_reset = np.array([[1.0, -2.0], [-1.0, 10.0]])
    mean, var = stats_with_prior(raw_reset)
    np.testing.assert_allclose(reset_obs, (raw_reset - mean) / np.sqrt(var + 1e-8), rtol=1e-6)
    assert reset_obs.dtype == np.float32

    obs, rewards, _, _ = venv.step(np.zeros(2, dtype=int))
    raw_step = np.array([[3.0, 0.0], [0.0, 8.0]])
    mean, var = stats_with_prior(np.concatenate([raw_reset, raw_step]))
    np.testing.assert_allclose(venv.obs_rms.mean, mean, rtol=1e-12)  # type: ignore[union-attr]
    np.testing.assert_allclose(venv.obs_rms.var, var, rtol=1e-12)  # type: ignore[union-attr]
    np.testing.assert_allclose(obs, (raw_step - mean) / np.sqrt(var + 1e-8), rtol=1e-6)
    np.testing.assert_array_equal(rewards, [1.0, 0.0])  # norm_reward=False leaves rewards alone
    np.testing.assert_array_equal(venv.get_original_obs(), raw_step)
    np.testing.assert_array_equal(venv.get_original_reward(), [1.0, 0.0])
    np.testing.assert_allclose(venv.unnormalize_obs(obs), raw_step, rtol=1e-5, atol=1e-5)


def test_obs_clipping_and_frozen_statistics() -> None:
    venv = VecNormalize(two_env_venv(), norm_reward=False, clip_obs=0.5)
    obs = venv.reset()
    assert np.abs(obs).max() == pytest.approx(0.5)  # (x - mean) / std is +-1 here, clipped to 0.5
    venv.training = False
    mean_before = venv.obs_rms.mean.copy()  # type: ignore[union-attr]
    obs, _, _, _ = venv.step(np.zeros(2, dtype=int))
    np.testing.assert_array_equal(venv.obs_rms.mean, mean_before)  # type: ignore[union-attr]
    raw = np.array([[3.0, 0.0], [0.0, 8.0]])
    expected = np.clip((raw - mean_before) / np.sqrt(venv.obs_rms.var + 1e-8), -0.5, 0.5)  # type: ignore[union-attr]
    np.testing.assert_allclose(obs, expected, rtol=1e-6)


def test_terminal_observation_is_normalized() -> None:
    venv = VecNormalize(two_env_venv(length=1), norm_reward=False)
    venv.reset()
    _, _, dones, infos = venv.step(np.zeros(2, dtype=int))
    assert dones.all()
    expected = venv.normalize_obs(np.array([3.0, 0.0]))
    np.testing.assert_allclose(infos[0]["terminal_observation"], expected)


# ----- reward scaling -----------------------------------------------------------------------------------
def test_reward_scaling_uses_discounted_return() -> None:
    gamma = 0.5
    venv = VecNormalize(two_env_venv(length=3), norm_obs=False, gamma=gamma, clip_reward=100.0)
    venv.reset()
    env_rewards = np.array([[1.0, 0.0], [2.0, 4.0], [-1.0, 3.0], [0.5, -2.0], [1.0, 0.0]])
    returns = np.zeros(2)
    seen_returns = []
    for step, raw in enumerate(env_rewards):
        _, rewards, dones, _ = venv.step(np.zeros(2, dtype=int))
        returns = returns * gamma + raw
        seen_returns.append(returns.copy())
        _, var = stats_with_prior(np.concatenate(seen_returns))
        np.testing.assert_allclose(rewards, raw / np.sqrt(var + 1e-8), rtol=1e-6)
        assert rewards.dtype == np.float32
        np.testing.assert_array_equal(venv.get_original_reward(), raw)
        if step == 2:  # episodes of length 3 end here: the returns restart
            assert dones.all()
            returns[:] = 0.0
    np.testing.assert_allclose(venv.unnormalize_reward(rewards), env_rewards[-1], rtol=1e-6)


def test_reward_clipping() -> None:
    venv = VecNormalize(two_env_venv(), norm_obs=False, clip_reward=0.1)
    venv.reset()
    _, rewards, _, _ = venv.step(np.zeros(2, dtype=int))
    np.testing.assert_allclose(rewards, [0.1, 0.0])


# ----- Dict observations --------------------------------------------------------------------------------
def test_dict_observations_with_selected_keys() -> None:
    observations = [{"a": [1.0, 2.0], "b": 3}, {"a": [3.0, 6.0], "b": 4}]
    venv = VecNormalize(DummyVecEnv([lambda: ScriptedEnv(observations, [1.0])]), norm_obs_keys=["a"])
    assert isinstance(venv.observation_space, spaces.Dict)
    assert venv.observation_space["a"].dtype == np.float32 and venv.observation_space["b"] == spaces.Discrete(10)
    venv.reset()
    obs, _, _, _ = venv.step(np.zeros(1, dtype=int))
    mean, var = stats_with_prior(np.array([[1.0, 2.0], [3.0, 6.0]]))
    np.testing.assert_allclose(obs["a"][0], ([3.0, 6.0] - mean) / np.sqrt(var + 1e-8), rtol=1e-6)
    np.testing.assert_array_equal(obs["b"], [4])
    with pytest.raises(ValueError, match="only normalise Box"):
        VecNormalize(DummyVecEnv([lambda: ScriptedEnv(observations, [1.0])]))
    with pytest.raises(ValueError, match="'c'"):
        VecNormalize(DummyVecEnv([lambda: ScriptedEnv(observations, [1.0])]), norm_obs_keys=["c"])


@pytest.mark.parametrize(
    "setting, message",
    [
        (dict(gamma=1.5), "gamma must be in"),
        (dict(clip_obs=-1.0), "clip_obs must be > 0"),
        (dict(epsilon=0), "epsilon"),
    ],
)
def test_settings_that_mean_nothing_are_refused(setting: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VecNormalize(DummyVecEnv([lambda: ScriptedEnv([[0.0, 1.0]], [1.0])]), **setting)


def test_unsupported_space() -> None:
    class DiscreteObsEnv(ScriptedEnv):
        def __init__(self) -> None:
            super().__init__([[0.0]], [1.0])
            self.observation_space = spaces.Discrete(3)

        def _obs(self) -> Any:
            return 1

    with pytest.raises(ValueError, match="norm_obs=False"):
        VecNormalize(DummyVecEnv([DiscreteObsEnv]))
    venv = VecNormalize(DummyVecEnv([DiscreteObsEnv]), norm_obs=False)
    np.testing.assert_array_equal(venv.reset(), [1])


# ----- saving and loading -------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path: Path) -> None:
    venv = VecNormalize(two_env_venv(), gamma=0.9, clip_obs=7.0, clip_reward=3.0, epsilon=1e-6)
    venv.reset()
    for _ in range(5):
        venv.step(np.zeros(2, dtype=int))
    path = tmp_path / "stats" / "vec_normalize.pkl"  # SB3-style name; the content is JSON
    venv.save(path)
    assert sorted(os.listdir(path.parent)) == ["vec_normalize.pkl"]  # no temp file left behind
    data = json.loads(path.read_text())
    assert data["settings"]["gamma"] == 0.9

    loaded = VecNormalize.load(path, two_env_venv())
    for name in ("gamma", "clip_obs", "clip_reward", "epsilon", "training", "norm_obs", "norm_reward"):
        assert getattr(loaded, name) == getattr(venv, name)
    np.testing.assert_array_equal(loaded.obs_rms.mean, venv.obs_rms.mean)  # type: ignore[union-attr]
    np.testing.assert_array_equal(loaded.obs_rms.var, venv.obs_rms.var)  # type: ignore[union-attr]
    assert loaded.obs_rms.count == venv.obs_rms.count  # type: ignore[union-attr]
    np.testing.assert_array_equal(loaded.ret_rms.var, venv.ret_rms.var)
    probe = np.array([[0.5, 1.5], [2.0, -4.0]])
    np.testing.assert_array_equal(loaded.normalize_obs(probe), venv.normalize_obs(probe))


def test_save_load_dict(tmp_path: Path) -> None:
    observations = [{"a": [1.0, 2.0], "b": 3}, {"a": [3.0, 6.0], "b": 4}]

    def make() -> DummyVecEnv:
        return DummyVecEnv([lambda: ScriptedEnv(observations, [1.0])])

    venv = VecNormalize(make(), norm_obs_keys=["a"])
    venv.reset()
    venv.step(np.zeros(1, dtype=int))
    venv.save(tmp_path / "dict.json")
    loaded = VecNormalize.load(tmp_path / "dict.json", make())
    assert loaded.norm_obs_keys == ["a"]
    np.testing.assert_array_equal(loaded.obs_rms["a"].var, venv.obs_rms["a"].var)  # type: ignore[index]


def test_load_rejects_mismatched_shapes_and_pickles(tmp_path: Path) -> None:
    venv = VecNormalize(two_env_venv())
    venv.save(tmp_path / "stats.json")
    three_dims = DummyVecEnv([lambda: ScriptedEnv([[0.0, 0.0, 0.0]], [1.0])])
    with pytest.raises(ValueError, match=r"shape \(2,\).*\(3,\)"):
        VecNormalize.load(tmp_path / "stats.json", three_dims)
    dict_env = DummyVecEnv([lambda: ScriptedEnv([{"a": [1.0], "b": 0}], [1.0])])
    with pytest.raises(ValueError, match="shape"):
        VecNormalize.load(tmp_path / "stats.json", dict_env)
    (tmp_path / "old.pkl").write_bytes(pickle.dumps({"obs_rms": None}))  # a pickle, but not of SB3's class
    with pytest.raises(ValueError, match="not a Stable-Baselines3 VecNormalize"):
        VecNormalize.load(tmp_path / "old.pkl", two_env_venv())
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="not a VecNormalize file"):
        VecNormalize.load(tmp_path / "other.json", two_env_venv())
    saved = json.loads((tmp_path / "stats.json").read_text())
    for field in ("settings", "obs_rms", "ret_rms"):
        broken = {key: value for key, value in saved.items() if key != field}
        (tmp_path / "broken.json").write_text(json.dumps(broken))
        with pytest.raises(ValueError, match=f"not a valid VecNormalize file: missing or malformed field '{field}'"):
            VecNormalize.load(tmp_path / "broken.json", two_env_venv())


def test_saved_statistics_are_readable_like_any_file_the_user_writes(tmp_path: Path) -> None:
    """Written through save_util.atomic_write (umask permissions, folder synced), not a private temp file."""
    VecNormalize(two_env_venv()).save(tmp_path / "stats.json")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "stats.json").stat().st_mode & 0o777 == 0o666 & ~umask


# ----- helpers ------------------------------------------------------------------------------------------
def test_sync_envs_normalization() -> None:
    train = VecFrameStack(VecNormalize(two_env_venv()), n_stack=2)
    evaluation = VecFrameStack(VecNormalize(two_env_venv(), training=False), n_stack=2)
    train.reset()
    train.step(np.zeros(2, dtype=int))
    sync_envs_normalization(train, evaluation)
    train_norm, eval_norm = train.venv, evaluation.venv
    assert isinstance(train_norm, VecNormalize) and isinstance(eval_norm, VecNormalize)
    np.testing.assert_array_equal(eval_norm.obs_rms.mean, train_norm.obs_rms.mean)  # type: ignore[union-attr]
    assert eval_norm.obs_rms is not train_norm.obs_rms  # a copy: training goes on independently
    train.step(np.zeros(2, dtype=int))
    assert not np.array_equal(eval_norm.obs_rms.mean, train_norm.obs_rms.mean)  # type: ignore[union-attr]
    with pytest.raises(AttributeError, match="same way"):
        sync_envs_normalization(train, VecFrameStack(two_env_venv(), n_stack=2))


def test_pickle_and_set_venv() -> None:
    venv = VecNormalize(two_env_venv())
    venv.reset()
    restored = pickle.loads(pickle.dumps(venv))
    assert restored.venv is None
    restored.set_venv(two_env_venv())
    np.testing.assert_array_equal(restored.obs_rms.mean, venv.obs_rms.mean)  # type: ignore[union-attr]
    assert restored.returns.shape == (2,)
    restored.reset()
    with pytest.raises(ValueError, match="already wraps"):
        restored.set_venv(two_env_venv())
    fresh = pickle.loads(pickle.dumps(venv))
    with pytest.raises(ValueError, match="shape"):
        fresh.set_venv(DummyVecEnv([lambda: ScriptedEnv([[0.0]], [1.0])]))

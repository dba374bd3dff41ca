"""DDPG: TD3 with one critic, no target policy smoothing and no policy delay, under SB3's names and defaults."""

from __future__ import annotations

import inspect
import json
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from baselines3 import DDPG, TD3
from baselines3.common.evaluation import evaluate_policy
from baselines3.common.monitor import Monitor
from baselines3.common.noise import NormalActionNoise
from baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from baselines3.td3.policies import TD3Policy

FAST = dict(learning_starts=20, batch_size=16, buffer_size=500)


class TargetEnv(gym.Env):
    """Observation x in [-1, 1]^dim, reward 1 - mean|a - x|: the best policy is a = x (20 steps score 20)."""

    def __init__(self, dim: int = 1) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (dim,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (dim,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        self.x = self.np_random.uniform(-1, 1, self.observation_space.shape).astype(np.float32)
        return self.x, {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward = 1.0 - float(np.abs(np.asarray(action) - self.x).mean())
        self.t += 1
        self.x = self.np_random.uniform(-1, 1, self.observation_space.shape).astype(np.float32)
        return self.x, reward, False, self.t >= 20, {}


# ------------------------------------------------------------------ API
def test_imports_and_policy_names():
    import baselines3
    from baselines3.ddpg import DDPG as DDPGFromPackage
    from baselines3.ddpg import CnnPolicy, MlpPolicy, MultiInputPolicy
    from baselines3.td3 import policies as td3_policies

    assert DDPGFromPackage is DDPG is baselines3.DDPG and "DDPG" in baselines3.__all__
    assert (MlpPolicy, CnnPolicy, MultiInputPolicy) == (
        td3_policies.MlpPolicy,
        td3_policies.CnnPolicy,
        td3_policies.MultiInputPolicy,
    )
    assert DDPG.policy_aliases == TD3.policy_aliases
    assert issubclass(DDPG, TD3) and issubclass(DDPG, OffPolicyAlgorithm)


def test_constructor_signature_is_sb3s():
    sb3 = pytest.importorskip("stable_baselines3")
    ours = inspect.signature(DDPG.__init__).parameters
    theirs = inspect.signature(sb3.DDPG.__init__).parameters
    # SB3's parameters in SB3's order, then baselines3's keyword-only additions
    assert list(ours) == [*theirs, "precision"]
    assert ours["precision"].kind is inspect.Parameter.KEYWORD_ONLY and ours["precision"].default == "fp32"
    assert {name: ours[name].default for name in theirs} == {name: p.default for name, p in theirs.items()}
    learn_ours = inspect.signature(DDPG.learn).parameters
    learn_theirs = inspect.signature(sb3.DDPG.learn).parameters
    assert {n: p.default for n, p in learn_ours.items()} == {n: p.default for n, p in learn_theirs.items()}


def test_td3_tricks_are_off_and_one_critic_is_built():
    model = DDPG("MlpPolicy", TargetEnv(), **FAST)
    assert (model.policy_delay, model.target_policy_noise, model.target_noise_clip) == (1, 0.0, 0.0)
    assert model.policy_kwargs == {"n_critics": 1}
    assert isinstance(model.policy, TD3Policy) and model.critic.n_critics == 1
    assert {name.split(".")[0] for name, _ in model.critic.named_parameters()} == {"qf0"}
    assert model.policy.net_arch == [400, 300]
    # the number of critics stays a policy setting
    assert DDPG("MlpPolicy", TargetEnv(), policy_kwargs=dict(n_critics=2), **FAST).critic.n_critics == 2


def test_network_sizes_match_sb3():
    sb3 = pytest.importorskip("stable_baselines3")
    kwargs = dict(buffer_size=100, policy_kwargs=dict(net_arch=[32, 16]))
    ours = DDPG("MlpPolicy", TargetEnv(dim=2), **kwargs).policy.parameters_to_vector()
    theirs = sb3.DDPG("MlpPolicy", TargetEnv(dim=2), **kwargs).policy.parameters_to_vector()
    assert ours.shape == theirs.shape


def _fill(model, env: gym.Env, n: int, seed: int) -> None:
    """Store `n` random transitions of `env` in the model's replay buffer."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    for _ in range(n):
        action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        model.replay_buffer.add(obs[None], next_obs[None], action[None], np.array([reward]),
                                np.array([terminated]), [{"TimeLimit.truncated": truncated}])  # fmt: skip
        obs = env.reset()[0] if terminated or truncated else next_obs


@pytest.mark.parametrize("algo", ["DDPG", "TD3"])
@pytest.mark.parametrize("optimizer_class", [torch.optim.Adam, torch.optim.SGD])
def test_updates_are_sb3s_updates(algo, optimizer_class):
    """From the same weights and the same batches, a few updates give SB3's weights (TD3 too: DDPG is its
    special case; SGD shows a loss scaled differently, which Adam's updates hardly show)."""
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.logger import configure

    import baselines3

    policy_kwargs = dict(net_arch=[16, 16], optimizer_class=optimizer_class)
    kwargs = dict(batch_size=32, buffer_size=200, learning_rate=0.01, tau=0.1, policy_kwargs=policy_kwargs)
    ours = getattr(baselines3, algo)("MlpPolicy", TargetEnv(dim=2), seed=0, **kwargs)
    theirs = getattr(sb3, algo)("MlpPolicy", TargetEnv(dim=2), seed=0, **kwargs)
    theirs.set_logger(configure(None, []))
    ours.policy.load_from_vector(theirs.policy.parameters_to_vector())
    _fill(ours, TargetEnv(dim=2), 100, seed=1)
    _fill(theirs, TargetEnv(dim=2), 100, seed=1)
    rng = np.random.default_rng(2)
    indices = [rng.integers(0, 100, 32) for _ in range(4)]
    ours_batches = [ours.replay_buffer._get_samples(idx) for idx in indices]
    theirs_batches = iter([theirs.replay_buffer._get_samples(idx) for idx in indices])
    ours.replay_buffer.sample_batches = lambda batch_size, n_batches, env=None: ours_batches[:n_batches]
    theirs.replay_buffer.sample = lambda batch_size, env=None: next(theirs_batches)
    before = ours.policy.parameters_to_vector()
    torch.manual_seed(3)  # the same target policy noise for TD3
    ours.train(gradient_steps=4, batch_size=32)
    torch.manual_seed(3)
    theirs.train(gradient_steps=4, batch_size=32)
    after = ours.policy.parameters_to_vector()
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, theirs.policy.parameters_to_vector(), rtol=1e-5, atol=1e-6)


def test_target_actions_are_not_smoothed(monkeypatch):
    """No noise on the target actions: the critic update does not draw random numbers."""
    model = DDPG("MlpPolicy", TargetEnv(), seed=0, **FAST)
    _fill(model, TargetEnv(), 50, seed=0)
    calls = []
    monkeypatch.setattr(torch, "randn_like", lambda *args, **kwargs: calls.append(1))
    model.train(gradient_steps=2, batch_size=16)
    assert calls == [] and model._n_updates == 2


# ------------------------------------------------------------------ save / load
def test_save_load_round_trip(tmp_path):
    model = DDPG("MlpPolicy", TargetEnv(), seed=0, gamma=0.95, **FAST).learn(60)
    model.save(tmp_path / "ddpg")
    with zipfile.ZipFile(tmp_path / "ddpg.zip") as archive:
        data = json.loads(archive.read("data.json"))
    assert data["algorithm"] == "DDPG" and data["policy_kwargs"] == {"n_critics": 1}
    assert "policy_delay" not in data  # not a DDPG argument
    loaded = DDPG.load(tmp_path / "ddpg.zip", env=TargetEnv())
    assert type(loaded) is DDPG and loaded.gamma == 0.95 and loaded.critic.n_critics == 1
    assert (loaded.policy_delay, loaded.target_policy_noise, loaded.target_noise_clip) == (1, 0.0, 0.0)
    obs = np.linspace(-1, 1, 8, dtype=np.float32).reshape(8, 1)
    np.testing.assert_array_equal(loaded.predict(obs)[0], model.predict(obs)[0])
    loaded.learn(30)  # and it trains on
    with pytest.raises(ValueError, match="holds a DDPG model"):
        TD3.load(tmp_path / "ddpg.zip")


def test_loads_a_file_saved_by_sb3(tmp_path):
    sb3 = pytest.importorskip("stable_baselines3")
    theirs = sb3.DDPG("MlpPolicy", TargetEnv(), seed=0, buffer_size=100, policy_kwargs=dict(net_arch=[32, 32]))
    theirs.save(tmp_path / "sb3_ddpg.zip")
    ours = DDPG.load(tmp_path / "sb3_ddpg.zip")
    assert ours.critic.n_critics == 1 and (ours.policy_delay, ours.target_policy_noise) == (1, 0.0)
    obs = np.linspace(-1, 1, 8, dtype=np.float32).reshape(8, 1)
    np.testing.assert_allclose(ours.predict(obs)[0], theirs.predict(obs, deterministic=True)[0], atol=1e-6)


# ------------------------------------------------------------------ learning
def test_learns_the_target():
    model = DDPG("MlpPolicy", TargetEnv(), learning_rate=3e-3, seed=0, learning_starts=100, batch_size=64,
                 buffer_size=5000, action_noise=NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)),
                 policy_kwargs=dict(net_arch=[32, 32])).learn(1000)  # fmt: skip
    mean, _ = evaluate_policy(model, Monitor(TargetEnv()), n_eval_episodes=5)
    # random actions score ~20 * (1 - 2/3) = 6.7; a = x scores 20
    assert mean >= 18, f"DDPG mean return {mean} < 18 of 20"


@pytest.mark.slow
def test_learns_pendulum():
    """3000 steps (RL Zoo's values, smaller nets and warm-up): random actions score about -1200 per episode."""
    model = DDPG("MlpPolicy", "Pendulum-v1", seed=1, gamma=0.98, learning_starts=300, buffer_size=20_000,
                 action_noise=NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)),
                 policy_kwargs=dict(net_arch=[64, 64])).learn(3000)  # fmt: skip
    mean, _ = evaluate_policy(model, Monitor(gym.make("Pendulum-v1")), n_eval_episodes=5)
    assert mean > -700, f"DDPG Pendulum mean return {mean} <= -700"


# ------------------------------------------------------------------ zoo
def test_zoo_trains_ddpg(tmp_path):
    from zoo import train as zoo_train

    code = zoo_train.main(["--algo", "ddpg", "--env", "Pendulum-v1", "-n", "300", "-f", str(tmp_path / "logs"),
                           "--seed", "0", "--verbose", "0", "-params", "learning_starts:100",
                           "buffer_size:1000"])  # fmt: skip
    assert code in (0, None)
    saved = tmp_path / "logs" / "ddpg" / "Pendulum-v1_1" / "Pendulum-v1.zip"
    model = DDPG.load(saved)
    assert model.num_timesteps == 300 and model.gamma == 0.98 and model.policy.net_arch == [400, 300]
    assert model.critic.n_critics == 1 and isinstance(model.action_noise, NormalActionNoise)

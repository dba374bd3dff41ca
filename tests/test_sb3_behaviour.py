"""The same code run with SB3 and with baselines3 behaves the same: buffer dtypes, the Dict buffer classes,
hyperparameters SB3 accepts, set_env, custom_objects, TanhBijector, kl_divergence and collect_rollouts.

Each test runs a scenario on both libraries (SB3 only where it is installed) and compares what it observes."""

from __future__ import annotations

import inspect
import warnings
from types import ModuleType
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import baselines3
from baselines3.common import buffers as our_buffers
from baselines3.common import distributions as our_distributions


def _sb3() -> ModuleType:
    return pytest.importorskip("stable_baselines3")


def _sb3_module(name: str) -> Any:
    _sb3()
    import importlib

    return importlib.import_module(f"stable_baselines3.common.{name}")


def _libraries() -> list[tuple[str, Any, Any]]:
    """(name, algorithm module, buffers module) for baselines3 and, where installed, SB3."""
    found = [("baselines3", baselines3, our_buffers)]
    try:
        import stable_baselines3
        from stable_baselines3.common import buffers
    except ImportError:
        return found
    return [*found, ("sb3", stable_baselines3, buffers)]


class DictObsEnv(gym.Env):
    """Dict observations (a vector and a discrete mode), a continuous action, 10-step episodes."""

    observation_space = spaces.Dict({"vec": spaces.Box(-1.0, 1.0, (3,), np.float32), "mode": spaces.Discrete(3)})
    action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        self.t += 1
        return self.observation_space.sample(), float(-np.sum(np.square(action))), False, self.t >= 10, {}


# ------------------------------------------------------------------ buffer dtypes

ACTION_SPACES = [
    spaces.Box(-1.0, 1.0, (2,), np.float32),
    spaces.Box(-1.0, 1.0, (2,), np.float64),
    spaces.Discrete(4),
    spaces.MultiDiscrete([3, 2]),
    spaces.MultiBinary(3),
]
OBS_SPACES = [
    spaces.Box(-1.0, 1.0, (3,), np.float32),
    spaces.Box(-1.0, 1.0, (3,), np.float64),
    spaces.Box(0, 255, (3, 4, 4), np.uint8),
    spaces.Discrete(5),
]


def _rollout_dtypes(buffers: Any, obs_space: spaces.Space, action_space: spaces.Space) -> dict[str, Any]:
    n_envs, n_steps = 2, 4
    buffer = buffers.RolloutBuffer(n_steps, obs_space, action_space, device="cpu", n_envs=n_envs)
    rng = np.random.default_rng(0)
    for _ in range(n_steps):
        obs = np.stack([obs_space.sample() for _ in range(n_envs)])
        actions = np.stack([action_space.sample() for _ in range(n_envs)])
        buffer.add(
            obs,
            actions,
            rng.normal(size=n_envs).astype(np.float32),
            np.zeros(n_envs, dtype=np.float32),
            torch.zeros(n_envs),
            torch.zeros(n_envs),
        )
    buffer.compute_returns_and_advantage(last_values=torch.zeros(n_envs), dones=np.zeros(n_envs, dtype=bool))
    stored = dict(observations=buffer.observations.dtype, actions=buffer.actions.dtype)
    batch = next(iter(buffer.get(batch_size=4)))
    return dict(
        stored=stored,
        sampled=dict(observations=batch.observations.dtype, actions=batch.actions.dtype),
        action_shape=tuple(batch.actions.shape),
    )


@pytest.mark.parametrize("action_space", ACTION_SPACES, ids=str)
@pytest.mark.parametrize("obs_space", OBS_SPACES, ids=str)
def test_rollout_buffer_dtypes_match_sb3(obs_space, action_space):
    sb3_buffers = _sb3_module("buffers")
    ours = _rollout_dtypes(our_buffers, obs_space, action_space)
    theirs = _rollout_dtypes(sb3_buffers, obs_space, action_space)
    assert ours == theirs
    # what SB3 does: actions kept in the space's dtype, handed out as float32
    assert ours["stored"]["actions"] == action_space.dtype
    assert ours["sampled"]["actions"] == torch.float32


def _replay_dtypes(buffers: Any, obs_space: spaces.Space, action_space: spaces.Space) -> dict[str, Any]:
    n_envs = 2
    buffer = buffers.ReplayBuffer(8, obs_space, action_space, device="cpu", n_envs=n_envs)
    for _ in range(3):
        obs = np.stack([obs_space.sample() for _ in range(n_envs)])
        next_obs = np.stack([obs_space.sample() for _ in range(n_envs)])
        actions = np.stack([action_space.sample() for _ in range(n_envs)])
        buffer.add(obs, next_obs, actions, np.ones(n_envs), np.zeros(n_envs), [{}] * n_envs)
    batch = buffer.sample(5)
    return dict(
        stored=dict(observations=buffer.observations.dtype, actions=buffer.actions.dtype),
        sampled={name: getattr(batch, name).dtype for name in ("observations", "next_observations", "actions")},
    )


@pytest.mark.parametrize("action_space", ACTION_SPACES, ids=str)
@pytest.mark.parametrize("obs_space", OBS_SPACES, ids=str)
def test_replay_buffer_dtypes_match_sb3(obs_space, action_space):
    sb3_buffers = _sb3_module("buffers")
    ours = _replay_dtypes(our_buffers, obs_space, action_space)
    assert ours == _replay_dtypes(sb3_buffers, obs_space, action_space)
    assert ours["stored"]["observations"] == obs_space.dtype  # float64 observations stay float64


def test_ppo_trains_on_float64_observations_and_actions():
    """Float64 spaces kept in their dtype in the buffers still reach float32 networks."""

    class Float64Env(gym.Env):
        observation_space = spaces.Box(-1.0, 1.0, (3,), np.float64)
        action_space = spaces.Box(-1.0, 1.0, (2,), np.float64)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return self.observation_space.sample(), {}

        def step(self, action):
            return self.observation_space.sample(), 0.0, False, False, {}

    for name, lib, _ in _libraries():
        model = lib.PPO("MlpPolicy", Float64Env(), n_steps=16, batch_size=8, n_epochs=1, seed=0).learn(32)
        assert model.rollout_buffer.actions.dtype == np.float64, name
        model = lib.SAC("MlpPolicy", Float64Env(), learning_starts=8, batch_size=8, buffer_size=64, seed=0)
        model.learn(24)
        assert model.replay_buffer.observations.dtype == np.float64, name


# ------------------------------------------------------------------ Dict buffer classes


@pytest.mark.parametrize("name", ["DictReplayBuffer", "DictRolloutBuffer"])
def test_dict_buffer_classes_are_subclasses_with_sb3_signature(name):
    ours = getattr(our_buffers, name)
    base = our_buffers.ReplayBuffer if "Replay" in name else our_buffers.RolloutBuffer
    assert ours is not base and issubclass(ours, base)
    space = DictObsEnv.observation_space
    buffer = ours(10, space, DictObsEnv.action_space, device="cpu")
    assert isinstance(buffer, ours) and isinstance(buffer, base)
    assert not isinstance(base(10, space, DictObsEnv.action_space, device="cpu"), ours)
    with pytest.raises(ValueError, match="Dict observation spaces"):
        ours(10, spaces.Box(-1, 1, (3,)), DictObsEnv.action_space, device="cpu")
    theirs = getattr(_sb3_module("buffers"), name)
    signature = inspect.signature(ours.__init__).parameters
    sb3_signature = inspect.signature(theirs.__init__).parameters
    assert [(p.name, p.default) for p in signature.values()] == [(p.name, p.default) for p in sb3_signature.values()]


def test_models_pick_the_dict_buffers_for_dict_observations():
    for name, lib, buffers in _libraries():
        sac = lib.SAC("MultiInputPolicy", DictObsEnv(), buffer_size=100, learning_starts=5, batch_size=4)
        assert type(sac.replay_buffer) is buffers.DictReplayBuffer, name
        sac.learn(12)  # stores and samples Dict transitions
        assert sac.replay_buffer.size() == 12
        ppo = lib.PPO("MultiInputPolicy", DictObsEnv(), n_steps=8, batch_size=8, n_epochs=1)
        assert type(ppo.rollout_buffer) is buffers.DictRolloutBuffer, name
        ppo.learn(8)
        # other observation spaces keep the plain classes
        box = lib.SAC("MlpPolicy", "Pendulum-v1", buffer_size=100)
        assert type(box.replay_buffer) is buffers.ReplayBuffer, name
        assert not isinstance(box.replay_buffer, buffers.DictReplayBuffer), name
        plain = lib.PPO("MlpPolicy", "CartPole-v1", n_steps=8, batch_size=8)
        assert type(plain.rollout_buffer) is buffers.RolloutBuffer, name


def test_saved_replay_buffers_load_across_the_plain_and_dict_classes(tmp_path):
    space = DictObsEnv.observation_space
    plain = our_buffers.ReplayBuffer(10, space, DictObsEnv.action_space, device="cpu")
    obs = {"vec": np.ones((1, 3), np.float32), "mode": np.array([2])}
    plain.add(obs, obs, np.zeros((1, 2)), np.ones(1), np.zeros(1), [{}])
    path = plain.save(tmp_path / "buffer")
    loaded = our_buffers.DictReplayBuffer(10, space, DictObsEnv.action_space, device="cpu")
    loaded.load(path)
    assert loaded.size() == 1 and loaded.observations["mode"][0, 0] == 2


# ------------------------------------------------------------------ hyperparameters SB3 accepts


@pytest.mark.parametrize("algo", ["SAC", "TD3"])
def test_buffer_smaller_than_batch_trains_without_warning(algo):
    for name, lib, _ in _libraries():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = getattr(lib, algo)("MlpPolicy", "Pendulum-v1", buffer_size=10, batch_size=32, learning_starts=5)
            model.learn(20)
        assert model._n_updates > 0, name
        assert not [w for w in caught if "buffer" in str(w.message).lower()], name


@pytest.mark.parametrize("algo", ["SAC", "TD3", "DQN"])
def test_tau_zero_is_accepted_and_the_target_never_moves(algo):
    env_id = "CartPole-v1" if algo == "DQN" else "Pendulum-v1"
    for name, lib, _ in _libraries():
        model = getattr(lib, algo)("MlpPolicy", env_id, tau=0.0, learning_starts=10, batch_size=8, seed=0)
        target = model.q_net_target if algo == "DQN" else model.critic_target
        online = model.q_net if algo == "DQN" else model.critic
        before = [p.detach().clone() for p in target.parameters()]
        online_before = [p.detach().clone() for p in online.parameters()]
        model.learn(40)
        assert all(torch.equal(a, b) for a, b in zip(before, target.parameters(), strict=True)), name
        assert not all(torch.equal(a, b) for a, b in zip(online_before, online.parameters(), strict=True)), name


def test_old_net_arch_format_warns_and_uses_the_dict():
    for name, lib, _ in _libraries():
        with pytest.warns(UserWarning, match="net_arch"):
            policy_kwargs = dict(net_arch=[dict(pi=[32], vf=[16])])
            model = lib.PPO("MlpPolicy", "CartPole-v1", n_steps=8, batch_size=8, policy_kwargs=policy_kwargs)
        assert model.policy.net_arch == dict(pi=[32], vf=[16]), name
        extractor = model.policy.mlp_extractor
        assert (extractor.latent_dim_pi, extractor.latent_dim_vf) == (32, 16), name


# ------------------------------------------------------------------ set_env


def test_set_env_with_the_same_number_of_envs_works_everywhere():
    for name, lib, _ in _libraries():
        from_env = lib.common.env_util.make_vec_env
        for algo, env_id in (("PPO", "CartPole-v1"), ("SAC", "Pendulum-v1")):
            kwargs = dict(n_steps=8, batch_size=8) if algo == "PPO" else dict(learning_starts=4, batch_size=4)
            model = getattr(lib, algo)("MlpPolicy", from_env(env_id, n_envs=2), **kwargs)
            model.set_env(from_env(env_id, n_envs=2))
            model.learn(16)
            assert model.n_envs == 2, name


def test_set_env_with_another_number_of_envs():
    """SB3 refuses it for every algorithm (AssertionError). Here a model with a replay buffer refuses it too (a
    ValueError naming load(path, env=...)); an on-policy model accepts it, its rollout buffer being laid out for
    the new envs at the next rollout."""
    sb3 = _sb3()
    sb3_make_vec_env = _sb3_module("env_util").make_vec_env

    from baselines3 import PPO, SAC
    from baselines3.common.env_util import make_vec_env

    for algo, env_id in (("PPO", "CartPole-v1"), ("SAC", "Pendulum-v1")):
        with pytest.raises(AssertionError, match="number of environments"):
            getattr(sb3, algo)("MlpPolicy", sb3_make_vec_env(env_id, n_envs=2)).set_env(sb3_make_vec_env(env_id, 3))

    sac = SAC("MlpPolicy", make_vec_env("Pendulum-v1", n_envs=2), buffer_size=100)
    with pytest.raises(ValueError, match=r"replay buffer.*load\(path, env=\.\.\.\)"):
        sac.set_env(make_vec_env("Pendulum-v1", n_envs=3))
    assert sac.n_envs == 2 and sac.env.num_envs == 2

    ppo = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2), n_steps=8, batch_size=8)
    with pytest.raises(ValueError, match="force_reset=True"):
        ppo.set_env(make_vec_env("CartPole-v1", n_envs=3), force_reset=False)
    ppo.set_env(make_vec_env("CartPole-v1", n_envs=3))
    ppo.learn(24)
    assert ppo.n_envs == 3 and ppo.rollout_buffer.observations.shape == (8, 3, 4)


def test_load_with_another_number_of_envs_rebuilds_the_buffers(tmp_path):
    """What SB3 offers instead of set_env: load(path, env=...) with the new envs."""
    for name, lib, _ in _libraries():
        make = lib.common.env_util.make_vec_env
        lib.SAC("MlpPolicy", make("Pendulum-v1", n_envs=2), buffer_size=100).save(tmp_path / name)
        loaded = lib.SAC.load(tmp_path / name, env=make("Pendulum-v1", n_envs=3))
        assert loaded.n_envs == 3 and loaded.replay_buffer.n_envs == 3, name
        loaded.learn(9)


# ------------------------------------------------------------------ custom_objects


def test_custom_objects_only_replace_saved_values(tmp_path):
    for name, lib, _ in _libraries():
        lib.PPO("MlpPolicy", "CartPole-v1", n_steps=8, batch_size=8).save(tmp_path / name)
        custom = {"gamma": 0.5, "never_saved": 123, "learning_rate": 0.0}
        loaded = lib.PPO.load(tmp_path / name, custom_objects=custom)
        assert loaded.gamma == 0.5 and loaded.lr_schedule(1.0) == 0.0, name
        assert not hasattr(loaded, "never_saved"), name


# ------------------------------------------------------------------ distributions


def test_tanh_bijector_matches_sb3():
    theirs = _sb3_module("distributions").TanhBijector
    ours = our_distributions.TanhBijector
    assert ours().epsilon == theirs().epsilon == 1e-6
    x = torch.linspace(-6.0, 6.0, 101)
    y = torch.cat([torch.linspace(-1.0, 1.0, 101), torch.tensor([-1.0, 1.0, 0.999999])])
    torch.testing.assert_close(ours.forward(x), theirs.forward(x))
    torch.testing.assert_close(ours.inverse(y), theirs.inverse(y))
    inside = torch.linspace(-0.99, 0.99, 51)
    torch.testing.assert_close(ours.atanh(inside), theirs.atanh(inside))
    torch.testing.assert_close(ours(1e-3).log_prob_correction(x), theirs(1e-3).log_prob_correction(x))
    torch.testing.assert_close(ours().log_prob_correction(x), theirs().log_prob_correction(x))


def _distribution_pairs(module: Any) -> dict[str, tuple[Any, Any]]:
    """Two distributions of each kind with fixed, different parameters (built the same way in both libraries)."""
    generator = torch.Generator().manual_seed(0)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator)

    batch, dim = 5, 3
    mean_p, mean_q, log_std_p, log_std_q = randn(batch, dim), randn(batch, dim), randn(dim), randn(dim)
    logits_p, logits_q = randn(batch, 4), randn(batch, 4)
    multi_p, multi_q = randn(batch, 5), randn(batch, 5)
    latent, sde_log_std_p, sde_log_std_q = randn(batch, 6), randn(6, dim), randn(6, dim)

    def sde(log_std: torch.Tensor, mean: torch.Tensor) -> Any:
        dist = module.StateDependentNoiseDistribution(dim)
        dist.proba_distribution_net(6)
        return dist.proba_distribution(mean, log_std, latent)

    return {
        "DiagGaussian": tuple(
            module.DiagGaussianDistribution(dim).proba_distribution(m, s)
            for m, s in ((mean_p, log_std_p), (mean_q, log_std_q))
        ),
        "SquashedDiagGaussian": tuple(
            module.SquashedDiagGaussianDistribution(dim).proba_distribution(m, s)
            for m, s in ((mean_p, log_std_p), (mean_q, log_std_q))
        ),
        "Categorical": tuple(module.CategoricalDistribution(4).proba_distribution(lg) for lg in (logits_p, logits_q)),
        "MultiCategorical": tuple(
            module.MultiCategoricalDistribution([2, 3]).proba_distribution(lg) for lg in (multi_p, multi_q)
        ),
        "Bernoulli": tuple(module.BernoulliDistribution(4).proba_distribution(lg) for lg in (logits_p, logits_q)),
        "StateDependentNoise": (sde(sde_log_std_p, mean_p), sde(sde_log_std_q, mean_q)),
    }


@pytest.mark.parametrize(
    "kind",
    ["DiagGaussian", "SquashedDiagGaussian", "Categorical", "MultiCategorical", "Bernoulli", "StateDependentNoise"],
)
def test_kl_divergence_matches_sb3(kind):
    sb3_distributions = _sb3_module("distributions")
    p, q = _distribution_pairs(our_distributions)[kind]
    sb3_p, sb3_q = _distribution_pairs(sb3_distributions)[kind]
    ours = our_distributions.kl_divergence(p, q)
    theirs = sb3_distributions.kl_divergence(sb3_p, sb3_q)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        our_distributions.kl_divergence(p, p), torch.zeros_like(ours), atol=1e-6, rtol=0
    )  # a distribution is at KL 0 from itself


def test_kl_divergence_refuses_mismatched_distributions():
    pairs = _distribution_pairs(our_distributions)
    with pytest.raises(ValueError, match="Cannot compute KL"):
        our_distributions.kl_divergence(pairs["DiagGaussian"][0], pairs["SquashedDiagGaussian"][0])
    other = our_distributions.MultiCategoricalDistribution([3, 2]).proba_distribution(torch.zeros(5, 5))
    with pytest.raises(ValueError, match="different action spaces"):
        our_distributions.kl_divergence(pairs["MultiCategorical"][0], other)


# ------------------------------------------------------------------ collect_rollouts


@pytest.mark.parametrize("algo", ["PPO", "A2C"])
def test_collect_rollouts_has_sb3_signature_and_subclasses_can_override_it(algo):
    for name, lib, _ in _libraries():
        cls = getattr(lib, algo)
        signature = [(p.name, p.default) for p in inspect.signature(cls.collect_rollouts).parameters.values()]
        assert signature == [
            ("self", inspect.Parameter.empty),
            ("env", inspect.Parameter.empty),
            ("callback", inspect.Parameter.empty),
            ("rollout_buffer", inspect.Parameter.empty),
            ("n_rollout_steps", inspect.Parameter.empty),
        ], name

        class Counting(cls):  # type: ignore[valid-type, misc]
            calls: list[int] = []

            def collect_rollouts(self, env, callback, rollout_buffer, n_rollout_steps):
                self.calls.append(n_rollout_steps)
                return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)

        model = Counting("MlpPolicy", "CartPole-v1", n_steps=8, **(dict(batch_size=8) if algo == "PPO" else {}))
        model.learn(32)
        assert model.calls == [8, 8, 8, 8], name

        # called directly, as SB3-style code does
        from_lib_callbacks = lib.common.callbacks.BaseCallback

        class Stop(from_lib_callbacks):  # type: ignore[valid-type, misc]
            def _on_step(self) -> bool:
                return self.n_calls < 3

        callback = Stop()
        callback.init_callback(model)
        model._last_obs = model.env.reset()
        assert model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=8) is False, name
        callback = lib.common.callbacks.CallbackList([])
        callback.init_callback(model)
        assert model.collect_rollouts(model.env, callback, model.rollout_buffer, 8) is True, name
        assert model.rollout_buffer.full, name

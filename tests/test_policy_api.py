"""SB3's policy-level API: policy save/load, parameter vectors, make_actor/make_critic, SAC's Actor.get_std, and
actions for multi-dimensional Box action spaces."""

from __future__ import annotations

import io
import json
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

import baselines3
from baselines3 import DDPG, PPO, SAC, TD3
from baselines3.common.policies import ActorCriticPolicy, BasePolicy, ContinuousCritic
from baselines3.common.save_util import ModelLoadError
from baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor
from baselines3.sac.policies import Actor as SACActor
from baselines3.sac.policies import SACPolicy
from baselines3.td3.policies import Actor as TD3Actor
from baselines3.td3.policies import TD3Policy

OBS = np.random.default_rng(0).uniform(-1, 1, (6, 3)).astype(np.float32)  # Pendulum observations


def build(name: str, **kwargs):
    if name in ("SAC", "TD3", "DDPG"):
        kwargs.setdefault("buffer_size", 100)
    return getattr(baselines3, name)("MlpPolicy", "Pendulum-v1", seed=0, **kwargs)


# ------------------------------------------------------------------ policy save / load
@pytest.mark.parametrize("name", ["SAC", "TD3", "DDPG", "PPO"])
def test_policy_save_load_gives_the_same_predictions(name, tmp_path):
    model = build(name, policy_kwargs=dict(net_arch=[32, 16]))
    model.policy.load_from_vector(np.random.default_rng(1).normal(0, 0.3, model.policy.parameters_to_vector().shape))
    model.policy.save(tmp_path / "policy.zip")
    loaded = type(model.policy).load(tmp_path / "policy.zip", device="cpu")
    assert type(loaded) is type(model.policy) and loaded is not model.policy
    np.testing.assert_array_equal(loaded.parameters_to_vector(), model.policy.parameters_to_vector())
    np.testing.assert_array_equal(
        loaded.predict(OBS, deterministic=True)[0], model.policy.predict(OBS, deterministic=True)[0]
    )
    assert loaded.net_arch == [32, 16] and loaded.observation_space == model.observation_space
    if name == "DDPG":
        assert loaded.n_critics == 1


@pytest.mark.parametrize("name, policy", [("DQN", "MlpPolicy"), ("PPO", "MlpLstmPolicy"), ("A2C", "MlpPolicy")])
def test_discrete_and_recurrent_policies_save_and_load(name, policy, tmp_path):
    extra = dict(buffer_size=100) if name == "DQN" else {}
    model = getattr(baselines3, name)(policy, "CartPole-v1", seed=0, **extra)
    model.policy.save(tmp_path / "policy.zip")
    loaded = type(model.policy).load(tmp_path / "policy.zip")
    obs = np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        loaded.predict(obs, deterministic=True)[0], model.policy.predict(obs, deterministic=True)[0]
    )


def test_saved_policy_is_json_and_weights_only(tmp_path):
    policy = build("TD3").policy
    policy.save(tmp_path / "policy")  # ".zip" appended, as for models
    with zipfile.ZipFile(tmp_path / "policy.zip") as archive:
        names = set(archive.namelist())
        data = json.loads(archive.read("data.json"))
        state = torch.load(io.BytesIO(archive.read("policy.pth")), weights_only=True)
    assert "unsafe_objects.pkl" not in names
    assert data["policy_class"] == {"__class__": "baselines3.td3.policies.TD3Policy"}
    assert data["activation_fn"] == {"__class__": "torch.nn.modules.activation.ReLU"}
    assert data["net_arch"] == [400, 300] and data["n_critics"] == 2
    assert set(state) == set(policy.state_dict())


def test_base_class_load_rebuilds_the_saved_class_and_refuses_another(tmp_path):
    policy = build("SAC").policy
    policy.save(tmp_path / "sac_policy.zip")
    assert type(BasePolicy.load(tmp_path / "sac_policy.zip")) is SACPolicy
    with pytest.raises(ModelLoadError, match="not a TD3Policy"):
        TD3Policy.load(tmp_path / "sac_policy.zip")
    with pytest.raises(ModelLoadError, match=r"not a baselines3 model|not a valid zip"):
        torch.save({"state_dict": policy.state_dict()}, tmp_path / "torch_file.zip")
        SACPolicy.load(tmp_path / "torch_file.zip")


class OutsideExtractor(BaseFeaturesExtractor):
    """A features extractor class outside baselines3: it has no JSON description."""

    def __init__(self, observation_space: spaces.Box, features_dim: int = 8) -> None:
        super().__init__(observation_space, features_dim)
        self.linear = nn.Linear(int(np.prod(observation_space.shape)), features_dim)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.linear(observations))


def test_policy_with_a_pickled_argument_loads_only_when_allowed(tmp_path):
    policy = build("TD3", policy_kwargs=dict(features_extractor_class=OutsideExtractor)).policy
    policy.save(tmp_path / "policy.zip")
    with pytest.warns(UserWarning, match="allow_pickle"), pytest.raises(ModelLoadError, match="features_extractor"):
        TD3Policy.load(tmp_path / "policy.zip")
    by_hand = TD3Policy.load(tmp_path / "policy.zip", custom_objects={"features_extractor_class": OutsideExtractor})
    trusted = TD3Policy.load(tmp_path / "policy.zip", allow_pickle=True)
    for loaded in (by_hand, trusted):
        assert isinstance(loaded.actor.features_extractor, OutsideExtractor)
        np.testing.assert_array_equal(loaded.predict(OBS)[0], policy.predict(OBS)[0])


@pytest.mark.parametrize("name", ["SAC", "TD3", "PPO"])
def test_policy_save_load_matches_sb3(name, tmp_path):
    """The same weights give the same actions here and in SB3, after each library's policy save/load."""
    sb3 = pytest.importorskip("stable_baselines3")
    extra = dict(buffer_size=100) if name != "PPO" else {}
    theirs = getattr(sb3, name)("MlpPolicy", "Pendulum-v1", seed=0, **extra)
    ours = build(name)
    ours.policy.load_from_vector(theirs.policy.parameters_to_vector())
    theirs.policy.save(str(tmp_path / "sb3_policy.pth"))
    ours.policy.save(tmp_path / "policy.zip")
    theirs_loaded = type(theirs.policy).load(str(tmp_path / "sb3_policy.pth"), device="cpu")
    ours_loaded = type(ours.policy).load(tmp_path / "policy.zip", device="cpu")
    np.testing.assert_allclose(
        ours_loaded.predict(OBS, deterministic=True)[0], theirs_loaded.predict(OBS, deterministic=True)[0], atol=1e-6
    )


# ------------------------------------------------------------------ parameter vectors
@pytest.mark.parametrize("name", ["SAC", "TD3", "DDPG", "PPO", "A2C"])
def test_parameter_vector_has_sb3s_layout(name):
    """Same length and order as SB3's vector: SB3's weights loaded here give SB3's deterministic actions."""
    sb3 = pytest.importorskip("stable_baselines3")
    extra = dict(buffer_size=100) if name in ("SAC", "TD3", "DDPG") else {}
    theirs = getattr(sb3, name)("MlpPolicy", "Pendulum-v1", seed=0, **extra)
    ours = build(name)
    vector = theirs.policy.parameters_to_vector()
    assert ours.policy.parameters_to_vector().shape == vector.shape and vector.dtype == np.float32
    ours.policy.load_from_vector(vector)
    np.testing.assert_array_equal(ours.policy.parameters_to_vector(), vector)
    np.testing.assert_allclose(
        ours.predict(OBS, deterministic=True)[0], theirs.predict(OBS, deterministic=True)[0], atol=1e-6
    )


@pytest.mark.parametrize("name", ["SAC", "TD3", "PPO"])
def test_loaded_vector_is_what_the_optimizers_train(name):
    """load_from_vector writes into the existing tensors: training goes on from the loaded values."""
    model = build(name, learning_starts=0, batch_size=16) if name != "PPO" else build(name, n_steps=32, batch_size=32)
    vector = np.random.default_rng(2).normal(0, 0.1, model.policy.parameters_to_vector().shape).astype(np.float32)
    model.policy.load_from_vector(vector)
    flat_owners = [model.policy] if name == "PPO" else [model.policy.actor, model.policy.critic]
    for owner in flat_owners:  # the optimizers' flat buffers hold the loaded values
        params = torch.cat([p.detach().reshape(-1) for p in owner.flat_parameters.params])
        torch.testing.assert_close(owner.flat_parameters.flat.detach(), params)
    model.learn(64)
    after = model.policy.parameters_to_vector()
    assert not np.array_equal(after, vector)
    assert np.abs(after - vector).max() < 0.5  # moved by a few steps from the loaded values, not rebuilt


def test_load_from_vector_refuses_a_wrong_length():
    policy = build("TD3").policy
    with pytest.raises(ValueError, match="parameters"):
        policy.load_from_vector(np.zeros(policy.parameters_to_vector().size + 1, dtype=np.float32))


# ------------------------------------------------------------------ make_actor / make_critic
@pytest.mark.parametrize("name, actor_class", [("SAC", SACActor), ("TD3", TD3Actor), ("DDPG", TD3Actor)])
def test_make_actor_and_critic(name, actor_class):
    policy = build(name, policy_kwargs=dict(net_arch=dict(pi=[32], qf=[24, 24]))).policy
    actor = policy.make_actor()
    assert type(actor) is actor_class and actor is not policy.actor
    assert actor.features_extractor is not policy.actor.features_extractor
    assert {k: v.shape for k, v in actor.state_dict().items()} == {
        k: v.shape for k, v in policy.actor.state_dict().items()
    }
    assert actor(torch.as_tensor(OBS)).shape == (6, 1)
    extractor = FlattenExtractor(policy.observation_space)
    assert policy.make_actor(features_extractor=extractor).features_extractor is extractor

    critic = policy.make_critic()
    assert type(critic) is ContinuousCritic and critic is not policy.critic
    assert critic.n_critics == (1 if name == "DDPG" else 2) and critic.net_arch == [24, 24]
    assert {k: v.shape for k, v in critic.state_dict().items()} == {
        k: v.shape for k, v in policy.critic.state_dict().items()
    }
    q_values = critic(torch.as_tensor(OBS), torch.zeros(6, 1))
    assert len(q_values) == critic.n_critics and q_values[0].shape == (6, 1)
    assert policy.make_critic(features_extractor=extractor).features_extractor is extractor


@pytest.mark.parametrize("name", ["SAC", "TD3"])
def test_make_actor_and_critic_match_sb3(name):
    sb3 = pytest.importorskip("stable_baselines3")
    kwargs = dict(buffer_size=100, policy_kwargs=dict(net_arch=[32, 16]))
    ours = build(name, **kwargs).policy
    theirs = getattr(sb3, name)("MlpPolicy", "Pendulum-v1", **kwargs).policy
    for make in ("make_actor", "make_critic"):
        mine, other = getattr(ours, make)(), getattr(theirs, make)()
        assert {k: v.shape for k, v in mine.state_dict().items()} == {k: v.shape for k, v in other.state_dict().items()}


# ------------------------------------------------------------------ SAC Actor.get_std
def test_sac_get_std_with_gsde():
    model = build("SAC", use_sde=True, policy_kwargs=dict(net_arch=[32, 32], log_std_init=-1.0))
    std = model.actor.get_std()
    assert std.shape == (32, 1)  # one std per (latent feature, action) entry of the exploration matrix
    torch.testing.assert_close(std, torch.full((32, 1), np.exp(-1.0), dtype=torch.float32))
    sb3 = pytest.importorskip("stable_baselines3")
    theirs = sb3.SAC("MlpPolicy", "Pendulum-v1", buffer_size=100, use_sde=True, policy_kwargs=dict(net_arch=[32, 32]))
    assert theirs.actor.get_std().shape == std.shape


def test_sac_get_std_without_gsde_is_refused():
    """Without gSDE the std depends on the observation (SB3 refuses it too, with an AssertionError)."""
    with pytest.raises(ValueError, match="gSDE"):
        build("SAC").actor.get_std()


# ------------------------------------------------------------------ multi-dimensional Box actions
class MatrixActionEnv(gym.Env):
    """Actions are 2x2 matrices (Box(-1, 1, (2, 2))); the reward is the minus squared distance to the identity."""

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2, 2), np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        assert action.shape == (2, 2), f"the env got an action of shape {action.shape}"
        self.t += 1
        reward = -float(np.sum((action - np.eye(2)) ** 2))
        return self.observation_space.sample(), reward, False, self.t >= 10, {}


@pytest.mark.parametrize("algo", [SAC, TD3, DDPG])
def test_multidimensional_box_actions(algo, tmp_path):
    model = algo("MlpPolicy", MatrixActionEnv(), learning_starts=50, batch_size=16, buffer_size=500, seed=0)
    model.learn(200)
    assert model.replay_buffer.actions.shape[-1] == 4  # stored flat
    obs = MatrixActionEnv().observation_space.sample()
    assert model.predict(obs)[0].shape == (2, 2)
    assert model.predict(np.stack([obs] * 3))[0].shape == (3, 2, 2)
    model.save(tmp_path / "model.zip")
    np.testing.assert_array_equal(algo.load(tmp_path / "model.zip").predict(obs, deterministic=True)[0],
                                  model.predict(obs, deterministic=True)[0])  # fmt: skip


def test_multidimensional_box_action_shapes_are_sb3s():
    sb3 = pytest.importorskip("stable_baselines3")
    obs = np.zeros(3, dtype=np.float32)
    for name in ("SAC", "TD3", "DDPG"):
        ours = getattr(baselines3, name)("MlpPolicy", MatrixActionEnv(), buffer_size=100)
        theirs = getattr(sb3, name)("MlpPolicy", MatrixActionEnv(), buffer_size=100)
        assert ours.predict(obs)[0].shape == theirs.predict(obs)[0].shape
        assert ours.predict(obs[None])[0].shape == theirs.predict(obs[None])[0].shape


def test_actor_critic_policy_still_saves_squash_output(tmp_path):
    policy = PPO("MlpPolicy", "Pendulum-v1", use_sde=True, policy_kwargs=dict(squash_output=True)).policy
    policy.save(tmp_path / "policy.zip")
    loaded = ActorCriticPolicy.load(tmp_path / "policy.zip")
    assert loaded.squash_output and loaded.use_sde

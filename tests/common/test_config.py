"""Typed configs: one frozen dataclass per algorithm holds its hyperparameters (SB3's names and defaults)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import textwrap

import gymnasium as gym
import pytest

from baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3, RecurrentPPO
from baselines3.a2c.config import A2CConfig
from baselines3.common.config import NOT_HYPERPARAMETERS, config_field_names
from baselines3.dqn.config import DQNConfig
from baselines3.ppo.config import PPOConfig
from baselines3.sac.config import SACConfig
from baselines3.td3.config import TD3Config

CONFIGS = [(PPO, PPOConfig), (A2C, A2CConfig), (DQN, DQNConfig), (SAC, SACConfig), (TD3, TD3Config)]


def constructor_defaults(algorithm: type) -> dict[str, object]:
    parameters = inspect.signature(algorithm.__init__).parameters
    return {name: p.default for name, p in parameters.items() if name not in NOT_HYPERPARAMETERS}


@pytest.mark.parametrize(("algorithm", "config_class"), CONFIGS, ids=lambda x: getattr(x, "__name__", ""))
def test_the_config_has_every_constructor_argument_with_the_same_default(algorithm, config_class):
    defaults = constructor_defaults(algorithm)
    fields = {field.name: field.default for field in dataclasses.fields(config_class)}
    assert set(defaults) == set(fields)
    assert defaults == fields


def documented_fields(config_class: type) -> set[str]:
    """Fields of the class and its dataclass bases that have an attribute docstring right under them."""
    names = set()
    for cls in config_class.__mro__:
        if not dataclasses.is_dataclass(cls):
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body  # type: ignore[attr-defined]
        for statement, following in itertools.pairwise(body):
            docstring = isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
            if isinstance(statement, ast.AnnAssign) and docstring and isinstance(following.value.value, str):
                names.add(statement.target.id)  # type: ignore[union-attr]
    return names


@pytest.mark.parametrize(("algorithm", "config_class"), CONFIGS, ids=lambda x: getattr(x, "__name__", ""))
def test_every_config_field_is_documented(algorithm, config_class):
    assert config_field_names(config_class) <= documented_fields(config_class)


def test_the_constructor_builds_a_frozen_validated_config():
    model = SAC("MlpPolicy", "Pendulum-v1", gamma=0.9, batch_size=32, buffer_size=500)
    assert isinstance(model.config, SACConfig)
    assert (model.config.gamma, model.config.batch_size, model.config.buffer_size) == (0.9, 32, 500)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.config.gamma = 0.5  # type: ignore[misc]
    with pytest.raises(ValueError, match="gamma must be in"):
        SACConfig(gamma=1.5)
    with pytest.raises(ValueError, match="ent_coef"):
        SACConfig(ent_coef="automatic")
    with pytest.raises(ValueError, match="train_freq"):
        SACConfig(train_freq=(2, "hour"))
    with pytest.raises(ValueError, match="batch_size must be > 1"):
        PPOConfig(batch_size=1)


def test_attributes_read_and_assign_the_config_fields():
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32)
    assert model.n_steps == 64 and model.gae_lambda == model.config.gae_lambda == 0.95
    model.gae_lambda = 0.9  # as SB3 code does
    assert model.config.gae_lambda == 0.9
    with pytest.raises(ValueError, match="gae_lambda must be in"):
        model.gae_lambda = 3.0
    assert model.config.gae_lambda == 0.9
    with pytest.raises(AttributeError, match="no attribute 'gae_lambdaa'"):
        model.gae_lambdaa  # noqa: B018


def test_a_changed_setting_is_saved_and_loaded(tmp_path):
    model = DQN("MlpPolicy", "CartPole-v1", learning_starts=10, exploration_fraction=0.3)
    model.exploration_final_eps = 0.02
    model.save(tmp_path / "dqn.zip")
    loaded = DQN.load(tmp_path / "dqn.zip")
    assert loaded.config == dataclasses.replace(model.config, learning_rate=loaded.config.learning_rate)
    assert loaded.config.exploration_final_eps == 0.02


def test_ddpg_and_recurrent_ppo_keep_their_own_defaults():
    ddpg = DDPG("MlpPolicy", "Pendulum-v1", buffer_size=100)
    assert (ddpg.config.policy_delay, ddpg.config.target_policy_noise, ddpg.config.target_noise_clip) == (1, 0.0, 0.0)
    recurrent = RecurrentPPO("MlpLstmPolicy", gym.make("CartPole-v1"))
    assert (recurrent.config.n_steps, recurrent.config.batch_size) == (128, 128)

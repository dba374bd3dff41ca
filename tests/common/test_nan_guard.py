"""Training never goes on silently with NaN: each update's losses and parameters are checked once (no host sync
per gradient step), and a NaN/inf raises NonFiniteTrainingError naming the update, the loss term and the likely
cause. Off-policy algorithms refuse unbounded Box action spaces."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3
from baselines3.common import finite
from baselines3.common.fast.optim import gradient_step, make_optimizer
from baselines3.common.finite import (
    NonFiniteTrainingError,
    check_finite_update,
    set_finite_checks,
    training_parameters,
)
from baselines3.common.off_policy.rounds import check_bounded_actions


class NanRewardEnv(gym.Env):
    """Zero rewards, except a NaN one at step `nan_at` (counted over the env's life); episodes of 10 steps."""

    def __init__(self, continuous: bool = False, nan_at: int = 30, value: float = float("nan")) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32) if continuous else spaces.Discrete(2)
        self.steps = 0
        self.nan_at = nan_at
        self.value = value

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        return np.zeros(3, np.float32), {}

    def step(self, action: Any) -> Any:
        self.steps += 1
        reward = self.value if self.steps == self.nan_at else 0.0
        return np.zeros(3, np.float32), reward, False, self.steps % 10 == 0, {}


@pytest.fixture(autouse=True)
def checks_on() -> Iterator[None]:
    set_finite_checks(True)
    yield
    set_finite_checks(True)


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))


class _Holder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.critic = _net()
        self.optimizer, flat = make_optimizer(self.critic, torch.optim.Adam, 1e-3, {})
        self.critic.__dict__["flat_parameters"] = flat


def test_finite_updates_pass_and_a_nan_loss_is_reported_once() -> None:
    holder = _Holder()
    parameters = training_parameters(holder)
    assert [name for name, _ in parameters] == ["critic"]
    x = torch.randn(8, 3)
    for _ in range(3):
        gradient_step(holder.critic(x).pow(2).mean(), holder.optimizer, parameters[0][1])
    check_finite_update(parameters)  # finite: nothing raised
    flat = parameters[0][1]
    assert flat.steps == 3 and flat.checked_steps == 3 and flat.updates == 1 and flat.loss_flag is None
    gradient_step(holder.critic(x).pow(2).mean(), holder.optimizer, flat)
    gradient_step(holder.critic(x).mean() * float("nan"), holder.optimizer, flat)
    with pytest.raises(NonFiniteTrainingError) as info:
        check_finite_update(parameters, holder)
    error = info.value
    assert isinstance(error, FloatingPointError)
    assert error.update == 2 and error.term == "critic"
    message = str(error)
    assert "update 2 (gradient steps 4-5 of 'critic')" in message
    assert "the critic (TD) loss became NaN or infinite" in message
    assert "learning rate (0.001) is likely too high" in message  # no data given: the update overflowed


def test_no_pending_step_means_no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    holder = _Holder()
    parameters = training_parameters(holder)

    def fail(*args: Any) -> None:
        raise AssertionError("read the device although no gradient step was taken")

    monkeypatch.setattr(torch, "isfinite", fail)
    check_finite_update(parameters)
    check_finite_update(parameters)


@pytest.mark.usefixtures("fast_paths")  # torch's plain Adam reads its step count back (Tensor.item)
def test_gradient_step_does_not_read_the_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-step part stays on the device: no .item()/.tolist()/bool() of a tensor in gradient_step."""
    holder = _Holder()
    flat = training_parameters(holder)[0][1]
    reads = []
    for method in ("item", "tolist", "__bool__", "__float__"):
        original = getattr(torch.Tensor, method)

        def spy(self: torch.Tensor, *args: Any, _original: Any = original, _name: str = method) -> Any:
            reads.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(torch.Tensor, method, spy)
    x = torch.randn(8, 3)
    for _ in range(3):
        gradient_step(holder.critic(x).pow(2).mean(), holder.optimizer, flat, max_grad_norm=0.5)
    assert reads == []


def test_direct_optimizer_step_counts_once_and_nan_parameters_are_caught() -> None:
    holder = _Holder()
    parameters = training_parameters(holder)
    flat = parameters[0][1]
    holder.critic(torch.randn(2, 3)).sum().backward()
    holder.optimizer.step()  # SB3-style code: zero_grad/backward/step
    assert flat.steps == 1
    with torch.no_grad():
        flat.params[0].view(-1)[0] = float("inf")
    with pytest.raises(NonFiniteTrainingError, match="parameters of 'critic' became NaN or infinite"):
        check_finite_update(parameters)


def test_checks_switched_off_let_nan_through() -> None:
    holder = _Holder()
    parameters = training_parameters(holder)
    set_finite_checks(False)
    gradient_step(holder.critic(torch.randn(2, 3)).mean() * float("nan"), holder.optimizer, parameters[0][1])
    check_finite_update(parameters)  # off: Stable-Baselines3's behaviour
    assert parameters[0][1].loss_flag is None


def test_environment_variable_switches_the_check_off() -> None:
    code = "from baselines3.common.fast import optim; print(optim.CHECK_FINITE)"
    env = {**os.environ, "BASELINES3_CHECK_FINITE": "0"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
    assert finite.optim.CHECK_FINITE is True


OFF_POLICY = {"learning_starts": 10, "batch_size": 8, "seed": 0}
ALGORITHMS = {
    "PPO": (lambda env: PPO("MlpPolicy", env, n_steps=16, batch_size=8, seed=0), False, 64, "policy"),
    "A2C": (lambda env: A2C("MlpPolicy", env, n_steps=5, seed=0), False, 60, "policy"),
    "DQN": (lambda env: DQN("MlpPolicy", env, train_freq=1, **OFF_POLICY), False, 80, "q_net"),
    "SAC": (lambda env: SAC("MlpPolicy", env, **OFF_POLICY), True, 60, "critic"),
    "TD3": (lambda env: TD3("MlpPolicy", env, **OFF_POLICY), True, 60, "critic"),
    "DDPG": (lambda env: DDPG("MlpPolicy", env, **OFF_POLICY), True, 60, "critic"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_nan_reward_stops_training_with_the_cause(algo: str) -> None:
    make, continuous, steps, term = ALGORITHMS[algo]
    model = make(NanRewardEnv(continuous))
    with pytest.raises(NonFiniteTrainingError) as info:
        model.learn(steps)
    error = info.value
    message = str(error)
    assert error.term == term
    assert f"of '{term}'" in message and f"update {error.update} (" in message
    assert "The training data hold non-finite values (rewards[" in message and "= nan" in message
    assert "VecCheckNan(venv, raise_exception=True)" in message
    # stopped soon after the NaN reward (step 30) reached an update, not at the end
    assert 30 <= model.num_timesteps < steps


@pytest.mark.timeout(120)
def test_infinite_reward_is_caught_too() -> None:
    model = SAC("MlpPolicy", NanRewardEnv(True, value=float("inf")), learning_starts=10, batch_size=8, seed=0)
    with pytest.raises(NonFiniteTrainingError, match=r"rewards\[\d+, 0\] = inf"):
        model.learn(60)


@pytest.mark.timeout(120)
def test_too_high_learning_rate_is_named() -> None:
    model = PPO("MlpPolicy", "Pendulum-v1", n_steps=64, batch_size=32, learning_rate=1e30, seed=0)
    with pytest.raises(NonFiniteTrainingError) as info:
        model.learn(256)
    message = str(info.value)
    assert info.value.update == 1 and "update 1 (gradient steps 1-" in message
    assert "The training data are finite" in message and "learning rate (1e+30) is likely too high" in message


@pytest.mark.timeout(120)
def test_checks_off_keep_sb3_behaviour_on_nan_rewards() -> None:
    set_finite_checks(False)
    model = PPO("MlpPolicy", NanRewardEnv(), n_steps=16, batch_size=8, seed=0).learn(64)
    assert not torch.isfinite(model.policy.flat_parameters.flat).all()


@pytest.mark.parametrize("algo", [SAC, TD3, DDPG])
def test_off_policy_refuses_unbounded_box_actions(algo: type) -> None:
    class Unbounded(NanRewardEnv):
        def __init__(self) -> None:
            super().__init__(continuous=True)
            self.action_space = spaces.Box(np.array([-1.0, -np.inf], np.float32), np.array([1.0, 2.0], np.float32))

    with pytest.raises(ValueError, match=r"needs finite action bounds.*dimension\(s\) 1:") as info:
        algo("MlpPolicy", Unbounded())
    assert algo.__name__ in str(info.value) and "Box(-1.0, 1.0, shape)" in str(info.value)


def test_bounded_and_discrete_action_spaces_pass_the_bound_check() -> None:
    check_bounded_actions(spaces.Box(-2.0, 3.0, (2, 2)), "SAC")
    check_bounded_actions(spaces.Discrete(3), "DQN")
    with pytest.raises(ValueError, match=r"dimension\(s\) \(0, 1\), \(1, 0\)"):
        low = np.array([[0.0, -np.inf], [0.0, 0.0]], np.float32)
        check_bounded_actions(spaces.Box(low, np.array([[1.0, 1.0], [np.inf, 1.0]], np.float32)))


@pytest.mark.timeout(120)
def test_nan_in_vec_normalize_statistics_is_named() -> None:
    from baselines3.common.vec_env import DummyVecEnv, VecNormalize

    class NanObsEnv(NanRewardEnv):
        def step(self, action: Any) -> Any:
            obs, reward, terminated, truncated, info = super().step(action)
            return (np.full(3, np.nan, np.float32) if self.steps == 15 else obs), 0.0, terminated, truncated, info

    venv = VecNormalize(DummyVecEnv([lambda: NanObsEnv(continuous=True)]))
    model = SAC("MlpPolicy", venv, learning_starts=10, batch_size=8, seed=0)
    with pytest.raises(NonFiniteTrainingError, match=r"VecNormalize's running statistics are not finite \(obs_rms"):
        model.learn(60)

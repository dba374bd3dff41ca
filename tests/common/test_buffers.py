"""Rollout buffer storage, GAE wiring and minibatching."""

import numpy as np
import pytest
import torch
from gymnasium import spaces

from baselines3 import PPO
from baselines3.common.buffers import DictRolloutBuffer, RolloutBuffer


def _filled(n_steps=4, n_envs=2, obs_space=None):
    obs_space = obs_space or spaces.Box(-1, 1, (3,))
    buf = RolloutBuffer(n_steps, obs_space, spaces.Discrete(2), gamma=0.9, gae_lambda=1.0, n_envs=n_envs)
    for t in range(n_steps):
        obs = (
            np.full((n_envs, 3), t, dtype=np.float32)
            if isinstance(obs_space, spaces.Box)
            else {
                "a": np.full((n_envs, 3), t, dtype=np.float32),
                "b": np.full((n_envs, 1), -t, dtype=np.int64),
            }
        )
        buf.add(
            obs,
            np.array([t % 2] * n_envs),
            np.ones(n_envs),
            np.array([t == 0] * n_envs),
            np.zeros(n_envs),
            np.full(n_envs, -0.5),
        )
    return buf


def test_full_and_returns():
    buf = _filled()
    assert buf.full and buf.size() == 4
    buf.compute_returns_and_advantage(np.zeros(2), np.array([True, False]))
    # env 0 ends after the last step: discounted sums 1 + .9 + .81 + .729 at t=0
    np.testing.assert_allclose(buf.returns[0, 0], 1 + 0.9 + 0.81 + 0.729, rtol=1e-6)
    np.testing.assert_allclose(buf.advantages, buf.returns)  # values are zero


def test_minibatches_cover_everything_once():
    buf = _filled(n_steps=8, n_envs=2)
    buf.compute_returns_and_advantage(np.zeros(2), np.zeros(2, dtype=bool))
    seen = []
    for batch in buf.get(batch_size=4):
        assert batch.observations.shape == (4, 3) and batch.actions.shape == (4, 1)
        assert batch.mask is None
        seen.append(batch.returns)
    assert len(seen) == 4
    torch.testing.assert_close(
        torch.sort(torch.cat(seen)).values, torch.sort(torch.as_tensor(buf.returns.flatten())).values
    )
    whole = list(buf.get(batch_size=None))
    assert len(whole) == 1 and whole[0].observations.shape == (16, 3)


def test_dict_observations():
    space = spaces.Dict({"a": spaces.Box(-1, 1, (3,)), "b": spaces.Discrete(5)})
    buf = _filled(obs_space=space)
    buf.compute_returns_and_advantage(np.zeros(2), np.zeros(2, dtype=bool))
    (batch,) = list(buf.get())
    assert batch.observations["a"].shape == (8, 3) and batch.observations["b"].shape == (8, 1)
    assert batch.observations["b"].dtype == torch.int64


def test_add_past_full_raises():
    buf = _filled()
    try:
        buf.add(np.zeros((2, 3)), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2))
    except RuntimeError as error:
        assert "full" in str(error)
    else:
        raise AssertionError("adding to a full buffer must fail")


@pytest.mark.parametrize(
    "action_space",
    [
        spaces.Box(-1, 1, (2,), np.float32),
        spaces.Box(-1, 1, (2,), np.float64),
        spaces.Discrete(3),
        spaces.MultiDiscrete([2, 3]),
        spaces.MultiBinary(2),
    ],
    ids=str,
)
def test_actions_are_stored_in_their_dtype_and_handed_out_as_float32(action_space):
    buf = RolloutBuffer(2, spaces.Box(-1, 1, (3,)), action_space, device="cpu", n_envs=2)
    actions = np.stack([action_space.sample() for _ in range(2)])
    for _ in range(2):
        buf.add(np.zeros((2, 3)), actions, np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2))
    buf.compute_returns_and_advantage(np.zeros(2), np.zeros(2, dtype=bool))
    assert buf.actions.dtype == action_space.dtype
    (batch,) = list(buf.get())
    assert batch.actions.dtype == torch.float32
    np.testing.assert_array_equal(batch.actions.numpy()[:2].reshape(actions.shape), actions.astype(np.float32))


def test_ppo_learns_with_float_discrete_actions_from_the_buffer():
    """Discrete actions come back as float32 (as in SB3): the update turns them back into indices."""
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=16, n_epochs=2, seed=0)
    model.learn(32)
    (batch,) = list(model.rollout_buffer.get())
    assert batch.actions.dtype == torch.float32
    with torch.no_grad():
        _, log_prob, _ = model.policy.evaluate_batch(batch)
        _, expected, _ = model.policy.evaluate_actions(batch.observations, batch.actions.long().flatten())
    assert log_prob.shape == (32,)
    torch.testing.assert_close(log_prob, expected)


def test_dict_rollout_buffer_is_the_dict_space_subclass():
    space = spaces.Dict({"a": spaces.Box(-1, 1, (3,)), "b": spaces.Discrete(5)})
    buf = DictRolloutBuffer(4, space, spaces.Discrete(2), device="cpu", n_envs=2)
    assert isinstance(buf, RolloutBuffer) and isinstance(buf.observations, dict)
    with pytest.raises(ValueError, match="Dict observation spaces"):
        DictRolloutBuffer(4, spaces.Box(-1, 1, (3,)), spaces.Discrete(2))

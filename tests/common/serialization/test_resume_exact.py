"""Resuming from a saved model continues bit-exactly on CPU (docs/save_format.md, "Resuming training exactly").

The env is deterministic (Pendulum always starting at the bottom, at rest), the model is saved between two
learn() calls at an episode boundary, and the resumed model (plus its replay buffer, off-policy) is trained on
with reset_num_timesteps=False: its parameters must equal, bit for bit, those of a model trained straight through.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from baselines3 import PPO, SAC, TD3
from baselines3.common.noise import OrnsteinUhlenbeckActionNoise

EPISODE = 50


class FixedStart(gym.Wrapper[Any, Any, Any, Any]):
    """Pendulum that always starts hanging still at the bottom: every episode is the same given the actions."""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        self.env.reset(seed=seed)
        self.env.unwrapped.state = np.array([np.pi, 0.0])  # type: ignore[attr-defined]
        return self.env.unwrapped._get_obs().astype(np.float32), {}  # type: ignore[attr-defined]


def make_env() -> gym.Env[Any, Any]:
    return FixedStart(gym.make("Pendulum-v1", max_episode_steps=EPISODE))


CASES = {
    "PPO": (PPO, dict(n_steps=EPISODE, batch_size=25, n_epochs=2)),
    # learning_starts after the checkpoint: random actions from the action space's own generator span it
    "SAC": (SAC, dict(learning_starts=150, batch_size=16, buffer_size=1000, policy_kwargs=dict(net_arch=[16, 16]))),
    # Ornstein-Uhlenbeck noise keeps its last value across steps: saved in the checkpoint too
    "TD3": (TD3, dict(learning_starts=30, batch_size=16, buffer_size=1000, policy_kwargs=dict(net_arch=[16, 16]))),
}


def _model(name: str) -> Any:
    cls, kwargs = CASES[name]
    extra: dict[str, Any] = {}
    if name == "TD3":
        extra["action_noise"] = OrnsteinUhlenbeckActionNoise(np.zeros(1), 0.3 * np.ones(1))
    return cls("MlpPolicy", make_env(), seed=3, **kwargs, **extra)


def _train_and_resume(name: str, tmp_path: Path, n: int, m: int) -> tuple[Any, Any]:
    torch.set_num_threads(1)
    straight = _model(name)
    straight.learn(n + m)
    first = _model(name)
    first.learn(n)
    first.save(tmp_path / "checkpoint.zip")
    off_policy = hasattr(first, "replay_buffer")
    if off_policy:
        first.save_replay_buffer(tmp_path / "buffer.npz")
    del first
    resumed = CASES[name][0].load(tmp_path / "checkpoint.zip", env=make_env())
    if off_policy:
        resumed.load_replay_buffer(tmp_path / "buffer.npz", truncate_last_traj=False)
    resumed.learn(m, reset_num_timesteps=False)
    return straight, resumed


@pytest.mark.parametrize("name", sorted(CASES))
def test_resume_at_episode_boundary_is_bit_exact(name: str, tmp_path: Path) -> None:
    straight, resumed = _train_and_resume(name, tmp_path, 2 * EPISODE, 2 * EPISODE)
    assert resumed.num_timesteps == straight.num_timesteps == 4 * EPISODE
    assert resumed._n_updates == straight._n_updates > 0
    expected, actual = straight.policy.state_dict(), resumed.policy.state_dict()
    assert expected.keys() == actual.keys()
    differing = [key for key in expected if not torch.equal(expected[key], actual[key])]
    assert differing == []
    assert [ep["r"] for ep in resumed.ep_info_buffer] == [ep["r"] for ep in straight.ep_info_buffer]


def test_without_the_training_state_the_resume_differs(tmp_path: Path) -> None:
    """The same run from a file stripped of training_state.json (as older files are) loads, but the RNGs restart
    from the seed and the result differs: the member is what makes the resume exact."""
    straight = _model("PPO")
    straight.learn(4 * EPISODE)
    first = _model("PPO")
    first.learn(2 * EPISODE)
    first.save(tmp_path / "checkpoint.zip")
    with zipfile.ZipFile(tmp_path / "checkpoint.zip") as source, zipfile.ZipFile(tmp_path / "old.zip", "w") as old:
        for info in source.infolist():
            if info.filename != "training_state.json":
                old.writestr(info.filename, source.read(info))
    resumed = PPO.load(tmp_path / "old.zip", env=make_env())
    resumed.learn(2 * EPISODE, reset_num_timesteps=False)
    expected, actual = straight.policy.state_dict(), resumed.policy.state_dict()
    assert any(not torch.equal(expected[key], actual[key]) for key in expected)


def test_loading_restores_the_saved_rng_states(tmp_path: Path) -> None:
    model = _model("SAC")
    model.learn(10)
    model.save(tmp_path / "model.zip")
    expected = (torch.rand(3), np.random.rand(3), model.action_space.sample())
    torch.manual_seed(99)
    np.random.seed(99)
    loaded = SAC.load(tmp_path / "model.zip")
    actual = (torch.rand(3), np.random.rand(3), loaded.action_space.sample())
    assert torch.equal(expected[0], actual[0])
    np.testing.assert_array_equal(expected[1], actual[1])
    np.testing.assert_array_equal(expected[2], actual[2])

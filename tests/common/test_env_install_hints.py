"""A MuJoCo or Box2D env whose dependencies are missing names this package's extra, not gymnasium's."""

import re
import sys

import gymnasium as gym
import pytest

from baselines3.common.env_util import make_registered_env, make_vec_env


def _hide(monkeypatch: pytest.MonkeyPatch, module: str, env_package: str) -> None:
    """Make ``import module`` fail and forget gymnasium's already imported env modules (restored afterwards)."""
    monkeypatch.setitem(sys.modules, module, None)
    for name in list(sys.modules):
        if name == env_package or name.startswith(env_package + "."):
            monkeypatch.delitem(sys.modules, name)


@pytest.mark.parametrize(
    ("env_id", "module", "env_package", "extra"),
    [
        ("Hopper-v5", "mujoco", "gymnasium.envs.mujoco", "mujoco"),
        ("LunarLander-v3", "Box2D", "gymnasium.envs.box2d", "box2d"),
    ],
)
def test_missing_dependency_names_our_extra(monkeypatch, env_id, module, env_package, extra):
    _hide(monkeypatch, module, env_package)
    hint = f'pip install "baselines3[{extra}]"'
    with pytest.raises(gym.error.DependencyNotInstalled, match=re.escape(env_id)) as info:
        make_registered_env(env_id)
    assert hint in str(info.value)
    assert "gymnasium[" not in str(info.value)
    with pytest.raises(gym.error.DependencyNotInstalled, match="baselines3"):
        make_vec_env(env_id)


def test_other_import_errors_are_left_alone(monkeypatch):
    monkeypatch.setitem(sys.modules, "not_a_real_env_module", None)
    monkeypatch.setitem(
        gym.registry, "Missing-v0", gym.envs.registration.EnvSpec("Missing-v0", "not_a_real_env_module:Env")
    )
    with pytest.raises(ImportError) as info:
        make_registered_env("Missing-v0")
    assert not isinstance(info.value, gym.error.DependencyNotInstalled)

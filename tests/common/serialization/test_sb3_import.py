"""Importing models, VecNormalize statistics and replay buffers saved by Stable-Baselines3 (SB3) and sb3-contrib.

Parity tests train small models with SB3 at test time, save them, load them here and compare actions and
values on the same observations. Security tests plant pickles that would write a marker file when unpickled
and check that loading never runs them.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import pathlib
import pickle
import sys
import types
import warnings
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from baselines3 import A2C, DQN, PPO, SAC, TD3
from baselines3.common import sb3_import
from baselines3.common.save_util import ModelLoadError
from baselines3.common.schedules import ConstantSchedule, LinearSchedule
from baselines3.common.vec_env import DummyVecEnv, VecNormalize

sb3 = pytest.importorskip("stable_baselines3")

warnings.filterwarnings("ignore", category=DeprecationWarning)


class ImageEnv(gym.Env):
    """A tiny image env (36x36x1 uint8) with a discrete or a continuous action space."""

    def __init__(self, continuous: bool = False) -> None:
        self.observation_space = spaces.Box(0, 255, (36, 36, 1), np.uint8)
        self.action_space = spaces.Box(-1, 1, (2,), np.float32) if continuous else spaces.Discrete(3)
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self._steps = 0
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self._steps += 1
        return self.observation_space.sample(), float(np.mean(action)), False, self._steps >= 20, {}


class DictEnv(gym.Env):
    """Dict observations (a vector and a small image) with a discrete or a continuous action space."""

    def __init__(self, continuous: bool = False) -> None:
        self.observation_space = spaces.Dict(
            {"vec": spaces.Box(-1, 1, (3,), np.float32), "img": spaces.Box(0, 255, (36, 36, 1), np.uint8)}
        )
        self.action_space = spaces.Box(-1, 1, (2,), np.float32) if continuous else spaces.Discrete(3)
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self._steps = 0
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self._steps += 1
        obs = self.observation_space.sample()
        return obs, float(obs["vec"][0]), False, self._steps >= 20, {}


SMALL: dict[str, Any] = {"net_arch": [16, 16]}
OFF_POLICY = {"learning_starts": 50, "buffer_size": 500, "batch_size": 16, "policy_kwargs": SMALL}

# (algorithm, policy, env factory, SB3 keyword arguments, steps)
CASES: list[tuple[str, str, Callable[[], Any], dict[str, Any], int]] = [
    (
        "PPO",
        "MlpPolicy",
        lambda: gym.make("CartPole-v1"),
        {"n_steps": 64, "batch_size": 32, "policy_kwargs": SMALL},
        192,
    ),
    ("A2C", "MlpPolicy", lambda: gym.make("Pendulum-v1"), {"n_steps": 8, "policy_kwargs": SMALL}, 200),
    ("DQN", "MlpPolicy", lambda: gym.make("CartPole-v1"), {**OFF_POLICY, "train_freq": 4}, 200),
    ("SAC", "MlpPolicy", lambda: gym.make("Pendulum-v1"), OFF_POLICY, 150),
    ("TD3", "MlpPolicy", lambda: gym.make("Pendulum-v1"), OFF_POLICY, 150),
    ("DDPG", "MlpPolicy", lambda: gym.make("Pendulum-v1"), OFF_POLICY, 150),
    ("PPO", "CnnPolicy", ImageEnv, {"n_steps": 32, "batch_size": 32, "n_epochs": 2}, 64),
    ("DQN", "CnnPolicy", ImageEnv, {**OFF_POLICY, "buffer_size": 200, "policy_kwargs": None, "train_freq": 8}, 100),
    ("PPO", "MultiInputPolicy", DictEnv, {"n_steps": 32, "batch_size": 32, "n_epochs": 2, "policy_kwargs": SMALL}, 64),
    ("SAC", "MultiInputPolicy", lambda: DictEnv(True), {**OFF_POLICY, "buffer_size": 200}, 80),
]


def _ours(name: str) -> Any:
    if name == "DDPG":
        return pytest.importorskip("baselines3.ddpg").DDPG
    return {"PPO": PPO, "A2C": A2C, "DQN": DQN, "SAC": SAC, "TD3": TD3}[name]


def _batch(space: spaces.Space, n: int = 8, seed: int = 0) -> Any:
    space.seed(seed)
    samples = [space.sample() for _ in range(n)]
    if isinstance(space, spaces.Dict):
        return {key: np.stack([s[key] for s in samples]) for key in space.spaces}
    return np.stack(samples)


def _values(algo: str, policy: Any, obs: Any, actions: np.ndarray) -> list[np.ndarray]:
    """Values (PPO/A2C), Q-values (DQN) or the critics' Q-values (SAC/TD3/DDPG) for a batch."""
    with torch.no_grad():
        tensor = policy.obs_to_tensor(obs)[0]
        if algo in ("PPO", "A2C"):
            return [policy.predict_values(tensor).cpu().numpy()]
        if algo == "DQN":
            return [policy.q_net(tensor).cpu().numpy()]
        scaled = torch.as_tensor(policy.scale_action(actions), dtype=torch.float32)
        return [q.cpu().numpy() for q in policy.critic(tensor, scaled)]


def _train_sb3(
    tmp_path: pathlib.Path, algo: str, policy: str, make_env: Callable[[], Any], kwargs: dict, steps: int
) -> Any:
    kwargs = copy.deepcopy(kwargs)  # SB3 adds entries to policy_kwargs
    model = getattr(sb3, algo)(policy, make_env(), seed=0, **kwargs)
    model.learn(steps)
    model.save(tmp_path / "model.zip")
    return model


@pytest.mark.parametrize(
    ("algo", "policy", "make_env", "kwargs", "steps"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_parity(tmp_path: pathlib.Path, algo: str, policy: str, make_env: Callable, kwargs: dict, steps: int) -> None:
    theirs = _train_sb3(tmp_path, algo, policy, make_env, kwargs, steps)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sb3_import.SB3ImportWarning)  # everything maps: nothing is skipped
        ours = _ours(algo).load(tmp_path / "model.zip")
    assert ours.num_timesteps == theirs.num_timesteps
    assert ours.observation_space == theirs.observation_space
    assert ours.action_space == theirs.action_space
    obs = _batch(theirs.observation_space)
    their_actions, _ = theirs.predict(obs, deterministic=True)
    our_actions, _ = ours.predict(obs, deterministic=True)
    np.testing.assert_array_equal(our_actions, their_actions)
    for mine, reference in zip(
        _values(algo, ours.policy, obs, their_actions), _values(algo, theirs.policy, obs, their_actions)
    ):
        np.testing.assert_allclose(mine, reference, atol=1e-6, rtol=0)
    # the weights are not at their initial values, and they are the same tensors
    for key, value in theirs.policy.state_dict().items():
        torch.testing.assert_close(ours.policy.state_dict()[key], value, atol=0, rtol=0)


def _optimizer_pairs(algo: str, ours: Any, theirs: Any) -> list[tuple[Any, Any, Any]]:
    if algo in ("SAC", "TD3"):
        return [
            (ours.actor, theirs.actor.optimizer, ours.actor.optimizer),
            (ours.critic, theirs.critic.optimizer, ours.critic.optimizer),
        ]
    owner = ours.policy
    return [(owner, theirs.policy.optimizer, ours.policy.optimizer)]


@pytest.mark.parametrize("algo", ["PPO", "SAC", "DQN"])
@pytest.mark.usefixtures("fast_paths")  # the flat optimizer layout
def test_optimizer_state_is_carried_over(tmp_path: pathlib.Path, algo: str) -> None:
    case = next(c for c in CASES if c[0] == algo and c[1] == "MlpPolicy")
    theirs = _train_sb3(tmp_path, *case[:2], case[2], case[3], case[4])
    ours = _ours(algo).load(tmp_path / "model.zip")
    names = dict(theirs.policy.named_parameters())
    for _, their_optimizer, our_optimizer in _optimizer_pairs(algo, ours, theirs):
        their_params = their_optimizer.param_groups[0]["params"]
        flat = next(iter(our_optimizer.state.values()))
        our_flat_params = [
            next(n for n, p in ours.policy.named_parameters() if p is q) for q in _flat_params_of(our_optimizer, ours)
        ]
        by_name = {n: their_optimizer.state[p] for n, p in names.items() if p in their_optimizer.state}
        for key in ("exp_avg", "exp_avg_sq"):
            expected = torch.cat([by_name[n][key].reshape(-1) for n in our_flat_params])
            torch.testing.assert_close(flat[key], expected, atol=0, rtol=0)
        assert float(flat["step"]) == float(their_optimizer.state[their_params[0]]["step"])


@pytest.mark.parametrize("algo", ["PPO", "SAC"])
def test_optimizer_state_is_carried_over_with_the_speed_seam_off(tmp_path: pathlib.Path, algo: str) -> None:
    from baselines3.common import fast

    case = next(c for c in CASES if c[0] == algo and c[1] == "MlpPolicy")
    theirs = _train_sb3(tmp_path, *case[:2], case[2], case[3], case[4])
    with fast.switched(False):
        ours = _ours(algo).load(tmp_path / "model.zip")
    names = dict(theirs.policy.named_parameters())
    for _, their_optimizer, our_optimizer in _optimizer_pairs(algo, ours, theirs):
        ours_by_name = {n: p for n, p in ours.policy.named_parameters() if p in our_optimizer.state}
        assert len(ours_by_name) == len(their_optimizer.param_groups[0]["params"])  # one state per tensor, as SB3
        for name, param in ours_by_name.items():
            for key in ("exp_avg", "exp_avg_sq", "step"):
                expected = their_optimizer.state[names[name]][key]
                torch.testing.assert_close(our_optimizer.state[param][key], expected, atol=0, rtol=0)


def _flat_params_of(optimizer: torch.optim.Optimizer, model: Any) -> list[torch.Tensor]:
    flat_param = optimizer.param_groups[0]["params"][0]
    for module in [model.policy, *model.policy.modules()]:
        flat = module.__dict__.get("flat_parameters")
        if flat is not None and flat.flat is flat_param:
            return flat.params
    raise AssertionError("no flat parameters for this optimizer")


@pytest.mark.parametrize("loader", ["PPO", "RecurrentPPO"])
def test_recurrent_ppo_parity(tmp_path: pathlib.Path, loader: str) -> None:
    import baselines3

    contrib = pytest.importorskip("sb3_contrib")
    theirs = contrib.RecurrentPPO(
        "MlpLstmPolicy",
        "CartPole-v1",
        n_steps=32,
        batch_size=32,
        n_epochs=2,
        seed=0,
        policy_kwargs={"lstm_hidden_size": 16, "net_arch": [16]},
    )
    theirs.learn(64)
    theirs.save(tmp_path / "rppo.zip")
    with warnings.catch_warnings():
        warnings.simplefilter("error", sb3_import.SB3ImportWarning)
        ours = getattr(baselines3, loader).load(tmp_path / "rppo.zip")
    assert ours.policy.is_recurrent and type(ours).__name__ == loader
    obs = _batch(theirs.observation_space, n=4)
    their_state, our_state = None, None
    starts = np.ones(4, dtype=bool)
    for _ in range(5):  # a few steps, so the hidden state matters
        their_actions, their_state = theirs.predict(obs, state=their_state, episode_start=starts, deterministic=True)
        our_actions, our_state = ours.predict(obs, state=our_state, episode_start=starts, deterministic=True)
        np.testing.assert_array_equal(our_actions, their_actions)
        starts = np.zeros(4, dtype=bool)
        obs = obs + 0.1
    assert len(our_state) == len(their_state) == 2  # the actor's (h, c), as sb3-contrib returns it
    for ours_part, theirs_part in zip(our_state, their_state):
        np.testing.assert_allclose(ours_part, theirs_part, rtol=0, atol=1e-6)


def _leaves(state: Any) -> Iterator[Any]:
    if isinstance(state, (tuple, list)):
        for item in state:
            yield from _leaves(item)
    elif isinstance(state, dict):
        for item in state.values():
            yield from _leaves(item)
    else:
        yield state


def test_vec_normalize_statistics_and_model(tmp_path: pathlib.Path) -> None:
    from stable_baselines3.common.vec_env import DummyVecEnv as SB3DummyVecEnv
    from stable_baselines3.common.vec_env import VecNormalize as SB3VecNormalize

    env = SB3VecNormalize(SB3DummyVecEnv([lambda: gym.make("Pendulum-v1")]), clip_obs=5.0, gamma=0.95)
    theirs = sb3.PPO("MlpPolicy", env, n_steps=64, batch_size=32, seed=0, policy_kwargs=dict(SMALL))
    theirs.learn(128)
    theirs.save(tmp_path / "model.zip")
    env.save(str(tmp_path / "vec_normalize.pkl"))

    ours_env = VecNormalize.load(str(tmp_path / "vec_normalize.pkl"), DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    assert (ours_env.clip_obs, ours_env.gamma, ours_env.norm_obs, ours_env.norm_reward) == (5.0, 0.95, True, True)
    np.testing.assert_array_equal(ours_env.obs_rms.mean, env.obs_rms.mean)
    np.testing.assert_array_equal(ours_env.obs_rms.var, env.obs_rms.var)
    assert ours_env.obs_rms.count == env.obs_rms.count
    np.testing.assert_array_equal(ours_env.ret_rms.var, env.ret_rms.var)

    raw = _batch(env.observation_space)
    np.testing.assert_allclose(ours_env.normalize_obs(raw), env.normalize_obs(raw), atol=1e-6)
    ours = PPO.load(tmp_path / "model.zip")
    ours_actions, _ = ours.predict(ours_env.normalize_obs(raw), deterministic=True)
    their_actions, _ = theirs.predict(env.normalize_obs(raw), deterministic=True)
    np.testing.assert_array_equal(ours_actions, their_actions)
    # the usual way of running it: loaded with the normalized env (whose space is the clipped float32 range,
    # where SB3's VecNormalize keeps the raw space)
    with_env = PPO.load(tmp_path / "model.zip", env=ours_env)
    assert with_env.get_vec_normalize_env() is ours_env
    np.testing.assert_array_equal(with_env.predict(ours_env.normalize_obs(raw), deterministic=True)[0], their_actions)


def test_vec_normalize_dict_observations(tmp_path: pathlib.Path) -> None:
    from stable_baselines3.common.vec_env import DummyVecEnv as SB3DummyVecEnv
    from stable_baselines3.common.vec_env import VecNormalize as SB3VecNormalize

    env = SB3VecNormalize(SB3DummyVecEnv([DictEnv]), norm_obs_keys=["vec"])
    env.reset()
    for _ in range(10):
        env.step(np.array([1]))
    env.save(str(tmp_path / "vec_normalize.pkl"))
    ours = VecNormalize.load(str(tmp_path / "vec_normalize.pkl"), DummyVecEnv([DictEnv]))
    assert ours.norm_obs_keys == ["vec"]
    np.testing.assert_array_equal(ours.obs_rms["vec"].mean, env.obs_rms["vec"].mean)


@pytest.mark.parametrize("dict_obs", [False, True])
def test_replay_buffer(tmp_path: pathlib.Path, dict_obs: bool) -> None:
    make_env = (lambda: DictEnv(True)) if dict_obs else (lambda: gym.make("Pendulum-v1"))
    policy = "MultiInputPolicy" if dict_obs else "MlpPolicy"
    theirs = sb3.SAC(policy, make_env(), learning_starts=10, buffer_size=60, seed=0, policy_kwargs=dict(SMALL))
    theirs.learn(80)  # wraps around the buffer
    theirs.save(tmp_path / "model.zip")
    theirs.save_replay_buffer(tmp_path / "buffer")  # SB3 appends .pkl
    ours = SAC.load(tmp_path / "model.zip", env=make_env())
    ours.load_replay_buffer(tmp_path / "buffer", truncate_last_traj=False)
    mine, reference = ours.replay_buffer, theirs.replay_buffer
    assert (mine.pos, mine.full, mine.buffer_size) == (reference.pos, reference.full, reference.buffer_size)
    for name in ("actions", "rewards", "dones", "timeouts"):
        np.testing.assert_array_equal(getattr(mine, name), getattr(reference, name))
    for name in ("observations", "next_observations"):
        expected, got = getattr(reference, name), getattr(mine, name)
        if dict_obs:
            for key in expected:
                np.testing.assert_array_equal(got[key], expected[key])
        else:
            np.testing.assert_array_equal(got, expected)
    ours.learn(10)  # the filled buffer trains


def test_load_replay_buffer_into_a_model_without_one(tmp_path: pathlib.Path) -> None:
    theirs = sb3.SAC("MlpPolicy", "Pendulum-v1", learning_starts=10, buffer_size=50, seed=0, policy_kwargs=dict(SMALL))
    theirs.learn(30)
    theirs.save_replay_buffer(tmp_path / "buffer.pkl")
    ours = SAC("MlpPolicy", "Pendulum-v1", buffer_size=50, policy_kwargs=dict(SMALL))
    ours.replay_buffer = None
    ours.load_replay_buffer(tmp_path / "buffer.pkl")
    assert ours.replay_buffer is not None and ours.replay_buffer.pos == 30
    ours.save_replay_buffer(tmp_path / "ours")
    ours.replay_buffer = None  # our own format too
    ours.load_replay_buffer(tmp_path / "ours")
    assert ours.replay_buffer.pos == 30


def test_lambda_schedules_are_skipped_with_a_warning(tmp_path: pathlib.Path) -> None:
    theirs = sb3.PPO(
        "MlpPolicy",
        "CartPole-v1",
        learning_rate=lambda progress: 1e-3 * progress,
        clip_range=lambda progress: 0.1,
        n_steps=64,
        batch_size=32,
        policy_kwargs=dict(SMALL),
    )
    theirs.learn(64)
    theirs.save(tmp_path / "model.zip")
    with pytest.warns(sb3_import.SB3ImportWarning) as record:
        ours = PPO.load(tmp_path / "model.zip")
    messages = " ".join(str(w.message) for w in record)
    assert "learning rate" in messages and "'clip_range'" in messages
    last_lr = theirs.policy.optimizer.param_groups[0]["lr"]
    assert ours.lr_schedule(1.0) == pytest.approx(last_lr)
    assert ours.clip_range(1.0) == pytest.approx(0.2)  # our default
    # a replacement can be given instead
    ours = PPO.load(tmp_path / "model.zip", custom_objects={"learning_rate": 5e-4, "clip_range": 0.1})
    assert ours.lr_schedule(0.5) == pytest.approx(5e-4) and ours.clip_range(0.5) == pytest.approx(0.1)


def test_schedules_and_train_freq_map_to_ours(tmp_path: pathlib.Path) -> None:
    from stable_baselines3.common.noise import NormalActionNoise

    theirs = sb3.TD3(
        "MlpPolicy",
        "Pendulum-v1",
        train_freq=(2, "episode"),
        action_noise=NormalActionNoise(np.zeros(1), 0.3 * np.ones(1)),
        policy_kwargs={"net_arch": [8], "activation_fn": torch.nn.Tanh},
    )
    theirs.save(tmp_path / "td3.zip")
    ours = TD3.load(tmp_path / "td3.zip")
    frequency, unit = tuple(ours.train_freq)
    assert frequency == 2 and "episode" in str(unit).lower()
    np.testing.assert_array_equal(ours.action_noise._sigma, [0.3])
    assert ours.policy_kwargs["activation_fn"] is torch.nn.Tanh
    ppo = sb3.PPO("MlpPolicy", "CartPole-v1", clip_range=0.15, policy_kwargs=dict(SMALL))
    ppo.save(tmp_path / "ppo.zip")
    assert PPO.load(tmp_path / "ppo.zip").clip_range == ConstantSchedule(0.15)


def test_wrong_algorithm_is_refused(tmp_path: pathlib.Path) -> None:
    sb3.SAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(SMALL)).save(tmp_path / "sac.zip")
    with pytest.raises(ModelLoadError, match=r"SACPolicy.*not one of PPO's"):
        PPO.load(tmp_path / "sac.zip")


# ----------------------------------------------------------------------------------------------------------
# SB3 1.x (gym spaces, numpy 1.x module paths)
# ----------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _old_modules() -> Iterator[dict[str, Any]]:
    """Fake `gym.spaces.*` and `numpy.core.multiarray` modules, so that pickles name them as SB3 1.x files
    (made with gym 0.21 and numpy 1.x) do. SB3 1.8 itself cannot be installed next to gymnasium 1.x here, so
    these pickles are written from the format: a space is NEWOBJ + a state dict, an array is
    `numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b')` + its (version, shape, dtype, fortran,
    bytes) state."""
    saved = {
        name: sys.modules.get(name)
        for name in ("gym", "gym.spaces", "gym.spaces.box", "gym.spaces.discrete", "numpy.core.multiarray")
    }
    fakes: dict[str, Any] = {}
    multiarray = types.ModuleType("numpy.core.multiarray")

    def _reconstruct(*args: Any) -> None:  # never called: only its name is pickled
        raise AssertionError

    _reconstruct.__module__, _reconstruct.__qualname__ = "numpy.core.multiarray", "_reconstruct"
    multiarray._reconstruct = _reconstruct  # type: ignore[attr-defined]

    class OldArray:
        def __init__(self, array: np.ndarray) -> None:
            self.array = np.ascontiguousarray(array)

        def __reduce__(self) -> Any:
            state = (1, self.array.shape, self.array.dtype, False, self.array.tobytes())
            return (_reconstruct, (np.ndarray, (0,), b"b"), state)

    for module_name, class_name in (("gym.spaces.box", "Box"), ("gym.spaces.discrete", "Discrete")):
        module = types.ModuleType(module_name)
        cls = type(class_name, (), {"__module__": module_name})
        setattr(module, class_name, cls)
        fakes[class_name] = cls
        sys.modules[module_name] = module
    sys.modules["gym"] = types.ModuleType("gym")
    sys.modules["gym.spaces"] = types.ModuleType("gym.spaces")
    sys.modules["numpy.core.multiarray"] = multiarray
    fakes["array"] = OldArray
    try:
        yield fakes
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _old_space_pickles(observation_space: spaces.Box, action_space: spaces.Discrete) -> tuple[str, str]:
    with _old_modules() as fakes:
        box = fakes["Box"].__new__(fakes["Box"])
        box.__dict__.update(
            low=fakes["array"](observation_space.low),
            high=fakes["array"](observation_space.high),
            shape=observation_space.shape,
            dtype=observation_space.dtype,
            np_random=None,
        )
        discrete = fakes["Discrete"].__new__(fakes["Discrete"])
        discrete.__dict__.update(n=int(action_space.n), shape=(), dtype=np.dtype(np.int64), np_random=None)
        return tuple(base64.b64encode(pickle.dumps(x, protocol=4)).decode() for x in (box, discrete))  # type: ignore[return-value]


def _rewrite_data(path: pathlib.Path, out: pathlib.Path, change: Callable[[dict[str, Any]], None]) -> None:
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "data":
                data = json.loads(content)
                change(data)
                content = json.dumps(data).encode()
            target.writestr(item, content)


def test_sb3_1x_style_file(tmp_path: pathlib.Path) -> None:
    """An SB3 1.x-style file (gym spaces, numpy.core paths, a cloudpickled lr_schedule); written from the format
    (see _old_modules) since SB3 1.8 needs gym 0.21, which cannot be installed next to gymnasium 1.x."""
    theirs = sb3.PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, policy_kwargs=dict(SMALL), seed=0)
    theirs.learn(64)
    theirs.save(tmp_path / "model.zip")
    obs_blob, action_blob = _old_space_pickles(theirs.observation_space, theirs.action_space)
    assert b"gym.spaces.box" in base64.b64decode(obs_blob) and b"numpy.core.multiarray" in base64.b64decode(obs_blob)

    def change(data: dict[str, Any]) -> None:
        data["observation_space"][":serialized:"] = obs_blob
        data["action_space"][":serialized:"] = action_blob
        import cloudpickle

        data["lr_schedule"] = {":serialized:": base64.b64encode(cloudpickle.dumps(lambda _: 3e-4)).decode()}

    _rewrite_data(tmp_path / "model.zip", tmp_path / "old.zip", change)
    ours = PPO.load(tmp_path / "old.zip")
    assert ours.observation_space == theirs.observation_space
    assert ours.action_space == spaces.Discrete(2)
    obs = _batch(theirs.observation_space)
    np.testing.assert_array_equal(ours.predict(obs, deterministic=True)[0], theirs.predict(obs, deterministic=True)[0])


def test_old_single_features_extractor_keys_are_shared(tmp_path: pathlib.Path) -> None:
    """SB3 < 1.7 saved one `features_extractor.*` for actor and critic; our pi_/vf_ copies are filled from it."""
    theirs = sb3.PPO("CnnPolicy", ImageEnv(), n_steps=32, batch_size=32, n_epochs=1)
    theirs.save(tmp_path / "model.zip")
    with zipfile.ZipFile(tmp_path / "model.zip") as archive:
        state = torch.load(io.BytesIO(archive.read("policy.pth")), weights_only=True)
    old = {k: v for k, v in state.items() if not k.startswith(("pi_features_extractor.", "vf_features_extractor."))}
    assert len(old) < len(state)
    with zipfile.ZipFile(tmp_path / "model.zip") as source, zipfile.ZipFile(tmp_path / "old.zip", "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "policy.pth":
                buffer = io.BytesIO()
                torch.save(old, buffer)
                content = buffer.getvalue()
            if item.filename.endswith("optimizer.pth"):
                continue
            target.writestr(item, content)
    with pytest.warns(sb3_import.SB3ImportWarning, match="optimizer state"):
        ours = PPO.load(tmp_path / "old.zip")
    obs = _batch(theirs.observation_space, n=4)
    np.testing.assert_array_equal(ours.predict(obs, deterministic=True)[0], theirs.predict(obs, deterministic=True)[0])


# ----------------------------------------------------------------------------------------------------------
# Security: nothing in a file runs
# ----------------------------------------------------------------------------------------------------------


class Payload:
    """Unpickling this would create `marker` (through exec)."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


class PathPayload:
    """Unpickling this would call pathlib.Path.touch (a plain library function, no exec)."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (pathlib.Path.touch, (self.marker,))


def _payloads(marker: pathlib.Path) -> list[Any]:
    return [
        Payload(marker),
        PathPayload(marker),
        {"wrapped": [Payload(marker)]},
        (1, spaces.Discrete(2), Payload(marker)),
    ]


@pytest.fixture(scope="module")
def sb3_zip(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("sb3") / "model.zip"
    sb3.PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, policy_kwargs=dict(SMALL)).save(path)
    return path


def test_malicious_field_never_runs(tmp_path: pathlib.Path, sb3_zip: pathlib.Path) -> None:
    with zipfile.ZipFile(sb3_zip) as archive:
        fields = [k for k, v in json.loads(archive.read("data")).items() if isinstance(v, dict) and ":serialized:" in v]
    assert {"observation_space", "action_space", "policy_class", "clip_range", "lr_schedule"} <= set(fields)
    marker = tmp_path / "marker"
    for field in [*fields, "policy_kwargs", "learning_rate", "gamma"]:
        for payload in _payloads(marker):
            blob = base64.b64encode(pickle.dumps(payload)).decode()

            def change(data: dict[str, Any], field: str = field, blob: str = blob) -> None:
                data[field] = {":type:": "<class 'x'>", ":serialized:": blob}

            _rewrite_data(sb3_zip, tmp_path / "evil.zip", change)
            needed = field in ("observation_space", "action_space", "policy_class", "policy_kwargs")
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                if needed:
                    with pytest.raises(ModelLoadError, match=f"field '{field}'"):
                        PPO.load(tmp_path / "evil.zip")
                else:
                    PPO.load(tmp_path / "evil.zip")
            assert not marker.exists(), f"a payload in {field!r} ran"
            if not needed and field not in sb3_import._IGNORED_FIELDS:
                assert any(field in str(w.message) or "learning rate" in str(w.message) for w in record), field


def test_malicious_policy_weights_never_run(tmp_path: pathlib.Path, sb3_zip: pathlib.Path) -> None:
    marker = tmp_path / "marker"
    for member in ("policy.pth", "policy.optimizer.pth", "pytorch_variables.pth"):
        with zipfile.ZipFile(sb3_zip) as source, zipfile.ZipFile(tmp_path / "evil.zip", "w") as target:
            for item in source.infolist():
                content = source.read(item.filename)
                if item.filename == member:
                    buffer = io.BytesIO()
                    torch.save({"weight": Payload(marker)}, buffer)
                    content = buffer.getvalue()
                target.writestr(item, content)
        with pytest.raises(ModelLoadError, match=member):
            PPO.load(tmp_path / "evil.zip")
        assert not marker.exists()


def test_malicious_vec_normalize_never_runs(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "marker"
    venv = DummyVecEnv([lambda: gym.make("Pendulum-v1")])
    for payload in _payloads(marker):
        (tmp_path / "vec_normalize.pkl").write_bytes(pickle.dumps(payload))
        with pytest.raises(ValueError, match=r"not loaded|not a Stable-Baselines3 VecNormalize"):
            VecNormalize.load(str(tmp_path / "vec_normalize.pkl"), venv)
        assert not marker.exists()
    # a real SB3 VecNormalize pickle with a payload planted among its statistics
    from stable_baselines3.common.vec_env import DummyVecEnv as SB3DummyVecEnv
    from stable_baselines3.common.vec_env import VecNormalize as SB3VecNormalize

    theirs = SB3VecNormalize(SB3DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    theirs.ret_rms.count = Payload(marker)  # type: ignore[assignment]
    theirs.save(str(tmp_path / "planted.pkl"))
    with pytest.raises(ValueError, match=r"builtins\.exec"):
        VecNormalize.load(str(tmp_path / "planted.pkl"), venv)
    assert not marker.exists()


def test_malicious_replay_buffer_never_runs(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "marker"
    model = SAC("MlpPolicy", "Pendulum-v1", buffer_size=50, policy_kwargs=dict(SMALL))
    for payload in _payloads(marker):
        (tmp_path / "buffer.pkl").write_bytes(pickle.dumps(payload))
        with pytest.raises(ValueError, match=r"not loaded|only SB3's ReplayBuffer"):
            model.load_replay_buffer(tmp_path / "buffer.pkl")
        assert not marker.exists()
    theirs = sb3.SAC("MlpPolicy", "Pendulum-v1", buffer_size=50, policy_kwargs=dict(SMALL))
    theirs.replay_buffer.rewards = Payload(marker)  # type: ignore[assignment]
    theirs.save_replay_buffer(tmp_path / "planted.pkl")
    with pytest.raises(ValueError, match=r"builtins\.exec"):
        model.load_replay_buffer(tmp_path / "planted.pkl")
    assert not marker.exists()


@pytest.mark.parametrize(
    "name",
    [
        "os.system",
        "builtins.eval",
        "builtins.getattr",
        "cloudpickle.cloudpickle._make_function",
        "numpy.load",
        "torch.load",
        "subprocess.Popen",
        "gymnasium.spaces.box.np",
    ],
)
def test_unpickler_refuses_other_globals(name: str) -> None:
    module, attribute = name.rsplit(".", 1)
    raw = b"\x80\x04c" + module.encode() + b"\n" + attribute.encode() + b"\n."
    with pytest.raises(sb3_import.RefusedPickleError, match=name.replace(".", r"\.")):
        sb3_import.restricted_loads(raw)


def test_allowed_classes_are_never_called() -> None:
    """Calling an allowed class in a pickle only records the call: no torch module is built."""
    raw = b"\x80\x04ctorch.nn.modules.activation\nReLU\n)R."
    with pytest.raises(ModelLoadError, match="cannot be rebuilt"):
        sb3_import.restricted_loads(raw)
    raw = b"\x80\x04cnumpy\ndtype\nX\x01\x00\x00\x00O\x85R."  # an object dtype
    with pytest.raises(ModelLoadError, match="not allowed"):
        sb3_import.restricted_loads(raw)


def test_schedules_unpickle_to_ours() -> None:
    from stable_baselines3.common.utils import FloatSchedule as SB3FloatSchedule
    from stable_baselines3.common.utils import LinearSchedule as SB3LinearSchedule

    assert sb3_import.restricted_loads(pickle.dumps(SB3FloatSchedule(0.25))) == ConstantSchedule(0.25)
    assert sb3_import.restricted_loads(pickle.dumps(SB3LinearSchedule(1.0, 0.1, 0.5))) == LinearSchedule(1.0, 0.1, 0.5)


# ----------------------------------------------------------------------------------------------------------
# RL Zoo model folders
# ----------------------------------------------------------------------------------------------------------


def test_zoo_enjoy_runs_an_rl_zoo_folder(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The layout the RL Zoo publishes (and `rl_zoo3.load_from_hub` writes): `<algo>/<env>_1/<env>.zip` and
    `<env>/{config.yml, args.yml, env_kwargs.yml, vecnormalize.pkl}`, YAML written from OrderedDicts."""
    from collections import OrderedDict

    import yaml
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize as SB3VecNormalize

    from zoo import enjoy

    env = SB3VecNormalize(make_vec_env("CartPole-v1", n_envs=2), norm_reward=False)
    model = sb3.PPO("MlpPolicy", env, n_steps=32, batch_size=32, policy_kwargs={"net_arch": [16]}, seed=0)
    model.learn(64)
    run = tmp_path / "ppo" / "CartPole-v1_1"
    (run / "CartPole-v1").mkdir(parents=True)
    model.save(run / "CartPole-v1.zip")
    env.save(str(run / "CartPole-v1" / "vecnormalize.pkl"))
    hyperparams = OrderedDict(
        [
            ("n_envs", 2),
            ("n_steps", 32),
            ("n_timesteps", 64.0),
            ("normalize", "{'norm_obs': True, 'norm_reward': False}"),
            ("policy", "MlpPolicy"),
            ("policy_kwargs", "dict(net_arch=[16])"),
        ]
    )
    (run / "CartPole-v1" / "config.yml").write_text(yaml.dump(hyperparams))
    assert "!!python/object/apply:collections.OrderedDict" in (run / "CartPole-v1" / "config.yml").read_text()
    (run / "CartPole-v1" / "args.yml").write_text(yaml.dump(OrderedDict([("env_kwargs", None), ("seed", 0)])))
    (run / "CartPole-v1" / "env_kwargs.yml").write_text(yaml.dump({}))

    assert enjoy.main(["--algo", "ppo", "--env", "CartPole-v1", "-f", str(tmp_path), "--no-render", "-n", "200"]) == 0
    assert "episodes: mean return" in capsys.readouterr().out


def test_zoo_yaml_reader_builds_no_other_python_objects(tmp_path: pathlib.Path) -> None:
    from zoo.config import ConfigError
    from zoo.runs import read_zoo_yaml

    (tmp_path / "ok.yml").write_text("!!python/object/apply:collections.OrderedDict\n- - - a\n    - 1\n")
    assert read_zoo_yaml(tmp_path / "ok.yml") == {"a": 1}
    marker = tmp_path / "marker"
    (tmp_path / "evil.yml").write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError, match=r"evil\.yml"):
        read_zoo_yaml(tmp_path / "evil.yml")
    assert not marker.exists()

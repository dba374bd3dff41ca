"""PPO and A2C: learning on probe envs, time-limit bootstrapping, bad input, seeding, callbacks."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from baselines3 import A2C, PPO
from baselines3.common.callbacks import BaseCallback
from baselines3.common.env_util import make_vec_env
from baselines3.common.envs import (
    FakeImageEnv,
    IdentityEnv,
    IdentityEnvBox,
    IdentityEnvMultiBinary,
    IdentityEnvMultiDiscrete,
    SimpleMultiObsEnv,
)
from baselines3.common.evaluation import evaluate_policy
from baselines3.common.vec_env import DummyVecEnv


def _eval(model, env, n=5):
    mean, _ = evaluate_policy(model, env, n_eval_episodes=n, deterministic=True, warn=False)
    return mean


@pytest.mark.parametrize(
    "algo,kwargs",
    [
        (PPO, dict(n_steps=64, batch_size=64, n_epochs=4, learning_rate=3e-3)),
        (A2C, dict(n_steps=8, learning_rate=3e-3)),
    ],
)
def test_learns_discrete_identity(algo, kwargs):
    env = make_vec_env(lambda: IdentityEnv(4, ep_length=20), n_envs=4, seed=0)
    model = algo("MlpPolicy", env, seed=0, **kwargs)
    before = _eval(model, DummyVecEnv([lambda: IdentityEnv(4, ep_length=20)]))
    model.learn(6000)
    after = _eval(model, DummyVecEnv([lambda: IdentityEnv(4, ep_length=20)]))
    assert after >= 18, f"{algo.__name__} did not learn the identity: {before} -> {after}"


@pytest.mark.parametrize(
    "env_fn",
    [
        lambda: IdentityEnvMultiDiscrete(3, ep_length=20),
        lambda: IdentityEnvMultiBinary(3, ep_length=20),
    ],
)
def test_ppo_learns_multi_action_spaces(env_fn):
    env = make_vec_env(env_fn, n_envs=4, seed=1)
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=128, n_epochs=4, learning_rate=3e-3, seed=1)
    model.learn(10000)
    assert _eval(model, DummyVecEnv([env_fn])) >= 16


def test_ppo_learns_box_identity():
    env = make_vec_env(lambda: IdentityEnvBox(eps=0.2, ep_length=20), n_envs=4, seed=2)
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=128, n_epochs=10, learning_rate=3e-3, seed=2)
    model.learn(12000)
    assert _eval(model, DummyVecEnv([lambda: IdentityEnvBox(eps=0.2, ep_length=20)])) >= 15


def test_multi_input_policy_learns_dict_obs():
    env = make_vec_env(lambda: SimpleMultiObsEnv(ep_length=20), n_envs=4, seed=3)
    model = PPO("MultiInputPolicy", env, n_steps=32, batch_size=64, n_epochs=4, learning_rate=1e-3, seed=3)
    model.learn(4000)
    assert _eval(model, DummyVecEnv([lambda: SimpleMultiObsEnv(ep_length=20)])) >= 17


class CountingEnv(gym.Env):
    """obs = step count; reward 1 per step; truncated after `limit` steps (never terminated)."""

    def __init__(self, limit: int = 3, terminate: bool = False) -> None:
        self.observation_space = spaces.Box(0, 100, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.limit = limit
        self.terminate = terminate
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        done = self.t >= self.limit
        obs = np.array([float(self.t)], dtype=np.float32)
        return obs, 1.0, done and self.terminate, done and not self.terminate, {}


@pytest.mark.parametrize("algo", [PPO, A2C])
@pytest.mark.parametrize("terminate", [False, True])
def test_truncation_bootstraps_terminal_value(algo, terminate):
    gamma = 0.9
    model = algo(
        "MlpPolicy",
        DummyVecEnv([lambda: CountingEnv(3, terminate)]),
        n_steps=6,
        gamma=gamma,
        seed=0,
        **({"batch_size": 6} if algo is PPO else {}),
    )
    # collect one rollout without updating: the buffer keeps the rewards as stored
    _, callback = model._setup_learn(6, None)
    model.collect_rollouts(model.env, callback, model.rollout_buffer, 6)
    rewards = model.rollout_buffer.rewards[:, 0]
    with torch.no_grad():
        terminal_value = model.policy.predict_values(torch.tensor([[3.0]])).item()
    expected_last = 1.0 if terminate else 1.0 + gamma * terminal_value
    np.testing.assert_allclose(rewards[[0, 1, 3, 4]], 1.0)
    np.testing.assert_allclose(rewards[[2, 5]], expected_last, rtol=1e-5)
    # and the next observation starts an episode
    np.testing.assert_array_equal(model.rollout_buffer.episode_starts[:, 0], [1, 0, 0, 1, 0, 0])


def test_cnn_policy_runs_on_channel_last_images():
    env = DummyVecEnv([lambda: FakeImageEnv(screen_height=36, screen_width=36, n_channels=3)] * 2)
    model = PPO("CnnPolicy", env, n_steps=8, batch_size=16, n_epochs=1, seed=0)
    assert model.observation_space.shape == (3, 36, 36)  # made channel-first automatically
    model.learn(32)
    action, _ = model.predict(env.observation_space.sample())  # channel-last single obs works too
    assert env.action_space.contains(int(action))
    auto = A2C("auto", env, n_steps=4)
    assert type(auto.policy).__name__ == "ActorCriticCnnPolicy"


def test_env_given_as_id_string_and_gymnasium_env():
    m1 = A2C("MlpPolicy", "CartPole-v1", n_steps=5, seed=0).learn(50)
    assert m1.num_timesteps >= 50
    m2 = PPO(
        "MlpPolicy",
        gym.make("Pendulum-v1"),
        n_steps=16,
        batch_size=16,
        n_epochs=1,
        use_sde=True,
        sde_sample_freq=4,
        seed=0,
    ).learn(32)
    assert m2.num_timesteps == 32


def test_gymnasium_vector_env_is_accepted():
    venv = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0).learn(64)
    assert model.n_envs == 2 and model.num_timesteps == 64


def test_bad_inputs_have_clear_errors():
    with pytest.raises(ValueError, match=r"Unknown policy 'MlpPolicyy'.*MlpPolicy"):
        PPO("MlpPolicyy", "CartPole-v1")
    tuple_env = IdentityEnv(space=spaces.Discrete(2))
    tuple_env.action_space = spaces.Tuple([spaces.Discrete(2), spaces.Discrete(2)])
    with pytest.raises(ValueError, match="does not support the action space Tuple"):
        PPO("MlpPolicy", tuple_env)
    with pytest.warns(UserWarning, match="batch_size=512 is larger than the rollout.*one minibatch"):
        whole = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2), n_steps=16, batch_size=512, n_epochs=2)
    whole.learn(32)  # trains on the whole rollout of 32 samples per epoch
    assert whole._n_updates == 2  # one minibatch per epoch
    with pytest.warns(UserWarning, match="does not divide"):
        PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2), n_steps=16, batch_size=10)
    with pytest.raises(ValueError, match="gSDE"):
        A2C("MlpPolicy", "CartPole-v1", use_sde=True)
    with pytest.raises(ValueError, match="n_epochs must be >= 1, got 0"):
        PPO("MlpPolicy", "CartPole-v1", n_epochs=0)  # would collect rollouts and never update
    with pytest.raises(ValueError, match="clip_range must be > 0"):
        PPO("MlpPolicy", "CartPole-v1", clip_range=-0.2)
    with pytest.raises(ValueError, match="gamma must be in"):
        A2C("MlpPolicy", "CartPole-v1", gamma=2.0)
    with pytest.raises(ValueError, match="stats_window_size must be >= 1"):
        PPO("MlpPolicy", "CartPole-v1", stats_window_size=0)
    with pytest.raises(ValueError, match="log_interval must be >= 1"):
        A2C("MlpPolicy", "CartPole-v1", n_steps=8).learn(16, log_interval=0)  # was a ZeroDivisionError


class OrderCallback(BaseCallback):
    def __init__(self):
        super().__init__()
        self.events = []

    def _on_training_start(self):
        self.events.append("training_start")

    def _on_rollout_start(self):
        self.events.append("rollout_start")

    def _on_step(self):
        self.events.append("step")
        assert "dones" in self.locals and "infos" in self.locals
        return True

    def _on_rollout_end(self):
        self.events.append("rollout_end")

    def _on_training_end(self):
        self.events.append("training_end")


def test_callback_order_and_stop():
    cb = OrderCallback()
    PPO("MlpPolicy", "CartPole-v1", n_steps=4, batch_size=4, n_epochs=1).learn(8, callback=cb)
    assert cb.events == [
        "training_start",
        "rollout_start",
        *["step"] * 4,
        "rollout_end",
        "rollout_start",
        *["step"] * 4,
        "rollout_end",
        "training_end",
    ]
    assert cb.n_calls == 8 and cb.num_timesteps == 8

    class Stop(BaseCallback):
        def _on_step(self):
            return self.n_calls < 3

    model = A2C("MlpPolicy", "CartPole-v1", n_steps=5).learn(1000, callback=Stop())
    assert model.num_timesteps == 3


@pytest.mark.parametrize("algo", [PPO, A2C])
def test_same_seed_gives_identical_parameters(algo):
    def run():
        env = make_vec_env("CartPole-v1", n_envs=2, seed=7)
        kw = dict(n_steps=16, batch_size=16, n_epochs=2) if algo is PPO else dict(n_steps=5)
        model = algo("MlpPolicy", env, seed=7, **kw).learn(256)
        return [p.detach().clone() for p in model.policy.parameters()]

    first, second = run(), run()
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_reset_num_timesteps_false_keeps_counting():
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16, n_epochs=1)
    model.learn(32)
    model.learn(32, reset_num_timesteps=False)
    assert model.num_timesteps == 64
    model.learn(16)
    assert model.num_timesteps == 16


def test_target_kl_stops_epochs_early():
    model = PPO(
        "MlpPolicy",
        "CartPole-v1",
        n_steps=64,
        batch_size=16,
        n_epochs=50,
        learning_rate=5e-2,
        target_kl=1e-4,
        seed=0,
    )
    model.learn(64)
    # a tiny target stops within the first epochs instead of running all 50
    assert model._n_updates < 50


def test_tensorboard_and_logged_keys(tmp_path):
    from baselines3.common.logger import configure

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32, n_epochs=1, tensorboard_log=str(tmp_path))
    model.learn(64)
    assert (tmp_path / "PPO_1").is_dir()
    logger = configure(str(tmp_path / "csv"), ["csv"])
    model.set_logger(logger)
    model.learn(64)
    import pandas as pd

    frame = pd.read_csv(tmp_path / "csv" / "progress.csv")
    for key in [
        "time/fps",
        "train/value_loss",
        "train/approx_kl",
        "train/clip_fraction",
        "train/learning_rate",
        "train/explained_variance",
    ]:
        assert key in frame.columns, key


@pytest.mark.parametrize("algo", [PPO, A2C])
def test_set_env_may_change_the_number_of_envs(algo):
    model = algo("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2), n_steps=8, **_batch(algo))
    model.learn(16)
    with pytest.raises(ValueError, match="force_reset=True"):
        model.set_env(make_vec_env("CartPole-v1", n_envs=3), force_reset=False)
    model.set_env(make_vec_env("CartPole-v1", n_envs=3))
    model.learn(24, reset_num_timesteps=False)
    assert model.n_envs == 3 and model.num_timesteps == 16 + 24
    assert model.rollout_buffer.observations.shape == (8, 3, 4)


@pytest.mark.parametrize("algo", [PPO, A2C])
def test_collect_rollouts_method_fills_the_buffer(algo):
    model = algo("MlpPolicy", "CartPole-v1", n_steps=8, **_batch(algo))
    model._setup_learn(100)
    callback = model._init_callback(None)
    assert model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=8)
    assert model.rollout_buffer.full and model.num_timesteps == 8
    assert np.any(model.rollout_buffer.returns != 0)


def _batch(algo):
    return dict(batch_size=8) if algo is PPO else {}

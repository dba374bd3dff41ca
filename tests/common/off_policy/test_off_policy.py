"""DQN, SAC and TD3: bad input, save/load (with replay buffer) and continued training, probe-env learning,
determinism."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from baselines3 import DQN, SAC, TD3
from baselines3.common.buffers import NStepReplayBuffer
from baselines3.common.env_util import make_vec_env
from baselines3.common.envs import IdentityEnv, SimpleMultiObsEnv
from baselines3.common.evaluation import evaluate_policy
from baselines3.common.monitor import Monitor
from baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise, VectorizedActionNoise
from baselines3.common.save_util import ModelLoadError
from baselines3.common.vec_env import DummyVecEnv, VecNormalize

FAST = dict(learning_starts=20, batch_size=16, buffer_size=500)


class TargetEnv(gym.Env):
    """Continuous probe: observation x in [-1, 1]^d, reward 1 - mean|a - x|. The best policy is a = x."""

    def __init__(self, dim: int = 1, ep_length: int = 20) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (dim,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (dim,), np.float32)
        self.ep_length = ep_length

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        self.x = self.np_random.uniform(-1, 1, self.observation_space.shape).astype(np.float32)
        return self.x, {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward = 1.0 - float(np.abs(np.asarray(action) - self.x).mean())
        self.t += 1
        self.x = self.np_random.uniform(-1, 1, self.observation_space.shape).astype(np.float32)
        return self.x, reward, False, self.t >= self.ep_length, {}


def box_env() -> gym.Env:
    return TargetEnv()


# ------------------------------------------------------------------ bad input
def test_dqn_refuses_a_box_action_space():
    with pytest.raises(ValueError, match=r"DQN does not support the action space Box"):
        DQN("MlpPolicy", box_env())


@pytest.mark.parametrize("algo", [SAC, TD3])
def test_sac_td3_refuse_a_discrete_action_space(algo):
    with pytest.raises(ValueError, match=rf"{algo.__name__} does not support the action space Discrete\(2\)"):
        algo("MlpPolicy", IdentityEnv(2))


@pytest.mark.parametrize("algo, env_fn", [(DQN, lambda: IdentityEnv(2)), (SAC, box_env), (TD3, box_env)])
def test_buffer_smaller_than_batch_trains_as_in_sb3(algo, env_fn):
    """SB3 accepts a replay buffer smaller than a batch (batches are drawn with replacement); so do we."""
    model = algo("MlpPolicy", env_fn(), buffer_size=10, batch_size=32, learning_starts=5)
    model.learn(30)
    assert model._n_updates > 0 and model.replay_buffer.full


@pytest.mark.parametrize("train_freq", [(4, "steps"), (1, "epoch"), "4", (0, "step"), (1, 2, 3)])
def test_bad_train_freq_is_refused(train_freq):
    with pytest.raises(ValueError, match="train_freq"):
        DQN("MlpPolicy", IdentityEnv(2), train_freq=train_freq)


def test_train_freq_unit_error_names_the_unit():
    with pytest.raises(ValueError, match=r"'step' or 'episode', got 'steps'"):
        SAC("MlpPolicy", box_env(), train_freq=(4, "steps"))


def test_bad_sac_ent_coef_and_td3_delay():
    with pytest.raises(ValueError, match="ent_coef"):
        SAC("MlpPolicy", box_env(), ent_coef="automatic")
    with pytest.raises(ValueError, match="initial entropy coefficient must be > 0"):
        SAC("MlpPolicy", box_env(), ent_coef="auto_0")
    with pytest.raises(ValueError, match="policy_delay"):
        TD3("MlpPolicy", box_env(), policy_delay=0)
    with pytest.raises(ValueError, match="tau"):
        DQN("MlpPolicy", IdentityEnv(2), tau=-0.1)
    with pytest.raises(ValueError, match="tau"):
        SAC("MlpPolicy", box_env(), tau=5.0)
    with pytest.raises(ValueError, match="gamma"):
        TD3("MlpPolicy", box_env(), gamma=1.01)


def test_action_noise_of_another_shape_is_refused():
    one_dim = TargetEnv(dim=1)
    with pytest.raises(ValueError, match=r"shape \(3,\); the actions of 1 env\(s\) need \(1,\)"):
        SAC("MlpPolicy", one_dim, action_noise=NormalActionNoise(np.zeros(3), np.ones(3)))
    with pytest.raises(ValueError, match=r"VectorizedActionNoise with n_envs=1"):
        TD3("MlpPolicy", one_dim, action_noise=VectorizedActionNoise(NormalActionNoise(np.zeros(1), np.ones(1)), 3))
    TD3("MlpPolicy", one_dim, action_noise=NormalActionNoise(0.0, 0.1))  # a scalar noise broadcasts


def test_loading_a_replay_buffer_with_other_spaces_is_refused(tmp_path):
    model = SAC("MlpPolicy", TargetEnv(dim=1), **FAST).learn(40)
    path = model.save_replay_buffer(tmp_path / "buffer")
    other = SAC("MlpPolicy", TargetEnv(dim=2), **FAST)
    with pytest.raises(ValueError, match="observation_space"):
        other.load_replay_buffer(path)


def test_saving_a_replay_buffer_to_an_unwritable_path_keeps_the_model(tmp_path):
    model = DQN("MlpPolicy", IdentityEnv(2), **FAST).learn(60)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    size_before = model.replay_buffer.size()
    with pytest.raises(OSError):
        model.save_replay_buffer(blocker / "buffer")
    assert model.replay_buffer.size() == size_before
    model.learn(40, reset_num_timesteps=False)  # still trains
    assert model.num_timesteps == 100
    assert sorted(os.listdir(tmp_path)) == ["a_file"]


def test_loading_a_corrupt_replay_buffer_is_a_clear_error(tmp_path):
    model = DQN("MlpPolicy", IdentityEnv(2), **FAST)
    bad = tmp_path / "buffer.npz"
    bad.write_bytes(b"not an archive")
    with pytest.raises(ModelLoadError):
        model.load_replay_buffer(bad)


# ------------------------------------------------------------------ save / load / continue
def _continuous_kwargs(algo):
    kwargs = dict(FAST, policy_kwargs=dict(net_arch=[32, 32]))
    if algo is TD3:
        kwargs["action_noise"] = NormalActionNoise(np.zeros(1), 0.1 * np.ones(1))
    return kwargs


@pytest.mark.parametrize(
    "algo, env_fn, kwargs",
    [
        (DQN, lambda: IdentityEnv(3), dict(FAST, policy_kwargs=dict(net_arch=[32]))),
        (SAC, box_env, _continuous_kwargs(SAC)),
        (TD3, box_env, _continuous_kwargs(TD3)),
    ],
)
def test_save_load_with_replay_buffer_then_continue(tmp_path, algo, env_fn, kwargs):
    model = algo("MlpPolicy", env_fn(), seed=0, **kwargs).learn(100)
    model.save(tmp_path / "model")
    model.save_replay_buffer(tmp_path / "buffer")
    obs = np.stack([env_fn().observation_space.sample() for _ in range(8)])

    loaded = algo.load(tmp_path / "model", env=env_fn())
    loaded.load_replay_buffer(tmp_path / "buffer.npz")
    assert loaded.num_timesteps == 100
    assert loaded.replay_buffer.size() == model.replay_buffer.size()
    np.testing.assert_array_equal(loaded.replay_buffer.actions, model.replay_buffer.actions)
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    for name, state in model.get_parameters().items():
        loaded_state = loaded.get_parameters()[name]
        if "optimizer" in name:
            assert loaded_state["state"].keys() == state["state"].keys()
            for key, value in state["state"][0].items():
                torch.testing.assert_close(loaded_state["state"][0][key], value)
        else:
            for key, value in state.items():
                torch.testing.assert_close(loaded_state[key], value)
    loaded.learn(60, reset_num_timesteps=False)
    assert loaded.num_timesteps == 160
    assert loaded.replay_buffer.size() == min(160, loaded.replay_buffer.buffer_size)


def test_sac_saves_its_learned_entropy_coefficient(tmp_path):
    model = SAC("MlpPolicy", box_env(), ent_coef="auto_0.5", seed=0, **FAST).learn(80)
    model.save(tmp_path / "sac")
    loaded = SAC.load(tmp_path / "sac")
    assert loaded.ent_coef == "auto_0.5"
    torch.testing.assert_close(loaded.log_ent_coef, model.log_ent_coef)
    assert not torch.allclose(model.log_ent_coef, torch.log(torch.tensor([0.5])))  # it was trained
    fixed = SAC("MlpPolicy", box_env(), ent_coef=0.2, **FAST)
    fixed.save(tmp_path / "fixed")
    assert float(SAC.load(tmp_path / "fixed").ent_coef_tensor) == pytest.approx(0.2)


def test_td3_action_noise_is_saved_as_json(tmp_path):
    noise = OrnsteinUhlenbeckActionNoise(np.zeros(1), 0.3 * np.ones(1), theta=0.2)
    model = TD3("MlpPolicy", box_env(), action_noise=noise, **FAST)
    model.save(tmp_path / "td3")
    loaded = TD3.load(tmp_path / "td3")
    assert isinstance(loaded.action_noise, OrnsteinUhlenbeckActionNoise)
    assert loaded.action_noise.to_spec() == noise.to_spec()


def test_dqn_exploration_rate_follows_its_schedule():
    model = DQN("MlpPolicy", IdentityEnv(2), exploration_fraction=0.5, exploration_final_eps=0.1, **FAST)
    model.learn(200)
    assert model.exploration_rate == pytest.approx(0.1)
    # it follows the schedule during the random warm-up too (learning_starts beyond the run), ending at 0
    model = DQN("MlpPolicy", IdentityEnv(2), exploration_fraction=1.0, exploration_final_eps=0.0, **FAST)
    model.learning_starts = 1000
    model.learn(100)
    assert model.exploration_rate == pytest.approx(0.0)


def test_dqn_target_network_is_copied_every_interval():
    model = DQN("MlpPolicy", IdentityEnv(2), target_update_interval=1000, train_freq=10, **FAST)
    model.learn(200)
    online = torch.cat([p.flatten() for p in model.q_net.parameters()])
    target = torch.cat([p.flatten() for p in model.q_net_target.parameters()])
    assert not torch.equal(online, target)  # trained, not copied yet
    model.target_update_interval = 10
    model.gradient_steps = 0  # collect only: the copy must equal the (unchanged) online net
    model.learn(10, reset_num_timesteps=False)
    online = torch.cat([p.flatten() for p in model.q_net.parameters()])
    target = torch.cat([p.flatten() for p in model.q_net_target.parameters()])
    assert torch.equal(online, target)


# ------------------------------------------------------------------ other settings run
@pytest.mark.parametrize("algo", [DQN, SAC, TD3])
def test_multi_input_policy_on_dict_observations(algo):
    env = SimpleMultiObsEnv(image_size=36, ep_length=20)
    if algo is not DQN:
        env = gym.wrappers.TransformAction(
            env, lambda a: int(np.clip((a[0] + 1) * 2, 0, 3)), spaces.Box(-1, 1, (1,), np.float32)
        )
    model = algo("MultiInputPolicy", env, **FAST).learn(60)
    obs, _ = env.reset()
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(action if algo is not DQN else int(action))


@pytest.mark.parametrize("algo", [SAC, TD3])
def test_several_envs_with_vectorized_noise_and_vec_normalize(algo):
    env = VecNormalize(DummyVecEnv([box_env, box_env, box_env]))
    noise = VectorizedActionNoise(NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)), n_envs=3)
    model = algo("MlpPolicy", env, action_noise=noise, train_freq=(2, "step"), gradient_steps=-1, **FAST)
    model.learn(90)
    assert model.num_timesteps == 90
    assert model.replay_buffer.n_envs == 3
    # the buffer keeps unnormalized observations: they lie in the env's own [-1, 1] bounds
    stored = model.replay_buffer.observations[: model.replay_buffer.size()]
    assert np.abs(stored).max() <= 1.0


def test_sac_with_gsde_and_fixed_entropy_coefficient():
    model = SAC("MlpPolicy", box_env(), use_sde=True, sde_sample_freq=4, ent_coef=0.1, **FAST).learn(80)
    assert model.logger.name_to_value.get("train/ent_coef", 0.1) == pytest.approx(0.1)


def test_episode_train_frequency():
    model = DQN("MlpPolicy", IdentityEnv(2, ep_length=10), train_freq=(1, "episode"), **FAST)
    model.learn(55)
    assert model._episode_num == 6  # the last collection finishes its episode
    assert model.num_timesteps == 60


def test_dqn_double_q_dueling_and_n_step_run():
    model = DQN(
        "MlpPolicy",
        IdentityEnv(2),
        double_q=True,
        n_steps=3,
        policy_kwargs=dict(dueling=True, net_arch=[16]),
        **FAST,
    ).learn(80)
    assert isinstance(model.replay_buffer, NStepReplayBuffer)
    assert hasattr(model.q_net, "value_head")


# ------------------------------------------------------------------ learning on probe envs
def test_dqn_learns_the_identity():
    env = IdentityEnv(4, ep_length=20)
    model = DQN(
        "MlpPolicy",
        env,
        learning_rate=3e-3,
        learning_starts=100,
        batch_size=32,
        buffer_size=2000,
        target_update_interval=50,
        exploration_fraction=0.3,
        exploration_final_eps=0.02,
        policy_kwargs=dict(net_arch=[32]),
        seed=0,
    ).learn(1500)
    mean, _ = evaluate_policy(model, Monitor(IdentityEnv(4, ep_length=20)), n_eval_episodes=5)
    assert mean >= 19, f"DQN identity mean return {mean} < 19 of 20"


@pytest.mark.parametrize("algo", [SAC, TD3])
def test_continuous_algorithms_learn_the_target(algo):
    kwargs = dict(learning_starts=100, batch_size=64, buffer_size=5000, policy_kwargs=dict(net_arch=[32, 32]))
    if algo is TD3:
        kwargs["action_noise"] = NormalActionNoise(np.zeros(1), 0.1 * np.ones(1))
    model = algo("MlpPolicy", TargetEnv(), learning_rate=3e-3, seed=0, **kwargs).learn(1000)
    mean, _ = evaluate_policy(model, Monitor(TargetEnv()), n_eval_episodes=5)
    # random actions score ~20 * (1 - 2/3) = 6.7; a = x scores 20
    assert mean >= 18, f"{algo.__name__} mean return {mean} < 18 of 20"


@pytest.mark.parametrize("algo, env_fn", [(DQN, lambda: IdentityEnv(3)), (SAC, box_env), (TD3, box_env)])
def test_same_seed_same_result(algo, env_fn):
    def run():
        model = algo("MlpPolicy", env_fn(), seed=3, **FAST).learn(80)
        return torch.cat([p.detach().flatten() for p in model.policy.parameters()])

    assert torch.equal(run(), run())


@pytest.mark.parametrize("algo", [SAC, TD3])
def test_save_load_cnn_policy(tmp_path, algo):
    from baselines3.common.envs import FakeImageEnv

    def env_fn():
        return FakeImageEnv(screen_height=36, screen_width=36, n_channels=1, discrete=False)

    model = algo("CnnPolicy", env_fn(), buffer_size=100, learning_starts=10, batch_size=8).learn(30)
    model.save(tmp_path / "cnn")
    loaded = algo.load(tmp_path / "cnn")
    obs = np.stack([env_fn().observation_space.sample() for _ in range(3)])
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


def test_make_vec_env_with_dqn_and_several_envs():
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    model = DQN("MlpPolicy", env, **FAST).learn(100)
    # train_freq=4 counts vec-env steps: each collection takes 4 x 2 env steps, so 100 rounds up to 104
    assert model.num_timesteps == 104


def _stacked_image_env():
    from baselines3.common.envs import FakeImageEnv
    from baselines3.common.vec_env import VecFrameStack

    return VecFrameStack(DummyVecEnv([lambda: FakeImageEnv(screen_height=36, screen_width=36)]), n_stack=4)


def test_dqn_on_stacked_frames_stores_each_frame_once(tmp_path):
    from baselines3.common.buffers import ReplayBuffer
    from baselines3.common.frame_stack_buffer import FrameStackReplayBuffer

    model = DQN("CnnPolicy", _stacked_image_env(), buffer_size=200, learning_starts=30, batch_size=8, seed=0)
    assert isinstance(model.replay_buffer, FrameStackReplayBuffer)
    assert model.replay_buffer.n_stack == 4
    model.learn(60)
    per_transition = model.replay_buffer.nbytes() / model.replay_buffer.buffer_size
    assert per_transition < 1.5 * 36 * 36  # about one 36x36 frame, not 2 stacks of 4
    path = model.save_replay_buffer(tmp_path / "frames")
    model.save(tmp_path / "dqn")
    # a model loaded without its env builds plain storage, and takes the frame-stacked file all the same
    loaded = DQN.load(tmp_path / "dqn")
    assert type(loaded.replay_buffer) is ReplayBuffer
    loaded.set_env(_stacked_image_env())
    loaded.load_replay_buffer(path)
    assert isinstance(loaded.replay_buffer, FrameStackReplayBuffer)
    np.random.seed(1)
    expected = model.replay_buffer.sample(8)
    np.random.seed(1)
    got = loaded.replay_buffer.sample(8)
    torch.testing.assert_close(got.observations, expected.observations)
    loaded.learn(20, reset_num_timesteps=False)


def test_an_explicit_buffer_class_is_kept_for_stacked_frames():
    from baselines3.common.buffers import ReplayBuffer

    model = DQN("CnnPolicy", _stacked_image_env(), buffer_size=100, replay_buffer_class=ReplayBuffer)
    assert type(model.replay_buffer) is ReplayBuffer


def test_checkpoint_callback_saves_a_loadable_replay_buffer(tmp_path):
    from baselines3.common.callbacks import CheckpointCallback

    model = SAC("MlpPolicy", box_env(), **FAST)
    model.learn(40, callback=CheckpointCallback(20, str(tmp_path), name_prefix="sac", save_replay_buffer=True))
    assert sorted(os.listdir(tmp_path)) == [
        "sac_20_steps.zip",
        "sac_40_steps.zip",
        "sac_replay_buffer_20_steps.npz",
        "sac_replay_buffer_40_steps.npz",
    ]
    loaded = SAC.load(tmp_path / "sac_40_steps.zip", env=box_env())
    loaded.load_replay_buffer(tmp_path / "sac_replay_buffer_40_steps.npz")
    # the step's transition is stored before callbacks run: a checkpoint at N steps holds N transitions (SB3's
    # callbacks run before the store, so its checkpoints miss the last one, and resuming from them loses it)
    assert loaded.replay_buffer.size() == 40


def test_on_policy_models_have_no_replay_buffer(tmp_path):
    from baselines3 import PPO

    model = PPO("MlpPolicy", box_env(), n_steps=16, batch_size=16)
    with pytest.raises(ValueError, match="PPO has no replay buffer"):
        model.save_replay_buffer(tmp_path / "buffer")


class CountingEnv(gym.Env):
    """Observation [episode number, step in episode]; episodes never end on their own within a test."""

    observation_space = spaces.Box(-1e6, 1e6, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self):
        self.episode, self.t = -1, 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.episode, self.t = self.episode + 1, 0
        return np.array([self.episode, 0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([self.episode, self.t], np.float32), 1.0, False, self.t >= 1000, {}


def _stored(model, n):
    samples = model.replay_buffer._get_samples(np.arange(n))
    return samples.observations.numpy(), samples.next_observations.numpy(), samples.dones.numpy().ravel()


@pytest.mark.parametrize("kwargs", [{}, {"optimize_memory_usage": True}, {"n_steps": 3}])
def test_a_second_learn_does_not_link_the_stored_episode_to_the_new_one(kwargs):
    """learn() resets the env by default: the unfinished episode in the buffer ends there as a time limit (it is
    bootstrapped from its real next observation) and the new episode starts with the reset observation."""
    model = DQN("MlpPolicy", CountingEnv(), buffer_size=100, learning_starts=1000, train_freq=4, **kwargs)
    model.learn(8)
    model.learn(8)
    observations, next_observations, dones = _stored(model, 16)
    assert observations[7].tolist() == [0, 7] and next_observations[7].tolist() == [0, 8]
    assert model.replay_buffer.timeouts[7, 0] == 1.0
    assert observations[8].tolist() == [1, 0]
    if kwargs.get("n_steps"):  # n-step returns stop at the cut: one step left in the first episode
        assert model.replay_buffer._get_samples(np.array([7])).discounts.item() == pytest.approx(0.99)
    # continuing without a reset keeps the episode going
    model.learn(4, reset_num_timesteps=False)
    assert model.replay_buffer.timeouts[15, 0] == 0.0 and _stored(model, 20)[0][16].tolist() == [1, 8]


def test_a_second_learn_with_vec_normalize_stores_the_reset_observation():
    env = VecNormalize(DummyVecEnv([CountingEnv]), norm_reward=False)
    model = DQN("MlpPolicy", env, buffer_size=100, learning_starts=1000, train_freq=4)
    model.learn(8)
    model.learn(8)
    observations, next_observations, _ = _stored(model, 16)  # the buffer holds unnormalized observations
    assert observations[7].tolist() == [0, 7] and next_observations[7].tolist() == [0, 8]
    assert observations[8].tolist() == [1, 0] and next_observations[8].tolist() == [1, 1]

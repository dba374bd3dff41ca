"""LSTM policies: sequence minibatches, state resets, sequence vs step-by-step passes, predict/save/load, and a
memory task an MLP cannot solve."""

from __future__ import annotations

import inspect

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from baselines3 import A2C, DQN, PPO, SAC
from baselines3.common.buffers import RolloutBuffer
from baselines3.common.env_util import make_vec_env
from baselines3.common.envs import FakeImageEnv, SimpleMultiObsEnv
from baselines3.common.evaluation import evaluate_policy
from baselines3.common.recurrent_policies import RecurrentActorCriticPolicy

OBS = spaces.Box(-1.0, 1.0, (3,), np.float32)


def _policy(**kwargs) -> RecurrentActorCriticPolicy:
    torch.manual_seed(0)
    return RecurrentActorCriticPolicy(OBS, spaces.Discrete(2), lambda _: 1e-3, lstm_hidden_size=8, **kwargs)


# ------------------------------------------------------------------ sequence minibatches
def test_sequences_are_cut_at_episode_starts_padded_and_masked():
    buffer = RolloutBuffer(5, OBS, spaces.Discrete(2), n_envs=2)
    starts = np.array([[1, 0], [0, 0], [1, 0], [0, 1], [0, 0]], dtype=np.float32)  # (step, env)
    for t in range(5):
        obs = np.array([[t, 0, 0], [t, 1, 0]], dtype=np.float32)
        # hidden state before step t: value 10 * t + env, so the test can see which one a sequence starts from
        state = tuple(torch.tensor([[[10.0 * t], [10.0 * t + 1]]]) for _ in range(4))
        buffer.add(obs, np.array([0, 1]), np.ones(2), starts[t], np.zeros(2), np.zeros(2), state=state)
    buffer.compute_returns_and_advantage(np.zeros(2), np.zeros(2))
    # env 0: steps 0-1 and 2-4; env 1: steps 0-2 and 3-4
    assert buffer.sequences() == [(0, 0, 2), (0, 2, 3), (1, 0, 3), (1, 3, 2)]
    (batch,) = list(buffer.get(None))
    # time-major: row t holds step t of each of the 4 sequences; shorter ones are padded (mask 0)
    obs = batch.observations.reshape(3, 4, 3)
    np.testing.assert_array_equal(obs[:, :, 0].numpy(), [[0, 2, 0, 3], [1, 3, 1, 4], [0, 4, 2, 3]])
    np.testing.assert_array_equal(obs[0, :, 1].numpy(), [0, 0, 1, 1])  # env of each sequence
    np.testing.assert_array_equal(batch.mask.reshape(3, 4).numpy(), [[1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 0]])
    # only first steps start episodes; padded steps never do (so one LSTM call covers the minibatch)
    np.testing.assert_array_equal(
        batch.episode_starts.reshape(3, 4).numpy(), [[1, 1, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    )
    # each sequence starts from the stored state before its first step: (n_layers, n_sequences, hidden)
    np.testing.assert_array_equal(batch.states[0][0, :, 0].numpy(), [0, 20, 1, 31])


def test_minibatches_hold_whole_sequences_covering_the_rollout_once():
    buffer = RolloutBuffer(8, OBS, spaces.Discrete(2), n_envs=3)
    rng = np.random.default_rng(0)
    for t in range(8):
        starts = (rng.random(3) < 0.3).astype(np.float32) if t else np.ones(3, np.float32)
        obs = np.array([[t, env, 0] for env in range(3)], dtype=np.float32)
        state = tuple(torch.zeros(1, 3, 2) for _ in range(4))
        buffer.add(obs, np.zeros(3), np.zeros(3), starts, np.zeros(3), np.zeros(3), state=state)
    buffer.compute_returns_and_advantage(np.zeros(3), np.zeros(3))
    seen = []
    for batch in buffer.get(batch_size=6):
        assert batch.mask.sum() >= 1
        real = batch.observations[batch.mask.bool()]
        seen += [(int(t), int(env)) for t, env, _ in real.tolist()]
    assert sorted(seen) == [(t, env) for t in range(8) for env in range(3)]


# ------------------------------------------------------------------ the policy
def test_episode_start_resets_the_state():
    policy = _policy()
    obs = torch.rand(2, 3)
    state = tuple(torch.randn(1, 2, 8) for _ in range(4))
    reset = torch.tensor([1.0, 0.0])
    with torch.no_grad():
        pi_from_reset, _, _ = policy._recurrent_latents(obs, state, reset)
        pi_from_zero, _, _ = policy._recurrent_latents(obs, policy.initial_state(2), torch.zeros(2))
        pi_kept, _, _ = policy._recurrent_latents(obs, state, torch.zeros(2))
    torch.testing.assert_close(pi_from_reset[0], pi_from_zero[0])  # env 0 started an episode
    torch.testing.assert_close(pi_from_reset[1], pi_kept[1])  # env 1 kept its memory
    assert not torch.allclose(pi_kept[0], pi_from_zero[0])


@pytest.mark.parametrize(
    "kwargs", [{}, {"shared_lstm": True, "enable_critic_lstm": False}, {"enable_critic_lstm": False}]
)
def test_sequence_pass_equals_step_by_step(kwargs):
    policy = _policy(**kwargs)
    steps, n = 6, 3
    obs = torch.rand(steps, n, 3)
    starts = torch.zeros(steps, n)
    starts[0] = 1.0
    starts[3, 1] = 1.0  # an episode starts inside the sequence of env 1
    actions = torch.randint(0, 2, (steps, n))
    state = policy.initial_state(n)
    step_values, step_log_probs = [], []
    with torch.no_grad():
        for t in range(steps):
            latent_pi, latent_vf, state = policy._recurrent_latents(obs[t], state, starts[t])
            step_values.append(policy.value_net(latent_vf).flatten())
            step_log_probs.append(policy._get_action_dist_from_latent(latent_pi).log_prob(actions[t]))
        batch = type("Batch", (), {})()
        batch.observations, batch.episode_starts = obs.reshape(-1, 3), starts.reshape(-1)
        batch.actions, batch.states = actions.reshape(-1, 1).float(), policy.initial_state(n)
        values, log_probs, _ = policy.evaluate_batch(batch)
    torch.testing.assert_close(values, torch.stack(step_values).reshape(-1))
    torch.testing.assert_close(log_probs, torch.stack(step_log_probs).reshape(-1))


def test_predict_returns_and_checks_the_state(tmp_path):
    model = PPO("MlpLstmPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), n_steps=8, batch_size=16)
    obs = model.get_env().reset()
    actions, state = model.predict(obs)
    assert actions.shape == (2,) and [part.shape for part in state] == [(1, 2, 256)] * 2
    with pytest.raises(
        ValueError, match=r"\(n_lstm_layers, n_envs, lstm_hidden_size\) = \(1, 2, 256\), got \(1, 3, 256\)"
    ):
        model.predict(obs, state=tuple(np.zeros((1, 3, 256)) for _ in range(4)))
    with pytest.raises(ValueError, match=r"\(h, c\) pair"):
        model.predict(obs, state=np.zeros((1, 2, 256)))
    # the 4-tuple of initial_state() (actor and critic) is taken too: acting reads the actor's part
    full_state = tuple(np.asarray(part) for part in (*state, *state))
    np.testing.assert_array_equal(
        model.predict(obs, state=full_state, deterministic=True)[0],
        model.predict(obs, state=state, deterministic=True)[0],
    )
    model.save(tmp_path / "lstm")
    loaded = PPO.load(tmp_path / "lstm")
    starts = np.array([True, False])
    expected = model.predict(obs, state=state, episode_start=starts, deterministic=True)
    got = loaded.predict(obs, state=state, episode_start=starts, deterministic=True)
    np.testing.assert_array_equal(got[0], expected[0])
    for a, b in zip(got[1], expected[1]):
        np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("algo", [DQN, SAC])
def test_algorithms_without_recurrent_support_refuse_lstm_policies(algo):
    env = gym.make("CartPole-v1") if algo is DQN else gym.make("Pendulum-v1")
    with pytest.raises(ValueError, match=f"{algo.__name__} does not support recurrent policies"):
        algo("MlpLstmPolicy", env)
    with pytest.raises(ValueError, match="does not support recurrent policies"):
        algo(RecurrentActorCriticPolicy, env)


def test_bad_lstm_settings():
    with pytest.raises(ValueError, match="enable_critic_lstm=False"):
        _policy(shared_lstm=True)
    with pytest.raises(ValueError, match="lstm_hidden_size"):
        RecurrentActorCriticPolicy(OBS, spaces.Discrete(2), lambda _: 1e-3, lstm_hidden_size=0)


# ------------------------------------------------------------------ learning what needs memory
class RememberTheCue(gym.Env):
    """The first observation shows a cue (+1 or -1), later ones show 0. Every step pays 1 when the action names
    the cue: a feed-forward policy is right only at the first step (return ~1 + half the rest), a recurrent
    one every time (return = episode length)."""

    def __init__(self, length: int = 4) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.length = length

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.cue, self.t = int(self.np_random.integers(2)), 0
        return np.array([2.0 * self.cue - 1.0], np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward = float(int(action) == self.cue)
        self.t += 1
        return np.zeros(1, np.float32), reward, self.t >= self.length, False, {}


@pytest.mark.parametrize("algo", [PPO, A2C])
def test_lstm_remembers_what_an_mlp_cannot(algo):
    def train(policy: str) -> float:
        env = make_vec_env(RememberTheCue, n_envs=8, seed=0)
        kwargs = dict(n_steps=16, seed=0, learning_rate=3e-3)
        if algo is PPO:
            kwargs.update(batch_size=64, n_epochs=4)
        policy_kwargs = dict(lstm_hidden_size=16, net_arch=[16]) if "Lstm" in policy else dict(net_arch=[16])
        model = algo(policy, env, policy_kwargs=policy_kwargs, **kwargs).learn(6000 if algo is PPO else 12000)
        mean, _ = evaluate_policy(model, make_vec_env(RememberTheCue, n_envs=4, seed=100), n_eval_episodes=20)
        return mean

    lstm = train("MlpLstmPolicy")
    assert lstm >= 3.8, f"{algo.__name__} LSTM return {lstm} < 3.8 of 4"
    mlp = train("MlpPolicy")
    assert mlp <= 3.0, f"{algo.__name__} MLP return {mlp}: the task should need memory"


@pytest.mark.parametrize(
    "policy, env_fn",
    [
        ("CnnLstmPolicy", lambda: FakeImageEnv(screen_height=36, screen_width=36)),
        ("MultiInputLstmPolicy", SimpleMultiObsEnv),
        ("MlpLstmPolicy", lambda: gym.make("Pendulum-v1")),
    ],
)
def test_other_lstm_policies_train_save_and_predict(tmp_path, policy, env_fn):
    env = make_vec_env(env_fn, n_envs=2, seed=0)
    model = PPO(policy, env, n_steps=8, batch_size=8, n_epochs=1, policy_kwargs=dict(lstm_hidden_size=8)).learn(32)
    obs = env.reset()
    actions, state = model.predict(obs, deterministic=True)
    model.save(tmp_path / "model")
    loaded = PPO.load(tmp_path / "model")
    np.testing.assert_array_equal(
        loaded.predict(obs, state=state, deterministic=True)[0], model.predict(obs, state=state, deterministic=True)[0]
    )
    assert env.action_space.contains(actions[0])


def test_predict_state_is_the_actors_pair_as_in_sb3_contrib():
    """predict's state has sb3-contrib's layout (h, c) and its steps match the full actor-critic pass."""
    model = PPO("MlpLstmPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), n_steps=8, batch_size=16, seed=0)
    policy = model.policy
    obs = np.random.default_rng(0).normal(size=(5, 2, 4)).astype(np.float32)
    starts = np.array([[1, 1], [0, 0], [0, 1], [0, 0], [1, 0]], dtype=np.float32)
    state, full_state = None, policy.initial_state(2)
    for t in range(5):
        actions, state = model.predict(obs[t], state=state, episode_start=starts[t], deterministic=True)
        with torch.no_grad():
            latent_pi, _, full_state = policy._recurrent_latents(
                torch.as_tensor(obs[t]), full_state, torch.as_tensor(starts[t])
            )
            expected = policy._get_action_dist_from_latent(latent_pi).get_actions(deterministic=True)
        np.testing.assert_array_equal(actions, expected.numpy())
        np.testing.assert_allclose(state[0], full_state[0].numpy(), rtol=0, atol=1e-6)
        np.testing.assert_allclose(state[1], full_state[1].numpy(), rtol=0, atol=1e-6)
    sb3_contrib = pytest.importorskip("sb3_contrib")
    theirs = sb3_contrib.RecurrentPPO("MlpLstmPolicy", "CartPole-v1", n_steps=8, batch_size=8)
    _, their_state = theirs.predict(obs[0][:1])
    _, our_state = model.predict(obs[0][:1].repeat(2, axis=0))
    assert len(their_state) == len(our_state) == 2
    assert [part.shape[::2] for part in their_state] == [part.shape[::2] for part in our_state]


def test_recurrent_ppo_has_sb3_contribs_signature_and_round_trips(tmp_path):
    from baselines3 import RecurrentPPO
    from baselines3.ppo_recurrent import RecurrentPPO as FromContribPath

    assert FromContribPath is RecurrentPPO
    model = RecurrentPPO("MlpLstmPolicy", "CartPole-v1", policy_kwargs=dict(lstm_hidden_size=8), seed=0)
    assert (model.n_steps, model.batch_size) == (128, 128)
    with pytest.raises(ValueError, match="MlpPolicy"):
        RecurrentPPO("MlpPolicy", "CartPole-v1")
    model.learn(128)
    model.save(tmp_path / "recurrent")
    loaded = RecurrentPPO.load(tmp_path / "recurrent")
    obs = np.zeros((1, 4), dtype=np.float32)
    expected = model.predict(obs, deterministic=True)
    got = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(got[0], expected[0])
    sb3_contrib = pytest.importorskip("sb3_contrib")
    theirs = inspect.signature(sb3_contrib.RecurrentPPO.__init__).parameters
    ours = inspect.signature(RecurrentPPO.__init__).parameters
    assert [*theirs, "precision"] == list(ours)  # sb3-contrib's parameters, then baselines3's keyword-only one
    assert ours["precision"].kind is inspect.Parameter.KEYWORD_ONLY
    assert all(theirs[name].default == ours[name].default for name in theirs)

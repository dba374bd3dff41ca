"""Full learning checks on CartPole with the RL Zoo's tuned settings (minutes: run with `make test-all`)."""

import pytest

from baselines3 import A2C, PPO
from baselines3.__main__ import TUNED
from baselines3.common.env_util import make_vec_env
from baselines3.common.evaluation import evaluate_policy


@pytest.mark.slow
def test_ppo_solves_cartpole_with_the_main_jobs_settings():
    n_envs, n_timesteps, hyperparams = TUNED[("ppo", "CartPole-v1")]
    env = make_vec_env("CartPole-v1", n_envs=n_envs, seed=0)
    model = PPO("MlpPolicy", env, seed=0, **hyperparams).learn(n_timesteps)
    mean, _ = evaluate_policy(model, make_vec_env("CartPole-v1", n_envs=1, seed=100), n_eval_episodes=10)
    assert mean >= 475, f"PPO CartPole mean return {mean} < 475"


@pytest.mark.slow
def test_a2c_learns_cartpole():
    env = make_vec_env("CartPole-v1", n_envs=8, seed=1)
    model = A2C("MlpPolicy", env, ent_coef=0.0, seed=1).learn(500_000)  # the RL Zoo budget
    mean, _ = evaluate_policy(model, make_vec_env("CartPole-v1", n_envs=1, seed=101), n_eval_episodes=10)
    assert mean >= 400, f"A2C CartPole mean return {mean} < 400"

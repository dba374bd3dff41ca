"""Does the LSTM policy learn what needs memory? PPO on CartPole-v1 without the velocity observations.

    python -m benchmarks.recurrent_cartpole                 # LSTM and MLP policies, seeds 0-2
    python -m benchmarks.recurrent_cartpole --seeds 0 --timesteps 20000

RL Zoo's tuned CartPoleNoVel-v1 settings (VecNormalize, 8 envs, n_steps 32, batch 256, gae_lambda 0.8, gamma 0.98,
20 epochs, ent_coef 0, linear lr 1e-3 and clip 0.2, ReLU, no orthogonal init, net_arch pi/vf [64], LSTM width 64,
1e5 steps) for both policies; prints the mean deterministic return over 10 episodes for each seed.
Goal: the LSTM reaches >= 400 on at least 2 of 3 seeds, clearly above the MLP.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from torch import nn

from baselines3 import PPO
from baselines3.common.env_util import make_vec_env
from baselines3.common.evaluation import evaluate_policy
from baselines3.common.schedules import LinearSchedule
from baselines3.common.vec_env import VecNormalize
from benchmarks.envs import cartpole_no_velocity


def train_and_evaluate(policy: str, seed: int, timesteps: int) -> tuple[float, float]:
    """(mean deterministic return over 10 episodes, training seconds)."""
    env = VecNormalize(make_vec_env(cartpole_no_velocity, n_envs=8, seed=seed))
    policy_kwargs: dict = dict(ortho_init=False, activation_fn=nn.ReLU, net_arch=dict(pi=[64], vf=[64]))
    if policy == "MlpLstmPolicy":
        policy_kwargs.update(lstm_hidden_size=64, enable_critic_lstm=True)
    model = PPO(
        policy,
        env,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        ent_coef=0.0,
        learning_rate=LinearSchedule(1e-3, 0.0),
        clip_range=LinearSchedule(0.2, 0.0),
        policy_kwargs=policy_kwargs,
        seed=seed,
    )
    start = time.perf_counter()
    model.learn(timesteps)
    seconds = time.perf_counter() - start
    eval_env = VecNormalize(
        make_vec_env(cartpole_no_velocity, n_envs=1, seed=seed + 1000), training=False, norm_reward=False
    )
    eval_env.obs_rms = env.obs_rms
    mean, _ = evaluate_policy(model, eval_env, n_eval_episodes=10, deterministic=True)
    return float(mean), seconds  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--policies", nargs="+", default=["MlpLstmPolicy", "MlpPolicy"])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results: dict[str, list[float]] = {}
    for policy in args.policies:
        for seed in args.seeds:
            mean, seconds = train_and_evaluate(policy, seed, args.timesteps)
            results.setdefault(policy, []).append(mean)
            print(f"{policy:14s} seed {seed}: return {mean:6.1f}  ({seconds:.0f} s)", flush=True)
    print()
    for policy, returns in results.items():
        passing = sum(r >= 400 for r in returns)
        print(
            f"{policy:14s} mean {statistics.mean(returns):6.1f}  returns {' '.join(f'{r:.0f}' for r in returns)}  "
            f">= 400 on {passing} of {len(returns)} seeds"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

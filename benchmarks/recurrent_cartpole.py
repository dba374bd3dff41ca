"""Does the LSTM policy learn what needs memory? PPO on CartPole-v1 without the velocity observations.

    python -m benchmarks.recurrent_cartpole                 # LSTM and MLP policies, seeds 0-2
    python -m benchmarks.recurrent_cartpole --seeds 0 --timesteps 20000

The zoo's CartPoleNoVel-v1 entry, the RL Zoo's tuned settings (VecNormalize, 8 envs, n_steps 32, batch 256,
gae_lambda 0.8, gamma 0.98, 20 epochs, ent_coef 0, linear lr 1e-3 and clip 0.2, ReLU, no orthogonal init,
net_arch pi/vf [64], LSTM width 64, 1e5 steps) for both policies; prints the mean deterministic return over 10
episodes for each seed.
Goal: the LSTM reaches >= 400 on at least 2 of 3 seeds, clearly above the MLP.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from baselines3 import PPO
from baselines3.common.evaluation import evaluate_policy
from zoo.config import load_experiment
from zoo.envs import register_zoo_envs
from zoo.runs import build_env


def train_and_evaluate(policy: str, seed: int, timesteps: int) -> tuple[float, float]:
    """(mean deterministic return over 10 episodes, training seconds) with the zoo's CartPoleNoVel-v1 entry; the
    MLP policy gets the same settings without the LSTM keywords."""
    register_zoo_envs()
    experiment = load_experiment("ppo", "CartPoleNoVel-v1")
    kwargs = dict(experiment.algo_kwargs)
    if policy != "MlpLstmPolicy":
        kwargs["policy_kwargs"] = {k: v for k, v in kwargs["policy_kwargs"].items() if "lstm" not in k}
    env = build_env(experiment, experiment.n_envs, seed)
    model = PPO(policy, env, seed=seed, **kwargs)
    start = time.perf_counter()
    model.learn(timesteps)
    seconds = time.perf_counter() - start
    eval_env = build_env(experiment, 1, seed + 1000, training=False)
    eval_env.obs_rms = env.obs_rms  # type: ignore[attr-defined]
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

"""Run one zoo entry with Stable-Baselines3 instead of baselines3, evaluated as the benchmark runner does.

    python -m benchmarks.sb3_check --algo a2c --env LunarLander-v3 --seeds 0 1 2

For rows whose result is far from the published score: if SB3 with the same settings lands in the same place,
the gap is the settings or the variance, not a bug here. Needs `pip install stable-baselines3`. The zoo entry is
read with zoo.config (schedules, policy_kwargs, action noise) and handed to SB3's class of the same name; its
final model is evaluated deterministically for 10 episodes on an env seeded 10000 + seed. For long runs that
must survive a stop (checkpoints, resuming) and a table beside ours, use `python -m benchmarks.side_by_side`.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import Any

import numpy as np
import torch

from zoo.config import ALGOS, ConfigError, load_experiment


def run(algo: str, env_id: str, seed: int, episodes: int, n_timesteps: int = -1) -> tuple[float, float]:
    import stable_baselines3 as sb3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
    from stable_baselines3.common.vec_env import VecFrameStack, VecNormalize

    experiment = load_experiment(algo, env_id, use_default=False)
    if experiment.env_wrapper or experiment.vec_env_wrapper or experiment.callback:
        raise SystemExit(f"{algo} {env_id}: entries naming classes are not supported by this check")
    env = make_vec_env(env_id, n_envs=experiment.n_envs, seed=seed)
    if experiment.normalize:
        env = VecNormalize(env, **(experiment.normalize if isinstance(experiment.normalize, dict) else {}))
    if experiment.frame_stack:
        env = VecFrameStack(env, experiment.frame_stack)
    kwargs = dict(experiment.algo_kwargs)
    if "action_noise" in kwargs:
        kind, std = kwargs["action_noise"]
        shape: Any = env.action_space.shape
        n = int(np.prod(shape))
        noise_class = NormalActionNoise if kind == "normal" else OrnsteinUhlenbeckActionNoise
        kwargs["action_noise"] = noise_class(np.zeros(n), std * np.ones(n))
    model = getattr(sb3, algo.upper())(experiment.policy, env, seed=seed, **kwargs)
    model.learn(n_timesteps if n_timesteps > 0 else experiment.n_timesteps)
    eval_env = make_vec_env(env_id, n_envs=1, seed=10_000 + seed)
    if isinstance(env, VecNormalize):
        eval_env = VecNormalize(eval_env, training=False, norm_reward=False)
        eval_env.obs_rms = env.obs_rms
    if experiment.frame_stack:
        eval_env = VecFrameStack(eval_env, experiment.frame_stack)
    scores: Any = evaluate_policy(model, eval_env, n_eval_episodes=episodes, deterministic=True)
    return float(scores[0]), float(scores[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", required=True, choices=ALGOS)
    parser.add_argument("--env", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("-n", "--n-timesteps", type=int, default=-1, help="override the entry's budget")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("stable_baselines3") is None:
        print("error: this check trains with Stable-Baselines3: pip install stable-baselines3", file=sys.stderr)
        return 2
    try:
        load_experiment(args.algo, args.env, use_default=False)  # a bad entry fails before any training
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    for seed in args.seeds:
        mean, std = run(args.algo, args.env, seed, args.episodes, args.n_timesteps)
        print(f"SB3 {args.algo} {args.env} seed {seed}: {mean:.1f} +/- {std:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

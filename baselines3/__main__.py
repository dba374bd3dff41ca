"""`python -m baselines3`: train an agent with built-in tuned settings, evaluate it and save it.

    python -m baselines3 --algo ppo --env CartPole-v1

The tuned settings are the published RL Zoo values for these pairs; `python -m zoo.train` covers every env.
While it trains it shows a progress bar (on a terminal, with tqdm installed) or a line every few seconds with the
steps done, steps/s and the mean return of recent episodes; at the end it prints where the model was saved.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
from typing import Any

import torch

from baselines3 import A2C, PPO
from baselines3.common.env_util import make_vec_env
from baselines3.common.evaluation import evaluate_policy
from baselines3.common.progress import training_progress
from baselines3.common.schedules import LinearSchedule
from baselines3.common.serialization.paths import with_zip_suffix

ALGOS: dict[str, Any] = {"ppo": PPO, "a2c": A2C}

# (algo, env) -> (n_envs, n_timesteps, hyperparameters)
TUNED: dict[tuple[str, str], tuple[int, int, dict[str, Any]]] = {
    ("ppo", "CartPole-v1"): (
        8,
        100_000,
        dict(
            n_steps=32,
            batch_size=256,
            gae_lambda=0.8,
            gamma=0.98,
            n_epochs=20,
            ent_coef=0.0,
            learning_rate=LinearSchedule(1e-3, 0.0),
            clip_range=LinearSchedule(0.2, 0.0),
        ),
    ),
    ("a2c", "CartPole-v1"): (8, 500_000, dict(ent_coef=0.0)),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baselines3", description=__doc__.splitlines()[0])
    parser.add_argument("--algo", default="ppo", choices=sorted(ALGOS))
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("-n", "--n-timesteps", type=int, default=None, help="override the tuned budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help="where to save the model (default: <algo>_<env>.zip)")
    parser.add_argument(
        "--progress",
        choices=["auto", "bar", "lines", "none"],
        default="auto",
        help="progress while training: a bar on a terminal with tqdm installed, else lines (auto); or as named",
    )
    parser.add_argument("--verbose", type=int, default=0, help="1: also print the algorithm's log tables")
    args = parser.parse_args(argv)
    if args.n_timesteps is not None and args.n_timesteps < 1:
        parser.error(f"-n/--n-timesteps must be at least 1, got {args.n_timesteps}")

    key = (args.algo, args.env)
    if key not in TUNED:
        known = ", ".join(f"{a} {e}" for a, e in TUNED)
        parser.error(f"no built-in settings for --algo {args.algo} --env {args.env}; built in: {known}")
    n_envs, n_timesteps, hyperparams = TUNED[key]
    n_timesteps = args.n_timesteps or n_timesteps

    env = make_vec_env(args.env, n_envs=n_envs, seed=args.seed)
    model = ALGOS[args.algo]("MlpPolicy", env, seed=args.seed, verbose=args.verbose, **hyperparams)
    print(f"Training {args.algo.upper()} on {args.env} for {n_timesteps} steps ({n_envs} envs)...")
    bar = {"auto": None, "bar": True, "lines": False}.get(args.progress)
    progress = None if args.progress == "none" else training_progress(bar=bar)
    start = time.perf_counter()
    model.learn(total_timesteps=n_timesteps, callback=progress)
    elapsed = time.perf_counter() - start
    threads = torch.get_num_threads()
    print(
        f"Trained in {elapsed:.1f} s ({model.num_timesteps / elapsed:.0f} steps/s, {threads} torch "
        f"thread{'s' if threads > 1 else ''})"
    )

    eval_env = make_vec_env(args.env, n_envs=1, seed=args.seed + 1000)
    mean_reward, std_reward = evaluate_policy(model, eval_env, n_eval_episodes=10, deterministic=True)
    print(f"Deterministic evaluation over 10 episodes: mean return {mean_reward:.1f} +/- {std_reward:.1f}")
    path = with_zip_suffix(pathlib.Path(args.save or f"{args.algo}_{args.env}.zip"))
    model.save(path)
    print(f"Saved the model to {path.resolve()}")
    print(f"Load it with: {ALGOS[args.algo].__name__}.load({str(path)!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

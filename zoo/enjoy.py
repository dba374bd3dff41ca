"""Watch (or just run) a trained agent from a zoo run folder and print each episode's return and length.

python -m zoo.enjoy --algo ppo --env CartPole-v1                 # the latest run, final model
python -m zoo.enjoy --algo ppo --env CartPole-v1 --exp-id 2 --load-best -n 2000 --no-render
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import numpy as np
import torch

from baselines3.common.utils import set_random_seed
from zoo.command import parse_overrides
from zoo.config import ConfigError, algorithm_class
from zoo.envs import register_zoo_envs
from zoo.runs import (
    add_run_arguments,
    check_run_arguments,
    chosen_model,
    import_gym_packages,
    program_name,
    replay_env,
)

#: What `--custom-objects` replaces when loading, as the RL Zoo does: models saved with settings that cannot be
#: restored here (e.g. a schedule written as Python code) still load for playing, which needs none of them.
PLAYING_CUSTOM_OBJECTS: dict[str, Any] = {
    "learning_rate": 0.0,
    "lr_schedule": lambda _: 0.0,
    "clip_range": lambda _: 0.0,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=program_name("zoo.enjoy"), description="Run a trained agent, print its episodes"
    )
    add_run_arguments(parser)
    parser.add_argument("-n", "--n-timesteps", type=int, default=1000, help="steps to run (per env)")
    parser.add_argument(
        "--stochastic", action="store_true", help="sample actions (default: deterministic, Atari: stochastic)"
    )
    parser.add_argument("--deterministic", action="store_true", help="deterministic actions, also for Atari")
    parser.add_argument("--norm-reward", action="store_true", help="report normalized rewards (VecNormalize runs)")
    parser.add_argument("--reward-log", default="", help="folder for the Monitor's episode CSV (none by default)")
    parser.add_argument(
        "--custom-objects",
        action="store_true",
        help="load with learning_rate, lr_schedule and clip_range replaced (for files whose schedules do not load)",
    )
    parser.add_argument("-P", "--progress", action="store_true", help="show a progress bar (needs tqdm)")
    parser.add_argument("--no-render", action="store_true", help="do not open a window")
    parser.add_argument("--seed", type=int, default=0, help="seed of the envs and of the actions sampled")
    args = parser.parse_args(argv)
    if args.n_timesteps < 1:
        parser.error(f"-n must be at least 1, got {args.n_timesteps}")
    if args.stochastic and args.deterministic:
        parser.error("--stochastic and --deterministic exclude each other")
    check_run_arguments(parser, args)
    return args


def _is_atari(env_id: str) -> bool:
    return "NoFrameskip" in env_id or env_id.startswith("ALE/")


def enjoy(args: argparse.Namespace) -> list[tuple[float, int]]:
    register_zoo_envs()
    import_gym_packages(args.gym_packages)
    if args.num_threads > 0:
        torch.set_num_threads(args.num_threads)
    set_random_seed(args.seed)
    run, path = chosen_model(args)
    if args.verbose > 0:
        print(f"Loading {path}")
    if args.reward_log:
        os.makedirs(args.reward_log, exist_ok=True)
    env = replay_env(
        run,
        path,
        args.algo,
        args.env,
        args.seed,
        None if args.no_render else "human",
        n_envs=args.n_envs,
        env_kwargs=parse_overrides(args.env_kwargs, "--env-kwargs"),
        norm_reward=args.norm_reward,
        monitor_dir=args.reward_log or None,
    )
    custom_objects = PLAYING_CUSTOM_OBJECTS if args.custom_objects else None
    model = algorithm_class(args.algo).load(path, env=env, device=args.device, custom_objects=custom_objects)
    # as the RL Zoo: Atari agents play stochastically unless asked otherwise (a deterministic one can get stuck)
    deterministic = not (args.stochastic or (_is_atari(args.env) and not args.deterministic))
    obs = env.reset()
    state, starts = None, np.ones((env.num_envs,), dtype=bool)
    episodes: list[tuple[float, int]] = []
    returns, lengths = np.zeros(env.num_envs), np.zeros(env.num_envs, dtype=int)
    steps: Any = range(args.n_timesteps)
    if args.progress:
        from tqdm import tqdm  # optional: the progress bar only

        steps = tqdm(steps)
    for _ in steps:
        action, state = model.predict(obs, state=state, episode_start=starts, deterministic=deterministic)  # type: ignore[arg-type]
        obs, rewards, dones, infos = env.step(action)
        starts = dones
        returns += rewards
        lengths += 1
        for index in np.flatnonzero(dones):
            info = infos[index].get("episode")
            # the Monitor's figures are the true ones (before any normalization), unless asked for normalized ones
            if info is not None and not args.norm_reward:
                episode = float(info["r"]), int(info["l"])
            else:
                episode = float(returns[index]), int(lengths[index])
            episodes.append(episode)
            if args.verbose > 0:
                print(f"Episode return {episode[0]:.2f}, length {episode[1]}", flush=True)
            returns[index], lengths[index] = 0.0, 0
    env.close()
    return episodes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        episodes = enjoy(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if episodes:
        returns = [r for r, _ in episodes]
        print(f"{len(episodes)} episodes: mean return {np.mean(returns):.2f} +/- {np.std(returns):.2f}")
    else:
        print(f"No episode ended within {args.n_timesteps} steps (raise -n)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

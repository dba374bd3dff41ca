"""Watch (or just run) a trained agent from a zoo run folder and print each episode's return and length.

python -m zoo.enjoy --algo ppo --env CartPole-v1                 # the latest run, final model
python -m zoo.enjoy --algo ppo --env CartPole-v1 --exp-id 2 --load-best -n 2000 --no-render
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from baselines3.common.sb3_import import is_sb3_archive
from zoo.config import ConfigError, algorithm_class
from zoo.envs import register_zoo_envs
from zoo.runs import add_run_arguments, chosen_model, import_gym_packages, replay_env


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run a trained agent and print its episodes")
    add_run_arguments(parser)
    parser.add_argument("-n", "--n-timesteps", type=int, default=1000)
    parser.add_argument("--stochastic", action="store_true", help="sample actions (default: deterministic)")
    parser.add_argument("--deterministic", action="store_true", help="deterministic actions (the default)")
    parser.add_argument("--no-render", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.n_timesteps < 1:
        parser.error(f"-n must be at least 1, got {args.n_timesteps}")
    return args


def enjoy(args: argparse.Namespace) -> list[tuple[float, int]]:
    register_zoo_envs()
    import_gym_packages(args.gym_packages)
    run, path = chosen_model(args)
    env = replay_env(run, path, args.algo, args.env, args.seed, None if args.no_render else "human")
    if is_sb3_archive(path):
        # an RL Zoo model: SB3 keeps the raw observation space under VecNormalize, ours the clipped one, so the
        # model is loaded on its own (predict only needs the observations)
        model = algorithm_class(args.algo).load(path)
    else:
        model = algorithm_class(args.algo).load(path, env=env)
    obs = env.reset()
    state, starts = None, np.ones((1,), dtype=bool)
    episodes: list[tuple[float, int]] = []
    episode_return, episode_length = 0.0, 0
    for _ in range(args.n_timesteps):
        action, state = model.predict(
            obs,  # type: ignore[arg-type]
            state=state,
            episode_start=starts,
            deterministic=not args.stochastic,
        )
        obs, rewards, dones, infos = env.step(action)
        starts = dones
        episode_return += float(rewards[0])
        episode_length += 1
        if dones[0]:
            info = infos[0].get("episode")  # the Monitor's figures are the true ones (before any normalization)
            if info is not None:
                episode_return, episode_length = float(info["r"]), int(info["l"])
            episodes.append((episode_return, episode_length))
            print(f"Episode return {episode_return:.2f}, length {episode_length}", flush=True)
            episode_return, episode_length = 0.0, 0
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

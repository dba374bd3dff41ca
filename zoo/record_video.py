"""Record a video of a trained agent from a zoo run folder (mp4, or GIF when no video encoder is installed).

python -m zoo.record_video --algo ppo --env CartPole-v1                  # latest run -> <run>/videos/
python -m zoo.record_video --algo ppo --env CartPole-v1 --load-best -n 500 -o my_videos
"""

from __future__ import annotations

import argparse
import sys

import torch

from baselines3.common.vec_env import VecVideoRecorder
from zoo.command import parse_overrides
from zoo.config import ConfigError, algorithm_class
from zoo.enjoy import PLAYING_CUSTOM_OBJECTS
from zoo.envs import register_zoo_envs
from zoo.runs import (
    add_run_arguments,
    check_run_arguments,
    chosen_model,
    env_folder_name,
    import_gym_packages,
    program_name,
    replay_env,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=program_name("zoo.record_video"), description="Record a video of a trained agent"
    )
    add_run_arguments(parser)
    parser.add_argument("-n", "--n-timesteps", type=int, default=1000, help="video length in steps")
    parser.add_argument("-o", "--output-folder", default=None, help="default: <run folder>/videos")
    parser.add_argument("--stochastic", action="store_true", help="sample actions (default: deterministic)")
    parser.add_argument("--deterministic", action="store_true", help="deterministic actions (the default)")
    parser.add_argument(
        "--custom-objects", action="store_true", help="load with learning_rate, lr_schedule and clip_range replaced"
    )
    parser.add_argument("--no-render", action="store_true", help="accepted for the RL Zoo's command lines: no window")
    parser.add_argument("--seed", type=int, default=0, help="seed of the envs")
    args = parser.parse_args(argv)
    if args.n_timesteps < 1:
        parser.error(f"-n must be at least 1, got {args.n_timesteps}")
    if args.stochastic and args.deterministic:
        parser.error("--stochastic and --deterministic exclude each other")
    check_run_arguments(parser, args)
    return args


def record(args: argparse.Namespace) -> str:
    register_zoo_envs()
    import_gym_packages(args.gym_packages)
    if args.num_threads > 0:
        torch.set_num_threads(args.num_threads)
    run, path = chosen_model(args)
    env_kwargs = parse_overrides(args.env_kwargs, "--env-kwargs")
    env = replay_env(run, path, args.algo, args.env, args.seed, "rgb_array", n_envs=args.n_envs, env_kwargs=env_kwargs)
    custom_objects = PLAYING_CUSTOM_OBJECTS if args.custom_objects else None
    model = algorithm_class(args.algo).load(path, device=args.device, custom_objects=custom_objects)
    folder = args.output_folder or str(run / "videos")
    name = f"{args.algo}-{env_folder_name(args.env)}"
    recorder = VecVideoRecorder(env, folder, lambda step: step == 0, video_length=args.n_timesteps, name_prefix=name)
    obs = recorder.reset()
    state, starts = None, None
    for _ in range(args.n_timesteps):
        action, state = model.predict(obs, state=state, episode_start=starts, deterministic=not args.stochastic)  # type: ignore[arg-type]
        obs, _, starts, _ = recorder.step(action)
    recorder.close()
    if not recorder.video_paths:
        raise ConfigError("No video was written")
    return recorder.video_paths[-1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        path = record(args)
    except (ConfigError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Saved the video to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

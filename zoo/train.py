"""Train an agent with the zoo's tuned hyperparameters.

    python -m zoo.train --algo dqn --env CartPole-v1
    python -m zoo.train --algo ppo --env CartPole-v1 -n 20000 -params n_epochs:5 learning_rate:0.0003

A run goes to `<log-folder>/<algo>/<env>_<N>/`: the final model `<env>.zip`, `best_model.zip` and
`evaluations.npz` (with --eval-freq), checkpoints (with --save-freq), monitor CSVs, `<env>/config.yml` (the
resolved hyperparameters), `<env>/args.yml` (the command line) and `<env>/vecnormalize.pkl` when observations are
normalized (JSON content; SB3's file name).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import sys
from typing import Any

import torch
import yaml

from baselines3.common.base_class import BaseAlgorithm
from baselines3.common.callbacks import CheckpointCallback, EvalCallback
from baselines3.common.fast import compiled
from baselines3.common.progress import training_progress
from baselines3.common.utils import get_device
from baselines3.common.vec_env import VecEnv, VecNormalize
from zoo.command import Command, action_noise, check_numbers, parse_overrides, resolve_command
from zoo.config import ALGOS, DEFAULT_ENTRY, ConfigError, algorithm_class
from zoo.runs import add_gym_packages_argument, build_env, env_folder_name, new_run_folder, program_name, saved_with
from zoo.tracking import add_tracking_arguments, check_tracking_args, start_tracking
from zoo.tune import add_tuning_arguments, optimize, trial_hyperparams

# Re-exported: the command-line helpers moved to zoo.command, and callers (zoo.record_video) import them from here.
__all__ = ["action_noise", "check_numbers", "load_trained_agent", "main", "parse_args", "parse_overrides", "train"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=program_name("zoo.train"), description="Train an agent with the zoo's tuned hyperparameters"
    )
    parser.add_argument("--algo", required=True, choices=ALGOS)
    parser.add_argument("--env", required=True, help="gymnasium env id")
    parser.add_argument("-n", "--n-timesteps", type=int, default=-1, help="override the entry's n_timesteps")
    parser.add_argument("-f", "--log-folder", default="logs")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--eval-freq", type=int, default=25_000, help="evaluate every N steps (-1: never)")
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--n-eval-envs", type=int, default=1)
    parser.add_argument("--save-freq", type=int, default=-1, help="checkpoint every N steps (-1: never)")
    parser.add_argument("--log-interval", type=int, default=-1, help="log every N rollouts/episodes (-1: default)")
    parser.add_argument("-i", "--trained-agent", default="", help="continue training this .zip")
    parser.add_argument(
        "--truncate-last-trajectory",
        type=lambda text: {"true": True, "false": False}[text.lower()],
        default=True,
        metavar="true|false",
        help="with -i and a saved replay buffer: end its unfinished last episode (default true), as training "
        "goes on from an env reset",
    )
    parser.add_argument("-params", "--hyperparams", nargs="+", default=[], metavar="KEY:VALUE")
    parser.add_argument("-conf", "--conf-file", default=None, help="a YAML file to read instead of the zoo's")
    parser.add_argument("--vec-env", choices=["dummy", "subproc"], default="dummy")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--num-threads", type=int, default=-1, help="torch threads (-1: torch's default)")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="run SAC's, TD3's and DDPG's gradient step as one compiled program in every run (as BASELINES3_COMPILE=1; "
        "by default only runs of 100k steps or more compile it; the first update compiles, 5-70 s, and needs a C++ "
        "compiler); with -params precision:bf16 also in bfloat16",
    )
    parser.add_argument(
        "-tb", "--tensorboard-log", default=None, help="TensorBoard folder; runs go to <folder>/<env>/<ALGO>_<N>"
    )
    parser.add_argument(
        "-P",
        "--progress",
        action="store_true",
        help="show progress: a bar on a terminal (with tqdm), else a line every few seconds with steps and steps/s",
    )
    parser.add_argument("--save-replay-buffer", action="store_true")
    parser.add_argument("--env-kwargs", nargs="+", default=[], metavar="KEY:VALUE", help="keywords for gym.make")
    parser.add_argument(
        "--eval-env-kwargs", nargs="+", default=None, metavar="KEY:VALUE", help="for evaluation (default: --env-kwargs)"
    )
    add_gym_packages_argument(parser)
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("-uuid", "--uuid", action="store_true", help="add a unique suffix to the run folder")
    add_tuning_arguments(parser)
    add_tracking_arguments(parser)
    return parser.parse_args(argv)


def train(args: argparse.Namespace) -> pathlib.Path:
    command = resolve_command(args, trial_hyperparams(args) if args.trial_id is not None else None)
    args.env_kwargs, args.eval_env_kwargs = command.env_kwargs, command.eval_env_kwargs  # resolved, for args.yml
    if args.trained_agent and not os.path.isfile(args.trained_agent):
        raise ConfigError(f"--trained-agent {args.trained_agent!r} does not exist")
    algo_class = algorithm_class(args.algo)
    folder = new_run_folder(args.log_folder, args.algo, args.env, args.uuid)
    try:
        folder.mkdir(parents=True)
    except OSError as error:
        raise ConfigError(f"cannot create the run folder {folder} (-f {args.log_folder}): {error}") from None
    run = None
    try:
        run = start_tracking(args, folder) if args.track else None
        result = _train_in(folder, args, command, algo_class)
    except BaseException:
        if run is not None:
            run.finish(exit_code=1)
        shutil.rmtree(folder, ignore_errors=True)  # no half-made run folder
        raise
    if run is not None:
        run.finish()
    return result


def _train_in(
    folder: pathlib.Path, args: argparse.Namespace, command: Command, algo_class: type[BaseAlgorithm]
) -> pathlib.Path:
    experiment = command.experiment
    name = env_folder_name(args.env)
    if args.verbose > 0:  # what this run will use, before anything slow happens
        if experiment.entry == DEFAULT_ENTRY:
            source = pathlib.Path(args.conf_file).name if args.conf_file else f"{args.algo}.yml"
            print(f"Using the 'default' entry of {source}: it has no entry for {args.env} (untuned settings)")
        print(f"Hyperparameters for {args.env} ({args.algo}):")
        print(yaml.safe_dump(experiment.raw, sort_keys=True, default_flow_style=False).rstrip())
        print(f"Log path: {folder}")
    stats = saved_with(pathlib.Path(args.trained_agent), args.env).normalize_stats if args.trained_agent else None
    env = build_env(
        experiment,
        experiment.n_envs,
        args.seed,
        monitor_dir=str(folder),
        vec_env=args.vec_env,
        env_kwargs=args.env_kwargs,
        normalize_stats=stats if stats is not None and stats.exists() else None,
        gym_packages=args.gym_packages,
    )
    kwargs = dict(experiment.algo_kwargs)
    if "action_noise" in kwargs:
        kwargs["action_noise"] = action_noise(kwargs["action_noise"], env)
    # TensorBoard runs go to <tb>/<env>/<ALGO>_<N>, as in the RL Zoo, so runs of several envs stay apart
    tensorboard_log = os.path.join(args.tensorboard_log, args.env) if args.tensorboard_log else None
    settings = dict(seed=args.seed, device=args.device, verbose=args.verbose, tensorboard_log=tensorboard_log)
    if args.trained_agent:
        model = load_trained_agent(
            algo_class, args.trained_agent, command, env, {**kwargs, **settings}, args.truncate_last_trajectory
        )
    else:
        model = algo_class(experiment.policy, env, **settings, **kwargs)
    params_dir = folder / name
    params_dir.mkdir()
    with open(params_dir / "config.yml", "w") as handle:
        yaml.safe_dump({"env_id": args.env, **experiment.raw}, handle, sort_keys=True)
    with open(params_dir / "args.yml", "w") as handle:
        yaml.safe_dump({"argv": sys.argv, **vars(args)}, handle, sort_keys=True)

    callbacks: list[Any] = [spec() for spec in experiment.callback]
    if args.progress:  # a bar on a terminal; plain lines in a log file or CI, where a bar's redraws are noise
        callbacks.append(training_progress())
    if args.save_freq > 0:
        save_freq = max(args.save_freq // experiment.n_envs, 1)
        callbacks.append(
            CheckpointCallback(
                save_freq,
                str(folder),
                name_prefix="rl_model",
                save_replay_buffer=args.save_replay_buffer,
                save_vecnormalize=True,
            )
        )
    if args.eval_freq > 0:
        eval_seed = None if args.seed is None else args.seed + 1000
        eval_env = build_env(
            experiment,
            args.n_eval_envs,
            eval_seed,
            env_kwargs=args.eval_env_kwargs,
            training=False,
            gym_packages=args.gym_packages,
        )
        callbacks.append(
            EvalCallback(
                eval_env,
                eval_freq=max(args.eval_freq // experiment.n_envs, 1),
                n_eval_episodes=args.eval_episodes,
                best_model_save_path=str(folder),
                log_path=str(folder),
                verbose=args.verbose,
            )
        )
    n_timesteps = args.n_timesteps if args.n_timesteps > 0 else experiment.n_timesteps
    learn_kwargs = {"log_interval": args.log_interval} if args.log_interval > 0 else {}
    model.learn(  # type: ignore[attr-defined]
        n_timesteps,
        callback=callbacks,
        reset_num_timesteps=not args.trained_agent,
        **learn_kwargs,
    )
    model.save(folder / f"{name}.zip")
    if args.save_replay_buffer and hasattr(model, "replay_buffer"):
        model.save_replay_buffer(folder / "replay_buffer.npz")
    if isinstance(env, VecNormalize):
        env.save(str(params_dir / "vecnormalize.pkl"))
    return folder


def load_trained_agent(
    algo_class: type[BaseAlgorithm],
    path: str,
    command: Command,
    env: VecEnv,
    hyperparams: dict[str, Any],
    truncate_last_trajectory: bool = True,
) -> BaseAlgorithm:
    """The `-i` model, continuing with this command's hyperparameters (the entry with -conf and -params), seed
    and logging settings, as the RL Zoo does, and with the `replay_buffer.npz` saved next to it. The network is
    the saved one: the entry's policy_kwargs are not applied, and -params policy_kwargs must match it."""
    hyperparams = dict(hyperparams)
    if "policy_kwargs" not in command.overrides:
        hyperparams.pop("policy_kwargs", None)
    try:
        model = algo_class.load(path, env=env, **hyperparams)
    except ValueError as error:  # e.g. -params policy_kwargs that differ from the saved network's
        raise ConfigError(f"-i {path}: {error}") from None
    buffer = saved_with(pathlib.Path(path), command.experiment.env_id).replay_buffer
    if buffer.exists() and hasattr(model, "replay_buffer"):
        model.load_replay_buffer(buffer, truncate_last_traj=truncate_last_trajectory)  # type: ignore[attr-defined]
    return model


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_numbers(args)
        try:
            get_device(args.device)  # checks the name; a missing CUDA is warned about once, here or by the model
        except ValueError as error:
            raise ConfigError(f"--device: {error}") from None
        if args.num_threads > 0:
            torch.set_num_threads(args.num_threads)
        if args.compile:
            compiled.set_compiled_updates(True)
        check_tracking_args(args)
        if not args.optimize:
            tuning_only = [
                ("--optimization-log-path", args.optimization_log_path),
                ("--no-optim-plots", args.no_optim_plots),
            ]
            for flag, value in tuning_only:
                if value:
                    raise ConfigError(f"{flag} is a flag of tuning: add -optimize, or leave it out")
        if args.optimize:
            return optimize(args)  # imports Optuna (only tuning needs it)
        folder = train(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    name = env_folder_name(args.env)
    print(f"Saved the model to {folder / f'{name}.zip'} (hyperparameters: {folder / name / 'config.yml'})")
    print(f"Saved the run to {folder}")  # the last line: benchmarks.run reads the run folder from it
    return 0


if __name__ == "__main__":
    sys.exit(main())

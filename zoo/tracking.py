"""`zoo.train --track`: follow a training run in Weights & Biases (the `wandb` package, optional).

    pip install wandb
    python -m zoo.train --algo ppo --env CartPole-v1 --track --wandb-project-name cartpole -tags baseline

The run is named `<env>__<algo>__<seed>__<unix time>` (the RL Zoo's form) and holds the command's arguments as
its config; the TensorBoard logs that training writes (to `-tb`, by default `<run folder>/tb`) are mirrored into
it as they are written, and W&B's own files go to `<run folder>/wandb`. Without a network, `WANDB_MODE=offline`
keeps everything on disk for a later `wandb sync`.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
from typing import Any

import baselines3
from zoo.config import ConfigError

__all__ = ["add_tracking_arguments", "check_tracking_args", "start_tracking"]


def add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    """The RL Zoo's Weights & Biases flags of `zoo.train`."""
    group = parser.add_argument_group("tracking (Weights & Biases, needs `pip install wandb`)")
    group.add_argument("--track", action="store_true", help="follow this run in Weights & Biases")
    group.add_argument("--wandb-project-name", default="baselines3", help="the W&B project (default baselines3)")
    group.add_argument("--wandb-entity", default=None, help="the W&B team or user (default: your default entity)")
    group.add_argument("--wandb-group", default=None, help="a W&B group to put the run in")
    group.add_argument("-tags", "--wandb-tags", nargs="+", default=[], metavar="TAG", help="tags of the W&B run")


def check_tracking_args(args: argparse.Namespace) -> None:
    """W&B flags without --track, or --track with -optimize, are errors (they would do nothing)."""
    given = [
        flag
        for flag, value in [
            ("--wandb-project-name", args.wandb_project_name != "baselines3"),
            ("--wandb-entity", args.wandb_entity is not None),
            ("--wandb-group", args.wandb_group is not None),
            ("-tags", bool(args.wandb_tags)),
        ]
        if value
    ]
    if given and not args.track:
        raise ConfigError(f"{', '.join(given)} set the W&B run of --track, which is not given")
    if args.track and args.optimize:
        raise ConfigError(
            "--track follows one training run; to follow a study, give -optimize a --storage and open it with "
            "optuna-dashboard (see docs/tuning.md)"
        )


def start_tracking(args: argparse.Namespace, folder: pathlib.Path) -> Any:
    """Start the W&B run of `--track` for the run folder `folder` (sets `args.tensorboard_log` to
    `<folder>/tb` when it is not given, as TensorBoard is what W&B mirrors). Returns the run, whose `finish()`
    ends it."""
    try:
        import wandb
    except ImportError:
        raise ConfigError(
            "--track needs Weights & Biases: pip install wandb (or pip install 'baselines3[track]')"
        ) from None
    if args.tensorboard_log is None:
        args.tensorboard_log = str(folder / "tb")
    name = f"{args.env}__{args.algo}__{args.seed}__{int(time.time())}"
    config = {"argv": " ".join(sys.argv), **vars(args)}
    try:
        return wandb.init(
            name=name,
            project=args.wandb_project_name,
            entity=args.wandb_entity,
            group=args.wandb_group,
            tags=[*args.wandb_tags, f"baselines3-{baselines3.__version__}"],
            config=config,
            dir=str(folder),
            sync_tensorboard=True,
        )
    except wandb.errors.Error as error:  # e.g. not logged in, or no network without WANDB_MODE=offline
        raise ConfigError(f"--track: Weights & Biases could not start the run: {error}") from None

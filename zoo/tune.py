"""Hyperparameter tuning for `python -m zoo.train ... -optimize` with Optuna."""

from __future__ import annotations

import argparse


def add_tuning_arguments(parser: argparse.ArgumentParser) -> None:
    """The `-optimize` flags of `zoo.train` (the RL Zoo's names)."""
    group = parser.add_argument_group("tuning (Optuna)")
    group.add_argument("-optimize", "--optimize-hyperparameters", action="store_true", dest="optimize")
    group.add_argument("--n-trials", type=int, default=500)
    group.add_argument("--n-jobs", type=int, default=1, help="trials run in parallel threads of this process")
    group.add_argument("--sampler", choices=["tpe", "random", "cmaes"], default="tpe")
    group.add_argument("--pruner", choices=["median", "halving", "none"], default="median")
    group.add_argument("--n-startup-trials", type=int, default=10)
    group.add_argument("--n-evaluations", type=int, default=None, help="evaluations per trial (pruning points)")
    group.add_argument("--storage", default=None, help="sqlite:///f.db, a .log journal file or a DB URL")
    group.add_argument("--study-name", default=None)

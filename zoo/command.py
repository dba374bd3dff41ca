"""What a `zoo.train` command line resolves to, checked before anything is built.

Both `zoo.train` and `zoo.tune` (the `-optimize` mode of the same command) use it, which is why it is a module of
its own: `zoo.train` imports `zoo.tune`, and neither needs to import the other back.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

from baselines3.common.env_util import check_env_id
from baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from baselines3.common.vec_env import VecEnv
from zoo.config import ConfigError, Experiment, load_experiment
from zoo.envs import register_zoo_envs
from zoo.runs import import_gym_packages

__all__ = ["Command", "action_noise", "check_numbers", "parse_overrides", "resolve_command"]


def parse_overrides(items: list[str], flag: str = "-params") -> dict[str, Any]:
    """`key:value` items; values are read as YAML scalars/lists (`0.001`, `true`, `[64, 64]`, `lin_0.001`)."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ConfigError(f"{flag} items must look like key:value, got {item!r}")
        try:
            overrides[key] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            raise ConfigError(f"{flag} {item!r}: cannot read the value: {error}") from None
    return overrides


def action_noise(spec: tuple[str, float], env: VecEnv) -> Any:
    kind, std = spec
    n_actions = int(np.prod(env.action_space.shape))  # type: ignore[arg-type]
    mean, sigma = np.zeros(n_actions), std * np.ones(n_actions)
    return NormalActionNoise(mean, sigma) if kind == "normal" else OrnsteinUhlenbeckActionNoise(mean, sigma)


@dataclass
class Command:
    """What a zoo.train command line resolves to."""

    experiment: Experiment  # the entry, with -conf and -params applied
    overrides: dict[str, Any]  # -params alone
    env_kwargs: dict[str, Any]  # --env-kwargs
    eval_env_kwargs: dict[str, Any]  # --eval-env-kwargs, else --env-kwargs


def resolve_command(args: argparse.Namespace, base_overrides: dict[str, Any] | None = None) -> Command:
    """The experiment the command line asks for and its env keywords, checked by making the env once (before a
    run folder exists, so a missing extra or a keyword the env does not take leaves nothing behind).
    `base_overrides` (e.g. a tuning trial's values) apply under the command line's `-params`."""
    register_zoo_envs()
    import_gym_packages(args.gym_packages)
    try:
        check_env_id(args.env)
    except (gym.error.Error, ImportError) as error:
        raise ConfigError(f"Unknown env id {args.env!r}: {error}") from None
    overrides = {**(base_overrides or {}), **parse_overrides(args.hyperparams)}
    experiment = load_experiment(args.algo, args.env, args.conf_file, overrides)
    env_kwargs = _checked_env_kwargs(args.env, args.env_kwargs, "--env-kwargs")
    eval_env_kwargs = env_kwargs
    if args.eval_env_kwargs is not None:
        eval_env_kwargs = _checked_env_kwargs(args.env, args.eval_env_kwargs, "--eval-env-kwargs")
    return Command(experiment, overrides, env_kwargs, eval_env_kwargs)


def _checked_env_kwargs(env_id: str, items: list[str], flag: str) -> dict[str, Any]:
    env_kwargs = parse_overrides(items or [], flag)
    try:
        gym.make(env_id, **env_kwargs).close()
    except gym.error.DependencyNotInstalled as error:
        raise ConfigError(f"{env_id} needs a package that is not installed: {error}") from None
    except TypeError as error:
        raise ConfigError(f"{flag} {env_kwargs} rejected by {env_id}: {error}") from None
    return env_kwargs


def check_numbers(args: argparse.Namespace) -> None:
    """Reject counts that mean nothing (0, negative) before anything is built; -1 keeps its documented meaning."""
    for flag, value in [("-n", args.n_timesteps), ("--eval-freq", args.eval_freq), ("--save-freq", args.save_freq)]:
        if value < 1 and value != -1:
            raise ConfigError(f"{flag} must be at least 1 (or -1), got {value}")
    for flag, value in [("--log-interval", args.log_interval), ("--num-threads", args.num_threads)]:
        if value < 1 and value != -1:
            raise ConfigError(f"{flag} must be at least 1 (-1: the default), got {value}")
    for flag, value in [("--eval-episodes", args.eval_episodes), ("--n-eval-envs", args.n_eval_envs)]:
        if value < 1:
            raise ConfigError(f"{flag} must be at least 1, got {value}")
    if args.seed is not None and args.seed < 0:
        raise ConfigError(f"--seed must be 0 or more, got {args.seed}")

"""Run folders `<log folder>/<algo>/<env>_<N>`: numbering, lookup, the saved model and the env to replay it in."""

from __future__ import annotations

import pathlib

from baselines3.common.env_util import make_vec_env
from baselines3.common.vec_env import VecEnv, VecFrameStack, VecNormalize
from zoo.config import ConfigError, Experiment


def env_folder_name(env_id: str) -> str:
    return env_id.replace("/", "-")


def run_numbers(base: pathlib.Path, env_id: str) -> list[tuple[int, pathlib.Path]]:
    """(N, folder) of the runs `<env>_<N>` under `base`, by N."""
    name = env_folder_name(env_id)
    found = []
    for path in base.glob(f"{name}_*"):
        suffix = path.name[len(name) + 1 :]
        if suffix.isdigit():
            found.append((int(suffix), path))
    return sorted(found)


def find_run(folder: str, algo: str, env_id: str, exp_id: int) -> pathlib.Path:
    """Run `exp_id` of `algo` on `env_id`, or the latest one when `exp_id` <= 0."""
    base = pathlib.Path(folder) / algo
    if exp_id <= 0:
        runs = run_numbers(base, env_id)
        if not runs:
            raise ConfigError(f"No run of {algo} on {env_id} in {base}")
        return runs[-1][1]
    run = base / f"{env_folder_name(env_id)}_{exp_id}"
    if not run.is_dir():
        raise ConfigError(f"No run folder {run}")
    return run


def model_path(run: pathlib.Path, env_id: str, load_best: bool, checkpoint: int | None) -> pathlib.Path:
    if checkpoint is not None:
        path = run / f"rl_model_{checkpoint}_steps.zip"
    elif load_best:
        path = run / "best_model.zip"
    else:
        path = run / f"{env_folder_name(env_id)}.zip"
    if not path.exists():
        raise ConfigError(f"{path} does not exist")
    return path


def replay_env(run: pathlib.Path, experiment: Experiment, seed: int, render_mode: str | None) -> VecEnv:
    """One env built as the run trained it: frame stacking and its VecNormalize statistics (frozen)."""
    env: VecEnv = make_vec_env(experiment.env_id, n_envs=1, seed=seed, env_kwargs={"render_mode": render_mode})
    if experiment.frame_stack:
        env = VecFrameStack(env, experiment.frame_stack)
    stats = run / env_folder_name(experiment.env_id) / "vecnormalize.pkl"
    if stats.exists():
        env = VecNormalize.load(str(stats), env)
        env.training, env.norm_reward = False, False
    return env

"""Run folders `<log folder>/<algo>/<env>_<N>`: numbering, lookup, the saved model and the env to replay it in."""

from __future__ import annotations

import argparse
import importlib
import pathlib
import re
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import yaml

from baselines3.common.env_util import make_registered_env, make_vec_env
from baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecFrameStack, VecNormalize
from zoo.config import ALGOS, ConfigError, Experiment, algorithm_class, chain, resolve

#: Hex digits of the suffix `-uuid` runs get.
UUID_SUFFIX_LENGTH = 8


def env_folder_name(env_id: str) -> str:
    """`ALE/Pong-v5` -> `ALE-Pong-v5`, `my_envs:MyEnv-v0` -> `my_envs-MyEnv-v0` (valid file names everywhere)."""
    return env_id.replace("/", "-").replace(":", "-")


def run_numbers(base: pathlib.Path, env_id: str) -> list[tuple[int, pathlib.Path]]:
    """(N, folder) of the runs `<env>_<N>` and `<env>_<N>_<uuid>` (`-uuid`) under `base`, by N, then by age."""
    name = env_folder_name(env_id)
    found = []
    for path in base.glob(f"{name}_*"):
        number, _, suffix = path.name[len(name) + 1 :].partition("_")
        if number.isdigit() and (not suffix or _is_uuid_suffix(suffix)) and path.is_dir():
            found.append((int(number), path.stat().st_mtime, path))
    return [(number, path) for number, _, path in sorted(found)]


def _is_uuid_suffix(text: str) -> bool:
    return len(text) == UUID_SUFFIX_LENGTH and all(c in "0123456789abcdef" for c in text)


def new_run_folder(log_folder: str, algo: str, env_id: str, with_uuid: bool) -> pathlib.Path:
    """`<log_folder>/<algo>/<env>_<N>` with N one more than the highest existing run, and `_<uuid>` (8 hex
    digits) with `with_uuid`, so runs started at the same time on a shared folder do not collide."""
    base = pathlib.Path(log_folder) / algo
    runs = run_numbers(base, env_id)
    last = runs[-1][0] if runs else 0
    suffix = f"_{uuid.uuid4().hex[:UUID_SUFFIX_LENGTH]}" if with_uuid else ""
    return base / f"{env_folder_name(env_id)}_{last + 1}{suffix}"


def find_run(folder: str, algo: str, env_id: str, exp_id: str) -> pathlib.Path:
    """The run `exp_id` (`N`, or `N_<uuid>` for a `-uuid` run) of `algo` on `env_id`, or the latest one when
    `exp_id` is "0": the highest N, the newest folder among runs that share it."""
    base = pathlib.Path(folder) / algo
    runs = run_numbers(base, env_id)
    if exp_id in ("0", ""):
        if not runs:
            raise ConfigError(f"No run of {algo} on {env_id} in {base}")
        return runs[-1][1]
    run = base / f"{env_folder_name(env_id)}_{exp_id}"
    if run.is_dir():
        return run
    same_number = [path for number, path in runs if exp_id.isdigit() and number == int(exp_id)]
    if len(same_number) == 1:
        return same_number[0]
    if same_number:
        names = ", ".join(path.name for path in same_number)
        raise ConfigError(
            f"Several runs have number {exp_id} ({names}): pass --exp-id with the suffix, e.g. "
            f"{same_number[-1].name[len(env_folder_name(env_id)) + 1 :]}"
        )
    raise ConfigError(f"No run folder {run}")


def add_gym_packages_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gym-packages", nargs="+", default=[], metavar="MODULE", help="modules to import that register envs"
    )


def import_gym_packages(names: Sequence[str]) -> None:
    """Import the modules that register the user's own envs with gymnasium (`--gym-packages`)."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ConfigError(f"--gym-packages {name!r} cannot be imported: {error}") from None


@dataclass(frozen=True)
class PackageEnv:
    """Makes `env_id` after importing the modules that register it. Picklable, so the workers of a SubprocVecEnv
    (fresh interpreters under forkserver or spawn) can build an env that only `--gym-packages` registers."""

    env_id: str
    gym_packages: tuple[str, ...]

    def __call__(self, **env_kwargs: Any) -> gym.Env:
        import_gym_packages(self.gym_packages)
        return make_registered_env(self.env_id, **env_kwargs)


def program_name(module: str) -> str:
    """What --help and errors call the program: `python -m zoo <command>` when started through `python -m zoo`
    (which puts that in sys.argv[0]), else `python -m <module>` (argparse would say e.g. `enjoy.py`)."""
    return sys.argv[0] if sys.argv[0].startswith("python -m zoo ") else f"python -m {module}"


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that pick a trained model from the run folders: algorithm, env, run and which saved model."""
    parser.add_argument("--algo", required=True, choices=ALGOS)
    parser.add_argument("--env", required=True)
    parser.add_argument("-f", "--folder", default="logs", help="the log folder zoo.train wrote to")
    parser.add_argument("--exp-id", default="0", help="run number N, or N_<uuid> for a -uuid run (0: the latest)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--load-best", action="store_true", help="best_model.zip instead of the final model")
    which.add_argument("--load-checkpoint", type=int, default=None, help="the checkpoint at this many steps")
    which.add_argument("--load-last-checkpoint", action="store_true", help="the newest checkpoint of the run")
    parser.add_argument("--n-envs", type=int, default=1, help="envs to run the agent in at once")
    parser.add_argument(
        "--env-kwargs", nargs="+", default=[], metavar="KEY:VALUE", help="env keywords (over those of the run)"
    )
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda, cuda:N")
    parser.add_argument("--num-threads", type=int, default=-1, help="torch threads (-1: torch's default)")
    parser.add_argument("--verbose", type=int, default=1, help="0: quiet, 1: the model file and the episodes")
    add_gym_packages_argument(parser)


def check_run_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse counts that mean nothing, with the flag's name."""
    if args.n_envs < 1:
        parser.error(f"--n-envs must be at least 1, got {args.n_envs}")
    if args.num_threads < 1 and args.num_threads != -1:
        parser.error(f"--num-threads must be at least 1 (-1: the default), got {args.num_threads}")


def chosen_model(args: argparse.Namespace) -> tuple[pathlib.Path, pathlib.Path]:
    """(run folder, model file) the `add_run_arguments` flags pick."""
    run = find_run(args.folder, args.algo, args.env, args.exp_id)
    checkpoint = args.load_checkpoint
    if getattr(args, "load_last_checkpoint", False):
        steps = [checkpoint_steps(path) for path in run.glob("rl_model_*_steps.zip")]
        if not any(step is not None for step in steps):
            raise ConfigError(f"{run} has no checkpoint (rl_model_<N>_steps.zip)")
        checkpoint = max(step for step in steps if step is not None)
    return run, model_path(run, args.env, args.load_best, checkpoint)


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


def build_env(
    experiment: Experiment,
    n_envs: int,
    seed: int | None,
    *,
    monitor_dir: str | None = None,
    vec_env: str = "dummy",
    env_kwargs: dict[str, Any] | None = None,
    normalize_stats: pathlib.Path | None = None,
    training: bool = True,
    gym_packages: Sequence[str] = (),
    append_monitor: bool = False,
) -> VecEnv:
    """The env an entry describes, in the RL Zoo's order: env wrappers (inside Monitor), vec-env wrappers,
    VecNormalize (fresh, or `normalize_stats` when given), frame stacking. Without `training`, normalization
    statistics are frozen and rewards are left as they are (evaluation and replay). `gym_packages` are imported
    wherever an env is made (also in subprocess workers). With `append_monitor` the Monitor CSVs in `monitor_dir`
    are continued rather than started afresh (a run that goes on from a checkpoint)."""
    vec_env_cls = SubprocVecEnv if vec_env == "subproc" and n_envs > 1 else DummyVecEnv
    env: VecEnv = make_vec_env(
        PackageEnv(experiment.env_id, tuple(gym_packages)) if gym_packages else experiment.env_id,
        n_envs=n_envs,
        seed=seed,
        monitor_dir=monitor_dir,
        monitor_kwargs={"override_existing": False} if append_monitor else None,
        wrapper_class=chain(experiment.env_wrapper),
        env_kwargs=env_kwargs,
        vec_env_cls=vec_env_cls,
    )
    for spec in experiment.vec_env_wrapper:
        env = spec(env)
    if experiment.normalize:
        if normalize_stats is not None:
            env = VecNormalize.load(str(normalize_stats), env)
            env.training = training
        else:
            options = experiment.normalize if isinstance(experiment.normalize, dict) else {}
            env = VecNormalize(env, training=training, **options)
        if not training:
            env.norm_reward = False
    if experiment.frame_stack:
        env = VecFrameStack(env, experiment.frame_stack)
    return env


def normalize_stats_path(run: pathlib.Path, env_id: str) -> pathlib.Path:
    """`<env>/vecnormalize.pkl` (ours or the RL Zoo's), or `vec_normalize.pkl`, the name on the RL Zoo's model hub."""
    path = run / env_folder_name(env_id) / "vecnormalize.pkl"
    hub_name = path.with_name("vec_normalize.pkl")
    return hub_name if not path.exists() and hub_name.exists() else path


_CHECKPOINT = re.compile(r"(?P<prefix>.+)_(?P<steps>[0-9]+)_steps\.zip")


@dataclass(frozen=True)
class SavedWith:
    """The files saved with a model that restore what the model alone does not (either may be missing)."""

    normalize_stats: pathlib.Path  # VecNormalize statistics
    replay_buffer: pathlib.Path


def checkpoint_steps(model: pathlib.Path) -> int | None:
    """N for a checkpoint `<prefix>_<N>_steps.zip` (what CheckpointCallback writes), else None."""
    match = _CHECKPOINT.fullmatch(pathlib.Path(model).name)
    return int(match["steps"]) if match else None


def checkpoint_companions(model: pathlib.Path) -> SavedWith | None:
    """Where CheckpointCallback puts a checkpoint's own statistics and replay buffer
    (`<prefix>_vecnormalize_<N>_steps.pkl`, `<prefix>_replay_buffer_<N>_steps.npz`; either may not exist), or None
    when `model` is not a checkpoint."""
    model = pathlib.Path(model)
    match = _CHECKPOINT.fullmatch(model.name)
    if not match:
        return None
    prefix, steps = match["prefix"], match["steps"]
    return SavedWith(
        model.with_name(f"{prefix}_vecnormalize_{steps}_steps.pkl"),
        model.with_name(f"{prefix}_replay_buffer_{steps}_steps.npz"),
    )


def saved_with(model: pathlib.Path, env_id: str) -> SavedWith:
    """The statistics and replay buffer that belong to `model`: a checkpoint's own when they exist, else the run's
    (`<env>/vecnormalize.pkl`, `replay_buffer.npz`, saved at the end of training)."""
    model = pathlib.Path(model)
    stats, buffer = normalize_stats_path(model.parent, env_id), model.parent / "replay_buffer.npz"
    own = checkpoint_companions(model)
    if own is not None:
        stats = own.normalize_stats if own.normalize_stats.exists() else stats
        buffer = own.replay_buffer if own.replay_buffer.exists() else buffer
    return SavedWith(stats, buffer)


class _ZooYamlLoader(yaml.SafeLoader):
    """yaml.safe_load plus the one Python tag RL Zoo files carry: `!!python/object/apply:collections.OrderedDict`
    (a list of [key, value] pairs, read as a dict). No other Python object is constructed."""


def _ordered_dict(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    if not isinstance(node, yaml.SequenceNode):
        raise yaml.constructor.ConstructorError(None, None, "an OrderedDict must be given as a list", node.start_mark)
    args = loader.construct_sequence(node, deep=True)
    pairs = args[0] if args else []
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise yaml.constructor.ConstructorError(
            None, None, f"an OrderedDict must hold [key, value] pairs, got {pairs!r}", node.start_mark
        )
    return {key: value for key, value in pairs}


_ZooYamlLoader.add_constructor("tag:yaml.org,2002:python/object/apply:collections.OrderedDict", _ordered_dict)


def read_zoo_yaml(path: pathlib.Path) -> Any:
    """A YAML file written by zoo.train or by the RL Zoo (whose config.yml and args.yml are OrderedDicts)."""
    try:
        return yaml.load(path.read_text(), Loader=_ZooYamlLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not a YAML file this zoo reads: {error}") from None


def run_experiment(run: pathlib.Path, algo: str, env_id: str) -> tuple[Experiment, dict[str, Any]]:
    """The experiment a run trained with (its `config.yml`) and the env keywords it used (`args.yml`, or
    `env_kwargs.yml` in model folders published by the RL Zoo)."""
    params = run / env_folder_name(env_id)
    if not (params / "config.yml").exists():
        raise ConfigError(f"{run} is not a complete zoo run: {params / 'config.yml'} is missing")
    config = dict(read_zoo_yaml(params / "config.yml") or {})
    env_kwargs: dict[str, Any] = {}
    if (params / "args.yml").exists():
        env_kwargs = dict((read_zoo_yaml(params / "args.yml") or {}).get("env_kwargs") or {})
    elif not (params / "env_kwargs.yml").exists():
        raise ConfigError(f"{run} is not a complete zoo run: {params / 'args.yml'} is missing")
    if (params / "env_kwargs.yml").exists():
        env_kwargs.update(read_zoo_yaml(params / "env_kwargs.yml") or {})
    config.pop("env_id", None)
    experiment = resolve(algo, algorithm_class(algo), env_id, config, str(params / "config.yml"))
    return experiment, env_kwargs


def replay_env(
    run: pathlib.Path,
    model: pathlib.Path,
    algo: str,
    env_id: str,
    seed: int,
    render_mode: str | None,
    *,
    n_envs: int = 1,
    env_kwargs: dict[str, Any] | None = None,
    norm_reward: bool = False,
    monitor_dir: str | None = None,
) -> VecEnv:
    """`n_envs` envs built as the run trained them (its config.yml and --env-kwargs, then `env_kwargs`): wrappers,
    frame stacking and the VecNormalize statistics saved with `model` (frozen; a checkpoint's own when it has
    them; rewards normalized too with `norm_reward`). `monitor_dir` keeps the Monitor's episode CSVs."""
    experiment, run_env_kwargs = run_experiment(run, algo, env_id)
    stats = saved_with(model, env_id).normalize_stats
    env = build_env(
        experiment,
        n_envs,
        seed,
        monitor_dir=monitor_dir,
        env_kwargs={**run_env_kwargs, **(env_kwargs or {}), "render_mode": render_mode},
        normalize_stats=stats if stats.exists() else None,
        training=False,
    )
    if norm_reward:
        normalize = env.venv if isinstance(env, VecFrameStack) else env
        if not isinstance(normalize, VecNormalize):
            raise ConfigError("--norm-reward: this run was not trained with normalization (normalize: false)")
        normalize.norm_reward = True
    return env

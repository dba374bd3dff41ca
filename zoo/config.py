"""Reading the zoo's hyperparameter files: one YAML per algorithm, keyed by env id, with the RL Zoo's keys.

An entry mixes experiment settings (`n_envs`, `n_timesteps`, `policy`, `normalize`, ...) with keyword arguments
of the algorithm. Values are turned into what the algorithm takes: `lin_<v>` strings become linear schedules,
`policy_kwargs` strings such as "dict(net_arch=[64], activation_fn=nn.ReLU)" are parsed (without `eval`: only
literals, `dict(...)` and `torch.nn` names are accepted; `replay_buffer_kwargs` and a `normalize` string alike),
`replay_buffer_class: HerReplayBuffer` names the class, and `noise_type`/`noise_std` become action noise.
`env_wrapper`, `vec_env_wrapper` and `callback` name Python classes by dotted path (with keyword arguments as a
one-key mapping); names under `stable_baselines3`, `sb3_contrib` and `rl_zoo3` are read as their counterparts
here, so RL Zoo files work unchanged. An unknown key is an error naming the file, the env and the key.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
from dataclasses import dataclass, field
from typing import Any

import torch
import yaml
from torch import nn

import baselines3
from baselines3.common.base_class import BaseAlgorithm
from baselines3.common.sb2_compat import RMSpropTFLike
from baselines3.common.schedules import LinearSchedule

HYPERPARAMS_DIR = pathlib.Path(__file__).parent / "hyperparams"
ALGOS = ("a2c", "ddpg", "dqn", "ppo", "ppo_lstm", "sac", "td3")
#: The class of each algorithm whose name is not its upper-cased key.
ALGO_CLASS_NAMES = {"ppo_lstm": "RecurrentPPO"}

#: Keys that describe the experiment rather than the algorithm.
EXPERIMENT_KEYS = frozenset(
    {
        "n_envs",
        "n_timesteps",
        "policy",
        "normalize",
        "env_wrapper",
        "frame_stack",
        "callback",
        "vec_env_wrapper",
        "noise_type",
        "noise_std",
    }
)

#: Module prefixes of the RL Zoo's ecosystem and where the same classes live here.
MODULE_ALIASES = {
    "stable_baselines3.": "baselines3.",
    "sb3_contrib.common.wrappers.": "zoo.wrappers.",
    "rl_zoo3.wrappers.": "zoo.wrappers.",
    "rl_zoo3.callbacks.": "zoo.callbacks.",
    "utils.wrappers.": "zoo.wrappers.",
}


class ConfigError(ValueError):
    """A hyperparameter file or override that cannot be used."""


@dataclass(frozen=True)
class ObjectSpec:
    """A class named in a hyperparameter file and the keyword arguments to build it with."""

    cls: type
    kwargs: dict[str, Any]

    def __call__(self, *args: Any) -> Any:
        return self.cls(*args, **self.kwargs)


def chain(specs: list[ObjectSpec]) -> Any:
    """One callable applying `specs` in order (wrappers), or None when there are none."""
    if not specs:
        return None

    def wrap(target: Any) -> Any:
        for spec in specs:
            target = spec(target)
        return target

    return wrap


@dataclass
class Experiment:
    """A resolved entry: what to build and with which algorithm keywords."""

    algo: str
    env_id: str
    policy: str
    n_timesteps: int
    n_envs: int = 1
    normalize: bool | dict[str, Any] = False
    frame_stack: int | None = None
    env_wrapper: list[ObjectSpec] = field(default_factory=list)
    vec_env_wrapper: list[ObjectSpec] = field(default_factory=list)
    callback: list[ObjectSpec] = field(default_factory=list)
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # the entry as written, for config.yml
    entry: str = ""  # the entry used: the env id, "atari" or "default"


def algorithm_class(algo: str) -> type[BaseAlgorithm]:
    if algo == "her":  # the RL Zoo's her.yml predates HerReplayBuffer and is no longer read by it either
        raise ConfigError(
            "HER is a replay buffer here, not an algorithm: use --algo sac, td3, ddpg or dqn with "
            "'replay_buffer_class: HerReplayBuffer' (and replay_buffer_kwargs) in the entry"
        )
    if algo not in ALGOS:
        raise ConfigError(f"Unknown algorithm {algo!r}; choose one of {', '.join(ALGOS)}")
    return getattr(baselines3, ALGO_CLASS_NAMES.get(algo, algo.upper()))  # type: ignore[no-any-return]


def read_file(path: pathlib.Path) -> dict[str, Any]:
    try:
        with open(path) as handle:
            data = yaml.safe_load(handle) or {}
    except FileNotFoundError:
        raise ConfigError(f"Hyperparameter file {path} does not exist") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must map env ids to settings, got {type(data).__name__}")
    return data


#: The entry used for an env that has none of its own, as in the RL Zoo (untuned: SB3's defaults, 1M steps).
DEFAULT_ENTRY = "default"


def load_experiment(
    algo: str,
    env_id: str,
    conf_file: str | pathlib.Path | None = None,
    overrides: dict[str, Any] | None = None,
    use_default: bool = True,
) -> Experiment:
    """The entry for `env_id` in `zoo/hyperparams/<algo>.yml` (or `conf_file`), with `overrides` applied: the
    env's own entry, else `atari` for an Atari id, else (with `use_default`) the file's `default` entry."""
    algo_class = algorithm_class(algo)
    path = pathlib.Path(conf_file) if conf_file is not None else HYPERPARAMS_DIR / f"{algo}.yml"
    entries = read_file(path)
    if env_id in entries and env_id != DEFAULT_ENTRY:
        name = env_id
    elif "atari" in entries and ("NoFrameskip" in env_id or env_id.startswith("ALE/")):
        name = "atari"
    elif use_default and DEFAULT_ENTRY in entries:
        name = DEFAULT_ENTRY
    else:
        known = ", ".join(sorted(entries)) or "none"
        raise ConfigError(f"{path} has no entry for {env_id!r} (entries: {known})")
    entry = {**dict(entries[name] or {}), **(overrides or {})}
    experiment = resolve(algo, algo_class, env_id, entry, str(path))
    experiment.entry = name
    return experiment


def resolve(algo: str, algo_class: type, env_id: str, entry: dict[str, Any], where: str) -> Experiment:
    accepted = set(inspect.signature(algo_class).parameters) - {"policy", "env", "_init_setup_model"}
    unknown = sorted(key for key in entry if key not in EXPERIMENT_KEYS and key not in accepted)
    if unknown:
        raise ConfigError(
            f"{where}, entry {env_id!r}: unknown key(s) {unknown} for {algo_class.__name__} "
            f"(experiment keys: {', '.join(sorted(EXPERIMENT_KEYS))})"
        )
    if "policy" not in entry:
        raise ConfigError(f"{where}, entry {env_id!r}: 'policy' is missing")
    kwargs = {key: value for key, value in entry.items() if key not in EXPERIMENT_KEYS}
    for key, value in list(kwargs.items()):
        if isinstance(value, str) and value.startswith("lin_"):
            kwargs[key] = LinearSchedule(_number(value[4:], where, env_id, key), 0.0)
    for key in ("policy_kwargs", "replay_buffer_kwargs"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = parse_policy_kwargs(kwargs[key], f"{where}, entry {env_id!r}", key)
    if isinstance(kwargs.get("replay_buffer_class"), str):
        kwargs["replay_buffer_class"] = _replay_buffer_class(kwargs["replay_buffer_class"], where, env_id)
    if "noise_type" in entry:
        kwargs["action_noise"] = _noise_spec(entry, where, env_id)
    n_timesteps = entry.get("n_timesteps")
    if n_timesteps is None:
        raise ConfigError(f"{where}, entry {env_id!r}: 'n_timesteps' is missing")
    frame_stack = entry.get("frame_stack")
    normalize = entry.get("normalize", False)
    if isinstance(normalize, str):  # the RL Zoo writes VecNormalize's keywords as "{'norm_obs': False, ...}"
        normalize = parse_policy_kwargs(normalize, f"{where}, entry {env_id!r}", "normalize")
    return Experiment(
        algo=algo,
        env_id=env_id,
        policy=str(entry["policy"]),
        n_timesteps=_count(n_timesteps, where, env_id, "n_timesteps"),
        n_envs=_count(entry.get("n_envs", 1), where, env_id, "n_envs"),
        normalize=normalize,
        frame_stack=_count(frame_stack, where, env_id, "frame_stack") if frame_stack else None,
        env_wrapper=object_specs(entry.get("env_wrapper"), f"{where}, entry {env_id!r}, env_wrapper"),
        vec_env_wrapper=object_specs(entry.get("vec_env_wrapper"), f"{where}, entry {env_id!r}, vec_env_wrapper"),
        callback=object_specs(entry.get("callback"), f"{where}, entry {env_id!r}, callback"),
        algo_kwargs=kwargs,
        raw=dict(entry),
    )


def _replay_buffer_class(name: str, where: str, env_id: str) -> type:
    """A replay buffer named as the RL Zoo writes it: a bare name exported by baselines3 (HerReplayBuffer) or a
    dotted path."""
    found = getattr(baselines3, name, None) if "." not in name else import_class(name, f"{where}, entry {env_id!r}")
    if not isinstance(found, type):
        raise ConfigError(f"{where}, entry {env_id!r}: replay_buffer_class {name!r} is not a class of baselines3")
    return found


def _number(text: str, where: str, env_id: str, key: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{where}, entry {env_id!r}: {key} = 'lin_{text}' needs a number after 'lin_'") from None


def _float(value: Any, where: str, env_id: str, key: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}, entry {env_id!r}: {key} must be a number, got {value!r}") from None


def _count(value: Any, where: str, env_id: str, key: str) -> int:
    """A positive whole number, also written as a float or a string ('1e6', as YAML 1.1 reads it)."""
    number = _float(value, where, env_id, key)
    if not number.is_integer() or number < 1:
        raise ConfigError(f"{where}, entry {env_id!r}: {key} must be a whole number >= 1, got {value!r}")
    return int(number)


def _noise_spec(entry: dict[str, Any], where: str, env_id: str) -> tuple[str, float]:
    """(noise type, std): turned into an ActionNoise once the action dimension is known."""
    kind = entry["noise_type"]
    if kind not in ("normal", "ornstein-uhlenbeck"):
        raise ConfigError(
            f"{where}, entry {env_id!r}: noise_type must be 'normal' or 'ornstein-uhlenbeck', got {kind!r}"
        )
    return kind, _float(entry.get("noise_std", 0.1), where, env_id, "noise_std")


def object_specs(value: Any, where: str) -> list[ObjectSpec]:
    """Classes named as the RL Zoo writes them: "mod.Class", {"mod.Class": {kwargs}} or a list of those."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    specs = []
    for item in items:
        kwargs: Any = {}
        if isinstance(item, str):
            name = item
        elif isinstance(item, dict) and len(item) == 1:
            ((name, kwargs),) = item.items()
            kwargs = kwargs or {}
            if not isinstance(kwargs, dict):
                raise ConfigError(f"{where}: arguments of {name!r} must be a mapping, got {kwargs!r}")
        else:
            raise ConfigError(f"{where}: expected 'module.Class' or {{'module.Class': {{...}}}}, got {item!r}")
        specs.append(ObjectSpec(import_class(str(name), where), dict(kwargs)))
    return specs


def import_class(name: str, where: str) -> type:
    """The class at dotted path `name` (RL Zoo module prefixes mapped to ours)."""
    for prefix, ours in MODULE_ALIASES.items():
        if name.startswith(prefix):
            name = ours + name[len(prefix) :]
            break
    module_name, _, attr = name.rpartition(".")
    if not module_name:
        raise ConfigError(f"{where}: {name!r} must be a dotted path such as 'package.module.Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"{where}: cannot import module {module_name!r} ({error})") from None
    found = getattr(module, attr, None)
    if not isinstance(found, type):
        raise ConfigError(f"{where}: {module_name!r} has no class {attr!r}")
    return found


#: Bare names that published policy_kwargs use.
_NAMED_CLASSES: dict[str, type] = {"RMSpropTFLike": RMSpropTFLike}

_NN_NAMES = {name for name in dir(nn) if isinstance(getattr(nn, name), type)}


def parse_policy_kwargs(text: str, where: str = "policy_kwargs", key: str = "policy_kwargs") -> dict[str, Any]:
    """Parse an RL Zoo `policy_kwargs` string (or another keywords string, named by `key`) without running code:
    literals, lists, dicts, `dict(...)` calls and `nn.<Module>` / `torch.nn.<Module>` names only."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ConfigError(f"{where}: {key} {text!r} is not a valid expression: {error.msg}") from None
    value = _literal(tree.body, where, text)
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a dict, got {text!r}")
    return value


def _literal(node: ast.AST, where: str, text: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(item, where, text) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        return {_literal(k, where, text): _literal(v, where, text) for k, v in zip(node.keys, node.values) if k}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {kw.arg: _literal(kw.value, where, text) for kw in node.keywords if kw.arg}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_literal(node.operand, where, text)
    if isinstance(node, ast.Attribute) and node.attr in _NN_NAMES:
        base = ast.unparse(node.value)
        if base in ("nn", "th.nn", "torch.nn"):
            return getattr(nn, node.attr)
    if isinstance(node, ast.Attribute) and ast.unparse(node.value) in ("optim", "th.optim", "torch.optim"):
        found = getattr(torch.optim, node.attr, None)
        if isinstance(found, type) and issubclass(found, torch.optim.Optimizer):
            return found
    if isinstance(node, ast.Name) and node.id in _NAMED_CLASSES:
        return _NAMED_CLASSES[node.id]
    raise ConfigError(
        f"{where}: cannot read {ast.unparse(node)!r} in policy_kwargs {text!r}; allowed: numbers, strings, lists, "
        "dicts, dict(...), torch.nn classes such as nn.ReLU, torch.optim optimizers and RMSpropTFLike"
    )

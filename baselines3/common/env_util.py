"""Build vectorized environments (``make_vec_env``, ``make_atari_env``) and inspect wrapper chains."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

import gymnasium as gym

from baselines3.common.atari_wrappers import AtariWrapper
from baselines3.common.monitor import Monitor
from baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv
from baselines3.common.vec_env.util import is_wrapped, unwrap_wrapper

__all__ = [
    "check_env_id",
    "is_wrapped",
    "make_atari_env",
    "make_registered_env",
    "make_vec_env",
    "register_ale_envs_if_needed",
    "unwrap_wrapper",
]

# Parts of env ids that only the Atari envs of ale_py use (``Pong-v4`` or ``Pong-v0`` cannot be told apart
# from other envs by name; they are still found when ale_py is installed).
_ALE_ID_MARKERS = ("NoFrameskip", "Deterministic", "-ram")

_ATARI_INSTALL_HINT = 'pip install "baselines3[atari]"'


def register_ale_envs_if_needed(env_id: str) -> None:
    """Register ale_py's Atari envs with gymnasium when ``env_id`` is not registered yet.

    This lets ``make_vec_env("PongNoFrameskip-v4")`` or ``make_atari_env("ALE/Pong-v5")`` work without
    the user importing ``ale_py`` (gymnasium 1.x no longer loads it by itself). It is cheap for ids
    that are already registered. ``"module:EnvId"`` ids are left to gymnasium (it imports the module).

    :param env_id: a gymnasium env id
    :raises ImportError: when ``env_id`` is an Atari id and ale_py is not installed
    """
    if ":" in env_id or env_id in gym.registry:
        return
    looks_like_ale = env_id.startswith("ALE/") or any(marker in env_id for marker in _ALE_ID_MARKERS)
    try:
        import ale_py
    except ImportError as error:
        if looks_like_ale:
            raise ImportError(
                f"The Atari env {env_id!r} needs the ale-py package (Arcade Learning Environment and ROMs), "
                f"which is not installed. Install it with: {_ATARI_INSTALL_HINT}"
            ) from error
        return  # not an Atari id: gymnasium reports the unknown id itself
    gym.register_envs(ale_py)


def check_env_id(env_id: str) -> gym.envs.registration.EnvSpec:
    """The spec of a registered env id, or gymnasium's own error for an unknown one (raised here, before any
    worker process starts). ``module:EnvId`` imports the module first (it registers the env), and Atari ids are
    registered with gymnasium when needed."""
    if ":" in env_id:  # "module:EnvId": importing the module registers the env
        module, env_id = env_id.split(":", 1)
        importlib.import_module(module)
    register_ale_envs_if_needed(env_id)
    return gym.spec(env_id)


# gymnasium's own env families whose dependencies come with an extra of this package: (name, extra).
_GYMNASIUM_EXTRAS = {"gymnasium.envs.mujoco": ("MuJoCo", "mujoco"), "gymnasium.envs.box2d": ("Box2D", "box2d")}


def _missing_dependency_hint(env_id: str, error: Exception) -> gym.error.DependencyNotInstalled | None:
    """Our install hint for a MuJoCo or Box2D env whose dependency is missing (gymnasium's own message
    suggests its ``gymnasium[...]`` extra), or None for any other env."""
    entry_point = gym.spec(env_id).entry_point
    for prefix, (family, extra) in _GYMNASIUM_EXTRAS.items():
        if isinstance(entry_point, str) and entry_point.startswith(prefix):
            missing = f" (no module named {error.name!r})" if isinstance(error, ModuleNotFoundError) else ""
            return gym.error.DependencyNotInstalled(
                f"The {family} env {env_id!r} needs dependencies that are not installed{missing}. "
                f'Install them with: pip install "baselines3[{extra}]"'
            )
    return None


def make_registered_env(env_id: str, **env_kwargs: Any) -> gym.Env:
    """``gym.make(env_id, **env_kwargs)``, made with ``render_mode="rgb_array"`` when the env accepts it and
    ``env_kwargs`` names no render mode, so videos can be recorded. Atari ids are registered first (a
    subprocess worker starts with a fresh registry). A MuJoCo or Box2D env whose dependencies are missing
    raises ``gymnasium.error.DependencyNotInstalled`` naming this package's extra."""
    register_ale_envs_if_needed(env_id)
    try:
        try:
            return gym.make(env_id, **{"render_mode": "rgb_array", **env_kwargs})
        except TypeError:  # the env takes no render_mode
            return gym.make(env_id, **env_kwargs)
    except (gym.error.DependencyNotInstalled, ImportError) as error:
        hint = _missing_dependency_hint(env_id, error)
        if hint is None:
            raise
        raise hint from error


def make_vec_env(
    env_id: str | Callable[..., gym.Env],
    n_envs: int = 1,
    seed: int | None = None,
    start_index: int = 0,
    monitor_dir: str | None = None,
    wrapper_class: Callable[..., gym.Env] | None = None,
    env_kwargs: dict[str, Any] | None = None,
    vec_env_cls: type[DummyVecEnv | SubprocVecEnv] | None = None,
    vec_env_kwargs: dict[str, Any] | None = None,
    monitor_kwargs: dict[str, Any] | None = None,
    wrapper_kwargs: dict[str, Any] | None = None,
) -> VecEnv:
    """Create ``n_envs`` envs, each wrapped in ``Monitor``, inside a VecEnv.

    Env ``i`` is reset with seed ``seed + i`` on the first ``reset()`` and its action space is seeded
    with ``seed + start_index + i``. Monitor files go to ``<monitor_dir>/<start_index + i>.monitor.csv``.

    :param env_id: a registered gymnasium id (made with ``render_mode="rgb_array"`` when the env
        accepts it, so videos can be recorded) or a function returning an env
    :param n_envs: number of envs
    :param seed: base seed (None: random)
    :param start_index: offset of the env ranks (monitor file names, action space seeds)
    :param monitor_dir: folder of the monitor CSV files (None: no files)
    :param wrapper_class: extra wrapper applied after ``Monitor``
    :param env_kwargs: keyword arguments for the env constructor / ``gym.make``
    :param vec_env_cls: ``DummyVecEnv`` (default) or ``SubprocVecEnv``
    :param vec_env_kwargs: keyword arguments for ``vec_env_cls``
    :param monitor_kwargs: keyword arguments for ``Monitor``
    :param wrapper_kwargs: keyword arguments for ``wrapper_class``
    """
    if n_envs < 1:
        raise ValueError(f"n_envs must be at least 1, got {n_envs}")
    env_kwargs = {} if env_kwargs is None else dict(env_kwargs)
    vec_env_kwargs = {} if vec_env_kwargs is None else vec_env_kwargs
    monitor_kwargs = {} if monitor_kwargs is None else monitor_kwargs
    wrapper_kwargs = {} if wrapper_kwargs is None else wrapper_kwargs
    if isinstance(env_id, str):
        check_env_id(env_id)
    elif not callable(env_id):
        raise TypeError(f"env_id must be a registered env id (str) or a function creating an env, got {env_id!r}")
    if monitor_dir is not None:
        os.makedirs(monitor_dir, exist_ok=True)

    def make_env(rank: int) -> Callable[[], gym.Env]:
        def _init() -> gym.Env:
            env = make_registered_env(env_id, **env_kwargs) if isinstance(env_id, str) else env_id(**env_kwargs)
            if seed is not None:
                # Only the action space here; the env itself is seeded at the first reset.
                env.action_space.seed(seed + rank)
            monitor_path = os.path.join(monitor_dir, str(rank)) if monitor_dir is not None else None
            env = Monitor(env, filename=monitor_path, **monitor_kwargs)
            if wrapper_class is not None:
                env = wrapper_class(env, **wrapper_kwargs)
            return env

        return _init

    if vec_env_cls is None:
        vec_env_cls = DummyVecEnv
    vec_env = vec_env_cls([make_env(index + start_index) for index in range(n_envs)], **vec_env_kwargs)
    vec_env.seed(seed)
    return vec_env


def make_atari_env(
    env_id: str | Callable[..., gym.Env],
    n_envs: int = 1,
    seed: int | None = None,
    start_index: int = 0,
    monitor_dir: str | None = None,
    wrapper_kwargs: dict[str, Any] | None = None,
    env_kwargs: dict[str, Any] | None = None,
    vec_env_cls: type[DummyVecEnv | SubprocVecEnv] | None = None,
    vec_env_kwargs: dict[str, Any] | None = None,
    monitor_kwargs: dict[str, Any] | None = None,
) -> VecEnv:
    """Create ``n_envs`` Atari envs with the DQN-paper preprocessing (``AtariWrapper``) in a VecEnv.

    Each env is ``AtariWrapper(Monitor(env))``: the ``Monitor`` inside sees real games and unclipped
    rewards, so episode statistics are game scores. Stack frames on the result with
    ``VecFrameStack(venv, n_stack=4)``.

    ALE ids that skip frames themselves (``ALE/<Game>-v5`` skips 4) are created with ``frameskip=1``
    so that ``AtariWrapper``'s ``frame_skip`` (4 by default) is the total skip; pass
    ``env_kwargs={"frameskip": ...}`` to choose yourself (then use ``wrapper_kwargs={"frame_skip": 1}``
    if the env skips frames). Note that ``v5`` ids use sticky actions (``repeat_action_probability=0.25``)
    and ``NoFrameskip-v4`` ids do not.

    :param env_id: Atari env id (e.g. ``"PongNoFrameskip-v4"``, ``"ALE/Pong-v5"``) or a function returning an env
    :param n_envs: number of envs
    :param seed: base seed (None: random)
    :param start_index: offset of the env ranks (monitor file names, action space seeds)
    :param monitor_dir: folder of the monitor CSV files (None: no files)
    :param wrapper_kwargs: keyword arguments for ``AtariWrapper``
    :param env_kwargs: keyword arguments for the env constructor / ``gym.make``
    :param vec_env_cls: ``DummyVecEnv`` (default) or ``SubprocVecEnv``
    :param vec_env_kwargs: keyword arguments for ``vec_env_cls``
    :param monitor_kwargs: keyword arguments for ``Monitor``
    """
    wrapper_kwargs = {} if wrapper_kwargs is None else dict(wrapper_kwargs)
    env_kwargs = {} if env_kwargs is None else dict(env_kwargs)
    if isinstance(env_id, str):
        spec = check_env_id(env_id)
        is_ale = isinstance(spec.entry_point, str) and spec.entry_point.startswith("ale_py")
        frame_skip = wrapper_kwargs.get("frame_skip", 4)
        wrapper_skips = isinstance(frame_skip, int) and frame_skip > 1  # a bad value is reported by AtariWrapper
        # ale_py's AtariEnv skips 4 frames unless told otherwise.
        if is_ale and wrapper_skips and "frameskip" not in env_kwargs and spec.kwargs.get("frameskip", 4) != 1:
            env_kwargs["frameskip"] = 1
    return make_vec_env(
        env_id,
        n_envs=n_envs,
        seed=seed,
        start_index=start_index,
        monitor_dir=monitor_dir,
        wrapper_class=AtariWrapper,
        env_kwargs=env_kwargs,
        vec_env_cls=vec_env_cls,
        vec_env_kwargs=vec_env_kwargs,
        monitor_kwargs=monitor_kwargs,
        wrapper_kwargs=wrapper_kwargs,
    )

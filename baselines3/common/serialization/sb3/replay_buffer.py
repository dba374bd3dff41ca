"""Filling a model's replay buffer from Stable-Baselines3's pickled ReplayBuffer / DictReplayBuffer.

Only the arrays and sizes are read, with the restricted unpickler; the spaces must be the model's.
"""

from __future__ import annotations

import os
import pathlib
from typing import TYPE_CHECKING, Any

import numpy as np
from gymnasium import spaces

from baselines3.common.buffers import DictReplayBuffer, ReplayBuffer
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.serialization.replay_check import check_replay_arrays
from baselines3.common.serialization.sb3.unpickler import CollectedState, RefusedPickleError, as_int, restricted_loads

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm

__all__ = ["load_sb3_replay_buffer", "sb3_pickle_path"]


def sb3_pickle_path(path: str | os.PathLike[str]) -> pathlib.Path | None:
    """The SB3 pickle ``path`` names (SB3 appends ``.pkl``), or None when it is not a pickle."""
    candidates = [pathlib.Path(path)]
    if not candidates[0].name.endswith(".pkl"):
        candidates.append(candidates[0].with_name(candidates[0].name + ".pkl"))
    for candidate in candidates:
        if candidate.is_file():
            with open(candidate, "rb") as file:
                if file.read(1) == b"\x80":
                    return candidate
    return None


def load_sb3_replay_buffer(model: BaseAlgorithm, path: pathlib.Path, truncate_last_traj: bool) -> None:
    """Fill ``model.replay_buffer`` from SB3's pickled ReplayBuffer / DictReplayBuffer at ``path``.

    A fresh buffer of the saved size is built (the model's own when its settings match); the spaces must be
    the model's.
    """
    label = str(path)
    try:
        loaded = restricted_loads(path.read_bytes(), label)
    except RefusedPickleError as error:
        raise ValueError(f"{label}: not loaded: {error}") from error
    if not isinstance(loaded, CollectedState) or loaded.origin not in (
        "stable_baselines3.common.buffers.ReplayBuffer",
        "stable_baselines3.common.buffers.DictReplayBuffer",
    ):
        raise ValueError(f"{label} holds {loaded!r}; only SB3's ReplayBuffer and DictReplayBuffer can be imported")
    state = loaded.state
    for key in ("observation_space", "action_space"):
        if state.get(key) != getattr(model, key):
            raise ValueError(
                f"The replay buffer in {label} does not fit this model: its {key} is {state.get(key)!r}, "
                f"the model's is {getattr(model, key)!r}"
            )
    try:
        buffer_size, n_envs = as_int(state["buffer_size"], "buffer_size"), as_int(state["n_envs"], "n_envs")
        # sizes and position checked against the limits and the saved rewards before anything is allocated
        check_replay_arrays(
            {"buffer_size": buffer_size, "n_envs": n_envs, "pos": state.get("pos"), "full": state.get("full")},
            {"rewards": state.get("rewards")},
            label,
        )
        meta = dict(
            buffer_size=buffer_size,
            n_envs=n_envs,
            handle_timeout_termination=bool(state.get("handle_timeout_termination", True)),
            pos=as_int(state["pos"], "pos"),
            full=bool(state["full"]),
        )
        optimize_memory_usage = bool(state.get("optimize_memory_usage", False))
        arrays: dict[str, Any] = {}
        for name in ("actions", "rewards", "dones", "timeouts", "observations", "next_observations"):
            value: Any = state.get(name)
            if name == "timeouts" and value is None:
                value = np.zeros((buffer_size, n_envs), dtype=np.float32)
            if name == "next_observations" and optimize_memory_usage:
                continue
            if isinstance(value, dict):
                arrays.update({f"{name}/{key}": array for key, array in value.items()})
            else:
                arrays[name] = value
    except (KeyError, ModelLoadError) as error:
        raise ValueError(f"{label}: the SB3 replay buffer lacks or garbles the field {error}") from error
    check_replay_arrays(meta, arrays, label)
    buffer_class: type[ReplayBuffer] = (
        DictReplayBuffer if isinstance(model.observation_space, spaces.Dict) else ReplayBuffer
    )
    current = getattr(model, "replay_buffer", None)
    if getattr(model, "replay_buffer_class", None) not in (None, ReplayBuffer, DictReplayBuffer):
        raise ValueError(
            f"{label}: SB3's replay buffers load into ReplayBuffer/DictReplayBuffer, but the model uses "
            f"{model.replay_buffer_class!r}"
        )
    if (
        type(current) is buffer_class
        and current.optimize_memory_usage == optimize_memory_usage
        and current.n_envs == n_envs
        and current.buffer_size == buffer_size
    ):
        replay_buffer = current
    else:
        replay_buffer = buffer_class(
            buffer_size * n_envs,
            model.observation_space,
            model.action_space,
            device=model.device,
            n_envs=n_envs,
            optimize_memory_usage=optimize_memory_usage,
        )
    try:
        replay_buffer._set_arrays(meta, arrays, label)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{label}: cannot fill the replay buffer: {error}") from error
    model.replay_buffer = replay_buffer
    if truncate_last_traj:
        replay_buffer.truncate_last_trajectory()

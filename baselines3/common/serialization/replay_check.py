"""Checks of a saved replay buffer's sizes and contents, before the buffer is resized or filled from it.

Shared by ``ReplayBuffer.load`` (our ``.npz`` files) and the SB3 pickle importer. The sizes in the metadata must
agree with the saved arrays (``rewards`` holds one value per slot and env), so resizing the buffer cannot allocate
more than the file itself holds; the write position must lie in the buffer; rewards, actions and float
observations must be finite and done flags 0 or 1, since one NaN reward turns every parameter into NaN at the
first update that samples it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.serialization.limits import check_count, current_limits

__all__ = ["check_replay_arrays"]

_ROWS_PER_CHECK = 4096  # rows tested for finiteness at a time: the temporary mask stays small for large buffers


def _first_bad(array: np.ndarray, bad: Any) -> tuple[int, ...] | None:
    """Index of the first element where ``bad(chunk)`` is True, scanning along the first axis in chunks."""
    if array.ndim == 0:
        return () if bool(bad(array)) else None
    for start in range(0, array.shape[0], _ROWS_PER_CHECK):
        mask = bad(array[start : start + _ROWS_PER_CHECK])
        if mask.any():
            index = np.unravel_index(int(np.argmax(mask)), mask.shape)
            return (start + int(index[0]), *(int(i) for i in index[1:]))
    return None


def check_replay_arrays(meta: Mapping[str, Any], arrays: Mapping[str, Any], where: str) -> tuple[int, int]:
    """Check ``buffer_size``, ``n_envs``, ``pos`` and ``full`` against the limits and the saved arrays, and the
    arrays' values; returns ``(buffer_size, n_envs)``. Raises ModelLoadError naming the field or array."""
    buffer_size = check_count(meta.get("buffer_size"), "buffer_size", "max_buffer_size", where)
    n_envs = check_count(meta.get("n_envs"), "n_envs", "max_n_envs", where)
    limit = current_limits().max_buffer_size
    if buffer_size * n_envs > limit:
        raise ModelLoadError(
            f"{where}: buffer_size * n_envs = {buffer_size * n_envs} transitions, more than the limit of {limit} "
            "(LoadLimits.max_buffer_size)"
        )
    rewards = arrays.get("rewards")
    if not isinstance(rewards, np.ndarray) or rewards.shape != (buffer_size, n_envs):
        found = rewards.shape if isinstance(rewards, np.ndarray) else "nothing"
        raise ModelLoadError(
            f"{where}: array 'rewards' should have shape {(buffer_size, n_envs)} (buffer_size, n_envs from the "
            f"metadata), found {found}"
        )
    pos, full = meta.get("pos"), meta.get("full")
    if isinstance(pos, bool) or not isinstance(pos, (int, np.integer)) or not 0 <= pos < buffer_size:
        raise ModelLoadError(f"{where}: field 'pos' is {pos!r}; it must be an integer in [0, {buffer_size})")
    if not isinstance(full, (bool, np.bool_)):
        raise ModelLoadError(f"{where}: field 'full' is {full!r}; it must be true or false")
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray):
            raise ModelLoadError(f"{where}: field {name!r} is {type(array).__name__}, expected an array")
        if array.dtype.kind == "f":
            index = _first_bad(array, lambda chunk: ~np.isfinite(chunk))
            if index is not None:
                raise ModelLoadError(
                    f"{where}: array {name!r} holds {array[index]} at index {index}; saved transitions must be "
                    "finite (a NaN reward or observation makes every parameter NaN at the first update; "
                    "VecCheckNan finds where it comes from)"
                )
    for name in ("dones", "timeouts"):
        flags = arrays.get(name)
        if isinstance(flags, np.ndarray):
            index = _first_bad(flags, lambda chunk: (chunk != 0) & (chunk != 1))
            if index is not None:
                raise ModelLoadError(f"{where}: array {name!r} holds {flags[index]} at index {index}; flags are 0 or 1")
    return buffer_size, n_envs

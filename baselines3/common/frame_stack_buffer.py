"""Replay storage for stacked-frame image observations (Atari) that keeps each frame once.

After ``VecFrameStack(n_stack)`` two consecutive observations of one env share ``n_stack - 1`` frames, and the
next observation of a step is the observation of the following step, so a plain ``ReplayBuffer`` holds every
frame ``2 * n_stack`` times. ``FrameStackReplayBuffer`` stores frames in a frame store and keeps, for every
transition, the index of each frame of its observation and next observation; stacks are rebuilt with one
vectorized gather at sample time. Samples are bit-identical to a ``ReplayBuffer`` fed the same ``add()`` calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.buffers import ReplayBuffer, ReplayBufferSamples

__all__ = ["FrameStackReplayBuffer"]


def _stack_layout(
    observation_space: spaces.Space, n_stack: int, stack_axis: int | str | None
) -> tuple[int, int, tuple[int, ...]]:
    """Check the observation space and return (n_stack, stack_axis as 0 or -1, shape of one frame)."""
    if not isinstance(observation_space, spaces.Box):
        raise TypeError(
            "FrameStackReplayBuffer needs a Box image observation space (uint8, 3-D, frames stacked on the first "
            f"or last axis), got {observation_space}; use ReplayBuffer for other spaces"
        )
    if observation_space.dtype != np.uint8:
        raise TypeError(
            f"FrameStackReplayBuffer needs uint8 image observations, got dtype {observation_space.dtype} in "
            f"{observation_space}; use ReplayBuffer for other dtypes"
        )
    shape = observation_space.shape
    if len(shape) != 3:
        raise ValueError(
            f"FrameStackReplayBuffer needs 3-D image observations (C*n_stack, H, W) or (H, W, C*n_stack), "
            f"got shape {shape}"
        )
    if isinstance(n_stack, bool) or not isinstance(n_stack, (int, np.integer)) or n_stack < 1:
        raise ValueError(f"n_stack must be an int >= 1, got {n_stack!r}")
    n_stack = int(n_stack)
    if stack_axis is None:
        # the stack axis is the first or last one whose size n_stack divides; if both do, the smaller one
        candidates = [axis for axis in (0, -1) if shape[axis] % n_stack == 0]
        if not candidates:
            raise ValueError(
                f"Observation shape {shape} has no first or last axis divisible by n_stack={n_stack}; "
                "check n_stack (frames must be stacked on the first or last axis)"
            )
        if len(candidates) == 2 and shape[0] == shape[2]:
            raise ValueError(
                f"Cannot tell whether the frames of observation shape {shape} are stacked on the first or the "
                "last axis: pass stack_axis=0 (channel-first, (C*n_stack, H, W)) or stack_axis=-1 (channel-last)"
            )
        axis = min(candidates, key=lambda a: shape[a])
    elif stack_axis in (0, "first"):
        axis = 0
    elif stack_axis in (-1, 2, "last"):
        axis = -1
    else:
        raise ValueError(f"stack_axis must be 0, -1 (or 2), 'first', 'last' or None, got {stack_axis!r}")
    channels = shape[axis]
    if channels % n_stack != 0:
        raise ValueError(
            f"Observation shape {shape} has {channels} channels on axis {axis}, which is not divisible by "
            f"n_stack={n_stack}; check n_stack and stack_axis"
        )
    c = channels // n_stack
    frame_shape = (c, shape[1], shape[2]) if axis == 0 else (shape[0], shape[1], c)
    return n_stack, axis, frame_shape


class FrameStackReplayBuffer(ReplayBuffer):
    """``ReplayBuffer`` for stacked-frame uint8 images that stores each frame about once.

    Layout: ``frames`` is a ring holding the newest frame of every next observation (one frame per
    transition, ``n_stack`` extra steps so the oldest stored transitions stay whole) plus one all-zero frame.
    ``observations`` and ``next_observations`` hold, per transition, ``n_stack`` frame references (int indices:
    ``>= 0`` into ``frames``, ``< 0`` into a small side store of extra frames), *not* images.

    At ``add()`` each frame is compared with the frame it is expected to equal: a frame of the observation
    with the same frame of the previous next observation, a frame of the next observation with the following
    frame of the observation (the stack shifts by one). Matching frames are referenced, not copied; zero frames
    (VecFrameStack's fill after a reset) point at the zero frame; anything else (the first frame of an episode,
    or an env that does not stack as expected) is copied into the side store, so samples are always exact.
    Side-store frames are reused once no stored transition can reference them.

    Sampling, index distribution (``optimize_memory_usage`` only changes which slots are drawn, exactly as in
    ``ReplayBuffer``), time-limit handling and save/load behave like ``ReplayBuffer``.

    :param n_stack: number of frames in one observation (``VecFrameStack``'s ``n_stack``)
    :param stack_axis: 0 for channel-first stacks (C*n_stack, H, W) (after ``VecTransposeImage``), -1 for
        channel-last stacks (H, W, C*n_stack); None infers it (the first or last axis divisible by n_stack,
        the smaller one if both are; an error if they are equal).
        The newest frame is the last C channels.
    """

    observations: np.ndarray  # frame references (buffer_size, n_envs, n_stack), not images
    next_observations: np.ndarray

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        n_stack: int = 4,
        stack_axis: int | str | None = None,
    ) -> None:
        self.n_stack, self.stack_axis, self.frame_shape = _stack_layout(observation_space, n_stack, stack_axis)
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device=device,
            n_envs=n_envs,
            optimize_memory_usage=optimize_memory_usage,
            handle_timeout_termination=handle_timeout_termination,
        )

    # ------------------------------------------------------------------ storage
    def _ref_dtype(self) -> np.dtype:
        n_frames = (self.buffer_size + self.n_stack) * self.n_envs + 1
        return np.dtype(np.int32) if n_frames < 2**30 else np.dtype(np.int64)

    def _obs_storage(self) -> np.ndarray:
        """Frame references of one observation per transition: (buffer_size, n_envs, n_stack)."""
        return np.zeros((self.buffer_size, self.n_envs, self.n_stack), dtype=self._ref_dtype())

    def reset(self) -> None:
        """Forget every stored transition and frame."""
        super().reset()
        if self.next_observations is None:  # optimize_memory_usage: next stacks are still stored as references
            self.next_observations = self._obs_storage()
        ring = self.buffer_size + self.n_stack  # steps of frames kept per env
        self._zero_ref = ring * self.n_envs
        self.frames = np.zeros((self._zero_ref + 1, *self.frame_shape), dtype=np.uint8)
        self._init_extras(max(8, 2 * self.n_stack) * self.n_envs)
        self._step = 0  # add() calls since reset (absolute, not wrapped)
        stack_shape = self.obs_shape
        assert isinstance(stack_shape, tuple)
        self._stacks_size = self.n_envs * int(np.prod(stack_shape))  # elements of one add()'s observations
        self._last_next = np.zeros((self.n_envs, *stack_shape), dtype=np.uint8)  # previous next obs, to compare
        self._last_refs = np.zeros((self.n_envs, self.n_stack), dtype=self._ref_dtype())
        self._has_last = np.zeros(self.n_envs, dtype=bool)
        self._equal = np.zeros((self.n_envs, self.n_stack, *self.frame_shape), dtype=bool)  # add()'s scratch
        self._pending: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # set during _get_samples

    def _init_extras(self, capacity: int) -> None:
        self._extra_frames = np.zeros((capacity, *self.frame_shape), dtype=np.uint8)
        self._extra_step = np.zeros(capacity, dtype=np.int64)  # add() step that wrote the frame
        self._extra_used = np.zeros(capacity, dtype=bool)
        self._free = np.arange(capacity - 1, -1, -1, dtype=np.int64)  # stack of free slots, top at _n_free - 1
        self._n_free = capacity

    def nbytes(self) -> int:
        """Bytes held by every stored array: transitions, frame references, frames and side stores."""
        side: list[np.ndarray] = [
            self.frames,
            self._extra_frames,
            self._extra_step,
            self._extra_used,
            self._free,
            self._last_next,
            self._last_refs,
            self._has_last,
            self._equal,
        ]
        return super().nbytes() + sum(array.nbytes for array in side)

    @property
    def n_extra_frames(self) -> int:
        """Frames currently held in the side store (episode starts and frames that did not match)."""
        return int(self._extra_used.sum())

    def _write_obs(self, storage: Any, slot: int, obs: Any) -> None:
        """No-op: ``ReplayBuffer.add`` stores the other fields, then ``add`` writes the frame references."""

    def _as_frames(self, obs: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(stacks (n_envs, *obs_shape) as uint8, a view of them as frames (n_envs, n_stack, *frame_shape))."""
        array = np.asarray(obs)
        assert isinstance(self.obs_shape, tuple)
        expected = (self.n_envs, *self.obs_shape)
        if array.size != self._stacks_size:
            raise ValueError(f"{name} should have shape {expected} (n_envs, *observation shape), got {array.shape}")
        if array.dtype != np.uint8:
            array = array.astype(np.uint8)  # the same conversion a ReplayBuffer's uint8 storage applies
        stacks = array.reshape(expected)
        if self.stack_axis == 0:
            return stacks, stacks.reshape(self.n_envs, self.n_stack, *self.frame_shape)
        height, width, c = self.frame_shape
        return stacks, np.moveaxis(stacks.reshape(self.n_envs, height, width, self.n_stack, c), 3, 1)

    def _frames_equal(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-frame equality of two (n_envs, k, *frame_shape) arrays: (n_envs, k) bool."""
        out = self._equal[:, : a.shape[1]]  # preallocated: a fresh temporary per call costs page faults
        np.equal(a, b, out=out)
        return np.asarray(out.all(axis=tuple(range(2, a.ndim))))

    def add(
        self,
        obs: np.ndarray | dict[str, np.ndarray],
        next_obs: np.ndarray | dict[str, np.ndarray],
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        """Store one vec-env step (same arguments as ``ReplayBuffer.add``), copying only frames not seen before."""
        if isinstance(obs, dict) or isinstance(next_obs, dict):
            raise TypeError("FrameStackReplayBuffer stores image arrays, got a dict observation")
        _, obs_frames = self._as_frames(obs, "obs")
        next_stacks, next_frames = self._as_frames(next_obs, "next_obs")
        n_envs, n_stack, slot = self.n_envs, self.n_stack, self.pos
        # actions, rewards, dones, timeouts and the position first: if those arguments are bad, nothing changed
        super().add(obs, next_obs, action, reward, done, infos)

        # observation: frames equal to the previous next observation's are shared
        obs_refs = self._last_refs.copy()
        _, last_frames = self._as_frames(self._last_next, "previous next_obs")
        same = self._frames_equal(obs_frames, last_frames) & self._has_last[:, None]
        if not same.all():
            obs_refs[~same] = self._store_frames(obs_frames[~same])

        # next observation: its newest frame goes to the ring; older ones should be the observation shifted by one
        base = (self._step % (self.buffer_size + n_stack)) * n_envs
        self.frames[base : base + n_envs] = next_frames[:, -1]
        next_refs = np.empty_like(obs_refs)
        next_refs[:, -1] = np.arange(base, base + n_envs)
        if n_stack > 1:
            next_refs[:, :-1] = obs_refs[:, 1:]
            shifted = self._frames_equal(next_frames[:, :-1], obs_frames[:, 1:])
            if not shifted.all():
                older = next_refs[:, :-1]  # a view: assigning through it fills next_refs
                older[~shifted] = self._store_frames(next_frames[:, :-1][~shifted])

        self.observations[slot] = obs_refs
        self.next_observations[slot] = next_refs
        self._last_next[...] = next_stacks
        self._last_refs[...] = next_refs
        self._has_last[:] = True
        self._step += 1

    # ------------------------------------------------------------------ side store of extra frames
    def _store_frames(self, frames: np.ndarray) -> np.ndarray:
        """References for frames (k, *frame_shape) that match no shared frame: the zero frame or new side slots."""
        count = len(frames)
        nonzero = np.flatnonzero(frames.reshape(count, -1).any(axis=1))
        refs = np.full(count, self._zero_ref, dtype=self._last_refs.dtype)
        if nonzero.size:
            slots = self._alloc_extras(nonzero.size)
            self._extra_frames[slots] = frames[nonzero]
            self._extra_step[slots] = self._step
            refs[nonzero] = -1 - slots
        return refs

    def _alloc_extras(self, count: int) -> np.ndarray:
        if self._n_free < count:
            self._reclaim_extras(count)
        self._n_free -= count
        slots = self._free[self._n_free : self._n_free + count].copy()
        self._extra_used[slots] = True
        return slots

    def _reclaim_extras(self, count: int) -> None:
        """Free side frames no stored transition can reference; grow the store if too few come free."""
        # A frame written at step s is referenced by transitions of steps s .. s + n_stack at most (a reference
        # moves one stack position per step); those are all overwritten once step s + n_stack + buffer_size ran.
        dead = np.flatnonzero(self._extra_used & (self._extra_step < self._step - self.n_stack - self.buffer_size))
        self._extra_used[dead] = False
        self._free[self._n_free : self._n_free + dead.size] = dead
        self._n_free += dead.size
        capacity = len(self._extra_step)
        if self._n_free >= max(count, capacity // 4):
            return
        new_capacity = max(2 * capacity, capacity + 2 * count)
        if new_capacity >= np.iinfo(self._last_refs.dtype).max:
            raise OverflowError(f"FrameStackReplayBuffer: {new_capacity} side frames exceed the reference range")
        frames = np.zeros((new_capacity, *self.frame_shape), dtype=np.uint8)
        frames[:capacity] = self._extra_frames
        self._extra_frames = frames
        self._extra_step = np.concatenate([self._extra_step, np.zeros(new_capacity - capacity, dtype=np.int64)])
        self._extra_used = np.concatenate([self._extra_used, np.zeros(new_capacity - capacity, dtype=bool)])
        free = np.empty(new_capacity, dtype=np.int64)  # room for every slot
        free[: self._n_free] = self._free[: self._n_free]
        added = new_capacity - capacity
        free[self._n_free : self._n_free + added] = np.arange(new_capacity - 1, capacity - 1, -1)
        self._free, self._n_free = free, self._n_free + added

    # ------------------------------------------------------------------ sampling
    def _stacks(self, refs: np.ndarray) -> np.ndarray:
        """Stacks for frame references of shape (..., n_stack): an array (..., *observation shape)."""
        lead = refs.shape[:-1]
        frames = self.frames[np.maximum(refs, 0)]  # (..., n_stack, *frame_shape), one gather
        extra = refs < 0
        if extra.any():
            frames[extra] = self._extra_frames[-1 - refs[extra]]
        assert isinstance(self.obs_shape, tuple)
        if self.stack_axis == 0:
            return frames.reshape(*lead, *self.obs_shape)
        k = len(lead)  # channel-last: (..., n_stack, H, W, c) -> (..., H, W, n_stack * c)
        return np.moveaxis(frames, k, k + 2).reshape(*lead, *self.obs_shape)

    def _gather_obs(self, storage: np.ndarray | dict[str, np.ndarray], flat: np.ndarray) -> np.ndarray:
        """Rebuild the stacks referenced by `storage` (observations or next_observations) at flat indices."""
        pending = self._pending
        if pending is not None and pending[0] is flat:
            if storage is self.observations:
                return pending[1]
            if storage is self.next_observations:
                return pending[2]
        assert isinstance(storage, np.ndarray)
        return self._stacks(storage.reshape(-1, self.n_stack)[flat])

    def _get_samples(self, flat: np.ndarray, env: Any = None) -> ReplayBufferSamples:
        """``ReplayBuffer``'s batch; observations and next observations come from one gather into one array.

        One allocation instead of two matters: freeing two large arrays at once lets glibc return the memory
        to the system, and every later batch then pays page faults (several times the cost of the copy).
        """
        n = self.n_stack
        refs = np.stack([self.observations.reshape(-1, n)[flat], self.next_observations.reshape(-1, n)[flat]])
        both = self._stacks(refs)  # (2, m, *observation shape); both[0] and both[1] are contiguous
        self._pending = (flat, both[0], both[1])
        try:
            return super()._get_samples(flat, env)
        finally:
            self._pending = None

    def truncate_last_trajectory(self) -> None:
        """Mark the newest, unfinished step of each env as a time-limit end (its stored next observation is kept)."""
        if not self.full and self.pos == 0:
            return
        last = (self.pos - 1) % self.buffer_size
        open_envs = self.dones[last] == 0
        self.dones[last, open_envs] = 1.0
        self.timeouts[last, open_envs] = 1.0

    # ------------------------------------------------------------------ save / load
    def _meta(self) -> dict[str, Any]:
        meta = super()._meta()
        meta.update(n_stack=self.n_stack, stack_axis=self.stack_axis, step=self._step)
        return meta

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = super()._arrays()
        arrays.update(
            frames=self.frames,
            extra_frames=self._extra_frames,
            extra_step=self._extra_step,
            extra_used=self._extra_used,
            last_refs=self._last_refs,
            has_last=self._has_last,
        )
        return arrays

    def _set_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
        for key in ("n_stack", "stack_axis"):
            if meta.get(key) != getattr(self, key):
                raise ValueError(
                    f"The replay buffer in {where} does not fit this buffer: its {key} is {meta.get(key)!r}, "
                    f"this buffer's is {getattr(self, key)!r}"
                )
        self._check_frame_arrays(meta, arrays, where)  # before anything is replaced
        super()._set_arrays(meta, arrays, where)  # sizes, reset(), references and per-transition arrays
        capacity = len(arrays["extra_step"])
        self.frames[...] = arrays["frames"]
        self._init_extras(capacity)
        self._extra_frames[...] = arrays["extra_frames"]
        self._extra_step[...] = arrays["extra_step"]
        self._extra_used[...] = arrays["extra_used"].astype(bool)
        free = np.flatnonzero(~self._extra_used)[::-1]
        self._free[: free.size] = free
        self._n_free = free.size
        self._step = int(meta["step"])
        self._last_refs[...] = arrays["last_refs"]
        self._has_last[...] = arrays["has_last"].astype(bool)
        self._last_next[...] = self._stacks(self._last_refs)

    def _check_frame_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
        """Shapes of the saved frame stores and the range of every frame reference (a bad file fails here)."""
        names = ("frames", "extra_frames", "extra_step", "extra_used", "last_refs", "has_last")
        missing = [name for name in names if name not in arrays]
        if missing:
            raise ValueError(f"{where}: missing arrays {missing} of a FrameStackReplayBuffer")
        step = meta.get("step")
        if not isinstance(step, int) or step < 0:
            raise ValueError(f"{where}: 'step' should be an int >= 0, found {step!r}")
        n_envs = int(meta["n_envs"])
        zero_ref = (int(meta["buffer_size"]) + self.n_stack) * n_envs
        capacity = len(arrays["extra_step"])
        expected = {
            "frames": (zero_ref + 1, *self.frame_shape),
            "extra_frames": (capacity, *self.frame_shape),
            "extra_used": (capacity,),
            "last_refs": (n_envs, self.n_stack),
            "has_last": (n_envs,),
        }
        for name, shape in expected.items():
            if arrays[name].shape != shape:
                raise ValueError(f"{where}: array {name!r} should have shape {shape}, found {arrays[name].shape}")
        for name in ("observations", "next_observations", "last_refs"):
            refs = arrays.get(name)
            if refs is None or refs.dtype.kind not in "iu":
                raise ValueError(f"{where}: array {name!r} should hold integer frame references")
            if refs.size and (refs.min() < -capacity or refs.max() > zero_ref):
                raise ValueError(f"{where}: array {name!r} holds frame references outside [-{capacity}, {zero_ref}]")

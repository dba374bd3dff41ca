"""Frame-deduplicated observation layout for stacked image frames (Atari), used by ``FrameStackReplayBuffer``.

After ``VecFrameStack(n_stack)`` two consecutive observations of one env share ``n_stack - 1`` frames, and the
next observation of a step is the observation of the following step, so plain storage holds every frame
``2 * n_stack`` times. ``FrameStackObservations`` stores frames in a frame store and keeps, for every
transition, the index of each frame of its observation and next observation; stacks are rebuilt with one
vectorized gather at sample time, bit-identical to what a plain layout fed the same steps returns.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces


class FrameLayout(NamedTuple):
    """How frames are stacked in an observation: their number, the stack axis (0 or -1) and one frame's shape."""

    n_stack: int
    axis: int
    frame_shape: tuple[int, ...]


class Refusal(NamedTuple):
    """Why an observation space cannot be stored frame by frame: the error to raise and its message."""

    error: type[Exception]
    message: str


def frame_layout(
    observation_space: spaces.Space[Any], n_stack: int, stack_axis: int | str | None = None
) -> FrameLayout:
    """``resolve_frame_layout``, raising its refusal (TypeError or ValueError naming the space) if there is one."""
    layout = resolve_frame_layout(observation_space, n_stack, stack_axis)
    if isinstance(layout, Refusal):
        raise layout.error(layout.message)
    return layout


def resolve_frame_layout(
    observation_space: spaces.Space[Any], n_stack: int, stack_axis: int | str | None = None
) -> FrameLayout | Refusal:
    """The frame layout of stacked images in `observation_space`, or why they cannot be stored frame by frame."""
    if not isinstance(observation_space, spaces.Box):
        return Refusal(
            TypeError,
            "FrameStackReplayBuffer needs a Box image observation space (uint8, 3-D, frames stacked on the first "
            f"or last axis), got {observation_space}; use ReplayBuffer for other spaces",
        )
    if observation_space.dtype != np.uint8:
        return Refusal(
            TypeError,
            f"FrameStackReplayBuffer needs uint8 image observations, got dtype {observation_space.dtype} in "
            f"{observation_space}; use ReplayBuffer for other dtypes",
        )
    shape = observation_space.shape
    if len(shape) != 3:
        return Refusal(
            ValueError,
            f"FrameStackReplayBuffer needs 3-D image observations (C*n_stack, H, W) or (H, W, C*n_stack), "
            f"got shape {shape}",
        )
    if isinstance(n_stack, bool) or not isinstance(n_stack, (int, np.integer)) or n_stack < 1:
        return Refusal(ValueError, f"n_stack must be an int >= 1, got {n_stack!r}")
    n_stack = int(n_stack)
    if stack_axis is None:
        # the stack axis is the first or last one whose size n_stack divides; if both do, the smaller one
        candidates = [axis for axis in (0, -1) if shape[axis] % n_stack == 0]
        if not candidates:
            return Refusal(
                ValueError,
                f"Observation shape {shape} has no first or last axis divisible by n_stack={n_stack}; "
                "check n_stack (frames must be stacked on the first or last axis)",
            )
        if len(candidates) == 2 and shape[0] == shape[2]:
            return Refusal(
                ValueError,
                f"Cannot tell whether the frames of observation shape {shape} are stacked on the first or the "
                "last axis: pass stack_axis=0 (channel-first, (C*n_stack, H, W)) or stack_axis=-1 (channel-last)",
            )
        axis = min(candidates, key=lambda a: shape[a])
    elif stack_axis in (0, "first"):
        axis = 0
    elif stack_axis in (-1, 2, "last"):
        axis = -1
    else:
        return Refusal(ValueError, f"stack_axis must be 0, -1 (or 2), 'first', 'last' or None, got {stack_axis!r}")
    channels = shape[axis]
    if channels % n_stack != 0:
        return Refusal(
            ValueError,
            f"Observation shape {shape} has {channels} channels on axis {axis}, which is not divisible by "
            f"n_stack={n_stack}; check n_stack and stack_axis",
        )
    c = channels // n_stack
    frame_shape = (c, shape[1], shape[2]) if axis == 0 else (shape[0], shape[1], c)
    return FrameLayout(n_stack, axis, frame_shape)


class FrameStackObservations:
    """Observation layout for stacked-frame uint8 images that stores each frame about once.

    ``frames`` is a ring holding the newest frame of every next observation (one frame per transition,
    ``n_stack`` extra steps so the oldest stored transitions stay whole) plus one all-zero frame.
    ``observations`` and ``next_observations`` hold, per transition, ``n_stack`` frame references (int indices:
    ``>= 0`` into ``frames``, ``< 0`` into a small side store of extra frames), *not* images.

    At ``write()`` each frame is compared with the frame it is expected to equal: a frame of the observation
    with the same frame of the previous next observation, a frame of the next observation with the following
    frame of the observation (the stack shifts by one). Matching frames are referenced, not copied; zero frames
    (VecFrameStack's fill after a reset) point at the zero frame; anything else (the first frame of an episode,
    or an env that does not stack as expected) is copied into the side store, so what is read back is always
    exact. Side-store frames are reused once no stored transition can reference them.

    :param excludes_oldest: leave the oldest slot of a full buffer out of sampling (``optimize_memory_usage``,
        so that draws match a ``ReplayBuffer(optimize_memory_usage=True)`` fed the same steps)
    """

    kind = "frames"

    def __init__(self, observation_space: spaces.Box, layout: FrameLayout, excludes_oldest: bool = False) -> None:
        self.n_stack, self.stack_axis, self.frame_shape = layout
        self.obs_shape: tuple[int, ...] = tuple(observation_space.shape)
        self.excludes_oldest = excludes_oldest
        self.buffer_size, self.n_envs = 0, 0

    # ------------------------------------------------------------------ storage
    def _ref_dtype(self) -> np.dtype:
        n_frames = (self.buffer_size + self.n_stack) * self.n_envs + 1
        return np.dtype(np.int32) if n_frames < 2**30 else np.dtype(np.int64)

    def reset(self, buffer_size: int, n_envs: int) -> None:
        """Forget every stored transition and frame."""
        self.buffer_size, self.n_envs = buffer_size, n_envs
        refs = (buffer_size, n_envs, self.n_stack)  # frame references of one observation per transition
        self.observations = np.zeros(refs, dtype=self._ref_dtype())
        self.next_observations = np.zeros(refs, dtype=self._ref_dtype())
        ring = buffer_size + self.n_stack  # steps of frames kept per env
        self._zero_ref = ring * n_envs
        self.frames = np.zeros((self._zero_ref + 1, *self.frame_shape), dtype=np.uint8)
        self._init_extras(max(8, 2 * self.n_stack) * n_envs)
        self._step = 0  # write() calls since reset (absolute, not wrapped)
        self._stacks_size = n_envs * int(np.prod(self.obs_shape))  # elements of one write()'s observations
        self._last_next = np.zeros((n_envs, *self.obs_shape), dtype=np.uint8)  # previous next obs, to compare
        self._last_refs = np.zeros((n_envs, self.n_stack), dtype=self._ref_dtype())
        self._has_last = np.zeros(n_envs, dtype=bool)
        self._equal = np.zeros((n_envs, self.n_stack, *self.frame_shape), dtype=bool)  # write()'s scratch

    def _init_extras(self, capacity: int) -> None:
        self._extra_frames = np.zeros((capacity, *self.frame_shape), dtype=np.uint8)
        self._extra_step = np.zeros(capacity, dtype=np.int64)  # write() step that stored the frame
        self._extra_used = np.zeros(capacity, dtype=bool)
        self._free = np.arange(capacity - 1, -1, -1, dtype=np.int64)  # stack of free slots, top at _n_free - 1
        self._n_free = capacity

    def nbytes(self) -> int:
        """Bytes held by frame references, frames and side stores."""
        arrays: list[np.ndarray] = [
            self.observations,
            self.next_observations,
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
        return sum(array.nbytes for array in arrays)

    @property
    def n_extra_frames(self) -> int:
        """Frames currently held in the side store (episode starts and frames that did not match)."""
        return int(self._extra_used.sum())

    def _as_frames(self, obs: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(stacks (n_envs, *obs_shape) as uint8, a view of them as frames (n_envs, n_stack, *frame_shape))."""
        array = np.asarray(obs)
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

    def write(self, slot: int, obs: Any, next_obs: Any, done: np.ndarray) -> None:
        """Store the frame references of one vec-env step, copying only frames not seen before."""
        if isinstance(obs, dict) or isinstance(next_obs, dict):
            raise TypeError("FrameStackReplayBuffer stores image arrays, got a dict observation")
        _, obs_frames = self._as_frames(obs, "obs")
        next_stacks, next_frames = self._as_frames(next_obs, "next_obs")
        n_envs, n_stack = self.n_envs, self.n_stack

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

    def truncate(self, slot: int, open_envs: np.ndarray) -> None:
        """Nothing to do: the stored next observation stays the step's next observation."""

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

    # ------------------------------------------------------------------ reading
    def stacks(self, refs: np.ndarray) -> np.ndarray:
        """Stacks for frame references of shape (..., n_stack): an array (..., *observation shape)."""
        lead = refs.shape[:-1]
        frames: np.ndarray = self.frames[np.maximum(refs, 0)]  # (..., n_stack, *frame_shape), one gather
        extra = refs < 0
        if extra.any():
            frames[extra] = self._extra_frames[-1 - refs[extra]]
        if self.stack_axis == 0:
            return frames.reshape(*lead, *self.obs_shape)
        k = len(lead)  # channel-last: (..., n_stack, H, W, c) -> (..., H, W, n_stack * c)
        return np.moveaxis(frames, k, k + 2).reshape(*lead, *self.obs_shape)

    def gather(self, flat: np.ndarray, next_flat: np.ndarray, dones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Observations and next observations rebuilt by one gather into one array.

        One allocation instead of two matters: freeing two large arrays at once lets glibc return the memory
        to the system, and every later batch then pays page faults (several times the cost of the copy).
        """
        n = self.n_stack
        refs = np.stack([self.observations.reshape(-1, n)[flat], self.next_observations.reshape(-1, n)[next_flat]])
        both = self.stacks(refs)  # (2, m, *observation shape); both[0] and both[1] are contiguous
        return both[0], both[1]

    # ------------------------------------------------------------------ save / load
    def meta(self) -> dict[str, Any]:
        return dict(n_stack=self.n_stack, stack_axis=self.stack_axis, step=self._step)

    def arrays(self) -> dict[str, np.ndarray]:
        return dict(
            observations=self.observations,
            next_observations=self.next_observations,
            frames=self.frames,
            extra_frames=self._extra_frames,
            extra_step=self._extra_step,
            extra_used=self._extra_used,
            last_refs=self._last_refs,
            has_last=self._has_last,
        )

    def check_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
        """The layout, the shapes of the saved frame stores and the range of every frame reference."""
        for key, own in (("n_stack", self.n_stack), ("stack_axis", self.stack_axis)):
            if meta.get(key) != own:
                raise ValueError(
                    f"The replay buffer in {where} does not fit this buffer: its {key} is {meta.get(key)!r}, "
                    f"this buffer's is {own!r}"
                )
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

    def set_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
        """Fill a freshly reset layout (sized by `meta`) with arrays that passed ``check_arrays``."""
        for name, target in (("observations", self.observations), ("next_observations", self.next_observations)):
            if arrays[name].shape != target.shape:
                raise ValueError(
                    f"{where}: array {name!r} should have shape {target.shape}, found {arrays[name].shape}"
                )
            target[...] = arrays[name]
        self.frames[...] = arrays["frames"]
        self._init_extras(len(arrays["extra_step"]))
        self._extra_frames[...] = arrays["extra_frames"]
        self._extra_step[...] = arrays["extra_step"]
        self._extra_used[...] = arrays["extra_used"].astype(bool)
        free = np.flatnonzero(~self._extra_used)[::-1]
        self._free[: free.size] = free
        self._n_free = free.size
        self._step = int(meta["step"])
        self._last_refs[...] = arrays["last_refs"]
        self._has_last[...] = arrays["has_last"].astype(bool)
        self._last_next[...] = self.stacks(self._last_refs)

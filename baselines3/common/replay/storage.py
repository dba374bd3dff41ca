"""What a replay buffer keeps: a ring of transitions whose observations are held by one of three layouts.

``TransitionStorage`` holds the per-step fields every replay buffer has (actions, rewards, dones, time-limit
flags) as preallocated ``(buffer_size // n_envs, n_envs, ...)`` arrays, the write position, and an observation
layout that decides how observations and next observations are stored:

- ``PlainObservations``: one array for observations, one for next observations;
- ``SharedNextObservations``: observations only; the next observation of a step is the following slot's
  observation, and the terminal observations of finished episodes are kept on the side, so what is read back
  is exactly what a plain layout returns;
- ``FrameStackObservations`` (``frame_storage.py``): stacked image frames, each frame kept about once.

Every layout answers ``gather(flat, next_flat, dones)``: the observations at flat indices ``flat`` and the next
observations of the steps at ``next_flat`` (a sampler may read the next observation of a later step).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from gymnasium import spaces

from baselines3.common.preprocessing import get_action_dim, get_obs_shape

Obs = np.ndarray | dict[str, np.ndarray]


def dtype_or_float32(space: spaces.Space[Any]) -> np.dtype:
    return np.dtype(space.dtype) if space.dtype is not None else np.dtype(np.float32)


def action_dtype(space: spaces.Space[Any]) -> np.dtype:
    """The replay buffer's action dtype: the space's own, except float64, kept as float32 (as SB3 does)."""
    dtype = dtype_or_float32(space)
    return np.dtype(np.float32) if dtype == np.float64 else dtype


def select_env(obs: Any, env_idx: int | np.integer) -> Any:
    """A copy of env `env_idx`'s part of a batch of observations."""
    if isinstance(obs, dict):
        return {key: np.array(value[env_idx]) for key, value in obs.items()}
    return np.array(obs[env_idx])


def take(storage: Obs, flat: np.ndarray) -> Any:
    """Rows `flat` (slot * n_envs + env) of (slots, n_envs, ...) observation arrays."""
    if isinstance(storage, dict):
        return {key: array.reshape(-1, *array.shape[2:])[flat] for key, array in storage.items()}
    return storage.reshape(-1, *storage.shape[2:])[flat]


def _allocate(observation_space: spaces.Space[Any], slots: int, n_envs: int) -> Obs:
    shape = get_obs_shape(observation_space)
    if isinstance(observation_space, spaces.Dict):
        assert isinstance(shape, dict)
        return {
            key: np.zeros((slots, n_envs, *part), dtype=dtype_or_float32(observation_space.spaces[key]))
            for key, part in shape.items()
        }
    assert isinstance(shape, tuple)
    return np.zeros((slots, n_envs, *shape), dtype=dtype_or_float32(observation_space))


def _write(storage: Obs, slot: int, obs: Any) -> None:
    if isinstance(storage, dict):
        for key, array in storage.items():
            array[slot] = np.asarray(obs[key]).reshape(array.shape[1:])
    else:
        storage[slot] = np.asarray(obs).reshape(storage.shape[1:])


def _named(name: str, storage: Obs | None) -> dict[str, np.ndarray]:
    """The arrays of `storage` under their saved names (``name`` or ``name/key`` for Dict observations)."""
    if isinstance(storage, dict):
        return {f"{name}/{key}": value for key, value in storage.items()}
    return {} if storage is None else {name: storage}


def _nbytes(storage: Obs | None) -> int:
    if isinstance(storage, dict):
        return sum(part.nbytes for part in storage.values())
    return 0 if storage is None else storage.nbytes


class ObservationLayout(Protocol):
    """How a ``TransitionStorage`` keeps observations (see the module docstring)."""

    #: "plain", "shared_next_obs" or "frames": recorded in saved files, which load only into the same kind
    kind: str
    #: whether the oldest slot of a full buffer must not be sampled (its observation was overwritten)
    excludes_oldest: bool
    observations: Any
    next_observations: Any

    def reset(self, buffer_size: int, n_envs: int) -> None: ...

    def write(self, slot: int, obs: Any, next_obs: Any, done: np.ndarray) -> None: ...

    def gather(self, flat: np.ndarray, next_flat: np.ndarray, dones: np.ndarray) -> tuple[Any, Any]: ...

    def truncate(self, slot: int, open_envs: np.ndarray) -> None: ...

    def nbytes(self) -> int: ...

    def meta(self) -> dict[str, Any]: ...

    def arrays(self) -> dict[str, np.ndarray]: ...

    def check_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None: ...

    def set_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None: ...


def _fill(targets: dict[str, np.ndarray], arrays: dict[str, np.ndarray], where: str) -> None:
    """Copy saved arrays into `targets`, each of the same shape."""
    for name, target in targets.items():
        if name not in arrays or arrays[name].shape != target.shape:
            found = arrays[name].shape if name in arrays else "nothing"
            raise ValueError(f"{where}: array {name!r} should have shape {target.shape}, found {found}")
        target[...] = arrays[name]


class PlainObservations:
    """Observations and next observations in two arrays of the observation space's dtype (one per Dict key)."""

    kind = "plain"
    excludes_oldest = False

    def __init__(self, observation_space: spaces.Space[Any]) -> None:
        self.observation_space = observation_space
        self.observations: Obs = np.zeros(0)
        self.next_observations: Obs = np.zeros(0)

    def reset(self, buffer_size: int, n_envs: int) -> None:
        self.observations = _allocate(self.observation_space, buffer_size, n_envs)
        self.next_observations = _allocate(self.observation_space, buffer_size, n_envs)

    def write(self, slot: int, obs: Any, next_obs: Any, done: np.ndarray) -> None:
        _write(self.observations, slot, obs)
        _write(self.next_observations, slot, next_obs)

    def gather(self, flat: np.ndarray, next_flat: np.ndarray, dones: np.ndarray) -> tuple[Any, Any]:
        return take(self.observations, flat), take(self.next_observations, next_flat)

    def truncate(self, slot: int, open_envs: np.ndarray) -> None:
        """Nothing to do: the stored next observation stays the step's next observation."""

    def nbytes(self) -> int:
        return _nbytes(self.observations) + _nbytes(self.next_observations)

    def meta(self) -> dict[str, Any]:
        return {}

    def arrays(self) -> dict[str, np.ndarray]:
        return {**_named("observations", self.observations), **_named("next_observations", self.next_observations)}

    def check_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
        """Shapes are checked while filling."""

    def set_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
        _fill(self.arrays(), arrays, where)


class SharedNextObservations:
    """Observations only: the next observation of slot t is the observation of slot t + 1 (memory halved).

    The terminal observations of finished episodes (which the following slot does not hold: it holds the
    reset observation) are kept on the side, keyed by flat index (slot * n_envs + env)."""

    kind = "shared_next_obs"
    excludes_oldest = True  # when full, the oldest slot's observation is the newest step's next observation
    next_observations = None

    def __init__(self, observation_space: spaces.Space[Any]) -> None:
        self.observation_space = observation_space
        self.observations: Obs = np.zeros(0)
        self.terminal_observations: dict[int, Any] = {}
        self.slots, self.n_envs = 0, 0

    def reset(self, buffer_size: int, n_envs: int) -> None:
        self.slots, self.n_envs = buffer_size, n_envs
        self.observations = _allocate(self.observation_space, buffer_size, n_envs)
        self.terminal_observations = {}

    def write(self, slot: int, obs: Any, next_obs: Any, done: np.ndarray) -> None:
        _write(self.observations, slot, obs)
        for env_idx in range(self.n_envs):
            self.terminal_observations.pop(slot * self.n_envs + env_idx, None)
        _write(self.observations, (slot + 1) % self.slots, next_obs)
        for done_idx in np.flatnonzero(done):
            self.terminal_observations[slot * self.n_envs + int(done_idx)] = select_env(next_obs, done_idx)

    def gather(self, flat: np.ndarray, next_flat: np.ndarray, dones: np.ndarray) -> tuple[Any, Any]:
        slots, envs = np.divmod(next_flat, self.n_envs)
        next_obs = take(self.observations, ((slots + 1) % self.slots) * self.n_envs + envs)
        if self.terminal_observations:
            for row in np.flatnonzero(dones.reshape(-1)[next_flat]):
                terminal = self.terminal_observations[int(next_flat[row])]
                if isinstance(next_obs, dict):
                    for key in next_obs:
                        next_obs[key][row] = terminal[key]
                else:
                    next_obs[row] = terminal
        return take(self.observations, flat), next_obs

    def truncate(self, slot: int, open_envs: np.ndarray) -> None:
        """Keep the stored next observation of the newest step of `open_envs` as their terminal observation."""
        following = (slot + 1) % self.slots
        for env_idx in np.flatnonzero(open_envs):
            nxt = take(self.observations, np.asarray([following * self.n_envs + env_idx]))
            self.terminal_observations[slot * self.n_envs + int(env_idx)] = select_env(nxt, 0)

    def nbytes(self) -> int:
        return _nbytes(self.observations)

    def meta(self) -> dict[str, Any]:
        return {}

    def arrays(self) -> dict[str, np.ndarray]:
        arrays = _named("observations", self.observations)
        if self.terminal_observations:
            keys = sorted(self.terminal_observations)
            arrays["terminal_keys"] = np.asarray(keys, dtype=np.int64)
            first = self.terminal_observations[keys[0]]
            if isinstance(first, dict):
                for key in first:
                    arrays[f"terminal_observations/{key}"] = np.stack(
                        [self.terminal_observations[k][key] for k in keys]
                    )
            else:
                arrays["terminal_observations"] = np.stack([self.terminal_observations[k] for k in keys])
        return arrays

    def check_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
        """Shapes are checked while filling."""

    def set_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
        _fill(_named("observations", self.observations), arrays, where)
        if "terminal_keys" not in arrays:
            return
        keys = arrays["terminal_keys"].tolist()
        if isinstance(self.observations, dict):
            for i, k in enumerate(keys):
                self.terminal_observations[k] = {
                    key: arrays[f"terminal_observations/{key}"][i] for key in self.observations
                }
        else:
            for i, k in enumerate(keys):
                self.terminal_observations[k] = arrays["terminal_observations"][i]


class TransitionStorage:
    """A FIFO ring of `buffer_size // n_envs` vec-env steps of `n_envs` envs, observations kept by `layout`.

    Observations are stored in their space's dtype; actions too, except that float64 actions are stored as
    float32 (SB3's rule). `dones` is the env's done flag; `timeouts` marks the dones that were time-limit
    truncations (only with `handle_timeout_termination`)."""

    def __init__(
        self,
        layout: ObservationLayout,
        action_space: spaces.Space[Any],
        buffer_size: int,
        n_envs: int,
        handle_timeout_termination: bool = True,
    ) -> None:
        if buffer_size < 1:
            raise ValueError(f"buffer_size must be >= 1, got {buffer_size}")
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")
        self.layout = layout
        self.action_space = action_space
        self.action_dim = get_action_dim(action_space)
        self.buffer_size = max(buffer_size // n_envs, 1)
        self.n_envs = n_envs
        self.handle_timeout_termination = handle_timeout_termination
        self.reset()

    def reset(self) -> None:
        """Forget every stored transition (arrays sized by `buffer_size` and `n_envs`)."""
        n = (self.buffer_size, self.n_envs)
        self.layout.reset(self.buffer_size, self.n_envs)
        self.actions = np.zeros((*n, self.action_dim), dtype=action_dtype(self.action_space))
        self.rewards = np.zeros(n, dtype=np.float32)
        self.dones = np.zeros(n, dtype=np.float32)
        self.timeouts = np.zeros(n, dtype=np.float32)
        self.pos = 0
        self.full = False

    def size(self) -> int:
        """Number of stored steps per env."""
        return self.buffer_size if self.full else self.pos

    def nbytes(self) -> int:
        fields = (self.actions, self.rewards, self.dones, self.timeouts)
        return self.layout.nbytes() + sum(array.nbytes for array in fields)

    def add(self, obs: Any, next_obs: Any, action: Any, reward: Any, done: Any, infos: list[dict[str, Any]]) -> None:
        """Store one vec-env step. Every argument is checked before anything is written."""
        pos = self.pos
        action = np.asarray(action).reshape(self.n_envs, self.action_dim)
        reward = np.asarray(reward).reshape(self.n_envs)
        done = np.asarray(done).reshape(self.n_envs)
        # always written: a flag left by truncate_last() must not outlive the slot
        timeouts = (
            [info.get("TimeLimit.truncated", False) for info in infos] if self.handle_timeout_termination else 0.0
        )
        self.layout.write(pos, obs, next_obs, done)
        self.actions[pos] = action
        self.rewards[pos] = reward
        self.dones[pos] = done
        self.timeouts[pos] = timeouts
        self.pos += 1
        if self.pos == self.buffer_size:
            self.full = True
            self.pos = 0

    def newest_slot(self) -> int | None:
        """Slot of the newest stored step (None while empty)."""
        if not self.full and self.pos == 0:
            return None
        return (self.pos - 1) % self.buffer_size

    def truncate_last(self) -> np.ndarray:
        """Mark the newest, unfinished step of each env as a time-limit end; returns the envs that were open."""
        last = self.newest_slot()
        if last is None:
            return np.zeros(self.n_envs, dtype=bool)
        open_envs: np.ndarray = self.dones[last] == 0
        self.layout.truncate(last, open_envs)
        self.dones[last, open_envs] = 1.0
        self.timeouts[last, open_envs] = 1.0
        return open_envs

    # ------------------------------------------------------------------ reading
    def observation_pair(self, flat: np.ndarray, next_flat: np.ndarray) -> tuple[Any, Any]:
        """Observations of the steps at `flat` and next observations of the steps at `next_flat`."""
        return self.layout.gather(flat, next_flat, self.dones)

    def terminated(self, flat: np.ndarray) -> np.ndarray:
        """1 where the step at `flat` ended its episode by termination (a time-limit end is not one)."""
        terminated: np.ndarray = self.dones.reshape(-1)[flat] * (1.0 - self.timeouts.reshape(-1)[flat])
        return terminated

    # ------------------------------------------------------------------ save / load
    def meta(self) -> dict[str, Any]:
        return dict(
            buffer_size=self.buffer_size,
            n_envs=self.n_envs,
            handle_timeout_termination=self.handle_timeout_termination,
            pos=self.pos,
            full=self.full,
            storage=self.layout.kind,
            **self.layout.meta(),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        fields = dict(actions=self.actions, rewards=self.rewards, dones=self.dones, timeouts=self.timeouts)
        return {**fields, **self.layout.arrays()}

    def set_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
        """Replace the contents with saved arrays; `meta` gives the sizes, position and timeout handling."""
        self.layout.check_arrays(meta, arrays, where)  # before anything is replaced
        self.buffer_size, self.n_envs = int(meta["buffer_size"]), int(meta["n_envs"])
        self.handle_timeout_termination = bool(meta["handle_timeout_termination"])
        self.reset()
        fields = dict(actions=self.actions, rewards=self.rewards, dones=self.dones, timeouts=self.timeouts)
        _fill(fields, arrays, where)
        self.layout.set_arrays(meta, arrays, where)
        self.pos, self.full = int(meta["pos"]), bool(meta["full"])

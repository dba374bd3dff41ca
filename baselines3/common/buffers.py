"""Rollout storage for on-policy algorithms.

Data is written into preallocated numpy arrays during collection (cheap per-step writes) and converted to
tensors once per rollout, never per minibatch.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator
from typing import Any, NamedTuple

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.losses import compute_gae
from baselines3.common.preprocessing import get_action_dim, get_obs_shape

TensorObs = torch.Tensor | dict[str, torch.Tensor]


class RolloutBatch(NamedTuple):
    """One minibatch of a rollout. `mask` is None for feed-forward policies (every sample is real)."""

    observations: TensorObs
    actions: torch.Tensor
    old_values: torch.Tensor
    old_log_prob: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    episode_starts: torch.Tensor | None = None
    states: Any = None
    mask: torch.Tensor | None = None


RolloutBufferSamples = RolloutBatch  # SB3's name


class RolloutBuffer:
    """Stores `n_steps` transitions of `n_envs` envs, computes GAE, then yields shuffled minibatches."""

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        gae_lambda: float = 1.0,
        gamma: float = 0.99,
        n_envs: int = 1,
    ) -> None:
        from baselines3.common.utils import get_device

        self.buffer_size = buffer_size
        self.observation_space = observation_space
        self.action_space = action_space
        self.device = get_device(device)
        self.gae_lambda = gae_lambda
        self.gamma = gamma
        self.n_envs = n_envs
        self.obs_shape = get_obs_shape(observation_space)
        self.action_dim = get_action_dim(action_space)
        self.generator_ready = False
        self.reset()

    def _obs_array(self, shape: tuple[int, ...], space: spaces.Space) -> np.ndarray:
        dtype = space.dtype if space.dtype is not None else np.float32
        return np.zeros((self.buffer_size, self.n_envs, *shape), dtype=dtype)

    def reset(self) -> None:
        if isinstance(self.observation_space, spaces.Dict):
            assert isinstance(self.obs_shape, dict)
            self.observations: np.ndarray | dict[str, np.ndarray] = {
                key: self._obs_array(shape, self.observation_space.spaces[key]) for key, shape in self.obs_shape.items()
            }
        else:
            assert isinstance(self.obs_shape, tuple)
            self.observations = self._obs_array(self.obs_shape, self.observation_space)
        shape = (self.buffer_size, self.n_envs)
        # stored in the action space's own dtype (int64 for Discrete, float64 for a float64 Box), handed out as
        # float32 by get(), as SB3 does; the policy turns discrete actions back into indices
        self.actions = np.zeros((*shape, self.action_dim), dtype=_dtype_or_float32(self.action_space))
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.episode_starts = np.zeros(shape, dtype=np.float32)
        self.values = np.zeros(shape, dtype=np.float32)
        self.log_probs = np.zeros(shape, dtype=np.float32)
        self.advantages = np.zeros(shape, dtype=np.float32)
        self.returns = np.zeros(shape, dtype=np.float32)
        self.states: list[Any] = []
        self.pos = 0
        self.full = False
        self.generator_ready = False
        self._tensors: dict[str, Any] | None = None

    def size(self) -> int:
        return self.buffer_size if self.full else self.pos

    def add(
        self,
        obs: np.ndarray | dict[str, np.ndarray],
        action: np.ndarray,
        reward: np.ndarray,
        episode_start: np.ndarray,
        value: np.ndarray,
        log_prob: np.ndarray,
        state: Any = None,
    ) -> None:
        """Store one vec-env step. `state` is the policy's hidden state before this step (None if it has none)."""
        if self.full:
            raise RuntimeError(f"RolloutBuffer is full ({self.buffer_size} steps); call reset() first")
        pos = self.pos
        if isinstance(self.observations, dict):
            assert isinstance(obs, dict)
            for key, array in self.observations.items():
                array[pos] = np.asarray(obs[key]).reshape(array.shape[1:])
        else:
            self.observations[pos] = np.asarray(obs).reshape(self.observations.shape[1:])
        self.actions[pos] = np.asarray(action).reshape(self.n_envs, self.action_dim)
        self.rewards[pos] = reward
        self.episode_starts[pos] = episode_start
        self.values[pos] = value
        self.log_probs[pos] = log_prob
        if state is not None:
            self.states.append(state)
        self.pos += 1
        if self.pos == self.buffer_size:
            self.full = True

    def compute_returns_and_advantage(self, last_values: np.ndarray | torch.Tensor, dones: np.ndarray) -> None:
        """GAE advantages and lambda-returns; `last_values` are V(obs after the last step)."""
        if isinstance(last_values, torch.Tensor):
            last_values = last_values.detach().cpu().numpy()
        self.advantages, self.returns = compute_gae(
            self.rewards,
            self.values,
            self.episode_starts,
            np.asarray(last_values, dtype=np.float32).flatten(),
            np.asarray(dones),
            self.gamma,
            self.gae_lambda,
        )

    def _to_tensors(self) -> dict[str, Any]:
        """Flatten (n_steps, n_envs, ...) to (n_steps * n_envs, ...) and move to torch, once per rollout."""
        n = self.buffer_size * self.n_envs

        def flat(array: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(array.reshape(n, *array.shape[2:]), device=self.device)

        if isinstance(self.observations, dict):
            observations: TensorObs = {key: flat(array) for key, array in self.observations.items()}
        else:
            observations = flat(self.observations)
        tensors: dict[str, Any] = dict(
            observations=observations,
            actions=flat(self.actions.astype(np.float32, copy=False)),
            old_values=flat(self.values),
            old_log_prob=flat(self.log_probs),
            advantages=flat(self.advantages),
            returns=flat(self.returns),
        )
        if self.states:
            # per state part: (n_steps, n_layers, n_envs, hidden), indexed [step, :, env] for a sequence start
            tensors["states"] = tuple(torch.stack(parts).to(self.device) for parts in zip(*self.states))
            tensors["episode_starts"] = flat(self.episode_starts)
        return tensors

    def get(self, batch_size: int | None = None) -> Generator[RolloutBatch, None, None]:
        """Yield minibatches covering the rollout once in random order (the whole rollout if `batch_size` is None).

        With hidden states stored (recurrent policies) a minibatch is a set of whole sequences, see
        `_sequence_batches`."""
        assert self.full, "The rollout buffer must be full before sampling"
        if self._tensors is None:
            self._tensors = self._to_tensors()
        tensors = self._tensors
        if self.states:
            yield from self._sequence_batches(tensors, batch_size)
            return
        n = self.buffer_size * self.n_envs
        if batch_size is None or batch_size >= n:
            # one minibatch of everything: order does not change mean losses, so skip the shuffle
            yield RolloutBatch(**tensors)
            return
        indices = torch.randperm(n, device=self.device)
        for start in range(0, n, batch_size):
            yield self._batch(tensors, indices[start : start + batch_size])

    def sequences(self) -> list[tuple[int, int, int]]:
        """(env, first step, length) of every piece of the rollout between episode starts, env by env."""
        pieces = []
        for env in range(self.n_envs):
            cuts = [0, *[int(t) for t in np.flatnonzero(self.episode_starts[1:, env]) + 1], self.buffer_size]
            pieces += [(env, start, end - start) for start, end in itertools.pairwise(cuts)]
        return pieces

    def _sequence_batches(self, tensors: dict[str, Any], batch_size: int | None) -> Generator[RolloutBatch, None, None]:
        """Minibatches of whole sequences (cut at episode starts), in random order, each holding at least
        `batch_size` steps (all sequences when None). Sequences are padded to the longest one and laid out
        time-major, (max_len * n_sequences, ...); `mask` marks the real steps and `states` holds each
        sequence's hidden state before its first step."""
        pieces = self.sequences()
        if batch_size is None:
            yield self._padded_batch(tensors, pieces)
            return
        order = torch.randperm(len(pieces)).tolist()
        chosen: list[tuple[int, int, int]] = []
        steps = 0
        for index in order:
            chosen.append(pieces[index])
            steps += pieces[index][2]
            if steps >= batch_size:
                yield self._padded_batch(tensors, chosen)
                chosen, steps = [], 0
        if chosen:
            yield self._padded_batch(tensors, chosen)

    def _padded_batch(self, tensors: dict[str, Any], pieces: list[tuple[int, int, int]]) -> RolloutBatch:
        envs = torch.tensor([p[0] for p in pieces], device=self.device)
        starts = torch.tensor([p[1] for p in pieces], device=self.device)
        lengths = torch.tensor([p[2] for p in pieces], device=self.device)
        max_len = int(lengths.max())
        offsets = torch.arange(max_len, device=self.device).unsqueeze(1)  # (T, 1)
        mask = offsets < lengths.unsqueeze(0)  # (T, N)
        steps = torch.where(mask, starts.unsqueeze(0) + offsets, starts.unsqueeze(0))  # padding repeats step 0
        idx = (steps * self.n_envs + envs.unsqueeze(0)).reshape(-1)
        batch = self._batch(tensors, idx)
        states = tuple(stacked[starts, :, envs].transpose(0, 1) for stacked in tensors["states"])
        flat_mask = mask.reshape(-1).to(torch.float32)
        return batch._replace(
            # padding never starts an episode: the LSTM then runs each minibatch in one call
            episode_starts=tensors["episode_starts"][idx] * flat_mask,
            states=states,
            mask=flat_mask,
        )

    @staticmethod
    def _batch(tensors: dict[str, Any], idx: torch.Tensor) -> RolloutBatch:
        obs = tensors["observations"]
        observations = {k: v[idx] for k, v in obs.items()} if isinstance(obs, dict) else obs[idx]
        return RolloutBatch(
            observations=observations,
            actions=tensors["actions"][idx],
            old_values=tensors["old_values"][idx],
            old_log_prob=tensors["old_log_prob"][idx],
            advantages=tensors["advantages"][idx],
            returns=tensors["returns"][idx],
        )


class DictRolloutBuffer(RolloutBuffer):
    """The rollout buffer for Dict observation spaces (SB3's class, which on-policy models pick for them).

    RolloutBuffer itself stores Dict observations (one array per key); this subclass only refuses any other
    observation space, so code that tells the two apart with isinstance sees what it would see with SB3."""

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Dict,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        gae_lambda: float = 1.0,
        gamma: float = 0.99,
        n_envs: int = 1,
    ) -> None:
        _require_dict_space(type(self), observation_space)
        super().__init__(buffer_size, observation_space, action_space, device, gae_lambda, gamma, n_envs)


def _require_dict_space(cls: type, observation_space: spaces.Space) -> None:
    if not isinstance(observation_space, spaces.Dict):
        raise ValueError(f"{cls.__name__} is for Dict observation spaces, got {observation_space}")


def _dtype_or_float32(space: spaces.Space) -> np.dtype:
    return np.dtype(space.dtype) if space.dtype is not None else np.dtype(np.float32)


# ----------------------------------------------------------------------------------------------------------
# Off-policy storage
# ----------------------------------------------------------------------------------------------------------


class ReplayBufferSamples(NamedTuple):
    """A batch of transitions. `dones` is 1 only where the episode *terminated* (a time-limit truncation is not
    an end: its next observation is bootstrapped). `discounts` is gamma**n for n-step returns, else None."""

    observations: TensorObs
    actions: torch.Tensor
    next_observations: TensorObs
    dones: torch.Tensor
    rewards: torch.Tensor
    discounts: torch.Tensor | None = None


DictReplayBufferSamples = ReplayBufferSamples  # SB3's name


def _action_dtype(space: spaces.Space) -> np.dtype:
    """The replay buffer's action dtype: the space's own, except float64, kept as float32 (as SB3 does)."""
    dtype = _dtype_or_float32(space)
    return np.dtype(np.float32) if dtype == np.float64 else dtype


#: Buffer classes whose saved files hold the same arrays (DictReplayBuffer only restricts the observation space).
_SAME_STORAGE = {"ReplayBuffer", "DictReplayBuffer"}


class ReplayBuffer:
    """FIFO store of `buffer_size` transitions (split evenly over `n_envs`), sampled uniformly.

    Arrays are preallocated as (buffer_size // n_envs, n_envs, ...). With `optimize_memory_usage=True` the next
    observation of a step is the observation of the following slot, so observations are stored once; the
    terminal observations of finished episodes are kept on the side, so sampled transitions are exactly what
    a plain buffer would return (and time limits can still be bootstrapped, unlike SB3's variant).

    Observations are stored in their space's dtype; actions too, except that float64 actions are stored as
    float32 (SB3's rule).
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
    ) -> None:
        if buffer_size < 1:
            raise ValueError(f"buffer_size must be >= 1, got {buffer_size}")
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")
        from baselines3.common.utils import get_device

        self.buffer_size = max(buffer_size // n_envs, 1)
        self.observation_space = observation_space
        self.action_space = action_space
        self.device = get_device(device)
        self.n_envs = n_envs
        self.optimize_memory_usage = optimize_memory_usage
        self.handle_timeout_termination = handle_timeout_termination
        self.obs_shape = get_obs_shape(observation_space)
        self.action_dim = get_action_dim(action_space)
        if optimize_memory_usage and self.buffer_size < 2:
            raise ValueError(
                f"optimize_memory_usage=True needs at least 2 slots per env, got buffer_size={buffer_size} for "
                f"n_envs={n_envs}: the next observation is stored in the following slot"
            )
        self.reset()

    # ------------------------------------------------------------------ storage
    def _obs_storage(self) -> np.ndarray | dict[str, np.ndarray]:
        n = (self.buffer_size, self.n_envs)
        if isinstance(self.observation_space, spaces.Dict):
            assert isinstance(self.obs_shape, dict)
            return {
                key: np.zeros((*n, *shape), dtype=_dtype_or_float32(self.observation_space.spaces[key]))
                for key, shape in self.obs_shape.items()
            }
        assert isinstance(self.obs_shape, tuple)
        return np.zeros((*n, *self.obs_shape), dtype=_dtype_or_float32(self.observation_space))

    def reset(self) -> None:
        """Forget every stored transition."""
        n = (self.buffer_size, self.n_envs)
        self.observations = self._obs_storage()
        self.next_observations = None if self.optimize_memory_usage else self._obs_storage()
        self.actions = np.zeros((*n, self.action_dim), dtype=_action_dtype(self.action_space))
        self.rewards = np.zeros(n, dtype=np.float32)
        self.dones = np.zeros(n, dtype=np.float32)
        self.timeouts = np.zeros(n, dtype=np.float32)
        # optimize_memory_usage: terminal observations, keyed by flat slot index (pos * n_envs + env)
        self.terminal_observations: dict[int, Any] = {}
        self.pos = 0
        self.full = False

    def size(self) -> int:
        """Number of stored steps per env."""
        return self.buffer_size if self.full else self.pos

    def nbytes(self) -> int:
        """Bytes held by the stored arrays."""
        arrays = [self.observations, self.next_observations, self.actions, self.rewards, self.dones, self.timeouts]
        total = 0
        for array in arrays:
            if isinstance(array, dict):
                total += sum(part.nbytes for part in array.values())
            elif array is not None:
                total += array.nbytes
        return total

    def _write_obs(self, storage: np.ndarray | dict[str, np.ndarray], slot: int, obs: Any) -> None:
        if isinstance(storage, dict):
            for key, array in storage.items():
                array[slot] = np.asarray(obs[key]).reshape(array.shape[1:])
        else:
            storage[slot] = np.asarray(obs).reshape(storage.shape[1:])

    def add(
        self,
        obs: np.ndarray | dict[str, np.ndarray],
        next_obs: np.ndarray | dict[str, np.ndarray],
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        """Store one vec-env step. `next_obs` holds the terminal observation for envs whose episode ended."""
        pos = self.pos
        self._write_obs(self.observations, pos, obs)
        if self.next_observations is not None:
            self._write_obs(self.next_observations, pos, next_obs)
        else:
            for env_idx in range(self.n_envs):
                self.terminal_observations.pop(pos * self.n_envs + env_idx, None)
            self._write_obs(self.observations, (pos + 1) % self.buffer_size, next_obs)
            for done_idx in np.flatnonzero(done):
                self.terminal_observations[pos * self.n_envs + int(done_idx)] = _select_env(next_obs, done_idx)
        self.actions[pos] = np.asarray(action).reshape(self.n_envs, self.action_dim)
        self.rewards[pos] = np.asarray(reward).reshape(self.n_envs)
        self.dones[pos] = np.asarray(done).reshape(self.n_envs)
        # always written: a flag left by truncate_last_trajectory() must not outlive the slot
        if self.handle_timeout_termination:
            self.timeouts[pos] = [info.get("TimeLimit.truncated", False) for info in infos]
        else:
            self.timeouts[pos] = 0.0
        self.pos += 1
        if self.pos == self.buffer_size:
            self.full = True
            self.pos = 0

    # ------------------------------------------------------------------ sampling
    def _sample_indices(self, n: int) -> np.ndarray:
        """Flat indices (slot * n_envs + env) of `n` uniformly drawn stored transitions."""
        if self.full:
            if self.optimize_memory_usage:
                # slot `pos` is the oldest transition, whose observation the newest next-observation overwrote
                slots = (np.random.randint(1, self.buffer_size, size=n) + self.pos) % self.buffer_size
            else:
                slots = np.random.randint(0, self.buffer_size, size=n)
        else:
            if self.pos == 0:
                raise ValueError("Cannot sample from an empty replay buffer")
            slots = np.random.randint(0, self.pos, size=n)
        envs = np.random.randint(0, self.n_envs, size=n)
        return slots * self.n_envs + envs

    def sample(self, batch_size: int, env: Any = None) -> ReplayBufferSamples:
        """`batch_size` transitions drawn uniformly (with replacement). `env`: a VecNormalize to normalize with."""
        return self._get_samples(self._sample_indices(batch_size), env)

    def sample_batches(self, batch_size: int, n_batches: int, env: Any = None) -> list[ReplayBufferSamples]:
        """`n_batches` independent batches gathered at once: the same draws as `n_batches` calls to `sample`
        while the buffer does not change, with one gather instead of one per batch."""
        indices = np.concatenate([self._sample_indices(batch_size) for _ in range(n_batches)])
        everything = self._get_samples(indices, env)
        fields = [_split(value, batch_size) if value is not None else [None] * n_batches for value in everything]
        return [ReplayBufferSamples(*parts) for parts in zip(*fields)]

    def _gather_obs(self, storage: np.ndarray | dict[str, np.ndarray], flat: np.ndarray) -> Any:
        def take(array: np.ndarray) -> np.ndarray:
            return array.reshape(-1, *array.shape[2:])[flat]

        return {key: take(array) for key, array in storage.items()} if isinstance(storage, dict) else take(storage)

    def _next_obs(self, flat: np.ndarray) -> Any:
        if self.next_observations is not None:
            return self._gather_obs(self.next_observations, flat)
        slots, envs = np.divmod(flat, self.n_envs)
        next_flat = ((slots + 1) % self.buffer_size) * self.n_envs + envs
        next_obs = self._gather_obs(self.observations, next_flat)
        if self.terminal_observations:
            for row in np.flatnonzero(self.dones.reshape(-1)[flat]):
                terminal = self.terminal_observations[int(flat[row])]
                if isinstance(next_obs, dict):
                    for key in next_obs:
                        next_obs[key][row] = terminal[key]
                else:
                    next_obs[row] = terminal
        return next_obs

    def _get_samples(self, flat: np.ndarray, env: Any = None) -> ReplayBufferSamples:
        obs = self._gather_obs(self.observations, flat)
        next_obs = self._next_obs(flat)
        rewards = self.rewards.reshape(-1)[flat]
        if env is not None:
            obs, next_obs = env.normalize_obs(obs), env.normalize_obs(next_obs)
            rewards = env.normalize_reward(rewards)
        dones = self.dones.reshape(-1)[flat] * (1.0 - self.timeouts.reshape(-1)[flat])
        actions = self.actions.reshape(-1, self.action_dim)[flat]
        return ReplayBufferSamples(
            observations=self._to_torch_obs(obs),
            actions=self.to_torch(actions),
            next_observations=self._to_torch_obs(next_obs),
            dones=self.to_torch(dones.astype(np.float32).reshape(-1, 1)),
            rewards=self.to_torch(np.asarray(rewards, dtype=np.float32).reshape(-1, 1)),
        )

    def to_torch(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def _to_torch_obs(self, obs: Any) -> TensorObs:
        if isinstance(obs, dict):
            return {key: self.to_torch(value) for key, value in obs.items()}
        return self.to_torch(obs)

    # ------------------------------------------------------------------ save / load (numeric arrays + JSON only)
    def _meta(self) -> dict[str, Any]:
        return dict(
            buffer_class=type(self).__name__,
            observation_space=self.observation_space,
            action_space=self.action_space,
            buffer_size=self.buffer_size,
            n_envs=self.n_envs,
            optimize_memory_usage=self.optimize_memory_usage,
            handle_timeout_termination=self.handle_timeout_termination,
            pos=self.pos,
            full=self.full,
        )

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = dict(
            actions=self.actions, rewards=self.rewards, dones=self.dones, timeouts=self.timeouts
        )
        stored = {"observations": self.observations, "next_observations": self.next_observations}
        for name, storage in stored.items():
            if isinstance(storage, dict):
                arrays.update({f"{name}/{key}": value for key, value in storage.items()})
            elif storage is not None:
                arrays[name] = storage
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

    def save(self, path: str | Any) -> Any:
        """Write the buffer to an `.npz` archive (numeric arrays + JSON metadata, atomically). Returns the path."""
        from baselines3.common.save_util import save_arrays

        return save_arrays(path, self._meta(), self._arrays())

    def load(self, path: str | Any) -> None:
        """Replace the contents with a buffer saved by `save`. The spaces and layout must match this buffer's."""
        from baselines3.common.save_util import load_arrays

        meta, arrays = load_arrays(path)
        own = self._meta()
        for key in ("buffer_class", "observation_space", "action_space", "optimize_memory_usage"):
            if key == "buffer_class" and {meta.get(key), own[key]} <= _SAME_STORAGE:
                continue
            if meta.get(key) != own[key]:
                raise ValueError(
                    f"The replay buffer in {path} does not fit this model: its {key} is {meta.get(key)!r}, "
                    f"the model's is {own[key]!r}"
                )
        self._set_arrays(meta, arrays, str(path))

    def _set_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
        n_envs = int(meta["n_envs"])
        self.buffer_size, self.n_envs = int(meta["buffer_size"]), n_envs
        self.handle_timeout_termination = bool(meta["handle_timeout_termination"])
        self.reset()
        targets: dict[str, np.ndarray] = dict(
            actions=self.actions, rewards=self.rewards, dones=self.dones, timeouts=self.timeouts
        )
        stored = {"observations": self.observations, "next_observations": self.next_observations}
        for name, storage in stored.items():
            if isinstance(storage, dict):
                targets.update({f"{name}/{key}": value for key, value in storage.items()})
            elif storage is not None:
                targets[name] = storage
        for name, target in targets.items():
            if name not in arrays or arrays[name].shape != target.shape:
                found = arrays[name].shape if name in arrays else "nothing"
                raise ValueError(f"{where}: array {name!r} should have shape {target.shape}, found {found}")
            target[...] = arrays[name]
        if "terminal_keys" in arrays:
            keys = arrays["terminal_keys"].tolist()
            if isinstance(self.observations, dict):
                for i, k in enumerate(keys):
                    self.terminal_observations[k] = {
                        key: arrays[f"terminal_observations/{key}"][i] for key in self.observations
                    }
            else:
                for i, k in enumerate(keys):
                    self.terminal_observations[k] = arrays["terminal_observations"][i]
        self.pos, self.full = int(meta["pos"]), bool(meta["full"])

    def truncate_last_trajectory(self) -> None:
        """Mark the newest, unfinished step of each env as a time-limit end, so that continuing training with a
        fresh env reset does not link two unrelated steps (SB3's `truncate_last_traj`)."""
        last = (self.pos - 1) % self.buffer_size
        if not self.full and self.pos == 0:
            return
        open_envs = self.dones[last] == 0
        if self.optimize_memory_usage:
            # the stored next observation (slot last + 1) is real; keep it as the terminal observation
            for env_idx in np.flatnonzero(open_envs):
                nxt = self._gather_obs(
                    self.observations, np.asarray([((last + 1) % self.buffer_size) * self.n_envs + env_idx])
                )
                self.terminal_observations[last * self.n_envs + int(env_idx)] = _select_env(nxt, 0)
        self.dones[last, open_envs] = 1.0
        self.timeouts[last, open_envs] = 1.0


class DictReplayBuffer(ReplayBuffer):
    """The replay buffer for Dict observation spaces (SB3's class, which off-policy models pick for them).

    ReplayBuffer itself stores Dict observations (one array per key), optimize_memory_usage included; this
    subclass only refuses any other observation space, so code that tells the two apart with isinstance sees
    what it would see with SB3. Its saved files and ReplayBuffer's hold the same arrays and load into each
    other."""

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Dict,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
    ) -> None:
        _require_dict_space(type(self), observation_space)
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device=device,
            n_envs=n_envs,
            optimize_memory_usage=optimize_memory_usage,
            handle_timeout_termination=handle_timeout_termination,
        )


def default_replay_buffer_class(observation_space: spaces.Space) -> type[ReplayBuffer]:
    """The buffer an off-policy model uses when none is asked for: DictReplayBuffer for Dict observations."""
    return DictReplayBuffer if isinstance(observation_space, spaces.Dict) else ReplayBuffer


def default_rollout_buffer_class(observation_space: spaces.Space) -> type[RolloutBuffer]:
    """The buffer an on-policy model uses when none is asked for: DictRolloutBuffer for Dict observations."""
    return DictRolloutBuffer if isinstance(observation_space, spaces.Dict) else RolloutBuffer


class NStepReplayBuffer(ReplayBuffer):
    """Samples n-step transitions: R = sum_k gamma^k r_{t+k} over up to `n_steps` steps of the same env, cut at
    the first episode end (termination or truncation) or at the newest stored step, with the next observation
    and `done` of the last step used and `discounts` = gamma**(steps used) for the bootstrap term."""

    def __init__(self, *args: Any, n_steps: int = 3, gamma: float = 0.99, **kwargs: Any) -> None:
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        super().__init__(*args, **kwargs)
        if self.optimize_memory_usage:
            raise ValueError("NStepReplayBuffer does not support optimize_memory_usage=True")
        self.n_steps = n_steps
        self.gamma = gamma

    def _get_samples(self, flat: np.ndarray, env: Any = None) -> ReplayBufferSamples:
        slots, envs = np.divmod(flat, self.n_envs)
        offsets = np.arange(self.n_steps)
        steps = (slots[:, None] + offsets[None, :]) % self.buffer_size  # (batch, n)
        step_flat = steps * self.n_envs + envs[:, None]
        ends = self.dones.reshape(-1)[step_flat] > 0
        # the newest stored step ends the lookahead too (its successor is not stored yet)
        newest = (self.pos - 1) % self.buffer_size
        ends |= steps == newest
        ends[:, -1] = True
        n_used = ends.argmax(axis=1) + 1  # steps up to and including the first end
        used = offsets[None, :] < n_used[:, None]
        rewards = self.rewards.reshape(-1)[step_flat]
        if env is not None:
            rewards = env.normalize_reward(rewards)
        returns = (rewards * used * self.gamma ** offsets[None, :]).sum(axis=1)
        last = step_flat[np.arange(len(flat)), n_used - 1]
        dones = self.dones.reshape(-1)[last] * (1.0 - self.timeouts.reshape(-1)[last])
        obs = self._gather_obs(self.observations, flat)
        next_obs = self._gather_obs(self.next_observations, last)  # type: ignore[arg-type]
        if env is not None:
            obs, next_obs = env.normalize_obs(obs), env.normalize_obs(next_obs)
        return ReplayBufferSamples(
            observations=self._to_torch_obs(obs),
            actions=self.to_torch(self.actions.reshape(-1, self.action_dim)[flat]),
            next_observations=self._to_torch_obs(next_obs),
            dones=self.to_torch(dones.astype(np.float32).reshape(-1, 1)),
            rewards=self.to_torch(returns.astype(np.float32).reshape(-1, 1)),
            discounts=self.to_torch((self.gamma**n_used).astype(np.float32).reshape(-1, 1)),
        )


def _select_env(obs: Any, env_idx: int | np.integer) -> Any:
    if isinstance(obs, dict):
        return {key: np.array(value[env_idx]) for key, value in obs.items()}
    return np.array(obs[env_idx])


def _split(value: Any, batch_size: int) -> list[Any]:
    if isinstance(value, dict):
        parts = {key: torch.split(tensor, batch_size) for key, tensor in value.items()}
        return [dict(zip(parts, items)) for items in zip(*parts.values())]
    return list(torch.split(value, batch_size))

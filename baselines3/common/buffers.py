"""Rollout storage for on-policy algorithms, and the replay buffer classes of off-policy ones.

Data is written into preallocated numpy arrays during collection (cheap per-step writes) and converted to
tensors once per rollout, never per minibatch.
"""

from __future__ import annotations

import itertools
import pathlib
from collections.abc import Generator
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.losses import compute_gae
from baselines3.common.preprocessing import get_action_dim, get_obs_shape
from baselines3.common.replay.sampling import Batch, NStepSampler, UniformSampler
from baselines3.common.replay.storage import (
    ObservationLayout,
    PlainObservations,
    SharedNextObservations,
    TransitionStorage,
    dtype_or_float32,
)
from baselines3.common.serialization.arrays import load_arrays, save_arrays
from baselines3.common.serialization.replay_check import check_replay_arrays
from baselines3.common.utils import get_device

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
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        device: torch.device | str = "auto",
        gae_lambda: float = 1.0,
        gamma: float = 0.99,
        n_envs: int = 1,
    ) -> None:
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

    def _obs_array(self, shape: tuple[int, ...], space: spaces.Space[Any]) -> np.ndarray:
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
        self.actions = np.zeros((*shape, self.action_dim), dtype=dtype_or_float32(self.action_space))
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
        action_space: spaces.Space[Any],
        device: torch.device | str = "auto",
        gae_lambda: float = 1.0,
        gamma: float = 0.99,
        n_envs: int = 1,
    ) -> None:
        _require_dict_space(type(self), observation_space)
        super().__init__(buffer_size, observation_space, action_space, device, gae_lambda, gamma, n_envs)


def _require_dict_space(cls: type, observation_space: spaces.Space[Any]) -> None:
    if not isinstance(observation_space, spaces.Dict):
        raise ValueError(f"{cls.__name__} is for Dict observation spaces, got {observation_space}")


# ----------------------------------------------------------------------------------------------------------
# Off-policy storage: a TransitionStorage (common/replay/storage.py) read by a sampler (common/replay/sampling.py)
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


def saved_buffer_kinds(meta: dict[str, Any]) -> tuple[str, str]:
    """(storage kind, sampler kind) of a buffer saved with `meta`.

    Files record both. Older files tell them by their content (frame stores, HER's counters); only an n-step
    buffer left no trace but the class name it recorded."""
    if "storage" in meta and "sampling" in meta:
        return str(meta["storage"]), str(meta["sampling"])
    if "n_stack" in meta:
        return "frames", "uniform"
    storage = "shared_next_obs" if meta.get("optimize_memory_usage") else "plain"
    if "n_sampled_goal" in meta:
        return storage, "her"
    return storage, "n_step" if meta.get("buffer_class") == "NStepReplayBuffer" else "uniform"


class ReplayBuffer:
    """FIFO store of `buffer_size` transitions (split evenly over `n_envs`), sampled uniformly.

    The buffer is a ``TransitionStorage`` (``self.storage``: per-step arrays of shape
    (buffer_size // n_envs, n_envs, ...) and an observation layout) and a sampler (``self.sampler``). Here the
    layout is ``PlainObservations``, or with `optimize_memory_usage=True` ``SharedNextObservations``: the next
    observation of a step is the observation of the following slot, so observations are stored once; the
    terminal observations of finished episodes are kept on the side, so sampled transitions are exactly what a
    plain buffer would return (and time limits can still be bootstrapped, unlike SB3's variant).

    Observations are stored in their space's dtype; actions too, except that float64 actions are stored as
    float32 (SB3's rule).
    """

    #: whether a model hands the buffer its env when building it (HerReplayBuffer recomputes rewards with it)
    takes_env: ClassVar[bool] = False

    storage: TransitionStorage
    sampler: UniformSampler

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
    ) -> None:
        layout = (SharedNextObservations if optimize_memory_usage else PlainObservations)(observation_space)
        self._assemble(
            layout,
            UniformSampler(),
            buffer_size,
            observation_space,
            action_space,
            device,
            n_envs,
            optimize_memory_usage,
            handle_timeout_termination,
        )

    def _assemble(
        self,
        layout: ObservationLayout,
        sampler: UniformSampler,
        buffer_size: int,
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        device: torch.device | str,
        n_envs: int,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
    ) -> None:
        """Set up the buffer from its parts (each public buffer class picks them in its constructor)."""
        self.observation_space = observation_space
        self.action_space = action_space
        self.device = get_device(device)
        self.obs_shape = get_obs_shape(observation_space)
        self.action_dim = get_action_dim(action_space)
        self.optimize_memory_usage = optimize_memory_usage
        self.storage = TransitionStorage(layout, action_space, buffer_size, n_envs, handle_timeout_termination)
        if optimize_memory_usage and self.storage.buffer_size < 2:
            raise ValueError(
                f"optimize_memory_usage=True needs at least 2 slots per env, got buffer_size={buffer_size} for "
                f"n_envs={n_envs}: the next observation is stored in the following slot"
            )
        self.sampler = sampler
        sampler.reset(self.storage)

    # ------------------------------------------------------------------ what is stored (read from the storage)
    @property
    def buffer_size(self) -> int:
        """Stored steps per env."""
        return self.storage.buffer_size

    @property
    def n_envs(self) -> int:
        return self.storage.n_envs

    @property
    def pos(self) -> int:
        """Slot the next step is written to."""
        return self.storage.pos

    @property
    def full(self) -> bool:
        return self.storage.full

    @property
    def handle_timeout_termination(self) -> bool:
        return self.storage.handle_timeout_termination

    @property
    def observations(self) -> Any:
        """The stored observations (frame references for a frame-stack layout)."""
        return self.storage.layout.observations

    @property
    def next_observations(self) -> Any:
        """The stored next observations (None when they are the following slots' observations)."""
        return self.storage.layout.next_observations

    @property
    def actions(self) -> np.ndarray:
        return self.storage.actions

    @property
    def rewards(self) -> np.ndarray:
        return self.storage.rewards

    @property
    def dones(self) -> np.ndarray:
        return self.storage.dones

    @property
    def timeouts(self) -> np.ndarray:
        return self.storage.timeouts

    def reset(self) -> None:
        """Forget every stored transition."""
        self.storage.reset()
        self.sampler.reset(self.storage)

    def size(self) -> int:
        """Number of stored steps per env."""
        return self.storage.size()

    def nbytes(self) -> int:
        """Bytes held by the stored arrays."""
        return self.storage.nbytes() + self.sampler.nbytes()

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
        slot = self.storage.pos
        self.storage.add(obs, next_obs, action, reward, done, infos)
        self.sampler.after_add(self.storage, slot, done, infos)

    def truncate_last_trajectory(self) -> None:
        """Mark the newest, unfinished step of each env as a time-limit end, so that continuing training with a
        fresh env reset does not link two unrelated steps (SB3's `truncate_last_traj`). The stored next
        observation of that step is kept."""
        open_envs = self.storage.truncate_last()
        self.sampler.after_truncate(self.storage, open_envs)

    # ------------------------------------------------------------------ sampling
    def sample(self, batch_size: int, env: Any = None) -> ReplayBufferSamples:
        """`batch_size` transitions drawn uniformly (with replacement). `env`: a VecNormalize to normalize with."""
        return self._to_samples(self.sampler.sample(self.storage, batch_size, 1, env))

    def sample_batches(self, batch_size: int, n_batches: int, env: Any = None) -> list[ReplayBufferSamples]:
        """`n_batches` independent batches gathered at once: the same draws as `n_batches` calls to `sample`
        while the buffer does not change, with one gather instead of one per batch."""
        everything = self._to_samples(self.sampler.sample(self.storage, batch_size, n_batches, env))
        fields = [_split(value, batch_size) if value is not None else [None] * n_batches for value in everything]
        return [ReplayBufferSamples(*parts) for parts in zip(*fields)]

    def _get_samples(self, flat: np.ndarray, env: Any = None) -> ReplayBufferSamples:
        """The transitions at flat indices (slot * n_envs + env), read by this buffer's sampler."""
        return self._to_samples(self.sampler.batch_at(self.storage, flat, env))

    def _to_samples(self, batch: Batch) -> ReplayBufferSamples:
        return ReplayBufferSamples(
            observations=self._to_torch_obs(batch.observations),
            actions=self.to_torch(batch.actions),
            next_observations=self._to_torch_obs(batch.next_observations),
            dones=self.to_torch(batch.dones.astype(np.float32).reshape(-1, 1)),
            rewards=self.to_torch(np.asarray(batch.rewards, dtype=np.float32).reshape(-1, 1)),
            discounts=None if batch.discounts is None else self.to_torch(batch.discounts.reshape(-1, 1)),
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
            optimize_memory_usage=self.optimize_memory_usage,
            sampling=self.sampler.kind,
            **self.storage.meta(),
            **self.sampler.meta(),
        )

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**self.storage.arrays(), **self.sampler.arrays()}

    def save(self, path: str | Any) -> pathlib.Path:
        """Write the buffer to an `.npz` archive (numeric arrays + JSON metadata, atomically). Returns the path."""
        return save_arrays(path, self._meta(), self._arrays())

    def load(self, path: str | Any) -> None:
        """Replace the contents with a buffer saved by `save`. The file must hold the same kinds of storage and
        sampling (a DictReplayBuffer's file loads into a ReplayBuffer and back), spaces and layout."""
        meta, arrays = load_arrays(path)
        check_replay_arrays(meta, arrays, str(path))  # sizes, position and values, before anything is resized
        own = self._meta()
        storage, sampling = saved_buffer_kinds(meta)
        if sampling != self.sampler.kind or (storage == "frames") != (self.storage.layout.kind == "frames"):
            raise ValueError(
                f"The replay buffer in {path} does not fit this model: its buffer_class is "
                f"{meta.get('buffer_class')!r} ({storage} storage, {sampling} sampling), the model's is "
                f"{own['buffer_class']!r} ({self.storage.layout.kind} storage, {self.sampler.kind} sampling)"
            )
        for key in ("observation_space", "action_space", "optimize_memory_usage"):
            if meta.get(key) != own[key]:
                raise ValueError(
                    f"The replay buffer in {path} does not fit this model: its {key} is {meta.get(key)!r}, "
                    f"the model's is {own[key]!r}"
                )
        self._set_arrays(meta, arrays, str(path))

    def _set_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
        """Fill the buffer from saved arrays; `meta` gives buffer_size, n_envs, handle_timeout_termination, pos
        and full (plus what the layout and sampler saved)."""
        self.storage.set_arrays(meta, arrays, where)
        self.sampler.reset(self.storage)
        self.sampler.set_arrays(self.storage, meta, arrays, where)


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
        action_space: spaces.Space[Any],
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


def default_replay_buffer_class(observation_space: spaces.Space[Any]) -> type[ReplayBuffer]:
    """The buffer an off-policy model uses when none is asked for: DictReplayBuffer for Dict observations."""
    return DictReplayBuffer if isinstance(observation_space, spaces.Dict) else ReplayBuffer


def default_rollout_buffer_class(observation_space: spaces.Space[Any]) -> type[RolloutBuffer]:
    """The buffer an on-policy model uses when none is asked for: DictRolloutBuffer for Dict observations."""
    return DictRolloutBuffer if isinstance(observation_space, spaces.Dict) else RolloutBuffer


class NStepReplayBuffer(ReplayBuffer):
    """Plain storage read by an ``NStepSampler``: n-step returns R = sum_k gamma^k r_{t+k} over up to `n_steps`
    steps of the same env, cut at the first episode end (termination or truncation) or at the newest stored
    step, with the next observation and `done` of the last step used and `discounts` = gamma**(steps used) for
    the bootstrap term."""

    sampler: NStepSampler

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        n_steps: int = 3,
        gamma: float = 0.99,
    ) -> None:
        sampler = NStepSampler(n_steps, gamma)
        if optimize_memory_usage:
            raise ValueError("NStepReplayBuffer does not support optimize_memory_usage=True")
        layout = PlainObservations(observation_space)
        self._assemble(
            layout,
            sampler,
            buffer_size,
            observation_space,
            action_space,
            device,
            n_envs,
            False,
            handle_timeout_termination,
        )

    @property
    def n_steps(self) -> int:
        return self.sampler.n_steps

    @property
    def gamma(self) -> float:
        return self.sampler.gamma


def _split(value: Any, batch_size: int) -> list[Any]:
    if isinstance(value, dict):
        parts = {key: torch.split(tensor, batch_size) for key, tensor in value.items()}
        return [dict(zip(parts, items)) for items in zip(*parts.values())]
    return list(torch.split(value, batch_size))

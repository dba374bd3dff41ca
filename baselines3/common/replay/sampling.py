"""How batches are drawn from a ``TransitionStorage``: uniformly, or as n-step returns.

A sampler turns a storage into a ``Batch`` of numpy arrays (the replay buffer moves it to torch):
``sample(storage, batch_size, n_batches, env)`` draws ``n_batches`` batches of ``batch_size`` transitions laid
end to end, and ``batch_at(storage, flat, env)`` reads the transitions at given flat indices
(slot * n_envs + env). ``env`` is a VecNormalize (or None) whose ``normalize_obs``/``normalize_reward`` are
applied to what is read.

Samplers with bookkeeping of their own (HER's episodes, see ``baselines3/her/her_sampler.py``) also follow the
storage's life: ``reset``, ``after_add``, ``after_truncate``, and the save/load hooks. The ones here keep
nothing and inherit the empty hooks of ``UniformSampler``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from baselines3.common.replay.storage import TransitionStorage


class Batch(NamedTuple):
    """Transitions as numpy arrays; `dones` is 1 only where the episode terminated, `discounts` is gamma**n
    for n-step returns, else None."""

    observations: Any
    actions: np.ndarray
    next_observations: Any
    dones: np.ndarray
    rewards: np.ndarray
    discounts: np.ndarray | None = None


def uniform_indices(storage: TransitionStorage, n: int) -> np.ndarray:
    """Flat indices (slot * n_envs + env) of `n` uniformly drawn stored transitions."""
    buffer_size = storage.buffer_size
    if storage.full:
        if storage.layout.excludes_oldest:
            # slot `pos` is the oldest transition, whose observation the newest next-observation overwrote
            slots = (np.random.randint(1, buffer_size, size=n) + storage.pos) % buffer_size
        else:
            slots = np.random.randint(0, buffer_size, size=n)
    else:
        if storage.pos == 0:
            raise ValueError("Cannot sample from an empty replay buffer")
        slots = np.random.randint(0, storage.pos, size=n)
    envs = np.random.randint(0, storage.n_envs, size=n)
    return slots * storage.n_envs + envs


def stored_batch(storage: TransitionStorage, flat: np.ndarray, env: Any = None) -> Batch:
    """The stored transitions at `flat`, normalized with `env` when given."""
    obs, next_obs = storage.observation_pair(flat, flat)
    rewards = storage.rewards.reshape(-1)[flat]
    if env is not None:
        obs, next_obs = env.normalize_obs(obs), env.normalize_obs(next_obs)
        rewards = env.normalize_reward(rewards)
    return Batch(
        observations=obs,
        actions=storage.actions.reshape(-1, storage.action_dim)[flat],
        next_observations=next_obs,
        dones=storage.terminated(flat),
        rewards=rewards,
    )


class UniformSampler:
    """Uniform draws of stored transitions, read as stored. Other samplers draw or read differently by
    overriding ``draw``/``sample``/``batch_at``; the hooks let a sampler with bookkeeping of its own follow the
    storage (they are empty here)."""

    #: recorded in saved files, which load only into a buffer with the same kind of sampler
    kind = "uniform"

    def draw(self, storage: TransitionStorage, batch_size: int, n_batches: int) -> np.ndarray:
        """Flat indices of `n_batches` uniform batches, drawn batch by batch (so `n_batches` calls with 1 draw
        the same)."""
        if n_batches == 1:
            return uniform_indices(storage, batch_size)
        return np.concatenate([uniform_indices(storage, batch_size) for _ in range(n_batches)])

    def sample(self, storage: TransitionStorage, batch_size: int, n_batches: int, env: Any = None) -> Batch:
        return self.batch_at(storage, self.draw(storage, batch_size, n_batches), env)

    def batch_at(self, storage: TransitionStorage, flat: np.ndarray, env: Any = None) -> Batch:
        return stored_batch(storage, flat, env)

    # ------------------------------------------------------------------ hooks (no bookkeeping here)
    def reset(self, storage: TransitionStorage) -> None:
        """The storage was emptied (or resized)."""

    def after_add(self, storage: TransitionStorage, slot: int, done: Any, infos: list[dict[str, Any]]) -> None:
        """The storage has just stored one vec-env step in `slot`."""

    def after_truncate(self, storage: TransitionStorage, open_envs: np.ndarray) -> None:
        """The storage has just marked the newest step of `open_envs` as a time-limit end."""

    def nbytes(self) -> int:
        return 0

    def meta(self) -> dict[str, Any]:
        return {}

    def arrays(self) -> dict[str, np.ndarray]:
        return {}

    def set_arrays(
        self, storage: TransitionStorage, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str
    ) -> None:
        """Restore the bookkeeping after the storage was filled from a file."""


class NStepSampler(UniformSampler):
    """n-step transitions: R = sum_k gamma^k r_{t+k} over up to `n_steps` steps of the same env, cut at the
    first episode end (termination or truncation) or at the newest stored step, with the next observation and
    `done` of the last step used and `discounts` = gamma**(steps used) for the bootstrap term. Rewards are
    normalized step by step (before they are summed)."""

    kind = "n_step"

    def __init__(self, n_steps: int = 3, gamma: float = 0.99) -> None:
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        self.n_steps = n_steps
        self.gamma = gamma

    def batch_at(self, storage: TransitionStorage, flat: np.ndarray, env: Any = None) -> Batch:
        n_envs, buffer_size = storage.n_envs, storage.buffer_size
        slots, envs = np.divmod(flat, n_envs)
        offsets = np.arange(self.n_steps)
        steps = (slots[:, None] + offsets[None, :]) % buffer_size  # (batch, n)
        step_flat = steps * n_envs + envs[:, None]
        dones = storage.dones.reshape(-1)
        ends = dones[step_flat] > 0
        # the newest stored step ends the lookahead too (its successor is not stored yet)
        ends |= steps == (storage.pos - 1) % buffer_size
        ends[:, -1] = True
        n_used = ends.argmax(axis=1) + 1  # steps up to and including the first end
        used = offsets[None, :] < n_used[:, None]
        rewards = storage.rewards.reshape(-1)[step_flat]
        if env is not None:
            rewards = env.normalize_reward(rewards)
        returns = (rewards * used * self.gamma ** offsets[None, :]).sum(axis=1)
        last = step_flat[np.arange(len(flat)), n_used - 1]
        obs, next_obs = storage.observation_pair(flat, last)
        if env is not None:
            obs, next_obs = env.normalize_obs(obs), env.normalize_obs(next_obs)
        return Batch(
            observations=obs,
            actions=storage.actions.reshape(-1, storage.action_dim)[flat],
            next_observations=next_obs,
            dones=storage.terminated(last),
            rewards=returns,
            discounts=(self.gamma**n_used).astype(np.float32),
        )

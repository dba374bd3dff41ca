"""Hindsight Experience Replay as a sampler: it keeps the episode bookkeeping and relabels goals in batches.

Bookkeeping works on absolute step numbers (the n-th vec-env step ever added is step n; it lives in slot
``n % buffer_size``). Each stored step remembers the absolute first and last step of its episode, so an
episode whose oldest steps were overwritten stays usable without any clean-up: its surviving steps still know
where the episode ends, and the steps before the oldest stored one are simply out of reach.
"""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np

from baselines3.common.replay.sampling import Batch, UniformSampler, uniform_indices
from baselines3.common.replay.storage import TransitionStorage, take
from baselines3.common.vec_env import VecEnv
from baselines3.her.goal_selection_strategy import GoalSelectionStrategy


class HerSampler(UniformSampler):
    """Batches of real transitions (uniform over every stored step) followed by virtual ones: steps of finished
    episodes whose desired goal (in the observation and next observation) is replaced by a goal achieved in
    the same episode, chosen by `goal_selection_strategy`, with the reward recomputed by the env's
    ``compute_reward`` in one vectorized call. ``batch_at`` reads stored (real) transitions."""

    kind = "her"

    def __init__(
        self,
        env: VecEnv | gym.Env | None,
        n_sampled_goal: int = 4,
        goal_selection_strategy: GoalSelectionStrategy | str = "future",
        copy_info_dict: bool = False,
    ) -> None:
        if int(n_sampled_goal) != n_sampled_goal or n_sampled_goal < 0:
            raise ValueError(f"n_sampled_goal must be an integer >= 0, got {n_sampled_goal!r}")
        self.env = env
        self.n_sampled_goal = int(n_sampled_goal)
        self.goal_selection_strategy = GoalSelectionStrategy.from_value(goal_selection_strategy)
        self.copy_info_dict = copy_info_dict

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["env"] = None  # envs are not part of the data (and often cannot be pickled)
        return state

    # ------------------------------------------------------------------ episode bookkeeping
    def reset(self, storage: TransitionStorage) -> None:
        n = (storage.buffer_size, storage.n_envs)
        self.buffer_size, self.n_envs = n
        # absolute step numbers: first and last step of the episode of each stored step (-1: not finished)
        self.ep_start = np.zeros(n, dtype=np.int64)
        self.ep_end = np.full(n, -1, dtype=np.int64)
        self.current_ep_start = np.zeros(self.n_envs, dtype=np.int64)  # first step of each env's running episode
        self.n_steps_added = 0  # vec-env steps added so far; step t lives in slot t % buffer_size
        self.infos: list[list[dict[str, Any]]] | None = (
            [[{} for _ in range(self.n_envs)] for _ in range(self.buffer_size)] if self.copy_info_dict else None
        )
        self._warned_no_episode = False

    def nbytes(self) -> int:
        """Bytes held by the episode arrays (infos not counted)."""
        return self.ep_start.nbytes + self.ep_end.nbytes

    def after_add(self, storage: TransitionStorage, slot: int, done: Any, infos: list[dict[str, Any]]) -> None:
        """Record the step's episode and close the episodes of the envs that are done."""
        step = self.n_steps_added
        self.ep_start[slot] = self.current_ep_start
        self.ep_end[slot] = -1
        if self.infos is not None:
            # the terminal observation is already stored as the next observation
            self.infos[slot] = [{k: v for k, v in info.items() if k != "terminal_observation"} for info in infos]
        self.n_steps_added = step + 1
        for env_idx in np.flatnonzero(np.asarray(done).reshape(self.n_envs)):
            self._close_episode(int(env_idx), step)

    def after_truncate(self, storage: TransitionStorage, open_envs: np.ndarray) -> None:
        """End every running episode at its newest step (stored as a time-limit truncation by the storage)."""
        last_step = self.n_steps_added - 1
        for env_idx in range(self.n_envs):
            if self.current_ep_start[env_idx] <= last_step:
                self._close_episode(env_idx, last_step)

    def _oldest_step(self) -> int:
        """Absolute number of the oldest stored step."""
        return max(0, self.n_steps_added - self.buffer_size)

    def _close_episode(self, env_idx: int, last_step: int) -> None:
        """Record `last_step` as the end of env `env_idx`'s running episode, on each of its stored steps."""
        first = max(int(self.current_ep_start[env_idx]), self._oldest_step())
        self.ep_end[np.arange(first, last_step + 1) % self.buffer_size, env_idx] = last_step
        self.current_ep_start[env_idx] = last_step + 1

    def _finished_counts(self) -> np.ndarray:
        """Per env, how many stored steps belong to finished episodes (they are its oldest stored steps)."""
        return np.maximum(self.current_ep_start - self._oldest_step(), 0)

    # ------------------------------------------------------------------ sampling
    def _sample_virtual(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Flat indices of `n` steps drawn uniformly from finished episodes, and of the steps whose achieved
        goal (in the next observation) becomes their desired goal."""
        if n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        counts = self._finished_counts()
        bounds = np.cumsum(counts)
        draw = np.random.randint(0, int(bounds[-1]), size=n)
        envs = np.searchsorted(bounds, draw, side="right")
        steps = self._oldest_step() + draw - (bounds[envs] - counts[envs])
        slots = steps % self.buffer_size
        ends = self.ep_end[slots, envs]
        strategy = self.goal_selection_strategy
        if strategy is GoalSelectionStrategy.FINAL:
            goal_steps = ends
        elif strategy is GoalSelectionStrategy.FUTURE:
            goal_steps = np.random.randint(steps, ends + 1)
        else:
            starts = np.maximum(self.ep_start[slots, envs], self._oldest_step())
            goal_steps = np.random.randint(starts, ends + 1)
        return slots * self.n_envs + envs, (goal_steps % self.buffer_size) * self.n_envs + envs

    def sample(self, storage: TransitionStorage, batch_size: int, n_batches: int, env: Any = None) -> Batch:
        """`n_batches` batches, each with its real transitions first, then its virtual ones. `env`: a
        VecNormalize to normalize with (applied after relabelling, to the relabelled goals and rewards)."""
        n_virtual = batch_size * self.n_sampled_goal // (self.n_sampled_goal + 1)
        if n_virtual and self._finished_counts().sum() == 0:
            if not self._warned_no_episode:
                warnings.warn(
                    "HerReplayBuffer: no episode has finished yet, so batches hold real transitions only; "
                    "choose learning_starts larger than the longest episode to relabel from the start",
                    UserWarning,
                    stacklevel=3,
                )
                self._warned_no_episode = True
            n_virtual = 0
        n_real = batch_size - n_virtual
        real = uniform_indices(storage, n_batches * n_real).reshape(n_batches, n_real)
        virtual, goal_idx = self._sample_virtual(n_batches * n_virtual)
        flat = np.concatenate([real, virtual.reshape(n_batches, n_virtual)], axis=1).reshape(-1)

        obs, next_obs = storage.observation_pair(flat, flat)
        rewards = storage.rewards.reshape(-1)[flat]
        if n_virtual:
            is_virtual = (np.arange(batch_size) >= n_real)[None, :].repeat(n_batches, axis=0).reshape(-1)
            next_observations = storage.layout.next_observations
            goals = take(next_observations["achieved_goal"], goal_idx)
            obs["desired_goal"][is_virtual] = goals
            next_obs["desired_goal"][is_virtual] = goals
            rewards[is_virtual] = self._compute_reward(next_obs["achieved_goal"][is_virtual], goals, flat[is_virtual])
        if env is not None:
            obs, next_obs = env.normalize_obs(obs), env.normalize_obs(next_obs)
            rewards = env.normalize_reward(rewards)
        actions = storage.actions.reshape(-1, storage.action_dim)[flat]
        return Batch(obs, actions, next_obs, storage.terminated(flat), rewards)

    def _compute_reward(self, achieved: np.ndarray, desired: np.ndarray, flat: np.ndarray) -> np.ndarray:
        """Rewards for reaching `desired` with `achieved` (one batched call into the env)."""
        if self.env is None:
            raise RuntimeError(
                "HerReplayBuffer has no env to recompute rewards with: call buffer.set_env(env) "
                "(e.g. after unpickling the buffer)"
            )
        if self.infos is not None:
            slots, envs = np.divmod(flat, self.n_envs)
            infos = [self.infos[slot][env_idx] for slot, env_idx in zip(slots.tolist(), envs.tolist())]
        else:
            infos = [{} for _ in range(len(flat))]
        if isinstance(self.env, VecEnv):
            rewards = self.env.env_method("compute_reward", achieved, desired, infos, indices=[0])[0]
        else:
            owner = self.env.unwrapped if hasattr(self.env.unwrapped, "compute_reward") else self.env
            rewards = owner.compute_reward(achieved, desired, infos)  # type: ignore[attr-defined]
        rewards = np.asarray(rewards, dtype=np.float32)
        if rewards.size != len(flat):
            raise ValueError(
                f"compute_reward returned {rewards.size} rewards for a batch of {len(flat)} goals (shape "
                f"{rewards.shape}): it must be vectorized, one reward per row of achieved_goal/desired_goal"
            )
        return rewards.reshape(-1)

    # ------------------------------------------------------------------ save / load (numeric arrays + JSON only)
    def meta(self) -> dict[str, Any]:
        return dict(
            n_sampled_goal=self.n_sampled_goal,
            goal_selection_strategy=self.goal_selection_strategy.name.lower(),
            copy_info_dict=self.copy_info_dict,
            n_steps_added=self.n_steps_added,
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return dict(ep_start=self.ep_start, ep_end=self.ep_end, current_ep_start=self.current_ep_start)

    def set_arrays(
        self, storage: TransitionStorage, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str
    ) -> None:
        """Restore the episode bookkeeping. This sampler keeps its own env, `n_sampled_goal`, strategy and
        `copy_info_dict`; loaded infos are empty dicts."""
        for name in ("ep_start", "ep_end", "current_ep_start"):
            target = getattr(self, name)
            if name not in arrays or arrays[name].shape != target.shape:
                found = arrays[name].shape if name in arrays else "nothing"
                raise ValueError(f"{where}: array {name!r} should have shape {target.shape}, found {found}")
            target[...] = arrays[name]
        n_steps_added = int(meta.get("n_steps_added", -1))
        if (
            n_steps_added < 0
            or n_steps_added % self.buffer_size != storage.pos
            or (n_steps_added >= self.buffer_size) != bool(storage.full)
        ):
            raise ValueError(
                f"{where}: n_steps_added={meta.get('n_steps_added')!r} does not agree with pos={storage.pos} "
                f"and full={storage.full} for buffer_size={self.buffer_size}"
            )
        self.n_steps_added = n_steps_added

"""Hindsight Experience Replay (Andrychowicz et al., 2017) for goal-conditioned envs.

A goal-conditioned env has Dict observations with ``observation``, ``achieved_goal`` and ``desired_goal`` and a
vectorized ``compute_reward(achieved_goal, desired_goal, info)``. A failed episode still shows how to reach the
goals it did achieve: HER replays some transitions with their desired goal replaced by a goal achieved in the
same episode, and the reward recomputed for that goal, so sparse-reward tasks get a learning signal.

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
import torch
from gymnasium import spaces

from baselines3.common.buffers import ReplayBuffer, ReplayBufferSamples, _split
from baselines3.common.vec_env import VecEnv
from baselines3.her.goal_selection_strategy import GoalSelectionStrategy

GOAL_KEYS = ("observation", "achieved_goal", "desired_goal")


def check_goal_env(observation_space: spaces.Space, env: VecEnv | gym.Env | None) -> None:
    """Raise a ValueError naming what is missing when `observation_space`/`env` are not goal-conditioned."""
    if not isinstance(observation_space, spaces.Dict):
        raise ValueError(
            "HerReplayBuffer needs a goal-conditioned env: its observation space must be a Dict with keys "
            f"{list(GOAL_KEYS)}, got {observation_space}"
        )
    missing = [key for key in GOAL_KEYS if key not in observation_space.spaces]
    if missing:
        raise ValueError(
            f"HerReplayBuffer needs a goal-conditioned env: the Dict observation space lacks the key(s) {missing} "
            f"(it has {list(observation_space.spaces)}; needed: {list(GOAL_KEYS)})"
        )
    achieved, desired = observation_space["achieved_goal"], observation_space["desired_goal"]
    if achieved.shape != desired.shape:
        raise ValueError(
            f"achieved_goal and desired_goal must have the same shape, got {achieved.shape} and {desired.shape}: "
            "HER writes achieved goals into the desired_goal slot"
        )
    if env is None:
        return
    if isinstance(env, VecEnv):
        has_method = env.has_attr("compute_reward")
    else:
        has_method = hasattr(env.unwrapped, "compute_reward") or hasattr(env, "compute_reward")
    if not has_method:
        raise ValueError(
            f"HerReplayBuffer needs a goal-conditioned env: {type(env).__name__} has no method "
            "compute_reward(achieved_goal, desired_goal, info), which HER calls to recompute rewards"
        )


class HerReplayBuffer(ReplayBuffer):
    """Replay buffer that relabels goals with Hindsight Experience Replay.

    Of each sampled batch, ``batch_size * n_sampled_goal // (n_sampled_goal + 1)`` transitions are virtual:
    their desired goal (in both the observation and the next observation) is replaced by a goal achieved in the
    same episode, chosen by ``goal_selection_strategy``, and their reward is recomputed with the env's
    ``compute_reward`` in one vectorized call. The rest are the stored (real) transitions. Each batch lists its
    real transitions first, then its virtual ones.

    Which steps are drawn: real transitions uniformly from every stored step; virtual transitions uniformly from
    the stored steps of *finished* episodes only, since an unfinished episode has no last step yet (``final``)
    and an incomplete future. Until some episode has finished, batches are all real (with a warning).
    The ``terminated`` flag of a virtual transition is the stored one (time-limit truncation never counts).

    :param buffer_size: number of transitions kept (split evenly over the envs)
    :param observation_space: a Dict space with ``observation``, ``achieved_goal`` and ``desired_goal``
    :param action_space: the action space
    :param env: the goal-conditioned env (VecEnv or gymnasium env) whose ``compute_reward`` recomputes rewards;
        may be None and set later with ``set_env`` (it is needed before sampling virtual transitions)
    :param device: where sampled tensors go
    :param n_envs: number of parallel envs that ``add`` receives steps from
    :param optimize_memory_usage: not supported (HER reads the next observations of any step)
    :param handle_timeout_termination: a time-limit truncation is not stored as a termination
    :param n_sampled_goal: virtual transitions per real one (0 disables relabelling)
    :param goal_selection_strategy: "future", "final" or "episode" (or a ``GoalSelectionStrategy``)
    :param copy_info_dict: keep each step's info dict and hand it to ``compute_reward`` (else ``{}`` is given);
        infos are Python objects, so ``save`` does not keep them
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        env: VecEnv | gym.Env | None,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        n_sampled_goal: int = 4,
        goal_selection_strategy: GoalSelectionStrategy | str = "future",
        copy_info_dict: bool = False,
    ) -> None:
        if optimize_memory_usage:
            raise ValueError(
                "HerReplayBuffer does not support optimize_memory_usage=True: relabelling reads the next "
                "observation of arbitrary steps; use optimize_memory_usage=False"
            )
        if int(n_sampled_goal) != n_sampled_goal or n_sampled_goal < 0:
            raise ValueError(f"n_sampled_goal must be an integer >= 0, got {n_sampled_goal!r}")
        check_goal_env(observation_space, env)
        self.env = env
        self.n_sampled_goal = int(n_sampled_goal)
        self.goal_selection_strategy = GoalSelectionStrategy.from_value(goal_selection_strategy)
        self.copy_info_dict = copy_info_dict
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device=device,
            n_envs=n_envs,
            optimize_memory_usage=False,
            handle_timeout_termination=handle_timeout_termination,
        )

    @property
    def her_ratio(self) -> float:
        """Fraction of each batch that is virtual: 1 - 1 / (n_sampled_goal + 1)."""
        return 1.0 - 1.0 / (self.n_sampled_goal + 1)

    def set_env(self, env: VecEnv | gym.Env) -> None:
        """Set the env whose ``compute_reward`` recomputes rewards (needed after unpickling the buffer)."""
        check_goal_env(self.observation_space, env)
        self.env = env

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["env"] = None  # envs are not part of the data (and often cannot be pickled)
        return state

    # ------------------------------------------------------------------ storage
    def reset(self) -> None:
        """Forget every stored transition and every episode."""
        super().reset()
        n = (self.buffer_size, self.n_envs)
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
        """Bytes held by the stored arrays (infos not counted)."""
        return super().nbytes() + self.ep_start.nbytes + self.ep_end.nbytes

    def add(
        self,
        obs: np.ndarray | dict[str, np.ndarray],
        next_obs: np.ndarray | dict[str, np.ndarray],
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        """Store one vec-env step and close the episodes of the envs that are done."""
        slot, step = self.pos, self.n_steps_added
        super().add(obs, next_obs, action, reward, done, infos)
        self.ep_start[slot] = self.current_ep_start
        self.ep_end[slot] = -1
        if self.infos is not None:
            # the terminal observation is already stored as the next observation
            self.infos[slot] = [{k: v for k, v in info.items() if k != "terminal_observation"} for info in infos]
        self.n_steps_added = step + 1
        for env_idx in np.flatnonzero(np.asarray(done).reshape(self.n_envs)):
            self._close_episode(int(env_idx), step)

    def _oldest_step(self) -> int:
        """Absolute number of the oldest stored step."""
        return max(0, self.n_steps_added - self.buffer_size)

    def _close_episode(self, env_idx: int, last_step: int) -> None:
        """Record `last_step` as the end of env `env_idx`'s running episode, on each of its stored steps."""
        first = max(int(self.current_ep_start[env_idx]), self._oldest_step())
        self.ep_end[np.arange(first, last_step + 1) % self.buffer_size, env_idx] = last_step
        self.current_ep_start[env_idx] = last_step + 1

    def truncate_last_trajectory(self) -> None:
        """End every running episode at its newest step, stored as a time-limit truncation (so it is
        bootstrapped), before training goes on from a fresh env reset."""
        last_step = self.n_steps_added - 1
        running = [env_idx for env_idx in range(self.n_envs) if self.current_ep_start[env_idx] <= last_step]
        super().truncate_last_trajectory()
        for env_idx in running:
            self._close_episode(env_idx, last_step)

    # ------------------------------------------------------------------ sampling
    def _finished_counts(self) -> np.ndarray:
        """Per env, how many stored steps belong to finished episodes (they are its oldest stored steps)."""
        return np.maximum(self.current_ep_start - self._oldest_step(), 0)

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

    def sample(self, batch_size: int, env: Any = None) -> ReplayBufferSamples:
        """`batch_size` transitions, real ones first, then virtual ones. `env`: a VecNormalize to normalize
        with (applied after relabelling, to the relabelled goals and recomputed rewards)."""
        return self._sample_her(batch_size, 1, env)

    def sample_batches(self, batch_size: int, n_batches: int, env: Any = None) -> list[ReplayBufferSamples]:
        """`n_batches` independent batches, each distributed as one `sample` call (same real/virtual split),
        gathered at once with a single ``compute_reward`` call."""
        everything = self._sample_her(batch_size, n_batches, env)
        fields = [_split(value, batch_size) if value is not None else [None] * n_batches for value in everything]
        return [ReplayBufferSamples(*parts) for parts in zip(*fields)]

    def _sample_her(self, batch_size: int, n_batches: int, env: Any) -> ReplayBufferSamples:
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
        real = self._sample_indices(n_batches * n_real).reshape(n_batches, n_real)
        virtual, goal_idx = self._sample_virtual(n_batches * n_virtual)
        flat = np.concatenate([real, virtual.reshape(n_batches, n_virtual)], axis=1).reshape(-1)

        obs = self._gather_obs(self.observations, flat)
        assert isinstance(self.next_observations, dict)  # Dict observations, never optimize_memory_usage
        next_obs = self._gather_obs(self.next_observations, flat)
        rewards = self.rewards.reshape(-1)[flat]
        if n_virtual:
            is_virtual = (np.arange(batch_size) >= n_real)[None, :].repeat(n_batches, axis=0).reshape(-1)
            goals = self._gather_obs(self.next_observations["achieved_goal"], goal_idx)
            obs["desired_goal"][is_virtual] = goals
            next_obs["desired_goal"][is_virtual] = goals
            rewards[is_virtual] = self._compute_reward(next_obs["achieved_goal"][is_virtual], goals, flat[is_virtual])
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
    def _meta(self) -> dict[str, Any]:
        meta = super()._meta()
        meta.update(
            n_sampled_goal=self.n_sampled_goal,
            goal_selection_strategy=self.goal_selection_strategy.name.lower(),
            copy_info_dict=self.copy_info_dict,
            n_steps_added=self.n_steps_added,
        )
        return meta

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = super()._arrays()
        arrays.update(ep_start=self.ep_start, ep_end=self.ep_end, current_ep_start=self.current_ep_start)
        return arrays

    def save(self, path: str | Any) -> Any:
        """Write the buffer (transitions and episode bookkeeping) to an `.npz` archive. Info dicts kept with
        ``copy_info_dict=True`` are not saved (they are arbitrary Python objects); a warning says so."""
        if self.copy_info_dict:
            warnings.warn(
                "HerReplayBuffer.save does not keep the info dicts stored with copy_info_dict=True: after "
                "load, compute_reward gets empty infos for the saved transitions",
                UserWarning,
                stacklevel=2,
            )
        return super().save(path)

    def _set_arrays(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
        """Restore transitions and episode bookkeeping. This buffer keeps its own env, `n_sampled_goal`,
        strategy and `copy_info_dict`; loaded infos are empty dicts."""
        super()._set_arrays(meta, arrays, where)  # calls reset(), which sizes the episode arrays
        for name in ("ep_start", "ep_end", "current_ep_start"):
            target = getattr(self, name)
            if name not in arrays or arrays[name].shape != target.shape:
                found = arrays[name].shape if name in arrays else "nothing"
                raise ValueError(f"{where}: array {name!r} should have shape {target.shape}, found {found}")
            target[...] = arrays[name]
        n_steps_added = int(meta.get("n_steps_added", -1))
        if (
            n_steps_added < 0
            or n_steps_added % self.buffer_size != self.pos
            or (n_steps_added >= self.buffer_size) != bool(self.full)
        ):
            raise ValueError(
                f"{where}: n_steps_added={meta.get('n_steps_added')!r} does not agree with pos={self.pos} "
                f"and full={self.full} for buffer_size={self.buffer_size}"
            )
        self.n_steps_added = n_steps_added


__all__ = ["HerReplayBuffer", "check_goal_env"]

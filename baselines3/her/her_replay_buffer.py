"""Hindsight Experience Replay (Andrychowicz et al., 2017) for goal-conditioned envs.

A goal-conditioned env has Dict observations with ``observation``, ``achieved_goal`` and ``desired_goal`` and a
vectorized ``compute_reward(achieved_goal, desired_goal, info)``. A failed episode still shows how to reach the
goals it did achieve: HER replays some transitions with their desired goal replaced by a goal achieved in the
same episode, and the reward recomputed for that goal, so sparse-reward tasks get a learning signal.

``HerReplayBuffer`` is plain replay storage read by a ``HerSampler`` (``her_sampler.py``), which keeps the
episode bookkeeping and does the relabelling.
"""

from __future__ import annotations

import pathlib
import warnings
from typing import Any, ClassVar

import gymnasium as gym
import torch
from gymnasium import spaces

from baselines3.common.buffers import ReplayBuffer
from baselines3.common.replay.storage import PlainObservations
from baselines3.common.vec_env import VecEnv
from baselines3.her.goal_selection_strategy import GoalSelectionStrategy
from baselines3.her.her_sampler import HerSampler

GOAL_KEYS = ("observation", "achieved_goal", "desired_goal")


def check_goal_env(observation_space: spaces.Space[Any], env: VecEnv | gym.Env | None) -> None:
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
    """Replay buffer that relabels goals with Hindsight Experience Replay (plain storage, ``HerSampler``).

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

    takes_env: ClassVar[bool] = True  # a model hands it its env, to recompute rewards with
    sampler: HerSampler

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
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
        sampler = HerSampler(env, n_sampled_goal, goal_selection_strategy, copy_info_dict)
        check_goal_env(observation_space, env)
        self._assemble(
            PlainObservations(observation_space),
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
    def her_ratio(self) -> float:
        """Fraction of each batch that is virtual: 1 - 1 / (n_sampled_goal + 1)."""
        return 1.0 - 1.0 / (self.n_sampled_goal + 1)

    @property
    def env(self) -> VecEnv | gym.Env | None:
        """The env whose ``compute_reward`` recomputes rewards."""
        return self.sampler.env

    def set_env(self, env: VecEnv | gym.Env) -> None:
        """Set the env whose ``compute_reward`` recomputes rewards (needed after unpickling the buffer)."""
        check_goal_env(self.observation_space, env)
        self.sampler.env = env

    @property
    def n_sampled_goal(self) -> int:
        return self.sampler.n_sampled_goal

    @property
    def goal_selection_strategy(self) -> GoalSelectionStrategy:
        return self.sampler.goal_selection_strategy

    @property
    def copy_info_dict(self) -> bool:
        return self.sampler.copy_info_dict

    @property
    def n_steps_added(self) -> int:
        """Vec-env steps added so far; step t lives in slot t % buffer_size."""
        return self.sampler.n_steps_added

    @property
    def infos(self) -> list[list[dict[str, Any]]] | None:
        """Per slot and env, the info dict kept with ``copy_info_dict=True`` (else None)."""
        return self.sampler.infos

    def save(self, path: str | Any) -> pathlib.Path:
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


__all__ = ["HerReplayBuffer", "check_goal_env"]

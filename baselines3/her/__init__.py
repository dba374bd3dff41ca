"""Hindsight Experience Replay: a replay buffer that relabels goals for goal-conditioned envs."""

from baselines3.her.goal_selection_strategy import KEY_TO_GOAL_STRATEGY, GoalSelectionStrategy
from baselines3.her.her_replay_buffer import HerReplayBuffer

__all__ = ["KEY_TO_GOAL_STRATEGY", "GoalSelectionStrategy", "HerReplayBuffer"]

"""How Hindsight Experience Replay picks the goals that replace a transition's desired goal."""

from __future__ import annotations

from enum import Enum


class GoalSelectionStrategy(Enum):
    """Where a relabelled (virtual) transition takes its new desired goal from, within its own episode.

    - FUTURE: the goal achieved at the same step or a later one of the episode.
    - FINAL: the goal achieved at the episode's last step.
    - EPISODE: the goal achieved at any step of the episode.
    """

    FUTURE = 0
    FINAL = 1
    EPISODE = 2

    @classmethod
    def from_value(cls, value: GoalSelectionStrategy | str) -> GoalSelectionStrategy:
        """The strategy named by `value`: a member, or its name in any case ("future", "final", "episode")."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str) and value.lower() in KEY_TO_GOAL_STRATEGY:
            return KEY_TO_GOAL_STRATEGY[value.lower()]
        raise ValueError(
            f"Unknown goal_selection_strategy {value!r}: use one of {sorted(KEY_TO_GOAL_STRATEGY)} "
            "or a GoalSelectionStrategy member"
        )


# SB3's lookup table from the string names to the members.
KEY_TO_GOAL_STRATEGY: dict[str, GoalSelectionStrategy] = {
    "future": GoalSelectionStrategy.FUTURE,
    "final": GoalSelectionStrategy.FINAL,
    "episode": GoalSelectionStrategy.EPISODE,
}

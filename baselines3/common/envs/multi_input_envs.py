"""An environment with a Dict observation (a vector and an image), for the multi-input policies."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class SimpleMultiObsEnv(gym.Env):
    """A 4x4 grid world seen through a Dict observation ``{"vec": Box(0, 1, (5,)), "img": uint8 image}``.

    The layout (cells numbered row by row, start in a random cell or in 0, goal in the last cell)::

        | 0   1   2   3 |
        | 4 | 5   6 | 7 |
        | 8 | 9  10 | 11|
        | 12  13  14  15|

    Cells 5, 6, 9 and 10 cannot be entered. Each column has a random vector and each row a random 64x64 image
    (drawn from NumPy's global generator when the env is built), so neither part of the observation alone tells
    the cell. Actions are 0 left, 1 down, 2 right, 3 up (``Discrete(4)``, or with ``discrete_actions=False`` a
    ``Box(0, 1, (4,))`` whose largest component is the move). A step costs -0.1; reaching the goal gives 1 and
    ends the episode, which is truncated after 100 steps. This is Stable-Baselines3's env of the same name;
    the random start comes from the env's own generator, so ``reset(seed=...)`` repeats it.

    With ``image_size`` or ``ep_length`` given it is instead baselines3's quick-learning task: ``vec`` is a
    float32 ``Box(-1, 1, (2,))``, ``img`` an ``image_size`` square (default 36) that is 128 when ``vec[0] > 0``
    and 0 otherwise, the action ``Discrete(2)`` earns 1 when it equals ``vec[0] > 0``, and episodes are
    truncated after ``ep_length`` steps (default 50).
    """

    metadata = {"render_modes": ["human"]}

    _ACTION_NAMES = ("left", "down", "right", "up")

    def __init__(
        self,
        num_col: int = 4,
        num_row: int = 4,
        random_start: bool = True,
        discrete_actions: bool = True,
        channel_last: bool = True,
        *,
        image_size: int | None = None,
        ep_length: int | None = None,
    ) -> None:
        super().__init__()
        self.sign_task = image_size is not None or ep_length is not None
        self.random_start = random_start
        self.discrete_actions = discrete_actions
        self.count = 0
        self.state = 0
        self.log = ""
        if self.sign_task:
            self.image_size = 36 if image_size is None else image_size
            self.ep_length = 50 if ep_length is None else ep_length
            self.observation_space = spaces.Dict(
                {
                    "vec": spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32),
                    "img": spaces.Box(0, 255, shape=(self.image_size, self.image_size, 1), dtype=np.uint8),
                }
            )
            self.action_space: spaces.Space[Any] = spaces.Discrete(2)
            self._obs: dict[str, np.ndarray] = {}
            return
        self.vector_size = 5
        self.img_size = [64, 64, 1] if channel_last else [1, 64, 64]
        self.action_space = spaces.Discrete(4) if discrete_actions else spaces.Box(0, 1, (4,))
        self.observation_space = spaces.Dict(
            {
                "vec": spaces.Box(0, 1, (self.vector_size,), dtype=np.float64),
                "img": spaces.Box(0, 255, self.img_size, dtype=np.uint8),
            }
        )
        self.max_count = 100
        self.num_col = num_col
        self.init_possible_transitions()
        self.state_mapping: list[dict[str, np.ndarray]] = []
        self.init_state_mapping(num_col, num_row)
        self.max_state = len(self.state_mapping) - 1

    # ------------------------------------------------------------------ the grid world
    def init_state_mapping(self, num_col: int, num_row: int) -> None:
        """Draw a random vector per column and a random image per row, and fill ``state_mapping``: cell
        ``i * num_row + j`` shows column ``i``'s vector and row ``j``'s image (Stable-Baselines3's numbering)."""
        column_vectors = np.random.random((num_col, self.vector_size))
        row_images = np.random.randint(0, 255, (num_row, 64, 64), dtype=np.uint8)
        self.state_mapping = [
            {"vec": column_vectors[i], "img": row_images[j].reshape(self.img_size)}
            for i in range(num_col)
            for j in range(num_row)
        ]

    def init_possible_transitions(self) -> None:
        """Set, for each move, the cells of the 4x4 layout it can leave from (``left_possible``,
        ``down_possible``, ``right_possible``, ``up_possible``); any other move stays in place."""
        self.left_possible = [1, 2, 3, 13, 14, 15]
        self.down_possible = [0, 4, 8, 3, 7, 11]
        self.right_possible = [0, 1, 2, 12, 13, 14]
        self.up_possible = [4, 8, 12, 7, 11, 15]

    def get_state_mapping(self) -> dict[str, np.ndarray]:
        """The observation of the current cell (a fresh dict of copies)."""
        return {key: value.copy() for key, value in self.state_mapping[self.state].items()}

    def _grid_step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        move = int(np.argmax(action)) if not self.discrete_actions else int(np.asarray(action).reshape(()))
        self.count += 1
        previous = self.state
        movable = (self.left_possible, self.down_possible, self.right_possible, self.up_possible)
        offsets = (-1, self.num_col, 1, -self.num_col)
        if 0 <= move < 4 and self.state in movable[move]:
            self.state += offsets[move]
        at_goal = self.state == self.max_state
        self.log = f"Went {self._ACTION_NAMES[move]} in state {previous}, got to state {self.state}"
        reward = 1.0 if at_goal else -0.1
        return self.get_state_mapping(), reward, at_goal, self.count > self.max_count, {"got_to_end": at_goal}

    # ------------------------------------------------------------------ the sign task
    def _sign_obs(self) -> dict[str, np.ndarray]:
        vec = self.np_random.uniform(-1, 1, size=2).astype(np.float32)
        img = np.full((self.image_size, self.image_size, 1), 128 if vec[0] > 0 else 0, dtype=np.uint8)
        self._obs = {"vec": vec, "img": img}
        return self._obs

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start a new episode (in a random cell other than the goal when ``random_start``, else in cell 0)."""
        super().reset(seed=seed)
        self.count = 0
        if self.sign_task:
            return self._sign_obs(), {}
        self.state = int(self.np_random.integers(0, self.max_state)) if self.random_start else 0
        return self.get_state_mapping(), {}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Move (grid world) or answer the sign question (sign task)."""
        if not self.sign_task:
            return self._grid_step(action)
        reward = 1.0 if int(action) == int(self._obs["vec"][0] > 0) else 0.0
        self.count += 1
        return self._sign_obs(), reward, False, self.count >= self.ep_length, {}

    def render(self, mode: str = "human") -> None:
        """Print the last move (grid world)."""
        print(self.log)

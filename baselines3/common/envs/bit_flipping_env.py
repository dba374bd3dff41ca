"""The bit-flipping goal environment used to test Hindsight Experience Replay."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class BitFlippingEnv(gym.Env):
    """Goal-conditioned bit flipping (Andrychowicz et al., 2017): turn a random bit string into a goal string.

    Observations are dicts with ``observation`` and ``achieved_goal`` (both the current bits) and
    ``desired_goal`` (the goal bits). Each step flips one bit (``Discrete(n_bits)``), or with ``continuous=True``
    every bit whose action component is > 0 (``Box(-1, 1, (n_bits,))``). The reward is 0 when the bits equal the
    goal (the episode then terminates) and -1 otherwise, so random exploration almost never sees a success for
    large ``n_bits``: the classic case for Hindsight Experience Replay. After ``max_steps`` steps (default
    ``n_bits``) the episode is truncated.

    Bits are shown as a MultiBinary vector (a float32 Box in [0, 1] when ``continuous``), as one integer
    ``Discrete(2**n_bits)`` with ``discrete_obs_space``, or as a 36x36 uint8 image whose first ``n_bits``
    pixels are 255 for a 1 bit with ``image_obs_space`` (channel first unless ``channel_first=False``).
    """

    metadata = {"render_modes": ["human", "rgb_array"]}
    _IMAGE_SIDE = 36  # the smallest image NatureCNN accepts

    def __init__(
        self,
        n_bits: int = 10,
        continuous: bool = False,
        max_steps: int | None = None,
        discrete_obs_space: bool = False,
        image_obs_space: bool = False,
        channel_first: bool = True,
        render_mode: str | None = "human",
    ) -> None:
        if n_bits < 1:
            raise ValueError(f"n_bits must be >= 1, got {n_bits}")
        if discrete_obs_space and image_obs_space:
            raise ValueError("Choose at most one of discrete_obs_space=True and image_obs_space=True")
        if discrete_obs_space and n_bits > 62:
            raise ValueError(f"discrete_obs_space=True needs n_bits <= 62 (2**n_bits must fit int64), got {n_bits}")
        if image_obs_space and n_bits > self._IMAGE_SIDE**2:
            raise ValueError(f"image_obs_space=True needs n_bits <= {self._IMAGE_SIDE**2}, got {n_bits}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.n_bits = n_bits
        self.continuous = continuous
        self.max_steps = n_bits if max_steps is None else max_steps
        self.discrete_obs_space = discrete_obs_space
        self.image_obs_space = image_obs_space
        self.channel_first = channel_first
        self.render_mode = render_mode

        goal_space: spaces.Space[Any]
        if discrete_obs_space:
            goal_space = spaces.Discrete(2**n_bits)
        elif image_obs_space:
            side = self._IMAGE_SIDE
            shape = (1, side, side) if channel_first else (side, side, 1)
            goal_space = spaces.Box(0, 255, shape=shape, dtype=np.uint8)
        elif continuous:
            goal_space = spaces.Box(0.0, 1.0, shape=(n_bits,), dtype=np.float32)
        else:
            goal_space = spaces.MultiBinary(n_bits)
        self._goal_space = goal_space
        self.observation_space = spaces.Dict(
            {"observation": goal_space, "achieved_goal": goal_space, "desired_goal": goal_space}
        )
        if continuous:
            self.action_space: spaces.Space[Any] = spaces.Box(-1.0, 1.0, shape=(n_bits,), dtype=np.float32)
        else:
            self.action_space = spaces.Discrete(n_bits)
        self.state = np.zeros(n_bits, dtype=np.int64)
        self.goal = np.ones(n_bits, dtype=np.int64)
        self.current_step = 0

    # ------------------------------------------------------------------ encodings of a bit vector
    def encode(self, bits: np.ndarray) -> Any:
        """The observation-space form of a 0/1 vector of length n_bits."""
        bits = np.asarray(bits, dtype=np.int64)
        if self.discrete_obs_space:
            return np.int64(np.dot(bits, 2 ** np.arange(self.n_bits, dtype=np.int64)))
        if self.image_obs_space:
            image = np.zeros(self._IMAGE_SIDE**2, dtype=np.uint8)
            image[: self.n_bits] = bits * 255
            return image.reshape(self._goal_space.shape)
        if self.continuous:
            return bits.astype(np.float32)
        return bits.astype(np.int8)

    def decode(self, value: Any) -> np.ndarray:
        """The 0/1 vector encoded by one observation-space value (inverse of `encode`)."""
        if self.discrete_obs_space:
            return (int(np.asarray(value).reshape(())) >> np.arange(self.n_bits)) & 1
        if self.image_obs_space:
            return (np.asarray(value).reshape(-1)[: self.n_bits] > 127).astype(np.int64)
        return (np.asarray(value) > 0.5).astype(np.int64)

    def convert_if_needed(self, state: np.ndarray) -> Any:
        """Stable-Baselines3's name for :meth:`encode` (a Python int for ``discrete_obs_space``)."""
        encoded = self.encode(state)
        return int(encoded) if self.discrete_obs_space else encoded

    def convert_to_bit_vector(self, state: Any, batch_size: int) -> np.ndarray:
        """A batch of ``batch_size`` encoded states back as rows of bits, shape ``(batch_size, n_bits)``
        (the image encoding gives 0.0/1.0 floats, as in Stable-Baselines3)."""
        if self.discrete_obs_space:
            values = np.asarray(state, dtype=np.int64).reshape(batch_size, -1)[:, :1]
            return (values >> np.arange(self.n_bits)) & 1
        if self.image_obs_space:
            return np.asarray(state).reshape(batch_size, -1)[:, : self.n_bits] / 255
        return np.asarray(state).reshape(batch_size, -1)

    def seed(self, seed: int) -> None:
        """Seed the env's generator and its spaces' samplers (Gymnasium's ``reset(seed=...)`` is preferred)."""
        self._np_random, _ = gym.utils.seeding.np_random(seed)
        self.observation_space.seed(seed)
        self.action_space.seed(seed)

    def _obs(self) -> dict[str, Any]:
        state = self.encode(self.state)
        return {"observation": state, "achieved_goal": self.encode(self.state), "desired_goal": self.encode(self.goal)}

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        self.current_step = 0
        self.state = self.np_random.integers(0, 2, size=self.n_bits)
        self.goal = self.np_random.integers(0, 2, size=self.n_bits)
        while np.array_equal(self.state, self.goal):  # start away from the goal
            self.goal = self.np_random.integers(0, 2, size=self.n_bits)
        return self._obs(), {}

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self.continuous:
            flips = np.asarray(action).reshape(self.n_bits) > 0
            self.state = np.where(flips, 1 - self.state, self.state)
        else:
            index = int(np.asarray(action).reshape(()))
            self.state = self.state.copy()
            self.state[index] = 1 - self.state[index]
        self.current_step += 1
        obs = self._obs()
        reward = float(self.compute_reward(obs["achieved_goal"], obs["desired_goal"], {}))
        terminated = reward == 0.0
        truncated = not terminated and self.current_step >= self.max_steps
        return obs, reward, terminated, truncated, {"is_success": terminated}

    def compute_reward(self, achieved_goal: Any, desired_goal: Any, info: Any) -> np.ndarray:
        """0 where the achieved goal equals the desired goal, else -1; vectorized over a leading batch axis.

        One goal gives a 0-d array; a batch of goals (shape ``(batch, *goal_shape)``, or ``(batch, 1)`` /
        ``(batch,)`` for Discrete goals) gives one reward per row.
        """
        achieved, desired = np.asarray(achieved_goal), np.asarray(desired_goal)
        goal_ndim = len(self._goal_space.shape or ())
        if achieved.ndim <= goal_ndim:  # one goal
            return np.asarray(0.0 if np.array_equal(achieved, desired) else -1.0, dtype=np.float32)
        batch = achieved.shape[0]
        equal = np.all(achieved.reshape(batch, -1) == desired.reshape(batch, -1), axis=1)
        return np.where(equal, 0.0, -1.0).astype(np.float32)

    def render(self) -> np.ndarray | None:
        """ "human": print the bits and the goal; "rgb_array": an 8-pixel-high strip, white for 1 bits, with the
        goal below the state."""
        if self.render_mode == "rgb_array":
            rows = np.stack([self.state, self.goal]).astype(np.uint8) * 255
            strip = np.repeat(np.repeat(rows, 8, axis=0), 8, axis=1)
            return np.repeat(strip[:, :, None], 3, axis=2)
        if self.render_mode == "human":
            print(f"state {''.join(map(str, self.state))}  goal {''.join(map(str, self.goal))}")
        return None

"""Small probe environments: each isolates one capability so a learning test runs in seconds."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class IdentityEnv(gym.Env):
    """Observation is a random element of `space`; the reward is 1 when the action equals it.

    A policy that learns the identity map reaches the maximum return `ep_length`.
    """

    metadata = {"render_modes": []}

    def __init__(self, dim: int | None = None, space: spaces.Space | None = None, ep_length: int = 100) -> None:
        if space is None:
            space = spaces.Discrete(2 if dim is None else dim)
        self.action_space = self.observation_space = space
        self.ep_length = ep_length
        self.current_step = 0
        self.state: Any = None

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self.observation_space.seed(seed)
        self.current_step = 0
        self.state = self.observation_space.sample()
        return self.state, {}

    def _reward(self, action: Any) -> float:
        return 1.0 if np.array_equal(self.state, action) else 0.0

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        reward = self._reward(action)
        self.state = self.observation_space.sample()
        self.current_step += 1
        return self.state, reward, False, self.current_step >= self.ep_length, {}


class IdentityEnvBox(IdentityEnv):
    """Continuous identity: reward 1 when the action is within `eps` of the observation."""

    def __init__(self, low: float = -1.0, high: float = 1.0, eps: float = 0.05, ep_length: int = 100) -> None:
        super().__init__(space=spaces.Box(low, high, shape=(1,), dtype=np.float32), ep_length=ep_length)
        self.eps = eps

    def _reward(self, action: Any) -> float:
        return 1.0 if float(np.abs(self.state - action).max()) < self.eps else 0.0


class IdentityEnvMultiDiscrete(IdentityEnv):
    def __init__(self, dim: int = 1, ep_length: int = 100) -> None:
        super().__init__(space=spaces.MultiDiscrete([dim, dim]), ep_length=ep_length)


class IdentityEnvMultiBinary(IdentityEnv):
    def __init__(self, dim: int = 1, ep_length: int = 100) -> None:
        super().__init__(space=spaces.MultiBinary(dim), ep_length=ep_length)


class FakeImageEnv(gym.Env):
    """Random uint8 images (channel-last by default) with a discrete or continuous action; reward is 0."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        action_dim: int = 6,
        screen_height: int = 84,
        screen_width: int = 84,
        n_channels: int = 1,
        discrete: bool = True,
        channel_first: bool = False,
        ep_length: int = 10,
    ) -> None:
        shape = (
            (n_channels, screen_height, screen_width) if channel_first else (screen_height, screen_width, n_channels)
        )
        self.observation_space = spaces.Box(0, 255, shape=shape, dtype=np.uint8)
        if discrete:
            self.action_space: spaces.Space = spaces.Discrete(action_dim)
        else:
            self.action_space = spaces.Box(-1.0, 1.0, shape=(action_dim,), dtype=np.float32)
        self.ep_length = ep_length
        self.current_step = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self.observation_space.seed(seed)
        self.current_step = 0
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.current_step += 1
        return self.observation_space.sample(), 0.0, False, self.current_step >= self.ep_length, {}


class SimpleMultiObsEnv(gym.Env):
    """Dict observation {"vec": Box(2), "img": uint8 image}; reward 1 when the action equals the sign bit of vec[0].

    Small enough to learn in a few thousand steps; exercises CombinedExtractor with an image and a vector.
    """

    metadata = {"render_modes": []}

    def __init__(self, image_size: int = 36, ep_length: int = 50) -> None:
        self.observation_space = spaces.Dict(
            {
                "vec": spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32),
                "img": spaces.Box(0, 255, shape=(image_size, image_size, 1), dtype=np.uint8),
            }
        )
        self.action_space = spaces.Discrete(2)
        self.image_size = image_size
        self.ep_length = ep_length
        self.current_step = 0
        self._obs: dict[str, np.ndarray] = {}

    def _new_obs(self) -> dict[str, np.ndarray]:
        vec = self.np_random.uniform(-1, 1, size=2).astype(np.float32)
        img = np.full((self.image_size, self.image_size, 1), 128 if vec[0] > 0 else 0, dtype=np.uint8)
        self._obs = {"vec": vec, "img": img}
        return self._obs

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self.current_step = 0
        return self._new_obs(), {}

    def step(self, action: Any) -> tuple[dict, float, bool, bool, dict]:
        reward = 1.0 if int(action) == int(self._obs["vec"][0] > 0) else 0.0
        self.current_step += 1
        return self._new_obs(), reward, False, self.current_step >= self.ep_length, {}


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

        goal_space: spaces.Space
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
            self.action_space: spaces.Space = spaces.Box(-1.0, 1.0, shape=(n_bits,), dtype=np.float32)
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

    def _obs(self) -> dict[str, Any]:
        state = self.encode(self.state)
        return {"observation": state, "achieved_goal": self.encode(self.state), "desired_goal": self.encode(self.goal)}

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict[str, Any], dict]:
        super().reset(seed=seed)
        self.current_step = 0
        self.state = self.np_random.integers(0, 2, size=self.n_bits)
        self.goal = self.np_random.integers(0, 2, size=self.n_bits)
        while np.array_equal(self.state, self.goal):  # start away from the goal
            self.goal = self.np_random.integers(0, 2, size=self.n_bits)
        return self._obs(), {}

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict]:
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

    def render(self) -> np.ndarray | None:  # type: ignore[override]
        """ "human": print the bits and the goal; "rgb_array": an 8-pixel-high strip, white for 1 bits, with the
        goal below the state."""
        if self.render_mode == "rgb_array":
            rows = np.stack([self.state, self.goal]).astype(np.uint8) * 255
            strip = np.repeat(np.repeat(rows, 8, axis=0), 8, axis=1)
            return np.repeat(strip[:, :, None], 3, axis=2)
        if self.render_mode == "human":
            print(f"state {''.join(map(str, self.state))}  goal {''.join(map(str, self.goal))}")
        return None

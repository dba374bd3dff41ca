"""Atari preprocessing as in the DQN paper (Mnih et al., 2015, "Human-level control through deep RL").

``AtariWrapper`` is the whole pipeline in one wrapper. It builds on gymnasium's own
``AtariPreprocessing`` for the steps that wrapper already does the paper's way (no-op reset, frame
skip with max-pooling of the last two frames, grayscale, resize) and adds what gymnasium lacks:
sticky actions, episodic life with a reset that continues the game, FIRE on reset, and sign
clipping of rewards. Each step also exists as a wrapper of its own (same names and constructor
signatures as Stable-Baselines3), usable on any ALE env.

Order (innermost first)::

    ALE env (frameskip=1) -> [Monitor] -> StickyActionEnv (optional) -> AtariPreprocessing
        -> EpisodicLifeEnv -> FireResetEnv (games with FIRE) -> ClipRewardEnv

Life-loss and FIRE handling sit outside the frame skip, so one of their steps is one agent step
(``frame_skip`` frames), and they read the lives straight from the emulator
(``env.unwrapped.ale.lives()``). A ``Monitor`` below ``AtariWrapper`` (as ``make_atari_env`` puts
it) sees every frame, the raw rewards and the real game boundaries.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import AtariPreprocessing

__all__ = [
    "AtariWrapper",
    "ClipRewardEnv",
    "EpisodicLifeEnv",
    "FireResetEnv",
    "MaxAndSkipEnv",
    "NoopResetEnv",
    "StickyActionEnv",
    "WarpFrame",
]

StepReturn = tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]


def _describe(env: gym.Env) -> str:
    """A short name for error messages: the env id if registered, else its class."""
    spec = env.unwrapped.spec
    return repr(spec.id) if spec is not None else type(env.unwrapped).__name__


def _require_ale(env: gym.Env, who: str) -> None:
    """Raise a clear error unless ``env`` is (a wrapped) ale_py Atari env."""
    base = env.unwrapped
    if getattr(base, "ale", None) is None or not callable(getattr(base, "get_action_meanings", None)):
        raise TypeError(
            f"{who} needs an Atari env from ale_py (one whose env.unwrapped has an `ale` emulator and "
            f"`get_action_meanings()`), got {_describe(env)} ({type(base).__module__}.{type(base).__name__}). "
            'Create one with e.g. gym.make("PongNoFrameskip-v4") or make_atari_env("PongNoFrameskip-v4").'
        )


def _action_meanings(env: gym.Env) -> list[str]:
    return list(env.unwrapped.get_action_meanings())  # type: ignore[attr-defined]


def _check_noop_first(env: gym.Env, who: str) -> None:
    meanings = _action_meanings(env)
    if not meanings or meanings[0] != "NOOP":
        raise ValueError(f"{who} needs action 0 to be NOOP, but {_describe(env)} has actions {meanings}")


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


class StickyActionEnv(gym.Wrapper):
    """Sticky actions (Machado et al., 2018): with probability ``action_repeat_probability`` the env
    repeats the previous action instead of the one given.

    Put it below any frame skip so that stickiness applies per frame, as in the ALE. The "previous
    action" after a reset is action 0 (NOOP on Atari). Randomness comes from the env's ``np_random``,
    so it follows the reset seed.

    :param env: env with a ``Discrete`` action space
    :param action_repeat_probability: probability in [0, 1] of repeating the previous action
    """

    def __init__(self, env: gym.Env, action_repeat_probability: float) -> None:
        if not isinstance(env.action_space, spaces.Discrete):
            raise TypeError(f"StickyActionEnv needs a Discrete action space, got {env.action_space}")
        if not 0.0 <= float(action_repeat_probability) <= 1.0:
            raise ValueError(f"action_repeat_probability must be in [0, 1], got {action_repeat_probability!r}")
        super().__init__(env)
        self.action_repeat_probability = float(action_repeat_probability)
        self._sticky_action = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._sticky_action = 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> StepReturn:
        # Keep the previous action with probability p, else take the new one.
        if self.np_random.random() >= self.action_repeat_probability:
            self._sticky_action = action
        return self.env.step(self._sticky_action)


class NoopResetEnv(gym.Wrapper):
    """Start each episode with a random number (1 to ``noop_max``) of NOOP actions.

    The agent then starts from varied states instead of one fixed start (DQN paper, evaluation
    protocol; used in training too). The count comes from the env's ``np_random``, so it follows
    the reset seed. Set ``override_num_noops`` to force a count.

    :param env: Atari env whose action 0 is NOOP
    :param noop_max: maximum number of no-ops (0: none)
    """

    def __init__(self, env: gym.Env, noop_max: int = 30) -> None:
        _require_ale(env, "NoopResetEnv")
        _check_int("noop_max", noop_max, 0)
        _check_noop_first(env, "NoopResetEnv")
        super().__init__(env)
        self.noop_max = int(noop_max)
        self.override_num_noops: int | None = None
        self.noop_action = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        if self.override_num_noops is not None:
            n_noops = self.override_num_noops
        elif self.noop_max > 0:
            n_noops = int(self.unwrapped.np_random.integers(1, self.noop_max + 1))
        else:
            n_noops = 0
        for _ in range(n_noops):
            obs, _, terminated, truncated, info = self.env.step(self.noop_action)
            if terminated or truncated:  # rare: the game ended during the no-ops
                obs, info = self.env.reset(**kwargs)
        return obs, info


class MaxAndSkipEnv(gym.Wrapper):
    """Repeat each action ``skip`` times, sum the rewards and return the pixel-wise maximum of the
    last two frames.

    Skipping lets the agent act at 15 Hz instead of 60 Hz at a quarter of the cost; the maximum
    removes the flicker of sprites that the Atari draws only on every other frame. If the episode
    ends early, the last two frames seen (possibly the last one of the previous step) are used.

    :param env: env with a frame-skip of 1 (e.g. ``*NoFrameskip-v4``)
    :param skip: number of frames per agent step
    """

    def __init__(self, env: gym.Env, skip: int = 4) -> None:
        _check_int("skip", skip, 1)
        if not isinstance(env.observation_space, spaces.Box):
            raise TypeError(f"MaxAndSkipEnv needs a Box observation space, got {env.observation_space}")
        super().__init__(env)
        self._skip = int(skip)
        self._last_frame: np.ndarray | None = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._last_frame = obs
        return obs, info

    def step(self, action: Any) -> StepReturn:
        total_reward = 0.0
        previous: np.ndarray | None = self._last_frame
        frame: Any = None
        terminated = truncated = False
        info: dict[str, Any] = {}
        for _ in range(self._skip):
            obs, reward, terminated, truncated, info = self.env.step(action)
            total_reward += float(reward)
            previous, frame = frame if frame is not None else previous, obs
            if terminated or truncated:
                break
        self._last_frame = frame
        if self._skip == 1 or previous is None:
            return frame, total_reward, terminated, truncated, info
        return np.maximum(previous, frame), total_reward, terminated, truncated, info


class EpisodicLifeEnv(gym.Wrapper):
    """End the episode (``terminated=True``) when a life is lost, but reset the game only when it
    is really over.

    The DQN paper trains with life loss as terminal, which tells the agent that losing a life is
    bad without ending the game: ``reset()`` after a life loss only takes one NOOP step and play
    goes on with the remaining lives. A ``reset()`` after a real game over or truncation, after a
    step that lost no life, or with a ``seed``/``options``, resets the game.

    :param env: Atari env (wrapped or not)
    """

    def __init__(self, env: gym.Env) -> None:
        _require_ale(env, "EpisodicLifeEnv")
        super().__init__(env)
        self.lives = 0
        self.was_real_done = True  # did the last episode end with a real game over (or truncation)?
        self._continue_on_reset = False

    def _ale_lives(self) -> int:
        return int(self.unwrapped.ale.lives())  # type: ignore[attr-defined]

    def step(self, action: Any) -> StepReturn:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.was_real_done = bool(terminated or truncated)
        lives = self._ale_lives()
        # Lives > 0: some games (e.g. Q*bert) show 0 lives for a few frames before the real game over,
        # which the env then reports itself.
        life_lost = 0 < lives < self.lives
        self.lives = lives
        self._continue_on_reset = life_lost and not self.was_real_done
        return obs, reward, bool(terminated or life_lost), truncated, info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if self._continue_on_reset and seed is None and options is None:
            # Continue the same game: one NOOP step gives the first observation of the next life.
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                obs, info = self.env.reset()
        else:
            obs, info = self.env.reset(seed=seed, options=options)
        self._continue_on_reset = False
        self.lives = self._ale_lives()
        return obs, info


class FireResetEnv(gym.Wrapper):
    """Press FIRE, then action 2, after each reset, for games that wait for FIRE to start (e.g. Breakout).

    Without it an agent can stall for a whole episode before it learns to press FIRE. The second press (action 2,
    as in Stable-Baselines3 and the original DQN code) moves on from games where FIRE alone does not start play.
    Placed outside ``EpisodicLifeEnv``, it also presses them after each life loss. If either step ends the
    episode, the env is reset again and the observation returned is that of the new episode.

    :param env: Atari env whose actions include FIRE, with at least 3 actions
    """

    def __init__(self, env: gym.Env) -> None:
        _require_ale(env, "FireResetEnv")
        meanings = _action_meanings(env)
        if "FIRE" not in meanings:
            raise ValueError(f"FireResetEnv needs a FIRE action, but {_describe(env)} has actions {meanings}")
        if len(meanings) < 3:
            raise ValueError(f"FireResetEnv needs at least 3 actions, but {_describe(env)} has {meanings}")
        super().__init__(env)
        self.fire_action = meanings.index("FIRE")

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset, then step FIRE and action 2 (resetting again if a step ends the episode)."""
        obs, info = self.env.reset(**kwargs)
        for action in (self.fire_action, 2):
            obs, _, terminated, truncated, _ = self.env.step(action)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        return obs, info


class WarpFrame(gym.ObservationWrapper):
    """Convert frames to grayscale and resize them to ``height x width`` (``(height, width, 1)``
    uint8), as in the DQN paper (luminance, 84x84).

    Resizing uses area interpolation, which averages pixels instead of dropping thin objects.

    :param env: env with RGB (``(H, W, 3)``) or grayscale (``(H, W)`` / ``(H, W, 1)``) uint8 frames
    :param width: output width
    :param height: output height
    """

    def __init__(self, env: gym.Env, width: int = 84, height: int = 84) -> None:
        _check_int("width", width, 1)
        _check_int("height", height, 1)
        space = env.observation_space
        if not isinstance(space, spaces.Box) or not (
            len(space.shape) == 2 or (len(space.shape) == 3 and space.shape[-1] in (1, 3))
        ):
            raise TypeError(f"WarpFrame needs image frames of shape (H, W), (H, W, 1) or (H, W, 3), got {space}")
        super().__init__(env)
        self.width = int(width)
        self.height = int(height)
        self.observation_space = spaces.Box(low=0, high=255, shape=(self.height, self.width, 1), dtype=np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        import cv2  # imported here so that importing this module does not require OpenCV

        frame: np.ndarray = np.asarray(observation, dtype=np.uint8)
        if frame.ndim == 3 and frame.shape[-1] == 3:
            frame = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        elif frame.ndim == 3:
            frame = frame[..., 0]
        frame = cv2.resize(frame, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return frame[:, :, None]


class ClipRewardEnv(gym.RewardWrapper):
    """Replace each reward by its sign (-1, 0 or +1).

    The DQN paper does this so that one learning rate works across games whose scores differ by
    orders of magnitude. Wrappers below it (e.g. ``Monitor``) still see the real rewards.

    :param env: any env
    """

    def reward(self, reward: SupportsFloat) -> float:
        return float(np.sign(float(reward)))


class AtariWrapper(gym.Wrapper):
    """The DQN-paper Atari preprocessing in one wrapper.

    - sticky actions with probability ``action_repeat_probability`` (per frame; off by default),
    - no-op reset: 1 to ``noop_max`` NOOP frames after each game reset,
    - frame skip: each action is repeated for ``frame_skip`` frames, rewards summed, and the frame
      is the pixel-wise maximum of the last two (grayscale) frames,
    - grayscale and resize to ``screen_size x screen_size``: observations ``(84, 84, 1)`` uint8,
    - episodic life: a lost life ends the episode, the next ``reset()`` continues the game,
    - FIRE on reset for games whose actions include FIRE,
    - rewards clipped to their sign.

    The first four come from ``gymnasium.wrappers.AtariPreprocessing``, which grayscales each frame
    before max-pooling (the paper max-pools colour frames first; the two differ only on pixels
    that change colour between the two frames). Frame stacking is done on the VecEnv
    (``VecFrameStack(venv, n_stack=4)``).

    The wrapped env must not skip frames itself when ``frame_skip > 1``: use a ``*NoFrameskip-v4``
    id, or ``ALE/<Game>-v5`` made with ``frameskip=1`` (``make_atari_env`` does this for you).

    :param env: ale_py Atari env with image observations
    :param noop_max: maximum number of no-ops at reset (0: none)
    :param frame_skip: frames per agent step (1: no skip and no max-pooling)
    :param screen_size: side of the square observation
    :param terminal_on_life_loss: end the episode on each life loss (episodic life)
    :param clip_reward: clip rewards to their sign
    :param action_repeat_probability: sticky-action probability (0: off)
    """

    def __init__(
        self,
        env: gym.Env,
        noop_max: int = 30,
        frame_skip: int = 4,
        screen_size: int = 84,
        terminal_on_life_loss: bool = True,
        clip_reward: bool = True,
        action_repeat_probability: float = 0.0,
    ) -> None:
        _require_ale(env, "AtariWrapper")
        _check_int("noop_max", noop_max, 0)
        _check_int("frame_skip", frame_skip, 1)
        _check_int("screen_size", screen_size, 1)
        if not 0.0 <= float(action_repeat_probability) <= 1.0:
            raise ValueError(f"action_repeat_probability must be in [0, 1], got {action_repeat_probability!r}")
        env_frameskip = getattr(env.unwrapped, "_frameskip", None)
        if frame_skip > 1 and env_frameskip != 1:
            raise ValueError(
                f"AtariWrapper(frame_skip={frame_skip}) needs an env that does not skip frames itself, but "
                f"{_describe(env)} already skips frameskip={env_frameskip!r}, which would give "
                f"frame_skip x frameskip frames per step. Use a '*NoFrameskip-v4' id, create the env with "
                f"gym.make(..., frameskip=1) (make_atari_env does this for 'ALE/*-v5' ids), or pass frame_skip=1."
            )
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) not in (2, 3):
            raise ValueError(
                f"AtariWrapper needs image observations (ALE obs_type='rgb' or 'grayscale'), but {_describe(env)} "
                f"has observation space {space}"
            )
        if noop_max > 0:
            _check_noop_first(env, "AtariWrapper(noop_max > 0)")

        wrapped: gym.Env = env
        if action_repeat_probability > 0.0:
            wrapped = StickyActionEnv(wrapped, action_repeat_probability)
        wrapped = AtariPreprocessing(
            wrapped,
            noop_max=int(noop_max),
            frame_skip=int(frame_skip),
            screen_size=int(screen_size),
            terminal_on_life_loss=False,  # its version resets the whole game; EpisodicLifeEnv continues it
            grayscale_obs=True,
            grayscale_newaxis=True,
            scale_obs=False,
        )
        if terminal_on_life_loss:
            wrapped = EpisodicLifeEnv(wrapped)
        if "FIRE" in _action_meanings(env):
            wrapped = FireResetEnv(wrapped)
        if clip_reward:
            wrapped = ClipRewardEnv(wrapped)
        super().__init__(wrapped)

"""Base classes of vectorized environments: ``VecEnv`` and ``VecEnvWrapper``.

A vectorized environment steps ``num_envs`` copies of an environment as one batch:

- ``reset()`` returns the batch of first observations (a dict of batches for Dict spaces) and keeps
  each env's reset ``info`` in ``reset_infos``;
- ``step(actions)`` returns ``(obs, rewards, dones, infos)`` with ``rewards`` float32, ``dones`` bool
  (``terminated or truncated``) and ``infos`` a list of dicts. A finished env is reset at once: its
  entry of ``obs`` is the first observation of the next episode, ``infos[i]["terminal_observation"]``
  the last one of the finished episode and ``infos[i]["TimeLimit.truncated"]`` tells whether it was
  cut by a time limit rather than terminated.
"""

from __future__ import annotations

import copy
import pickle
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

import cloudpickle
import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = [
    "CloudpickleWrapper",
    "VecEnv",
    "VecEnvIndices",
    "VecEnvObs",
    "VecEnvStepReturn",
    "VecEnvWrapper",
    "tile_images",
]

# Which envs a method applies to: None for all, an index, or several indices.
VecEnvIndices = None | int | Iterable[int]
# A batch of observations: one array, or one array per key of a Dict space.
VecEnvObs = np.ndarray | dict[str, np.ndarray] | tuple[np.ndarray, ...]
# (observations, rewards, dones, infos)
VecEnvStepReturn = tuple[VecEnvObs, np.ndarray, np.ndarray, list[dict[str, Any]]]


def tile_images(images_nhwc: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Arrange N images of shape (H, W, C) on a near-square grid, filling unused cells with black."""
    images = np.asarray(images_nhwc)
    n_images, height, width, n_channels = images.shape
    n_cols = int(np.ceil(np.sqrt(n_images)))
    n_rows = int(np.ceil(n_images / n_cols))
    padding = np.zeros((n_rows * n_cols - n_images, height, width, n_channels), dtype=images.dtype)
    grid = np.concatenate([images, padding]).reshape(n_rows, n_cols, height, width, n_channels)
    return grid.transpose(0, 2, 1, 3, 4).reshape(n_rows * height, n_cols * width, n_channels)


class VecEnv(ABC):
    """Abstract batch of ``num_envs`` environments sharing observation and action spaces.

    :param num_envs: number of environments
    :param observation_space: observation space of one env
    :param action_space: action space of one env
    """

    def __init__(self, num_envs: int, observation_space: spaces.Space[Any], action_space: spaces.Space[Any]) -> None:
        self.num_envs = num_envs
        self.observation_space = observation_space
        self.action_space = action_space
        # Info dict returned by each env's most recent reset (explicit or automatic).
        self.reset_infos: list[dict[str, Any]] = [{} for _ in range(num_envs)]
        # Seeds and options used by the next reset() only.
        self._seeds: list[int | None] = [None] * num_envs
        self._options: list[dict[str, Any]] = [{} for _ in range(num_envs)]
        self.render_mode: str | None = self._find_render_mode()
        modes = [] if self.render_mode is None else [self.render_mode]
        if self.render_mode == "rgb_array":
            modes = ["human", "rgb_array"]  # "human" is shown by tiling the rgb frames
        self.metadata: dict[str, Any] = {"render_modes": modes}

    def _find_render_mode(self) -> str | None:
        try:
            render_modes = self.get_attr("render_mode")
        except AttributeError:
            warnings.warn("The envs define no `render_mode` attribute; using None.", stacklevel=3)
            return None
        if any(mode != render_modes[0] for mode in render_modes):
            raise ValueError(f"All envs of a VecEnv must share one render_mode, got {render_modes}")
        render_mode: str | None = render_modes[0]
        return render_mode

    # ----- core API -------------------------------------------------------------------------------
    @abstractmethod
    def reset(self) -> VecEnvObs:
        """Reset all envs (with the seeds/options set by ``seed``/``set_options``) and return the obs."""

    @abstractmethod
    def step_async(self, actions: np.ndarray) -> None:
        """Start stepping all envs with ``actions`` (one per env); collect with ``step_wait``."""

    @abstractmethod
    def step_wait(self) -> VecEnvStepReturn:
        """Finish the step started by ``step_async``: ``(obs, rewards, dones, infos)``."""

    @abstractmethod
    def close(self) -> None:
        """Release the envs' resources (safe to call twice)."""

    @abstractmethod
    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """Value of attribute ``attr_name`` of each selected env (looked up through its wrappers)."""

    @abstractmethod
    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set attribute ``attr_name`` of each selected env to ``value``."""

    @abstractmethod
    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        """Call ``method_name(*method_args, **method_kwargs)`` on each selected env; list of results."""

    @abstractmethod
    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """Whether each selected env is wrapped (at any depth) in ``wrapper_class``."""

    def _action_batch(self, actions: Any) -> Any:
        """``actions`` as one action per env.

        With a single env, an action that is not batched (its shape is the action space's, e.g. ``(3,)`` for a
        ``Box(3,)`` or a plain int for a ``Discrete``) is taken as that env's action. Anything else must have one
        entry per env (ValueError otherwise).
        """
        if self.num_envs == 1:
            shape = getattr(self.action_space, "shape", None)
            if shape is not None and not isinstance(actions, (list, tuple, dict)) and np.shape(actions) == shape:
                return np.asarray(actions)[None]
        try:
            count = len(actions)
        except TypeError:
            raise ValueError(f"Expected one action per env ({self.num_envs}), got {actions!r}") from None
        if count != self.num_envs:
            raise ValueError(f"Expected one action per env ({self.num_envs}), got {count}")
        return actions

    def step(self, actions: np.ndarray) -> VecEnvStepReturn:
        """Step all envs: ``step_async(actions)`` then ``step_wait()``."""
        self.step_async(actions)
        return self.step_wait()

    def has_attr(self, attr_name: str) -> bool:
        """Whether the envs have attribute ``attr_name`` (checked on the first env)."""
        try:
            self.get_attr(attr_name, indices=0)
        except AttributeError:
            return False
        return True

    def get_images(self) -> Sequence[np.ndarray | None]:
        """One rgb frame per env (needs ``render_mode="rgb_array"``)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_images()")

    def render(self, mode: str | None = None) -> np.ndarray | None:
        """Render the envs.

        ``"rgb_array"`` returns all envs' frames tiled into one image; ``"human"`` shows that image
        (with OpenCV) when the envs render rgb arrays, else calls each env's own ``render()``.
        """
        if mode is None:
            mode = self.render_mode
        if mode is None:
            warnings.warn("render() called on envs created with render_mode=None; nothing to show.", stacklevel=2)
            return None
        if self.render_mode == "rgb_array" and mode in ("rgb_array", "human"):
            frames = self.get_images()
            if any(frame is None for frame in frames):
                raise RuntimeError("An env returned no frame from render() although its render_mode is 'rgb_array'")
            big_image = tile_images([np.asarray(frame) for frame in frames])
            if mode == "rgb_array":
                return big_image
            try:
                import cv2
            except ImportError as exc:
                raise ImportError(
                    "render(mode='human') on rgb_array envs shows the frames with OpenCV: pip install opencv-python"
                ) from exc
            cv2.imshow("vecenv", big_image[:, :, ::-1])
            cv2.waitKey(1)
            return None
        if mode == self.render_mode:
            self.env_method("render")
            return None
        raise ValueError(
            f"render(mode={mode!r}) is not possible for envs created with render_mode={self.render_mode!r}; "
            f"use one of {self.metadata['render_modes']}"
        )

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed env ``i`` with ``seed + i`` at the next ``reset()`` (a random base seed when None).

        :return: the seed of each env
        """
        if seed is None:
            seed = int(np.random.randint(0, np.iinfo(np.uint32).max, dtype=np.uint32))
        self._seeds = [int(seed) + idx for idx in range(self.num_envs)]
        return self._seeds

    def set_options(self, options: list[dict[str, Any]] | dict[str, Any] | None = None) -> None:
        """Options passed to each env's ``reset(options=...)`` at the next ``reset()``.

        :param options: one dict for all envs or a list with one dict per env
        """
        if options is None:
            options = {}
        if isinstance(options, dict):
            self._options = [copy.deepcopy(options) for _ in range(self.num_envs)]
            return
        options = list(options)
        if len(options) != self.num_envs:
            raise ValueError(f"set_options expects one dict or a list of {self.num_envs} dicts, got {len(options)}")
        self._options = options

    def _reset_seeds(self) -> None:
        self._seeds = [None] * self.num_envs

    def _reset_options(self) -> None:
        self._options = [{} for _ in range(self.num_envs)]

    @property
    def unwrapped(self) -> VecEnv:
        """The innermost VecEnv (below all VecEnvWrappers)."""
        return self

    def getattr_depth_check(self, name: str, already_found: bool) -> str | None:
        """Name of this class if it defines ``name`` and a wrapper above already did (else None)."""
        if already_found and hasattr(self, name):
            return f"{type(self).__module__}.{type(self).__name__}"
        return None

    def _get_indices(self, indices: VecEnvIndices) -> list[int]:
        """Turn ``indices`` (None, int or iterable) into a list of valid env indices."""
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, (int, np.integer)):
            result = [int(indices)]
        else:
            result = [int(index) for index in indices]
        for index in result:
            if not -self.num_envs <= index < self.num_envs:
                raise IndexError(f"Env index {index} out of range for a VecEnv with {self.num_envs} envs")
        return [index % self.num_envs for index in result]


def _defines_attr(venv: VecEnv, name: str) -> bool:
    """Whether ``name`` lives on this level of a wrapper chain (instance dict or class)."""
    if isinstance(venv, VecEnvWrapper):
        return name in vars(venv) or any(name in vars(klass) for klass in type(venv).__mro__)
    return hasattr(venv, name)


class VecEnvWrapper(VecEnv):
    """Base class of VecEnv wrappers: forwards everything to ``venv`` unless overridden.

    Attributes not found on the wrapper are looked up down the chain of wrapped VecEnvs; a name
    defined at two levels below is ambiguous and raises ``AttributeError``.

    :param venv: the VecEnv to wrap
    :param observation_space: new observation space (default: unchanged)
    :param action_space: new action space (default: unchanged)
    """

    def __init__(
        self,
        venv: VecEnv,
        observation_space: spaces.Space[Any] | None = None,
        action_space: spaces.Space[Any] | None = None,
    ) -> None:
        if not isinstance(venv, VecEnv):
            hint = ""
            if isinstance(venv, gym.vector.VectorEnv):
                hint = "; wrap a gymnasium vector env with baselines3.common.vec_env.wrap_vector_env first"
            elif isinstance(venv, gym.Env):
                hint = "; put a single env in a DummyVecEnv([lambda: env]) first"
            raise TypeError(f"{type(self).__name__} wraps a VecEnv, got {type(venv).__name__}{hint}")
        self.venv = venv
        # Not VecEnv.__init__: seeds, options and reset infos live on the wrapped VecEnv.
        self.num_envs = venv.num_envs
        self.observation_space = observation_space if observation_space is not None else venv.observation_space
        self.action_space = action_space if action_space is not None else venv.action_space
        self.render_mode = venv.render_mode
        self.metadata = venv.metadata

    @property
    def reset_infos(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """Reset infos of the wrapped VecEnv."""
        return self.venv.reset_infos

    def step_async(self, actions: np.ndarray) -> None:
        self.venv.step_async(actions)

    @abstractmethod
    def reset(self) -> VecEnvObs:
        pass

    @abstractmethod
    def step_wait(self) -> VecEnvStepReturn:
        pass

    def close(self) -> None:
        self.venv.close()

    def render(self, mode: str | None = None) -> np.ndarray | None:
        return self.venv.render(mode=mode)

    def get_images(self) -> Sequence[np.ndarray | None]:
        return self.venv.get_images()

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        return self.venv.seed(seed)

    def set_options(self, options: list[dict[str, Any]] | dict[str, Any] | None = None) -> None:
        self.venv.set_options(options)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return self.venv.get_attr(attr_name, indices)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self.venv.set_attr(attr_name, value, indices)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        return self.venv.env_method(method_name, *method_args, indices=indices, **method_kwargs)

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return self.venv.env_is_wrapped(wrapper_class, indices=indices)

    def has_attr(self, attr_name: str) -> bool:
        return self.venv.has_attr(attr_name)

    @property
    def unwrapped(self) -> VecEnv:
        return self.venv.unwrapped

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup on this wrapper failed: search the wrapped chain.
        if name.startswith("__") or "venv" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        shadowed = self.venv.getattr_depth_check(name, already_found=False)
        if shadowed is not None:
            owner = self.getattr_recursive(name, _owner_only=True)
            raise AttributeError(
                f"Attribute {name!r} is ambiguous: it is defined by {owner} and, hidden below it, "
                f"by {shadowed}. Get it from the wrapper you mean (see unwrap_vec_wrapper)."
            )
        return self.getattr_recursive(name)

    def getattr_recursive(self, name: str, _owner_only: bool = False) -> Any:
        """Value of ``name`` from the outermost level of the chain (this wrapper included) defining it."""
        level: VecEnv = self
        while True:
            if _defines_attr(level, name):
                return f"{type(level).__module__}.{type(level).__name__}" if _owner_only else getattr(level, name)
            if not isinstance(level, VecEnvWrapper):
                raise AttributeError(f"No VecEnv in the chain below {type(self).__name__} has attribute {name!r}")
            level = level.venv

    def getattr_depth_check(self, name: str, already_found: bool) -> str | None:
        """Name of the first class below an owner of ``name`` that also defines it (else None)."""
        if _defines_attr(self, name):
            if already_found:
                return f"{type(self).__module__}.{type(self).__name__}"
            return self.venv.getattr_depth_check(name, already_found=True)
        return self.venv.getattr_depth_check(name, already_found)


class CloudpickleWrapper:
    """Carry an object (e.g. an env-creating lambda) through ``pickle`` by serialising it with cloudpickle."""

    def __init__(self, var: Any) -> None:
        self.var = var

    def __getstate__(self) -> bytes:
        data: bytes = cloudpickle.dumps(self.var)
        return data

    def __setstate__(self, state: bytes) -> None:
        self.var = pickle.loads(state)

"""BaseModel and BasePolicy: what every network an algorithm trains has (features extractor, device, save/load,
parameters as a vector, training mode, observation checks) and `predict` for users.

Every policy answers the same collect-step contract, so the rollout collector never branches on the policy kind:
`rollout_step(obs, state, episode_starts) -> (actions, values, log_probs, new_state)`, where `state` is None for
feed-forward policies and a hidden state for recurrent ones. SB3 code imports both classes from
`baselines3.common.policies`.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import IO, Any, TypeVar

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from baselines3.common import fast
from baselines3.common.fast.optim import FlatParameters
from baselines3.common.preprocessing import (
    check_predict_observation,
    is_image_space,
    preprocess_obs,
)
from baselines3.common.serialization.archive import load_from_zip_file, save_to_zip_file
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    FlattenExtractor,
    NatureCNN,
    call_module,
)
from baselines3.common.utils import get_device

Schedule = Any  # callable: progress_remaining -> float


class BaseModel(nn.Module):
    """Shared plumbing of every policy: spaces, feature extraction, optimizer settings, tensor conversion."""

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        features_extractor: BaseFeaturesExtractor | None = None,
        normalize_images: bool = True,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.observation_space = observation_space
        self.action_space = action_space
        self.features_extractor_class = features_extractor_class
        self.features_extractor_kwargs = dict(features_extractor_kwargs or {})
        self.features_extractor = features_extractor
        self.normalize_images = normalize_images
        self.optimizer_class = optimizer_class
        self.optimizer_kwargs = dict(optimizer_kwargs or {})
        self.optimizer: torch.optim.Optimizer
        self.flat_parameters: FlatParameters
        if not normalize_images and issubclass(features_extractor_class, (NatureCNN, CombinedExtractor)):
            # as SB3: without normalization the extractor takes any 3-D Box (float images), whatever was asked
            self.features_extractor_kwargs["normalized_image"] = True

    def _apply(self, fn: Any, recurse: bool = True) -> BaseModel:
        parent_apply: Callable[[Any, bool], BaseModel] = super()._apply  # torch leaves Module._apply unannotated
        module = parent_apply(fn, recurse)
        flat = self.__dict__.get("flat_parameters")
        if flat is not None:
            flat.rebuild_if_moved()
        for submodule in self.modules():
            fast.forget(submodule)  # its plan holds views of the old parameter storage
        return module

    def make_features_extractor(self) -> BaseFeaturesExtractor:
        return self.features_extractor_class(self.observation_space, **self.features_extractor_kwargs)

    def extract_features(self, obs: Any, features_extractor: BaseFeaturesExtractor) -> torch.Tensor:
        # re-laid out before the scaling, which then writes the float images in that order (one pass less)
        images = fast.training_images(features_extractor, obs)
        observations = preprocess_obs(obs if images is None else images, self.observation_space, self.normalize_images)
        features: torch.Tensor = call_module(features_extractor, observations)
        return features

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return dict(
            observation_space=self.observation_space,
            action_space=self.action_space,
            normalize_images=self.normalize_images,
        )

    @property
    def device(self) -> torch.device:
        flat = self.__dict__.get("flat_parameters")
        if flat is not None and flat.contiguous:  # one attribute read instead of a walk over the modules
            return flat.flat.device  # type: ignore[no-any-return]
        for param in self.parameters():
            return param.device
        return torch.device("cpu")

    def save(self, path: str | os.PathLike[str] | IO[bytes]) -> None:
        """Write this network alone (no optimizer state) to a zip archive: the constructor arguments as JSON and
        the weights as a weights-only state dict, in the same format as a saved model. Read it back with
        `load`.

        Args:
            path: where to write (`.zip` is appended to a path without it), or a binary file object.
        """
        data = {**self._get_constructor_parameters(), "policy_class": type(self)}
        save_to_zip_file(path, data=data, params={"policy": self.state_dict()})

    @classmethod
    def load(
        cls: type[SelfBaseModel],
        path: str | os.PathLike[str] | IO[bytes],
        device: torch.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        allow_pickle: bool = False,
    ) -> SelfBaseModel:
        """Rebuild a network written by `save` (the saved class when it is `cls` or a subclass of it).

        Nothing is unpickled unless `allow_pickle=True`: a constructor argument without a JSON description (e.g.
        a features extractor class defined outside baselines3) must then be given in `custom_objects`.

        Args:
            path: the archive (a path, `.zip` optional, or a binary file object).
            device: where to put the network ("auto": CUDA when available).
            custom_objects: constructor arguments to use instead of the saved ones, by name.
            allow_pickle: restore pickled constructor arguments (only for files you trust).
        """
        data, params, _ = load_from_zip_file(
            path, device=device, custom_objects=custom_objects, allow_pickle=allow_pickle
        )
        assert data is not None
        policy_class = data.pop("policy_class", cls)
        if not (isinstance(policy_class, type) and issubclass(policy_class, cls)):
            raise ModelLoadError(f"{path} holds a {policy_class!r}, not a {cls.__name__}")
        if "policy" not in params:
            raise ModelLoadError(f"{path} holds no network weights (member 'policy.pth')")
        if _init_takes(policy_class, "lr_schedule"):
            data.setdefault("lr_schedule", _no_learning)  # the optimizer state is not saved with the network
        model = policy_class(**data)
        skipped = set(model._get_constructor_parameters()) - set(data)
        if skipped:
            raise ModelLoadError(
                f"{path}: the saved constructor arguments {sorted(skipped)} were skipped (pickled values); pass "
                "them with custom_objects={...}, or allow_pickle=True if you trust the file"
            )
        model.to(get_device(device))
        model.load_state_dict(params["policy"])
        return model

    def parameters_to_vector(self) -> np.ndarray:
        """All parameters (in `parameters()` order, target networks included) as one flat numpy vector."""
        return torch.nn.utils.parameters_to_vector(self.parameters()).detach().cpu().numpy()

    def load_from_vector(self, vector: np.ndarray) -> None:
        """Set all parameters from a flat vector laid out as `parameters_to_vector()` returns it.

        The values are copied into the existing tensors, so optimizers built on them keep training them.
        """
        params = list(self.parameters())
        flat = torch.as_tensor(np.asarray(vector), dtype=torch.float32).reshape(-1)
        expected = sum(param.numel() for param in params)
        if flat.numel() != expected:
            raise ValueError(f"The vector has {flat.numel()} values; this network has {expected} parameters")
        offset = 0
        with torch.no_grad():
            for param in params:
                param.copy_(flat[offset : offset + param.numel()].view_as(param))
                offset += param.numel()

    def set_training_mode(self, mode: bool) -> None:
        """Train mode matters for dropout / batch-norm layers in custom extractors.

        The algorithms switch modes twice per iteration; nn.Module.train() walks the module tree through
        __setattr__ each time (measured: 36 us per switch for the default MLP policy), so plain modules get the flag set
        directly. A module that overrides train() still has it called.
        """
        if self.training == mode:
            return
        if "_modules_for_mode" not in self.__dict__:
            custom = any(type(m).train is not nn.Module.train for m in self.modules())
            modules = None if custom else list(self.modules())
            self.__dict__["_modules_for_mode"] = modules
        modules = self.__dict__["_modules_for_mode"]
        if modules is None:
            self.train(mode)
            return
        for module in modules:
            module.__dict__["training"] = mode

    def obs_to_tensor(self, observation: Any) -> tuple[Any, bool]:
        """Numpy observation(s) -> tensors on the policy's device (with a batch axis), and whether it was a batch.

        Channel-last images are accepted too and made channel-first, as the env wrapping does for training.
        """
        check_predict_observation(observation, self.observation_space)
        device = self.device
        if isinstance(observation, dict):
            assert isinstance(self.observation_space, spaces.Dict)
            vectorized = False
            tensors = {}
            for i, (key, subspace) in enumerate(self.observation_space.spaces.items()):
                obs = _channel_first(np.asarray(observation[key]), subspace)
                if i == 0:
                    vectorized = _is_vectorized(obs, subspace)
                obs = obs.reshape((-1, *subspace.shape)) if subspace.shape else obs.reshape(-1, 1)
                tensors[key] = torch.as_tensor(obs, device=device)
            return tensors, vectorized
        observation = _channel_first(np.asarray(observation), self.observation_space)
        vectorized = _is_vectorized(observation, self.observation_space)
        shape = self.observation_space.shape or ()
        observation = observation.reshape((-1, *shape)) if shape else observation.reshape(-1)
        return torch.as_tensor(observation, device=device), vectorized


SelfBaseModel = TypeVar("SelfBaseModel", bound=BaseModel)


def _init_takes(cls: type, name: str) -> bool:
    """Whether `cls(...)` accepts the keyword `name`, following `*args, **kwargs` constructors up the MRO."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters
        if name in parameters:
            return True
        if not any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters.values()):
            return False
    return False


def _no_learning(progress_remaining: float) -> float:
    """The learning rate of a network rebuilt from a file: its optimizer state is not saved with it."""
    return 0.0


def _channel_first(observation: np.ndarray, space: spaces.Space[Any]) -> np.ndarray:
    """Move the channel axis first when `observation` is the channel-last form of a channel-first image space."""
    if not is_image_space(space, normalized_image=True):
        return observation
    channels, height, width = space.shape  # type: ignore[misc]
    channel_last = (height, width, channels)
    if channel_last == space.shape:
        return observation  # ambiguous (square image with as many channels as pixels): leave as is
    if observation.shape[-3:] == channel_last:
        return np.moveaxis(observation, -1, -3)
    return observation


def _is_vectorized(observation: np.ndarray, space: spaces.Space[Any]) -> bool:
    shape = tuple(space.shape or ())
    if isinstance(space, spaces.Discrete):
        if observation.shape == ():
            return False
        if len(observation.shape) == 1 or observation.shape[1:] == (1,):
            return True
    else:
        if observation.shape == shape:
            return False
        if observation.shape[1:] == shape:
            return True
    raise ValueError(
        f"Unexpected observation shape {observation.shape} for {space}: expected {shape} for one observation "
        f"or (n_env, {', '.join(map(str, shape))}) for a batch"
    )


class BasePolicy(BaseModel):
    """A model that maps observations to actions; adds `predict` and action scaling."""

    is_recurrent = False

    def __init__(self, *args: Any, squash_output: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._squash_output = squash_output

    @property
    def squash_output(self) -> bool:
        return self._squash_output

    def _predict(self, observation: Any, deterministic: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def initial_state(self, n_envs: int) -> Any:
        """The hidden state at the start of an episode (None: this policy has no memory)."""
        return None

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        """Actions for one observation or a batch, as numpy; `state` is returned unchanged (no memory)."""
        self.set_training_mode(False)
        obs_tensor, vectorized = self.obs_to_tensor(observation)
        with torch.inference_mode():
            actions_tensor = self._predict(obs_tensor, deterministic=deterministic)
        return self._env_actions(actions_tensor, vectorized), state

    def _env_actions(self, actions_tensor: torch.Tensor, vectorized: bool) -> np.ndarray:
        """Policy output -> numpy actions in the env's bounds (unscaled or clipped), without a batch axis for a
        single observation."""
        action_shape: tuple[int, ...] = tuple(self.action_space.shape or ())
        actions = actions_tensor.cpu().numpy().reshape((-1, *action_shape))
        if isinstance(self.action_space, spaces.Box):
            if self.squash_output:
                actions = self.unscale_action(actions)
            else:
                actions = np.clip(actions, self.action_space.low, self.action_space.high)
        if not vectorized:
            actions = actions.squeeze(axis=0)
        return actions

    def scale_action(self, action: np.ndarray) -> np.ndarray:
        """Map an action from the space's bounds to [-1, 1]."""
        assert isinstance(self.action_space, spaces.Box)
        low, high = self.action_space.low, self.action_space.high
        scaled: np.ndarray = 2.0 * ((action - low) / (high - low)) - 1.0
        return scaled

    def unscale_action(self, scaled_action: np.ndarray) -> np.ndarray:
        """Map an action from [-1, 1] to the space's bounds."""
        assert isinstance(self.action_space, spaces.Box)
        low, high = self.action_space.low, self.action_space.high
        action: np.ndarray = low + (0.5 * (scaled_action + 1.0) * (high - low))
        return action

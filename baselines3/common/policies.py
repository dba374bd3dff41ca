"""Policies: the networks an algorithm trains, plus `predict` for users.

Every policy answers the same collect-step contract, so the rollout collector never branches on the policy kind:
`rollout_step(obs, state, episode_starts) -> (actions, values, log_probs, new_state)`, where `state` is None for
feed-forward policies and a hidden state for recurrent ones.
"""

from __future__ import annotations

import copy
import inspect
import os
import warnings
from collections.abc import Callable
from functools import partial
from typing import IO, Any, TypeVar

import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from baselines3.common import fast
from baselines3.common.distributions import (
    BernoulliDistribution,
    CategoricalDistribution,
    DiagGaussianDistribution,
    Distribution,
    MultiCategoricalDistribution,
    StateDependentNoiseDistribution,
    make_proba_distribution,
)
from baselines3.common.optim import FlatParameters, make_optimizer
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
    MlpExtractor,
    NatureCNN,
    call_module,
    create_mlp,
    run_sequential,
)
from baselines3.common.utils import get_device, polyak_update

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
        features: torch.Tensor = call_module(
            features_extractor, preprocess_obs(obs, self.observation_space, self.normalize_images)
        )
        return features

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return dict(
            observation_space=self.observation_space,
            action_space=self.action_space,
            normalize_images=self.normalize_images,
        )

    @property
    def device(self) -> torch.device:
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


class ActorCriticPolicy(BasePolicy):
    """Policy and value networks on shared (or separate) features, for A2C and PPO."""

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.Tanh,
        ortho_init: bool = True,
        use_sde: bool = False,
        log_std_init: float = 0.0,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        share_features_extractor: bool = True,
        normalize_images: bool = True,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if optimizer_kwargs is None and optimizer_class is torch.optim.Adam:
            # a larger epsilon than torch's default keeps Adam stable on RL's noisy gradients
            optimizer_kwargs = {"eps": 1e-5}
        super().__init__(
            observation_space,
            action_space,
            features_extractor_class,
            features_extractor_kwargs,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            squash_output=squash_output,
            normalize_images=normalize_images,
        )
        if isinstance(net_arch, list) and net_arch and isinstance(net_arch[0], dict):
            # the pre-1.8 format: SB3 warns and uses the dict (later entries are ignored, as there)
            warnings.warn(
                f"net_arch={net_arch!r} is the old format (a list holding a dict); its first dict is used. "
                "Pass net_arch=dict(pi=[...], vf=[...]) instead: shared layers no longer exist.",
                UserWarning,
                stacklevel=2,
            )
            net_arch = net_arch[0]
        if net_arch is None:
            net_arch = [] if features_extractor_class is NatureCNN else dict(pi=[64, 64], vf=[64, 64])
        self.net_arch = net_arch
        self.activation_fn = activation_fn
        self.ortho_init = ortho_init
        self.share_features_extractor = share_features_extractor
        self.features_extractor: BaseFeaturesExtractor = self.make_features_extractor()
        self.features_dim = self.features_extractor.features_dim
        if share_features_extractor:
            self.pi_features_extractor = self.features_extractor
            self.vf_features_extractor = self.features_extractor
        else:
            self.pi_features_extractor = self.features_extractor
            self.vf_features_extractor = self.make_features_extractor()
        self.log_std_init = log_std_init
        self.use_sde = use_sde
        dist_kwargs = None
        if use_sde:
            dist_kwargs = dict(
                full_std=full_std, squash_output=squash_output, use_expln=use_expln, learn_features=False
            )
        self.dist_kwargs = dist_kwargs
        self.full_std, self.use_expln = full_std, use_expln
        self.action_dist = make_proba_distribution(action_space, use_sde=use_sde, dist_kwargs=dist_kwargs)
        self._build(lr_schedule)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            net_arch=self.net_arch,
            activation_fn=self.activation_fn,
            use_sde=self.use_sde,
            log_std_init=self.log_std_init,
            squash_output=self.squash_output,
            full_std=self.full_std,
            use_expln=self.use_expln,
            ortho_init=self.ortho_init,
            share_features_extractor=self.share_features_extractor,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
            features_extractor_class=self.features_extractor_class,
            features_extractor_kwargs=self.features_extractor_kwargs,
        )
        return data

    def reset_noise(self, n_envs: int = 1) -> None:
        """Draw new gSDE exploration weights, one matrix per env."""
        assert isinstance(self.action_dist, StateDependentNoiseDistribution), "reset_noise() is only for gSDE"
        self.action_dist.sample_weights(self.log_std, batch_size=n_envs)

    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = MlpExtractor(self.features_dim, self.net_arch, self.activation_fn)

    def _build(self, lr_schedule: Schedule) -> None:
        self._build_mlp_extractor()
        latent_dim_pi = self.mlp_extractor.latent_dim_pi
        if isinstance(self.action_dist, DiagGaussianDistribution):
            self.action_net, self.log_std = self.action_dist.proba_distribution_net(
                latent_dim=latent_dim_pi, log_std_init=self.log_std_init
            )
        elif isinstance(self.action_dist, StateDependentNoiseDistribution):
            self.action_net, self.log_std = self.action_dist.proba_distribution_net(
                latent_dim=latent_dim_pi, latent_sde_dim=latent_dim_pi, log_std_init=self.log_std_init
            )
        elif isinstance(
            self.action_dist, (CategoricalDistribution, MultiCategoricalDistribution, BernoulliDistribution)
        ):
            self.action_net = self.action_dist.proba_distribution_net(latent_dim=latent_dim_pi)
        else:
            raise NotImplementedError(f"Unsupported distribution {self.action_dist}")
        self.value_net = nn.Linear(self.mlp_extractor.latent_dim_vf, 1)
        if self.ortho_init:
            # orthogonal init with small policy-head gain: near-uniform initial policy, unit-scale values
            module_gains: dict[nn.Module | None, float] = {
                self.features_extractor: np.sqrt(2),
                self.mlp_extractor: np.sqrt(2),
                self.action_net: 0.01,
                self.value_net: 1.0,
            }
            if not self.share_features_extractor:
                del module_gains[self.features_extractor]
                module_gains[self.pi_features_extractor] = np.sqrt(2)
                module_gains[self.vf_features_extractor] = np.sqrt(2)
            for module, gain in module_gains.items():
                assert module is not None
                module.apply(partial(init_weights_orthogonal, gain=gain))
        self.optimizer, flat = make_optimizer(self, self.optimizer_class, lr_schedule(1), self.optimizer_kwargs)
        self.__dict__["flat_parameters"] = flat  # a plain attribute: not registered as a module parameter

    def extract_features(  # type: ignore[override]
        self, obs: Any, features_extractor: BaseFeaturesExtractor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Features for actor and critic: one tensor when shared, else a (pi, vf) pair."""
        if features_extractor is not None:
            return super().extract_features(obs, features_extractor)
        if self.share_features_extractor:
            return super().extract_features(obs, self.features_extractor)
        return (
            super().extract_features(obs, self.pi_features_extractor),
            super().extract_features(obs, self.vf_features_extractor),
        )

    def _heads(self, obs: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(action-distribution parameters, values (batch, 1), policy latent or None when not computed)."""
        features = self.extract_features(obs)
        if isinstance(features, torch.Tensor):
            heads = fast.actor_critic_heads(self, features)
            if heads is not None:
                return heads[0], heads[1], None
            latent_pi, latent_vf = call_module(self.mlp_extractor, features)
        else:
            pi_features, vf_features = features
            latent_pi = self.mlp_extractor.forward_actor(pi_features)
            latent_vf = self.mlp_extractor.forward_critic(vf_features)
        return call_module(self.action_net, latent_pi), call_module(self.value_net, latent_vf), latent_pi

    def _distribution(self, action_params: torch.Tensor, latent_pi: torch.Tensor | None) -> Distribution:
        if isinstance(self.action_dist, DiagGaussianDistribution):
            return self.action_dist.proba_distribution(action_params, self.log_std)
        if isinstance(self.action_dist, StateDependentNoiseDistribution):
            assert latent_pi is not None
            return self.action_dist.proba_distribution(action_params, self.log_std, latent_pi)
        return self.action_dist.proba_distribution(action_logits=action_params)

    def _get_action_dist_from_latent(self, latent_pi: torch.Tensor) -> Distribution:
        return self._distribution(call_module(self.action_net, latent_pi), latent_pi)

    def forward(self, obs: Any, deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One pass computing everything a rollout step needs: actions, values (batch,1) and log-probs."""
        action_params, values, latent_pi = self._heads(obs)
        distribution = self._distribution(action_params, latent_pi)
        actions = distribution.get_actions(deterministic=deterministic)
        log_prob = distribution.log_prob(actions)
        return actions.reshape((-1, *self.action_space.shape)), values, log_prob  # type: ignore[misc]

    def rollout_step(
        self, obs: Any, state: Any, episode_starts: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Any]:
        """The collector's contract: actions, values (batch,), log-probs and the next hidden state (None here)."""
        actions, values, log_prob = self.forward(obs)
        return actions, values.flatten(), log_prob, None

    def bootstrap_values(self, obs: Any, state: Any, episode_starts: torch.Tensor | None) -> torch.Tensor:
        """Values used to bootstrap: of terminal observations of truncated episodes, and of the observation after
        a rollout. Feed-forward policies ignore `state` and `episode_starts`."""
        return self.predict_values(obs).flatten()

    def select_state(self, state: Any, env_indices: np.ndarray) -> Any:
        """The hidden state of some envs only (feed-forward policies have none)."""
        return state

    def evaluate_actions(
        self, obs: Any, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Values, log-likelihood and entropy of `actions` under the current policy (for the update)."""
        action_params, values, latent_pi = self._heads(obs)
        distribution = self._distribution(action_params, latent_pi)
        return values, distribution.log_prob(actions), distribution.entropy()

    def evaluate_batch(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """`evaluate_actions` on a rollout minibatch; values flattened to (batch,)."""
        actions = batch.actions
        if isinstance(self.action_space, spaces.Discrete):
            actions = actions.long().flatten()
        values, log_prob, entropy = self.evaluate_actions(batch.observations, actions)
        return values.flatten(), log_prob, entropy

    def get_distribution(self, obs: Any) -> Distribution:
        features = self.extract_features(obs, self.pi_features_extractor)
        assert isinstance(features, torch.Tensor)
        return self._get_action_dist_from_latent(self.mlp_extractor.forward_actor(features))

    def predict_values(self, obs: Any) -> torch.Tensor:
        features = self.extract_features(obs, self.vf_features_extractor)
        assert isinstance(features, torch.Tensor)
        values: torch.Tensor = self.value_net(self.mlp_extractor.forward_critic(features))
        return values

    def _predict(self, observation: Any, deterministic: bool = False) -> torch.Tensor:
        return self.get_distribution(observation).get_actions(deterministic=deterministic)


class ActorCriticCnnPolicy(ActorCriticPolicy):
    """ActorCriticPolicy with the NatureCNN extractor, for image observations."""

    def __init__(self, *args: Any, features_extractor_class: type[BaseFeaturesExtractor] = NatureCNN, **kwargs: Any):
        kwargs["features_extractor_class"] = features_extractor_class
        super().__init__(*args, **kwargs)


class MultiInputActorCriticPolicy(ActorCriticPolicy):
    """ActorCriticPolicy with the CombinedExtractor, for Dict observations."""

    def __init__(
        self,
        *args: Any,
        features_extractor_class: type[BaseFeaturesExtractor] = CombinedExtractor,
        **kwargs: Any,
    ):
        kwargs["features_extractor_class"] = features_extractor_class
        super().__init__(*args, **kwargs)


def init_weights_orthogonal(module: nn.Module, gain: float = 1.0) -> None:
    """Orthogonal weights and zero biases for linear and conv layers."""
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.orthogonal_(module.weight, gain=gain)
        if module.bias is not None:
            module.bias.data.fill_(0.0)


MlpPolicy = ActorCriticPolicy
CnnPolicy = ActorCriticCnnPolicy
MultiInputPolicy = MultiInputActorCriticPolicy


# ----------------------------------------------------------------------------------------------------------
# Off-policy building blocks
# ----------------------------------------------------------------------------------------------------------


class ContinuousCritic(BaseModel):
    """`n_critics` Q-networks Q_i(s, a) for continuous actions (SAC, TD3), each an MLP on [features, action].

    The networks are `qf0`, `qf1`... (SB3's layout). They are evaluated one after the other: on CPU one matmul
    per network beats a batched matmul over stacked weights (measured for TD3's 2 x [400, 300] critics at batch
    256: forward+backward 5.6 ms against 6.4 ms). When the features extractor is shared with the actor, the
    critic loss does not train it (its features are computed without gradient), as in SB3.
    """

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        n_critics: int = 2,
        share_features_extractor: bool = True,
    ) -> None:
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        if n_critics < 1:
            raise ValueError(f"n_critics must be >= 1, got {n_critics}")
        action_dim = int(np.prod(action_space.shape))
        self.net_arch = list(net_arch)
        self.features_dim = features_dim
        self.activation_fn = activation_fn
        self.share_features_extractor = share_features_extractor
        self.n_critics = n_critics
        self.q_networks: list[nn.Sequential] = []
        for idx in range(n_critics):
            q_net = nn.Sequential(*create_mlp(features_dim + action_dim, 1, self.net_arch, activation_fn))
            self.add_module(f"qf{idx}", q_net)
            self.q_networks.append(q_net)

    def _inputs(self, obs: Any, actions: torch.Tensor, detach_params: bool) -> torch.Tensor:
        assert self.features_extractor is not None
        train_features = torch.is_grad_enabled() and not self.share_features_extractor and not detach_params
        with torch.set_grad_enabled(train_features):
            features = self.extract_features(obs, self.features_extractor)
        return torch.cat([features, actions], dim=1)

    def _q(self, index: int, x: torch.Tensor, detach_params: bool) -> torch.Tensor:
        q_values = fast.critic_q(self, index, x, detach_params)
        if q_values is not None:
            return q_values
        q_net = self.q_networks[index]
        if not detach_params:
            return run_sequential(q_net, x)
        for layer in q_net:
            if isinstance(layer, nn.Linear):
                x = F.linear(x, layer.weight.detach(), None if layer.bias is None else layer.bias.detach())
            else:
                x = layer(x)
        return x

    def q_values(self, obs: Any, actions: torch.Tensor, detach_params: bool = False) -> torch.Tensor:
        """All critics at once: (n_critics, batch, 1).

        `detach_params=True` (for actor losses): gradients reach `actions` only, never the critic's weights or
        features extractor, so the actor's backward pass does no work for the critic."""
        x = self._inputs(obs, actions, detach_params)
        return torch.stack([self._q(i, x, detach_params) for i in range(self.n_critics)])

    def forward(self, obs: Any, actions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One (batch, 1) tensor per critic (SB3's return shape)."""
        x = self._inputs(obs, actions, False)
        return tuple(self._q(i, x, False) for i in range(self.n_critics))

    def q1_forward(self, obs: Any, actions: torch.Tensor, detach_params: bool = False) -> torch.Tensor:
        """Only the first critic (TD3's actor loss), without computing the others."""
        return self._q(0, self._inputs(obs, actions, detach_params), detach_params)


ModuleT = TypeVar("ModuleT", bound=nn.Module)


def make_target_network(online: ModuleT) -> ModuleT:
    """A frozen copy of `online`, for TD targets: no gradients, always in eval mode."""
    target = copy.deepcopy(online)
    target.requires_grad_(False)
    target.train(False)
    return target


def running_stats(module: nn.Module) -> list[torch.Tensor]:
    """Batch-norm running statistics of `module` (copied, not averaged, into target networks)."""
    return [buffer for name, buffer in module.named_buffers() if "running_" in name]


class TargetUpdate:
    """target <- (1 - tau) * target + tau * online for the parameters (one fused call); batch-norm statistics
    are copied. The tensor lists are collected once: `.to(device)` keeps the same Parameter objects."""

    def __init__(self, online: nn.Module, target: nn.Module) -> None:
        self.params = (list(online.parameters()), list(target.parameters()))
        self.stats = (running_stats(online), running_stats(target))

    def __call__(self, tau: float) -> None:
        polyak_update(self.params[0], self.params[1], tau)
        if self.stats[0]:
            polyak_update(self.stats[0], self.stats[1], 1.0)

"""TD3 policies: a deterministic tanh actor and n batched Q-critics, each with a target copy."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from baselines3.common.policies import BasePolicy, ContinuousCritic, make_target_network
from baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    FlattenExtractor,
    NatureCNN,
    create_mlp,
    get_actor_critic_arch,
    run_sequential,
)
from baselines3.sac.policies import critic_kwargs, make_actor_critic_optimizers, with_extractor

Schedule = Any


class Actor(BasePolicy):
    """Features -> MLP -> tanh: a deterministic action in [-1, 1] (rescaled to the action bounds outside)."""

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
    ) -> None:
        super().__init__(
            observation_space,
            action_space,
            features_extractor=features_extractor,
            normalize_images=normalize_images,
            squash_output=True,
        )
        self.net_arch = list(net_arch)
        self.features_dim = features_dim
        self.activation_fn = activation_fn
        action_dim = int(np.prod(action_space.shape))
        self.mu = nn.Sequential(*create_mlp(features_dim, action_dim, self.net_arch, activation_fn, squash_output=True))

    def forward(self, obs: Any) -> torch.Tensor:
        assert self.features_extractor is not None
        return run_sequential(self.mu, self.extract_features(obs, self.features_extractor))

    def _predict(self, observation: Any, deterministic: bool = False) -> torch.Tensor:
        actions: torch.Tensor = self(observation)  # deterministic either way: exploration noise is added outside
        return actions


class TD3Policy(BasePolicy):
    """Actor, critics and their target copies; optimizers `actor.optimizer` and `critic.optimizer`."""

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Box,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        n_critics: int = 2,
        share_features_extractor: bool = False,
    ) -> None:
        super().__init__(
            observation_space,
            action_space,
            features_extractor_class,
            features_extractor_kwargs,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            squash_output=True,
            normalize_images=normalize_images,
        )
        if net_arch is None:
            net_arch = [256, 256] if features_extractor_class is NatureCNN else [400, 300]
        actor_arch, critic_arch = get_actor_critic_arch(net_arch)
        self.net_arch = net_arch
        self.activation_fn = activation_fn
        self.n_critics = n_critics
        self.share_features_extractor = share_features_extractor
        self.actor_kwargs: dict[str, Any] = dict(
            observation_space=observation_space,
            action_space=action_space,
            net_arch=actor_arch,
            activation_fn=activation_fn,
            normalize_images=normalize_images,
        )
        self.critic_kwargs = critic_kwargs(self, critic_arch)
        self.actor = self.make_actor()
        self.actor_target = make_target_network(self.actor)
        self.critic = self.make_critic(self.actor.features_extractor if share_features_extractor else None)
        self.critic_target = make_target_network(self.critic)
        make_actor_critic_optimizers(self, lr_schedule)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            net_arch=self.net_arch,
            activation_fn=self.activation_fn,
            n_critics=self.n_critics,
            features_extractor_class=self.features_extractor_class,
            features_extractor_kwargs=self.features_extractor_kwargs,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
            share_features_extractor=self.share_features_extractor,
        )
        return data

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> Actor:
        """A new actor with this policy's settings, on `features_extractor` (None: a new extractor)."""
        return Actor(**self.actor_kwargs, **with_extractor(self, features_extractor)).to(self.device)

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> ContinuousCritic:
        """New critics with this policy's settings, on `features_extractor` (None: a new extractor)."""
        return ContinuousCritic(**self.critic_kwargs, **with_extractor(self, features_extractor)).to(self.device)

    def forward(self, obs: Any, deterministic: bool = False) -> torch.Tensor:
        return self._predict(obs, deterministic=deterministic)

    def _predict(self, observation: Any, deterministic: bool = False) -> torch.Tensor:
        actions: torch.Tensor = self.actor(observation)
        return actions

    def set_training_mode(self, mode: bool) -> None:
        self.actor.set_training_mode(mode)
        self.critic.set_training_mode(mode)
        self.training = mode


MlpPolicy = TD3Policy


class CnnPolicy(TD3Policy):
    """TD3Policy with the NatureCNN features extractor, for image observations."""

    def __init__(self, *args: Any, features_extractor_class: type[BaseFeaturesExtractor] = NatureCNN, **kwargs: Any):
        kwargs["features_extractor_class"] = features_extractor_class
        super().__init__(*args, **kwargs)


class MultiInputPolicy(TD3Policy):
    """TD3Policy with the CombinedExtractor, for Dict observations."""

    def __init__(
        self, *args: Any, features_extractor_class: type[BaseFeaturesExtractor] = CombinedExtractor, **kwargs: Any
    ):
        kwargs["features_extractor_class"] = features_extractor_class
        super().__init__(*args, **kwargs)

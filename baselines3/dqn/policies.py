"""Q-network policies for DQN: MlpPolicy, CnnPolicy, MultiInputPolicy (optionally with a dueling head)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from baselines3.common import fast
from baselines3.common.fast.optim import make_optimizer
from baselines3.common.policies import BasePolicy, make_target_network
from baselines3.common.preprocessing import is_image_space
from baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    FlattenExtractor,
    Float32Linear,
    NatureCNN,
    create_mlp,
    run_sequential,
)
from baselines3.common.utils import obs_as_tensor

Schedule = Any


class QNetwork(BasePolicy):
    """Features -> MLP -> one Q-value per discrete action.

    With `dueling=True` (Wang et al., 2016) the last hidden layer feeds a state-value head V(s) and an
    advantage head A(s, a), combined as Q = V + A - mean_a A: the value of a state is learned from every action
    taken in it.
    """

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Discrete,
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        net_arch: list[int] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        dueling: bool = False,
    ) -> None:
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        self.net_arch = [64, 64] if net_arch is None else list(net_arch)
        self.activation_fn = activation_fn
        self.features_dim = features_dim
        self.dueling = dueling
        n_actions = int(action_space.n)
        if dueling:
            self.q_net = nn.Sequential(*create_mlp(features_dim, -1, self.net_arch, activation_fn))
            last_dim = self.net_arch[-1] if self.net_arch else features_dim
            self.value_head = Float32Linear(last_dim, 1)
            self.advantage_head = Float32Linear(last_dim, n_actions)
        else:
            self.q_net = nn.Sequential(*create_mlp(features_dim, n_actions, self.net_arch, activation_fn))

    def forward(self, obs: Any) -> torch.Tensor:
        """Q-values, shape (batch, n_actions)."""
        assert self.features_extractor is not None
        features = self.extract_features(obs, self.features_extractor)
        q_values = fast.q_network_forward(self, features)
        if q_values is not None:
            return q_values
        hidden = run_sequential(self.q_net, features)
        if not self.dueling:
            return hidden
        advantages: torch.Tensor = self.advantage_head(hidden)
        values: torch.Tensor = self.value_head(hidden)
        return values + advantages - advantages.mean(dim=1, keepdim=True)

    def _predict(self, observation: Any, deterministic: bool = True) -> torch.Tensor:
        return self.forward(observation).argmax(dim=1).reshape(-1)

    def greedy_actions(self, obs: Any) -> np.ndarray:
        """argmax_a Q(obs, a) for a batch of env observations (numpy in, numpy out, no gradient)."""
        if not (self.normalize_images and is_image_space(self.observation_space)):  # else a float cast is not enough
            actions = fast.greedy_actions_numpy(self, obs)
            if actions is not None:
                return actions
        with torch.inference_mode():
            return self.forward(obs_as_tensor(obs, self.device)).argmax(dim=1).cpu().numpy()


class DQNPolicy(BasePolicy):
    """The online Q-network (trained) and its target copy (updated by Polyak averaging / hard copies)."""

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        net_arch: list[int] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        dueling: bool = False,
    ) -> None:
        super().__init__(
            observation_space,
            action_space,
            features_extractor_class,
            features_extractor_kwargs,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            normalize_images=normalize_images,
        )
        if net_arch is None:
            net_arch = [] if features_extractor_class is NatureCNN else [64, 64]
        self.net_arch = list(net_arch)
        self.activation_fn = activation_fn
        self.dueling = dueling
        self.q_net = self.make_q_net()
        self.q_net_target = make_target_network(self.q_net)
        self.optimizer, flat = make_optimizer(self.q_net, self.optimizer_class, lr_schedule(1), self.optimizer_kwargs)
        self.__dict__["flat_parameters"] = flat  # a plain attribute: not registered as a module parameter
        self.q_net.__dict__["flat_parameters"] = flat  # lets the Q-network's fused path write its gradients

    def make_q_net(self) -> QNetwork:
        features_extractor = self.make_features_extractor()
        return QNetwork(
            self.observation_space,
            self.action_space,  # type: ignore[arg-type]
            features_extractor,
            features_extractor.features_dim,
            net_arch=self.net_arch,
            activation_fn=self.activation_fn,
            normalize_images=self.normalize_images,
            dueling=self.dueling,
        )

    def forward(self, obs: Any, deterministic: bool = True) -> torch.Tensor:
        return self._predict(obs, deterministic=deterministic)

    def _predict(self, obs: Any, deterministic: bool = True) -> torch.Tensor:
        return self.q_net._predict(obs, deterministic=deterministic)

    def set_training_mode(self, mode: bool) -> None:
        self.q_net.set_training_mode(mode)
        self.training = mode

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            net_arch=self.net_arch,
            activation_fn=self.activation_fn,
            features_extractor_class=self.features_extractor_class,
            features_extractor_kwargs=self.features_extractor_kwargs,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
            dueling=self.dueling,
        )
        return data


MlpPolicy = DQNPolicy


class CnnPolicy(DQNPolicy):
    """DQNPolicy with the NatureCNN features extractor, for image observations."""

    def __init__(self, *args: Any, features_extractor_class: type[BaseFeaturesExtractor] = NatureCNN, **kwargs: Any):
        kwargs["features_extractor_class"] = features_extractor_class
        super().__init__(*args, **kwargs)


class MultiInputPolicy(DQNPolicy):
    """DQNPolicy with the CombinedExtractor, for Dict observations."""

    def __init__(
        self, *args: Any, features_extractor_class: type[BaseFeaturesExtractor] = CombinedExtractor, **kwargs: Any
    ):
        kwargs["features_extractor_class"] = features_extractor_class
        super().__init__(*args, **kwargs)

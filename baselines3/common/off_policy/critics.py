"""The critic pieces SAC, TD3 and DDPG build on: twin (or n) Q-networks over (observation, action), frozen target
copies, and the Polyak update that moves the targets towards the online networks."""

from __future__ import annotations

import copy
from typing import Any, TypeVar

import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from baselines3.common import fast, losses
from baselines3.common.base_policy import BaseModel
from baselines3.common.fast.optim import apply_gradient, gradient_step
from baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    Float32Linear,
    create_mlp,
    float32_linear,
    run_sequential,
)
from baselines3.common.utils import polyak_update


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
                linear = float32_linear if isinstance(layer, Float32Linear) else F.linear
                x = linear(x, layer.weight.detach(), None if layer.bias is None else layer.bias.detach())
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


def regress_critics(
    critic: ContinuousCritic, observations: Any, actions: torch.Tensor, targets: torch.Tensor, loss_scale: float = 1.0
) -> torch.Tensor:
    """One optimizer step of the critics towards `targets` (batch, 1); returns the loss, detached.

    The loss is ``loss_scale * sum_i 0.5 * MSE(Q_i(s, a), targets)``: SAC's with `loss_scale` 1, TD3's sum of
    MSEs with 2. For the default MLP critics the gradient is computed by hand (same loss and gradient)."""
    plans = fast.critic_update_plans(critic)
    if plans is not None:
        loss, grad = fast.critic_regression_gradient(plans, critic, observations, actions, targets, loss_scale)
        apply_gradient(grad, critic.optimizer, critic.flat_parameters, loss=loss)
        return loss
    loss = loss_scale * losses.twin_critic_loss(critic.q_values(observations, actions), targets)
    gradient_step(loss, critic.optimizer, critic.flat_parameters)
    return loss.detach()


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

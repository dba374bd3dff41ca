"""Actor-critic policies (A2C, PPO): the default MLP, CNN and Dict-observation variants.

SB3's module path for every policy building block: BaseModel and BasePolicy (`base_policy`) and the off-policy
critic pieces (`off_policy.critics`) are imported from here too.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from baselines3.common import fast
from baselines3.common.base_policy import BaseModel, BasePolicy, Schedule
from baselines3.common.distributions import (
    BernoulliDistribution,
    CategoricalDistribution,
    DiagGaussianDistribution,
    Distribution,
    MultiCategoricalDistribution,
    StateDependentNoiseDistribution,
    make_proba_distribution,
)
from baselines3.common.fast.optim import make_optimizer
from baselines3.common.off_policy.critics import ContinuousCritic, TargetUpdate, make_target_network, running_stats
from baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    FlattenExtractor,
    Float32Linear,
    MlpExtractor,
    NatureCNN,
    call_module,
)

__all__ = [
    "ActorCriticCnnPolicy",
    "ActorCriticPolicy",
    "BaseModel",
    "BasePolicy",
    "CnnPolicy",
    "ContinuousCritic",
    "MlpPolicy",
    "MultiInputActorCriticPolicy",
    "MultiInputPolicy",
    "TargetUpdate",
    "init_weights_orthogonal",
    "make_target_network",
    "running_stats",
]


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
        self.value_net = Float32Linear(self.mlp_extractor.latent_dim_vf, 1)
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
        values = fast.actor_critic_values(self, features)
        if values is None:
            values = self.value_net(self.mlp_extractor.forward_critic(features))
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

"""SAC policies: a squashed-Gaussian actor and n batched Q-critics with a target copy."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from baselines3.common.distributions import (
    LOG_STD_MAX,
    LOG_STD_MIN,
    SquashedDiagGaussianDistribution,
    StateDependentNoiseDistribution,
)
from baselines3.common.fast.optim import make_optimizer
from baselines3.common.policies import BasePolicy, ContinuousCritic, make_target_network
from baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    FlattenExtractor,
    Float32Linear,
    NatureCNN,
    create_mlp,
    get_actor_critic_arch,
    run_sequential,
)

Schedule = Any


class Actor(BasePolicy):
    """Features -> MLP -> mean and log-std of a Gaussian, squashed by tanh into [-1, 1] (or gSDE noise)."""

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        use_sde: bool = False,
        log_std_init: float = -3,
        full_std: bool = True,
        use_expln: bool = False,
        clip_mean: float = 2.0,
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
        self.use_sde = use_sde
        self.log_std_init = log_std_init
        self.full_std, self.use_expln, self.clip_mean = full_std, use_expln, clip_mean
        action_dim = int(np.prod(action_space.shape))
        self.latent_pi = nn.Sequential(*create_mlp(features_dim, -1, self.net_arch, activation_fn))
        last_dim = self.net_arch[-1] if self.net_arch else features_dim
        self.action_dist: SquashedDiagGaussianDistribution | StateDependentNoiseDistribution
        if use_sde:
            self.action_dist = StateDependentNoiseDistribution(
                action_dim, full_std=full_std, use_expln=use_expln, learn_features=True, squash_output=True
            )
            mu, self.log_std = self.action_dist.proba_distribution_net(
                latent_dim=last_dim, latent_sde_dim=last_dim, log_std_init=log_std_init
            )
            # gSDE's variance grows with the latent: bound the mean so tanh does not saturate
            self.mu: nn.Module = nn.Sequential(mu, nn.Hardtanh(-clip_mean, clip_mean)) if clip_mean > 0 else mu
        else:
            self.action_dist = SquashedDiagGaussianDistribution(action_dim)
            self.mu = Float32Linear(last_dim, action_dim)
            self.log_std = Float32Linear(last_dim, action_dim)  # type: ignore[assignment]

    def get_action_dist_params(self, obs: Any) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """(mean of the Gaussian, its log-std, extra arguments of the distribution)."""
        assert self.features_extractor is not None
        latent_pi = run_sequential(self.latent_pi, self.extract_features(obs, self.features_extractor))
        mean_actions = self.mu(latent_pi)
        if self.use_sde:
            return mean_actions, self.log_std, dict(latent_sde=latent_pi)
        log_std = self.log_std(latent_pi).clamp(LOG_STD_MIN, LOG_STD_MAX)  # type: ignore[operator]
        return mean_actions, log_std, {}

    def forward(self, obs: Any, deterministic: bool = False) -> torch.Tensor:
        mean_actions, log_std, kwargs = self.get_action_dist_params(obs)
        return self.action_dist.actions_from_params(mean_actions, log_std, deterministic=deterministic, **kwargs)

    def action_log_prob(self, obs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterized actions in [-1, 1] and their log-probability (tanh correction included)."""
        mean_actions, log_std, kwargs = self.get_action_dist_params(obs)
        return self.action_dist.log_prob_from_params(mean_actions, log_std, **kwargs)

    def _predict(self, observation: Any, deterministic: bool = False) -> torch.Tensor:
        actions: torch.Tensor = self(observation, deterministic)
        return actions

    def get_std(self) -> torch.Tensor:
        """The standard deviations of gSDE's exploration weights, (latent_dim, action_dim) (or (latent_dim, 1)
        with `full_std=False`). gSDE only: without it the std depends on the observation."""
        if not isinstance(self.action_dist, StateDependentNoiseDistribution):
            raise ValueError("get_std() is only for gSDE actors (use_sde=True)")
        return self.action_dist.get_std(self.log_std)

    def reset_noise(self, batch_size: int = 1) -> None:
        """New gSDE exploration weights (one matrix per env)."""
        if not isinstance(self.action_dist, StateDependentNoiseDistribution):
            raise ValueError("reset_noise() is only for gSDE actors (use_sde=True)")
        self.action_dist.sample_weights(self.log_std, batch_size=batch_size)


class SACPolicy(BasePolicy):
    """Actor + critics + target critics, each with an optimizer (`actor.optimizer`, `critic.optimizer`)."""

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Box,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        use_sde: bool = False,
        log_std_init: float = -3,
        use_expln: bool = False,
        clip_mean: float = 2.0,
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
            net_arch = [256, 256]
        actor_arch, critic_arch = get_actor_critic_arch(net_arch)
        self.net_arch = net_arch
        self.activation_fn = activation_fn
        self.use_sde, self.log_std_init, self.use_expln, self.clip_mean = use_sde, log_std_init, use_expln, clip_mean
        self.n_critics = n_critics
        self.share_features_extractor = share_features_extractor
        self.actor_kwargs: dict[str, Any] = dict(
            observation_space=observation_space,
            action_space=action_space,
            net_arch=actor_arch,
            activation_fn=activation_fn,
            use_sde=use_sde,
            log_std_init=log_std_init,
            use_expln=use_expln,
            clip_mean=clip_mean,
            normalize_images=normalize_images,
        )
        self.critic_kwargs = critic_kwargs(self, critic_arch)
        self.actor = self.make_actor()
        self.critic = self.make_critic(self.actor.features_extractor if share_features_extractor else None)
        self.critic_target = make_target_network(self.critic)
        make_actor_critic_optimizers(self, lr_schedule)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            net_arch=self.net_arch,
            activation_fn=self.activation_fn,
            use_sde=self.use_sde,
            log_std_init=self.log_std_init,
            use_expln=self.use_expln,
            clip_mean=self.clip_mean,
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

    def reset_noise(self, batch_size: int = 1) -> None:
        self.actor.reset_noise(batch_size=batch_size)

    def forward(self, obs: Any, deterministic: bool = False) -> torch.Tensor:
        return self._predict(obs, deterministic=deterministic)

    def _predict(self, observation: Any, deterministic: bool = False) -> torch.Tensor:
        actions: torch.Tensor = self.actor(observation, deterministic)
        return actions

    def set_training_mode(self, mode: bool) -> None:
        self.actor.set_training_mode(mode)
        self.critic.set_training_mode(mode)
        self.training = mode


def with_extractor(policy: BasePolicy, features_extractor: BaseFeaturesExtractor | None) -> dict[str, Any]:
    """The features extractor keywords of an actor or critic: `features_extractor` (None: a new one from the
    policy's settings) and its output size."""
    extractor = policy.make_features_extractor() if features_extractor is None else features_extractor
    return dict(features_extractor=extractor, features_dim=extractor.features_dim)


def critic_kwargs(policy: BasePolicy, net_arch: list[int]) -> dict[str, Any]:
    """The ContinuousCritic keywords of a SAC or TD3 policy, but for the features extractor. With a shared
    extractor (`share_features_extractor`), the critic loss does not train it."""
    return dict(
        observation_space=policy.observation_space,
        action_space=policy.action_space,
        net_arch=net_arch,
        activation_fn=policy.activation_fn,
        normalize_images=policy.normalize_images,
        n_critics=policy.n_critics,
        share_features_extractor=policy.share_features_extractor,
    )


def make_actor_critic_optimizers(policy: Any, lr_schedule: Schedule) -> None:
    """`policy.actor.optimizer` and `policy.critic.optimizer`, each over one flat parameter buffer (the critic's
    without a features extractor shared with the actor)."""
    lr = lr_schedule(1)
    policy.actor.optimizer, actor_flat = make_optimizer(
        policy.actor, policy.optimizer_class, lr, policy.optimizer_kwargs
    )
    policy.critic.optimizer, critic_flat = make_optimizer(
        critic_parameters(policy.critic, policy.share_features_extractor),
        policy.optimizer_class,
        lr,
        policy.optimizer_kwargs,
    )
    policy.actor.__dict__["flat_parameters"] = actor_flat  # plain attributes: not registered as parameters
    policy.critic.__dict__["flat_parameters"] = critic_flat


def critic_parameters(critic: ContinuousCritic, share_features_extractor: bool) -> list[nn.Parameter]:
    """What the critic optimizer trains: not a features extractor shared with the actor (the actor trains it)."""
    if not share_features_extractor:
        return list(critic.parameters())
    return [param for name, param in critic.named_parameters() if not name.startswith("features_extractor.")]


MlpPolicy = SACPolicy


class CnnPolicy(SACPolicy):
    """SACPolicy with the NatureCNN features extractor, for image observations."""

    def __init__(self, *args: Any, features_extractor_class: type[BaseFeaturesExtractor] = NatureCNN, **kwargs: Any):
        kwargs["features_extractor_class"] = features_extractor_class
        super().__init__(*args, **kwargs)


class MultiInputPolicy(SACPolicy):
    """SACPolicy with the CombinedExtractor, for Dict observations."""

    def __init__(
        self, *args: Any, features_extractor_class: type[BaseFeaturesExtractor] = CombinedExtractor, **kwargs: Any
    ):
        kwargs["features_extractor_class"] = features_extractor_class
        super().__init__(*args, **kwargs)

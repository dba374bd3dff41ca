"""Action distributions written as plain tensor math.

`torch.distributions` validates arguments and builds objects on every call; these classes do only the
arithmetic each step needs (log-prob, entropy, sampling), which matters on the per-step hot path.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from baselines3.common.preprocessing import get_action_dim
from baselines3.common.torch_layers import Float32Linear

SelfDistribution = TypeVar("SelfDistribution", bound="Distribution")

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_2 = math.log(2.0)


class Distribution(ABC):
    """A parametrised action distribution: build its head, set its parameters, then sample / score actions."""

    @abstractmethod
    def proba_distribution_net(self, *args: Any, **kwargs: Any) -> nn.Module | tuple[nn.Module, nn.Parameter]:
        """Create the layers mapping the policy latent to the distribution parameters."""

    @abstractmethod
    def proba_distribution(self: SelfDistribution, *args: Any, **kwargs: Any) -> SelfDistribution:
        """Set the parameters; returns self so calls can be chained."""

    @abstractmethod
    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """Log-likelihood of `actions`, summed over action dimensions: shape (batch,)."""

    @abstractmethod
    def entropy(self) -> torch.Tensor | None:
        """Entropy per sample (batch,), or None when it has no closed form."""

    @abstractmethod
    def sample(self) -> torch.Tensor:
        """A stochastic action per sample."""

    @abstractmethod
    def mode(self) -> torch.Tensor:
        """The most likely action per sample."""

    def get_actions(self, deterministic: bool = False) -> torch.Tensor:
        return self.mode() if deterministic else self.sample()

    def actions_from_params(self, *args: Any, deterministic: bool = False, **kwargs: Any) -> torch.Tensor:
        self.proba_distribution(*args, **kwargs)
        return self.get_actions(deterministic=deterministic)

    def log_prob_from_params(self, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        actions = self.actions_from_params(*args, **kwargs)
        return actions, self.log_prob(actions)


def _normal_log_prob(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    return -((x - mean) ** 2) / (2.0 * std**2) - log_std - _HALF_LOG_2PI


class DiagGaussianDistribution(Distribution):
    """Gaussian with a diagonal covariance whose log-std is a learned, state-independent parameter."""

    def __init__(self, action_dim: int) -> None:
        self.action_dim = action_dim
        self.mean_actions: torch.Tensor
        self.log_std: torch.Tensor
        self.std: torch.Tensor

    def proba_distribution_net(self, latent_dim: int, log_std_init: float = 0.0) -> tuple[nn.Module, nn.Parameter]:
        mean_actions = Float32Linear(latent_dim, self.action_dim)
        log_std = nn.Parameter(torch.ones(self.action_dim) * log_std_init, requires_grad=True)
        return mean_actions, log_std

    def proba_distribution(self, mean_actions: torch.Tensor, log_std: torch.Tensor) -> DiagGaussianDistribution:
        self.mean_actions = mean_actions
        self.log_std = log_std.expand_as(mean_actions)
        self.std = self.log_std.exp()
        return self

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return _normal_log_prob(actions, self.mean_actions, self.std, self.log_std).sum(dim=-1)

    def entropy(self) -> torch.Tensor | None:
        return (0.5 + _HALF_LOG_2PI + self.log_std).sum(dim=-1)

    def sample(self) -> torch.Tensor:
        return self.mean_actions + self.std * torch.randn_like(self.mean_actions)

    def mode(self) -> torch.Tensor:
        return self.mean_actions

    @property
    def distribution(self) -> torch.distributions.Normal:
        """A `torch.distributions.Normal` view, for code that expects one (not used on the hot path)."""
        return torch.distributions.Normal(self.mean_actions, self.std, validate_args=False)


#: the range SAC's actor clamps its log-std to: exp() neither vanishes nor explodes there
LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


def _log_one_minus_tanh_squared(x: torch.Tensor) -> torch.Tensor:
    # log(1 - tanh(x)^2) = 2 * (log 2 - x - softplus(-2x)): exact and stable, no epsilon needed
    return 2.0 * (_LOG_2 - x - F.softplus(-2.0 * x))


class SquashedDiagGaussianDistribution(DiagGaussianDistribution):
    """Diagonal Gaussian followed by tanh, so actions lie in (-1, 1) (used by SAC)."""

    def __init__(self, action_dim: int, epsilon: float = 1e-6) -> None:
        super().__init__(action_dim)
        self.epsilon = epsilon
        self.gaussian_actions: torch.Tensor | None = None

    def log_prob(self, actions: torch.Tensor, gaussian_actions: torch.Tensor | None = None) -> torch.Tensor:
        if gaussian_actions is None:
            clipped = actions.clamp(-1.0 + self.epsilon, 1.0 - self.epsilon)
            gaussian_actions = torch.atanh(clipped)
        log_prob = super().log_prob(gaussian_actions)
        return log_prob - _log_one_minus_tanh_squared(gaussian_actions).sum(dim=-1)

    def entropy(self) -> torch.Tensor | None:
        return None

    def sample(self) -> torch.Tensor:
        self.gaussian_actions = super().sample()
        return torch.tanh(self.gaussian_actions)

    def mode(self) -> torch.Tensor:
        self.gaussian_actions = self.mean_actions
        return torch.tanh(self.gaussian_actions)

    def log_prob_from_params(
        self, mean_actions: torch.Tensor, log_std: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        action = self.actions_from_params(mean_actions, log_std)
        return action, self.log_prob(action, self.gaussian_actions)


class CategoricalDistribution(Distribution):
    """Categorical over `action_dim` choices, parametrised by logits."""

    def __init__(self, action_dim: int) -> None:
        self.action_dim = action_dim
        self.logits: torch.Tensor

    def proba_distribution_net(self, latent_dim: int) -> nn.Module:
        return Float32Linear(latent_dim, self.action_dim)

    def proba_distribution(self, action_logits: torch.Tensor) -> CategoricalDistribution:
        self.logits = F.log_softmax(action_logits, dim=-1)
        return self

    @property
    def probs(self) -> torch.Tensor:
        return self.logits.exp()

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return self.logits.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)

    def entropy(self) -> torch.Tensor:
        return -(self.probs * self.logits).sum(dim=-1)

    def sample(self) -> torch.Tensor:
        # Gumbel-max trick: argmax(logits - log(E)), E ~ Exp(1), is a categorical sample
        noise = torch.empty_like(self.logits).exponential_().log_()
        return (self.logits - noise).argmax(dim=-1)

    def mode(self) -> torch.Tensor:
        return self.logits.argmax(dim=-1)

    @property
    def distribution(self) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.logits, validate_args=False)


class MultiCategoricalDistribution(Distribution):
    """Independent categoricals, one per entry of a MultiDiscrete action."""

    def __init__(self, action_dims: list[int]) -> None:
        self.action_dims = [int(n) for n in action_dims]
        self.logits: list[torch.Tensor] = []

    def proba_distribution_net(self, latent_dim: int) -> nn.Module:
        return Float32Linear(latent_dim, sum(self.action_dims))

    def proba_distribution(self, action_logits: torch.Tensor) -> MultiCategoricalDistribution:
        self.logits = [F.log_softmax(chunk, dim=-1) for chunk in torch.split(action_logits, self.action_dims, dim=-1)]
        return self

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        actions = actions.long()
        return torch.stack(
            [logits.gather(-1, actions[..., i : i + 1]).squeeze(-1) for i, logits in enumerate(self.logits)],
            dim=-1,
        ).sum(dim=-1)

    def entropy(self) -> torch.Tensor:
        return torch.stack([-(logits.exp() * logits).sum(dim=-1) for logits in self.logits], dim=-1).sum(dim=-1)

    def sample(self) -> torch.Tensor:
        return torch.stack(
            [(logits - torch.empty_like(logits).exponential_().log_()).argmax(dim=-1) for logits in self.logits],
            dim=-1,
        )

    def mode(self) -> torch.Tensor:
        return torch.stack([logits.argmax(dim=-1) for logits in self.logits], dim=-1)


class BernoulliDistribution(Distribution):
    """Independent Bernoulli per entry of a MultiBinary action, parametrised by logits."""

    def __init__(self, action_dims: int) -> None:
        self.action_dims = action_dims
        self.logits: torch.Tensor

    def proba_distribution_net(self, latent_dim: int) -> nn.Module:
        return Float32Linear(latent_dim, self.action_dims)

    def proba_distribution(self, action_logits: torch.Tensor) -> BernoulliDistribution:
        self.logits = action_logits
        return self

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return -F.binary_cross_entropy_with_logits(self.logits, actions.float(), reduction="none").sum(dim=-1)

    def entropy(self) -> torch.Tensor:
        probs = torch.sigmoid(self.logits)
        return F.binary_cross_entropy_with_logits(self.logits, probs, reduction="none").sum(dim=-1)

    def sample(self) -> torch.Tensor:
        return torch.bernoulli(torch.sigmoid(self.logits))

    def mode(self) -> torch.Tensor:
        return (self.logits > 0).float()


class StateDependentNoiseDistribution(Distribution):
    """Generalized State-Dependent Exploration (gSDE, Raffin et al., 2021).

    The exploration noise is a linear function of the policy latent, `latent @ W` with W ~ N(0, std^2) resampled
    only every `sde_sample_freq` steps, which gives smooth exploration on continuous control.
    """

    def __init__(
        self,
        action_dim: int,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        learn_features: bool = False,
        epsilon: float = 1e-6,
    ) -> None:
        self.action_dim = action_dim
        self.full_std = full_std
        self.use_expln = use_expln
        self.squash_output = squash_output
        self.learn_features = learn_features
        self.epsilon = epsilon
        self.latent_sde_dim: int | None = None
        self.mean_actions: torch.Tensor
        self.std: torch.Tensor
        self.latent_sde: torch.Tensor
        self.exploration_mat: torch.Tensor
        self.exploration_matrices: torch.Tensor
        self.gaussian_actions: torch.Tensor | None = None

    def get_std(self, log_std: torch.Tensor) -> torch.Tensor:
        """Std of the noise weights, shape (latent_sde_dim, action_dim)."""
        if self.use_expln:
            # exp below zero, log-linear above: keeps the std from exploding
            below = torch.exp(log_std) * (log_std <= 0)
            safe = log_std * (log_std > 0) + self.epsilon
            above = (torch.log1p(safe) + 1.0) * (log_std > 0)
            std = below + above
        else:
            std = log_std.exp()
        if self.full_std:
            return std
        assert self.latent_sde_dim is not None
        return torch.ones(self.latent_sde_dim, self.action_dim, device=log_std.device) * std

    def sample_weights(self, log_std: torch.Tensor, batch_size: int = 1) -> None:
        """Draw new noise weights (one matrix per env when `batch_size` > 1)."""
        std = self.get_std(log_std)
        self.exploration_mat = std * torch.randn_like(std)
        self.exploration_matrices = std * torch.randn((batch_size, *std.shape), device=std.device)

    def proba_distribution_net(
        self, latent_dim: int, log_std_init: float = -2.0, latent_sde_dim: int | None = None
    ) -> tuple[nn.Module, nn.Parameter]:
        mean_actions_net = Float32Linear(latent_dim, self.action_dim)
        self.latent_sde_dim = latent_dim if latent_sde_dim is None else latent_sde_dim
        shape = (self.latent_sde_dim, self.action_dim) if self.full_std else (self.latent_sde_dim, 1)
        log_std = nn.Parameter(torch.ones(*shape) * log_std_init, requires_grad=True)
        self.sample_weights(log_std)
        return mean_actions_net, log_std

    def proba_distribution(
        self, mean_actions: torch.Tensor, log_std: torch.Tensor, latent_sde: torch.Tensor
    ) -> StateDependentNoiseDistribution:
        self.latent_sde = latent_sde if self.learn_features else latent_sde.detach()
        variance = (self.latent_sde**2) @ (self.get_std(log_std) ** 2)
        self.mean_actions = mean_actions
        self.std = torch.sqrt(variance + self.epsilon)
        return self

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        if self.squash_output:
            gaussian_actions = torch.atanh(actions.clamp(-1.0 + self.epsilon, 1.0 - self.epsilon))
        else:
            gaussian_actions = actions
        log_prob = _normal_log_prob(gaussian_actions, self.mean_actions, self.std, self.std.log()).sum(dim=-1)
        if self.squash_output:
            log_prob = log_prob - _log_one_minus_tanh_squared(gaussian_actions).sum(dim=-1)
        return log_prob

    def entropy(self) -> torch.Tensor | None:
        if self.squash_output:
            return None
        return (0.5 + _HALF_LOG_2PI + self.std.log()).sum(dim=-1)

    def get_noise(self, latent_sde: torch.Tensor) -> torch.Tensor:
        latent_sde = latent_sde if self.learn_features else latent_sde.detach()
        if len(latent_sde) == 1 or len(latent_sde) != len(self.exploration_matrices):
            return latent_sde @ self.exploration_mat
        # one noise matrix per env: (batch, 1, latent) @ (batch, latent, action)
        return torch.bmm(latent_sde.unsqueeze(dim=1), self.exploration_matrices).squeeze(dim=1)

    def sample(self) -> torch.Tensor:
        actions = self.mean_actions + self.get_noise(self.latent_sde)
        if self.squash_output:
            self.gaussian_actions = actions
            return torch.tanh(actions)
        return actions

    def mode(self) -> torch.Tensor:
        return torch.tanh(self.mean_actions) if self.squash_output else self.mean_actions


def make_proba_distribution(
    action_space: spaces.Space[Any], use_sde: bool = False, dist_kwargs: dict[str, Any] | None = None
) -> Distribution:
    """The distribution that fits `action_space` (gSDE for Box when `use_sde`)."""
    dist_kwargs = dist_kwargs or {}
    if isinstance(action_space, spaces.Box):
        if use_sde:
            return StateDependentNoiseDistribution(get_action_dim(action_space), **dist_kwargs)
        return DiagGaussianDistribution(get_action_dim(action_space), **dist_kwargs)
    if use_sde:
        raise ValueError(f"gSDE (use_sde=True) needs a Box action space, got {action_space}")
    if isinstance(action_space, spaces.Discrete):
        return CategoricalDistribution(int(action_space.n), **dist_kwargs)
    if isinstance(action_space, spaces.MultiDiscrete):
        return MultiCategoricalDistribution(list(np.asarray(action_space.nvec).flatten()), **dist_kwargs)
    if isinstance(action_space, spaces.MultiBinary):
        assert isinstance(action_space.n, int), "Multi-dimensional MultiBinary action spaces are not supported"
        return BernoulliDistribution(action_space.n, **dist_kwargs)
    raise NotImplementedError(
        f"No action distribution for {action_space}; supported: Box, Discrete, MultiDiscrete, MultiBinary"
    )


class TanhBijector:
    """tanh as a change of variables: squashes a Gaussian sample into (-1, 1) and back (SB3's helper class).

    The distributions above do not use it: SquashedDiagGaussianDistribution corrects its log-probabilities with
    the exact log(1 - tanh(x)^2), while `log_prob_correction` here keeps SB3's `+ epsilon` form."""

    def __init__(self, epsilon: float = 1e-6) -> None:
        self.epsilon = epsilon

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x)

    @staticmethod
    def atanh(x: torch.Tensor) -> torch.Tensor:
        """The inverse of tanh on (-1, 1), without clipping (inf at +-1)."""
        return 0.5 * (torch.log1p(x) - torch.log1p(-x))

    @staticmethod
    def inverse(y: torch.Tensor) -> torch.Tensor:
        """atanh(y) with y first pulled inside (-1, 1) by the dtype's machine epsilon, so it stays finite."""
        eps = torch.finfo(y.dtype).eps
        return TanhBijector.atanh(y.clamp(min=-1.0 + eps, max=1.0 - eps))

    def log_prob_correction(self, x: torch.Tensor) -> torch.Tensor:
        """log |d tanh(x) / dx| = log(1 - tanh(x)^2), with `epsilon` added inside the log."""
        return torch.log(1.0 - torch.tanh(x).square() + self.epsilon)


def _normal_kl(mean_p: torch.Tensor, std_p: torch.Tensor, mean_q: torch.Tensor, std_q: torch.Tensor) -> torch.Tensor:
    """KL(N(mean_p, std_p^2) || N(mean_q, std_q^2)) per element."""
    var_ratio = (std_p / std_q).square()
    mean_term = ((mean_p - mean_q) / std_q).square()
    return 0.5 * (var_ratio + mean_term - 1.0 - var_ratio.log())


def _categorical_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL between categoricals given normalized log-probabilities, summed over the last axis (a choice that p
    never takes adds 0, one that only q never takes adds inf)."""
    terms = log_p.exp() * (log_p - log_q)
    return torch.where(torch.isneginf(log_p), torch.zeros_like(terms), terms).sum(dim=-1)


def kl_divergence(dist_true: Distribution, dist_pred: Distribution) -> torch.Tensor:
    """KL(dist_true || dist_pred) for two distributions of the same kind, with SB3's shapes: (batch,) for
    Categorical and MultiCategorical (summed over the sub-actions), (batch, action_dim) per action dimension for
    the Gaussian kinds and Bernoulli. The squashed kinds give the KL of their Gaussians before tanh, which
    tanh (a bijection) leaves unchanged."""
    if type(dist_true) is not type(dist_pred):
        raise ValueError(f"Cannot compute KL between {type(dist_true).__name__} and {type(dist_pred).__name__}")
    if isinstance(dist_true, CategoricalDistribution):
        assert isinstance(dist_pred, CategoricalDistribution)
        return _categorical_kl(dist_true.logits, dist_pred.logits)
    if isinstance(dist_true, MultiCategoricalDistribution):
        assert isinstance(dist_pred, MultiCategoricalDistribution)
        if dist_true.action_dims != dist_pred.action_dims:
            raise ValueError(
                f"Cannot compute KL between MultiCategorical distributions over different action spaces: "
                f"{dist_true.action_dims} != {dist_pred.action_dims}"
            )
        return torch.stack(
            [_categorical_kl(p, q) for p, q in zip(dist_true.logits, dist_pred.logits, strict=True)], dim=-1
        ).sum(dim=-1)
    if isinstance(dist_true, (DiagGaussianDistribution, StateDependentNoiseDistribution)):
        assert isinstance(dist_pred, (DiagGaussianDistribution, StateDependentNoiseDistribution))
        return _normal_kl(dist_true.mean_actions, dist_true.std, dist_pred.mean_actions, dist_pred.std)
    if isinstance(dist_true, BernoulliDistribution):
        assert isinstance(dist_pred, BernoulliDistribution)
        # with log p = -softplus(-l) and log(1 - p) = -softplus(l), from the logits directly
        p = torch.sigmoid(dist_true.logits)
        log_ratio_one = F.softplus(-dist_pred.logits) - F.softplus(-dist_true.logits)
        log_ratio_zero = F.softplus(dist_pred.logits) - F.softplus(dist_true.logits)
        return p * log_ratio_one + (1.0 - p) * log_ratio_zero
    raise NotImplementedError(f"KL divergence is not implemented for {type(dist_true).__name__}")

"""Feature extractors and MLP builders used by every policy."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import gymnasium as gym
import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from baselines3.common.preprocessing import get_flattened_obs_dim, is_image_space


class BaseFeaturesExtractor(nn.Module):
    """Maps an observation (already preprocessed to floats) to a flat feature vector of size `features_dim`."""

    def __init__(self, observation_space: gym.Space[Any], features_dim: int = 0) -> None:
        super().__init__()
        assert features_dim > 0, f"features_dim must be positive, got {features_dim}"
        self._observation_space = observation_space
        self._features_dim = features_dim

    @property
    def features_dim(self) -> int:
        return self._features_dim


class FlattenExtractor(BaseFeaturesExtractor):
    """Flattens the observation: the default extractor for vector observations."""

    def __init__(self, observation_space: gym.Space[Any]) -> None:
        super().__init__(observation_space, get_flattened_obs_dim(observation_space))
        self.flatten = nn.Flatten()

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        flat: torch.Tensor = call_module(self.flatten, observations)
        return flat


class NotAnImageSpaceError(ValueError, AssertionError):
    """NatureCNN was given a space that is not an image. Both a ValueError and (as Stable-Baselines3's failed
    ``assert``) an AssertionError, so either ``except`` catches it."""


class NatureCNN(BaseFeaturesExtractor):
    """The convolutional torso of the DQN Nature paper (Mnih et al., 2015), followed by a linear layer.

    Expects channel-first images; images are made channel-first by the env wrapping (VecTransposeImage). The
    space must be a 3-D uint8 Box in [0, 255], or with ``normalized_image=True`` any 3-D Box (float images; the
    policies pass it when ``normalize_images=False``), as in Stable-Baselines3; otherwise
    :class:`NotAnImageSpaceError` (a ValueError and an AssertionError).
    """

    def __init__(
        self, observation_space: gym.Space[Any], features_dim: int = 512, normalized_image: bool = False
    ) -> None:
        assert isinstance(observation_space, spaces.Box), (
            f"NatureCNN needs a Box image observation space, got {observation_space}"
        )
        super().__init__(observation_space, features_dim)
        if not is_image_space(observation_space, check_channels=False, normalized_image=normalized_image):
            raise NotAnImageSpaceError(
                f"NatureCNN needs image observations (3-D uint8 Box in [0, 255]), got {observation_space}. "
                "For other Box observations use MlpPolicy; for float images already in [0, 1] pass "
                "features_extractor_kwargs=dict(normalized_image=True)."
            )
        n_input_channels = observation_space.shape[0]
        self.cnn = nn.Sequential(
            nn.Conv2d(n_input_channels, 32, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_flatten = self.cnn(torch.zeros(1, *observation_space.shape)).shape[1]
        self.linear = nn.Sequential(nn.Linear(n_flatten, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        features: torch.Tensor = self.linear(self.cnn(observations))
        return features


def has_hooks(module: nn.Module) -> bool:
    """Whether forward/backward hooks are registered on `module` itself (not its children)."""
    return bool(
        module._forward_hooks or module._forward_pre_hooks or module._backward_hooks or module._backward_pre_hooks
    )


def call_module(module: nn.Module, x: Any) -> Any:
    """`module(x)`, skipping nn.Module.__call__'s bookkeeping when the module has no hooks (see run_sequential)."""
    if has_hooks(module):
        return module(x)
    return module.forward(x)


def run_sequential(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """`layers(x)` without nn.Module.__call__'s per-layer bookkeeping when no layer has hooks.

    That bookkeeping costs about 2 us a layer, a third of a small MLP's forward pass at rollout batch sizes
    (measured: 31 us instead of 53 us for the two 64x64 MLPs of the default policy).
    """
    if has_hooks(layers) or any(has_hooks(layer) for layer in layers):
        out: torch.Tensor = layers(x)
        return out
    for layer in layers:
        x = layer.forward(x)
    return x


def float32_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """`F.linear(x, weight, bias)` in float32, also inside an autocast region (see `Float32Linear`)."""
    device_type = x.device.type
    if torch.is_autocast_enabled(device_type):
        with torch.autocast(device_type, enabled=False):
            return F.linear(x.float(), weight, bias)
    return F.linear(x, weight, bias)


class Float32Linear(nn.Linear):
    """A network's output layer (Q-values, action logits or means, state values): an `nn.Linear` that computes in
    float32 even inside an autocast region (``precision="bf16"``); outside one it is `nn.Linear` exactly.

    A bfloat16 output keeps 8 significant bits: near a Q-value of 100 its spacing is 0.5, the size of a reward,
    and PPO's probability ratios start off 1 by the logits' rounding. Outputs are thin products (few columns),
    which bfloat16 does not speed up. Its parameters and state-dict keys are those of `nn.Linear`.
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return float32_linear(input, self.weight, self.bias)


def create_mlp(
    input_dim: int,
    output_dim: int,
    net_arch: list[int],
    activation_fn: type[nn.Module] = nn.ReLU,
    squash_output: bool = False,
    with_bias: bool = True,
) -> list[nn.Module]:
    """Layers of an MLP: Linear+activation per hidden size, then a `Float32Linear` to `output_dim` (skipped if
    <= 0)."""
    if isinstance(activation_fn, (str, nn.Module)) or not callable(activation_fn):
        raise TypeError(f"activation_fn must be a torch.nn.Module class such as nn.ReLU, got {activation_fn!r}")
    if any(isinstance(size, bool) or not isinstance(size, Integral) or size < 1 for size in net_arch):
        raise ValueError(f"net_arch layer sizes must be positive ints, got {list(net_arch)}")
    modules: list[nn.Module] = []
    last_dim = input_dim
    for size in net_arch:
        modules += [nn.Linear(last_dim, int(size), bias=with_bias), activation_fn()]
        last_dim = int(size)
    if output_dim > 0:
        modules.append(Float32Linear(last_dim, output_dim, bias=with_bias))
    if squash_output:
        modules.append(nn.Tanh())
    return modules


class MlpExtractor(nn.Module):
    """Separate policy and value MLPs on top of the features.

    `net_arch` is a list (same hidden sizes for both) or a dict `dict(pi=[...], vf=[...])`.
    """

    def __init__(
        self,
        feature_dim: int,
        net_arch: list[int] | dict[str, list[int]],
        activation_fn: type[nn.Module],
        device: torch.device | str = "auto",
    ) -> None:
        super().__init__()
        if isinstance(net_arch, dict):
            unknown = set(net_arch) - {"pi", "vf"}
            if unknown:
                raise ValueError(f"net_arch dict keys must be 'pi' and/or 'vf', got unknown keys {sorted(unknown)}")
            pi_sizes, vf_sizes = list(net_arch.get("pi", [])), list(net_arch.get("vf", []))
        elif isinstance(net_arch, (list, tuple)):
            pi_sizes = vf_sizes = list(net_arch)
        else:
            raise TypeError(f"net_arch must be a list of ints or dict(pi=[...], vf=[...]), got {net_arch!r}")
        self.policy_net = nn.Sequential(*create_mlp(feature_dim, -1, pi_sizes, activation_fn))
        self.value_net = nn.Sequential(*create_mlp(feature_dim, -1, vf_sizes, activation_fn))
        self.latent_dim_pi = pi_sizes[-1] if pi_sizes else feature_dim
        self.latent_dim_vf = vf_sizes[-1] if vf_sizes else feature_dim

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return run_sequential(self.policy_net, features), run_sequential(self.value_net, features)

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        return run_sequential(self.policy_net, features)

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        return run_sequential(self.value_net, features)


class CombinedExtractor(BaseFeaturesExtractor):
    """Extractor for Dict observations: NatureCNN for each image key, flatten for the rest, concatenated."""

    def __init__(
        self, observation_space: spaces.Dict, cnn_output_dim: int = 256, normalized_image: bool = False
    ) -> None:
        if not isinstance(observation_space, spaces.Dict):
            raise TypeError(f"CombinedExtractor needs a Dict observation space, got {observation_space}")
        # features_dim is known only after the sub-extractors are built
        super().__init__(observation_space, features_dim=1)
        extractors: dict[str, nn.Module] = {}
        total = 0
        for key, subspace in observation_space.spaces.items():
            if is_image_space(subspace, normalized_image=normalized_image):
                extractors[key] = NatureCNN(subspace, features_dim=cnn_output_dim, normalized_image=normalized_image)
                total += cnn_output_dim
            else:
                extractors[key] = nn.Flatten()
                total += get_flattened_obs_dim(subspace)
        self.extractors = nn.ModuleDict(extractors)
        self._features_dim = total

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([extractor(observations[key]) for key, extractor in self.extractors.items()], dim=1)


def get_actor_critic_arch(net_arch: list[int] | dict[str, list[int]]) -> tuple[list[int], list[int]]:
    """Split an off-policy `net_arch` (list, or dict with 'pi' and 'qf') into actor and critic sizes."""
    if isinstance(net_arch, dict):
        if "pi" not in net_arch or "qf" not in net_arch:
            raise ValueError(f"net_arch dict must have keys 'pi' and 'qf' for actor and critic, got {net_arch}")
        return list(net_arch["pi"]), list(net_arch["qf"])
    return list(net_arch), list(net_arch)

"""Typed hyperparameters: one frozen dataclass per algorithm, with SB3's names and defaults.

An algorithm's constructor keeps SB3's signature (so SB3 code runs with the import changed) and builds its
config from its arguments; the config validates every value once, and ``save``/``load`` write and read it. The
model reads its settings as ``model.config.gamma``; ``model.gamma`` reads the same field, and assigning
``model.gamma = 0.98`` replaces the config with a validated copy (as SB3 code that sets attributes expects).

The bases here hold the fields several algorithms share; each algorithm's module adds its own fields and
defaults (e.g. :class:`baselines3.sac.config.SACConfig`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from baselines3.common.env_runner import TrainFreq
from baselines3.common.fast.precision import check_precision
from baselines3.common.noise import ActionNoise
from baselines3.common.off_policy.rounds import convert_train_freq
from baselines3.common.utils import HYPERPARAMETER_RULES, check_hyperparameters

__all__ = ["AlgorithmConfig", "OffPolicyConfig", "OnPolicyConfig", "config_field_names"]

SelfConfig = TypeVar("SelfConfig", bound="AlgorithmConfig")

#: A learning rate (or clip range) may be a schedule: a function of the remaining progress, 1 at the start of
#: ``learn()`` and 0 at its end.
Schedule = Callable[[float], float]

#: Constructor arguments that are not hyperparameters (where the model runs, and how it is built).
NOT_HYPERPARAMETERS = frozenset({"self", "policy", "env", "device", "_init_setup_model"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class AlgorithmConfig:
    """The settings every algorithm has."""

    learning_rate: float | Schedule = 3e-4
    """Optimizer step size, or a schedule of the remaining progress (1 -> 0)."""
    policy_kwargs: dict[str, Any] | None = None
    """Keyword arguments of the policy: ``net_arch``, ``activation_fn``, ``features_extractor_class``, ..."""
    stats_window_size: int = 100
    """Episodes averaged in the logged episode statistics (``rollout/ep_rew_mean``)."""
    tensorboard_log: str | None = None
    """Folder for TensorBoard logs; None writes none."""
    verbose: int = 0
    """0: silent, 1: training statistics, 2: debug messages."""
    seed: int | None = None
    """Seed of Python's, numpy's and torch's generators, the action space and the env; None: unseeded."""
    precision: str = "fp32"
    """Arithmetic of the updates: "fp32", or "bf16" for the networks' matrix products under bfloat16 autocast
    (parameters, optimizer state, targets and losses stay float32; acting stays float32). See docs/speed.md."""

    def __post_init__(self) -> None:
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer))):
            raise TypeError(f"seed must be an int or None, got {self.seed!r} ({type(self.seed).__name__})")
        check_precision(self.precision)
        # every field with a range rule (utils.HYPERPARAMETER_RULES) is checked here, once
        check_hyperparameters(
            **{name: getattr(self, name) for name in config_field_names(type(self)) if name in HYPERPARAMETER_RULES}
        )

    @classmethod
    def from_arguments(cls: type[SelfConfig], arguments: dict[str, Any]) -> SelfConfig:
        """The config of a constructor call, from the constructor's ``locals()`` (other names are ignored)."""
        return cls(**{name: arguments[name] for name in config_field_names(cls) if name in arguments})


@dataclasses.dataclass(frozen=True, kw_only=True)
class OnPolicyConfig(AlgorithmConfig):
    """The settings of actor-critic algorithms that learn from fresh rollouts (A2C, PPO)."""

    n_steps: int = 2048
    """Env steps per env in each rollout (a rollout holds ``n_steps * n_envs`` transitions)."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE's bias-variance trade-off: 1 gives Monte-Carlo advantages, 0 one-step TD errors."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus in the loss."""
    vf_coef: float = 0.5
    """Weight of the value loss in the loss."""
    max_grad_norm: float = 0.5
    """Gradients are rescaled to at most this global norm."""
    use_sde: bool = False
    """Generalized State-Dependent Exploration instead of independent Gaussian noise (Box actions)."""
    sde_sample_freq: int = -1
    """With gSDE, draw new noise weights every this many steps; -1: once per rollout."""
    rollout_buffer_class: type | None = None
    """The rollout buffer class; None picks the one for the observation space (Dict or not)."""
    rollout_buffer_kwargs: dict[str, Any] | None = None
    """Keyword arguments of the rollout buffer."""
    normalize_advantage: bool = True
    """Normalize the advantages of each minibatch to zero mean and unit variance."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class OffPolicyConfig(AlgorithmConfig):
    """The settings of algorithms that learn from a replay buffer (DQN, SAC, TD3, DDPG)."""

    buffer_size: int = 1_000_000
    """Transitions the replay buffer holds."""
    learning_starts: int = 100
    """Env steps taken before the first update (with random actions for SAC/TD3/DDPG)."""
    batch_size: int = 256
    """Transitions per gradient step."""
    tau: float = 0.005
    """Polyak coefficient of the target networks (1: copy the online networks)."""
    gamma: float = 0.99
    """Discount factor."""
    train_freq: int | tuple[int, str] = 1
    """Env steps between update phases (an int), or ``(n, "step")`` / ``(n, "episode")``."""
    gradient_steps: int = 1
    """Gradient steps per update phase; -1 does as many as env steps were taken."""
    replay_buffer_class: type | None = None
    """The buffer class (e.g. ``HerReplayBuffer``); None picks the one for the observation space."""
    replay_buffer_kwargs: dict[str, Any] | None = None
    """Keyword arguments of the replay buffer."""
    optimize_memory_usage: bool = False
    """Store each observation once (the next observation is the following slot)."""
    n_steps: int = 1
    """n-step returns: rewards summed over this many steps before bootstrapping (> 1 uses n-step sampling)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.train_frequency  # noqa: B018 (a malformed train_freq raises here, at construction)

    @property
    def train_frequency(self) -> TrainFreq:
        """`train_freq` parsed: `4` -> every 4 steps; `(1, "episode")` -> after every episode."""
        return convert_train_freq(self.train_freq)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ActorCriticOffPolicyConfig(OffPolicyConfig):
    """The settings SAC, TD3 and DDPG share beyond the replay buffer's."""

    action_noise: ActionNoise | None = None
    """Noise added to the actor's actions while collecting (rescaled to [-1, 1]); None adds none."""


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def config_field_names(config_class: type[AlgorithmConfig]) -> frozenset[str]:
    """The names of a config class's fields (cached: read on every attribute access that falls back to them)."""
    names = _FIELD_NAMES.get(config_class)
    if names is None:
        names = _FIELD_NAMES[config_class] = frozenset(field.name for field in dataclasses.fields(config_class))
    return names


def replay_buffer_arguments(
    config: OffPolicyConfig,
) -> tuple[int, int, bool, type | None, dict[str, Any] | None, int, float]:
    """`build_replay_buffer`'s arguments after the model, from an off-policy config."""
    return (
        config.buffer_size,
        config.batch_size,
        config.optimize_memory_usage,
        config.replay_buffer_class,
        config.replay_buffer_kwargs,
        config.n_steps,
        config.gamma,
    )


def rollout_buffer_arguments(config: OnPolicyConfig) -> tuple[int, float, float, type | None, dict[str, Any] | None]:
    """`build_policy_and_buffer`'s arguments after the model, from an on-policy config."""
    return config.n_steps, config.gamma, config.gae_lambda, config.rollout_buffer_class, config.rollout_buffer_kwargs

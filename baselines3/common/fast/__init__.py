"""The speed seam: every faster-than-the-modules code path, behind one switch.

Policies and Q-networks are plain ``nn.Module``s. At each point where a faster path exists they ask this package
once per call (``out = fast.<path>(network, inputs)``) and run their own modules when the answer is None. The
answer is None when acceleration is off (``BASELINES3_FAST=0`` in the environment, or :func:`set_enabled`), when
the network is not of the shape a fast path handles (decided once per network and cached here, not on the module),
or when the call needs what the fast path skips (forward hooks, gradients into the inputs, integer inputs), and
inside an autocast region (``precision="bf16"``, :mod:`.precision`): the hand kernels are float32 (the compiled
step, :mod:`.compiled`, runs in either).

What is here, and the figures that keep it (one core, measured when each was added; see docs/speed.md):

* :mod:`.fused_mlp`: MLP forward and backward as one autograd node with hand-written backward, weight gradients
  written straight into the optimizer's flat gradient (PPO's 64x64 actor-critic at batch 256: 1.10 -> 0.85 ms
  per gradient step); DQN's Huber update computed without autograd; numpy acting for small Q-networks.
* flat parameters with the fused Adam kernel (:mod:`baselines3.common.fast.optim`).
* channels-last images for NatureCNN (also inside a CombinedExtractor) when it trains (:func:`training_images`).
* :mod:`.precision`: the context every update of ``learn()`` runs in (subnormal floats flushed to zero on CPU; with
  ``precision="bf16"``, bfloat16 autocast).
* :mod:`.compiled` (automatic for ``learn()`` calls of 100k steps or more; ``BASELINES3_COMPILE=1`` always, ``0``
  never): SAC's, TD3's and DDPG's whole gradient step as one program compiled by ``torch.compile`` (SAC
  HalfCheetah's training loop at two threads: ~145 -> ~181 steps/s), in float32 or under ``precision="bf16"``'s
  autocast.
* :mod:`.memory`: the heap policy set by the first update on CPU (freed batch-sized blocks stay in the process:
  DQN's 50 updates on Pong at batch 32, ~2.05 -> ~1.72 s).

Everything must agree with the module path to float32 round-off: the tests run both paths side by side, and the
whole suite runs once with ``BASELINES3_FAST=0``.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from baselines3.common import losses
from baselines3.common.fast import switch
from baselines3.common.fast.fused_mlp import (
    FusedPlan,
    MlpPlan,
    fused_heads,
    fused_mlp,
    fused_values,
    make_mlp_plan,
    make_plan,
    mlp_forward_numpy,
    mlp_forward_saving,
    mlp_plan_usable,
    mlp_weight_grads,
    plan_usable,
    regression_gradient,
)
from baselines3.common.fast.precision import autocast_active
from baselines3.common.fast.switch import enabled
from baselines3.common.torch_layers import CombinedExtractor, FlattenExtractor, MlpExtractor, NatureCNN, has_hooks

__all__ = [
    "actor_critic_heads",
    "actor_critic_values",
    "critic_q",
    "critic_regression_gradient",
    "critic_update_plans",
    "enabled",
    "forget",
    "greedy_actions_numpy",
    "huber_update_plan",
    "lerp_",
    "q_network_forward",
    "q_network_plan",
    "set_enabled",
    "switched",
    "training_images",
]

#: network -> its plan (None: no fast path for it). Weak keys: a plan lives as long as its network.
_PLANS: weakref.WeakKeyDictionary[nn.Module, Any] = weakref.WeakKeyDictionary()


def set_enabled(value: bool) -> None:
    """Turn the fast paths on or off for the whole process. Networks follow at their next call; optimizers keep
    the layout they were built with (flat or per-parameter)."""
    switch.set_enabled(value)
    _PLANS.clear()


@contextlib.contextmanager
def switched(value: bool) -> Iterator[None]:
    """The fast paths on (True) or off (False) inside the block, as :func:`set_enabled` sets them; the setting
    before the block comes back after it."""
    was_enabled = enabled()
    set_enabled(value)
    try:
        yield
    finally:
        set_enabled(was_enabled)


def forget(network: nn.Module) -> None:
    """Drop the plan of `network` (its parameters moved: the plan holds views of the old storage)."""
    _PLANS.pop(network, None)


def lerp_(targets: list[torch.Tensor], sources: list[torch.Tensor], weight: float) -> None:
    """``target += weight * (source - target)`` for every pair, in place (Polyak averaging): one fused foreach
    kernel for all tensors instead of one call per tensor."""
    if enabled():
        torch._foreach_lerp_(targets, sources, weight)
    else:
        for target, source in zip(targets, sources):
            target.lerp_(source, weight)


def training_images(extractor: nn.Module, observations: Any) -> Any | None:
    """`observations` with their image batches (N x C x H x W, uint8 as stored or float) in channels-last memory
    order, when autograd records the forward pass of a NatureCNN `extractor` (or of a CombinedExtractor's
    NatureCNNs) on CPU; else None (use them as they are). Given before the uint8 -> float scaling, the copy moves
    a quarter of the bytes and the scaling writes its floats in that order.

    The values and shape are the same; only the memory order changes, in which oneDNN's convolution backward is
    faster: forward + backward of NatureCNN at batch 256, one core, 500 -> 370 ms (32: 70 -> 48 ms). Inference is
    faster in the default order (batch 32: 15 -> 20 ms in channels-last), so acting and target networks keep it."""
    if not enabled() or not torch.is_grad_enabled():
        return None
    if type(extractor) is CombinedExtractor and isinstance(observations, dict):
        relaid = {key: _channels_last(sub, observations.get(key)) for key, sub in extractor.extractors.items()}
        changed = {key: images for key, images in relaid.items() if images is not None}
        return {**observations, **changed} if changed else None
    return _channels_last(extractor, observations)


def _channels_last(extractor: nn.Module, images: Any) -> torch.Tensor | None:
    if (
        type(extractor) is not NatureCNN
        or not isinstance(images, torch.Tensor)
        or images.dim() != 4
        or images.device.type != "cpu"
        or not (images.is_floating_point() or images.dtype == torch.uint8)
    ):
        return None
    return images.contiguous(memory_format=torch.channels_last)


# ---------------------------------------------------------------------------------------------- actor-critic
def _actor_critic_plan(policy: Any) -> FusedPlan | None:
    plan = _PLANS.get(policy, False)
    if plan is not False and (
        plan is None or (plan.action_net is policy.action_net and plan.mlp_extractor is policy.mlp_extractor)
    ):
        return plan  # type: ignore[no-any-return]
    new_plan: FusedPlan | None = None
    flat = policy.__dict__.get("flat_parameters")
    if (
        type(policy.features_extractor) is FlattenExtractor
        and policy.share_features_extractor
        and not policy.use_sde
        and type(policy.mlp_extractor) is MlpExtractor
        and flat is not None
        and flat.contiguous
    ):
        new_plan = make_plan(policy.mlp_extractor, policy.action_net, policy.value_net, flat)
    _PLANS[policy] = new_plan
    return new_plan


def actor_critic_heads(policy: Any, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(action-distribution parameters, values) of an ActorCriticPolicy's default MLP from flat features, or None."""
    if not enabled() or autocast_active():
        return None
    plan = _actor_critic_plan(policy)
    if plan is None or not plan_usable(plan, features):
        return None
    return fused_heads(plan, features)


def actor_critic_values(policy: Any, features: torch.Tensor) -> torch.Tensor | None:
    """Values (batch, 1) of an ActorCriticPolicy's default MLP from flat features, outside autograd, or None."""
    if torch.is_grad_enabled() or not enabled() or autocast_active():
        return None
    plan = _actor_critic_plan(policy)
    if plan is None or not plan_usable(plan, features):
        return None
    return fused_values(plan, features)


# ---------------------------------------------------------------------------------------------- MLP networks
def _mlp_plan(network: nn.Module, sequential: nn.Sequential, flat: Any, wait_for_flat: bool = False) -> MlpPlan | None:
    plan = _PLANS.get(network, False)
    if plan is not False and (plan is None or plan.sequential is sequential):
        return plan  # type: ignore[no-any-return]
    plan = make_mlp_plan(sequential, flat)
    if not (wait_for_flat and flat is None):  # a trainable network waits for its optimizer's flat buffer
        _PLANS[network] = plan
    return plan


def critic_q(critic: Any, index: int, x: torch.Tensor, detach_params: bool) -> torch.Tensor | None:
    """Q-values of a ContinuousCritic's `index`-th MLP on (features, actions) `x`, or None."""
    if not enabled() or autocast_active():
        return None
    q_net = critic.q_networks[index]
    flat = critic.__dict__.get("flat_parameters")
    trainable = any(p.requires_grad for p in critic.parameters())
    plan = _mlp_plan(q_net, q_net, flat, wait_for_flat=trainable)
    if plan is None or not mlp_plan_usable(plan, x, train_weights=not detach_params):
        return None
    return fused_mlp(plan, x, train_weights=not detach_params)


def critic_update_plans(critic: Any) -> tuple[MlpPlan, ...] | None:
    """Plans for the critics' regression step without autograd (:func:`critic_regression_gradient`), when it
    applies: every Q-network a plain MLP over a features extractor without parameters (Flatten), their parameters
    the whole of the critic's flat buffer, no hooks anywhere, float32 arithmetic; else None. The plans share one
    gradient buffer."""
    if not enabled() or autocast_active():
        return None
    plans = _PLANS.get(critic, False)
    if plans is False or (plans is not None and any(p.sequential is not q for p, q in zip(plans, critic.q_networks))):
        flat = critic.__dict__.get("flat_parameters")
        if flat is None:
            return None  # the optimizer (and its flat buffer) comes later: decide then
        plans = None
        if type(critic.features_extractor) is FlattenExtractor and flat.contiguous:
            with torch.inference_mode(False):
                buffer = torch.zeros_like(flat.flat, requires_grad=False)
                made = [make_mlp_plan(q_net, flat, buffer) for q_net in critic.q_networks]
            covered = sum(p.numel() for q_net in critic.q_networks for p in q_net.parameters())
            if all(plan is not None for plan in made) and covered == flat.flat.numel():
                plans = tuple(plan for plan in made if plan is not None)
        _PLANS[critic] = plans
    if plans is None or any(has_hooks(m) for m in (critic, critic.features_extractor)):
        return None
    if any(has_hooks(m) for plan in plans for m in plan.modules):
        return None
    return plans  # type: ignore[no-any-return]


def critic_regression_gradient(
    plans: tuple[MlpPlan, ...],
    critic: Any,
    observations: Any,
    actions: torch.Tensor,
    targets: torch.Tensor,
    scale: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(``scale * sum_i 0.5 * MSE(Q_i(s, a), targets)``, its flat gradient) for the critics of
    :func:`critic_update_plans`, computed by hand: the same loss and gradient as autograd's (tested), without
    the graph, the per-critic gradient buffers autograd would add, or the copy it makes of each."""
    with torch.no_grad():
        features = critic.extract_features(observations, critic.features_extractor)
        return regression_gradient(plans, torch.cat([features, actions], dim=1), targets, scale)


def q_network_plan(q_net: Any) -> MlpPlan | None:
    """The fused plan of a DQN QNetwork (plain MLP over flat features, not dueling), or None."""
    if type(q_net.features_extractor) is not FlattenExtractor or q_net.dueling:
        return None
    return _mlp_plan(q_net, q_net.q_net, q_net.__dict__.get("flat_parameters"))


def q_network_forward(q_net: Any, features: torch.Tensor) -> torch.Tensor | None:
    """Q-values of a DQN QNetwork (plain MLP, not dueling) from flat features, or None."""
    if not enabled() or autocast_active():
        return None
    plan = q_network_plan(q_net)
    if plan is None or not mlp_plan_usable(plan, features):
        return None
    return fused_mlp(plan, features)


def greedy_actions_numpy(q_net: Any, obs: Any) -> np.ndarray | None:
    """argmax_a Q(obs, a) by numpy on views of the parameters, for a plain MLP Q-network over float observations
    on CPU (a few observations at a time: numpy's ~10 us beats torch's ~40 us dispatch), or None."""
    if (
        not enabled()
        or autocast_active()
        or not isinstance(obs, np.ndarray)
        or not isinstance(q_net.observation_space, spaces.Box)
    ):
        return None  # other spaces are one-hot encoded or flattened by the features extractor
    plan = q_network_plan(q_net)
    if plan is None or plan.numpy_steps is None:
        return None
    if any(has_hooks(m) for m in (q_net, q_net.features_extractor, *plan.modules) if m is not None):
        return None
    features = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
    actions: np.ndarray = mlp_forward_numpy(plan.numpy_steps, features).argmax(axis=1)
    return actions


def huber_update_plan(q_net: Any) -> MlpPlan | None:
    """The plan for DQN's update without autograd (:func:`huber_gradient`), when it applies: a plain MLP whose
    parameters are in a flat buffer, and no hooks anywhere; else None."""
    if not enabled() or autocast_active():
        return None
    plan = q_network_plan(q_net)
    if plan is None or plan.grad_buffer is None or any(has_hooks(m) for m in plan.modules):
        return None
    if has_hooks(q_net) or (q_net.features_extractor is not None and has_hooks(q_net.features_extractor)):
        return None
    return plan


def huber_gradient(
    plan: MlpPlan, q_net: Any, observations: torch.Tensor, actions: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Huber TD loss, its flat gradient) for DQN's update, computed by hand for a plain MLP Q-network: the
    autograd graph costs ~0.2 of the ~0.85 ms per step at batch 64. Same loss and gradient as autograd (tested)."""
    with torch.no_grad():
        features = q_net.extract_features(observations, q_net.features_extractor)
        q_values, saved = mlp_forward_saving(plan, features)
        actions = actions.long().reshape(-1, 1)
        loss, grad_taken = losses.huber_loss_and_grad(q_values.gather(1, actions) - targets)
        grad_q = torch.zeros_like(q_values).scatter_(1, actions, grad_taken)
        return loss, mlp_weight_grads(plan, features, saved, grad_q)

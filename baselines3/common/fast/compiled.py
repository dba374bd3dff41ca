"""SAC's whole gradient step as one compiled program (``torch.compile`` with Inductor), opt-in.

An eager SAC step is a few hundred torch calls (products, element-wise operations, three optimizer steps, the
Polyak update), each paying its own dispatch and leaving its result in memory for the next. Compiled, the
step's element-wise work is fused into a few generated kernels around the matrix products, and those kernels
use every thread torch has, where the eager step's small operations do not gain from a second one. HalfCheetah
shapes ([256, 256] networks, batch 256) on the 2-core AMD EPYC (Zen 4): one thread 8.1-8.5 against 9.2-9.4 ms
per gradient step, two threads 4.65-4.7 against 6.0-6.3 ms (docs/speed.md, "A compiled gradient step").

It is opt-in because compiling costs time up front (about 30 s the first time in a fresh environment, a few
seconds once Inductor's cache holds the program) and needs a C++ compiler: switch it on with
``BASELINES3_COMPILE=1`` in the environment or :func:`set_compiled_updates`. The seam's switch
(``BASELINES3_FAST=0``) turns it off with everything else. Where the step is not of the shape compiled here
(:func:`sac_update_reason` says why), or compiling fails, SAC runs its eager step.

The compiled step computes what SAC's eager step computes, from the same losses (:mod:`baselines3.common.losses`),
the same order of updates and the same random numbers, and agrees with it to float32 round-off (tested): Adam is
written out as the fused kernel computes it; the critics and the actor run as plain linear layers and activations.
"""

from __future__ import annotations

import math
import os
import types
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from baselines3.common import losses
from baselines3.common.distributions import SquashedDiagGaussianDistribution, _log_one_minus_tanh_squared
from baselines3.common.fast import switch
from baselines3.common.fast.optim import FlatParameters, count_direct_step, direct_step_usable
from baselines3.common.fast.precision import autocast_active
from baselines3.common.torch_layers import FlattenExtractor, has_hooks

__all__ = ["compiled_updates_enabled", "sac_update", "sac_update_reason", "set_compiled_updates"]

_ON = os.environ.get("BASELINES3_COMPILE", "0").strip().lower() in ("1", "true", "yes", "on")
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def set_compiled_updates(value: bool) -> None:
    """Compile SAC's gradient step (True) or run it eagerly (False, the default) from the next update on."""
    global _ON
    _ON = bool(value)


def compiled_updates_enabled() -> bool:
    """Whether updates are compiled: asked for (``BASELINES3_COMPILE=1`` or :func:`set_compiled_updates`) and the
    seam on."""
    return _ON and switch.enabled()


#: a layer of a network run from a parameter list: (index of the weight, index of the bias or -1) for a linear
#: layer, or the module itself for a parameter-free one (an activation)
Layer = tuple[int, int] | nn.Module


def _layers(modules: list[nn.Module], index: dict[int, int]) -> list[Layer] | None:
    """`modules` (applied in order) as layers over the parameter list that `index` (id of a parameter -> its
    position) describes; None when one has hooks, buffers or parameters other than a linear layer's."""
    layers: list[Layer] = []
    for module in modules:
        if has_hooks(module):
            return None
        if isinstance(module, nn.Linear):
            if id(module.weight) not in index or (module.bias is not None and id(module.bias) not in index):
                return None
            layers.append((index[id(module.weight)], -1 if module.bias is None else index[id(module.bias)]))
        elif isinstance(module, nn.Sequential):
            inner = _layers(list(module), index)
            if inner is None:
                return None
            layers.extend(inner)
        elif any(True for _ in module.parameters()) or any(True for _ in module.buffers()):
            return None
        else:
            layers.append(module)
    return layers


def _run(layers: list[Layer], params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    for layer in layers:
        if isinstance(layer, tuple):
            weight, bias = layer
            x = F.linear(x, params[weight], None if bias < 0 else params[bias])
        else:
            x = layer(x)
    return x


def _views(flat: torch.Tensor, shapes: list[tuple[int, torch.Size]]) -> list[torch.Tensor]:
    return [flat[offset : offset + math.prod(shape)].view(shape) for offset, shape in shapes]


def _layout(flat: FlatParameters) -> list[tuple[int, torch.Size]]:
    return [(flat.offsets[id(p)], p.shape) for p in flat.params]


def _adam_(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    lr: torch.Tensor,
    hyper: tuple[float, float, float, float, bool],
) -> None:
    """Adam (AdamW when decoupled) in place, as torch's fused kernel computes it."""
    exp_avg, exp_avg_sq, step = state
    beta1, beta2, eps, weight_decay, decoupled = hyper
    step.add_(1)
    if weight_decay != 0:
        if decoupled:
            param.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(param, alpha=weight_decay)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    bias_correction1 = 1 - torch.pow(beta1, step)
    bias_correction2_sqrt = (1 - torch.pow(beta2, step)).sqrt()
    param.sub_(lr / bias_correction1 * exp_avg / (exp_avg_sq.sqrt() / bias_correction2_sqrt + eps))


class _Optimized:
    """A flat parameter tensor with its Adam optimizer: what the compiled step reads and updates in place."""

    def __init__(self, flat: FlatParameters, optimizer: torch.optim.Optimizer) -> None:
        self.flat = flat
        self.optimizer = optimizer
        group = optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        decoupled = bool(group.get("decoupled_weight_decay", isinstance(optimizer, torch.optim.AdamW)))
        self.hyper = (float(beta1), float(beta2), float(group["eps"]), float(group["weight_decay"]), decoupled)

    def state(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """(exp_avg, exp_avg_sq, step), or None before the optimizer's first step created them."""
        state = self.optimizer.state.get(self.flat.flat)
        if not state:
            return None
        return state["exp_avg"], state["exp_avg_sq"], state["step"]

    def learning_rate(self) -> torch.Tensor:
        return torch.as_tensor(float(self.optimizer.param_groups[0]["lr"]), dtype=torch.float32)


def _adam_reason(name: str, optimizer: torch.optim.Optimizer, flat: FlatParameters) -> str | None:
    if type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW):
        return f"the {name} optimizer is {type(optimizer).__name__}, not Adam or AdamW"
    if not flat.contiguous or not direct_step_usable(optimizer):
        return f"the {name} optimizer has options, hooks or parameter groups the compiled step does not run"
    if optimizer.param_groups[0]["amsgrad"]:
        return f"the {name} optimizer uses amsgrad"
    return None


def sac_update_reason(model: Any) -> str | None:
    """Why `model` (a SAC) runs its eager gradient step although compiled updates are on; None when it compiles."""
    if not compiled_updates_enabled():
        return "compiled updates are off (BASELINES3_COMPILE=1 or fast.compiled.set_compiled_updates(True))"
    if model.device.type != "cpu":
        return f"the compiled step is built and tested on CPU only, this model is on {model.device}"
    if autocast_active():
        return 'precision="bf16" runs the eager step under autocast'
    if model.use_sde:
        return "gSDE (use_sde=True) is not compiled"
    if not isinstance(model.observation_space, spaces.Box) or not np.issubdtype(
        model.observation_space.dtype, np.floating
    ):
        return "observations are not a float Box"
    actor, critic, target = model.actor, model.critic, model.critic_target
    for name, network in (("actor", actor), ("critic", critic), ("target critic", target)):
        if type(network.features_extractor) is not FlattenExtractor or has_hooks(network.features_extractor):
            return f"the {name}'s features extractor is not a FlattenExtractor"
    if not isinstance(actor.action_dist, SquashedDiagGaussianDistribution):
        return "the actor's distribution is not the squashed Gaussian"
    reasons = [
        _adam_reason("actor", actor.optimizer, actor.flat_parameters),
        _adam_reason("critic", critic.optimizer, critic.flat_parameters),
    ]
    if model.ent_coef_optimizer is not None:
        reasons.append(_adam_reason("entropy coefficient", model.ent_coef_optimizer, model._ent_coef_flat))
    return next((reason for reason in reasons if reason is not None), None)


class CompiledSACUpdate:
    """One SAC gradient step (entropy coefficient, critics, actor, target critics) as one compiled program.

    Built once per policy (:func:`sac_update`); call it with a replay batch. Returns the step's statistics, the
    eager step's (actor loss, critic loss, entropy coefficient, entropy coefficient loss)."""

    def __init__(self, model: Any) -> None:
        actor, critic = model.actor, model.critic
        self.actor = _Optimized(actor.flat_parameters, actor.optimizer)
        self.critic = _Optimized(critic.flat_parameters, critic.optimizer)
        self.ent_coef = None
        if model.ent_coef_optimizer is not None:
            self.ent_coef = _Optimized(model._ent_coef_flat, model.ent_coef_optimizer)
        self.fixed_ent_coef = None if self.ent_coef is not None else model.ent_coef_tensor
        self.target_params = list(model.critic_target.parameters())
        actor_index = {id(p): i for i, p in enumerate(actor.flat_parameters.params)}
        critic_index = {id(p): i for i, p in enumerate(critic.flat_parameters.params)}
        target_index = {id(p): i for i, p in enumerate(self.target_params)}
        latent = _layers(list(actor.latent_pi), actor_index)
        mean = _layers([actor.mu], actor_index)
        log_std = _layers([actor.log_std], actor_index)
        q_networks = [_layers([q], critic_index) for q in critic.q_networks]
        target_networks = [_layers([q], target_index) for q in model.critic_target.q_networks]
        if None in (latent, mean, log_std, *q_networks, *target_networks) or len(critic_index) != len(target_index):
            raise ValueError("the actor or the critics are not plain linear layers and activations")
        self.key = self.hyperparameters(model)
        self.failed = False
        self.ran = False
        step = _sac_step_function(
            layouts=(_layout(actor.flat_parameters), _layout(critic.flat_parameters)),
            actor_layers=(latent, mean, log_std),  # type: ignore[arg-type]
            q_networks=q_networks,  # type: ignore[arg-type]
            target_networks=target_networks,  # type: ignore[arg-type]
            hyper=dict(
                gamma=float(model.config.gamma),
                tau=float(model.config.tau),
                target_entropy=float(model._target_entropy),
                actor=self.actor.hyper,
                critic=self.critic.hyper,
                ent_coef=None if self.ent_coef is None else self.ent_coef.hyper,
            ),
        )
        # a code object of its own: torch.compile keeps its programs per code object, and each model's step
        # is a different program (shapes, constants), so models would otherwise crowd one cache
        own_code = types.FunctionType(step.__code__.replace(), step.__globals__, step.__name__, None, step.__closure__)
        self.step = torch.compile(own_code, fullgraph=True, dynamic=False)
        self.verbose = model.verbose

    @staticmethod
    def hyperparameters(model: Any) -> tuple[Any, ...]:
        """What the compiled program holds as constants: a change means building it again."""
        groups = [model.actor.optimizer, model.critic.optimizer]
        if model.ent_coef_optimizer is not None:
            groups.append(model.ent_coef_optimizer)
        adam = tuple(
            (g.param_groups[0]["betas"], g.param_groups[0]["eps"], g.param_groups[0]["weight_decay"]) for g in groups
        )
        return (model.config.gamma, model.config.tau, model._target_entropy, adam, model.ent_coef_optimizer is None)

    def ready(self) -> bool:
        """False until each optimizer has taken its first (eager) step, which creates its state."""
        optimized = [self.actor, self.critic] + ([self.ent_coef] if self.ent_coef is not None else [])
        return all(o.state() is not None for o in optimized)

    def __call__(self, batch: Any, update_target: bool) -> torch.Tensor | None:
        """Run one step on `batch`; None (nothing changed) when compiling failed, so the caller steps eagerly."""
        optimized = [self.actor, self.critic] + ([self.ent_coef] if self.ent_coef is not None else [])
        states = [o.state() for o in optimized]
        ent = self.ent_coef.flat.flat if self.ent_coef is not None else self.fixed_ent_coef
        actions = batch.actions
        # the first call compiles, and may fail: the eager step that then runs must draw the same numbers
        rng_state = torch.get_rng_state() if not self.ran else None
        # the eager step draws the actor's noise for the batch's observations, then for the next ones
        noise = torch.randn((2, *actions.shape), dtype=actions.dtype, device=actions.device)
        arguments = (
            self.actor.flat.flat,
            self.critic.flat.flat,
            ent,
            self.target_params,
            states,
            [o.learning_rate() for o in optimized],
            batch.observations,
            actions,
            batch.next_observations,
            batch.rewards,
            batch.dones,
            batch.discounts,
            noise,
            update_target,
        )
        try:
            with torch.no_grad():
                stats: torch.Tensor = self.step(*arguments)
        except Exception as error:  # no compiler, an Inductor failure: fall back, say so once
            if rng_state is None:
                raise  # it compiled and ran before: this is not a compiler's failure
            torch.set_rng_state(rng_state)
            self.failed = True
            warnings.warn(
                f"compiling SAC's gradient step failed, SAC runs its eager step instead: {type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''}",
                RuntimeWarning,
                stacklevel=3,
            )
            return None
        self.ran = True
        count_direct_step(self.actor.flat, stats[0])
        count_direct_step(self.critic.flat, stats[1])
        if self.ent_coef is not None:
            count_direct_step(self.ent_coef.flat, stats[3])
        return stats


def _sac_step_function(
    layouts: tuple[list[tuple[int, torch.Size]], list[tuple[int, torch.Size]]],
    actor_layers: tuple[list[Layer], list[Layer], list[Layer]],
    q_networks: list[list[Layer]],
    target_networks: list[list[Layer]],
    hyper: dict[str, Any],
) -> Callable[..., torch.Tensor]:
    """The step as a function of tensors only, for torch.compile (everything else is a constant of the closure)."""
    actor_layout, critic_layout = layouts
    latent_layers, mean_layers, log_std_layers = actor_layers
    gamma, tau, target_entropy = hyper["gamma"], hyper["tau"], hyper["target_entropy"]
    log_std_min, log_std_max = -20.0, 2.0

    def act(actor_flat: torch.Tensor, observations: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, ...]:
        params = _views(actor_flat, actor_layout)
        latent = _run(latent_layers, params, observations.flatten(1).float())
        mean = _run(mean_layers, params, latent)
        log_std = _run(log_std_layers, params, latent).clamp(log_std_min, log_std_max)
        gaussian = mean + log_std.exp() * noise
        log_prob = (-0.5 * noise**2 - log_std - _HALF_LOG_2PI).sum(-1)
        return torch.tanh(gaussian), log_prob - _log_one_minus_tanh_squared(gaussian).sum(-1)

    def q_values(
        networks: list[list[Layer]], params: list[torch.Tensor], obs: torch.Tensor, actions: torch.Tensor
    ) -> torch.Tensor:
        x = torch.cat([obs.flatten(1).float(), actions], dim=1)
        return torch.stack([_run(layers, params, x) for layers in networks])

    def critic_loss(
        critic_flat: torch.Tensor, obs: torch.Tensor, actions: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        return losses.twin_critic_loss(q_values(q_networks, _views(critic_flat, critic_layout), obs, actions), targets)

    def actor_loss(
        actor_flat: torch.Tensor,
        critic_params: list[torch.Tensor],
        obs: torch.Tensor,
        noise: torch.Tensor,
        ent_coef: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        actions_pi, log_prob = act(actor_flat, obs, noise)
        loss = losses.sac_actor_loss(q_values(q_networks, critic_params, obs, actions_pi), log_prob, ent_coef)
        return loss, log_prob

    def step(
        actor_flat: torch.Tensor,
        critic_flat: torch.Tensor,
        ent: torch.Tensor,
        target_params: list[torch.Tensor],
        states: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
        learning_rates: list[torch.Tensor],
        observations: torch.Tensor,
        actions: torch.Tensor,
        next_observations: torch.Tensor,
        rewards: torch.Tensor,
        dones: torch.Tensor,
        discounts: torch.Tensor | None,
        noise: torch.Tensor,
        update_target: bool,
    ) -> torch.Tensor:
        learned = hyper["ent_coef"] is not None
        ent_coef = ent.exp() if learned else ent  # the value before this step's update, as in the eager step
        # targets: r + gamma * (min_i Q_target_i(s', a') - alpha log pi(a'|s'))
        next_actions, next_log_prob = act(actor_flat, next_observations, noise[1])
        next_q = q_values(target_networks, target_params, next_observations, next_actions)
        next_values = losses.sac_next_values(next_q, next_log_prob, ent_coef)
        targets = losses.td_target(rewards, dones, next_values, gamma, discounts)
        # critics
        critic_grad, loss_critic = torch.func.grad_and_value(critic_loss)(critic_flat, observations, actions, targets)
        _adam_(critic_flat, critic_grad, states[1], learning_rates[1], hyper["critic"])
        # actor, through the updated critics (constants here: no gradient reaches them)
        actor_grad, (loss_actor, log_prob) = torch.func.grad_and_value(actor_loss, has_aux=True)(
            actor_flat, _views(critic_flat, critic_layout), observations, noise[0], ent_coef
        )
        _adam_(actor_flat, actor_grad, states[0], learning_rates[0], hyper["actor"])
        # entropy coefficient (independent of the two updates above, which read its value from before)
        if learned:
            ent_grad, loss_ent = torch.func.grad_and_value(losses.sac_entropy_coef_loss)(ent, log_prob, target_entropy)
            _adam_(ent, ent_grad, states[2], learning_rates[2], hyper["ent_coef"])
        else:
            loss_ent = torch.zeros((), dtype=loss_actor.dtype, device=loss_actor.device)
        if update_target:
            for target, source in zip(target_params, _views(critic_flat, critic_layout)):
                target.lerp_(source, tau)
        return torch.stack([loss_actor, loss_critic, ent_coef.reshape(()), loss_ent])

    return step


#: policy -> its compiled step (None: not compiled). Weak keys: a step lives as long as its policy.
_STEPS: weakref.WeakKeyDictionary[nn.Module, CompiledSACUpdate | None] = weakref.WeakKeyDictionary()


def sac_update(model: Any) -> CompiledSACUpdate | None:
    """The compiled gradient step of the SAC `model`, ready to run; None: run the eager step (compiled updates
    off, a model it does not handle, optimizers before their first step, or compiling failed)."""
    if sac_update_reason(model) is not None:
        return None
    update = _STEPS.get(model.policy)
    if update is None and model.policy in _STEPS:
        return None
    if update is not None and (update.failed or update.key != CompiledSACUpdate.hyperparameters(model)):
        if update.failed:
            return None
        update = None
    if update is None:
        try:
            update = CompiledSACUpdate(model)
        except ValueError:
            _STEPS[model.policy] = None
            return None
        if model.verbose >= 1:
            print("Compiling SAC's gradient step (torch.compile): the first update takes a while")
        _STEPS[model.policy] = update
    return update if update.ready() else None

"""SAC's and TD3's (and DDPG's) whole gradient step as one compiled program (``torch.compile``, Inductor),
automatic for long runs.

An eager SAC step is a few hundred torch calls (products, element-wise operations, three optimizer steps, the
Polyak update), each paying its own dispatch and leaving its result in memory for the next. Compiled, the
step's element-wise work is fused into a few generated kernels around the matrix products, and those kernels
use every thread torch has, where the eager step's small operations do not gain from a second one. HalfCheetah
shapes ([256, 256] networks, batch 256) on the 2-core AMD EPYC (Zen 4), SAC's whole training loop, eager and
compiled taking turns in one process: one thread 103.8 against 122.5 steps/s, two threads 144.8 against 180.5;
TD3 ([400, 300]) 89.7 against 93.9 and 100.3 against 113.6 (docs/speed.md, "SAC and TD3, the whole learn loop
taking turns in one process" and "A compiled gradient step").

Compiling costs time up front (about 30-70 s the first time in a fresh environment on one core, 5-15 s once
Inductor's cache holds the program) and needs a C++ compiler, so by default (``BASELINES3_COMPILE`` unset or
``auto``) a model compiles its step only for a ``learn()`` call of at least `AUTO_MIN_TIMESTEPS` steps, where the
saving (1.1-1.4x faster steps, about 1.5-2 ms each at HalfCheetah shapes) repays the compiling many times over,
and only where a C++ compiler is found. ``BASELINES3_COMPILE=1`` (or :func:`set_compiled_updates` with True)
compiles every run, ``BASELINES3_COMPILE=0`` (False) none. The seam's switch (``BASELINES3_FAST=0``) turns it off
with everything else. Where the step is not of the shape compiled here (:func:`update_reason` says why), or
compiling fails, the algorithm runs its eager step.

The compiled step computes what the eager step computes, from the same losses (:mod:`baselines3.common.losses`),
the same order of updates and the same random numbers, and agrees with it to float32 round-off (tested): Adam is
written out as the fused kernel computes it; the critics and the actor run as plain linear layers and activations.
With ``precision="bf16"`` the program holds bfloat16 autocast as the eager step runs under it (products in
bfloat16, the output layers, losses, Adam and the targets in float32) and agrees with the eager bfloat16 step to
bfloat16 round-off (tested); the products then run at bfloat16's rate, and the SAC step at one thread takes about
4.9 ms against 7.2 eager (HalfCheetah shapes, docs/speed.md).
"""

from __future__ import annotations

import functools
import math
import os
import time
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
from baselines3.common.distributions import (
    LOG_STD_MAX,
    LOG_STD_MIN,
    SquashedDiagGaussianDistribution,
    _log_one_minus_tanh_squared,
)
from baselines3.common.fast import switch
from baselines3.common.fast.optim import FlatParameters, count_direct_step, direct_step_usable
from baselines3.common.fast.precision import autocast_active
from baselines3.common.torch_layers import FlattenExtractor, Float32Linear, float32_linear, has_hooks

__all__ = [
    "AUTO_MIN_TIMESTEPS",
    "compile_seconds",
    "compiled_updates_enabled",
    "compiled_updates_setting",
    "sac_update",
    "set_compiled_updates",
    "td3_update",
    "update_reason",
]

#: a learn() call of at least this many steps compiles the step when the setting is automatic (the default)
AUTO_MIN_TIMESTEPS = 100_000
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_SETTINGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _parse_setting(text: str) -> bool | None:
    """``BASELINES3_COMPILE``'s value: True (always), False (never) or None (automatic: empty or "auto")."""
    value = text.strip().lower()
    if value in ("", "auto"):
        return None
    if value not in _SETTINGS:
        raise ValueError(f"BASELINES3_COMPILE must be 1, 0 or auto (or true/false, yes/no, on/off), got {text!r}")
    return _SETTINGS[value]


_SETTING = _parse_setting(os.environ.get("BASELINES3_COMPILE", "auto"))


def set_compiled_updates(value: bool | None) -> None:
    """Compile SAC's and TD3's gradient steps always (True), never (False), or for ``learn()`` calls of at least
    `AUTO_MIN_TIMESTEPS` steps where a C++ compiler is found (None, the default), from the next update on."""
    global _SETTING
    _SETTING = None if value is None else bool(value)


def compiled_updates_setting() -> bool | None:
    """The setting: True (always), False (never) or None (automatic)."""
    return _SETTING


def compiled_updates_enabled() -> bool:
    """Whether updates may be compiled: not switched off (``BASELINES3_COMPILE=0`` or
    :func:`set_compiled_updates` with False) and the seam on."""
    return _SETTING is not False and switch.enabled()


@functools.cache
def _compiler_found() -> bool:
    """Whether torch.compile finds a C++ compiler (looked up once)."""
    try:
        from torch._inductor import cpp_builder

        cpp_builder.get_cpp_compiler()
    except Exception:  # Inductor raises its own error type when no compiler answers
        return False
    return True


def _auto_reason(model: Any) -> str | None:
    """Why the automatic setting keeps `model`'s step eager; None when it compiles it."""
    return auto_reason(model._total_timesteps - model._num_timesteps_at_start)  # this learn() call's steps


def auto_reason(steps: int) -> str | None:
    """Why the automatic setting keeps the step of a ``learn()`` call of `steps` steps eager; None when it
    compiles it (a call of at least `AUTO_MIN_TIMESTEPS` steps, a C++ compiler found)."""
    if steps < AUTO_MIN_TIMESTEPS:
        return (
            f"a learn() call of {steps:,} steps is too short for compiling to pay off (compiled automatically from "
            f"{AUTO_MIN_TIMESTEPS:,} steps; BASELINES3_COMPILE=1 compiles every run)"
        )
    if not _compiler_found():
        return "no C++ compiler was found, which torch.compile needs on CPU (install g++ or set CXX)"
    return None


_ACTIVATIONS: dict[type[nn.Module], Callable[[torch.Tensor], torch.Tensor]] = {
    nn.ReLU: F.relu,
    nn.Tanh: torch.tanh,
    nn.Sigmoid: torch.sigmoid,
    nn.SiLU: F.silu,
}

#: a layer of a network run from a parameter list: (index of the weight, index of the bias or -1, whether it
#: computes in float32 under autocast: a `Float32Linear`) for a linear layer, or a parameter-free function or
#: module (an activation)
Layer = tuple[int, int, bool] | Callable[[torch.Tensor], torch.Tensor]


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
            bias = -1 if module.bias is None else index[id(module.bias)]
            layers.append((index[id(module.weight)], bias, isinstance(module, Float32Linear)))
        elif isinstance(module, nn.Sequential):
            inner = _layers(list(module), index)
            if inner is None:
                return None
            layers.extend(inner)
        elif any(True for _ in module.parameters()) or any(True for _ in module.buffers()):
            return None
        else:  # a plain function where there is one: torch.compile guards on a module's attributes at every call
            layers.append(_ACTIVATIONS.get(type(module), module))
    return layers


#: an output layer with at most this many outputs runs as a multiply-and-sum (see `_thin_linear`)
_THIN_OUTPUTS = 8


def _thin_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """`F.linear` in float32 for a layer of a few outputs (a Q-value, an action's means), as a broadcast multiply
    and a sum. As a matrix product each such layer cost a library call of 25-35 us (forward, and each of its two
    gradients) for well under 1 MFLOP; as element-wise work, the compiler fuses it and its gradients into the
    kernels around it (SAC's HalfCheetah step, with and without, alternating in one process: bfloat16 1.00-1.11x
    faster at one thread and 1.18-1.20x at two, float32 1.03x and 1.05x; TD3's in bfloat16 1.04x at one)."""
    with torch.autocast(x.device.type, enabled=False):
        y = (x.float().unsqueeze(-2) * weight).sum(-1)
        return y if bias is None else y + bias


def _run(layers: list[Layer], params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    for layer in layers:
        if isinstance(layer, tuple):
            weight, bias, in_float32 = layer
            arguments = (x, params[weight], None if bias < 0 else params[bias])
            if in_float32 and params[weight].shape[0] <= _THIN_OUTPUTS:
                x = _thin_linear(*arguments)
            else:
                x = float32_linear(*arguments) if in_float32 else F.linear(*arguments)
        else:
            x = layer(x)
    return x


def _views(flat: torch.Tensor, shapes: list[tuple[int, torch.Size]]) -> list[torch.Tensor]:
    return [flat[offset : offset + math.prod(shape)].view(shape) for offset, shape in shapes]


def _layout(flat: FlatParameters) -> list[tuple[int, torch.Size]]:
    """(offset, shape) of each parameter in the flat tensor, in order; they tile it end to end, so the
    parameters' gradients concatenated in this order are the flat tensor's gradient."""
    layout = [(flat.offsets[id(p)], p.shape) for p in flat.params]
    ends = [offset + math.prod(shape) for offset, shape in layout]
    if [offset for offset, _ in layout] != [0, *ends[:-1]] or ends[-1] != flat.flat.numel():
        raise ValueError("the flat parameter tensor's parameters do not tile it in order")
    return layout


def _flat_grad_and_value(
    loss: Callable[..., Any],
    flat: torch.Tensor,
    layout: list[tuple[int, torch.Size]],
    *args: Any,
    has_aux: bool = False,
) -> tuple[torch.Tensor, Any]:
    """(gradient of `loss(params, *args)` with respect to the parameters viewed in `flat`, as one flat tensor;
    its value). Differentiating with respect to the views and concatenating their gradients is what keeps this
    fast: differentiating through `flat` itself makes the compiler sum one zero-padded slice per parameter,
    element by element (about 1 ms of a SAC step on one core, where the concatenation is a copy)."""
    grads, value = torch.func.grad_and_value(loss, has_aux=has_aux)(_views(flat, layout), *args)
    return torch.cat([grad.reshape(-1) for grad in grads]), value


def _adam_(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    scalars: torch.Tensor,
    hyper: tuple[float, float, float, float, bool],
) -> None:
    """Adam (AdamW when decoupled) in place, as torch's fused kernel computes it. `scalars`: (lr, lr /
    bias_correction1, sqrt(bias_correction2)) of this step, from `_Optimized.step_scalars`."""
    exp_avg, exp_avg_sq, step = state
    beta1, beta2, eps, weight_decay, decoupled = hyper
    lr, step_size, bias_correction2_sqrt = scalars[0], scalars[1], scalars[2]
    step.add_(1)
    if weight_decay != 0:
        if decoupled:
            param.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(param, alpha=weight_decay)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    param.sub_(step_size * exp_avg / (exp_avg_sq.sqrt() / bias_correction2_sqrt + eps))


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

    def step_scalars(self, state: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        """(lr, lr / bias_correction1, sqrt(bias_correction2)) of the optimizer's coming step (`state`: its
        `state()`), worked out here in double precision as torch's fused Adam does. Worked out inside the program
        they were recomputed in its element loop, two `pow` per vector of 16 floats (about 0.5 ms of a SAC step)."""
        assert state is not None, "the optimizer has not taken its first step"
        group = self.optimizer.param_groups[0]
        lr, (beta1, beta2), step = float(group["lr"]), group["betas"], float(state[2]) + 1
        return torch.tensor([lr, lr / (1 - beta1**step), math.sqrt(1 - beta2**step)], dtype=torch.float32)


def _adam_reason(name: str, optimizer: torch.optim.Optimizer, flat: FlatParameters) -> str | None:
    if type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW):
        return f"the {name} optimizer is {type(optimizer).__name__}, not Adam or AdamW"
    if not flat.contiguous or not direct_step_usable(optimizer):
        return f"the {name} optimizer has options, hooks or parameter groups the compiled step does not run"
    if optimizer.param_groups[0]["amsgrad"]:
        return f"the {name} optimizer uses amsgrad"
    return None


def _is_sac(model: Any) -> bool:
    return hasattr(model, "ent_coef_optimizer")


def update_reason(model: Any) -> str | None:
    """Why `model` (a SAC, TD3 or DDPG) runs its eager gradient step; None when its step is compiled."""
    if not compiled_updates_enabled():
        return "compiled updates are off (BASELINES3_COMPILE=0, set_compiled_updates(False) or BASELINES3_FAST=0)"
    if model.device.type != "cpu":
        return f"the compiled step is built and tested on CPU only, this model is on {model.device}"
    if _SETTING is None:
        reason = _auto_reason(model)
        if reason is not None:
            return reason
    if autocast_active() != (model.precision == "bf16"):  # the program's precision is the model's
        if model.precision == "bf16":
            return 'a precision="bf16" update outside its autocast region (learn() enters it) runs eagerly'
        return "an autocast region is active around the update of a model whose precision is float32"
    if getattr(model, "use_sde", False):
        return "gSDE (use_sde=True) is not compiled"
    space = model.observation_space
    if not isinstance(space, spaces.Box) or not np.issubdtype(space.dtype, np.floating):
        return "observations are not a float Box"
    networks = [("actor", model.actor), ("critic", model.critic), ("target critic", model.critic_target)]
    if not _is_sac(model):
        networks.append(("target actor", model.actor_target))
    for name, network in networks:
        if type(network.features_extractor) is not FlattenExtractor or has_hooks(network.features_extractor):
            return f"the {name}'s features extractor is not a FlattenExtractor"
    if _is_sac(model) and not isinstance(model.actor.action_dist, SquashedDiagGaussianDistribution):
        return "the actor's distribution is not the squashed Gaussian"
    reasons = [
        _adam_reason("actor", model.actor.optimizer, model.actor.flat_parameters),
        _adam_reason("critic", model.critic.optimizer, model.critic.flat_parameters),
    ]
    if _is_sac(model) and model.ent_coef_optimizer is not None:
        reasons.append(_adam_reason("entropy coefficient", model.ent_coef_optimizer, model._ent_coef_flat))
    return next((reason for reason in reasons if reason is not None), None)


def _network_layers(modules: list[nn.Module], params: list[torch.Tensor]) -> list[Layer]:
    layers = _layers(modules, {id(p): i for i, p in enumerate(params)})
    if layers is None:
        raise ValueError("a network is not plain linear layers and activations")
    return layers


def _under_bf16_autocast(step: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """`step` with its products in bfloat16 (``precision="bf16"``), as the eager step runs under
    :func:`baselines3.common.fast.precision.update_context`: the region is part of the program, which then holds
    autocast's casts, and does not depend on the caller's."""

    def step_in_bf16(*arguments: Any) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, cache_enabled=False):
            return step(*arguments)

    return step_in_bf16


def _argument_guards_only(entries: list[Any]) -> list[bool]:
    """Keep torch.compile's checks on the step's arguments (tensors' shapes and dtypes, the update flags) and drop
    those on globals and on the step's closure (its networks' layers and constants): the closure is built once per
    program and never changes, and checking its ~900 entries took about 0.25 ms per step."""
    return [not entry.is_global and "__closure__" not in entry.name for entry in entries]


class CompiledUpdate:
    """One gradient step of an algorithm as one compiled program, run on replay batches.

    Subclasses say what the program is (`_step_function`) and what it is given (`_arguments`); this class keeps
    the program per model, falls back to the eager step when compiling fails, and books each optimizer's step."""

    def __init__(self, model: Any, optimized: list[_Optimized], step: Callable[..., torch.Tensor]) -> None:
        self.optimized = optimized
        self.key = self.hyperparameters(model)
        self.failed = False  # compiling failed: the model runs its eager step from then on
        self.ran = False
        #: seconds the first call took (compiling, then one step): what compiling cost this program
        self.first_call_seconds: float | None = None
        if model.precision == "bf16":
            step = _under_bf16_autocast(step)
        # a code object of its own: torch.compile keeps its programs per code object, and each model's step is a
        # different program (shapes, constants), so models would otherwise crowd one cache
        own_code = types.FunctionType(step.__code__.replace(), step.__globals__, step.__name__, None, step.__closure__)
        self.step = torch.compile(
            own_code, fullgraph=True, dynamic=False, options={"guard_filter_fn": _argument_guards_only}
        )

    @staticmethod
    def hyperparameters(model: Any) -> tuple[Any, ...]:
        """What the compiled program holds as constants: a change means building it again."""
        config = model.config
        optimizers = [model.actor.optimizer, model.critic.optimizer]
        if _is_sac(model):
            algorithm: tuple[Any, ...] = (model._target_entropy, model.ent_coef_optimizer is None)
            if model.ent_coef_optimizer is not None:
                optimizers.append(model.ent_coef_optimizer)
        else:
            algorithm = (config.target_policy_noise, config.target_noise_clip)
        groups = [optimizer.param_groups[0] for optimizer in optimizers]
        adam = tuple((group["betas"], group["eps"], group["weight_decay"]) for group in groups)
        return (type(model), model.precision, config.gamma, config.tau, *algorithm, adam)

    def ready(self) -> bool:
        """False until each optimizer has taken its first (eager) step, which creates its state."""
        return all(optimized.state() is not None for optimized in self.optimized)

    def _run(
        self,
        parameters: tuple[Any, ...],
        batch: Any,
        noise: torch.Tensor | None,
        flag: bool,
        rng_state: torch.Tensor | None,
        losses_of: list[int],
    ) -> torch.Tensor | None:
        """The program's statistics for one step on `batch`, or None (nothing changed, the generator back at
        `rng_state`) when compiling failed. `parameters`: the program's leading arguments (the networks'
        parameters); `flag`: its update switch; `losses_of`: the statistic that is each optimizer's loss, or -1
        where it took no step."""
        states = [optimized.state() for optimized in self.optimized]
        arguments = (
            *parameters,
            states,
            [optimized.step_scalars(state) for optimized, state in zip(self.optimized, states)],
            batch.observations,
            batch.actions,
            batch.next_observations,
            batch.rewards,
            batch.dones,
            batch.discounts,
            noise,
            flag,
        )
        start = time.perf_counter()
        try:
            with torch.no_grad():
                stats: torch.Tensor = self.step(*arguments)
        except Exception as error:  # no compiler, an Inductor failure: fall back, say so once
            if self.ran:
                raise  # it compiled and ran before: this is not a compiler's failure
            self.failed = True
            warnings.warn(
                f"compiling the gradient step failed, the eager step runs instead: {type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''}",
                RuntimeWarning,
                stacklevel=4,
            )
            if rng_state is not None:
                torch.set_rng_state(rng_state)
            return None
        if not self.ran:
            self.first_call_seconds = time.perf_counter() - start
        self.ran = True
        for optimized, index in zip(self.optimized, losses_of):
            if index >= 0:
                count_direct_step(optimized.flat, stats[index])
        return stats

    def _draw(self, shape: tuple[int, ...], like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Standard normal numbers of `shape`, and (before the first successful run) the generator's state before
        they were drawn, so a failed compilation leaves the eager step the same numbers."""
        state = None if self.ran else torch.get_rng_state()
        return torch.randn(shape, dtype=like.dtype, device=like.device), state


class CompiledSACUpdate(CompiledUpdate):
    """One SAC gradient step (critics, actor, entropy coefficient, target critics) as one compiled program.
    Returns the eager step's statistics: (actor loss, critic loss, entropy coefficient, its loss)."""

    def __init__(self, model: Any) -> None:
        actor, critic = model.actor, model.critic
        self.actor = _Optimized(actor.flat_parameters, actor.optimizer)
        self.critic = _Optimized(critic.flat_parameters, critic.optimizer)
        self.ent_coef = None
        if model.ent_coef_optimizer is not None:
            self.ent_coef = _Optimized(model._ent_coef_flat, model.ent_coef_optimizer)
        self.fixed_ent_coef = None if self.ent_coef is not None else model.ent_coef_tensor
        self.target_params = list(model.critic_target.parameters())
        actor_params, critic_params = actor.flat_parameters.params, critic.flat_parameters.params
        step = _sac_step_function(
            layouts=(_layout(actor.flat_parameters), _layout(critic.flat_parameters)),
            actor_layers=(
                _network_layers(list(actor.latent_pi), actor_params),
                _network_layers([actor.mu], actor_params),
                _network_layers([actor.log_std], actor_params),
            ),
            q_networks=[_network_layers([q], critic_params) for q in critic.q_networks],
            target_networks=[_network_layers([q], self.target_params) for q in model.critic_target.q_networks],
            hyper=dict(
                gamma=float(model.config.gamma),
                tau=float(model.config.tau),
                target_entropy=float(model._target_entropy),
                actor=self.actor.hyper,
                critic=self.critic.hyper,
                ent_coef=None if self.ent_coef is None else self.ent_coef.hyper,
            ),
        )
        optimized = [self.actor, self.critic] + ([self.ent_coef] if self.ent_coef is not None else [])
        super().__init__(model, optimized, step)

    def __call__(self, batch: Any, update_target: bool) -> torch.Tensor | None:
        """Run one step on `batch`; None (nothing changed) when compiling failed, so the caller steps eagerly."""
        ent = self.ent_coef.flat.flat if self.ent_coef is not None else self.fixed_ent_coef
        # the eager step draws the actor's noise for the batch's observations, then for the next ones
        noise, rng_state = self._draw((2, *batch.actions.shape), batch.actions)
        parameters = (self.actor.flat.flat, self.critic.flat.flat, ent, self.target_params)
        return self._run(parameters, batch, noise, update_target, rng_state, losses_of=[0, 1, 3])


class CompiledTD3Update(CompiledUpdate):
    """One TD3 (or DDPG) gradient step (critics; on its turn the actor and the target networks) as one compiled
    program. Returns (critic loss, actor loss), the actor's loss 0 when it was not its turn."""

    def __init__(self, model: Any) -> None:
        actor, critic = model.actor, model.critic
        self.actor = _Optimized(actor.flat_parameters, actor.optimizer)
        self.critic = _Optimized(critic.flat_parameters, critic.optimizer)
        self.actor_target_params = list(model.actor_target.parameters())
        self.critic_target_params = list(model.critic_target.parameters())
        config = model.config
        self.smoothing = config.target_policy_noise > 0 and config.target_noise_clip > 0  # off in DDPG
        actor_params, critic_params = actor.flat_parameters.params, critic.flat_parameters.params
        step = _td3_step_function(
            layouts=(_layout(actor.flat_parameters), _layout(critic.flat_parameters)),
            actor_layers=_network_layers(list(actor.mu), actor_params),
            actor_target_layers=_network_layers(list(model.actor_target.mu), self.actor_target_params),
            q_networks=[_network_layers([q], critic_params) for q in critic.q_networks],
            target_networks=[_network_layers([q], self.critic_target_params) for q in model.critic_target.q_networks],
            hyper=dict(
                gamma=float(config.gamma),
                tau=float(config.tau),
                noise=(float(config.target_policy_noise), float(config.target_noise_clip)) if self.smoothing else None,
                actor=self.actor.hyper,
                critic=self.critic.hyper,
            ),
        )
        super().__init__(model, [self.actor, self.critic], step)

    def __call__(self, batch: Any, update_actor: bool) -> torch.Tensor | None:
        """Run one step on `batch` (the actor's and the targets' update too when `update_actor`); None (nothing
        changed) when compiling failed, so the caller steps eagerly."""
        noise, rng_state = self._draw(batch.actions.shape, batch.actions) if self.smoothing else (None, None)
        parameters = (self.actor.flat.flat, self.critic.flat.flat, self.actor_target_params, self.critic_target_params)
        return self._run(parameters, batch, noise, update_actor, rng_state, losses_of=[1 if update_actor else -1, 0])


def _critic_functions(
    critic_layout: list[tuple[int, torch.Size]], q_networks: list[list[Layer]], loss_scale: float
) -> tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]:
    """(q_values(networks, params, obs, actions) -> (n, batch, 1), critic_loss(critic_params, obs, actions, targets))"""

    def q_values(
        networks: list[list[Layer]], params: list[torch.Tensor], obs: torch.Tensor, actions: torch.Tensor
    ) -> torch.Tensor:
        x = torch.cat([obs.flatten(1).float(), actions], dim=1)
        return torch.stack([_run(layers, params, x) for layers in networks])

    def critic_loss(
        critic_params: list[torch.Tensor], obs: torch.Tensor, actions: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        current = q_values(q_networks, critic_params, obs, actions)
        return loss_scale * losses.twin_critic_loss(current, targets)

    return q_values, critic_loss


def _sac_step_function(
    layouts: tuple[list[tuple[int, torch.Size]], list[tuple[int, torch.Size]]],
    actor_layers: tuple[list[Layer], list[Layer], list[Layer]],
    q_networks: list[list[Layer]],
    target_networks: list[list[Layer]],
    hyper: dict[str, Any],
) -> Callable[..., torch.Tensor]:
    """SAC's step as a function of tensors only, for torch.compile (the rest are constants of the closure)."""
    actor_layout, critic_layout = layouts
    latent_layers, mean_layers, log_std_layers = actor_layers
    gamma, tau, target_entropy = hyper["gamma"], hyper["tau"], hyper["target_entropy"]
    q_values, critic_loss = _critic_functions(critic_layout, q_networks, loss_scale=1.0)

    def act(params: list[torch.Tensor], observations: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, ...]:
        latent = _run(latent_layers, params, observations.flatten(1).float())
        mean = _run(mean_layers, params, latent)
        log_std = _run(log_std_layers, params, latent).clamp(LOG_STD_MIN, LOG_STD_MAX)
        gaussian = mean + log_std.exp() * noise
        log_prob = (-0.5 * noise**2 - log_std - _HALF_LOG_2PI).sum(-1)
        return torch.tanh(gaussian), log_prob - _log_one_minus_tanh_squared(gaussian).sum(-1)

    def actor_loss(
        actor_params: list[torch.Tensor],
        critic_params: list[torch.Tensor],
        obs: torch.Tensor,
        noise: torch.Tensor,
        ent_coef: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        actions_pi, log_prob = act(actor_params, obs, noise)
        loss = losses.sac_actor_loss(q_values(q_networks, critic_params, obs, actions_pi), log_prob, ent_coef)
        return loss, log_prob

    def step(
        actor_flat: torch.Tensor,
        critic_flat: torch.Tensor,
        ent: torch.Tensor,
        target_params: list[torch.Tensor],
        states: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
        adam_scalars: list[torch.Tensor],
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
        next_actions, next_log_prob = act(_views(actor_flat, actor_layout), next_observations, noise[1])
        next_q = q_values(target_networks, target_params, next_observations, next_actions)
        next_values = losses.sac_next_values(next_q, next_log_prob, ent_coef)
        targets = losses.td_target(rewards, dones, next_values, gamma, discounts)
        # critics
        critic_grad, loss_critic = _flat_grad_and_value(
            critic_loss, critic_flat, critic_layout, observations, actions, targets
        )
        _adam_(critic_flat, critic_grad, states[1], adam_scalars[1], hyper["critic"])
        # actor, through the updated critics (constants here: no gradient reaches them)
        actor_grad, (loss_actor, log_prob) = _flat_grad_and_value(
            actor_loss,
            actor_flat,
            actor_layout,
            _views(critic_flat, critic_layout),
            observations,
            noise[0],
            ent_coef,
            has_aux=True,
        )
        _adam_(actor_flat, actor_grad, states[0], adam_scalars[0], hyper["actor"])
        # entropy coefficient (independent of the two updates above, which read its value from before)
        if learned:
            ent_grad, loss_ent = torch.func.grad_and_value(losses.sac_entropy_coef_loss)(ent, log_prob, target_entropy)
            _adam_(ent, ent_grad, states[2], adam_scalars[2], hyper["ent_coef"])
        else:
            loss_ent = torch.zeros((), dtype=loss_actor.dtype, device=loss_actor.device)
        if update_target:
            for target, source in zip(target_params, _views(critic_flat, critic_layout)):
                target.lerp_(source, tau)
        return torch.stack([loss_actor, loss_critic, ent_coef.reshape(()), loss_ent])

    return step


def _td3_step_function(
    layouts: tuple[list[tuple[int, torch.Size]], list[tuple[int, torch.Size]]],
    actor_layers: list[Layer],
    actor_target_layers: list[Layer],
    q_networks: list[list[Layer]],
    target_networks: list[list[Layer]],
    hyper: dict[str, Any],
) -> Callable[..., torch.Tensor]:
    """TD3's (DDPG's) step as a function of tensors only, for torch.compile."""
    actor_layout, critic_layout = layouts
    gamma, tau = hyper["gamma"], hyper["tau"]
    # sum_i MSE(Q_i(s, a), target), SB3's TD3 loss: twice the 0.5-scaled loss
    q_values, critic_loss = _critic_functions(critic_layout, q_networks, loss_scale=2.0)

    def actor_loss(
        actor_params: list[torch.Tensor], critic_params: list[torch.Tensor], obs: torch.Tensor
    ) -> torch.Tensor:
        actions_pi = _run(actor_layers, actor_params, obs.flatten(1).float())
        return losses.td3_actor_loss(q_values(q_networks[:1], critic_params, obs, actions_pi)[0])

    def step(
        actor_flat: torch.Tensor,
        critic_flat: torch.Tensor,
        actor_target_params: list[torch.Tensor],
        critic_target_params: list[torch.Tensor],
        states: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
        adam_scalars: list[torch.Tensor],
        observations: torch.Tensor,
        actions: torch.Tensor,
        next_observations: torch.Tensor,
        rewards: torch.Tensor,
        dones: torch.Tensor,
        discounts: torch.Tensor | None,
        noise: torch.Tensor | None,
        update_actor: bool,
    ) -> torch.Tensor:
        # targets: r + gamma * min_i Q_target_i(s', smoothed mu_target(s'))
        next_actions = _run(actor_target_layers, actor_target_params, next_observations.flatten(1).float())
        if hyper["noise"] is not None:
            noise_std, noise_clip = hyper["noise"]
            next_actions = losses.smoothed_target_actions(next_actions, noise_std, noise_clip, noise=noise)
        next_q = q_values(target_networks, critic_target_params, next_observations, next_actions)
        targets = losses.td_target(rewards, dones, next_q.min(dim=0).values, gamma, discounts)
        critic_grad, loss_critic = _flat_grad_and_value(
            critic_loss, critic_flat, critic_layout, observations, actions, targets
        )
        _adam_(critic_flat, critic_grad, states[1], adam_scalars[1], hyper["critic"])
        if not update_actor:
            return torch.stack([loss_critic, torch.zeros_like(loss_critic)])
        # delayed: the actor along the first (updated) critic's gradient, then the target networks
        actor_grad, loss_actor = _flat_grad_and_value(
            actor_loss, actor_flat, actor_layout, _views(critic_flat, critic_layout), observations
        )
        _adam_(actor_flat, actor_grad, states[0], adam_scalars[0], hyper["actor"])
        for target, source in zip(critic_target_params, _views(critic_flat, critic_layout)):
            target.lerp_(source, tau)
        for target, source in zip(actor_target_params, _views(actor_flat, actor_layout)):
            target.lerp_(source, tau)
        return torch.stack([loss_critic, loss_actor])

    return step


#: policy -> its compiled step (None: not compiled). Weak keys: a step lives as long as its policy.
_STEPS: weakref.WeakKeyDictionary[nn.Module, CompiledUpdate | None] = weakref.WeakKeyDictionary()


def _update(model: Any, build: type[CompiledUpdate]) -> Any:
    if update_reason(model) is not None:
        return None
    update = _STEPS.get(model.policy)
    if update is None and model.policy in _STEPS:
        return None  # its networks are not of the shape compiled here
    if update is not None and update.failed:
        return None
    if update is None or update.key != CompiledUpdate.hyperparameters(model):
        try:
            update = build(model)  # type: ignore[call-arg]
        except ValueError:
            _STEPS[model.policy] = None
            return None
        if model.verbose >= 1:
            why = " (automatic for long runs; BASELINES3_COMPILE=0 turns it off)" if _SETTING is None else ""
            print(
                f"Compiling {type(model).__name__}'s gradient step (torch.compile){why}: the first update takes a while"
            )
        _STEPS[model.policy] = update
    return update if update.ready() else None


def compile_seconds(model: Any) -> float | None:
    """Seconds the first call of `model`'s compiled step took (compiling it, then one step); None when none ran."""
    update = _STEPS.get(model.policy)
    return None if update is None else update.first_call_seconds


def sac_update(model: Any) -> CompiledSACUpdate | None:
    """The compiled gradient step of the SAC `model`, ready to run; None: run the eager step (compiled updates
    off, a model it does not handle, optimizers before their first step, or compiling failed)."""
    update: CompiledSACUpdate | None = _update(model, CompiledSACUpdate)
    return update


def td3_update(model: Any) -> CompiledTD3Update | None:
    """The compiled gradient step of the TD3 (or DDPG) `model`, ready to run; None: run the eager step."""
    update: CompiledTD3Update | None = _update(model, CompiledTD3Update)
    return update

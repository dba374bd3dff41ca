"""A fused forward/backward for the default actor-critic network (Flatten -> policy MLP and value MLP -> heads).

The same arithmetic as the nn.Linear/nn.Tanh modules, run as one autograd Function whose backward writes every
weight gradient straight into a preallocated flat gradient buffer. Two kernel choices make it faster than the
module path on CPU (measured for PPO's 64x64 MLPs at batch 256: ~1.10 -> ~0.85 ms per gradient step):
tanh computed in place as 2 * sigmoid(2x) - 1 (torch's CPU tanh kernel takes 44 us where these four in-place
ops take 17 us; results agree to about 2e-7), and weight gradients of narrow inputs computed as
(input^T @ grad)^T. Used only for exactly that network shape (Linear layers with Tanh or ReLU, no hooks,
parameters in a FlatParameters buffer); anything else takes the module path. Tests compare both paths.

Kept because it beats the library route (the same networks with their forward functions under torch.compile,
``Adam(fused=True)``), per gradient step on one core (``python -m benchmarks.library_route``; hand / plain
modules / library route): PPO CartPole 1.37 / 1.63 / 1.84 ms, DQN CartPole [256, 256] 1.14 / 1.76 / 2.17 ms
(the update without autograd), SAC Pendulum 10.6 / 11.2 / 15.9 ms, TD3 [400, 300] 11.7 / 12.8 / 12.7 ms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from baselines3.common.fast import products
from baselines3.common.fast.optim import FlatParameters
from baselines3.common.torch_layers import Float32Linear, has_hooks

_TANH, _RELU, _NONE = 1, 2, 0
tanh_backward = torch.ops.aten.tanh_backward
threshold_backward = torch.ops.aten.threshold_backward


class _Step(NamedTuple):
    weight: torch.Tensor  # detached, shares storage with the parameter
    weight_t: torch.Tensor  # its transpose (a view), made once
    bias: torch.Tensor
    grad_weight: torch.Tensor  # views into the plan's gradient buffer
    grad_bias: torch.Tensor
    activation: int
    work: int  # 2 x inputs x outputs: the product's floating-point operations per row


class FusedPlan(NamedTuple):
    pi_steps: tuple[_Step, ...]
    vf_steps: tuple[_Step, ...]
    grad_buffer: torch.Tensor
    modules: tuple[nn.Module, ...]  # every module whose hooks this path would bypass
    action_net: nn.Module
    mlp_extractor: nn.Module
    flat: FlatParameters


def _layers_of(sequential: nn.Sequential, head: nn.Module) -> list[tuple[nn.Linear, int]] | None:
    modules = list(sequential)
    if len(modules) % 2:
        return None
    layers: list[tuple[nn.Linear, int]] = []
    for linear, activation in zip(modules[::2], modules[1::2]):
        if type(linear) is not nn.Linear or linear.bias is None:
            return None
        if type(activation) is nn.Tanh:
            layers.append((linear, _TANH))
        elif type(activation) is nn.ReLU:
            layers.append((linear, _RELU))
        else:
            return None
    # exactly these types: a subclass may compute something else in forward
    if not isinstance(head, nn.Linear) or type(head) not in (nn.Linear, Float32Linear) or head.bias is None:
        return None
    layers.append((head, _NONE))
    return layers


def make_plan(
    mlp_extractor: Any, action_net: nn.Module, value_net: nn.Module, flat: FlatParameters
) -> FusedPlan | None:
    """A plan when the network has the supported shape, else None."""
    # the plan's tensors must be ordinary tensors even when first asked for during a rollout (inference mode)
    with torch.inference_mode(False):
        return _make_plan(mlp_extractor, action_net, value_net, flat)


def _make_plan(
    mlp_extractor: Any, action_net: nn.Module, value_net: nn.Module, flat: FlatParameters
) -> FusedPlan | None:
    pi = _layers_of(mlp_extractor.policy_net, action_net)
    vf = _layers_of(mlp_extractor.value_net, value_net)
    if pi is None or vf is None:
        return None
    linears = [linear for linear, _ in pi + vf]
    if any(id(p) not in flat.offsets for linear in linears for p in (linear.weight, linear.bias)):
        return None
    grad_buffer = torch.zeros_like(flat.flat, requires_grad=False)

    modules = tuple(dict.fromkeys((*mlp_extractor.modules(), action_net, value_net)))
    return FusedPlan(
        _steps(pi, flat, grad_buffer),
        _steps(vf, flat, grad_buffer),
        grad_buffer,
        modules,
        action_net,
        mlp_extractor,
        flat,
    )


def _steps(
    layers: list[tuple[nn.Linear, int]], flat: FlatParameters | None, grad_buffer: torch.Tensor | None
) -> tuple[_Step, ...]:
    """Per layer: detached weight views (and the transpose, made once) and, with a gradient buffer, the slices of
    it that receive the layer's gradients (None for an inference-only plan)."""

    def grad_view(param: torch.Tensor) -> Any:
        return None if flat is None or grad_buffer is None else flat.slice_of(grad_buffer, param)

    return tuple(
        _Step(
            linear.weight.detach(),
            linear.weight.detach().t(),
            linear.bias.detach(),
            grad_view(linear.weight),
            grad_view(linear.bias),
            activation,
            2 * linear.in_features * linear.out_features,
        )
        for linear, activation in layers
    )


def plan_usable(plan: FusedPlan, features: torch.Tensor) -> bool:
    """Fall back to the modules when hooks were added or when gradients must reach the features."""
    if features.requires_grad or not features.is_floating_point():
        return False
    return not any(has_hooks(m) for m in plan.modules)


def _tanh_(x: torch.Tensor) -> torch.Tensor:
    if x.is_cpu and x.numel() >= 4096:  # small batches: launch costs dominate, keep the single kernel
        return x.mul_(2.0).sigmoid_().mul_(2.0).sub_(1.0)
    return x.tanh_()


def _run(steps: tuple[_Step, ...], x: torch.Tensor, saved: list[torch.Tensor] | None) -> torch.Tensor:
    h = x
    rows = h.shape[0]
    for weight, weight_t, bias, _, _, activation, work in steps:
        if rows * work < products.MIN_WORK:  # small: aten, without the route's bookkeeping (rollouts, PPO)
            h = torch.addmm(bias, h, weight_t)
        else:
            h = products.linear(h, weight, weight_t, bias)
        if activation == _TANH:
            h = _tanh_(h)
        elif activation == _RELU:
            h = h.relu_()
        if saved is not None and activation != _NONE:
            saved.append(h)
    return h


def _backward(steps: tuple[_Step, ...], x: torch.Tensor, outputs: list[torch.Tensor], grad: torch.Tensor) -> None:
    inputs = [x, *outputs]  # layer i reads inputs[i]; its activation output is outputs[i]
    rows = grad.shape[0]
    for i in range(len(steps) - 1, -1, -1):
        weight, _, _, grad_weight, grad_bias, activation, work = steps[i]
        if activation == _TANH:
            grad = tanh_backward(grad, outputs[i])
        elif activation == _RELU:
            grad = threshold_backward(grad, outputs[i], 0)
        small = rows * work < products.MIN_WORK  # aten, without the route's bookkeeping
        if small:
            products.weight_grad_aten(grad, inputs[i], grad_weight)
        else:
            products.weight_grad(grad, inputs[i], grad_weight)
        torch.sum(grad, dim=0, out=grad_bias)
        if i > 0:
            grad = products.input_grad_aten(grad, weight) if small else products.input_grad(grad, weight)


class _ActorCriticMlp(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, features: torch.Tensor, flat_param: torch.Tensor, plan: FusedPlan) -> Any:
        pi_saved: list[torch.Tensor] = []
        vf_saved: list[torch.Tensor] = []
        pi_out = _run(plan.pi_steps, features, pi_saved)
        vf_out = _run(plan.vf_steps, features, vf_saved)
        ctx.plan = plan
        ctx.n_pi = len(pi_saved)
        ctx.save_for_backward(features, *pi_saved, *vf_saved)
        return pi_out, vf_out

    @staticmethod
    def backward(ctx: Any, grad_pi: torch.Tensor | None, grad_vf: torch.Tensor | None) -> Any:
        plan: FusedPlan = ctx.plan
        features, *saved = ctx.saved_tensors
        # parameters outside the MLPs (e.g. log_std) keep the zeros written when the buffer was made
        for steps, outputs, grad in (
            (plan.pi_steps, saved[: ctx.n_pi], grad_pi),
            (plan.vf_steps, saved[ctx.n_pi :], grad_vf),
        ):
            if grad is None:
                for step in steps:
                    step.grad_weight.zero_()
                    step.grad_bias.zero_()
            else:
                _backward(steps, features, outputs, grad)
        # autograd copies the buffer rather than keeping it, since the plan still holds a reference
        return None, plan.grad_buffer, None


# torch leaves Function.apply unannotated: each function's signature, named once
_actor_critic_mlp: Callable[[torch.Tensor, torch.Tensor, FusedPlan], tuple[torch.Tensor, torch.Tensor]]
_actor_critic_mlp = _ActorCriticMlp.apply


def fused_heads(plan: FusedPlan, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(action head output, value head output), recording a single autograd node when grad is enabled."""
    if torch.is_grad_enabled():
        return _actor_critic_mlp(features, plan.flat.flat, plan)
    return _run(plan.pi_steps, features, None), _run(plan.vf_steps, features, None)


def fused_values(plan: FusedPlan, features: torch.Tensor) -> torch.Tensor:
    """The value head's output alone, outside autograd (bootstrapping a rollout's last observation)."""
    return _run(plan.vf_steps, features, None)


# ----------------------------------------------------------------------------------------------------------
# One plain MLP (e.g. DQN's Q-network: Flatten -> Linear/ReLU ... -> Linear)
# ----------------------------------------------------------------------------------------------------------


class MlpPlan(NamedTuple):
    steps: tuple[_Step, ...]
    grad_buffer: torch.Tensor | None  # None: inference only (e.g. a target network)
    modules: tuple[nn.Module, ...]
    sequential: nn.Sequential
    flat: FlatParameters | None
    # (weight^T, bias, activation) as numpy views of the parameters' storage (CPU float32 only, else None)
    numpy_steps: tuple[tuple[np.ndarray, np.ndarray, int], ...] | None


def make_mlp_plan(
    sequential: nn.Sequential, flat: FlatParameters | None, grad_buffer: torch.Tensor | None = None
) -> MlpPlan | None:
    """A plan for `sequential` = [Linear, act, ..., Linear] (act: Tanh or ReLU), or None for any other shape.

    Without `flat` the plan only runs forward passes (no gradients). `grad_buffer` (flat-sized): the buffer its
    gradients go to, shared with other plans over the same flat parameters (default: a buffer of its own)."""
    with torch.inference_mode(False):
        modules = list(sequential)
        if not modules:
            return None
        layers = _layers_of(nn.Sequential(*modules[:-1]), modules[-1])
        if layers is None:
            return None
        params = [p for linear, _ in layers for p in (linear.weight, linear.bias)]
        if flat is None:
            grad_buffer = None
        else:
            if any(id(p) not in flat.offsets for p in params):
                return None
            if grad_buffer is None:
                grad_buffer = torch.zeros_like(flat.flat, requires_grad=False)
        steps = _steps(layers, flat, grad_buffer)
        numpy_steps = None
        if all(p.device.type == "cpu" and p.dtype == torch.float32 for p in params):
            numpy_steps = tuple((step.weight_t.numpy(), step.bias.numpy(), step.activation) for step in steps)
        return MlpPlan(steps, grad_buffer, tuple(modules), sequential, flat, numpy_steps)


class _Mlp(torch.autograd.Function):
    """Gradients for the weights (into the plan's buffer) and, when `x` needs one, for the input."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, flat_param: torch.Tensor, plan: MlpPlan) -> Any:
        saved: list[torch.Tensor] = []
        out = _run(plan.steps, x, saved)
        ctx.plan = plan
        ctx.save_for_backward(x, *saved)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        plan: MlpPlan = ctx.plan
        x, *saved = ctx.saved_tensors
        _backward(plan.steps, x, saved, grad)
        grad_x = _input_grad(plan.steps, saved, grad) if ctx.needs_input_grad[0] else None
        return grad_x, plan.grad_buffer, None


class _MlpInputOnly(torch.autograd.Function):
    """Gradient for the input only: the weights are treated as constants (e.g. a critic inside an actor loss)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, plan: MlpPlan) -> Any:
        saved: list[torch.Tensor] = []
        out = _run(plan.steps, x, saved)
        ctx.plan = plan
        ctx.save_for_backward(*saved)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        return _input_grad(ctx.plan.steps, list(ctx.saved_tensors), grad), None


def _input_grad(steps: tuple[_Step, ...], outputs: list[torch.Tensor], grad: torch.Tensor) -> torch.Tensor:
    for i in range(len(steps) - 1, -1, -1):
        weight, _, _, _, _, activation, work = steps[i]
        if activation == _TANH:
            grad = tanh_backward(grad, outputs[i])
        elif activation == _RELU:
            grad = threshold_backward(grad, outputs[i], 0)
        small = grad.shape[0] * work < products.MIN_WORK
        grad = products.input_grad_aten(grad, weight) if small else products.input_grad(grad, weight)
    return grad


_mlp: Callable[[torch.Tensor, torch.Tensor, MlpPlan], torch.Tensor] = _Mlp.apply
_mlp_input_only: Callable[[torch.Tensor, MlpPlan], torch.Tensor] = _MlpInputOnly.apply


def mlp_plan_usable(plan: MlpPlan, x: torch.Tensor, train_weights: bool = True) -> bool:
    """The plan runs only without hooks and on float inputs; it trains weights only with a gradient buffer."""
    if not x.is_floating_point() or any(has_hooks(m) for m in plan.modules):
        return False
    return plan.grad_buffer is not None or not torch.is_grad_enabled() or not train_weights


def fused_mlp(plan: MlpPlan, x: torch.Tensor, train_weights: bool = True) -> torch.Tensor:
    """The MLP's output, recording one autograd node when gradients are on. `train_weights=False`: gradients
    reach `x` only."""
    if not torch.is_grad_enabled():
        return _run(plan.steps, x, None)
    if not train_weights:
        return _mlp_input_only(x, plan) if x.requires_grad else _run(plan.steps, x, None)
    assert plan.flat is not None
    return _mlp(x, plan.flat.flat, plan)


def mlp_forward_numpy(numpy_steps: tuple[tuple[np.ndarray, np.ndarray, int], ...], x: np.ndarray) -> np.ndarray:
    """The MLP's output for a float32 batch, computed by numpy on views of the parameters (no torch call).

    For acting on a few observations at a time: a torch forward pass of DQN's [256, 256] Q-network on one
    observation costs ~25 us of dispatch and ~15 us more in the collection loop around it (measured with
    process CPU time), numpy's ~10 us. Results agree with the torch path to float32 rounding (tested)."""
    h = x
    for weight_t, bias, activation in numpy_steps:
        h = h @ weight_t
        h += bias
        if activation == _TANH:
            np.tanh(h, out=h)
        elif activation == _RELU:
            np.maximum(h, 0.0, out=h)
    return h


def mlp_forward_saving(plan: MlpPlan, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Output and the activations a later `mlp_weight_grads` needs (no autograd graph is recorded)."""
    saved: list[torch.Tensor] = []
    return _run(plan.steps, x, saved), saved


def mlp_weight_grads(plan: MlpPlan, x: torch.Tensor, saved: list[torch.Tensor], grad_out: torch.Tensor) -> torch.Tensor:
    """The flat parameter gradient for d(loss)/d(output) = `grad_out`, written into the plan's buffer."""
    assert plan.grad_buffer is not None, "this plan has no gradient buffer (inference only)"
    _backward(plan.steps, x, saved, grad_out)
    return plan.grad_buffer


def regression_gradient(
    plans: tuple[MlpPlan, ...], x: torch.Tensor, targets: torch.Tensor, scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(``scale * sum_i 0.5 * mean((Q_i(x) - targets) ** 2)``, its flat gradient) for MLPs `plans` with one output
    each whose gradients share one buffer (twin critics: each writes its own slices of it), without autograd."""
    buffer = plans[0].grad_buffer
    assert buffer is not None and all(plan.grad_buffer is buffer for plan in plans), "plans must share a buffer"
    total: torch.Tensor | None = None
    for plan in plans:
        saved: list[torch.Tensor] = []
        error = _run(plan.steps, x, saved).sub_(targets)
        squared = error.pow(2).mean()
        total = squared if total is None else total.add_(squared)
        # d loss / d Q_i = scale * (Q_i - target) / batch
        _backward(plan.steps, x, saved, error.mul_(scale / error.shape[0]))
    assert total is not None
    return total.mul_(0.5 * scale), buffer

"""RMSprop as TensorFlow 1 computes it, for the published A2C Atari settings tuned with it.

It differs from `torch.optim.RMSprop` in two places: the running average of squared gradients starts at one
instead of zero (so early steps are small rather than huge), and epsilon is added inside the square root.
With momentum, the learning rate is applied before the momentum buffer (TF order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


class RMSpropTFLike(torch.optim.Optimizer):
    """`torch.optim.RMSprop`'s interface with TensorFlow 1's update rule (see the module docstring)."""

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        for name, value in (("lr", lr), ("eps", eps), ("momentum", momentum), ("weight_decay", weight_decay)):
            if value < 0.0:
                raise ValueError(f"RMSpropTFLike: {name} must be >= 0, got {value}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"RMSpropTFLike: alpha must be in [0, 1], got {alpha}")
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad
                if grad.is_sparse:
                    raise RuntimeError("RMSpropTFLike does not support sparse gradients")
                if group["weight_decay"] != 0:
                    grad = grad.add(param, alpha=group["weight_decay"])
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    state["square_avg"] = torch.ones_like(param)  # TF starts the average at 1
                    if group["momentum"] > 0:
                        state["momentum_buffer"] = torch.zeros_like(param)
                    if group["centered"]:
                        state["grad_avg"] = torch.zeros_like(param)
                state["step"] += 1
                square_avg = state["square_avg"]
                square_avg.mul_(group["alpha"]).addcmul_(grad, grad, value=1 - group["alpha"])
                if group["centered"]:
                    grad_avg = state["grad_avg"]
                    grad_avg.mul_(group["alpha"]).add_(grad, alpha=1 - group["alpha"])
                    denom = square_avg.addcmul(grad_avg, grad_avg, value=-1).add_(group["eps"]).sqrt_()
                else:
                    denom = square_avg.add(group["eps"]).sqrt_()  # epsilon inside the root
                if group["momentum"] > 0:
                    buffer = state["momentum_buffer"]
                    buffer.mul_(group["momentum"]).addcdiv_(grad, denom, value=group["lr"])
                    param.add_(-buffer)
                else:
                    param.addcdiv_(grad, denom, value=-group["lr"])
        return loss

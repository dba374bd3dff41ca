"""RMSpropTFLike: TensorFlow 1's RMSprop update, checked against hand-computed steps."""

from __future__ import annotations

import math

import pytest
import torch

from baselines3.common.sb2_compat import RMSpropTFLike
from zoo.config import parse_policy_kwargs


def one_step(optimizer_kwargs: dict, grads: list[float]) -> list[float]:
    param = torch.nn.Parameter(torch.tensor([1.0]))
    optimizer = RMSpropTFLike([param], **optimizer_kwargs)
    values = []
    for grad in grads:
        param.grad = torch.tensor([grad])
        optimizer.step()
        values.append(param.item())
    return values


def test_plain_step_starts_the_square_average_at_one_and_puts_eps_inside_the_root():
    (value,) = one_step(dict(lr=0.1, alpha=0.9, eps=1e-5), [0.5])
    square_avg = 0.9 * 1.0 + 0.1 * 0.25
    assert value == pytest.approx(1.0 - 0.1 * 0.5 / math.sqrt(square_avg + 1e-5), rel=1e-6)
    # torch's RMSprop starts the average at zero: a much larger first step
    param = torch.nn.Parameter(torch.tensor([1.0]))
    torch_rmsprop = torch.optim.RMSprop([param], lr=0.1, alpha=0.9, eps=1e-5)
    param.grad = torch.tensor([0.5])
    torch_rmsprop.step()
    assert abs(1.0 - param.item()) > 3 * abs(1.0 - value)


def test_momentum_applies_the_learning_rate_before_the_buffer():
    first, second = one_step(dict(lr=0.1, alpha=0.9, eps=0.0, momentum=0.5), [0.5, -0.2])
    sq1 = 0.9 + 0.1 * 0.25
    buf1 = 0.1 * 0.5 / math.sqrt(sq1)
    assert first == pytest.approx(1.0 - buf1, rel=1e-6)
    sq2 = 0.9 * sq1 + 0.1 * 0.04
    buf2 = 0.5 * buf1 + 0.1 * -0.2 / math.sqrt(sq2)
    assert second == pytest.approx(1.0 - buf1 - buf2, rel=1e-6)


def test_centered_variant_subtracts_the_squared_mean_gradient():
    (value,) = one_step(dict(lr=0.1, alpha=0.9, eps=1e-5, centered=True), [0.5])
    square_avg, grad_avg = 0.9 + 0.1 * 0.25, 0.1 * 0.5
    assert value == pytest.approx(1.0 - 0.1 * 0.5 / math.sqrt(square_avg - grad_avg**2 + 1e-5), rel=1e-6)


def test_bad_settings_are_named():
    param = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(ValueError, match="lr must be >= 0"):
        RMSpropTFLike([param], lr=-1.0)
    with pytest.raises(ValueError, match="alpha must be in"):
        RMSpropTFLike([param], alpha=1.5)


def test_published_policy_kwargs_name_it():
    kwargs = parse_policy_kwargs("dict(optimizer_class=RMSpropTFLike, optimizer_kwargs=dict(eps=1e-5))")
    assert kwargs == {"optimizer_class": RMSpropTFLike, "optimizer_kwargs": {"eps": 1e-5}}
    assert parse_policy_kwargs("dict(optimizer_class=th.optim.SGD)")["optimizer_class"] is torch.optim.SGD

"""Flat parameter buffer and the shared gradient step."""

import copy

import pytest
import torch
from torch import nn

from baselines3.common.fast.optim import FlatParameters, gradient_step, make_optimizer


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))


def test_parameters_are_views_of_the_flat_tensor():
    net = _net()
    before = [p.detach().clone() for p in net.parameters()]
    flat = FlatParameters(net.parameters())
    assert flat.flat.numel() == sum(p.numel() for p in before)
    for p, b in zip(net.parameters(), before):
        torch.testing.assert_close(p, b)  # values kept
    with torch.no_grad():
        flat.flat.add_(1.0)
    for p, b in zip(net.parameters(), before):
        torch.testing.assert_close(p, b + 1.0)  # writes to the flat tensor reach the layers


def test_gradient_step_matches_per_parameter_clip_and_adam():
    reference, flat_net = _net(), _net()
    ref_opt = torch.optim.Adam(reference.parameters(), lr=1e-2, eps=1e-5)
    optimizer, flat = make_optimizer(flat_net, torch.optim.Adam, 1e-2, {"eps": 1e-5})
    x = torch.randn(16, 3)
    for _ in range(5):
        ref_opt.zero_grad()
        (reference(x) ** 2).sum().mul(10).backward()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), 0.5)
        ref_opt.step()
        gradient_step((flat_net(x) ** 2).sum().mul(10), optimizer, flat, max_grad_norm=0.5)
    for a, b in zip(reference.parameters(), flat_net.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert all(p.grad is None for p in flat_net.parameters())


def test_plain_optimizer_step_after_backward_still_updates():
    # code written for per-parameter optimizers (zero_grad, backward, step) keeps working
    net = _net()
    optimizer, _ = make_optimizer(net, torch.optim.SGD, 0.1, {})
    before = copy.deepcopy(net)
    optimizer.zero_grad()
    net(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    changed = [not torch.equal(a, b) for a, b in zip(net.parameters(), before.parameters())]
    assert all(changed)


def test_rebuild_after_dtype_change_keeps_values_and_links():
    net = _net()
    optimizer, flat = make_optimizer(net, torch.optim.SGD, 0.1, {})
    values = [p.detach().clone() for p in net.parameters()]
    net.double()  # replaces every parameter's storage, like .to(device)
    flat.rebuild_if_moved()
    assert flat.flat.dtype == torch.float64
    for p, v in zip(net.parameters(), values):
        torch.testing.assert_close(p, v.double())
    gradient_step(net(torch.ones(1, 3, dtype=torch.float64)).sum(), optimizer, flat)
    assert not torch.equal(next(net.parameters()), values[0].double())


@pytest.mark.usefixtures("fast_paths")
def test_policy_moves_rebuild_flat_parameters():
    from gymnasium import spaces

    from baselines3.common.policies import ActorCriticPolicy
    from baselines3.common.schedules import ConstantSchedule

    policy = ActorCriticPolicy(spaces.Box(-1, 1, (3,)), spaces.Discrete(2), ConstantSchedule(1e-3))
    policy.double()
    flat = policy.flat_parameters
    assert flat.flat.dtype == torch.float64
    assert flat.params[0].data_ptr() == flat.flat.data_ptr()


def test_no_trainable_parameters_is_an_error():
    with pytest.raises(ValueError, match="trainable"):
        FlatParameters([])

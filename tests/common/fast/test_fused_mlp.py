"""The fused actor-critic MLP path must match the plain module path in outputs and gradients."""

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from baselines3.common import fast
from baselines3.common.buffers import RolloutBatch
from baselines3.common.fast.optim import gradient_step
from baselines3.common.policies import ActorCriticPolicy
from baselines3.common.schedules import ConstantSchedule

pytestmark = pytest.mark.usefixtures("fast_paths")


def _pair(action_space, **kwargs):
    torch.manual_seed(0)
    fused = ActorCriticPolicy(spaces.Box(-1, 1, (5,)), action_space, ConstantSchedule(1e-3), **kwargs)
    plain = ActorCriticPolicy(spaces.Box(-1, 1, (5,)), action_space, ConstantSchedule(1e-3), **kwargs)
    plain.load_state_dict(fused.state_dict())
    # any hook makes the policy take the module path
    plain.mlp_extractor.register_forward_hook(lambda module, inputs, output: None)
    return fused, plain


CASES = [
    (spaces.Discrete(3), {}),
    (spaces.Box(-1, 1, (2,)), {}),
    (spaces.Discrete(4), dict(net_arch=dict(pi=[32, 16], vf=[8]), activation_fn=nn.ReLU)),
    (spaces.MultiDiscrete([2, 3]), dict(net_arch=[])),
]


@pytest.mark.parametrize("action_space,kwargs", CASES)
def test_outputs_and_gradients_match_module_path(action_space, kwargs):
    fused, plain = _pair(action_space, **kwargs)
    obs = torch.randn(300, 5)
    assert fast.actor_critic_heads(fused, obs) is not None
    assert fast.actor_critic_heads(plain, obs) is None  # the hook sends it down the module path
    actions = torch.as_tensor(np.stack([action_space.sample() for _ in range(300)]))
    v1, lp1, e1 = fused.evaluate_actions(obs, actions)
    v2, lp2, e2 = plain.evaluate_actions(obs, actions)
    torch.testing.assert_close(v1, v2, atol=2e-6, rtol=1e-5)
    torch.testing.assert_close(lp1, lp2, atol=2e-6, rtol=1e-5)
    torch.testing.assert_close(e1, e2, atol=2e-6, rtol=1e-5)

    (lp1.mean() + (v1**2).mean()).backward()
    fused_grad = fused.flat_parameters.gather_grads()
    (lp2.mean() + (v2**2).mean()).backward()
    plain_grad = plain.flat_parameters.gather_grads()
    torch.testing.assert_close(fused_grad, plain_grad, atol=1e-5, rtol=1e-4)


def test_training_steps_stay_in_step():
    fused, plain = _pair(spaces.Discrete(2))
    obs, actions = torch.randn(256, 5), torch.randint(0, 2, (256,))
    for _ in range(10):
        for policy in (fused, plain):
            values, log_prob, _ = policy.evaluate_actions(obs, actions)
            gradient_step(-(log_prob.mean()) + values.pow(2).mean(), policy.optimizer, policy.flat_parameters, 0.5)
    torch.testing.assert_close(fused.flat_parameters.flat, plain.flat_parameters.flat, atol=1e-5, rtol=1e-4)


def test_inference_path_and_unsupported_shapes():
    fused, plain = _pair(spaces.Discrete(3))
    obs = torch.randn(8, 5)
    with torch.inference_mode():
        a1, v1, lp1 = fused(obs, deterministic=True)
        a2, v2, lp2 = plain(obs, deterministic=True)
    torch.testing.assert_close(v1, v2)
    assert torch.equal(a1, a2)
    elu = ActorCriticPolicy(spaces.Box(-1, 1, (5,)), spaces.Discrete(2), ConstantSchedule(1e-3), activation_fn=nn.ELU)
    assert fast.actor_critic_heads(elu, obs) is None
    sde = ActorCriticPolicy(spaces.Box(-1, 1, (5,)), spaces.Box(-1, 1, (2,)), ConstantSchedule(1e-3), use_sde=True)
    assert fast.actor_critic_heads(sde, obs) is None


def test_value_path_matches_module_path_outside_autograd_only():
    fused, plain = _pair(spaces.Discrete(3))
    obs = torch.randn(8, 5)
    with torch.inference_mode():
        assert fast.actor_critic_values(fused, obs) is not None
        assert fast.actor_critic_values(plain, obs) is None  # the hook sends it down the module path
        torch.testing.assert_close(fused.predict_values(obs), plain.predict_values(obs))
    assert fast.actor_critic_values(fused, obs) is None  # with grad enabled: the modules, so gradients flow
    assert fused.predict_values(obs).requires_grad


def test_plan_follows_parameter_moves():
    fused, plain = _pair(spaces.Discrete(3))
    fused(torch.randn(300, 5))  # builds the plan, then moves replace every parameter's storage
    for policy in (fused, plain):
        policy.double()
        policy.float()
    obs = torch.randn(300, 5)
    torch.testing.assert_close(fused.predict_values(obs), plain.predict_values(obs))
    v1, _, _ = fused.evaluate_actions(obs, torch.zeros(300, dtype=torch.long))
    v2, _, _ = plain.evaluate_actions(obs, torch.zeros(300, dtype=torch.long))
    torch.testing.assert_close(v1, v2)


def test_rollout_batch_type_is_accepted():
    fused, _ = _pair(spaces.Discrete(2))
    batch = RolloutBatch(
        torch.randn(4, 5),
        torch.zeros(4, 1, dtype=torch.long),
        torch.zeros(4),
        torch.zeros(4),
        torch.zeros(4),
        torch.zeros(4),
    )
    values, log_prob, entropy = fused.evaluate_batch(batch)
    assert values.shape == (4,) and log_prob.shape == (4,)

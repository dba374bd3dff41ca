"""Losses and targets against numbers computed by hand."""

import math

import numpy as np
import pytest
import torch

from baselines3.common import losses


def test_gae_by_hand_with_episode_boundary():
    # one env, 3 steps; observation 2 starts a new episode, so step 1 ends the first episode
    rewards = np.array([[1.0], [1.0], [1.0]], dtype=np.float32)
    values = np.array([[0.5], [0.4], [0.3]], dtype=np.float32)
    starts = np.array([[1.0], [0.0], [1.0]], dtype=np.float32)
    adv, ret = losses.compute_gae(rewards, values, starts, np.array([0.2]), np.array([False]), 0.9, 0.8)
    # step 2: 1 + 0.9*0.2 - 0.3 = 0.88; step 1 (terminal): 1 - 0.4 = 0.6;
    # step 0: (1 + 0.9*0.4 - 0.5) + 0.9*0.8*0.6 = 1.292
    np.testing.assert_allclose(adv[:, 0], [1.292, 0.6, 0.88], rtol=1e-6)
    np.testing.assert_allclose(ret[:, 0], [1.792, 1.0, 1.18], rtol=1e-6)


def test_gae_last_done_cuts_bootstrap_and_lambda_one_is_monte_carlo():
    rewards = np.ones((4, 2), dtype=np.float32)
    values = np.zeros((4, 2), dtype=np.float32)
    starts = np.zeros((4, 2), dtype=np.float32)
    adv, _ = losses.compute_gae(rewards, values, starts, np.array([10.0, 10.0]), np.array([True, False]), 0.5, 1.0)
    # env 0 ended after the last step: discounted sum of 1s only
    np.testing.assert_allclose(adv[:, 0], [1 + 0.5 + 0.25 + 0.125, 1 + 0.5 + 0.25, 1.5, 1.0])
    # env 1 bootstraps from the last value 10
    np.testing.assert_allclose(adv[-1, 1], 1 + 0.5 * 10)
    np.testing.assert_allclose(adv[0, 1], 1 + 0.5 + 0.25 + 0.125 + 0.0625 * 10)


def test_gae_lambda_zero_is_one_step_td():
    rewards = np.array([[1.0], [2.0]], dtype=np.float32)
    values = np.array([[3.0], [4.0]], dtype=np.float32)
    starts = np.zeros((2, 1), dtype=np.float32)
    adv, _ = losses.compute_gae(rewards, values, starts, np.array([5.0]), np.array([False]), 0.9, 0.0)
    np.testing.assert_allclose(adv[:, 0], [1 + 0.9 * 4 - 3, 2 + 0.9 * 5 - 4], rtol=1e-6)


def _gae_step_by_step(rewards, values, starts, last_values, last_dones, gamma, gae_lambda):
    advantages = np.zeros_like(rewards)
    next_values, next_non_terminal = last_values, 1.0 - last_dones.astype(np.float32)
    last_gae = np.zeros_like(last_values)
    for step in reversed(range(len(rewards))):
        delta = rewards[step] + gamma * next_values * next_non_terminal - values[step]
        last_gae = delta + gamma * gae_lambda * next_non_terminal * last_gae
        advantages[step] = last_gae
        next_values, next_non_terminal = values[step], 1.0 - starts[step]
    return advantages


@pytest.mark.parametrize("n_steps,n_envs", [(1, 1), (5, 8), (64, 3)])
def test_gae_equals_the_step_by_step_recursion_exactly(n_steps, n_envs):
    rng = np.random.default_rng(n_steps)
    rewards, values = rng.normal(size=(2, n_steps, n_envs)).astype(np.float32)
    starts = (rng.random((n_steps, n_envs)) < 0.2).astype(np.float32)
    last_values = rng.normal(size=n_envs).astype(np.float32)
    last_dones = rng.random(n_envs) < 0.5
    adv, ret = losses.compute_gae(rewards, values, starts, last_values, last_dones, 0.99, 0.95)
    expected = _gae_step_by_step(rewards, values, starts, last_values, last_dones, 0.99, 0.95)
    assert adv.dtype == np.float32 and np.array_equal(adv, expected)
    assert np.array_equal(ret, expected + values)


def test_actor_critic_loss_leaves_a_zero_weighted_entropy_out_of_the_graph():
    logits = torch.randn(6, 3, requires_grad=True)
    log_probs = torch.log_softmax(logits, dim=-1)
    log_prob = log_probs[:, 0]
    entropy = -(log_probs.exp() * log_probs).sum(-1)
    pg, vf = -log_prob.mean(), (log_prob**2).mean()
    loss, ent_loss = losses.actor_critic_loss(pg, vf, entropy, log_prob, ent_coef=0.0, vf_coef=0.5)
    assert not ent_loss.requires_grad and ent_loss.item() == pytest.approx(-entropy.mean().item())
    (grad,) = torch.autograd.grad(loss, logits, retain_graph=True)
    (with_zero_entropy,) = torch.autograd.grad(pg + 0.0 * -entropy.mean() + 0.5 * vf, logits, retain_graph=True)
    torch.testing.assert_close(grad, with_zero_entropy, rtol=0, atol=0)
    loss, ent_loss = losses.actor_critic_loss(pg, vf, entropy, log_prob, ent_coef=0.01, vf_coef=0.5)
    assert ent_loss.requires_grad
    assert loss.item() == pytest.approx((pg + 0.5 * vf + 0.01 * ent_loss).item())


def test_ppo_clipped_surrogate_by_hand():
    adv = torch.tensor([1.0, -1.0, 2.0])
    old = torch.log(torch.tensor([0.5, 0.5, 0.5]))
    new = torch.log(torch.tensor([0.75, 0.75, 0.55]))  # ratios 1.5, 1.5, 1.1
    loss = losses.ppo_clipped_surrogate_loss(adv, new, old, clip_range=0.2)
    # min(1.5*1, 1.2*1)=1.2 ; min(-1.5, -1.2)=-1.5 ; min(2.2, 2.2)=2.2
    assert loss.item() == pytest.approx(-(1.2 - 1.5 + 2.2) / 3, rel=1e-6)
    assert losses.clip_fraction(new - old, 0.2).item() == pytest.approx(2 / 3)
    assert losses.clip_fraction(new - old, 0.2, torch.tensor([0.0, 0.0, 1.0])).item() == 0.0


def test_ppo_loss_mask_ignores_padding():
    adv = torch.tensor([1.0, 100.0])
    logp = torch.tensor([0.0, 5.0])
    old = torch.tensor([0.0, 0.0])
    mask = torch.tensor([1.0, 0.0])
    loss = losses.ppo_clipped_surrogate_loss(adv, logp, old, 0.2, mask)
    assert loss.item() == pytest.approx(-1.0)


def test_value_loss_plain_and_clipped():
    values = torch.tensor([1.0, 3.0])
    returns = torch.tensor([2.0, 2.0])
    assert losses.value_loss(values, returns).item() == pytest.approx(1.0)
    old = torch.tensor([0.0, 0.0])
    # predictions clipped to old +- 0.5 -> [0.5, 0.5]; errors 1.5 each
    assert losses.value_loss(values, returns, old, 0.5).item() == pytest.approx(2.25)


def test_entropy_loss_and_fallback():
    assert losses.entropy_loss(torch.tensor([1.0, 3.0]), torch.zeros(2)).item() == pytest.approx(-2.0)
    assert losses.entropy_loss(None, torch.tensor([-1.0, -3.0])).item() == pytest.approx(-2.0)


def test_policy_gradient_loss():
    assert losses.policy_gradient_loss(torch.tensor([2.0, -1.0]), torch.tensor([0.5, 1.0])).item() == pytest.approx(
        -(1.0 - 1.0) / 2
    )


def test_approx_kl_zero_for_same_policy_and_positive_otherwise():
    assert losses.approx_kl_divergence(torch.zeros(2)).item() == pytest.approx(0.0)
    r = 1.5
    expected = (r - 1) - math.log(r)
    assert losses.approx_kl_divergence(torch.tensor([math.log(r)])).item() == pytest.approx(expected)


def test_normalize_advantages_matches_torch_std():
    adv = torch.tensor([1.0, 2.0, 3.0, 6.0])
    expected = (adv - adv.mean()) / (adv.std() + 1e-8)
    torch.testing.assert_close(losses.normalize_advantages(adv), expected)
    masked = losses.normalize_advantages(torch.tensor([1.0, 3.0, 50.0]), torch.tensor([1.0, 1.0, 0.0]))
    assert masked[:2].tolist() == pytest.approx([-1.0, 1.0], rel=1e-5)

"""Off-policy loss functions (TD targets, DQN, SAC, TD3) against numbers computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from baselines3.common.losses import (
    dqn_loss,
    dqn_next_q_values,
    sac_actor_loss,
    sac_entropy_coef_loss,
    sac_next_values,
    smoothed_target_actions,
    td3_actor_loss,
    td_target,
    twin_critic_loss,
)


def _t(values: list) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def _close(actual: torch.Tensor, expected: list) -> None:
    """Shape and values (to float32 rounding) equal to the hand-computed nested list."""
    torch.testing.assert_close(actual, _t(expected))


def test_td_target_bootstraps_only_non_terminal_steps():
    rewards, dones, next_values = _t([[1.0], [2.0]]), _t([[0.0], [1.0]]), _t([[10.0], [20.0]])
    # 1 + 0.9 * 10 = 10; the terminal step keeps its reward only
    _close(td_target(rewards, dones, next_values, gamma=0.9), [[10.0], [2.0]])


def test_td_target_uses_per_sample_discounts_for_n_step_returns():
    rewards, dones, next_values = _t([[1.0], [2.0], [3.0]]), _t([[0.0], [0.0], [1.0]]), _t([[10.0], [20.0], [5.0]])
    discounts = _t([[0.5], [0.25], [0.125]])
    # gamma is ignored when discounts are given: 1 + 0.5 * 10, 2 + 0.25 * 20, terminal 3
    target = td_target(rewards, dones, next_values, gamma=0.99, discounts=discounts)
    _close(target, [[6.0], [7.0], [3.0]])


def test_dqn_next_q_values_max_and_double_q():
    next_q_target = _t([[1.0, 5.0, 3.0], [4.0, 2.0, 0.0]])
    next_q_online = _t([[9.0, 0.0, 1.0], [0.0, 7.0, 1.0]])
    # DQN: max of the target net's values per row
    assert dqn_next_q_values(next_q_target).tolist() == [[5.0], [4.0]]
    # double DQN: the online net picks actions 0 and 1, the target net evaluates them
    assert dqn_next_q_values(next_q_target, next_q_online).tolist() == [[1.0], [2.0]]


def test_dqn_loss_huber_quadratic_and_linear_regions():
    q_values = _t([[1.0, 2.0], [3.0, 4.0]]).requires_grad_(True)
    actions = torch.tensor([[1], [0]])
    targets = _t([[2.5], [5.0]])
    loss = dqn_loss(q_values, actions, targets)
    # |2 - 2.5| = 0.5 < 1: 0.5 * 0.5**2 = 0.125; |3 - 5| = 2 >= 1: 2 - 0.5 = 1.5; mean 0.8125
    assert loss.item() == pytest.approx(0.8125)
    loss.backward()
    # d/dq: quadratic region (q - t) / 2 = -0.25, linear region sign(q - t) / 2 = -0.5; untaken actions 0
    _close(q_values.grad, [[0.0, -0.25], [-0.5, 0.0]])


def test_dqn_loss_accepts_flat_float_actions():
    q_values = _t([[1.0, 2.0], [3.0, 4.0]])
    loss = dqn_loss(q_values, _t([1.0, 1.0]), _t([[2.0], [4.0]]))
    assert loss.item() == 0.0


def test_twin_critic_loss_sums_half_mse_over_critics():
    current = _t([[[1.0], [2.0]], [[0.0], [4.0]]])  # (2 critics, batch 2, 1)
    targets = _t([[1.5], [3.0]])
    # critic 1: (0.25 + 1) / 2 = 0.625; critic 2: (2.25 + 1) / 2 = 1.625; 0.5 * (0.625 + 1.625)
    assert twin_critic_loss(current, targets).item() == pytest.approx(1.125)


def test_sac_next_values_take_the_min_critic_and_subtract_entropy_term():
    next_q = _t([[[1.0], [5.0]], [[2.0], [3.0]]])
    next_log_prob = _t([-1.0, 2.0])
    # min = [1, 3]; - 0.5 * log_prob: 1 + 0.5 = 1.5, 3 - 1 = 2
    expected = [[1.5], [2.0]]
    _close(sac_next_values(next_q, next_log_prob, 0.5), expected)
    _close(sac_next_values(next_q, next_log_prob, torch.tensor([0.5])), expected)
    assert sac_next_values(next_q, next_log_prob.reshape(-1, 1), 0.5).shape == (2, 1)


def test_sac_actor_loss():
    q_pi = _t([[[1.0], [5.0]], [[2.0], [3.0]]])
    log_prob = _t([-1.0, 2.0])
    # 0.5 * log_prob - min Q: -0.5 - 1 = -1.5, 1 - 3 = -2; mean -1.75
    assert sac_actor_loss(q_pi, log_prob, 0.5).item() == pytest.approx(-1.75)


@pytest.mark.parametrize(
    ("log_prob", "expected_grad"),
    [
        # entropy estimate -mean(log_prob) = -1 above the target -2: gradient +1, descent lowers alpha
        ([-1.0, 3.0], 1.0),
        # entropy estimate -4 below the target -2: gradient -2, descent raises alpha
        ([3.0, 5.0], -2.0),
    ],
)
def test_sac_entropy_coef_loss_value_and_gradient_sign(log_prob, expected_grad):
    log_ent_coef = torch.tensor([math.log(0.2)], requires_grad=True)
    log_prob_t = _t(log_prob).requires_grad_(True)
    loss = sac_entropy_coef_loss(log_ent_coef, log_prob_t, target_entropy=-2.0)
    # -(log alpha * mean(log_prob + target)) = log alpha * expected_grad
    assert loss.item() == pytest.approx(math.log(0.2) * expected_grad)
    loss.backward()
    assert log_ent_coef.grad.item() == pytest.approx(expected_grad)
    assert log_prob_t.grad is None  # the policy is not trained by this loss


def test_td3_actor_loss_is_minus_the_mean_q():
    q1 = _t([[1.0], [3.0]]).requires_grad_(True)
    loss = td3_actor_loss(q1)
    assert loss.item() == -2.0
    loss.backward()
    assert q1.grad.tolist() == [[-0.5], [-0.5]]


def test_smoothed_target_actions_clip_the_result_to_the_bounds():
    actions = _t([[0.5, 1.25, -3.0]])
    assert smoothed_target_actions(actions, noise_std=0.0, noise_clip=0.5).tolist() == [[0.5, 1.0, -1.0]]
    assert smoothed_target_actions(actions, 0.0, 0.5, low=-2.0, high=0.75).tolist() == [[0.5, 0.75, -2.0]]
    assert actions.tolist() == [[0.5, 1.25, -3.0]]  # input untouched


def test_smoothed_target_actions_clip_the_noise():
    torch.manual_seed(0)
    actions = torch.zeros(10_000)
    smoothed = smoothed_target_actions(actions, noise_std=100.0, noise_clip=0.2)
    assert smoothed.abs().max().item() == pytest.approx(0.2)
    # with std 100 almost every draw is clipped to exactly +-0.2, about half on each side
    assert (smoothed.abs() == 0.2).float().mean().item() > 0.99
    assert 0.45 < (smoothed > 0).float().mean().item() < 0.55


def test_smoothed_target_actions_match_the_formula_and_statistics():
    actions = torch.full((50_000,), 0.1)
    torch.manual_seed(3)
    smoothed = smoothed_target_actions(actions, noise_std=0.2, noise_clip=0.3)
    torch.manual_seed(3)
    noise = torch.randn(50_000) * 0.2
    expected = (actions + noise.clamp(-0.3, 0.3)).clamp(-1.0, 1.0)
    assert torch.equal(smoothed, expected)
    deviation = smoothed - 0.1
    assert deviation.abs().max().item() == pytest.approx(0.3)
    assert abs(deviation.mean().item()) < 0.005
    # std of N(0, 0.2) clipped at 1.5 sigma: sqrt((2 Phi(c) - 1) - 2 c phi(c) + 2 c^2 (1 - Phi(c))) = 0.8823 at c=1.5
    assert deviation.std().item() == pytest.approx(0.2 * 0.8823, rel=0.02)

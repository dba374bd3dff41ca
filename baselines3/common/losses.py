"""Targets and losses as pure functions of tensors/arrays: each one is unit-tested against hand-computed numbers.

Every loss takes an optional `mask` (1 = real sample, 0 = padding) so padded recurrent sequences are ignored.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over real samples only (plain mean when `mask` is None)."""
    if mask is None:
        return values.mean()
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    episode_starts: np.ndarray,
    last_values: np.ndarray,
    last_dones: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalized Advantage Estimation (Schulman et al., 2016) over a (n_steps, n_envs) rollout.

    `episode_starts[t]` marks that observation t began an episode, so step t-1 was the episode's last step.
    Truncated episodes are expected to have the discounted value of their terminal observation already added to
    their last reward, so here every episode end cuts the bootstrap. Returns (advantages, returns = adv + values).
    """
    # every step's TD error at once; only the discounted sum below runs step by step (same float32 ops, same order)
    next_values = np.concatenate([values[1:], last_values[None]])
    next_non_terminal = 1.0 - np.concatenate([episode_starts[1:], last_dones[None]]).astype(np.float32)
    deltas = rewards + gamma * next_values * next_non_terminal - values
    decays = gamma * gae_lambda * next_non_terminal
    advantages = np.empty_like(deltas, dtype=np.float32)
    last_gae = np.zeros_like(last_values, dtype=np.float32)
    for step in range(rewards.shape[0] - 1, -1, -1):
        last_gae = deltas[step] + decays[step] * last_gae
        advantages[step] = last_gae
    return advantages, advantages + values


def ppo_clipped_surrogate_loss(
    advantages: torch.Tensor,
    log_prob: torch.Tensor,
    old_log_prob: torch.Tensor,
    clip_range: float,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """PPO's clipped surrogate objective (Schulman et al., 2017), negated to be minimised."""
    ratio = torch.exp(log_prob - old_log_prob)
    surrogate = advantages * ratio
    clipped_surrogate = advantages * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    return -masked_mean(torch.min(surrogate, clipped_surrogate), mask)


def clip_fraction(log_ratio: torch.Tensor, clip_range: float, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Fraction of samples whose probability ratio exp(log_ratio) lies outside [1 - clip, 1 + clip]."""
    return masked_mean(((torch.exp(log_ratio) - 1.0).abs() > clip_range).float(), mask)


def approx_kl_divergence(log_ratio: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Low-variance estimate of KL(old || new) from log r = log pi_new - log pi_old: mean((r - 1) - log r)."""
    return masked_mean((torch.exp(log_ratio) - 1.0) - log_ratio, mask)


def value_loss(
    values: torch.Tensor,
    returns: torch.Tensor,
    old_values: torch.Tensor | None = None,
    clip_range_vf: float | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean squared error to the returns; with `clip_range_vf`, the prediction may move at most that far from
    `old_values` (the prediction is clipped, as in SB3, so results stay comparable)."""
    if clip_range_vf is not None:
        assert old_values is not None, "value clipping needs old_values"
        values = old_values + torch.clamp(values - old_values, -clip_range_vf, clip_range_vf)
    if mask is None:
        return F.mse_loss(returns, values)
    return masked_mean((returns - values) ** 2, mask)


def entropy_loss(
    entropy: torch.Tensor | None, log_prob: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Negative entropy (to be minimised); estimated by -log_prob when there is no closed form."""
    if entropy is None:
        return masked_mean(log_prob, mask)
    return -masked_mean(entropy, mask)


def actor_critic_loss(
    pg_loss: torch.Tensor,
    vf_loss: torch.Tensor,
    entropy: torch.Tensor | None,
    log_prob: torch.Tensor,
    ent_coef: float,
    vf_coef: float,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(pg_loss + vf_coef * vf_loss + ent_coef * entropy loss, the entropy loss). With ``ent_coef == 0`` (A2C's
    and PPO's default) the entropy loss is only logged: it is computed outside the autograd graph, so the
    backward pass skips its ops (its gradient would be exactly zero)."""
    loss = pg_loss + vf_coef * vf_loss
    if ent_coef == 0:
        with torch.no_grad():
            return loss, entropy_loss(entropy, log_prob, mask)
    ent_loss = entropy_loss(entropy, log_prob, mask)
    return loss + ent_coef * ent_loss, ent_loss


def policy_gradient_loss(
    advantages: torch.Tensor, log_prob: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """The vanilla policy-gradient loss used by A2C: -E[A * log pi(a|s)]."""
    return -masked_mean(advantages * log_prob, mask)


def normalize_advantages(advantages: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Zero mean, unit std over real samples; epsilon guards a constant batch."""
    mean = masked_mean(advantages, mask)
    var = masked_mean((advantages - mean) ** 2, mask)
    if mask is None:
        # unbiased std, like torch.std: matters only for tiny minibatches
        n = advantages.numel()
        var = var * n / max(n - 1, 1)
    return (advantages - mean) / (var.sqrt() + 1e-8)


# ----------------------------------------------------------------------------------------------------------
# Off-policy: TD targets, DQN, SAC, TD3
# ----------------------------------------------------------------------------------------------------------


def td_target(
    rewards: torch.Tensor,
    dones: torch.Tensor,
    next_values: torch.Tensor,
    gamma: float,
    discounts: torch.Tensor | None = None,
) -> torch.Tensor:
    """r + gamma * (1 - done) * V(s'). `dones` marks terminations only (a truncated episode is bootstrapped);
    `discounts` (gamma**n per sample, for n-step returns) replaces `gamma` when given."""
    discount = gamma if discounts is None else discounts
    return rewards + (1.0 - dones) * discount * next_values


def dqn_next_q_values(next_q_target: torch.Tensor, next_q_online: torch.Tensor | None = None) -> torch.Tensor:
    """Value of the next state for the DQN target, shaped (batch, 1).

    DQN: max_a Q_target(s', a). Double DQN (van Hasselt et al., 2016), when the online network's values are
    given: Q_target(s', argmax_a Q_online(s', a)) — the online net picks, the target net evaluates.
    """
    if next_q_online is None:
        return next_q_target.max(dim=1, keepdim=True).values
    return next_q_target.gather(1, next_q_online.argmax(dim=1, keepdim=True))


def dqn_loss(q_values: torch.Tensor, actions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Huber loss between Q(s, a) of the taken actions (`actions` (batch, 1) int) and the TD targets."""
    current = q_values.gather(1, actions.long().reshape(-1, 1))
    return F.smooth_l1_loss(current, targets)


def huber_loss_and_grad(diff: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """mean(smooth_l1(diff)) (beta 1, as `dqn_loss`) and its gradient with respect to `diff`, computed directly:
    clip(diff, -1, 1) / n. Used by DQN's fused update, which runs without an autograd graph."""
    loss = F.smooth_l1_loss(diff, torch.zeros_like(diff))
    return loss, diff.clamp(-1.0, 1.0).div_(diff.numel())


def twin_critic_loss(current_q_values: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum over critics of 0.5 * MSE(Q_i(s, a), target); `current_q_values` is (n_critics, batch, 1)."""
    return 0.5 * ((current_q_values - targets.unsqueeze(0)) ** 2).mean(dim=(1, 2)).sum()


def sac_next_values(
    next_q_values: torch.Tensor, next_log_prob: torch.Tensor, ent_coef: torch.Tensor | float
) -> torch.Tensor:
    """Soft value of the next state: min_i Q_target_i(s', a') - alpha * log pi(a'|s'), shaped (batch, 1)."""
    return next_q_values.min(dim=0).values - ent_coef * next_log_prob.reshape(-1, 1)


def sac_actor_loss(q_values_pi: torch.Tensor, log_prob: torch.Tensor, ent_coef: torch.Tensor | float) -> torch.Tensor:
    """mean(alpha * log pi(a|s) - min_i Q_i(s, a)) with a ~ pi(.|s) (reparameterized)."""
    return (ent_coef * log_prob.reshape(-1, 1) - q_values_pi.min(dim=0).values).mean()


def sac_entropy_coef_loss(log_ent_coef: torch.Tensor, log_prob: torch.Tensor, target_entropy: float) -> torch.Tensor:
    """Loss whose gradient moves log(alpha) so the policy entropy tracks `target_entropy` (Haarnoja et al., 2018b).

    Optimizing log(alpha) keeps alpha positive."""
    return -(log_ent_coef * (log_prob + target_entropy).detach()).mean()


def td3_actor_loss(q1_values_pi: torch.Tensor) -> torch.Tensor:
    """Deterministic policy gradient: maximize the first critic's Q(s, mu(s))."""
    return -q1_values_pi.mean()


def smoothed_target_actions(
    next_actions: torch.Tensor,
    noise_std: float,
    noise_clip: float,
    low: float = -1.0,
    high: float = 1.0,
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """TD3 target policy smoothing: a' = clip(mu'(s') + clip(N(0, std), -c, c), low, high). `noise`: standard
    normal draws shaped like `next_actions` (drawn here when None)."""
    if noise is None:
        noise = torch.randn_like(next_actions)
    clipped = (noise * noise_std).clamp_(-noise_clip, noise_clip)
    return (next_actions + clipped).clamp_(low, high)

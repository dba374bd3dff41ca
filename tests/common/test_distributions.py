"""Distributions against closed forms / torch.distributions."""

import math

import pytest
import torch
from gymnasium import spaces

from baselines3.common.distributions import (
    BernoulliDistribution,
    CategoricalDistribution,
    DiagGaussianDistribution,
    MultiCategoricalDistribution,
    SquashedDiagGaussianDistribution,
    StateDependentNoiseDistribution,
    TanhBijector,
    kl_divergence,
    make_proba_distribution,
)


def test_categorical_log_prob_entropy_match_closed_form():
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0]])
    dist = CategoricalDistribution(3).proba_distribution(logits)
    ref = torch.distributions.Categorical(logits=logits)
    actions = torch.tensor([1, 2])
    torch.testing.assert_close(dist.log_prob(actions), ref.log_prob(actions))
    torch.testing.assert_close(dist.entropy(), ref.entropy())
    assert dist.entropy()[1].item() == pytest.approx(math.log(3))
    assert dist.mode().tolist() == [1, 0]


def test_categorical_sampling_frequencies():
    torch.manual_seed(0)
    probs = torch.tensor([0.1, 0.6, 0.3])
    dist = CategoricalDistribution(3).proba_distribution(probs.log().expand(20000, 3))
    counts = torch.bincount(dist.sample(), minlength=3).float() / 20000
    torch.testing.assert_close(counts, probs, atol=0.02, rtol=0)


def test_diag_gaussian_matches_normal():
    mean = torch.tensor([[0.0, 1.0], [2.0, -1.0]])
    log_std = torch.tensor([0.5, -0.3])
    dist = DiagGaussianDistribution(2).proba_distribution(mean, log_std)
    ref = torch.distributions.Normal(mean, log_std.exp())
    x = torch.tensor([[0.3, 0.2], [1.0, 0.0]])
    torch.testing.assert_close(dist.log_prob(x), ref.log_prob(x).sum(-1))
    torch.testing.assert_close(dist.entropy(), ref.entropy().sum(-1))
    torch.manual_seed(0)
    samples = DiagGaussianDistribution(2).proba_distribution(mean[:1].expand(50000, 2), log_std).sample()
    torch.testing.assert_close(samples.std(0), log_std.exp(), atol=0.02, rtol=0)


def test_squashed_gaussian_log_prob_change_of_variables():
    mean = torch.tensor([[0.2, -0.4]])
    log_std = torch.tensor([0.1, -0.2])
    dist = SquashedDiagGaussianDistribution(2).proba_distribution(mean, log_std)
    u = torch.tensor([[0.5, -1.0]])
    a = torch.tanh(u)
    ref = torch.distributions.Normal(mean, log_std.exp()).log_prob(u).sum(-1) - torch.log(1 - a**2).sum(-1)
    torch.testing.assert_close(dist.log_prob(a, u), ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(dist.log_prob(a), ref, rtol=1e-4, atol=1e-4)
    assert dist.entropy() is None
    actions, log_prob = dist.log_prob_from_params(mean, log_std)
    assert actions.abs().max() < 1


def test_multicategorical_and_bernoulli():
    logits = torch.tensor([[0.0, 1.0, 2.0, 0.5, 0.5]])
    dist = MultiCategoricalDistribution([3, 2]).proba_distribution(logits)
    a = torch.tensor([[2, 1]])
    ref = torch.distributions.Categorical(logits=logits[:, :3]).log_prob(a[:, 0]) + math.log(0.5)
    torch.testing.assert_close(dist.log_prob(a), ref)
    assert dist.entropy().item() == pytest.approx(
        torch.distributions.Categorical(logits=logits[:, :3]).entropy().item() + math.log(2), rel=1e-5
    )
    b_logits = torch.tensor([[0.3, -1.2]])
    bern = BernoulliDistribution(2).proba_distribution(b_logits)
    ref_b = torch.distributions.Bernoulli(logits=b_logits)
    x = torch.tensor([[1.0, 0.0]])
    torch.testing.assert_close(bern.log_prob(x), ref_b.log_prob(x).sum(-1))
    torch.testing.assert_close(bern.entropy(), ref_b.entropy().sum(-1))
    assert bern.mode().tolist() == [[1.0, 0.0]]


def test_gsde_variance_is_state_dependent():
    torch.manual_seed(0)
    dist = StateDependentNoiseDistribution(1, full_std=True)
    _, log_std = dist.proba_distribution_net(latent_dim=2, log_std_init=0.0)
    latent = torch.tensor([[1.0, 0.0], [2.0, 2.0]])
    dist.proba_distribution(torch.zeros(2, 1), log_std, latent)
    # variance = latent^2 @ std^2 with std = 1 -> [1, 8]
    torch.testing.assert_close(dist.std[:, 0] ** 2, torch.tensor([1.0, 8.0]) + 1e-6)
    # noise is fixed between resamples: same latent -> same action
    a1, a2 = dist.sample(), dist.sample()
    torch.testing.assert_close(a1, a2)
    dist.sample_weights(log_std)
    assert not torch.allclose(dist.sample(), a1)


def test_kl_categorical_and_gaussian():
    p = CategoricalDistribution(2).proba_distribution(torch.tensor([[0.0, 0.0]]))
    q = CategoricalDistribution(2).proba_distribution(torch.log(torch.tensor([[0.25, 0.75]])))
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert kl_divergence(p, q).item() == pytest.approx(expected, rel=1e-5)
    g1 = DiagGaussianDistribution(1).proba_distribution(torch.zeros(1, 1), torch.zeros(1))
    g2 = DiagGaussianDistribution(1).proba_distribution(torch.ones(1, 1), torch.tensor([math.log(2.0)]))
    expected_g = math.log(2.0) + (1 + 1) / (2 * 4) - 0.5
    assert kl_divergence(g1, g2).item() == pytest.approx(expected_g, rel=1e-5)


def test_make_proba_distribution_kinds_and_errors():
    assert isinstance(make_proba_distribution(spaces.Discrete(3)), CategoricalDistribution)
    assert isinstance(make_proba_distribution(spaces.Box(-1, 1, (2,))), DiagGaussianDistribution)
    assert isinstance(make_proba_distribution(spaces.Box(-1, 1, (2,)), use_sde=True), StateDependentNoiseDistribution)
    assert isinstance(make_proba_distribution(spaces.MultiDiscrete([2, 3])), MultiCategoricalDistribution)
    assert isinstance(make_proba_distribution(spaces.MultiBinary(4)), BernoulliDistribution)
    with pytest.raises(NotImplementedError, match="Tuple"):
        make_proba_distribution(spaces.Tuple([spaces.Discrete(2)]))
    with pytest.raises(ValueError, match="gSDE"):
        make_proba_distribution(spaces.Discrete(2), use_sde=True)


def test_tanh_bijector():
    x = torch.linspace(-3.0, 3.0, 13)
    torch.testing.assert_close(TanhBijector.forward(x), torch.tanh(x))
    torch.testing.assert_close(TanhBijector.inverse(torch.tanh(x)), x, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(TanhBijector.atanh(torch.tensor([0.5])), torch.atanh(torch.tensor([0.5])))
    assert torch.isfinite(TanhBijector.inverse(torch.tensor([-1.0, 1.0]))).all()
    bijector = TanhBijector(epsilon=0.1)
    torch.testing.assert_close(bijector.log_prob_correction(x), torch.log(1.0 - torch.tanh(x) ** 2 + 0.1))


def test_kl_of_the_squashed_sde_and_bernoulli_kinds_against_torch():
    mean_p, mean_q = torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, -1.0]])
    log_std_p, log_std_q = torch.tensor([0.0, -0.5]), torch.tensor([0.3, 0.1])
    p = SquashedDiagGaussianDistribution(2).proba_distribution(mean_p, log_std_p)
    q = SquashedDiagGaussianDistribution(2).proba_distribution(mean_q, log_std_q)
    expected = torch.distributions.kl_divergence(
        torch.distributions.Normal(mean_p, log_std_p.exp()), torch.distributions.Normal(mean_q, log_std_q.exp())
    )
    torch.testing.assert_close(kl_divergence(p, q), expected)  # per action dimension, as in SB3

    latent = torch.tensor([[1.0, 2.0, -1.0]])
    sde_p, sde_q = StateDependentNoiseDistribution(2), StateDependentNoiseDistribution(2)
    _, sde_log_std = sde_p.proba_distribution_net(3)
    sde_q.proba_distribution_net(3)
    sde_p.proba_distribution(mean_p, sde_log_std, latent)
    sde_q.proba_distribution(mean_q, sde_log_std + 0.5, latent)
    expected = torch.distributions.kl_divergence(
        torch.distributions.Normal(mean_p, sde_p.std), torch.distributions.Normal(mean_q, sde_q.std)
    )
    torch.testing.assert_close(kl_divergence(sde_p, sde_q), expected)

    logits_p, logits_q = torch.tensor([[0.0, 3.0, -2.0]]), torch.tensor([[1.0, -1.0, 0.5]])
    b_p = BernoulliDistribution(3).proba_distribution(logits_p)
    b_q = BernoulliDistribution(3).proba_distribution(logits_q)
    expected = torch.distributions.kl_divergence(
        torch.distributions.Bernoulli(logits=logits_p), torch.distributions.Bernoulli(logits=logits_q)
    )
    torch.testing.assert_close(kl_divergence(b_p, b_q), expected)


def test_kl_shapes_and_categorical_with_an_impossible_choice():
    gaussian = DiagGaussianDistribution(3).proba_distribution(torch.zeros(4, 3), torch.zeros(3))
    assert kl_divergence(gaussian, gaussian).shape == (4, 3)
    multi = MultiCategoricalDistribution([2, 3]).proba_distribution(torch.zeros(4, 5))
    assert kl_divergence(multi, multi).shape == (4,)
    masked = CategoricalDistribution(3).proba_distribution(torch.tensor([[0.0, 0.0, -math.inf]]))
    uniform = CategoricalDistribution(3).proba_distribution(torch.zeros(1, 3))
    # p never takes the third choice: it adds nothing (not nan)
    assert kl_divergence(masked, uniform).item() == pytest.approx(math.log(1.5), abs=1e-6)

"""Policies, feature extractors and preprocessing."""

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from baselines3.common.policies import ActorCriticCnnPolicy, ActorCriticPolicy, MultiInputActorCriticPolicy
from baselines3.common.preprocessing import get_obs_shape, is_image_space, preprocess_obs
from baselines3.common.schedules import ConstantSchedule
from baselines3.common.torch_layers import CombinedExtractor, FlattenExtractor, MlpExtractor, NatureCNN

LR = ConstantSchedule(1e-3)


def test_net_arch_list_and_dict():
    obs, act = spaces.Box(-1, 1, (3,)), spaces.Discrete(2)
    shared = ActorCriticPolicy(obs, act, LR, net_arch=[16, 8])
    assert shared.mlp_extractor.latent_dim_pi == 8 and shared.mlp_extractor.latent_dim_vf == 8
    split = ActorCriticPolicy(obs, act, LR, net_arch=dict(pi=[32], vf=[4, 4]), activation_fn=nn.ReLU)
    assert split.mlp_extractor.latent_dim_pi == 32 and split.mlp_extractor.latent_dim_vf == 4
    assert isinstance(split.mlp_extractor.policy_net[1], nn.ReLU)
    with pytest.warns(UserWarning, match="old format"):  # as SB3 2.x: a warning, and the dict is used
        old = ActorCriticPolicy(obs, act, LR, net_arch=[dict(pi=[8])])
    assert old.net_arch == dict(pi=[8])
    with pytest.raises(ValueError, match="unknown keys"):
        MlpExtractor(3, dict(pi=[8], qf=[8]), nn.Tanh)
    with pytest.raises(ValueError, match=r"positive ints, got \[64, 0\]"):
        ActorCriticPolicy(obs, act, LR, net_arch=[64, 0])  # a zero-width layer built and trained silently
    assert ActorCriticPolicy(obs, act, LR, net_arch=[np.int64(4)]).mlp_extractor.latent_dim_pi == 4
    with pytest.raises(TypeError, match=r"activation_fn must be a torch\.nn\.Module class"):
        ActorCriticPolicy(obs, act, LR, activation_fn="tanh")
    with pytest.raises(TypeError, match=r"optimizer_class must be a torch\.optim\.Optimizer class"):
        ActorCriticPolicy(obs, act, LR, optimizer_class="adam")


def test_forward_shapes_and_evaluate_actions_consistency():
    obs_space, act_space = spaces.Box(-1, 1, (5,)), spaces.Box(-2, 2, (3,))
    policy = ActorCriticPolicy(obs_space, act_space, LR)
    obs = torch.randn(7, 5)
    actions, values, log_prob = policy(obs)
    assert actions.shape == (7, 3) and values.shape == (7, 1) and log_prob.shape == (7,)
    v2, lp2, ent = policy.evaluate_actions(obs, actions)
    torch.testing.assert_close(values, v2)
    torch.testing.assert_close(log_prob, lp2)
    assert ent.shape == (7,)


def test_ortho_init_small_policy_head():
    policy = ActorCriticPolicy(spaces.Box(-1, 1, (4,)), spaces.Discrete(3), LR, ortho_init=True)
    # gain 0.01 on the policy head: near-uniform initial policy
    assert policy.action_net.weight.abs().max() < 0.05
    w = policy.mlp_extractor.policy_net[0].weight
    # orthogonal rows scaled by sqrt(2)
    torch.testing.assert_close(w.T @ w, 2 * torch.eye(4), atol=1e-4, rtol=0)


def test_separate_feature_extractors():
    policy = ActorCriticPolicy(spaces.Box(-1, 1, (4,)), spaces.Discrete(2), LR, share_features_extractor=False)
    assert policy.pi_features_extractor is not policy.vf_features_extractor
    actions, values, _ = policy(torch.randn(2, 4))
    assert values.shape == (2, 1)


def test_predict_single_and_batch_and_bad_shape():
    policy = ActorCriticPolicy(spaces.Box(-1, 1, (4,)), spaces.Box(-1, 1, (2,)), LR)
    single, _ = policy.predict(np.zeros(4, dtype=np.float32), deterministic=True)
    batch, _ = policy.predict(np.zeros((3, 4), dtype=np.float32), deterministic=True)
    assert single.shape == (2,) and batch.shape == (3, 2)
    assert np.all(np.abs(batch) <= 1)
    with pytest.raises(ValueError, match=r"Unexpected observation shape \(5,\)"):
        policy.predict(np.zeros(5, dtype=np.float32))


def test_cnn_and_multi_input_policies():
    img = spaces.Box(0, 255, (3, 36, 36), dtype=np.uint8)
    cnn = ActorCriticCnnPolicy(img, spaces.Discrete(4), LR)
    assert isinstance(cnn.features_extractor, NatureCNN) and cnn.features_dim == 512
    a, v, lp = cnn(torch.randint(0, 255, (2, 3, 36, 36), dtype=torch.uint8))
    assert a.shape == (2,)
    dict_space = spaces.Dict({"img": img, "vec": spaces.Box(-1, 1, (2,)), "d": spaces.Discrete(3)})
    multi = MultiInputActorCriticPolicy(dict_space, spaces.Discrete(2), LR)
    assert isinstance(multi.features_extractor, CombinedExtractor)
    assert multi.features_dim == 256 + 2 + 3
    obs = {k: torch.as_tensor(np.stack([s.sample() for _ in range(2)])) for k, s in dict_space.spaces.items()}
    assert multi(obs)[0].shape == (2,)
    with pytest.raises(ValueError, match="NatureCNN needs image observations"):
        NatureCNN(spaces.Box(-1, 1, (3, 36, 36)))


def test_preprocessing_one_hot_and_images():
    assert preprocess_obs(torch.tensor([2, 0]), spaces.Discrete(3)).tolist() == [[0, 0, 1], [1, 0, 0]]
    md = preprocess_obs(torch.tensor([[1, 0]]), spaces.MultiDiscrete([2, 3]))
    assert md.tolist() == [[0, 1, 1, 0, 0]]
    img = spaces.Box(0, 255, (1, 4, 4), dtype=np.uint8)
    assert is_image_space(img)
    assert preprocess_obs(torch.full((1, 1, 4, 4), 255, dtype=torch.uint8), img).max().item() == 1.0
    # float images are scaled into a new tensor: the caller's batch is never written
    floats = torch.full((1, 1, 4, 4), 51.0)
    assert preprocess_obs(floats, img).unique().tolist() == pytest.approx([0.2]) and floats.unique().tolist() == [51.0]
    assert get_obs_shape(spaces.Discrete(5)) == (1,)
    assert FlattenExtractor(spaces.MultiDiscrete([2, 3])).features_dim == 5


def test_gsde_policy_reset_noise_changes_actions():
    policy = ActorCriticPolicy(spaces.Box(-1, 1, (3,)), spaces.Box(-1, 1, (2,)), LR, use_sde=True, log_std_init=0.0)
    obs = torch.randn(4, 3)
    policy.reset_noise(4)
    a1, _, _ = policy(obs)
    a2, _, _ = policy(obs)
    torch.testing.assert_close(a1, a2)  # same noise matrices until reset
    policy.reset_noise(4)
    a3, _, _ = policy(obs)
    assert not torch.allclose(a1, a3)


def test_normalize_images_false_lets_the_cnn_take_float_images_whatever_was_asked():
    """As in SB3: normalize_images=False sets the extractor's normalized_image=True, even when given False."""
    from baselines3.common.policies import ActorCriticCnnPolicy

    float_images = spaces.Box(0.0, 1.0, (1, 36, 36), np.float32)
    policy = ActorCriticCnnPolicy(
        float_images,
        spaces.Discrete(2),
        LR,
        normalize_images=False,
        features_extractor_kwargs=dict(normalized_image=False),
    )
    assert policy.features_extractor_kwargs["normalized_image"] is True
    actions, _ = policy.predict(float_images.sample()[None], deterministic=True)
    assert actions.shape == (1,)

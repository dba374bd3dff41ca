"""NatureCNN (alone or in a CombinedExtractor) trains on channels-last images (the speed seam); values and gradients
equal the default layout's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from gymnasium import spaces

from baselines3.common import fast
from baselines3.common.policies import ActorCriticCnnPolicy, MultiInputActorCriticPolicy
from baselines3.common.preprocessing import preprocess_obs
from baselines3.common.schedules import ConstantSchedule
from baselines3.common.torch_layers import CombinedExtractor, NatureCNN

pytestmark = pytest.mark.usefixtures("fast_paths")  # the seam on, whatever BASELINES3_FAST says

IMAGES = spaces.Box(0, 255, (4, 36, 36), np.uint8)


def _policy() -> ActorCriticCnnPolicy:
    torch.manual_seed(0)
    return ActorCriticCnnPolicy(IMAGES, spaces.Discrete(3), ConstantSchedule(3e-4))


def _loss_and_grad(policy: ActorCriticCnnPolicy, obs: torch.Tensor, actions: torch.Tensor) -> tuple[float, Any]:
    values, log_prob, entropy = policy.evaluate_actions(obs, actions)
    loss = values.pow(2).mean() - log_prob.mean() - entropy.mean()
    policy.flat_parameters.flat.grad = None
    loss.backward()
    grad = policy.flat_parameters.gather_grads()
    assert grad is not None
    return float(loss.detach()), grad.clone()


def test_training_images_are_channels_last_only_when_a_nature_cnn_trains():
    extractor = NatureCNN(IMAGES)
    images = torch.rand(8, 4, 36, 36)
    laid_out = fast.training_images(extractor, images)
    assert laid_out is not None and laid_out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(laid_out, images)  # the same values and shape
    with torch.no_grad():
        assert fast.training_images(extractor, images) is None  # acting: the default layout is faster
    assert fast.training_images(torch.nn.Flatten(), images) is None  # another extractor: left as it is
    assert fast.training_images(extractor, torch.rand(8, 36)) is None
    with fast.switched(False):
        assert fast.training_images(extractor, images) is None


def test_stored_uint8_images_are_laid_out_before_scaling():
    extractor = NatureCNN(IMAGES)
    images = torch.randint(0, 256, (8, 4, 36, 36), dtype=torch.uint8)
    laid_out = fast.training_images(extractor, images)
    assert laid_out is not None and laid_out.dtype == torch.uint8
    assert laid_out.is_contiguous(memory_format=torch.channels_last) and torch.equal(laid_out, images)
    assert fast.training_images(extractor, images.long()) is None  # other integer batches: as they are
    # the scaling keeps the order and gives the same floats as scaling the default layout
    scaled = preprocess_obs(laid_out, IMAGES)
    assert isinstance(scaled, torch.Tensor) and scaled.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(scaled, images.float() / 255.0)


def test_cnn_policy_loss_and_gradients_match_the_default_layout(monkeypatch):
    policy = _policy()
    rng = np.random.default_rng(0)
    obs = torch.as_tensor(rng.integers(0, 256, size=(16, 4, 36, 36), dtype=np.uint8))
    actions = torch.as_tensor(rng.integers(0, 3, size=16))
    seen = []
    original = fast.training_images

    def recording(extractor, images):
        out = original(extractor, images)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(fast, "training_images", recording)
    channels_last = _loss_and_grad(policy, obs, actions)
    monkeypatch.setattr(fast, "training_images", lambda extractor, images: None)
    default = _loss_and_grad(policy, obs, actions)
    assert seen == [True]  # the first pass trained on channels-last images
    assert channels_last[0] == pytest.approx(default[0], rel=1e-5)
    torch.testing.assert_close(channels_last[1], default[1], rtol=1e-4, atol=1e-6)


DICT_SPACE = spaces.Dict({"image": IMAGES, "vector": spaces.Box(-1, 1, (3,), np.float32)})


def test_a_combined_extractors_images_are_channels_last_and_its_other_keys_untouched():
    extractor = CombinedExtractor(DICT_SPACE, cnn_output_dim=16)
    observations = {"image": torch.rand(8, 4, 36, 36), "vector": torch.rand(8, 3), "unused": torch.rand(8, 2)}
    laid_out = fast.training_images(extractor, observations)
    assert laid_out is not None and laid_out.keys() == observations.keys()
    assert laid_out["image"].is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(laid_out["image"], observations["image"])
    assert laid_out["vector"] is observations["vector"] and laid_out["unused"] is observations["unused"]
    with torch.no_grad():
        assert fast.training_images(extractor, observations) is None
    vectors_only = CombinedExtractor(spaces.Dict({"vector": DICT_SPACE["vector"]}))
    assert fast.training_images(vectors_only, {"vector": observations["vector"]}) is None  # no image: as it is


def test_multi_input_policy_loss_and_gradients_match_the_default_layout(monkeypatch):
    torch.manual_seed(0)
    policy = MultiInputActorCriticPolicy(DICT_SPACE, spaces.Discrete(3), ConstantSchedule(3e-4))
    rng = np.random.default_rng(0)
    obs = {
        "image": torch.as_tensor(rng.integers(0, 256, size=(16, 4, 36, 36), dtype=np.uint8)),
        "vector": torch.as_tensor(rng.uniform(-1, 1, size=(16, 3)).astype(np.float32)),
    }
    actions = torch.as_tensor(rng.integers(0, 3, size=16))
    seen = []
    original = fast.training_images

    def recording(extractor, observations):
        out = original(extractor, observations)
        seen.append(out is not None and out["image"].is_contiguous(memory_format=torch.channels_last))
        return out

    monkeypatch.setattr(fast, "training_images", recording)
    channels_last = _loss_and_grad(policy, obs, actions)
    monkeypatch.setattr(fast, "training_images", lambda extractor, observations: None)
    default = _loss_and_grad(policy, obs, actions)
    assert seen == [True]
    assert channels_last[0] == pytest.approx(default[0], rel=1e-5)
    torch.testing.assert_close(channels_last[1], default[1], rtol=1e-4, atol=1e-6)

"""Exploration noise: Gaussian statistics, the Ornstein-Uhlenbeck recurrence, per-env vectorization and the JSON
spec round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from baselines3.common.noise import (
    ActionNoise,
    NormalActionNoise,
    OrnsteinUhlenbeckActionNoise,
    VectorizedActionNoise,
)
from baselines3.common.save_util import data_to_json, json_to_data


def test_normal_noise_statistics_and_dtype():
    noise = NormalActionNoise(mean=np.array([0.5, -1.0]), sigma=np.array([0.1, 2.0]))
    np.random.seed(0)
    samples = np.stack([noise() for _ in range(20_000)])
    assert samples.shape == (20_000, 2) and samples.dtype == np.float32
    # standard error of the mean: sigma / sqrt(20000) ~ 0.0007 and 0.014
    assert np.all(np.abs(samples.mean(axis=0) - [0.5, -1.0]) < [0.003, 0.06])
    np.testing.assert_allclose(samples.std(axis=0), [0.1, 2.0], rtol=0.02)


def test_normal_noise_draws_from_the_global_numpy_generator():
    noise = NormalActionNoise(mean=np.zeros(3), sigma=0.3 * np.ones(3), dtype=np.float64)
    np.random.seed(7)
    first = noise()
    np.random.seed(7)
    assert first.dtype == np.float64
    np.testing.assert_array_equal(first, np.random.normal(np.zeros(3), 0.3 * np.ones(3)))
    # zero sigma gives exactly the mean
    assert NormalActionNoise(mean=np.array([0.25]), sigma=np.array([0.0]))().tolist() == [0.25]


def test_ou_noise_follows_its_recurrence():
    mean, sigma, theta, dt = np.array([1.0, -1.0]), np.array([0.3, 0.5]), 0.2, 0.05
    initial = np.array([0.5, 0.0])
    noise = OrnsteinUhlenbeckActionNoise(mean, sigma, theta=theta, dt=dt, initial_noise=initial, dtype=np.float64)
    np.random.seed(0)
    outputs = [noise() for _ in range(6)]
    np.random.seed(0)
    x = initial.copy()
    for output in outputs:
        x = x + theta * (mean - x) * dt + sigma * np.sqrt(dt) * np.random.normal(size=2)
        np.testing.assert_allclose(output, x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(noise.noise_prev, x, rtol=0, atol=1e-12)


def test_ou_noise_reset_restarts_from_the_initial_noise():
    initial = np.array([0.5, -0.5])
    noise = OrnsteinUhlenbeckActionNoise(np.zeros(2), 0.3 * np.ones(2), initial_noise=initial)
    np.random.seed(1)
    first_run = [noise() for _ in range(3)]
    assert not np.allclose(noise.noise_prev, initial)
    noise.reset()
    np.testing.assert_array_equal(noise.noise_prev, initial)
    np.random.seed(1)
    np.testing.assert_array_equal([noise() for _ in range(3)], first_run)
    # the stored initial noise is not the state itself (stepping does not change it)
    np.testing.assert_array_equal(noise.initial_noise, initial)
    # without initial noise the process restarts from zero
    plain = OrnsteinUhlenbeckActionNoise(np.ones(2), np.ones(2))
    plain()
    plain.reset()
    np.testing.assert_array_equal(plain.noise_prev, np.zeros(2))


def test_ou_noise_is_mean_reverting():
    noise = OrnsteinUhlenbeckActionNoise(np.array([2.0]), np.array([0.0]), theta=1.0, dt=0.5)
    values = [float(noise()[0]) for _ in range(3)]
    # without diffusion: x <- x + 0.5 (2 - x) from 0: 1, 1.5, 1.75
    assert values == [1.0, 1.5, 1.75]


def test_vectorized_noise_shape_and_independence():
    vectorized = VectorizedActionNoise(NormalActionNoise(np.zeros(2), np.ones(2)), n_envs=3)
    np.random.seed(0)
    sample = vectorized()
    assert sample.shape == (3, 2) and sample.dtype == np.float32
    assert len({tuple(row) for row in sample.tolist()}) == 3  # each env draws its own noise


def test_shape_is_that_of_one_sample():
    normal = NormalActionNoise(np.zeros(2), 0.1)
    ou = OrnsteinUhlenbeckActionNoise(np.zeros((2, 3)), np.ones(3))
    assert normal.shape == normal().shape == (2,) and ou.shape == ou().shape == (2, 3)
    vectorized = VectorizedActionNoise(normal, n_envs=4)
    assert vectorized.shape == vectorized().shape == (4, 2)
    assert ActionNoise().shape is None  # unknown for noises that do not say


def test_vectorized_reset_only_resets_the_given_envs():
    base = OrnsteinUhlenbeckActionNoise(np.zeros(2), np.ones(2), initial_noise=np.array([0.1, 0.2]))
    vectorized = VectorizedActionNoise(base, n_envs=3)
    assert all(noise is not base for noise in vectorized.noises)
    np.random.seed(0)
    for _ in range(4):
        vectorized()
    before = [noise.noise_prev.copy() for noise in vectorized.noises]
    vectorized.reset([1])
    np.testing.assert_array_equal(vectorized.noises[1].noise_prev, [0.1, 0.2])
    np.testing.assert_array_equal(vectorized.noises[0].noise_prev, before[0])
    np.testing.assert_array_equal(vectorized.noises[2].noise_prev, before[2])
    assert not np.allclose(before[0], [0.1, 0.2])
    vectorized.reset()
    for noise in vectorized.noises:
        np.testing.assert_array_equal(noise.noise_prev, [0.1, 0.2])
    np.testing.assert_array_equal(base.noise_prev, [0.1, 0.2])  # the template itself never stepped


def _draws(noise: ActionNoise, n: int = 4) -> np.ndarray:
    """`n` samples from a fresh episode under a fixed seed."""
    noise.reset()
    np.random.seed(11)
    return np.stack([noise() for _ in range(n)])


@pytest.mark.parametrize(
    "noise",
    [
        NormalActionNoise(np.array([0.1, -0.2]), np.array([0.3, 0.4])),
        NormalActionNoise(np.array([0.0]), np.array([0.5]), dtype=np.float64),
        OrnsteinUhlenbeckActionNoise(0.0, 0.5),
        OrnsteinUhlenbeckActionNoise(np.array([0.1, 0.0]), np.array([0.2, 0.3]), theta=0.3, dt=0.1),
        OrnsteinUhlenbeckActionNoise(np.zeros(2), np.ones(2), initial_noise=np.array([0.4, -0.4])),
        VectorizedActionNoise(OrnsteinUhlenbeckActionNoise(np.zeros(2), np.ones(2)), n_envs=2),
        VectorizedActionNoise(NormalActionNoise(np.zeros(3), 0.1 * np.ones(3)), n_envs=4),
    ],
    ids=["normal", "normal-float64", "ou-scalar", "ou", "ou-initial", "vec-ou", "vec-normal"],
)
def test_spec_round_trip_rebuilds_an_equivalent_noise(noise):
    spec = noise.to_spec()
    json.dumps(spec)  # plain JSON
    rebuilt = type(noise).from_spec(json.loads(json.dumps(spec)))
    assert type(rebuilt) is type(noise)
    assert rebuilt.to_spec() == spec
    expected = _draws(noise)
    rebuilt_draws = _draws(rebuilt)
    assert rebuilt_draws.dtype == expected.dtype
    np.testing.assert_array_equal(rebuilt_draws, expected)
    # through the model-save JSON encoding too
    json_dict, unserializable = data_to_json({"action_noise": noise})
    assert unserializable == {}
    decoded = json_to_data(json.loads(json.dumps(json_dict)))["action_noise"]
    assert type(decoded) is type(noise)
    np.testing.assert_array_equal(_draws(decoded), expected)


def test_normal_noise_accepts_scalar_mean_and_sigma():
    noise = NormalActionNoise(mean=0.0, sigma=0.5)
    np.random.seed(2)
    sample = noise()
    np.random.seed(2)
    assert np.asarray(sample).dtype == np.float32
    assert float(sample) == pytest.approx(np.random.normal(0.0, 0.5), rel=1e-6)


def test_ou_spec_keeps_every_parameter():
    noise = OrnsteinUhlenbeckActionNoise(np.array([0.5]), np.array([0.2]), theta=0.4, dt=0.03, initial_noise=[0.1])
    assert noise.to_spec() == dict(mean=[0.5], sigma=[0.2], theta=0.4, dt=0.03, initial_noise=[0.1], dtype="float32")


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="sigma"):
        NormalActionNoise(np.zeros(2), np.array([0.1, -0.1]))
    with pytest.raises(ValueError, match="sigma"):
        OrnsteinUhlenbeckActionNoise(np.zeros(2), -np.ones(2))
    with pytest.raises(ValueError, match="mean"):
        NormalActionNoise(np.array([np.nan]), np.ones(1))
    with pytest.raises(ValueError, match="theta"):
        OrnsteinUhlenbeckActionNoise(np.zeros(1), np.ones(1), theta=-0.1)
    with pytest.raises(ValueError, match="dt"):
        OrnsteinUhlenbeckActionNoise(np.zeros(1), np.ones(1), dt=0.0)
    base = NormalActionNoise(np.zeros(1), np.ones(1))
    with pytest.raises(ValueError, match="n_envs"):
        VectorizedActionNoise(base, n_envs=0)
    with pytest.raises(ValueError, match="n_envs"):
        VectorizedActionNoise(base, n_envs=1.5)
    with pytest.raises(TypeError, match="already vectorized"):
        VectorizedActionNoise(VectorizedActionNoise(base, n_envs=2), n_envs=2)
    with pytest.raises(TypeError, match="ActionNoise"):
        VectorizedActionNoise(np.zeros(1), n_envs=2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="SomeNoise"):
        VectorizedActionNoise.from_spec(dict(base_class="SomeNoise", base={}, n_envs=2))

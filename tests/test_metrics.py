"""utils.metrics: values against hand computations and Keras, units and errors."""

from __future__ import annotations

import numpy as np
import pytest

from utils import metrics

RNG = np.random.default_rng(0)


def test_bce_matches_hand_computation():
    x = np.array([[1.0, 0.0, 0.5, 1.0]])
    p = np.array([[0.9, 0.2, 0.5, 0.6]])
    expected = -np.mean(x * np.log(p) + (1 - x) * np.log(1 - p))
    assert metrics.bce_per_image(x, p)[0] == pytest.approx(expected, rel=1e-12)


def test_bce_matches_keras():
    import keras

    x = RNG.random((8, 784)).astype(np.float32)
    p = RNG.random((8, 784)).astype(np.float32)
    ours = metrics.reconstruction_metrics(x, p)["bce"]
    theirs = float(keras.losses.BinaryCrossentropy()(x, p))
    assert ours == pytest.approx(theirs, rel=1e-5)


def test_units_of_the_three_numbers():
    x = np.zeros((5, 784))
    x_hat = np.full((5, 784), 0.1)
    m = metrics.reconstruction_metrics(x, x_hat)
    assert m["mse"] == pytest.approx(0.01)
    assert m["se_per_image"] == pytest.approx(0.01 * 784), "summed over pixels"
    assert m["bce"] == pytest.approx(-np.log(0.9))


def test_shapes_must_match_and_be_batches():
    msg = r"x has shape \(2, 784\) but x_hat has shape \(2, 28, 28\)"
    with pytest.raises(ValueError, match=msg):
        metrics.mse_per_image(np.zeros((2, 784)), np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="batch"):
        metrics.mse_per_image(np.zeros(3), np.zeros(3))


def test_psnr_known_value_and_identity_cap():
    x = np.zeros((2, 10, 10))
    y = x + 0.1  # MSE 0.01 -> 20 dB
    assert metrics.psnr(x, y) == pytest.approx(20.0)
    assert metrics.psnr(x, x) == pytest.approx(120.0)  # floored MSE of 1e-12
    assert metrics.psnr(x * 255, y * 255, data_range=255) == pytest.approx(20.0)


def test_ssim_identity_noise_and_layouts():
    x = RNG.random((4, 28, 28))
    assert metrics.ssim(x, x) == pytest.approx(1.0)
    noisy = np.clip(x + RNG.normal(0, 0.3, x.shape), 0, 1)
    slightly = np.clip(x + RNG.normal(0, 0.05, x.shape), 0, 1)
    assert metrics.ssim(x, noisy) < metrics.ssim(x, slightly) < 1.0
    flat = metrics.ssim_per_image(x.reshape(4, 784), noisy.reshape(4, 784))
    np.testing.assert_allclose(flat, metrics.ssim_per_image(x[..., None], noisy[..., None]))
    with pytest.raises(ValueError, match="square"):
        metrics.ssim(np.zeros((2, 10)), np.zeros((2, 10)))


def test_auroc_values_and_errors():
    assert metrics.auroc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert metrics.auroc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert metrics.auroc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    with pytest.raises(ValueError, match="both classes"):
        metrics.auroc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        metrics.auroc([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="equal length"):
        metrics.auroc([0, 1, 1], [0.1, 0.2])

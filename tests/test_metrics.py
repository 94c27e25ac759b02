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
    np.testing.assert_allclose(flat, metrics.ssim_per_image(x, noisy))
    with pytest.raises(ValueError, match="square"):
        metrics.ssim(np.zeros((2, 10)), np.zeros((2, 10)))
    with pytest.raises(ValueError, match=r"x has shape \(4, 28, 28\) but x_hat"):
        metrics.ssim(x, x[..., None])
    with pytest.raises(ValueError, match=r"x must be .*got shape \(4, 28, 28, 2\)"):
        metrics.ssim(np.zeros((4, 28, 28, 2)), np.zeros((4, 28, 28, 2)))
    with pytest.raises(ValueError, match="smaller than the 11 x 11 window"):
        metrics.ssim(np.zeros((2, 9, 9)), np.zeros((2, 9, 9)))


def _ssim_reference(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Wang et al. (2004) written out directly: one 2-d 11 x 11 Gaussian window
    (sigma 1.5), scipy's 'valid' 2-d correlation, one image and one channel."""
    from scipy.signal import correlate2d

    t = np.arange(11) - 5.0
    w = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * 1.5**2))
    w /= w.sum()

    def mean(img):
        return correlate2d(img, w, mode="valid")

    mx, my = mean(a), mean(b)
    sxx = mean(a**2) - mx**2
    syy = mean(b**2) - my**2
    sxy = mean(a * b) - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    lum = (2 * mx * my + c1) / (mx**2 + my**2 + c1)
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    assert lum.shape == (a.shape[0] - 10, a.shape[1] - 10)
    return float((lum * cs).mean())


def test_ssim_matches_direct_wang_2004_on_random_images():
    rng = np.random.default_rng(1)
    x = rng.random((3, 28, 28))
    y = np.clip(x + rng.normal(0, 0.2, x.shape), 0, 1)
    z = rng.random((3, 28, 28))  # unrelated images: SSIM near 0
    for other in (y, z):
        ours = metrics.ssim_per_image(x, other)
        ref = [_ssim_reference(a, b) for a, b in zip(x, other, strict=True)]
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    # a non-square grey image and a data range of 255
    a, b = rng.random((1, 20, 31)) * 255, rng.random((1, 20, 31)) * 255
    assert metrics.ssim(a, b, data_range=255) == pytest.approx(
        _ssim_reference(a[0], b[0], data_range=255), rel=1e-5, abs=1e-6)


def test_ssim_colour_is_the_mean_over_channels():
    rng = np.random.default_rng(2)
    x = rng.random((2, 16, 16, 3))
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    per_channel = [metrics.ssim_per_image(x[..., c], y[..., c]) for c in range(3)]
    np.testing.assert_allclose(metrics.ssim_per_image(x, y), np.mean(per_channel, axis=0))


def test_ssim_analytic_constant_shift_is_the_luminance_term():
    # constant images have no variance, so the contrast-structure term is C2/C2 = 1
    m, c = 0.3, 0.2
    x, y = np.full((1, 28, 28), m), np.full((1, 28, 28), m + c)
    c1 = 0.01**2
    expected = (2 * m * (m + c) + c1) / (m**2 + (m + c) ** 2 + c1)
    assert metrics.ssim(x, y) == pytest.approx(expected, rel=1e-5)
    assert metrics.ssim(x, x) == pytest.approx(1.0, abs=1e-6)


def test_ssim_ignores_the_border_outside_valid_windows():
    # pixel (0, 0) lies in exactly one valid window (the top-left one) with weight
    # w[0, 0]; a change far in the corner moves SSIM much less than one in the centre
    rng = np.random.default_rng(3)
    x = rng.random((1, 28, 28))
    corner, centre = x.copy(), x.copy()
    corner[0, 0, 0] = 1 - corner[0, 0, 0]
    centre[0, 14, 14] = 1 - centre[0, 14, 14]
    assert 1 - metrics.ssim(x, corner) < 0.05 * (1 - metrics.ssim(x, centre))


def test_ssim_matches_tensorflow():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(4)
    x = rng.random((5, 28, 28, 1)).astype(np.float32)
    y = np.clip(x + rng.normal(0, 0.25, x.shape), 0, 1).astype(np.float32)
    theirs = tf.image.ssim(tf.constant(x), tf.constant(y), max_val=1.0).numpy()
    np.testing.assert_allclose(metrics.ssim_per_image(x, y), theirs, atol=1e-5)
    xc = rng.random((2, 20, 24, 3)).astype(np.float32)
    yc = np.clip(xc + rng.normal(0, 0.1, xc.shape), 0, 1).astype(np.float32)
    theirs = tf.image.ssim(tf.constant(xc), tf.constant(yc), max_val=1.0).numpy()
    np.testing.assert_allclose(metrics.ssim_per_image(xc, yc), theirs, atol=1e-5)


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


def test_multiply_adds_counts_dense_conv_and_transposed_layers():
    import keras
    from keras import layers

    inner = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(2)])
    assert metrics.multiply_adds(inner) == 4 * 3 + 3 * 2
    x = keras.Input((8, 8, 1))
    h = layers.Conv2D(5, 3, strides=2, padding="same")(x)  # 4 x 4 outputs
    h = layers.MaxPooling2D(2)(h)  # free
    h = layers.Conv2DTranspose(2, 3, strides=2, padding="same")(h)  # 2 x 2 inputs
    h = layers.Flatten()(h)
    out = inner(layers.Dense(4)(h))  # a nested model is looked inside
    model = keras.Model(x, out)
    expected = 4 * 4 * 9 * 1 * 5 + 2 * 2 * 9 * 5 * 2 + (4 * 4 * 2) * 4 + 4 * 3 + 3 * 2
    assert metrics.multiply_adds(model) == expected


def test_active_latent_dimensions_counts_varying_means():
    rng = np.random.default_rng(0)
    means = np.zeros((500, 4))
    means[:, 0] = rng.normal(0.0, 1.0, 500)  # variance about 1: active
    means[:, 1] = rng.normal(3.0, 0.03, 500)  # constant offset, variance about 1e-3: not
    means[:, 2] = rng.choice([-0.2, 0.2], 500)  # variance 0.04: active
    # dimension 3 never moves: collapsed
    assert metrics.active_latent_dimensions(means) == 2
    assert metrics.active_latent_dimensions(means, threshold=0.05) == 1
    # the same count as the definition written out with the sample variance by hand
    by_hand = sum(np.mean((c - c.mean()) ** 2) > 1e-2 for c in means.T)
    assert metrics.active_latent_dimensions(means) == by_hand
    with pytest.raises(ValueError, match="posterior_means must have shape"):
        metrics.active_latent_dimensions(means[:, 0])
    with pytest.raises(ValueError, match="NaN"):
        metrics.active_latent_dimensions(np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="threshold"):
        metrics.active_latent_dimensions(means, threshold=0)

"""Reconstruction and detection metrics, with their units spelled out.

The course reports every reconstruction on one scale (see :func:`reconstruction_metrics`):

* ``bce``: binary cross-entropy per pixel, in nats (what Keras's ``binary_crossentropy``
  loss reports);
* ``mse``: squared error per pixel (Keras's ``mse`` loss);
* ``se_per_image``: squared error summed over the 784 pixels, averaged over images
  (the unit of Hinton & Salakhutdinov 2006).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-7  # Keras's backend epsilon, used to clip probabilities in BCE


def _pair(x, x_hat, fn: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    x_hat = np.asarray(x_hat, dtype=np.float64)
    if x.shape != x_hat.shape:
        raise ValueError(f"{fn}: x has shape {x.shape} but x_hat has shape {x_hat.shape}; "
                         "they must match (reshape one of them)")
    if x.ndim < 2:
        raise ValueError(f"{fn}: expected a batch (N, ...) of images, got shape {x.shape}")
    return x.reshape(len(x), -1), x_hat.reshape(len(x_hat), -1)


def bce_per_image(x, x_hat, eps: float = EPS) -> np.ndarray:
    """Binary cross-entropy of each image, averaged over its pixels (nats per pixel)."""
    x, x_hat = _pair(x, x_hat, "bce_per_image")
    p = np.clip(x_hat, eps, 1 - eps)
    return -(x * np.log(p) + (1 - x) * np.log(1 - p)).mean(axis=1)


def squared_error_per_image(x, x_hat) -> np.ndarray:
    """Squared error of each image, summed over its pixels."""
    x, x_hat = _pair(x, x_hat, "squared_error_per_image")
    return ((x - x_hat) ** 2).sum(axis=1)


def mse_per_image(x, x_hat) -> np.ndarray:
    """Mean squared error of each image (per pixel)."""
    x, x_hat = _pair(x, x_hat, "mse_per_image")
    return ((x - x_hat) ** 2).mean(axis=1)


def reconstruction_metrics(x, x_hat) -> dict[str, float]:
    """The course's three reconstruction numbers for a test set.

    Returns ``{"bce": nats per pixel, "mse": per pixel, "se_per_image": summed over
    pixels}``, each averaged over images.
    """
    return {
        "bce": float(bce_per_image(x, x_hat).mean()),
        "mse": float(mse_per_image(x, x_hat).mean()),
        "se_per_image": float(squared_error_per_image(x, x_hat).mean()),
    }


def psnr_per_image(x, x_hat, data_range: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio of each image, in dB: ``10 log10(range^2 / MSE)``.

    A perfect reconstruction would be infinite; the MSE is floored at 1e-12.
    """
    mse = np.maximum(mse_per_image(x, x_hat), 1e-12)
    return 10.0 * np.log10(data_range**2 / mse)


def psnr(x, x_hat, data_range: float = 1.0) -> float:
    """Mean over images of the per-image PSNR, in dB."""
    return float(psnr_per_image(x, x_hat, data_range).mean())


def _as_nhwc(a: np.ndarray, name: str) -> np.ndarray:
    """(N, H*W), (N, H, W), (N, H, W, 1) or (N, H, W, 3) -> (N, H, W, C)."""
    if a.ndim == 2:
        side = int(round(np.sqrt(a.shape[1])))
        if side * side != a.shape[1]:
            raise ValueError(f"ssim: flat images in {name} need a square pixel count, "
                             f"got shape {a.shape}")
        return a.reshape(len(a), side, side, 1)
    if a.ndim == 3:
        return a[..., None]
    if a.ndim == 4 and a.shape[-1] in (1, 3):
        return a
    raise ValueError(f"ssim: {name} must be (N, H*W), (N, H, W), (N, H, W, 1) or "
                     f"(N, H, W, 3), got shape {a.shape}")


def ssim_per_image(
    x, x_hat, data_range: float = 1.0, sigma: float = 1.5, filter_size: int = 11
) -> np.ndarray:
    """Structural similarity (SSIM) of each image, computed by ``tf.image.ssim``.

    Wang, Bovik, Sheikh & Simoncelli (2004): in every window, with Gaussian-weighted
    means :math:`\\mu`, variances :math:`\\sigma^2` and covariance :math:`\\sigma_{xy}`,

    .. math:: \\mathrm{SSIM} = \\frac{(2\\mu_x\\mu_y + C_1)(2\\sigma_{xy} + C_2)}
              {(\\mu_x^2 + \\mu_y^2 + C_1)(\\sigma_x^2 + \\sigma_y^2 + C_2)},
       \\quad C_1 = (0.01 L)^2,\\ C_2 = (0.03 L)^2,

    with ``L = data_range``. The map is averaged over windows, then over channels.

    * Window: an 11 x 11 Gaussian with standard deviation 1.5 pixels, normalised to sum 1
      (``filter_size``, ``sigma``).
    * Borders: only windows that lie wholly inside the image are used ('valid'
      filtering, no padding), so a 28 x 28 image gives an 18 x 18 map; border pixels
      count in fewer windows than central ones.
    * Variances are the biased window moments (no N/(N-1) correction).
    * TensorFlow computes in float32, so values carry float32 round-off (about 1e-7);
      ``tests/test_metrics.py`` checks them against a direct NumPy implementation.

    ``x`` and ``x_hat`` are arrays in ``[0, data_range]`` of shape (N, H*W) with a square
    H*W, (N, H, W), (N, H, W, 1) or colour (N, H, W, 3); H and W must be at least
    ``filter_size``. Returns N values (1 = identical).
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(x_hat, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"ssim: x has shape {a.shape} but x_hat has shape {b.shape}; "
                         "they must match")
    a, b = _as_nhwc(a, "x"), _as_nhwc(b, "x_hat")
    if min(a.shape[1:3]) < filter_size:
        raise ValueError(f"ssim: x is {a.shape[1]} x {a.shape[2]} pixels, smaller than the "
                         f"{filter_size} x {filter_size} window (filter_size)")
    import tensorflow as tf  # imported here: the other metrics need only NumPy

    values = tf.image.ssim(tf.constant(a, tf.float32), tf.constant(b, tf.float32),
                           max_val=float(data_range), filter_size=filter_size,
                           filter_sigma=sigma, k1=0.01, k2=0.03)
    return np.asarray(values, dtype=np.float64)


def ssim(x, x_hat, data_range: float = 1.0) -> float:
    """Mean over images of :func:`ssim_per_image` (1 = identical)."""
    return float(ssim_per_image(x, x_hat, data_range).mean())


def auroc(labels, scores) -> float:
    """Area under the ROC curve; ``labels`` are 1 for the positive (anomalous) class."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=float)
    if labels.ndim != 1 or labels.shape != scores.shape:
        raise ValueError(f"auroc: labels and scores must be 1-d and of equal length, got "
                         f"{labels.shape} and {scores.shape}")
    if len(np.unique(labels)) != 2:
        raise ValueError("auroc: labels must contain both classes (0 = normal, 1 = positive)")
    if not np.all(np.isfinite(scores)):
        raise ValueError("auroc: scores contain NaN or infinite values")
    return float(roc_auc_score(labels, scores))


def multiply_adds(model) -> int:
    """Multiply-adds of one forward pass of a Keras model, for one image.

    Counts ``Dense`` (inputs x units), ``Conv2D`` (output positions x k^2 x C_in x K) and
    ``Conv2DTranspose`` (*input* positions x k^2 x C_in x K) layers, looking inside nested
    models; biases, activations, pooling and upsampling are free. The count is a property
    of the model, not of the machine, which is why the course compares costs with it.
    """
    from keras import layers

    def walk(m):
        for layer in m.layers:
            if hasattr(layer, "layers"):
                yield from walk(layer)
            else:
                yield layer

    total = 0
    for layer in walk(model):
        if isinstance(layer, layers.Conv2DTranspose):
            _, h, w, c_in = layer.input.shape
            total += h * w * int(np.prod(layer.kernel_size)) * c_in * layer.filters
        elif isinstance(layer, layers.Conv2D):
            _, h, w, _ = layer.output.shape
            total += h * w * int(np.prod(layer.kernel_size)) * layer.input.shape[-1] * layer.filters
        elif isinstance(layer, layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)


def active_latent_dimensions(posterior_means, threshold: float = 1e-2) -> int:
    """Latent dimensions a VAE uses: how many vary across images by more than ``threshold``.

    ``posterior_means`` holds the encoder's means ``mu(x)`` for a set of images, shape
    (images, latent dimensions). A dimension counts as *active* when the variance of its
    mean over the images exceeds ``threshold``; a dimension whose mean stays put ignores the
    image and carries no information about it (posterior collapse). This is the
    activity statistic of Burda, Grosse & Salakhutdinov (2016), with their threshold 0.01.
    """
    means = np.asarray(posterior_means, dtype=np.float64)
    if means.ndim != 2 or len(means) < 2:
        raise ValueError("active_latent_dimensions: posterior_means must have shape (images, "
                         f"latent dimensions) with at least 2 images, got {means.shape}")
    if not np.all(np.isfinite(means)):
        raise ValueError("active_latent_dimensions: posterior_means contain NaN or infinite "
                         "values; check the encoder's training")
    if not threshold > 0:
        raise ValueError(f"active_latent_dimensions: threshold must be > 0, got {threshold!r}")
    return int(np.sum(means.var(axis=0) > threshold))

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


def ssim_per_image(x, x_hat, data_range: float = 1.0, sigma: float = 1.5) -> np.ndarray:
    """Structural similarity of each grey image (Wang et al. 2004, Gaussian window).

    ``x`` and ``x_hat`` are (N, H, W), (N, H, W, 1) or (N, H*W) with a square H*W.
    """
    from scipy.ndimage import gaussian_filter

    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(x_hat, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"ssim: x has shape {a.shape} but x_hat has shape {b.shape}")
    if a.ndim == 4 and a.shape[-1] == 1:
        a, b = a[..., 0], b[..., 0]
    elif a.ndim == 2:
        side = int(round(np.sqrt(a.shape[1])))
        if side * side != a.shape[1]:
            raise ValueError(f"ssim: flat images need a square pixel count, got {a.shape}")
        a, b = a.reshape(-1, side, side), b.reshape(-1, side, side)
    elif a.ndim != 3:
        raise ValueError(f"ssim: expected (N, H, W), (N, H, W, 1) or (N, H*W), got {a.shape}")
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(img):
        return gaussian_filter(img, sigma=(0, sigma, sigma), truncate=3.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return ssim_map.reshape(len(a), -1).mean(axis=1)


def ssim(x, x_hat, data_range: float = 1.0) -> float:
    """Mean SSIM over images (1 = identical)."""
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

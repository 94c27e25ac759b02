"""Checkers for assignment 1: likelihoods and losses.

The references are written out here in NumPy (float64), independently of any student code.
"""

from __future__ import annotations

import numpy as np

from utils.grading import checker, expect_close, expect_shape, expect_true, fail, to_numpy

PIXELS = 784
_FACTORS = {PIXELS: "did you average over pixels? The NLL of an image sums over its pixels"}


def _ref_gaussian_nll(x, mu, sigma):
    x, mu = np.asarray(x, np.float64), np.asarray(mu, np.float64)
    sigma = np.broadcast_to(np.asarray(sigma, np.float64), x.shape)
    per_pixel = 0.5 * np.log(2 * np.pi * sigma**2) + (x - mu) ** 2 / (2 * sigma**2)
    return per_pixel.reshape(len(x), -1).sum(axis=1)


def _ref_bernoulli_nll(x, p, eps=1e-7):
    x = np.asarray(x, np.float64)
    p = np.clip(np.asarray(p, np.float64), eps, 1 - eps)
    per_pixel = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    return per_pixel.reshape(len(x), -1).sum(axis=1)


def _cases(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((5, PIXELS)).astype(np.float32)
    mu = rng.random((5, PIXELS)).astype(np.float32)
    return rng, x, mu


@checker("gaussian_nll")
def check_gaussian_nll(gaussian_nll) -> None:
    """``gaussian_nll(x, mu, sigma)``: per-image Gaussian NLL in nats, summed over pixels."""
    rng, x, mu = _cases(1)
    for sigma, label in ((1.0, "sigma=1"), (0.3, "sigma=0.3")):
        got = expect_shape("output", gaussian_nll(x, mu, sigma), (len(x),),
                           "(one NLL per image)")
        expect_close("output", got, _ref_gaussian_nll(x, mu, sigma), rtol=1e-4,
                     factors=_FACTORS, case=f" ({label})")
    # a per-pixel sigma array, and images of shape (N, 28, 28)
    sig = rng.uniform(0.2, 2.0, size=x.shape).astype(np.float32)
    got = expect_shape("output", gaussian_nll(x, mu, sig), (len(x),))
    expect_close("output", got, _ref_gaussian_nll(x, mu, sig), rtol=1e-4,
                 factors=_FACTORS, case=" (one sigma per pixel)")
    x3, mu3 = x.reshape(-1, 28, 28), mu.reshape(-1, 28, 28)
    got = expect_shape("output", gaussian_nll(x3, mu3, 0.5), (len(x),),
                       "for images of shape (N, 28, 28): sum over every non-batch axis")
    expect_close("output", got, _ref_gaussian_nll(x3, mu3, 0.5), rtol=1e-4,
                 factors=_FACTORS, case=" (images of shape (N, 28, 28))")
    # a single image in a batch of one must still give shape (1,)
    expect_shape("output", gaussian_nll(x[:1], mu[:1], 1.0), (1,),
                 "for a batch of one image")


@checker("bernoulli_nll")
def check_bernoulli_nll(bernoulli_nll) -> None:
    """``bernoulli_nll(x, p)``: per-image Bernoulli NLL in nats, summed over pixels, clipped."""
    rng, x, _ = _cases(2)
    p = rng.uniform(0.05, 0.95, size=x.shape).astype(np.float32)
    got = expect_shape("output", bernoulli_nll(x, p), (len(x),), "(one NLL per image)")
    expect_close("output", got, _ref_bernoulli_nll(x, p), rtol=1e-4, factors=_FACTORS)
    # binary targets, probabilities exactly 0 and 1: the log must be protected by clipping
    xb = (rng.random((4, PIXELS)) < 0.5).astype(np.float32)
    pb = xb.copy()
    pb[:, :10] = 1.0 - pb[:, :10]  # ten confidently wrong pixels per image
    raw = to_numpy(bernoulli_nll(xb, pb), "output")
    if not np.all(np.isfinite(raw)):
        fail("returned NaN or infinity when p is exactly 0 or 1; "
             "did you forget to clip p to [eps, 1 - eps] (eps = 1e-7) before the log?")
    expect_close("output", expect_shape("output", raw, (4,)),
                 _ref_bernoulli_nll(xb, pb), rtol=1e-3, factors=_FACTORS,
                 case=" (p exactly 0 or 1; clip with eps = 1e-7)")
    got = expect_shape("output", bernoulli_nll(xb, xb), (4,))
    expect_true(np.all(got < 1e-3), "a perfect prediction should cost ~0 nats, "
                f"got {got.round(4).tolist()}")


@checker("mle_sigma")
def check_mle_sigma(mle_sigma) -> None:
    """``mle_sigma(x, mu)``: the one sigma that maximises the Gaussian likelihood (a float)."""
    rng, x, mu = _cases(3)
    for scale in (1.0, 0.1):
        xs, mus = x * scale, mu * scale
        expected = np.sqrt(np.mean((xs.astype(np.float64) - mus) ** 2))
        got = to_numpy(mle_sigma(xs, mus), "output")
        if got.size != 1:
            fail(f"expected one number (a scalar), got shape {got.shape}; "
                 "one sigma is shared by every pixel of every image")
        got = float(got.ravel()[0])
        if np.isclose(got, expected**2, rtol=1e-4) and not np.isclose(got, expected, rtol=1e-4):
            fail("you returned the variance (the MSE); sigma is its square root")
        expect_close("output", got, expected, rtol=1e-4,
                     factors={float(np.sqrt(x.size)): "did you sum instead of averaging?",
                              float(np.sqrt(PIXELS)): "average over every pixel of every image"},
                     case=f" (scale {scale})")

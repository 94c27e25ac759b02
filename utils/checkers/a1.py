"""Checkers for assignment 1: likelihoods and losses.

The references are written out here in NumPy (float64), independently of any student code.
Every check also feeds inputs of other sizes (not only 784 pixels), random inputs drawn
from :func:`utils.grading.case_rng`, and verifies that the caller's arrays are not
modified.
"""

from __future__ import annotations

import numpy as np

from utils.grading import (
    case_rng,
    checker,
    expect_close,
    expect_shape,
    expect_true,
    expect_unchanged,
    fail,
    snapshot,
    to_numpy,
)

PIXELS = 784
_FACTORS = {PIXELS: "did you average over pixels? The NLL of an image sums over its pixels"}
#: What a student's answer may not call: the references below and the course helpers
#: that compute the same numbers.
REFERENCES = ("utils.checkers.a1._ref_gaussian_nll", "utils.checkers.a1._ref_bernoulli_nll")
_RECONSTRUCTION_HELPERS = ("utils.metrics.bce_per_image", "utils.metrics.mse_per_image",
                           "utils.metrics.squared_error_per_image",
                           "utils.metrics.reconstruction_metrics")


def _ref_gaussian_nll(x, mu, sigma):
    x, mu = np.asarray(x, np.float64), np.asarray(mu, np.float64)
    sigma = np.broadcast_to(np.asarray(sigma, np.float64), x.shape)
    per_pixel = 0.5 * np.log(2 * np.pi * sigma**2) + (x - mu) ** 2 / (2 * sigma**2)
    return per_pixel.reshape(len(x), -1).sum(axis=1)


def _ref_bernoulli_nll(x, p, eps=1e-7, dtype=np.float64):
    """The NLL with ``p`` clipped in ``dtype`` (float32 code rounds 1 - eps differently)."""
    x = np.asarray(x, np.float64)
    p = np.clip(np.asarray(p, dtype), dtype(eps), dtype(1) - dtype(eps)).astype(np.float64)
    per_pixel = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    return per_pixel.reshape(len(x), -1).sum(axis=1)


def _cases(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((5, PIXELS)).astype(np.float32)
    mu = rng.random((5, PIXELS)).astype(np.float32)
    return rng, x, mu


def _call_pure(fn, name_args: tuple[str, ...], *args, **kwargs):
    """Call the student's ``fn`` on copies; fail if it modified one of them."""
    before = snapshot(*args)
    out = fn(*args, **kwargs)
    for name, arg, old in zip(name_args, args, before, strict=False):
        if isinstance(arg, np.ndarray):
            expect_unchanged(name, arg, old)
    return out


@checker("gaussian_nll", forbid=_RECONSTRUCTION_HELPERS[1:])
def check_gaussian_nll(gaussian_nll) -> None:
    """``gaussian_nll(x, mu, sigma)``: per-image Gaussian NLL in nats, summed over pixels."""
    rng, x, mu = _cases(1)
    for sigma, label in ((1.0, "sigma=1"), (0.3, "sigma=0.3")):
        got = expect_shape("output", _call_pure(gaussian_nll, ("x", "mu", "sigma"), x, mu,
                                                sigma), (len(x),), "(one NLL per image)")
        expect_close("output", got, _ref_gaussian_nll(x, mu, sigma), rtol=1e-4,
                     factors=_FACTORS, case=f" ({label})")
    # a per-pixel sigma array, and images of shape (N, 28, 28)
    sig = rng.uniform(0.2, 2.0, size=x.shape).astype(np.float32)
    got = expect_shape("output", _call_pure(gaussian_nll, ("x", "mu", "sigma"), x, mu, sig),
                       (len(x),))
    expect_close("output", got, _ref_gaussian_nll(x, mu, sig), rtol=1e-4,
                 factors=_FACTORS, case=" (one sigma per pixel)")
    x3, mu3 = x.reshape(-1, 28, 28), mu.reshape(-1, 28, 28)
    got = expect_shape("output", _call_pure(gaussian_nll, ("x", "mu", "sigma"), x3, mu3, 0.5),
                       (len(x),),
                       "for images of shape (N, 28, 28): sum over every non-batch axis")
    expect_close("output", got, _ref_gaussian_nll(x3, mu3, 0.5), rtol=1e-4,
                 factors=_FACTORS, case=" (images of shape (N, 28, 28))")
    # a single image in a batch of one must still give shape (1,)
    expect_shape("output", _call_pure(gaussian_nll, ("x", "mu"), x[:1], mu[:1], 1.0), (1,),
                 "for a batch of one image")
    # random cases: other image sizes, float64, sigma arrays; the inputs stay untouched
    r = case_rng(11)
    for shape in ((3, 10, 10), (7, 50)):
        xr = r.random(shape)
        mur = xr + r.normal(0.0, 0.3, shape)
        sr = r.uniform(0.1, 1.5, shape)
        for sigma, label in ((float(r.uniform(0.2, 2.0)), "a random scalar sigma"),
                             (sr, "a random sigma per pixel")):
            want = _ref_gaussian_nll(xr, mur, sigma)
            got = _call_pure(gaussian_nll, ("x", "mu", "sigma"), xr, mur, sigma)
            got = expect_shape("output", got, (shape[0],),
                               f"for images of shape {shape} (one NLL per image)")
            expect_close("output", got, want, rtol=1e-4, factors=_FACTORS,
                         case=f" (images of shape {shape}, {label}; do not assume 784 "
                              "pixels)")


def _bce_ok(got, x, p, eps=1e-7) -> bool:
    """Whether ``got`` matches the NLL with ``p`` clipped in float64 or in float32."""
    return any(np.allclose(got, _ref_bernoulli_nll(x, p, eps, dtype), rtol=1e-3)
               for dtype in (np.float64, np.float32))


@checker("bernoulli_nll", forbid=_RECONSTRUCTION_HELPERS)
def check_bernoulli_nll(bernoulli_nll) -> None:
    """``bernoulli_nll(x, p)``: per-image Bernoulli NLL in nats, summed over pixels, clipped."""
    rng, x, _ = _cases(2)
    p = rng.uniform(0.05, 0.95, size=x.shape).astype(np.float32)
    got = expect_shape("output", _call_pure(bernoulli_nll, ("x", "p"), x, p), (len(x),),
                       "(one NLL per image)")
    expect_close("output", got, _ref_bernoulli_nll(x, p), rtol=1e-4, factors=_FACTORS)
    # binary targets, probabilities exactly 0 and 1: the log must be protected by clipping
    xb = (rng.random((4, PIXELS)) < 0.5).astype(np.float32)
    pb = xb.copy()
    pb[:, :10] = 1.0 - pb[:, :10]  # ten confidently wrong pixels per image
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = to_numpy(_call_pure(bernoulli_nll, ("x", "p"), xb, pb), "output")
    if not np.all(np.isfinite(raw)):
        _clip_diagnosis(bernoulli_nll, xb)
        fail("returned NaN or infinity when p is exactly 0 or 1; "
             "did you forget to clip p to [eps, 1 - eps] (eps = 1e-7) before the log?")
    raw = expect_shape("output", raw, (4,))
    if not _bce_ok(raw, xb, pb):
        expect_close("output", raw, _ref_bernoulli_nll(xb, pb), rtol=1e-3, factors=_FACTORS,
                     case=" (p exactly 0 or 1, clipped to [1e-7, 1 - 1e-7] in float64 or "
                          "float32)")
    got = expect_shape("output", _call_pure(bernoulli_nll, ("x", "p"), xb, xb.copy()), (4,))
    expect_true(np.all(got < 1e-3), "a perfect prediction should cost ~0 nats, "
                f"got {got.round(4).tolist()}")
    # the eps argument must be used
    with np.errstate(divide="ignore", invalid="ignore"):
        got = to_numpy(_call_pure(bernoulli_nll, ("x", "p"), xb, pb, eps=1e-3), "output")
    if not _bce_ok(got, xb, pb, eps=1e-3):
        if _bce_ok(got, xb, pb, eps=1e-7):
            fail("bernoulli_nll(x, p, eps=1e-3) gave the same NLL as eps=1e-7: use the "
                 "`eps` argument in the clip instead of a fixed 1e-7")
        expect_close("output", got, _ref_bernoulli_nll(xb, pb, 1e-3), rtol=1e-3,
                     factors=_FACTORS, case=" (eps=1e-3)")
    # random cases: other sizes, float64, grey targets; the inputs stay untouched
    r = case_rng(12)
    for shape in ((3, 10, 10), (6, 30)):
        xr = r.random(shape)
        pr = np.clip(xr + r.normal(0.0, 0.2, shape), 0.0, 1.0)  # some exact 0s and 1s
        with np.errstate(divide="ignore", invalid="ignore"):
            got = _call_pure(bernoulli_nll, ("x", "p"), xr, pr)
        got = expect_shape("output", got, (shape[0],),
                           f"for images of shape {shape} (one NLL per image)")
        if not _bce_ok(got, xr, pr):
            expect_close("output", got, _ref_bernoulli_nll(xr, pr), rtol=1e-3,
                         factors=_FACTORS, case=f" (images of shape {shape}; do not "
                                                "assume 784 pixels)")


def _clip_diagnosis(bernoulli_nll, xb) -> None:
    """Say which end of [eps, 1 - eps] the clip is missing, if only one is."""
    bad = {}
    for end, p in (("0", np.where(xb == 1, 0.0, xb).astype(np.float32)),
                   ("1", np.where(xb == 0, 1.0, xb).astype(np.float32))):
        with np.errstate(divide="ignore", invalid="ignore"):
            bad[end] = not np.all(np.isfinite(to_numpy(bernoulli_nll(xb, p), "output")))
    if bad["1"] and not bad["0"]:
        fail("returned NaN or infinity when p is exactly 1 (for a pixel with x = 0): you "
             "clipped only the low end; clip p to [eps, 1 - eps], both ends")
    if bad["0"] and not bad["1"]:
        fail("returned NaN or infinity when p is exactly 0 (for a pixel with x = 1): you "
             "clipped only the high end; clip p to [eps, 1 - eps], both ends")


@checker("mle_sigma", forbid=_RECONSTRUCTION_HELPERS)
def check_mle_sigma(mle_sigma) -> None:
    """``mle_sigma(x, mu)``: the one sigma that maximises the Gaussian likelihood (a float)."""
    rng, x, mu = _cases(3)
    r = case_rng(13)
    cases = [(x, mu, "scale 1"), (x * 0.1, mu * 0.1, "scale 0.1")]
    # a biased prediction: the errors do not average to zero
    xb = r.random((6, 40))
    cases.append((xb, xb - 0.3 + r.normal(0.0, 0.1, xb.shape), "a biased prediction"))
    for xs, mus, label in cases:
        expected = np.sqrt(np.mean((np.asarray(xs, np.float64) - mus) ** 2))
        got = to_numpy(_call_pure(mle_sigma, ("x", "mu"), xs, mus), "output")
        if got.size != 1:
            fail(f"expected one number (a scalar), got shape {got.shape}; "
                 "one sigma is shared by every pixel of every image")
        got = float(got.ravel()[0])
        if np.isclose(got, expected**2, rtol=1e-4) and not np.isclose(got, expected, rtol=1e-4):
            fail("you returned the variance (the MSE); sigma is its square root")
        err = np.asarray(xs, np.float64) - mus
        if np.isclose(got, err.std(), rtol=1e-4) and not np.isclose(got, expected, rtol=1e-4):
            fail(f"({label}) you returned the standard deviation of the errors, which "
                 "subtracts their mean (np.std); sigma-hat is the root mean squared error "
                 "about the prediction: np.sqrt(np.mean((x - mu) ** 2))")
        expect_close("output", got, expected, rtol=1e-4,
                     factors={float(np.sqrt(np.size(xs))): "did you sum instead of averaging?",
                              float(np.sqrt(PIXELS)): "average over every pixel of every image"},
                     case=f" ({label})")

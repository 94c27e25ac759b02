"""Checkers for assignment 3: denoising and PCA.

References: NumPy, scikit-learn's PCA and SciPy's ``subspace_angles``. Random cases come
from :func:`utils.grading.case_rng`; every check verifies that the caller's arrays are not
modified.
"""

from __future__ import annotations

import numpy as np

from utils.grading import (
    case_rng,
    checker,
    expect_close,
    expect_dtype,
    expect_shape,
    expect_true,
    expect_unchanged,
    fail,
    snapshot,
    to_numpy,
)

REFERENCES = ("utils.checkers.a3._ref_angles", "utils.checkers.a3._ref_psnr")


def _pure(fn, names, *args, **kwargs):
    before = snapshot(*args)
    out = fn(*args, **kwargs)
    for name, arg, old in zip(names, args, before, strict=False):
        if isinstance(arg, np.ndarray):
            expect_unchanged(name, arg, old)
    return out


@checker("add_gaussian_noise", forbid=("utils.data.gaussian_noise",))
def check_add_gaussian_noise(add_gaussian_noise) -> None:
    """``add_gaussian_noise(x, factor, seed)``: x + factor * N(0, 1), clipped to [0, 1]."""
    x = np.full((200, 784), 0.5, dtype=np.float32)
    original = x.copy()
    noisy = expect_shape("output", add_gaussian_noise(x, 0.1, seed=0), x.shape,
                         "(the same shape as x)")
    expect_true(np.array_equal(x, original),
                "modified x in place; return a new array")
    expect_true(abs(float((noisy - x).mean())) < 0.01,
                "the noise should have mean 0 (use a normal, not uniform, "
                "distribution)")
    std = float((noisy - x).std())
    expect_true(abs(std - 0.1) < 0.01,
                f"with factor=0.1 the noise should have standard deviation "
                f"~0.1, got {std:.4f}; multiply standard normal noise by factor")
    again = to_numpy(add_gaussian_noise(x, 0.1, seed=0), "output")
    expect_true(np.array_equal(again, noisy),
                "the same seed must give the same noise "
                "(use np.random.default_rng(seed))")
    other = to_numpy(add_gaussian_noise(x, 0.1, seed=1), "output")
    expect_true(not np.array_equal(other, noisy),
                "different seeds gave identical noise: use the `seed` argument "
                "(np.random.default_rng(seed))")
    strong = to_numpy(add_gaussian_noise(x, 1.0, seed=0), "output")
    if strong.min() < 0.0 or strong.max() > 1.0:
        fail(f"values in [{strong.min():.3f}, {strong.max():.3f}]; "
             "did you forget to clip to [0, 1]? Pixels are intensities")
    expect_true(0.0 in strong and 1.0 in strong,
                "with factor=1 some pixels should be clipped to exactly 0 "
                "and 1")
    zero = to_numpy(add_gaussian_noise(x, 0.0, seed=0), "output")
    expect_close("output", zero, x, case=" (factor=0 must return x unchanged)")
    # real images (random grey levels): the noise is added to each image, fresh per pixel
    r = case_rng(31)
    seed = int(r.integers(2, 10_000))
    imgs = r.uniform(0.25, 0.75, (300, 8, 8)).astype(np.float32)
    out = to_numpy(_pure(add_gaussian_noise, ("x",), imgs, 0.05, seed=seed), "output")
    out = expect_shape("output", out, imgs.shape, "(the same shape as x)")
    noise = out - imgs
    flat = noise.reshape(len(imgs), -1)
    expect_true(not np.allclose(flat, flat[:1], atol=1e-6),
                "every image got the same noise: draw one noise value per pixel of every "
                "image (rng.standard_normal(x.shape))")
    expect_true(not np.allclose(flat, flat[:, :1], atol=1e-6),
                "every pixel of an image got the same noise value: draw one value per "
                "pixel (rng.standard_normal(x.shape))")
    expect_true(abs(float(noise.mean())) < 0.005 and abs(float(noise.std()) - 0.05) < 0.005,
                f"on images with random grey levels, output - x has mean "
                f"{noise.mean():.4f} and std {noise.std():.4f}, expected 0 and 0.05: add "
                "factor * noise to the image x itself")
    corr = abs(np.corrcoef(imgs.ravel(), (noise**2).ravel())[0, 1])
    expect_true(corr < 0.1, "the noise's size depends on the pixel value (multiplicative "
                f"noise? correlation {corr:.2f}); add factor * N(0, 1), the same for every "
                "pixel value")
    # dtype: float32 images stay float32, float64 stay float64
    expect_dtype("output", _pure(add_gaussian_noise, ("x",), imgs, 0.1, seed=seed),
                 np.float32, "return x's dtype: draw the noise, then "
                 ".astype(x.dtype) (float32 images are half the memory)")
    expect_dtype("output", _pure(add_gaussian_noise, ("x",), imgs.astype(np.float64), 0.1,
                                 seed=seed), np.float64, "return x's dtype")


def _data(seed=0, n=300, d=20, offsets=None):
    rng = np.random.default_rng(seed)
    scales = np.linspace(3.0, 0.2, d)
    shift = 5.0 if offsets is None else offsets
    return (rng.standard_normal((n, d)) * scales @ np.linalg.qr(rng.standard_normal((d, d)))[0]
            + shift).astype(np.float32)


@checker("pca_svd", forbid=("sklearn.decomposition.PCA", "sklearn.decomposition.TruncatedSVD"))
def check_pca_svd(pca_svd) -> None:
    """``pca_svd(x, k)`` -> ``(mean (d,), components (k, d), explained_variance (k,))``."""
    from sklearn.decomposition import PCA

    r = case_rng(32)
    cases = [(_data(0), 3), (_data(1), 1)]
    # columns with very different means (a scalar mean does not centre them), and float64
    cases.append((_data(int(r.integers(10, 10_000)), n=120, d=12,
                        offsets=r.uniform(-20, 20, 12)).astype(np.float64), 4))
    for x, k in cases:
        ref = PCA(n_components=k, svd_solver="full").fit(x.astype(np.float64))
        result = _pure(pca_svd, ("x",), x, k)
        if not isinstance(result, tuple | list) or len(result) != 3:
            fail("return a tuple (mean, components, explained_variance)")
        mean, comps, var = result
        mean = to_numpy(mean, "mean")
        if mean.size == 1 and x.shape[1] > 1:
            fail(f"mean: one number; PCA subtracts one mean per feature (column), shape "
                 f"({x.shape[1]},): x.mean(axis=0)")
        expect_close("mean", expect_shape("mean", mean, (x.shape[1],)),
                     ref.mean_, rtol=1e-4, atol=1e-4)
        comps = to_numpy(comps, "components")
        if comps.shape == (x.shape[1], k) and k > 1:
            fail(f"pca_svd components: expected shape ({k}, {x.shape[1]}) (one row per "
                 f"component), got {comps.shape}; transpose, or take rows of Vt")
        comps = expect_shape("components", comps, (k, x.shape[1]))
        norms = np.linalg.norm(comps, axis=1)
        if not np.allclose(norms, 1.0, atol=1e-3):
            fail(f"pca_svd components: row lengths {norms.round(3).tolist()}, expected 1; "
                 "the components are the unit rows of Vt (do not scale them by S)")
        dots = np.abs(np.sum(comps * ref.components_, axis=1))
        if not np.allclose(dots, 1.0, atol=1e-3):
            xd = x.astype(np.float64)
            _, _, vt_raw = np.linalg.svd(xd, full_matrices=False)
            if np.allclose(np.abs(np.sum(comps * vt_raw[:k], axis=1)), 1.0, atol=1e-3):
                fail("pca_svd components: these are the singular vectors of the raw data; "
                     "did you forget to subtract the mean before the SVD?")
            _, _, vt_scalar = np.linalg.svd(xd - xd.mean(), full_matrices=False)
            if np.allclose(np.abs(np.sum(comps * vt_scalar[:k], axis=1)), 1.0, atol=1e-3):
                fail("pca_svd components: you centred with one scalar mean (x.mean()); "
                     "subtract the mean of each column, x.mean(axis=0)")
            full = PCA(svd_solver="full").fit(xd).components_
            rev = np.abs(np.sum(comps * full[::-1][:k], axis=1))
            if k > 1 and np.allclose(rev, 1.0, atol=1e-3):
                fail("pca_svd components: the smallest-variance directions came first; "
                     "sort by variance, largest first (np.linalg.eigh returns ascending)")
            fail(f"pca_svd components: |cosine| with the true directions is "
                 f"{dots.round(3).tolist()}, expected all 1 (unit rows of Vt, largest first)")
        expect_close("explained_variance",
                     expect_shape("explained_variance", var, (k,)),
                     ref.explained_variance_, rtol=1e-3,
                     factors={len(x) / (len(x) - 1):
                              "divide the squared singular values by n - 1, not n",
                              float(len(x) - 1): "variance is S**2 / (n - 1)"},
                     case=f" (k={k})")


def _ref_angles(a, b):
    from scipy.linalg import subspace_angles

    return np.sort(subspace_angles(np.asarray(a, np.float64), np.asarray(b, np.float64)))


def _angle_mistake(got, want) -> str:
    got = np.asarray(got, np.float64).ravel()
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        return ""
    if np.allclose(np.sort(got), np.sort(np.pi / 2 - want), atol=1e-4):
        return ("you computed the arcsine of the cosines (pi/2 - angle); the angles are "
                "np.arccos of the singular values")
    if np.allclose(np.sort(got), np.sort(np.cos(want)), atol=1e-4):
        return "these are the cosines (the singular values); take np.arccos of them"
    if np.allclose(got, want[::-1], atol=1e-5) and not np.allclose(got, want, atol=1e-5):
        return "right angles, wrong order: return them in ascending order (np.sort)"
    return ""


@checker("subspace_angles", forbid=("scipy.linalg.subspace_angles",))
def check_subspace_angles(subspace_angles) -> None:
    """``subspace_angles(a, b)``: principal angles (radians, ascending) between col. spaces."""
    rng = np.random.default_rng(4)
    a = np.linalg.qr(rng.standard_normal((30, 3)))[0]
    got = expect_shape("output", subspace_angles(a, a), (3,), "(one angle per column)")
    if not np.all(np.isfinite(got)):
        fail("NaN for identical subspaces; cosines can round to slightly "
             "above 1: clip them to [-1, 1] before arccos")
    if np.allclose(got, np.pi / 2, atol=1e-4):
        fail("a subspace with itself gave pi/2 everywhere: you computed the arcsine of the "
             "cosines; the angles are np.arccos of the singular values")
    if np.allclose(got, 1.0, atol=1e-4):
        fail("a subspace with itself gave 1 everywhere: these are the cosines (the singular "
             "values); the angles are their np.arccos")
    expect_close("output", got, np.zeros(3), atol=1e-5, case=" (a space with itself)")
    b = np.linalg.qr(rng.standard_normal((30, 3)))[0]
    deg = {float(180 / np.pi): "return radians, not degrees"}
    want = _ref_angles(a, b)
    got = expect_shape("output", subspace_angles(a, b), (3,))
    hint = _angle_mistake(got, want)
    if hint and not np.allclose(got, want, rtol=1e-4, atol=1e-6):
        fail(f"output (orthonormal bases): {hint}")
    expect_close("output", got, want, rtol=1e-4, atol=1e-6, factors=deg,
                 case=" (orthonormal bases)")
    # bases that are not orthonormal span the same spaces: the angles must not change
    a2, b2 = a @ rng.standard_normal((3, 3)), b @ np.diag([5.0, 0.1, 2.0])
    got = expect_shape("output", _pure(subspace_angles, ("a", "b"), a2, b2), (3,))
    if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        fail("the answer changed when the same subspaces were given by "
             "non-orthonormal bases; orthonormalise each (np.linalg.qr) before the SVD")
    # orthogonal planes: every angle is pi/2
    e = np.eye(6)
    expect_close("output", subspace_angles(e[:, :2], e[:, 2:4]), [np.pi / 2] * 2,
                 atol=1e-6, factors=deg, case=" (orthogonal planes)")
    # random cases: another size, float32 bases, partly shared subspaces
    r = case_rng(34)
    d, k = int(r.integers(15, 40)), int(r.integers(2, 5))
    shared = r.standard_normal((d, 1))
    ar = np.c_[shared, r.standard_normal((d, k - 1))].astype(np.float32)
    br = np.c_[shared + 0.01 * r.standard_normal((d, 1)), r.standard_normal((d, k - 1))]
    want = _ref_angles(ar, br)
    got = expect_shape("output", _pure(subspace_angles, ("a", "b"), ar, br), (k,),
                       "(one angle per column)")
    hint = _angle_mistake(got, want)
    if hint and not np.allclose(got, want, atol=1e-4):
        fail(f"output (random {d}x{k} bases): {hint}")
    expect_close("output", got, want, rtol=1e-3, atol=1e-4, factors=deg,
                 case=f" (random {d}x{k} bases, one float32)")


def _ref_psnr(a, b, r=1.0):
    a = np.asarray(a, np.float64)
    mse = ((a - np.asarray(b, np.float64)) ** 2).reshape(len(a), -1).mean(axis=1)
    return 10 * np.log10(r**2 / mse)


def _psnr_guess(got, x, x_hat, data_range) -> None:
    """Name the mistake when ``got`` is PSNR with the brightest pixel as the range."""
    a = np.asarray(x, np.float64).reshape(len(x), -1)
    mse = ((a - np.asarray(x_hat, np.float64).reshape(len(x), -1)) ** 2).mean(axis=1)
    peak = 10 * np.log10(a.max(axis=1) ** 2 / mse)
    if (np.allclose(got, peak, rtol=1e-6) and not np.allclose(
            got, 10 * np.log10(data_range**2 / mse), rtol=1e-6)):
        fail("you used the brightest pixel of each image as the range; the range is the "
             "data_range argument (1 for pixels in [0, 1], 255 for bytes)")
    if data_range != 1.0 and np.allclose(got, 10 * np.log10(data_range / mse), rtol=1e-6):
        fail(f"with data_range={data_range:g} you used the range, not its square: PSNR is "
             "10 log10(range**2 / MSE), or 20 log10(range / RMSE)")


@checker("psnr", forbid=("utils.metrics.psnr_per_image", "utils.metrics.psnr",
                         "skimage.metrics.peak_signal_noise_ratio"))
def check_psnr(psnr) -> None:
    """``psnr(x, x_hat, data_range=1.0)``: per-image PSNR in dB, shape (batch,)."""
    rng = np.random.default_rng(5)
    x = rng.random((6, 28, 28)).astype(np.float32)
    x_hat = np.clip(x + rng.normal(0, 0.05, x.shape) * np.arange(1, 7)[:, None, None],
                    0, 1).astype(np.float32)
    ref = _ref_psnr
    factors = {2.0: "PSNR is 10 log10(range^2 / MSE), or 20 log10(range / RMSE)",
               float(np.log(10)): "use log10, not the natural log"}
    got = expect_shape("output", _pure(psnr, ("x", "x_hat"), x, x_hat), (len(x),),
                       "(one PSNR per image)")
    _psnr_guess(got, x, x_hat, 1.0)
    expect_close("output", got, ref(x, x_hat), rtol=1e-4, factors=factors)
    got = expect_shape("output", psnr(x * 255, x_hat * 255, data_range=255.0), (len(x),))
    _psnr_guess(got, x * 255, x_hat * 255, 255.0)
    expect_close("output", got, ref(x, x_hat), rtol=1e-4, factors=factors,
                 case=" (pixels in [0, 255] with data_range=255: the same dB)")
    x2 = x.reshape(len(x), -1)
    expect_close("output", expect_shape("output", psnr(x2, x_hat.reshape(len(x), -1)), (len(x),)),
                 ref(x, x_hat), rtol=1e-4, factors=factors, case=" (flat images)")
    # dim images: the range is data_range, not the brightest pixel
    r = case_rng(35)
    dim = (r.random((5, 12, 12)) * 0.5).astype(np.float32)
    dim_hat = np.clip(dim + r.normal(0, 0.03, dim.shape), 0, 1).astype(np.float32)
    for rng_value in (1.0, 2.0):
        got = expect_shape("output", _pure(psnr, ("x", "x_hat"), dim, dim_hat,
                                           data_range=rng_value), (5,))
        want = ref(dim, dim_hat, rng_value)
        if not np.allclose(got, want, rtol=1e-4):
            if rng_value != 1.0 and np.allclose(got, ref(dim, dim_hat, 1.0), rtol=1e-4):
                fail(f"images in [0, 0.5] with data_range={rng_value}: you ignored the "
                     "data_range argument (it enters as range**2)")
            _psnr_guess(got, dim, dim_hat, rng_value)
            expect_close("output", got, want, rtol=1e-4, factors=factors,
                         case=f" (images in [0, 0.5], data_range={rng_value})")
    # bytes: uint8 arithmetic wraps around
    xu = (r.random((4, 28, 28, 1)) * 255).astype(np.uint8)
    xu_hat = np.clip(xu.astype(int) + r.integers(-20, 21, xu.shape), 0, 255).astype(np.uint8)
    got = expect_shape("output", _pure(psnr, ("x", "x_hat"), xu, xu_hat, data_range=255),
                       (4,), "(images of shape (N, 28, 28, 1): one PSNR per image)")
    want = ref(xu, xu_hat, 255.0)
    if not np.allclose(got, want, rtol=1e-4):
        fail(f"uint8 images (0-255, data_range=255): expected {want.round(3).tolist()[:3]}, "
             f"got {np.round(got, 3).tolist()[:3]}; convert to float before subtracting "
             "(uint8 differences wrap around: 3 - 5 = 254)")

"""Checkers for assignment 3: denoising and PCA.

References: NumPy, scikit-learn's PCA and SciPy's ``subspace_angles``.
"""

from __future__ import annotations

import numpy as np

from utils.grading import checker, expect_close, expect_shape, expect_true, fail, to_numpy


@checker("add_gaussian_noise")
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
                "different seeds gave identical noise")
    strong = to_numpy(add_gaussian_noise(x, 1.0, seed=0), "output")
    if strong.min() < 0.0 or strong.max() > 1.0:
        fail(f"values in [{strong.min():.3f}, {strong.max():.3f}]; "
             "did you forget to clip to [0, 1]? Pixels are intensities")
    expect_true(0.0 in strong and 1.0 in strong,
                "with factor=1 some pixels should be clipped to exactly 0 "
                "and 1")
    zero = to_numpy(add_gaussian_noise(x, 0.0, seed=0), "output")
    expect_close("output", zero, x, case=" (factor=0 must return x unchanged)")


def _data(seed=0, n=300, d=20):
    rng = np.random.default_rng(seed)
    scales = np.linspace(3.0, 0.2, d)
    return (rng.standard_normal((n, d)) * scales @ np.linalg.qr(rng.standard_normal((d, d)))[0]
            + 5.0).astype(np.float32)


@checker("pca_svd")
def check_pca_svd(pca_svd) -> None:
    """``pca_svd(x, k)`` -> ``(mean (d,), components (k, d), explained_variance (k,))``."""
    from sklearn.decomposition import PCA

    for seed, k in ((0, 3), (1, 1)):
        x = _data(seed)
        ref = PCA(n_components=k, svd_solver="full").fit(x.astype(np.float64))
        result = pca_svd(x, k)
        if not isinstance(result, tuple) or len(result) != 3:
            fail("return a tuple (mean, components, explained_variance)")
        mean, comps, var = result
        expect_close("mean", expect_shape("mean", mean, (x.shape[1],)),
                     ref.mean_, rtol=1e-4, atol=1e-4)
        comps = to_numpy(comps, "components")
        if comps.shape == (x.shape[1], k) and k > 1:
            fail(f"pca_svd components: expected shape ({k}, {x.shape[1]}) (one row per "
                 f"component), got {comps.shape}; transpose, or take rows of Vt")
        comps = expect_shape("components", comps, (k, x.shape[1]))
        dots = np.abs(np.sum(comps * ref.components_, axis=1))
        if not np.allclose(dots, 1.0, atol=1e-3):
            _, _, vt_raw = np.linalg.svd(x.astype(np.float64), full_matrices=False)
            if np.allclose(np.abs(np.sum(comps * vt_raw[:k], axis=1)), 1.0, atol=1e-3):
                fail("pca_svd components: these are the singular vectors of the raw data; "
                     "did you forget to subtract the mean before the SVD?")
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


@checker("subspace_angles")
def check_subspace_angles(subspace_angles) -> None:
    """``subspace_angles(a, b)``: principal angles (radians, ascending) between col. spaces."""
    rng = np.random.default_rng(4)
    a = np.linalg.qr(rng.standard_normal((30, 3)))[0]
    got = expect_shape("output", subspace_angles(a, a), (3,), "(one angle per column)")
    if not np.all(np.isfinite(got)):
        fail("NaN for identical subspaces; cosines can round to slightly "
             "above 1: clip them to [-1, 1] before arccos")
    expect_close("output", got, np.zeros(3), atol=1e-5, case=" (a space with itself)")
    b = np.linalg.qr(rng.standard_normal((30, 3)))[0]
    deg = {float(180 / np.pi): "return radians, not degrees"}
    expect_close("output", subspace_angles(a, b), _ref_angles(a, b), rtol=1e-4,
                 atol=1e-6, factors=deg, case=" (orthonormal bases)")
    # bases that are not orthonormal span the same spaces: the angles must not change
    a2, b2 = a @ rng.standard_normal((3, 3)), b @ np.diag([5.0, 0.1, 2.0])
    got = expect_shape("output", subspace_angles(a2, b2), (3,))
    if not np.allclose(got, _ref_angles(a, b), rtol=1e-4, atol=1e-5):
        fail("the answer changed when the same subspaces were given by "
             "non-orthonormal bases; orthonormalise each (np.linalg.qr) before the SVD")
    # orthogonal planes: every angle is pi/2
    e = np.eye(6)
    expect_close("output", subspace_angles(e[:, :2], e[:, 2:4]), [np.pi / 2] * 2,
                 atol=1e-6, factors=deg, case=" (orthogonal planes)")


@checker("psnr")
def check_psnr(psnr) -> None:
    """``psnr(x, x_hat, data_range=1.0)``: per-image PSNR in dB, shape (batch,)."""
    rng = np.random.default_rng(5)
    x = rng.random((6, 28, 28)).astype(np.float32)
    x_hat = np.clip(x + rng.normal(0, 0.05, x.shape) * np.arange(1, 7)[:, None, None],
                    0, 1).astype(np.float32)

    def ref(a, b, r=1.0):
        mse = ((np.asarray(a, np.float64) - b) ** 2).reshape(len(a), -1).mean(axis=1)
        return 10 * np.log10(r**2 / mse)

    factors = {2.0: "PSNR is 10 log10(range^2 / MSE), or 20 log10(range / RMSE)",
               float(np.log(10)): "use log10, not the natural log"}
    got = expect_shape("output", psnr(x, x_hat), (len(x),), "(one PSNR per image)")
    expect_close("output", got, ref(x, x_hat), rtol=1e-4, factors=factors)
    got = expect_shape("output", psnr(x * 255, x_hat * 255, data_range=255.0), (len(x),))
    expect_close("output", got, ref(x, x_hat), rtol=1e-4, factors=factors,
                 case=" (pixels in [0, 255] with data_range=255: the same dB)")
    x2 = x.reshape(len(x), -1)
    expect_close("output", expect_shape("output", psnr(x2, x_hat.reshape(len(x), -1)), (len(x),)),
                 ref(x, x_hat), rtol=1e-4, factors=factors, case=" (flat images)")

"""Wrong answers of every kind the issue lists, and right answers that used to be rejected.

Kinds: properties the old inputs could not reveal (a bias never added, noise shared by
every image or ignoring it, one scalar mean, an ignored argument, dtype changes, mutation
of the caller's array), the course's own helpers and the checkers' references called
under another name, and misleading messages.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras import ops  # noqa: E402

from utils import metrics  # noqa: E402
from utils.checkers import a1, a2, a3, a4, a5  # noqa: E402
from utils.grading import CheckFailed  # noqa: E402


def _flat(a):
    a = np.asarray(a, np.float64)
    return a.reshape(len(a), -1)


# ---------------------------------------------------------------- A1
def gaussian_ok(x, mu, sigma):
    x, mu = _flat(x), _flat(mu)
    s = np.asarray(sigma, np.float64)
    s = s.reshape(len(x), -1) if s.ndim else s
    return np.broadcast_to(0.5 * np.log(2 * np.pi * s**2) + (x - mu) ** 2 / (2 * s**2),
                           x.shape).sum(axis=1)


def bernoulli_float32(x, p, eps=1e-7):
    """The natural float32 version (Keras's own arithmetic): a right answer."""
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    p = np.clip(np.asarray(p, np.float32).reshape(len(x), -1), eps, 1 - eps)
    return -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)


def bernoulli_ok(x, p, eps=1e-7):
    x, p = _flat(x), np.clip(_flat(p), eps, 1 - eps)
    return -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)


def test_float32_bernoulli_is_accepted():
    assert a1.check_bernoulli_nll(bernoulli_float32) is True


def _bern_in_place(x, p, eps=1e-7):
    np.clip(p, eps, 1 - eps, out=p)  # clips the caller's array
    return bernoulli_ok(x, p, eps)


def _gauss_in_place(x, mu, sigma):
    x -= mu  # the caller's x now holds the errors
    return gaussian_ok(x, np.zeros_like(x), sigma)


@pytest.mark.parametrize("check, wrong, match", [
    (a1.check_bernoulli_nll, lambda x, p, eps=1e-7: bernoulli_ok(x, p), "eps=1e-3.*use the "
     "`eps` argument"),
    (a1.check_bernoulli_nll, lambda x, p, eps=1e-7: bernoulli_ok(x, np.minimum(
        np.asarray(p, np.float64), 1 - eps), 0.0) if False else _low_clip_only(x, p, eps),
     "exactly 1.*clipped only the low end"),
    (a1.check_bernoulli_nll, lambda x, p, eps=1e-7: bernoulli_ok(
        np.asarray(x).reshape(-1, 784), np.asarray(p).reshape(-1, 784), eps),
     "do not assume 784|shape"),
    (a1.check_bernoulli_nll, _bern_in_place, "modified its argument `p` in place"),
    (a1.check_gaussian_nll, _gauss_in_place, "modified its argument `x` in place"),
    (a1.check_gaussian_nll, lambda x, m, s: gaussian_ok(
        np.asarray(x).reshape(-1, 784), np.asarray(m).reshape(-1, 784),
        np.asarray(s).reshape(-1, 784) if np.ndim(s) else s), "784|shape"),
    (a1.check_gaussian_nll, lambda x, m, s: gaussian_ok(x, m, np.mean(s)),
     "one sigma per pixel"),  # sigma array averaged away: an ignored argument
    (a1.check_mle_sigma, lambda x, m: float(np.std(np.asarray(x, np.float64) - m)),
     "standard deviation of the errors.*np.std"),
    (a1.check_bernoulli_nll, lambda x, p, eps=1e-7: metrics.bce_per_image(x, p, eps) *
     _flat(x).shape[1], "calls utils.metrics.bce_per_image"),
    (a1.check_bernoulli_nll, functools.partial(a1._ref_bernoulli_nll),
     "calls the checker's a1._ref_bernoulli_nll"),
    (a1.check_mle_sigma, lambda x, m: float(np.sqrt(metrics.mse_per_image(x, m).mean())),
     "calls utils.metrics.mse_per_image"),
])
def test_a1_kinds(check, wrong, match):
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(CheckFailed,
                                                                         match=match):
        check(wrong)


def _low_clip_only(x, p, eps=1e-7):
    x, p = _flat(x), np.maximum(_flat(p), eps)
    return -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)


def test_aliased_reference_is_caught():
    ref = a1._ref_gaussian_nll  # an alias bound before the check runs

    def sneaky(x, mu, sigma):
        return ref(x, mu, sigma)

    with pytest.raises(CheckFailed, match="_ref_gaussian_nll"):
        a1.check_gaussian_nll(sneaky)


# ---------------------------------------------------------------- A3
def noise_ok(x, factor, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(x + factor * rng.standard_normal(x.shape).astype(x.dtype), 0.0, 1.0)


def _noise_shared(x, f, seed=0):  # one noise image for the whole batch
    eps = np.random.default_rng(seed).standard_normal(x.shape[1:]).astype(x.dtype)
    return np.clip(x + f * eps, 0, 1)


def _noise_per_image(x, f, seed=0):  # one noise value per image
    eps = np.random.default_rng(seed).standard_normal((len(x),) + (1,) * (x.ndim - 1))
    return np.clip(x + f * eps.astype(x.dtype), 0, 1)


def _noise_ignores_image(x, f, seed=0):  # noise around the mean grey level, not x
    eps = np.random.default_rng(seed).standard_normal(x.shape).astype(x.dtype)
    return np.clip(np.full_like(x, x.mean()) + f * eps, 0, 1)


def _noise_multiplicative(x, f, seed=0):
    eps = np.random.default_rng(seed).standard_normal(x.shape).astype(x.dtype)
    return np.clip(x + 2 * f * x * eps, 0, 1)


def _noise_float64(x, f, seed=0):
    return np.clip(x + f * np.random.default_rng(seed).standard_normal(x.shape), 0, 1)


def _noise_fixed_seed(x, f, seed=0):
    return noise_ok(x, f, seed=0)


@pytest.mark.parametrize("wrong, match", [
    (_noise_shared, "every image got the same noise"),
    (_noise_per_image, "every pixel of an image got the same noise"),
    (_noise_ignores_image, "add factor \\* noise to the image x itself"),
    (_noise_multiplicative, "depends on the pixel value"),
    (_noise_float64, "returned dtype float64 for float32 input"),
    (_noise_fixed_seed, "different seeds gave identical noise"),
    (lambda x, f, seed=0: __import__("utils").data.gaussian_noise(x, f, seed),
     "calls utils.data.gaussian_noise"),
])
def test_a3_noise_kinds(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a3.check_add_gaussian_noise(wrong)


def pca_ok(x, k):
    x = np.asarray(x, np.float64)
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt[:k], s[:k] ** 2 / (len(x) - 1)


def _pca_scalar_mean(x, k):
    x = np.asarray(x, np.float64)
    _, s, vt = np.linalg.svd(x - x.mean(), full_matrices=False)
    return x.mean(axis=0), vt[:k], s[:k] ** 2 / (len(x) - 1)


def _pca_scaled(x, k):
    mean, comps, var = pca_ok(x, k)
    return mean, comps * np.sqrt(var)[:, None], var


def _pca_eigh_ascending(x, k):
    x = np.asarray(x, np.float64)
    w, v = np.linalg.eigh(np.cov(x, rowvar=False))
    return x.mean(axis=0), v[:, :k].T, w[:k]


def _pca_eigh_ok(x, k):
    x = np.asarray(x, np.float64)
    w, v = np.linalg.eigh(np.cov(x, rowvar=False))
    return x.mean(axis=0), v[:, ::-1][:, :k].T, w[::-1][:k]


def _pca_in_place(x, k):
    mean = x.mean(axis=0)
    x -= mean
    _, s, vt = np.linalg.svd(x.astype(np.float64), full_matrices=False)
    return mean, vt[:k], s[:k] ** 2 / (len(x) - 1)


def _pca_sklearn(x, k):
    from sklearn.decomposition import PCA as P  # noqa: N817 (an alias)

    p = P(k).fit(x)
    return p.mean_, p.components_, p.explained_variance_


def test_pca_alternatives_pass():
    assert a3.check_pca_svd(_pca_eigh_ok) is True


@pytest.mark.parametrize("wrong, match", [
    (_pca_scalar_mean, "one scalar mean"),
    (_pca_scaled, "row lengths .* expected 1"),
    (_pca_eigh_ascending, "smallest-variance directions came first"),
    (_pca_in_place, "modified its argument `x` in place"),
    (_pca_sklearn, "calls sklearn.decomposition"),
])
def test_a3_pca_kinds(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a3.check_pca_svd(wrong)


def angles_ok(a, b):
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    return np.sort(np.arccos(np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), -1, 1)))


def _angles_normalised_in_place(a, b):
    a /= np.linalg.norm(a, axis=0)
    return angles_ok(a, b)


@pytest.mark.parametrize("wrong, match", [
    (lambda a, b: np.sort(np.arcsin(np.clip(np.linalg.svd(
        np.linalg.qr(a)[0].T @ np.linalg.qr(b)[0], compute_uv=False), -1, 1))), "arcsine"),
    (lambda a, b: np.linalg.svd(np.linalg.qr(a)[0].T @ np.linalg.qr(b)[0],
                                compute_uv=False), "cosines|arccos"),
    (lambda a, b: angles_ok(a, b)[::-1], "ascending order"),
    (_angles_normalised_in_place, "modified its argument `a` in place"),
    (lambda a, b: __import__("scipy.linalg").linalg.subspace_angles(a, b)[::-1],
     "calls scipy.linalg"),
])
def test_a3_angle_kinds(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a3.check_subspace_angles(wrong)


def psnr_ok(x, y, data_range=1.0):
    mse = ((_flat(x) - _flat(y)) ** 2).mean(axis=1)
    return 10 * np.log10(data_range**2 / mse)


def _psnr_peak(x, y, data_range=1.0):  # the brightest pixel as the range
    peak = _flat(x).max(axis=1)
    return 10 * np.log10(peak**2 / ((_flat(x) - _flat(y)) ** 2).mean(axis=1))


def _psnr_uint8(x, y, data_range=1.0):  # subtracts in the input dtype
    d = (np.asarray(x) - np.asarray(y)).reshape(len(x), -1).astype(np.float64)
    return 10 * np.log10(data_range**2 / (d**2).mean(axis=1))


@pytest.mark.parametrize("wrong, match", [
    (_psnr_peak, "brightest pixel"),
    (_psnr_uint8, "uint8 arithmetic wraps|uint8 differences wrap"),
    (lambda x, y, data_range=1.0: 10 * np.log10(data_range / ((_flat(x) - _flat(y)) ** 2)
                                                .mean(axis=1)), "not its square"),
    (lambda x, y, data_range=1.0: metrics.psnr_per_image(x, y, data_range),
     "calls utils.metrics.psnr_per_image"),
])
def test_a3_psnr_kinds(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a3.check_psnr(wrong)


# ---------------------------------------------------------------- A5
def _scores_in_place(model, x):
    x -= np.asarray(model.predict(x, verbose=0), x.dtype)
    return (x.astype(np.float64) ** 2).sum(axis=1)


def _auroc_alias(labels, scores):
    from sklearn.metrics import roc_auc_score as area  # an alias defeats a name scan

    return float(area(labels, scores))


def _detect_sorts_in_place(val, test, f):
    if not 0 < f < 1:
        raise ValueError("target_fpr")
    val.sort()
    tau = float(val[int(np.ceil((1 - f) * (len(val) - 1)))])
    return tau, test > tau


@pytest.mark.parametrize("check, wrong, match", [
    (a5.check_anomaly_scores, _scores_in_place, "modified its argument `x` in place"),
    (a5.check_anomaly_scores, lambda m, x: metrics.squared_error_per_image(
        x, m.predict(x, verbose=0)), "calls utils.metrics.squared_error_per_image"),
    (a5.check_auroc, _auroc_alias, "calls sklearn.metrics"),
    (a5.check_auroc, lambda y, s: metrics.auroc(y, s), "calls utils.metrics.auroc"),
    (a5.check_auroc, functools.partial(a5._pair_auc, tie=0.5), "calls the checker's a5"),
    (a5.check_auroc, lambda y, s: __import__("scipy.stats").stats.mannwhitneyu(
        np.asarray(s)[np.asarray(y, bool)], np.asarray(s)[~np.asarray(y, bool)]).statistic
     / (np.sum(y) * (len(y) - np.sum(y))), "calls scipy.stats"),
    (a5.check_detect, _detect_sorts_in_place, "modified its argument `val_scores` in place"),
])
def test_a5_kinds(check, wrong, match):
    with pytest.raises(CheckFailed, match=match):
        check(wrong)


# ---------------------------------------------------------------- A2 and A4 (Keras)
class TiedNoBias(keras.layers.Layer):
    """Creates the bias but never adds it: a zero-initialised bias used to hide this."""

    def __init__(self, tied_to, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.tied_to, self.activation = tied_to, keras.activations.get(activation)

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(self.tied_to.kernel.shape[0],), initializer="zeros")

    def call(self, z):
        return self.activation(ops.matmul(z, ops.transpose(self.tied_to.kernel)))


class TiedAlwaysSigmoid(TiedNoBias):
    def call(self, z):
        return ops.sigmoid(ops.matmul(z, ops.transpose(self.tied_to.kernel)) + self.bias)


@pytest.mark.parametrize("wrong, match", [
    (TiedNoBias, "ignores the bias"),
    (TiedAlwaysSigmoid, "must be linear|instead of the activation"),
])
def test_a2_tied_kinds(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a2.check_dense_tied(wrong)


class DeepSubclassed(keras.Model):
    """A right answer as an unbuilt subclassed model (used to crash the check)."""

    def __init__(self, input_dim, hidden, code_dim):
        super().__init__()
        widths = [input_dim, *hidden, code_dim]
        if code_dim < 1 or any(b >= a for a, b in zip(widths, widths[1:], strict=False)):
            raise ValueError("code_dim / hidden: widths must shrink")
        self.enc = [keras.layers.Dense(n, activation="relu") for n in hidden]
        self.code = keras.layers.Dense(code_dim)
        self.dec = [keras.layers.Dense(n, activation="relu") for n in hidden[::-1]]
        self.out = keras.layers.Dense(input_dim, activation="sigmoid")

    def call(self, x):
        for layer in [*self.enc, self.code, *self.dec, self.out]:
            x = layer(x)
        return x


def _deep_functional(input_dim, hidden, code_dim, hidden_act="relu", code_act=None):
    widths = [input_dim, *hidden, code_dim]
    if code_dim < 1 or any(b >= a for a, b in zip(widths, widths[1:], strict=False)):
        raise ValueError("code_dim / hidden: widths must shrink")
    inputs = keras.Input((input_dim,))
    h = inputs
    for n in hidden:
        h = keras.layers.Dense(n, activation=hidden_act)(h)
    h = keras.layers.Dense(code_dim, activation=code_act)(h)
    for n in hidden[::-1]:
        h = keras.layers.Dense(n, activation=hidden_act)(h)
    return keras.Model(inputs, keras.layers.Dense(input_dim, activation="sigmoid")(h))


def test_unbuilt_subclassed_deep_ae_is_accepted(capsys):
    assert a2.check_build_deep_autoencoder(DeepSubclassed) is True
    assert "PASSED  build_deep_autoencoder" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, match", [
    (functools.partial(_deep_functional, code_act="relu"), "code layer has a ReLU"),
    (functools.partial(_deep_functional, hidden_act="sigmoid"), "hidden layers use a sigmoid"),
])
def test_a2_deep_kinds(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a2.check_build_deep_autoencoder(wrong)


def test_a_crashing_check_still_prints_one_line(capsys):
    class Broken(keras.Model):  # build() returns an object the check cannot use
        def __init__(self, *a):
            super().__init__()

        def call(self, x):
            return x[:, :3]

    with pytest.raises(CheckFailed, match="build_deep_autoencoder"):
        a2.check_build_deep_autoencoder(Broken)
    assert capsys.readouterr().out.count("FAILED  build_deep_autoencoder") == 1


class SamplingOk(keras.layers.Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mu, log_var = inputs
        return mu + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mu),
                                                                 seed=self.seed_generator)


class SamplingSharedRow(SamplingOk):  # one eps per latent dimension, shared by the batch
    def call(self, inputs):
        mu, log_var = inputs
        eps = keras.random.normal((ops.shape(mu)[1],), seed=self.seed_generator)
        return mu + ops.exp(0.5 * log_var) * eps


class SamplingSharedColumn(SamplingOk):  # one eps per example, shared by its dimensions
    def call(self, inputs):
        mu, log_var = inputs
        eps = keras.random.normal((ops.shape(mu)[0], 1), seed=self.seed_generator)
        return mu + ops.exp(0.5 * log_var) * eps


class SamplingFirstRowOnly(SamplingOk):  # uses the first example's sigma for every row
    def call(self, inputs):
        mu, log_var = inputs
        eps = keras.random.normal(ops.shape(mu), seed=self.seed_generator)
        return mu + ops.exp(0.5 * log_var[:1]) * eps


@pytest.mark.parametrize("wrong, match", [
    (SamplingSharedRow, "every example in the batch got the same noise"),
    (SamplingSharedColumn, "noise of different latent dimensions is correlated"),
    (SamplingFirstRowOnly, "each example's own mu"),
])
def test_a4_sampling_kinds(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a4.check_sampling(wrong)


def test_a4_reference_is_refused():
    with pytest.raises(CheckFailed, match="calls the checker's a4._kl_ref"):
        a4.check_kl_divergence(lambda mu, log_var: a4._kl_ref(mu, log_var))


def test_a5_hamming_helper_is_refused():
    from utils import retrieval

    def ball(db, q, r):
        d = retrieval.hamming_distances(np.asarray(q, bool)[None], np.asarray(db, bool))
        return np.flatnonzero(np.ravel(d) <= r)

    with pytest.raises(CheckFailed, match="calls utils.retrieval.hamming_distances"):
        a5.check_hamming_ball(ball)

"""utils.likelihood against an exact likelihood computed by quadrature (1-d latent)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.special import expit, log_expit

from utils import likelihood

A = np.array([2.0, -1.5, 0.5], dtype="float32")  # decoder weights: logits = A z + B
B = np.array([-0.3, 0.8, 0.1], dtype="float32")


def _models(mean_shift=0.0):
    x_in = keras.Input((3,))
    mean = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(0.4),
                              bias_initializer=keras.initializers.Constant(mean_shift))(x_in)
    log_var = keras.layers.Dense(1, kernel_initializer="zeros",
                                 bias_initializer=keras.initializers.Constant(-0.5))(x_in)
    encoder = keras.Model(x_in, [mean, log_var])
    z_in = keras.Input((1,))
    logits = keras.layers.Dense(3, kernel_initializer=keras.initializers.Constant(A[None]),
                                bias_initializer=keras.initializers.Constant(B))(z_in)
    return encoder, keras.Model(z_in, logits)


def _exact_nll(x):
    """-log p(x) = -log of the integral of p(x|z) N(z; 0, 1) over z, on a fine grid."""
    z = np.linspace(-12, 12, 48_001)
    logits = np.outer(z, A) + B
    log_px_z = (x * log_expit(logits) + (1 - x) * log_expit(-logits)).sum(axis=1)
    log_joint = log_px_z - 0.5 * z ** 2 - 0.5 * np.log(2 * np.pi)
    peak = log_joint.max()
    return -(peak + np.log(np.trapezoid(np.exp(log_joint - peak), z)))


X = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 1], [0, 0, 0]], dtype="float32")


def test_many_samples_reach_the_exact_likelihood():
    encoder, decoder = _models()
    nll, neg_elbo, spread = likelihood.importance_weighted_nll(encoder, decoder, X, k=20_000,
                                                               batch=2, seed=1)
    exact = np.array([_exact_nll(x) for x in X])
    np.testing.assert_allclose(nll, exact, atol=0.03)  # Monte Carlo error ~0.01
    assert np.all(neg_elbo > exact), "the -ELBO is an upper bound on -log p(x)"
    assert np.all(spread > 0)


def test_the_bound_tightens_with_k_and_one_sample_is_the_elbo():
    encoder, decoder = _models(mean_shift=1.0)  # a poor proposal: a loose bound
    x = np.repeat(X, 50, axis=0)
    nll = {k: likelihood.importance_weighted_nll(encoder, decoder, x, k=k, seed=2)[0].mean()
           for k in (1, 10, 1000)}
    assert nll[1] > nll[10] > nll[1000]
    one, neg_elbo, spread = likelihood.importance_weighted_nll(encoder, decoder, x, k=1, seed=2)
    np.testing.assert_allclose(one, neg_elbo, rtol=1e-12)  # k = 1: the estimate is -log w
    np.testing.assert_array_equal(spread, 0.0)


def test_log_weights_match_numpy():
    encoder, decoder = _models()
    rng = np.random.default_rng(0)
    eps = rng.standard_normal((5, len(X), 1)).astype("float32")
    got = keras.ops.convert_to_numpy(likelihood.log_importance_weights(encoder, decoder, X, eps))
    mean, log_var = 0.4 * X.sum(axis=1, keepdims=True), -0.5
    z = mean + np.exp(0.5 * log_var) * eps  # (5, 4, 1)
    p = expit(z * A + B)
    log_px = (X * np.log(p) + (1 - X) * np.log(1 - p)).sum(-1)
    log_pz = -0.5 * (z[..., 0] ** 2 + np.log(2 * np.pi))
    log_qz = -0.5 * (eps[..., 0] ** 2 + log_var + np.log(2 * np.pi))
    np.testing.assert_allclose(got, log_px + log_pz - log_qz, rtol=1e-5, atol=1e-5)


def test_batching_and_seed_make_it_reproducible():
    encoder, decoder = _models()
    a = likelihood.importance_weighted_nll(encoder, decoder, X, k=7, batch=4, seed=3)
    b = likelihood.importance_weighted_nll(encoder, decoder, X, k=7, batch=4, seed=3)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


def test_a_last_batch_of_another_size_is_scored_too():
    # 5 images in batches of 2: the compiled step meets a second shape (and a relaxed trace).
    encoder, decoder = _models()
    x = np.concatenate([X, X[:1]])
    nll, _, _ = likelihood.importance_weighted_nll(encoder, decoder, x, k=20_000, batch=2,
                                                   seed=4)
    exact = np.array([_exact_nll(row) for row in x])
    np.testing.assert_allclose(nll, exact, atol=0.03)


@pytest.mark.parametrize("kwargs, message", [
    ({"k": 0}, "k: expected a positive integer"),
    ({"batch": 2.5}, "batch: expected a positive integer"),
    ({"x": np.zeros((2, 3, 1))}, r"x: expected binary images of shape \(N, pixels\)"),
])
def test_bad_arguments_are_named(kwargs, message):
    encoder, decoder = _models()
    args = {"x": X, **kwargs}
    with pytest.raises(ValueError, match=message):
        likelihood.importance_weighted_nll(encoder, decoder, **args)

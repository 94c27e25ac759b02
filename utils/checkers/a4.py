"""Checkers for assignment 4: the variational autoencoder (Keras 3, TensorFlow backend).

References are computed here with NumPy in float64: the closed-form KL divergence, the
Bernoulli negative log-likelihood summed over pixels, and the moments of the
reparameterised samples. The model checks build tiny encoders and decoders with known
weights, so they run in seconds.
"""

from __future__ import annotations

import contextlib
import time
import warnings

import numpy as np

from utils.grading import call_student as _call
from utils.grading import case_rng, checker, expect_shape, expect_true, fail, to_numpy

REFERENCES = ("utils.checkers.a4._kl_ref", "utils.checkers.a4._bce_ref",
              "utils.checkers.a4.independent_neg_elbo")

#: The trained VAE of Task 5 must reach this test -ELBO (nats per image, binarised MNIST).
#: Measured: 115.3 nats with the solution's 784-256-16 model (15,000 images, 8 epochs).
VAE_TARGET_NEG_ELBO = 120.0
EPS = 1e-7  # the clip of the instructions (and of Keras's binary cross-entropy)

NOISE_AT_INFERENCE = ("noise added at inference: two calls on the same input differ; "
                      "decode the mean at test time (z = mu, no sampling)")


def _kl_ref(mu, log_var) -> np.ndarray:
    mu, log_var = np.asarray(mu, np.float64), np.asarray(log_var, np.float64)
    return -0.5 * np.sum(1.0 + log_var - mu**2 - np.exp(log_var), axis=-1)


def _bce_ref(x, p) -> np.ndarray:
    """Bernoulli NLL summed over pixels, clipping as float32 code does."""
    p = np.clip(np.asarray(p, np.float32), np.float32(EPS), np.float32(1 - EPS))
    p, x = p.astype(np.float64), np.asarray(x, np.float64)
    return -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=-1)


def _in_tf_function(fn, *arrays):
    """Run ``fn`` on TensorFlow tensors inside a ``tf.function``, as ``train_step`` does."""
    import tensorflow as tf

    return tf.function(fn, autograph=False)(*(tf.constant(a) for a in arrays))


def _elbo_mistake(got, recon, kl, d) -> str:
    """Name the mistake when ``got`` (one scalar per case) is not mean(recon + kl).

    ``recon`` and ``kl`` are lists (one per case) of per-example arrays; ``d`` the list of
    latent sizes.
    """
    got = np.asarray(got, np.float64)
    mean = np.mean
    candidates = [
        ("the sign is flipped: return the NEGATIVE ELBO (reconstruction + KL), which "
         "training minimises",
         [-mean(r + k) for r, k in zip(recon, kl, strict=True)]),
        ("value off by a factor of 784 in the reconstruction term: did you average over "
         "pixels? Sum the BCE over the 784 pixels (nats per image)",
         [mean(r / 784 + k) for r, k in zip(recon, kl, strict=True)]),
        ("both terms are averaged (BCE over pixels, KL over latent dimensions), lesson "
         "08's scaling pitfall: sum both, then average over the batch",
         [mean(r / 784 + k / n) for r, k, n in zip(recon, kl, d, strict=True)]),
        ("the KL term is off by a factor of the latent size: a mean over latent "
         "dimensions where a sum belongs",
         [mean(r + k / n) for r, k, n in zip(recon, kl, d, strict=True)]),
        ("the KL term is missing: -ELBO = reconstruction + KL",
         [mean(r) for r in recon]),
        ("the reconstruction term is missing: -ELBO = reconstruction + KL",
         [mean(k) for k in kl]),
        ("the KL term has the wrong sign: -ELBO = reconstruction + KL, and KL >= 0",
         [mean(r - k) for r, k in zip(recon, kl, strict=True)]),
        ("summed over the batch: average over the batch instead (a sum where a mean "
         "belongs)",
         [np.sum(r + k) for r, k in zip(recon, kl, strict=True)]),
    ]
    for hint, values in candidates:
        if np.allclose(got, values, rtol=1e-3, atol=1e-3):
            return hint
    return ""


# ---------------------------------------------------------------- Task 1: Sampling


@checker("Sampling")
def check_sampling(Sampling) -> None:  # noqa: N803 (the student's class)
    """``Sampling(seed=None)`` layer: ``[mu, log_var] -> mu + exp(0.5 log_var) * eps``."""
    import keras
    import tensorflow as tf

    layer = _call(Sampling, "Sampling(seed=1)", seed=1)
    expect_true(isinstance(layer, keras.layers.Layer),
                f"Sampling should be a keras.layers.Layer, got {type(layer).__name__}")
    n = 20000
    mu_row = np.array([1.5, -2.0, 0.0], np.float32)
    log_var_row = np.array([np.log(0.25), 1.0, 0.0], np.float32)  # std 0.5, 1.649, 1
    mu = np.tile(mu_row, (n, 1))
    log_var = np.tile(log_var_row, (n, 1))
    z = expect_shape("Sampling output", _call(layer, "Sampling()([mu, log_var])", [mu, log_var]),
                     mu.shape, "(the shape of mu)")
    if not np.all(np.isfinite(z)):
        fail("Sampling output has NaN or infinity; sigma = exp(0.5 * log_var) is always "
             "positive (log_var can be negative)")
    std, mean = z.std(axis=0), z.mean(axis=0)
    if np.all(std < 1e-6):
        if not np.allclose(z, mu, atol=1e-5):
            fail("every example in the batch got the same noise: draw eps with the shape "
                 "of mu, keras.random.normal(ops.shape(mu), ...), not one value per "
                 "latent dimension")
        fail("the output is not random: it equals mu. Add sigma * eps with "
             "eps ~ N(0, I) (returning mu alone is the decoder's job at test time)")
    eps_hat = (z - mu_row) / np.exp(0.5 * log_var_row)
    corr = np.corrcoef(eps_hat[:, 0], eps_hat[:, 2])[0, 1]
    if abs(corr) > 0.5:
        fail(f"the noise of different latent dimensions is correlated ({corr:.2f}): draw "
             "one independent eps per element, with the shape of mu (ops.shape(mu))")
    want_std = np.exp(0.5 * log_var_row)
    if np.allclose(std[:2], np.exp(log_var_row[:2]), rtol=0.05):
        fail(f"sample std per column {std.round(3).tolist()}, expected "
             f"{want_std.round(3).tolist()}: did you use the variance instead of the "
             "standard deviation? sigma = exp(0.5 * log_var)")
    expect_true(np.allclose(mean, mu_row, atol=0.05),
                f"sample mean per column {mean.round(3).tolist()}, expected "
                f"{mu_row.tolist()}: the noise eps must have mean 0 and be added to mu")
    expect_true(np.allclose(std, want_std, rtol=0.05),
                f"sample std per column {std.round(3).tolist()}, expected "
                f"{want_std.round(3).tolist()} (sigma = exp(0.5 * log_var), eps ~ N(0, 1))")
    z2 = to_numpy(_call(layer, "a second call", [mu, log_var]), "Sampling output")
    expect_true(not np.allclose(z, z2),
                "two calls on the same inputs gave the same sample: draw fresh noise on "
                "every call (keras.random.normal with the layer's SeedGenerator, not a "
                "fixed integer seed)")
    # a tiny log_var gives z ~ mu, for another batch and latent size
    small = np.zeros((2, 5), np.float32)
    z3 = expect_shape("Sampling output", _call(layer, "Sampling on (2, 5) inputs",
                                               [small + 3.0, small - 30.0]), (2, 5))
    expect_true(np.allclose(z3, 3.0, atol=1e-4),
                "with log_var = -30 (sigma ~ 3e-7) the sample should equal mu")
    # random means and log-variances per example: standardised samples are N(0, 1)
    r = case_rng(41)
    mu_r = r.normal(0, 2, (4000, 4)).astype(np.float32)
    lv_r = r.uniform(-3, 2, (4000, 4)).astype(np.float32)
    z_r = to_numpy(_call(layer, "Sampling on random mu and log_var", [mu_r, lv_r]),
                   "Sampling output")
    e_r = (z_r - mu_r) / np.exp(0.5 * lv_r.astype(np.float64))
    expect_true(abs(e_r.mean()) < 0.05 and abs(e_r.std() - 1.0) < 0.05,
                f"with a different mu and log_var for every example, (z - mu) / sigma has "
                f"mean {e_r.mean():.3f} and std {e_r.std():.3f}, expected 0 and 1: use each "
                "example's own mu and exp(0.5 * log_var)")
    # gradients must reach mu and log_var through the sample
    mu_v = tf.Variable(np.full((4, 3), 0.5, np.float32))
    lv_v = tf.Variable(np.full((4, 3), -1.0, np.float32))
    with tf.GradientTape() as tape:
        zv = _call(layer, "Sampling on tf.Variables", [mu_v, lv_v])
        total = tf.reduce_sum(tf.convert_to_tensor(zv))
    g_mu, g_lv = tape.gradient(total, [mu_v, lv_v])
    missing = [name for name, g in (("mu", g_mu), ("log_var", g_lv)) if g is None]
    if missing:
        fail(f"no gradient reached {' and '.join(missing)}: the sample was computed outside "
             "TensorFlow's graph (NumPy?). Use keras.random.normal and keras.ops so "
             "z = mu + sigma * eps stays differentiable (the reparameterisation trick)")
    zv = to_numpy(zv, "Sampling output")
    expect_true(np.allclose(to_numpy(g_mu, "dz/dmu"), 1.0, atol=1e-5),
                "the gradient of sum(z) with respect to mu should be 1 everywhere")
    expect_true(np.allclose(to_numpy(g_lv, "dz/dlog_var"), 0.5 * (zv - 0.5), atol=1e-4),
                "the gradient of z with respect to log_var should be 0.5 * sigma * eps; "
                "compute sigma = exp(0.5 * log_var) with keras.ops")
    # symbolic inputs with an unknown batch size (the functional API)
    inputs = [keras.Input((3,)), keras.Input((3,))]
    out = _call(Sampling(), "Sampling()([keras.Input((3,)), keras.Input((3,))]) (batch size "
                "unknown; use ops.shape(mu), not mu.shape)", inputs)
    expect_true(tuple(out.shape) == (None, 3),
                f"on symbolic inputs of shape (None, 3) the output has shape {out.shape}")


# ---------------------------------------------------------------- Task 2: KL


def _kl_shape(got, b, d) -> np.ndarray:
    arr = to_numpy(got, "kl_divergence")
    if arr.shape == (b,):
        return arr
    if arr.shape == (b, d):
        fail(f"kl_divergence: expected shape (batch,) = ({b},), got (batch, latent) = "
             f"{arr.shape}; sum over the latent axis (axis=-1)")
    if arr.shape == (d,):
        fail(f"kl_divergence: expected shape (batch,) = ({b},), got (latent,) = {arr.shape}: "
             "you reduced over the batch axis (axis 0); sum over the latent axis (axis=-1)")
    if arr.size == 1:
        fail(f"kl_divergence: expected shape (batch,) = ({b},), got a single number "
             f"{arr.shape}: return one KL per example; do not reduce over the batch")
    fail(f"kl_divergence: expected shape (batch,) = ({b},), got {arr.shape}")
    return arr  # unreachable


def _kl_value(got, ref, d, case) -> None:
    if not np.all(np.isfinite(got)):
        fail(f"kl_divergence{case}: returned NaN or infinity")
    if np.allclose(got, ref, rtol=1e-4, atol=1e-5):
        return
    if np.allclose(got, -ref, rtol=1e-4, atol=1e-5):
        fail(f"kl_divergence{case}: the sign is flipped; KL = -0.5 * sum(1 + log_var - mu^2 "
             "- exp(log_var)) is never negative")
    if d > 1 and np.allclose(got, ref / d, rtol=1e-4, atol=1e-6):
        fail(f"kl_divergence{case}: value off by a factor of {d} (the latent size): a mean "
             "over latent dimensions where a sum belongs")
    if np.allclose(got, 2 * ref, rtol=1e-4, atol=1e-5):
        fail(f"kl_divergence{case}: value off by a factor of 2: the closed form has a "
             "factor -1/2 in front of the sum")
    fail(f"kl_divergence{case}: expected {ref[:3].round(5).tolist()}, got "
         f"{got[:3].round(5).tolist()}; KL = -0.5 * sum_j (1 + log_var_j - mu_j^2 - "
         "exp(log_var_j))")


@checker("kl_divergence")
def check_kl_divergence(kl_divergence) -> None:
    """``kl_divergence(mu, log_var)`` -> KL(N(mu, sigma^2) || N(0, I)), shape (batch,)."""
    rng = np.random.default_rng(2)
    for b, d in ((5, 4), (3, 7)):
        mu = rng.normal(0, 1.2, (b, d)).astype(np.float32)
        log_var = rng.normal(-0.5, 1.0, (b, d)).astype(np.float32)
        got = _kl_shape(_call(kl_divergence, f"kl_divergence on shape ({b}, {d})", mu,
                              log_var), b, d)
        _kl_value(got, _kl_ref(mu, log_var), d, f" (batch {b}, latent {d})")
    zeros = np.zeros((4, 6), np.float32)
    got = _kl_shape(_call(kl_divergence, "kl_divergence(0, 0)", zeros, zeros), 4, 6)
    expect_true(np.allclose(got, 0.0, atol=1e-6),
                f"mu = 0 and log_var = 0 is the prior itself, so KL must be 0, got "
                f"{got.round(5).tolist()}")
    one = np.array([[2.0]], np.float32)
    got = _kl_shape(_call(kl_divergence, "kl_divergence on shape (1, 1)", one, one * 0), 1, 1)
    _kl_value(got, _kl_ref(one, one * 0), 1, " (mu = 2, log_var = 0: KL = 2)")
    mu = rng.normal(size=(6, 3)).astype(np.float32)
    log_var = rng.normal(size=(6, 3)).astype(np.float32)
    got = _call(_in_tf_function, "kl_divergence on TensorFlow tensors inside a tf.function "
                "(as in train_step; use keras.ops, not NumPy)", kl_divergence, mu, log_var)
    _kl_value(_kl_shape(got, 6, 3), _kl_ref(mu, log_var), 3, " (TensorFlow tensors)")


# ---------------------------------------------------------------- Task 3: -ELBO


def _elbo_case(rng, b, d, extremes=False):
    x = (rng.random((b, 784)) < 0.3).astype(np.float32)
    p = rng.uniform(0.02, 0.98, (b, 784)).astype(np.float32)
    if extremes:  # confident decoders output exact 0 and 1
        p[:, :50] = x[:, :50]
        p[:, 50:60] = 1.0 - x[:, 50:60]
    mu = rng.normal(0, 1.0, (b, d)).astype(np.float32)
    log_var = rng.normal(-1.0, 0.8, (b, d)).astype(np.float32)
    return x, p, mu, log_var


def _scalar(value, name, b) -> float:
    arr = to_numpy(value, name)
    if arr.shape == (b,):
        fail(f"{name}: expected a scalar (the mean over the batch), got shape ({b},): "
             "average the per-example values over the batch")
    if arr.size != 1:
        fail(f"{name}: expected a scalar, got shape {arr.shape}; sum over pixels and "
             "latent dimensions, then average over the batch")
    return float(arr.reshape(()))


@checker("neg_elbo")
def check_neg_elbo(neg_elbo) -> None:
    """``neg_elbo(x, x_recon, mu, log_var)``: mean over the batch of (BCE summed + KL)."""
    rng = np.random.default_rng(3)
    got, recon, kl, dims = [], [], [], []
    for b, d in ((4, 3), (6, 8)):
        x, p, mu, log_var = _elbo_case(rng, b, d)
        got.append(_scalar(_call(neg_elbo, f"neg_elbo on a batch of {b}", x, p, mu, log_var),
                           "neg_elbo", b))
        recon.append(_bce_ref(x, p))
        kl.append(_kl_ref(mu, log_var))
        dims.append(d)
    want = [float(np.mean(r + k)) for r, k in zip(recon, kl, strict=True)]
    if not np.all(np.isfinite(got)):
        fail("neg_elbo: returned NaN or infinity")
    if not np.allclose(got, want, rtol=1e-4):
        hint = _elbo_mistake(got, recon, kl, dims)
        fail(f"neg_elbo: {hint + '; ' if hint else ''}expected "
             f"{np.round(want, 3).tolist()} nats, got {np.round(got, 3).tolist()}")
    x, p, mu, log_var = _elbo_case(rng, 5, 4, extremes=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = _scalar(_call(neg_elbo, "neg_elbo with x_recon containing exact 0 and 1", x,
                              p, mu, log_var), "neg_elbo", 5)
    if not np.isfinite(value):
        fail("neg_elbo: NaN or infinity when x_recon contains exact 0 or 1; did you forget "
             "to clip x_recon to [1e-7, 1 - 1e-7] before the log?")
    want = float(np.mean(_bce_ref(x, p) + _kl_ref(mu, log_var)))
    expect_true(np.isclose(value, want, rtol=1e-2),
                f"neg_elbo with exact 0/1 probabilities: expected {want:.3f}, got "
                f"{value:.3f}; clip x_recon to [1e-7, 1 - 1e-7]")
    x, p, mu, log_var = _elbo_case(rng, 3, 2)
    value = _scalar(_call(_in_tf_function, "neg_elbo on TensorFlow tensors inside a "
                          "tf.function (as in train_step; use keras.ops, not NumPy)",
                          neg_elbo, x, p, mu, log_var), "neg_elbo", 3)
    want = float(np.mean(_bce_ref(x, p) + _kl_ref(mu, log_var)))
    expect_true(np.isclose(value, want, rtol=1e-4),
                f"neg_elbo on TensorFlow tensors: expected {want:.3f}, got {value:.3f}")


# ---------------------------------------------------------------- Task 4: the VAE class


def _tiny_parts(log_var_bias, seed, mu_zero=False):
    """A 784 -> (mu, log_var) encoder with latent size 3 and a 3 -> 784 sigmoid decoder.

    With ``mu_zero`` the mu layer starts at zero weights: the KL term then gives it no
    gradient, so it moves only if the reconstruction's gradient reaches it through z.
    """
    import keras

    init = keras.initializers
    x_in = keras.Input((784,))
    mu_init = "zeros" if mu_zero else init.RandomNormal(0, 0.05, seed=seed)
    mu = keras.layers.Dense(3, kernel_initializer=mu_init)(x_in)
    log_var = keras.layers.Dense(3, kernel_initializer="zeros",
                                 bias_initializer=init.Constant(log_var_bias))(x_in)
    encoder = keras.Model(x_in, [mu, log_var], name="tiny_encoder")
    z_in = keras.Input((3,))
    out = keras.layers.Dense(784, activation="sigmoid",
                             kernel_initializer=init.RandomNormal(0, 0.5, seed=seed + 1))(z_in)
    return encoder, keras.Model(z_in, out, name="tiny_decoder")


@contextlib.contextmanager
def _quiet_keras():
    """Hide Keras's notice that a subclassed model without ``build()`` was built."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*does not have a `build\(\)` method")
        yield


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


@checker("VAE")
def check_vae(VAE) -> None:  # noqa: N803 (the student's class)
    """``VAE(encoder, decoder)``: a ``keras.Model`` with ``train_step``/``test_step``.

    Checks, on tiny models with known weights: ``vae(x, training=False)`` and
    ``predict`` decode the posterior mean (no noise at inference); ``evaluate`` reports
    ``neg_elbo`` equal to the -ELBO in nats per image and resets between calls; ``fit``
    trains both encoder and decoder and lowers the -ELBO.
    """
    with _quiet_keras():
        _check_vae(VAE)


def _check_vae(VAE) -> None:  # noqa: N803
    import keras

    x = (np.random.default_rng(4).random((16, 784)) < 0.3).astype(np.float32)
    encoder, decoder = _tiny_parts(0.0, seed=1)
    vae = _call(VAE, "VAE(encoder, decoder)", encoder, decoder)
    expect_true(isinstance(vae, keras.Model),
                f"VAE should subclass keras.Model, got {type(vae).__name__}")
    expect_true(getattr(vae, "encoder", None) is encoder
                and getattr(vae, "decoder", None) is decoder,
                "keep the models you are given as self.encoder and self.decoder")
    # inference: deterministic, and equal to decoder(mu)
    out1 = expect_shape("vae(x, training=False)",
                        _call(vae, "vae(x, training=False)", x, training=False), x.shape,
                        "(reconstructions, like x)")
    out2 = to_numpy(vae(x, training=False), "vae(x, training=False)")
    if not np.allclose(out1, out2, atol=1e-6):
        fail(NOISE_AT_INFERENCE)
    pred1 = to_numpy(_call(vae.predict, "vae.predict(x)", x, verbose=0), "vae.predict(x)")
    pred2 = to_numpy(vae.predict(x, verbose=0), "vae.predict(x)")
    if not np.allclose(pred1, pred2, atol=1e-6):
        fail(NOISE_AT_INFERENCE + " (in predict)")
    mean_out = to_numpy(decoder(encoder(x)[0]), "decoder(mu)")
    expect_true(np.allclose(out1, mean_out, atol=1e-5) and np.allclose(pred1, mean_out,
                                                                       atol=1e-5),
                "vae(x, training=False) should return decoder(mu), the decoded posterior "
                "mean, as pixel probabilities")
    # test_step: the -ELBO in nats per image (log_var = -18: z = mu up to 1e-4)
    encoder, decoder = _tiny_parts(-18.0, seed=3)
    vae = _call(VAE, "VAE(encoder, decoder)", encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    result = _call(vae.evaluate, "vae.evaluate(x)", x, batch_size=len(x), verbose=0,
                   return_dict=True)
    expect_true("neg_elbo" in result,
                f"evaluate() returned {sorted(result)}; report the negative ELBO under the "
                "name 'neg_elbo' (a keras.metrics.Mean(name='neg_elbo') updated in "
                "test_step)")
    mu, log_var = (to_numpy(t, "encoder output") for t in encoder(x))
    recon = _bce_ref(x, to_numpy(decoder(mu), "decoder output"))
    kl = _kl_ref(mu, log_var)
    want, got = float(np.mean(recon + kl)), float(result["neg_elbo"])
    if not np.isclose(got, want, rtol=1e-3):
        hint = _elbo_mistake([got], [recon], [kl], [3])
        fail(f"evaluate() reports neg_elbo {got:.3f}, expected {want:.3f} nats per image"
             f"{': ' + hint if hint else ''} (test_step)")
    again = float(_call(vae.evaluate, "a second vae.evaluate(x)", x, batch_size=len(x),
                        verbose=0, return_dict=True)["neg_elbo"])
    expect_true(np.isclose(again, want, rtol=1e-3),
                f"a second evaluate() on the same data gave {again:.3f} instead of "
                f"{want:.3f}: list your trackers in the `metrics` property so Keras resets "
                "them between calls")
    # train_step: both parts learn and the -ELBO falls
    encoder, decoder = _tiny_parts(0.0, seed=5, mu_zero=True)
    vae = _call(VAE, "VAE(encoder, decoder)", encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    before_enc, before_dec = _weights(encoder), _weights(decoder)
    start_elbo = independent_neg_elbo(vae, x, samples=4)
    history = _call(vae.fit, "vae.fit(x)", x, epochs=6, batch_size=8, verbose=0).history
    expect_true("neg_elbo" in history,
                f"fit() reported {sorted(history)}; return {{'neg_elbo': ...}} from "
                "train_step")
    changed_dec = any(not np.allclose(a, b) for a, b in zip(before_dec, _weights(decoder),
                                                           strict=True))
    after_enc = _weights(encoder)
    expect_true(changed_dec, "fit() did not change the decoder's weights: apply the "
                "gradients of the loss to self.trainable_weights in train_step")
    expect_true(not np.allclose(before_enc[0], after_enc[0]),
                "fit() did not change the encoder's mu layer: the reconstruction's "
                "gradient does not reach it. Sample z with your Sampling layer (keras "
                "ops, no stop_gradient or NumPy) inside the GradientTape")
    curve = history["neg_elbo"]
    truth = independent_neg_elbo(vae, x, samples=4)
    last = float(curve[-1])
    if np.isfinite(last) and last > 0 and 200 < truth / last < 4000:
        fail(f"train_step reports neg_elbo {last:.3f}, about 784 times less than the model's "
             f"-ELBO ({truth:.1f} nats per image): its loss averages the BCE over pixels "
             "(keras.losses.binary_crossentropy?); use your neg_elbo, summed over pixels, "
             "in train_step")
    expect_true(curve[-1] < curve[0] - 1.0 and truth < start_elbo - 1.0,
                f"the -ELBO did not fall during fit ({start_elbo:.1f} -> {truth:.1f} nats per "
                "image): minimise neg_elbo (not the ELBO) with the optimizer's "
                "apply_gradients")
    if np.isfinite(last) and abs(last - truth) > 0.35 * abs(truth) + 10.0:
        fail(f"train_step reports neg_elbo {last:.1f} but the model's -ELBO after training is "
             f"{truth:.1f} nats per image: minimise and report your neg_elbo(x, x_recon, "
             "mu, log_var) in train_step")


# ---------------------------------------------------------------- Task 5: a trained VAE

_TRAINED: dict = {}


def trained_vae():
    """The model trained by the last passing :func:`check_trained_vae` run."""
    if "model" not in _TRAINED:
        raise NotImplementedError("trained VAE is not done yet: pass its check first")
    return _TRAINED["model"]


def independent_neg_elbo(vae, x, samples=2, seed=0, batch=1000) -> float:
    """-ELBO in nats per image from ``vae.encoder`` and ``vae.decoder`` alone (NumPy)."""
    rng = np.random.default_rng(seed)
    totals = []
    for start in range(0, len(x), batch):
        xb = np.asarray(x[start:start + batch], np.float32)
        mu, log_var = (to_numpy(t, "encoder output") for t in vae.encoder(xb))
        kl = _kl_ref(mu, log_var)
        for _ in range(samples):
            z = mu + np.exp(0.5 * log_var) * rng.standard_normal(mu.shape)
            p = to_numpy(vae.decoder(z.astype(np.float32)), "decoder output")
            totals.append(_bce_ref(xb, p) + kl)
    return float(np.mean(np.concatenate(totals)))


@checker("trained VAE")
def check_trained_vae(train_vae, x_train, x_test, target=VAE_TARGET_NEG_ELBO) -> None:
    """Train with ``train_vae(x_train)``, then measure the test -ELBO independently.

    Checks: a ``keras.Model`` with ``encoder`` and ``decoder``; deterministic
    reconstructions at inference (two ``predict`` calls agree); decoder outputs in
    [0, 1]; ``evaluate`` agrees with the -ELBO computed here from the encoder and decoder;
    and that -ELBO (nats per image) is below ``target``.
    """
    with _quiet_keras():
        _check_trained_vae(train_vae, x_train, x_test, target)


def _check_trained_vae(train_vae, x_train, x_test, target) -> None:
    import keras

    _TRAINED.pop("model", None)
    start = time.perf_counter()
    vae = train_vae(x_train)
    seconds = time.perf_counter() - start
    expect_true(isinstance(vae, keras.Model),
                f"train_vae should return the trained keras.Model, got {type(vae).__name__}")
    expect_true(hasattr(vae, "encoder") and hasattr(vae, "decoder"),
                "the model needs .encoder and .decoder (the VAE class of Task 4)")
    x_test = np.asarray(x_test, np.float32)
    probe = x_test[:200]
    out1 = expect_shape("predict", _call(vae.predict, "vae.predict(x_test)", probe,
                                         verbose=0), probe.shape, "(like the input)")
    out2 = to_numpy(vae.predict(probe, verbose=0), "predict")
    if not np.allclose(out1, out2, atol=1e-6):
        fail(NOISE_AT_INFERENCE)
    expect_true(out1.min() >= 0.0 and out1.max() <= 1.0,
                "reconstructions leave [0, 1]: end the decoder with a sigmoid (it returns "
                "pixel probabilities)")
    encoded = _call(vae.encoder, "vae.encoder(x)", probe)
    expect_true(isinstance(encoded, list | tuple) and len(encoded) == 2,
                "the encoder should return a list [mu, log_var]")
    mu, log_var = encoded
    expect_true(tuple(mu.shape) == tuple(log_var.shape) and mu.shape[0] == len(probe),
                f"the encoder should return [mu, log_var] of equal shapes (batch, latent), "
                f"got {tuple(mu.shape)} and {tuple(log_var.shape)}")
    neg = independent_neg_elbo(vae, x_test)
    reported = float(_call(vae.evaluate, "vae.evaluate(x_test)", x_test, batch_size=500,
                           verbose=0, return_dict=True).get("neg_elbo", np.nan))
    print(f"test -ELBO {neg:.1f} nats per image (target < {target:g}); evaluate() reports "
          f"{reported:.1f}; training took {seconds:.0f} s")
    expect_true(np.isfinite(neg), "the test -ELBO is NaN or infinite")
    expect_true(abs(reported - neg) < 0.03 * abs(neg) + 1.0,
                f"evaluate() reports neg_elbo {reported:.2f}, but the -ELBO computed from "
                f"your encoder and decoder is {neg:.2f} nats per image; check test_step")
    expect_true(neg < target,
                f"test -ELBO {neg:.1f} nats per image; the target is < {target:g} (train "
                "for more epochs, use Adam with a learning rate around 2e-3, or widen the "
                "hidden layers)")
    _TRAINED["model"] = vae

"""Assignment 4's checkers accept the right answer and reject plausible wrong ones.

Each wrong answer is a mistake students make with a VAE; the test pins the message they
will see. Models are tiny (latent size 3, one Dense layer each way), so the file is fast.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers, ops  # noqa: E402

from utils.checkers import a4  # noqa: E402
from utils.grading import CheckFailed  # noqa: E402

# ---------------------------------------------------------------- Task 1: Sampling


class SamplingOk(layers.Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mu, log_var = inputs
        eps = keras.random.normal(ops.shape(mu), seed=self.seed_generator)
        return mu + ops.exp(0.5 * log_var) * eps


class SamplingVariance(SamplingOk):
    def call(self, inputs):
        mu, log_var = inputs
        return mu + ops.exp(log_var) * keras.random.normal(ops.shape(mu),
                                                           seed=self.seed_generator)


class SamplingMeanOnly(SamplingOk):
    def call(self, inputs):
        return inputs[0]


class SamplingFixedSeed(SamplingOk):
    def call(self, inputs):
        mu, log_var = inputs
        return mu + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mu), seed=0)


class SamplingNumpy(SamplingOk):
    def call(self, inputs):
        mu, log_var = (np.asarray(t) for t in inputs)
        return mu + np.exp(0.5 * log_var) * np.random.default_rng().standard_normal(mu.shape)


class SamplingStaticShape(SamplingOk):
    def call(self, inputs):
        mu, log_var = inputs
        eps = keras.random.normal(tuple(mu.shape), seed=self.seed_generator)
        return mu + ops.exp(0.5 * log_var) * eps


def test_sampling_correct(capsys):
    assert a4.check_sampling(SamplingOk) is True
    assert "PASSED  Sampling" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, match", [
    (SamplingVariance, "variance instead of the standard deviation"),
    (SamplingMeanOnly, "not random: it equals mu"),
    (SamplingFixedSeed, "same sample: draw fresh noise"),
    (SamplingNumpy, "no gradient reached mu and log_var.*outside"),
    (SamplingStaticShape, "ops.shape"),
])
def test_sampling_wrong(wrong, match, capsys):
    with pytest.raises(CheckFailed, match=match):
        a4.check_sampling(wrong)
    assert "FAILED  Sampling" in capsys.readouterr().out


def test_not_done_is_friendly(capsys):
    class Stub(SamplingOk):
        def call(self, inputs):
            raise NotImplementedError()

    assert a4.check_sampling(Stub) is False
    assert "NOT DONE  Sampling" in capsys.readouterr().out


# ---------------------------------------------------------------- Task 2: KL


def kl_ok(mu, log_var):
    return -0.5 * ops.sum(1.0 + log_var - ops.square(mu) - ops.exp(log_var), axis=-1)


def _kl_terms(mu, log_var):
    return -0.5 * (1.0 + log_var - ops.square(mu) - ops.exp(log_var))


def test_kl_correct():
    assert a4.check_kl_divergence(kl_ok) is True


@pytest.mark.parametrize("wrong, match", [
    (_kl_terms, "expected shape \\(batch,\\) = \\(5,\\), got \\(batch, latent\\) = \\(5, 4\\)"),
    (lambda m, v: ops.sum(_kl_terms(m, v), axis=0), "reduced over the batch axis"),
    (lambda m, v: ops.sum(_kl_terms(m, v)), "single number"),
    (lambda m, v: -kl_ok(m, v), "sign is flipped"),
    (lambda m, v: ops.mean(_kl_terms(m, v), axis=-1), "factor of 4 .*mean over latent"),
    (lambda m, v: 2 * kl_ok(m, v), "factor of 2"),
    (lambda m, v: np.sum(-0.5 * (1 + np.asarray(v) - np.asarray(m) ** 2 - np.exp(v)), axis=-1),
     "TensorFlow tensors inside a tf.function"),
])
def test_kl_wrong(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a4.check_kl_divergence(wrong)


# ---------------------------------------------------------------- Task 3: -ELBO


def _bce_sum(x, x_recon, eps=1e-7):
    p = ops.clip(x_recon, eps, 1.0 - eps)
    return -ops.sum(x * ops.log(p) + (1.0 - x) * ops.log(1.0 - p), axis=-1)


def neg_elbo_ok(x, x_recon, mu, log_var):
    return ops.mean(_bce_sum(x, x_recon) + kl_ok(mu, log_var))


def _neg_elbo_unclipped(x, x_recon, mu, log_var):
    bce = -ops.sum(x * ops.log(x_recon) + (1.0 - x) * ops.log(1.0 - x_recon), axis=-1)
    return ops.mean(bce + kl_ok(mu, log_var))


def test_neg_elbo_correct():
    assert a4.check_neg_elbo(neg_elbo_ok) is True


@pytest.mark.parametrize("wrong, match", [
    (lambda x, p, m, v: ops.mean(keras.losses.binary_crossentropy(x, p) + kl_ok(m, v)),
     "factor of 784.*average over pixels"),
    (lambda x, p, m, v: ops.mean(keras.losses.binary_crossentropy(x, p)
                                 + ops.mean(_kl_terms(m, v), axis=-1)), "scaling pitfall"),
    (lambda x, p, m, v: ops.mean(_bce_sum(x, p) + ops.mean(_kl_terms(m, v), axis=-1)),
     "mean over latent dimensions where a sum belongs"),
    (lambda x, p, m, v: ops.mean(_bce_sum(x, p)), "KL term is missing"),
    (lambda x, p, m, v: -neg_elbo_ok(x, p, m, v), "sign is flipped"),
    (lambda x, p, m, v: ops.mean(_bce_sum(x, p) - kl_ok(m, v)), "KL term has the wrong sign"),
    (lambda x, p, m, v: ops.sum(_bce_sum(x, p) + kl_ok(m, v)), "summed over the batch"),
    (lambda x, p, m, v: _bce_sum(x, p) + kl_ok(m, v),
     "expected a scalar .*got shape \\(4,\\)"),
    (_neg_elbo_unclipped, "forget to clip"),
])
def test_neg_elbo_wrong(wrong, match):
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(CheckFailed,
                                                                         match=match):
        a4.check_neg_elbo(wrong)


# ---------------------------------------------------------------- Task 4: the VAE class


class VAEOk(keras.Model):
    def __init__(self, encoder, decoder, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.sampling = SamplingOk(seed=seed)
        self.tracker = keras.metrics.Mean(name="neg_elbo")

    @property
    def metrics(self):
        return [self.tracker]

    def call(self, x, training=False):
        return self.decoder(self.encoder(x)[0])

    def sample_loss(self, x):
        mu, log_var = self.encoder(x)
        return neg_elbo_ok(x, self.decoder(self.sampling([mu, log_var])), mu, log_var)

    def train_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        with tf.GradientTape() as tape:
            loss = self.sample_loss(x)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        self.tracker.update_state(loss)
        return {"neg_elbo": self.tracker.result()}

    def test_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        self.tracker.update_state(self.sample_loss(x))
        return {"neg_elbo": self.tracker.result()}


class VAENoisyInference(VAEOk):
    def call(self, x, training=False):
        return self.decoder(self.sampling(self.encoder(x)))


class VAEAveragedPixels(VAEOk):
    def sample_loss(self, x):
        mu, log_var = self.encoder(x)
        x_recon = self.decoder(self.sampling([mu, log_var]))
        return ops.mean(keras.losses.binary_crossentropy(x, x_recon) + kl_ok(mu, log_var))


class VAEWrongName(VAEOk):
    def test_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        self.tracker.update_state(self.sample_loss(x))
        return {"loss": self.tracker.result()}


class VAEAscent(VAEOk):
    def train_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        with tf.GradientTape() as tape:
            elbo = -self.sample_loss(x)  # maximised by mistake: gradient descent on the ELBO
        grads = tape.gradient(elbo, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        self.tracker.update_state(-elbo)
        return {"neg_elbo": self.tracker.result()}


class VAEStopGradient(VAEOk):
    def sample_loss(self, x):
        mu, log_var = self.encoder(x)
        z = tf.stop_gradient(self.sampling([mu, log_var]))  # as if sampled with NumPy
        return neg_elbo_ok(x, self.decoder(z), mu, log_var)


class VAEPixelMeanTrain(VAEOk):
    """Evaluates correctly, but trains on a loss averaged over pixels."""

    def train_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        with tf.GradientTape() as tape:
            mu, log_var = self.encoder(x)
            x_recon = self.decoder(self.sampling([mu, log_var]))
            loss = ops.mean(keras.losses.binary_crossentropy(x, x_recon) + kl_ok(mu, log_var))
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        self.tracker.update_state(loss)
        return {"neg_elbo": self.tracker.result()}


def test_vae_correct(capsys):
    assert a4.check_vae(VAEOk) is True
    assert "PASSED  VAE" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, match", [
    (VAENoisyInference, "noise added at inference: two calls on the same input differ"),
    (VAEAveragedPixels, "neg_elbo .*expected .*factor of 784"),
    (VAEWrongName, "under the name 'neg_elbo'"),
    (VAEAscent, "did not fall"),
    (VAEStopGradient, "encoder's mu layer"),
    (VAEPixelMeanTrain, "train_step reports neg_elbo .*averages the BCE over pixels"),
])
def test_vae_wrong(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a4.check_vae(wrong)


# ---------------------------------------------------------------- Task 5: trained VAE


def _tiny_vae(cls=VAEOk):
    encoder, decoder = a4._tiny_parts(0.0, seed=7)
    vae = cls(encoder, decoder, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    return vae


@pytest.fixture(scope="module")
def binary_images():
    return (np.random.default_rng(0).random((64, 784)) < 0.2).astype("float32")


def test_trained_vae_correct(binary_images, capsys):
    x = binary_images
    assert a4.check_trained_vae(lambda x_train: _tiny_vae(), x, x, target=1e4) is True
    assert "test -ELBO" in capsys.readouterr().out
    assert isinstance(a4.trained_vae(), VAEOk)


def test_trained_vae_wrong(binary_images):
    x = binary_images
    with pytest.raises(CheckFailed, match="test -ELBO .* the target is < 120"):
        a4.check_trained_vae(lambda x_train: _tiny_vae(), x, x)
    with pytest.raises(NotImplementedError):
        a4.trained_vae()
    with pytest.raises(CheckFailed, match="noise added at inference"):
        a4.check_trained_vae(lambda x_train: _tiny_vae(VAENoisyInference), x, x, target=1e4)
    with pytest.raises(CheckFailed, match="evaluate\\(\\) reports neg_elbo .* check test_step"):
        a4.check_trained_vae(lambda x_train: _tiny_vae(VAEAveragedPixels), x, x, target=1e4)
    with pytest.raises(CheckFailed, match="return the trained keras.Model"):
        a4.check_trained_vae(lambda x_train: None, x, x)


def test_independent_neg_elbo_matches_evaluate(binary_images):
    vae = _tiny_vae()
    ours = a4.independent_neg_elbo(vae, binary_images, samples=4)
    theirs = vae.evaluate(binary_images, batch_size=64, verbose=0, return_dict=True)
    assert abs(ours - theirs["neg_elbo"]) < 0.02 * ours

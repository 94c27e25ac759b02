"""Every assignment checker accepts the right answer and rejects plausible wrong ones.

Each wrong answer is a mistake students make; the test pins the message they will see.
"""

from __future__ import annotations

import numpy as np
import pytest

from utils.checkers import a1, a3
from utils.grading import CheckFailed

# ---------------------------------------------------------------- assignment 1


def _flat(a):
    a = np.asarray(a, np.float64)
    return a.reshape(len(a), -1)


def gaussian_nll_ok(x, mu, sigma):
    x, mu = _flat(x), _flat(mu)
    sigma = np.broadcast_to(np.asarray(sigma, np.float64).reshape(len(x), -1)
                            if np.ndim(sigma) else np.asarray(sigma, np.float64), x.shape)
    return (0.5 * np.log(2 * np.pi * sigma**2) + (x - mu) ** 2 / (2 * sigma**2)).sum(axis=1)


def bernoulli_nll_ok(x, p, eps=1e-7):
    x, p = _flat(x), np.clip(_flat(p), eps, 1 - eps)
    return -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)


def mle_sigma_ok(x, mu):
    return float(np.sqrt(np.mean((np.asarray(x, np.float64) - mu) ** 2)))


def test_gaussian_nll_correct(capsys):
    assert a1.check_gaussian_nll(gaussian_nll_ok) is True
    assert "PASSED  gaussian_nll" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, match", [
    (lambda x, m, s: gaussian_nll_ok(x, m, s) / 784, "factor of 784.*average over pixels"),
    (lambda x, m, s: -gaussian_nll_ok(x, m, s), "sign is flipped"),
    (lambda x, m, s: (gaussian_nll_ok(x, m, s)
                      - 784 * 0.5 * np.log(2 * np.pi * np.mean(np.asarray(s) ** 2))),
     "constant"),
    (lambda x, m, s: (0.5 * np.log(2 * np.pi * np.asarray(s, np.float64) ** 2)
                      + (_flat(x) - _flat(m)) ** 2 / 2).sum(axis=1) if np.ndim(s) == 0
     else gaussian_nll_ok(x, m, s), "sigma=0.3"),
    (lambda x, m, s: np.sum(0.5 * np.log(2 * np.pi * np.asarray(s, np.float64) ** 2)
                            + (np.asarray(x, np.float64) - m) ** 2 / (2 * np.asarray(s) ** 2),
                            axis=0), "expected shape"),
    (lambda x, m, s: np.sum(0.5 * np.log(2 * np.pi * np.asarray(s, np.float64) ** 2)
                            + (np.asarray(x, np.float64) - m) ** 2 / (2 * np.asarray(s) ** 2),
                            axis=-1), "expected shape .* got \\(5, 28\\)"),
])
def test_gaussian_nll_wrong(wrong, match, capsys):
    with pytest.raises(CheckFailed, match=match):
        a1.check_gaussian_nll(wrong)
    assert "FAILED  gaussian_nll" in capsys.readouterr().out


def test_not_done_is_friendly(capsys):
    def stub(*args):
        raise NotImplementedError()

    assert a1.check_gaussian_nll(stub) is False
    assert "NOT DONE  gaussian_nll" in capsys.readouterr().out


def test_bernoulli_nll_correct():
    assert a1.check_bernoulli_nll(bernoulli_nll_ok) is True


def _bce_unclipped(x, p):
    x, p = _flat(x), _flat(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)


@pytest.mark.parametrize("wrong, match", [
    (_bce_unclipped, "forget to clip"),
    (lambda x, p: bernoulli_nll_ok(x, p).mean(), "expected shape \\(5,\\).*got \\(\\)"),
    (lambda x, p: bernoulli_nll_ok(x, p) / 784, "factor of 784"),
    (lambda x, p: -bernoulli_nll_ok(x, p), "sign is flipped"),
    (lambda x, p: -(_flat(x) * np.log(np.clip(_flat(p), 1e-7, 1))).sum(axis=1),
     "bernoulli_nll: output: expected \\[733"),
])
def test_bernoulli_nll_wrong(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a1.check_bernoulli_nll(wrong)


def test_mle_sigma_correct():
    assert a1.check_mle_sigma(mle_sigma_ok) is True


@pytest.mark.parametrize("wrong, match", [
    (lambda x, m: mle_sigma_ok(x, m) ** 2, "returned the variance"),
    (lambda x, m: np.sqrt(np.mean((np.asarray(x) - m) ** 2, axis=1)), "expected one number"),
    (lambda x, m: float(np.sqrt(np.sum((np.asarray(x, np.float64) - m) ** 2))),
     "sum instead of averaging"),
])
def test_mle_sigma_wrong(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a1.check_mle_sigma(wrong)


# ---------------------------------------------------------------- assignment 3


def noise_ok(x, factor, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(x + factor * rng.standard_normal(x.shape).astype(x.dtype), 0.0, 1.0)


def test_noise_correct():
    assert a3.check_add_gaussian_noise(noise_ok) is True


def _noise_in_place(x, factor, seed=0):
    x += factor * np.random.default_rng(seed).standard_normal(x.shape).astype(x.dtype)
    np.clip(x, 0, 1, out=x)
    return x


@pytest.mark.parametrize("wrong, match", [
    (lambda x, f, seed=0: x + f * np.random.default_rng(seed).standard_normal(x.shape),
     "forget to clip"),
    (lambda x, f, seed=0: np.clip(x + f * np.random.default_rng().standard_normal(x.shape),
                                  0, 1), "same seed"),
    (lambda x, f, seed=0: np.clip(x + f * np.random.default_rng(seed).random(x.shape), 0, 1),
     "mean 0"),
    (lambda x, f, seed=0: np.clip(x + f**2 * np.random.default_rng(seed).standard_normal(
        x.shape), 0, 1), "standard deviation"),
    (_noise_in_place, "in place"),
])
def test_noise_wrong(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a3.check_add_gaussian_noise(wrong)


def pca_ok(x, k):
    x = np.asarray(x, np.float64)
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt[:k], s[:k] ** 2 / (len(x) - 1)


def test_pca_correct():
    assert a3.check_pca_svd(pca_ok) is True


def _pca_uncentred(x, k):
    x = np.asarray(x, np.float64)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    return x.mean(axis=0), vt[:k], s[:k] ** 2 / (len(x) - 1)


@pytest.mark.parametrize("wrong, match", [
    (_pca_uncentred, "forget to subtract the mean"),
    (lambda x, k: (pca_ok(x, k)[0], pca_ok(x, k)[1].T, pca_ok(x, k)[2]), "transpose"),
    (lambda x, k: (*pca_ok(x, k)[:2], pca_ok(x, k)[2] * (len(x) - 1) / len(x)), "n - 1"),
    (lambda x, k: pca_ok(x, k)[1], "return a tuple"),
])
def test_pca_wrong(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a3.check_pca_svd(wrong)


def angles_ok(a, b):
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    s = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return np.sort(np.arccos(np.clip(s, -1, 1)))


def test_angles_correct():
    assert a3.check_subspace_angles(angles_ok) is True


@pytest.mark.parametrize("wrong, match", [
    (lambda a, b: np.sort(np.arccos(np.clip(np.linalg.svd(a.T @ b, compute_uv=False), -1, 1))),
     "non-orthonormal bases"),
    (lambda a, b: np.degrees(angles_ok(a, b)), "degrees"),
    (lambda a, b: angles_ok(a, b)[0], "expected shape \\(3,\\)"),
    (lambda a, b: np.sort(np.arccos(np.linalg.svd(
        np.linalg.qr(a)[0].T @ np.linalg.qr(b)[0], compute_uv=False) + 1e-9)), "clip"),
])
def test_angles_wrong(wrong, match):
    with np.errstate(invalid="ignore"), pytest.raises(CheckFailed, match=match):
        a3.check_subspace_angles(wrong)


def psnr_ok(x, x_hat, data_range=1.0):
    mse = ((_flat(x) - _flat(x_hat)) ** 2).mean(axis=1)
    return 10 * np.log10(data_range**2 / mse)


def test_psnr_correct():
    assert a3.check_psnr(psnr_ok) is True


@pytest.mark.parametrize("wrong, match", [
    (lambda x, y, data_range=1.0: psnr_ok(x, y, data_range) * 2, "factor of 2"),
    (lambda x, y, data_range=1.0: 10 * np.log(data_range**2 / ((_flat(x) - _flat(y)) ** 2)
                                              .mean(axis=1)), "log10"),
    (lambda x, y, data_range=1.0: psnr_ok(x, y, 1.0), "data_range=255"),
    (lambda x, y, data_range=1.0: np.mean(psnr_ok(x, y, data_range)), "expected shape"),
    (lambda x, y, data_range=1.0: 10 * np.log10(
        data_range**2 / ((np.asarray(x, np.float64) - y) ** 2).mean(axis=-1)),
     "expected shape \\(6,\\).*got \\(6, 28\\)"),
])
def test_psnr_wrong(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a3.check_psnr(wrong)


# ---------------------------------------------------------------- assignment 2

keras = pytest.importorskip("keras")
from utils.checkers import a2  # noqa: E402


def _deep_ae(input_dim, hidden, code_dim, out_act="sigmoid", mirror=True):
    widths = [input_dim, *hidden, code_dim]
    if code_dim < 1 or any(b >= a for a, b in zip(widths, widths[1:], strict=False)):
        raise ValueError("bad sizes")
    inputs = keras.Input((input_dim,))
    h = inputs
    for n in hidden:
        h = keras.layers.Dense(n, activation="relu")(h)
    h = keras.layers.Dense(code_dim)(h)
    for n in (hidden[::-1] if mirror else hidden):
        h = keras.layers.Dense(n, activation="relu")(h)
    return keras.Model(inputs, keras.layers.Dense(input_dim, activation=out_act)(h))


def test_deep_ae_correct():
    assert a2.check_build_deep_autoencoder(_deep_ae) is True


def _deep_ae_no_check(input_dim, hidden, code_dim):
    inputs = keras.Input((input_dim,))
    h = inputs
    for n in hidden:
        h = keras.layers.Dense(n, activation="relu")(h)
    h = keras.layers.Dense(max(code_dim, 1))(h)
    for n in hidden[::-1]:
        h = keras.layers.Dense(n, activation="relu")(h)
    return keras.Model(inputs, keras.layers.Dense(input_dim, activation="sigmoid")(h))


@pytest.mark.parametrize("wrong, match", [
    (lambda i, h, c: _deep_ae(i, h, c, out_act=None), "needs a sigmoid"),
    (lambda i, h, c: _deep_ae(i, h, c, mirror=False), "mirrors the encoder"),
    (_deep_ae_no_check, "should raise ValueError"),
])
def test_deep_ae_wrong(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a2.check_build_deep_autoencoder(wrong)


class TiedOk(keras.layers.Layer):
    def __init__(self, tied_to, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.tied_to, self.activation = tied_to, keras.activations.get(activation)

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(self.tied_to.kernel.shape[0],), initializer="zeros")

    def call(self, z):
        return self.activation(keras.ops.matmul(z, keras.ops.transpose(self.tied_to.kernel))
                               + self.bias)


class TiedOwnKernel(TiedOk):
    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_weight(shape=tuple(self.tied_to.kernel.shape))

    def call(self, z):
        return self.activation(keras.ops.matmul(z, keras.ops.transpose(self.kernel)) + self.bias)


class TiedCopied(TiedOk):
    def build(self, input_shape):
        super().build(input_shape)
        self.frozen = keras.ops.convert_to_numpy(self.tied_to.kernel).T.copy()

    def call(self, z):
        return self.activation(keras.ops.matmul(z, self.frozen) + self.bias)


class TiedNoTranspose(TiedOk):
    def call(self, z):
        return self.activation(keras.ops.matmul(z, self.tied_to.kernel) + self.bias)


def test_tied_correct():
    assert a2.check_dense_tied(TiedOk) is True


@pytest.mark.parametrize("wrong, match", [
    (TiedOwnKernel, "created its own kernel"),
    (TiedCopied, "did not follow"),
    (TiedNoTranspose, "raised"),
])
def test_tied_wrong(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        a2.check_dense_tied(wrong)


def _conv_ae(filters=4, skip=False, side=7):
    """A small strided conv AE (28 -> 14 -> 7 -> 14 -> 28), optionally with a skip."""
    inputs = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(inputs)
    if side == 7:
        h = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(h)
        h = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="same",
                                         activation="relu")(h)
    h = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="same",
                                     activation="relu")(h)
    if skip:
        h = keras.layers.Concatenate()([h, inputs])
    return keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same",
                                                   activation="sigmoid")(h))


class ConvSubclassed(keras.Model):
    """The same design as a subclassed model, never built before the check."""

    def __init__(self):
        super().__init__()
        self.c1 = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")
        self.c2 = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")
        self.t1 = keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same",
                                               activation="relu")
        self.t2 = keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same",
                                               activation="relu")
        self.out = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")

    def call(self, x):
        return self.out(self.t2(self.t1(self.c2(self.c1(x)))))


def _conv_identity(n_conv=2, sharp=20.0):
    """No bottleneck: 1x1 convolutions that copy the input (reaches any BCE untrained)."""
    inputs = keras.Input((28, 28, 1))
    h = inputs
    for _ in range(n_conv - 1):
        h = keras.layers.Conv2D(1, 1, activation="relu", kernel_initializer="ones")(h)
    h = keras.layers.Conv2D(1, 1, activation="sigmoid",
                            kernel_initializer=keras.initializers.Constant(sharp),
                            bias_initializer=keras.initializers.Constant(-sharp / 2))(h)
    return keras.Model(inputs, h)


@pytest.fixture(scope="module")
def binary_images():
    return (np.random.default_rng(0).random((8, 28, 28, 1)) < 0.2).astype("float32")


def _train_ok(model, x, epochs=2):
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    model.fit(x, x, epochs=epochs, batch_size=8, verbose=0)


def _no_training(model, x):
    return None


@pytest.mark.parametrize("build", [_conv_ae, ConvSubclassed], ids=["functional", "subclassed"])
def test_conv_correct(binary_images, build, capsys):
    assert a2.check_conv_autoencoder(build, _train_ok, binary_images, binary_images,
                                     target_bce=0.9) is True
    assert a2.trained_conv_autoencoder() is not None
    assert "training work" in capsys.readouterr().out


def _train_copy(model, x):  # trains a copy, not the model it was given
    other = keras.models.clone_model(model)
    _train_ok(other, x)


def _train_on_noise(model, x):  # targets are not the inputs
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, np.zeros_like(x), epochs=1, verbose=0)


@pytest.mark.parametrize("build, train, kw, match", [
    (_conv_ae, _train_ok, {"target_bce": 0.01}, "validation BCE .* target"),
    (_conv_identity, _no_training, {}, "smallest feature map .* 28 x 28.*bottleneck"),
    (lambda: _conv_identity(n_conv=1), _no_training, {}, "convolutional layers"),
    (lambda: _conv_ae(side=14), _train_ok, {}, "smallest feature map .* 14 x 14"),
    (lambda: _conv_ae(skip=True), _train_ok, {}, "skip connection"),
    (_conv_ae, _no_training, {}, "did not train the model it was given"),
    (_conv_ae, _train_copy, {}, "did not train the model it was given"),
    (_conv_ae, _train_on_noise, {}, "targets are not its inputs"),
    (_conv_ae, lambda m, x: _train_ok(m, x, epochs=3), {"budget_macs": 1e5}, "budget"),
])
def test_conv_wrong(binary_images, build, train, kw, match):
    x = binary_images
    with pytest.raises(CheckFailed, match=match):
        a2.check_conv_autoencoder(build, train, x, x, **{"target_bce": 0.9, **kw})
    with pytest.raises(NotImplementedError):
        a2.trained_conv_autoencoder()


def _build_and_train(x):
    def build():
        model = _conv_ae()
        _train_ok(model, x, epochs=1)  # training hidden in build(), outside the budget
        return model

    return build


def test_conv_training_in_build_is_caught(binary_images):
    with pytest.raises(CheckFailed, match="already trained.*belongs in train_conv"):
        a2.check_conv_autoencoder(_build_and_train(binary_images), _train_ok, binary_images,
                                  binary_images, target_bce=0.9)


def test_conv_uses_no_course_model(binary_images):
    from utils import models

    def build():
        return models.conv_autoencoder(filters=(4, 4))[0]

    with pytest.raises(CheckFailed, match="calls utils.models.conv_autoencoder"):
        a2.check_conv_autoencoder(build, _train_ok, binary_images, binary_images,
                                  target_bce=0.9)

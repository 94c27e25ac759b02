"""utils.repro seeding and timing; utils.models builders."""

from __future__ import annotations

import time

import numpy as np
import pytest

from utils import models, repro


def _train_once(seed):
    import keras

    repro.set_seed(seed)
    x = np.random.default_rng(0).random((64, 16)).astype("float32")
    ae, _, _ = models.dense_autoencoder(code_size=4, hidden=(8,), input_dim=16)
    ae.compile(optimizer="adam", loss="mse")
    ae.fit(x, x, epochs=2, batch_size=16, verbose=0)
    return np.concatenate([w.ravel() for w in ae.get_weights()]), keras


def test_set_seed_makes_training_repeatable():
    a, _ = _train_once(7)
    b, _ = _train_once(7)
    c, _ = _train_once(8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_set_seed_seeds_numpy_and_python():
    import random

    repro.set_seed(3)
    first = (random.random(), np.random.rand())  # noqa: NPY002
    repro.set_seed(3)
    assert (random.random(), np.random.rand()) == first  # noqa: NPY002


def test_versions_lists_the_stack():
    v = repro.versions()
    for key in ("python", "tensorflow", "keras", "keras backend", "devices"):
        assert v[key]
    assert v["keras backend"] == "tensorflow"
    assert v["keras"].startswith("3.")


def test_timer_measures_elapsed_time():
    with repro.Timer() as t:
        time.sleep(0.05)
    assert 0.04 < t.seconds < 1.0


def test_dense_autoencoder_shapes_and_shared_layers():
    ae, enc, dec = models.dense_autoencoder(code_size=32)
    assert ae.count_params() == 784 * 32 + 32 + 32 * 784 + 784
    x = np.zeros((3, 784), "float32")
    assert enc.predict(x, verbose=0).shape == (3, 32)
    assert ae.predict(x, verbose=0).shape == (3, 784)
    assert dec.count_params() + enc.count_params() == ae.count_params()
    deep, _, _ = models.dense_autoencoder(code_size=32, hidden=(128, 64))
    expected = (784 * 128 + 128 + 128 * 64 + 64 + 64 * 32 + 32) + (
        32 * 64 + 64 + 64 * 128 + 128 + 128 * 784 + 784)
    assert deep.count_params() == expected
    with pytest.raises(ValueError, match="positive"):
        models.dense_autoencoder(code_size=0)


def test_conv_autoencoder_shapes():
    ae, enc, dec = models.conv_autoencoder(code_size=10, filters=(8, 16))
    x = np.zeros((2, 28, 28, 1), "float32")
    assert enc.predict(x, verbose=0).shape == (2, 10)
    assert ae.predict(x, verbose=0).shape == (2, 28, 28, 1)
    out = ae.predict(np.random.default_rng(0).random((2, 28, 28, 1)), verbose=0)
    assert out.min() >= 0 and out.max() <= 1, "sigmoid output"
    with pytest.raises(ValueError, match="cannot be halved"):
        models.conv_autoencoder(filters=(8, 8, 8))

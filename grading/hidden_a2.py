"""Hidden tests for assignment 2.

The conv autoencoder is trained on 12,000 MNIST training images the notebook did not use
(chosen with the secret seed) and scored on 2,000 test images; the target and the work
budget are the notebook's.
"""

from __future__ import annotations

import numpy as np

from grading.common import mnist, rng, run_check, student
from utils.checkers import a2


def test_build_deep_autoencoder(ns, secret):
    return run_check(a2.check_build_deep_autoencoder, student(ns, "build_deep_autoencoder"))


def test_dense_tied(ns, secret):
    return run_check(a2.check_dense_tied, student(ns, "DenseTied"))


def test_conv_autoencoder(ns, secret):
    build = student(ns, "build_conv_autoencoder")
    train = student(ns, "train_conv_autoencoder")
    (x_train, _), (x_test, _) = mnist()
    r = rng(secret, 2)
    pool = np.arange(14_000, len(x_train))  # the notebook uses the first 14,000 images
    train_ids = np.sort(r.choice(pool, 12_000, replace=False))
    val_ids = np.sort(r.choice(len(x_test), 2_000, replace=False))
    return run_check(a2.check_conv_autoencoder, build, train, x_train[train_ids, :, :, None],
                     x_test[val_ids, :, :, None])

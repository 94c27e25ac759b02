"""Hidden tests for assignment 4.

The trained VAE is trained on 15,000 binarised training images the notebook did not use
and scored on 2,000 binarised test images, both drawn with the secret seed.
"""

from __future__ import annotations

import numpy as np

from grading.common import mnist, rng, run_check, student
from utils.checkers import a4


def test_sampling(ns, secret):
    return run_check(a4.check_sampling, student(ns, "Sampling"))


def test_kl_divergence(ns, secret):
    return run_check(a4.check_kl_divergence, student(ns, "kl_divergence"))


def test_neg_elbo(ns, secret):
    return run_check(a4.check_neg_elbo, student(ns, "neg_elbo"))


def test_vae(ns, secret):
    return run_check(a4.check_vae, student(ns, "VAE"))


def test_trained_vae(ns, secret):
    from utils import data

    train_vae = student(ns, "train_vae")
    (x_train, _), (x_test, _) = mnist()
    r = rng(secret, 4)
    train_ids = np.sort(r.choice(np.arange(15_000, len(x_train)), 15_000, replace=False))
    test_ids = np.sort(r.choice(np.arange(2_000, len(x_test)), 2_000, replace=False))
    x_tr = data.binarise(data.flatten(x_train[train_ids]), seed=int(r.integers(2**31)))
    x_te = data.binarise(data.flatten(x_test[test_ids]), seed=int(r.integers(2**31)))
    return run_check(a4.check_trained_vae, train_vae, x_tr, x_te)

"""Hidden tests for assignment 5.

The few-label classifier is pre-trained on 20,000 unlabelled training images, fitted on
100 labelled images (10 per class) drawn with the secret seed from images outside that
set, and scored on the 10,000 MNIST test images.
"""

from __future__ import annotations

import numpy as np

from grading.common import mnist, rng, run_check, student
from utils.checkers import a5


def test_anomaly_scores(ns, secret):
    return run_check(a5.check_anomaly_scores, student(ns, "anomaly_scores"))


def test_auroc(ns, secret):
    return run_check(a5.check_auroc, student(ns, "auroc"))


def test_detect(ns, secret):
    return run_check(a5.check_detect, student(ns, "detect"))


def test_hamming_ball(ns, secret):
    return run_check(a5.check_hamming_ball, student(ns, "hamming_ball"))


def test_few_label_classifier(ns, secret):
    pretrain = student(ns, "pretrain_encoder")
    fit = student(ns, "fit_classifier")
    (x_train, y_train), (x_test, y_test) = mnist()
    flat = x_train.reshape(len(x_train), -1)
    r = rng(secret, 5)
    unlabelled = np.sort(r.choice(np.arange(0, 50_000), 20_000, replace=False))
    pool = np.arange(50_000, 60_000)
    labelled = np.concatenate([r.choice(pool[y_train[pool] == c], 10, replace=False)
                               for c in range(10)])
    return run_check(a5.check_few_label_classifier, pretrain, fit, flat[unlabelled],
                     flat[labelled], y_train[labelled],
                     x_test=x_test.reshape(len(x_test), -1), y_test=y_test)

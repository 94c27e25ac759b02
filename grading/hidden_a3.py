"""Hidden tests for assignment 3: the formative checks, on inputs drawn from the secret seed."""

from __future__ import annotations

from grading.common import run_check, student
from utils.checkers import a3


def test_add_gaussian_noise(ns, secret):
    return run_check(a3.check_add_gaussian_noise, student(ns, "add_gaussian_noise"))


def test_psnr(ns, secret):
    return run_check(a3.check_psnr, student(ns, "psnr"))


def test_pca_svd(ns, secret):
    return run_check(a3.check_pca_svd, student(ns, "pca_svd"))


def test_subspace_angles(ns, secret):
    return run_check(a3.check_subspace_angles, student(ns, "subspace_angles"))

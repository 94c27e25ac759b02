"""Hidden tests for assignment 1: the formative checks, on inputs drawn from the secret seed."""

from __future__ import annotations

from grading.common import run_check, student
from utils.checkers import a1


def test_gaussian_nll(ns, secret):
    return run_check(a1.check_gaussian_nll, student(ns, "gaussian_nll"))


def test_bernoulli_nll(ns, secret):
    return run_check(a1.check_bernoulli_nll, student(ns, "bernoulli_nll"))


def test_mle_sigma(ns, secret):
    return run_check(a1.check_mle_sigma, student(ns, "mle_sigma"))

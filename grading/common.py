"""Helpers shared by the hidden tests (instructor-only)."""

from __future__ import annotations

import functools

import numpy as np


class Missing(Exception):
    """The student's answer does not define what the task needs."""


def student(ns: dict, name: str):
    """The object ``name`` from the student's answer cells (``Missing`` if absent)."""
    if name not in ns:
        raise Missing(f"your answer cells do not define `{name}` (renamed, or the cell that "
                      "defines it raised an error?)")
    return ns[name]


def run_check(check, *args, **kwargs) -> bool:
    """Run a formative check; ``True`` when it passes (``False`` = NOT DONE)."""
    return bool(check(*args, **kwargs))


@functools.lru_cache(maxsize=1)
def mnist():
    """MNIST as float pixels in [0, 1]: ``(x_train, y_train), (x_test, y_test)``."""
    from utils import data

    (xtr, ytr), (xte, yte) = data.load_mnist()
    return (data.to_float(xtr), ytr), (data.to_float(xte), yte)


def rng(secret: int, salt: int) -> np.random.Generator:
    """A generator from the grading run's secret seed (differs from the notebook's)."""
    return np.random.default_rng([int(secret), int(salt)])

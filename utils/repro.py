"""Reproducibility and timing: one call seeds everything, one context manager times a step."""

from __future__ import annotations

import os
import platform
import random
import time

import numpy as np


def set_seed(seed: int = 42, deterministic: bool = True) -> int:
    """Seed Python, NumPy, Keras and TensorFlow; make TensorFlow ops deterministic.

    After this call, rerunning a notebook on the same machine reproduces the same
    numbers. ``deterministic=False`` keeps the seeds but lets TensorFlow pick faster,
    non-deterministic kernels. Returns the seed.
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (seeds legacy global-state code too)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    return seed


def versions() -> dict[str, str]:
    """Versions of Python and the course's main packages, and the devices TensorFlow sees."""
    import keras
    import matplotlib
    import sklearn
    import tensorflow as tf

    devices = ", ".join(d.device_type for d in tf.config.list_physical_devices()) or "none"
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras backend": keras.backend.backend(),
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
        "devices": devices,
        "cpu cores": str(os.cpu_count()),
    }


def print_versions() -> None:
    """Print :func:`versions` as an aligned two-column list."""
    for key, value in versions().items():
        print(f"{key:>14}: {value}")


class Timer:
    """Wall-clock timer: ``with Timer() as t: ...`` then read ``t.seconds``."""

    def __init__(self) -> None:
        self.seconds = float("nan")
        self._start = 0.0

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start

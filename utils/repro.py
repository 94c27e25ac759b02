"""Reproducibility and timing: one call seeds everything, one context manager times a step."""

from __future__ import annotations

import os
import platform
import random
import time

import numpy as np


SEED_ENV_VAR = "AE_SEED"
"""Environment variable that chooses the seed of every notebook (default :data:`DEFAULT_SEED`)."""

DEFAULT_SEED = 42

DETERMINISM_ENV_VAR = "AE_DETERMINISTIC"
"""Set to ``0`` to let TensorFlow use faster, non-deterministic kernels (for example on a GPU)."""

_current_seed: int | None = None


def _int_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"{name}={raw!r} is not an integer; set it to a whole number such as "
            f"{name}=7, or unset it to use the default {default}") from None


def seed_from_env() -> int:
    """The seed named by ``$AE_SEED``, or :data:`DEFAULT_SEED` when it is unset or empty."""
    seed = _int_from_env(SEED_ENV_VAR, DEFAULT_SEED)
    if not 0 <= seed < 2**32:
        raise ValueError(f"{SEED_ENV_VAR}={seed} is out of range; use 0 <= seed < 2**32")
    return seed


def current_seed() -> int:
    """The seed of the last :func:`set_seed` call (the environment's seed before any call)."""
    return seed_from_env() if _current_seed is None else _current_seed


def set_seed(seed: int | None = None, deterministic: bool | None = None) -> int:
    """Seed Python, NumPy, Keras and TensorFlow; make TensorFlow ops deterministic.

    ``seed=None`` (what every notebook passes) takes the seed from ``$AE_SEED``, default
    42, so one variable re-runs the whole course with another seed. After this call,
    rerunning a notebook on the same machine reproduces the same numbers.

    ``deterministic=None`` reads ``$AE_DETERMINISTIC`` (default on). Off keeps the seeds
    but lets TensorFlow pick faster, non-deterministic kernels, which matters on a GPU.
    The call also restarts the notebook clock that :func:`utils.results.record_runtime`
    reads, and returns the seed.
    """
    global _current_seed
    if seed is None:
        seed = seed_from_env()
    if deterministic is None:
        deterministic = _int_from_env(DETERMINISM_ENV_VAR, 1) != 0
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (seeds legacy global-state code too)
    import keras
    import tensorflow as tf

    quiet_tensorflow()
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    _current_seed = seed
    from utils import results

    results.restart_clock()
    return seed


def quiet_tensorflow() -> None:
    """Keep TensorFlow's log lines out of notebook outputs.

    ``import utils`` already sets ``TF_CPP_MIN_LOG_LEVEL=3`` (unless it is set) before
    TensorFlow loads, which hides the C++ log, including harmless ``E0000 ...`` lines such
    as "NodeDef mentions attribute use_unbounded_threadpool" that Colab shows in cells.
    This also quiets TensorFlow's Python logger and absl's to errors only.
    """
    import logging

    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging
    except ImportError:  # absl-py comes with TensorFlow; be safe anyway
        return
    absl_logging.set_verbosity(absl_logging.ERROR)


def nvidia_gpu_present() -> bool:
    """Whether this machine has an NVIDIA GPU with its driver loaded (Linux or Windows)."""
    import shutil

    return os.path.exists("/proc/driver/nvidia/version") or shutil.which("nvidia-smi") is not None


def device_summary() -> str:
    """The device TensorFlow computes on, in words, with a hint when a GPU goes unused.

    ``"CPU"`` on a machine without a GPU; ``"CPU, GPU (NVIDIA ...)"`` when TensorFlow
    uses one (with whether op determinism is on); and, when an NVIDIA GPU is present
    but this TensorFlow cannot use it (the CPU-only build), how to switch.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = []
        for gpu in gpus:
            try:
                names.append(tf.config.experimental.get_device_details(gpu)["device_name"])
            except (KeyError, ValueError, RuntimeError):
                names.append(gpu.name)
        deterministic = _int_from_env(DETERMINISM_ENV_VAR, 1) != 0
        mode = ("deterministic ops; AE_DETERMINISTIC=0 for speed" if deterministic
                else "non-deterministic ops (AE_DETERMINISTIC=0)")
        return f"CPU, GPU ({', '.join(names)}; {mode})"
    if nvidia_gpu_present():
        return ("CPU (an NVIDIA GPU is present, but this TensorFlow build cannot use it; "
                "set up with `python -m utils.setup --gpu` or `make lab GPU=1`)")
    return "CPU"


def versions() -> dict[str, str]:
    """Versions of Python and the course's main packages, and the device TensorFlow uses."""
    import keras
    import matplotlib
    import sklearn
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras backend": keras.backend.backend(),
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
        "devices": device_summary(),
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

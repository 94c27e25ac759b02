"""Shared helpers for the autoencoder course: data, plotting, metrics, reproducibility.

Import the modules you need, for example ``from utils import data, plotting``.
Keras is told to use the TensorFlow backend, and TensorFlow's C++ log is silenced
(level 3: no info, warning or error lines in notebook outputs, on Colab too, where no
kernel-level variable can be set), before either is imported; a variable that is
already set wins. In a notebook kernel TensorFlow is also imported here, with the
process's standard error closed for the duration: some of its start-up lines (for
example "oneDNN custom operations are on") come from a logger that ignores
``TF_CPP_MIN_LOG_LEVEL`` and would otherwise reach the first cell's output.

This file and :mod:`utils.setup` use only the standard library, so
``python -m utils.setup`` runs before anything is installed.
"""

import importlib.util
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with file descriptor 2 pointed at the null device, then restore it.

    A Python exception from the import still propagates (it is raised, not printed).
    """
    if "tensorflow" in sys.modules or importlib.util.find_spec("tensorflow") is None:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to silence
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


if "ipykernel" in sys.modules and os.environ.get("AE_QUIET_IMPORT", "1") != "0":
    _import_tensorflow_quietly()

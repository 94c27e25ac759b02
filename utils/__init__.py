"""Shared helpers for the autoencoder course: data, plotting, metrics, reproducibility.

Import the modules you need, for example ``from utils import data, plotting``.
Keras is told to use the TensorFlow backend, and TensorFlow's C++ start-up chatter
is silenced, before either is imported.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

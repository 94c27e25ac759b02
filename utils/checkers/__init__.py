"""Checkers for the assignments in ``notebooks/assignments/`` (one module per assignment).

Each checker is built with :func:`utils.grading.checker`: it calls the student's function
on several inputs, compares with a reference computed independently (NumPy, scikit-learn,
SciPy or Keras) and prints ``PASSED``, ``NOT DONE`` or ``FAILED`` with the reason.
"""

from utils.checkers import a1, a2, a3, a4, a5

__all__ = ["a1", "a2", "a3", "a4", "a5"]

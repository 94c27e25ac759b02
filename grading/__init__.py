"""Instructor-only grading: hidden tests, the task manifest and the separate grading run.

Not part of the student release (``scripts/make_release.py`` leaves this folder out) nor of
the ``utils`` wheel. ``scripts/grade_assignment.py`` is the command line; see the README's
"For instructors" section.

* :mod:`grading.grader` reads submissions, runs each one in fresh processes with time
  limits, and writes one row per submission (CSV for a learning-management system).
* :mod:`grading.runner` is the process that loads a submission's answer cells and runs the
  hidden tests on them.
* ``grading/hidden_aN.py`` are the hidden tests; ``grading/manifest.toml`` the tasks.
"""

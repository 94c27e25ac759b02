"""Root pytest configuration: loads the notebook timing table for every run.

With this file (and the options in pyproject.toml), a bare ``pytest`` in the repository
root runs exactly what ``make test`` runs, on any operating system.
"""

pytest_plugins = ["tests.notebook_timing"]

"""The student release (scripts/make_release.py) holds no solution and no hidden test."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_release", ROOT / "scripts" /
                                               "make_release.py")
make_release = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_release)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("rel") / "student-release"
    out, files = make_release.build(out, make_zip=True)
    return out, files


def test_release_has_what_students_need(release):
    out, files = release
    for path in ("README.md", "requirements.txt", "pyproject.toml", "data/README.md",
                 "utils/__init__.py", "utils/grading.py", "utils/checkers/a1.py"):
        assert (out / path).is_file(), path
    students = sorted(p.name for p in (out / "notebooks" / "assignments").glob("*.ipynb"))
    assert students == sorted(p.name for p in (ROOT / "notebooks" / "solutions").glob("*.ipynb"))
    assert list((out / "notebooks").glob("[0-9][0-9]_*.ipynb")), "the lessons are missing"
    assert out.with_suffix(".zip").is_file()


def test_release_leaks_no_solution_and_no_hidden_test(release):
    out, files = release
    assert not (out / "notebooks" / "solutions").exists()
    assert not (out / "grading").exists()
    assert not any(f.startswith(("grading/", "notebooks/solutions/")) for f in files)
    for name in ("make_assignments.py", "grade_assignment.py", "make_release.py"):
        assert not (out / "scripts" / name).exists(), name
    assert not list((out / "tests").glob("test_checkers*.py"))  # they hold right answers
    assert make_release.scan(out, make_release.secret_ngrams()) == []
    readme = (out / "README.md").read_text()
    assert "student release" in readme and "Why not nbgrader" not in readme
    text = "\n".join(p.read_text(errors="ignore") for p in out.rglob("*") if p.is_file())
    for secret in ("### BEGIN SOLUTION", "hidden_a1", "grading.runner",
                   "np.sort(np.arccos(np.clip(cosines, -1.0, 1.0)))"):
        assert secret not in text, secret


def test_scan_catches_planted_leaks(tmp_path):
    """A solution notebook or a hidden test copied into the release is caught."""
    secrets = make_release.secret_ngrams()
    shutil.copy(ROOT / "notebooks" / "solutions" / "a3_denoising_and_pca.ipynb",
                tmp_path / "copy.ipynb")
    (tmp_path / "helper.py").write_text(
        "def pca(x, k):\n"
        "    x = np.asarray(x, dtype=np.float64)\n    mean = x.mean(axis=0)\n"
        "    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)\n")
    (tmp_path / "tests.py").write_text((ROOT / "grading" / "hidden_a5.py").read_text())
    problems = make_release.scan(tmp_path, secrets)
    where = {p.split(":")[0] for p in problems}
    assert where == {"copy.ipynb", "helper.py", "tests.py"}, problems

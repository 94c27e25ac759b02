"""scripts/stamp_colab.py on temporary copies of the notebooks, and the set-up cell outside Colab.

The real notebooks are stamped by a maintainer (`python scripts/stamp_colab.py`); the
last test checks that they all agree with the address in pyproject.toml once they are.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

from tests.scripts_loader import load_script

ROOT = Path(__file__).resolve().parent.parent


stamp_colab = load_script("stamp_colab")
# Not in the student release (scripts/make_release.py leaves it out).
HAVE_MAKE_ASSIGNMENTS = (ROOT / "scripts" / "make_assignments.py").exists()
make_assignments = load_script("make_assignments") if HAVE_MAKE_ASSIGNMENTS else None

LESSON = "notebooks/03_basic_autoencoder.ipynb"
SOLUTION = "notebooks/solutions/a1_likelihoods_and_losses.ipynb"
STUDENT = "notebooks/assignments/a1_likelihoods_and_losses.ipynb"


@pytest.fixture
def tree(tmp_path):
    """A copy of pyproject.toml and three notebooks in the repository's layout."""
    if not (ROOT / SOLUTION).exists():
        pytest.skip("no solution notebooks (the student release)")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for rel in (LESSON, SOLUTION, STUDENT):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    return tmp_path


def _paths(tree):
    return [tree / LESSON, tree / SOLUTION, tree / STUDENT]


def _unstamp(tree):
    """The copies as they were before any stamping (the real ones may be stamped by now)."""
    for path in _paths(tree):
        nb = nbformat.read(path, as_version=4)
        nb.cells = [c for c in nb.cells if not stamp_colab.is_colab_cell(c)]
        nb.cells[0].source = "\n".join(
            ln for ln in nb.cells[0].source.split("\n") if not stamp_colab.BADGE_RE.match(ln))
        path.write_text(stamp_colab.render(nb), encoding="utf-8")


def test_address_lives_in_one_place():
    with open(ROOT / "pyproject.toml", "rb") as f:
        url = tomllib.load(f)["project"]["urls"]["Repository"]
    assert stamp_colab.repository_url() == url.rstrip("/")
    assert stamp_colab.github_slug(url).count("/") == 1
    for script in ("stamp_colab.py",):
        assert url not in (ROOT / "scripts" / script).read_text(), "no second copy of the URL"
    assert url not in (ROOT / "utils" / "setup.py").read_text()


def test_stamp_then_check(tree):
    _unstamp(tree)
    url = "https://github.com/someone/fork-of-course"
    assert stamp_colab.stamp(_paths(tree), check=True, url=url, root=tree) == _paths(tree)
    before = (tree / LESSON).read_text(encoding="utf-8")
    assert stamp_colab.stamp(_paths(tree), url=url, root=tree) == _paths(tree)
    assert (tree / LESSON).read_text(encoding="utf-8") != before
    # Idempotent: a second run changes nothing, and --check agrees.
    assert stamp_colab.stamp(_paths(tree), url=url, root=tree) == []
    assert stamp_colab.stamp(_paths(tree), check=True, url=url, root=tree) == []
    # Another address makes every notebook stale again.
    assert stamp_colab.stamp(_paths(tree), check=True, url=url + "2", root=tree) == _paths(tree)

    lesson = nbformat.read(tree / LESSON, as_version=4)
    title = lesson.cells[0].source.split("\n")
    assert title[0].startswith("# 03 ") and title[1] == ""
    assert title[2] == (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/someone/fork-of-course/blob/main/"
        "notebooks/03_basic_autoencoder.ipynb)")
    cell = lesson.cells[1]
    assert cell.id == "colab-setup" and cell.cell_type == "code"
    assert "git+https://github.com/someone/fork-of-course@main" in cell.source
    assert cell.outputs == [] and cell.execution_count is None
    assert "repro.set_seed(" in lesson.cells[2].source, "the course's setup cell follows"
    # Everything else is as it was.
    original = nbformat.read(ROOT / LESSON, as_version=4)
    original.cells = [c for c in original.cells if not stamp_colab.is_colab_cell(c)]
    assert [c.source for c in lesson.cells[2:]] == [c.source for c in original.cells[1:]]


def test_solution_badge_opens_the_student_notebook(tree):
    _unstamp(tree)
    stamp_colab.stamp(_paths(tree), url="https://github.com/a/b", root=tree)
    for rel in (SOLUTION, STUDENT):
        title = nbformat.read(tree / rel, as_version=4).cells[0].source
        assert "blob/main/notebooks/assignments/a1_likelihoods_and_losses.ipynb)" in title


@pytest.mark.skipif(not HAVE_MAKE_ASSIGNMENTS, reason="no scripts/make_assignments.py")
def test_stamped_student_equals_the_one_generated_from_the_stamped_solution(tree):
    _unstamp(tree)
    stamp_colab.stamp(_paths(tree), url="https://github.com/a/b", root=tree)
    solution = nbformat.read(tree / SOLUTION, as_version=4)
    generated = make_assignments.render(make_assignments.student_version(solution, "a1"))
    assert generated == (tree / STUDENT).read_text(encoding="utf-8"), (
        "make_assignments.py --check would fail after stamping")


def test_misplaced_cell_is_moved_and_badge_not_doubled(tree):
    _unstamp(tree)
    path = tree / LESSON
    stamp_colab.stamp([path], url="https://github.com/a/b", root=tree)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nb.cells.pop(1))  # the Colab cell at the end
    nb.cells[0].source += "\n"
    path.write_text(stamp_colab.render(nb), encoding="utf-8")
    stamp_colab.stamp([path], url="https://github.com/a/b", root=tree)
    nb = nbformat.read(path, as_version=4)
    assert [stamp_colab.is_colab_cell(c) for c in nb.cells].count(True) == 1
    assert stamp_colab.is_colab_cell(nb.cells[1])
    assert nb.cells[0].source.count("Open In Colab") == 1


def test_bad_address_refused():
    with pytest.raises(SystemExit, match="not a https://github.com/OWNER/NAME"):
        stamp_colab.github_slug("https://gitlab.com/a/b")


def test_stamped_cell_passes_ruff(tree):
    _unstamp(tree)
    stamp_colab.stamp([tree / LESSON], root=tree)
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    out = subprocess.run([ruff, "check", "--config", str(ROOT / "pyproject.toml"),
                          str(tree / LESSON)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def _run_cell(tmp_path, extra_files=None, env_extra=None):
    """Run the set-up cell's code in a fresh Python (not on Colab), cwd = tmp_path."""
    for name, text in (extra_files or {}).items():
        (tmp_path / name).write_text(text)
    script = tmp_path / "cell.py"
    script.write_text(stamp_colab.cell_source(stamp_colab.repository_url()))
    env = {k: v for k, v in os.environ.items() if k not in ("COLAB_RELEASE_TAG",)}
    env.update(env_extra or {})
    env["PYTHONPATH"] = ""  # the course comes from the (editable) install, as in a kernel
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=env)


def test_cell_outside_colab_is_silent_and_installs_nothing(tmp_path):
    out = _run_cell(tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""


def test_cell_names_a_shadowing_utils(tmp_path):
    out = _run_cell(tmp_path, {"utils.py": "x = 1\n"})
    assert out.returncode != 0
    assert "ImportError: `import utils` finds" in out.stderr and "utils.py" in out.stderr
    assert "not this course's package" in out.stderr and "rename it" in out.stderr


def test_real_notebooks_agree_with_the_address():
    """Once stamped, every notebook carries the badge and cell for pyproject's address."""
    paths = stamp_colab.default_notebooks()
    stamped = [p for p in paths if any(
        stamp_colab.is_colab_cell(c) for c in nbformat.read(p, as_version=4).cells)]
    if not stamped:
        pytest.skip("the notebooks are not stamped yet: run `python scripts/stamp_colab.py`")
    stale = stamp_colab.stamp(paths, check=True)
    assert stale == [], f"run `python scripts/stamp_colab.py`; not in step: {stale}"

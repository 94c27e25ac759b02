"""The student notebooks are fresh, leak no solutions, and stop politely at every stub."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tests.scripts_loader import load_script

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
ASSIGNMENTS = ROOT / "notebooks" / "assignments"
CELL_TIMEOUT = 300


make_assignments = load_script("make_assignments")
grade_assignment = load_script("grade_assignment")


def _solution_lines(nb) -> set[str]:
    """Non-blank, non-comment lines inside the solution regions of a solution notebook."""
    lines = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            inside = False
            for line in cell.source.splitlines():
                s = line.strip()
                if s == make_assignments.BEGIN:
                    inside = True
                elif s == make_assignments.END:
                    inside = False
                elif inside and s and not s.startswith("#"):
                    lines.add(s)
        elif cell.cell_type == "markdown":
            pattern = (re.escape(make_assignments.MD_BEGIN) + r"(.*?)"
                       + re.escape(make_assignments.MD_END))
            for region in re.findall(pattern, cell.source, re.S):
                lines.update(s.strip() for s in region.splitlines() if s.strip())
    return lines


def test_solutions_exist():
    assert SOLUTIONS, "no solution notebooks in notebooks/solutions/"


def test_student_notebooks_are_fresh():
    stale = make_assignments.generate(check=True)
    assert stale == [], f"run `python scripts/make_assignments.py`; stale: {stale}"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_no_solution_leaks(solution):
    sol = nbformat.read(solution, as_version=4)
    student = nbformat.read(ASSIGNMENTS / solution.name, as_version=4)
    lines = _solution_lines(sol)
    assert lines, f"{solution.name} has no solution regions"
    student_lines = {line.strip() for c in student.cells for line in c.source.splitlines()}
    leaked = sorted(lines & student_lines)
    assert not leaked, f"{solution.name}: solution lines in the student notebook: {leaked[:5]}"
    assert "raise NotImplementedError()" in "\n".join(c.source for c in student.cells)
    for cell in student.cells:
        assert not cell.get("outputs"), f"{solution.name}: student notebook has outputs"


@pytest.fixture(scope="module")
def executed_students():
    """Each student notebook executed once as shipped (shared by the tests below).

    The kernel inherits this environment: set ``AE_DATA_DIR`` as for the lessons.
    """
    mp = pytest.MonkeyPatch()
    mp.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    mp.setenv("KERAS_BACKEND", "tensorflow")
    try:
        yield {p.stem: grade_assignment.execute(ASSIGNMENTS / p.name, timeout=CELL_TIMEOUT)
               for p in SOLUTIONS}
    finally:
        mp.undo()


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_stubs_stop_politely(solution, executed_students):
    nb = executed_students[solution.stem]
    enames = {out.get("ename") for c in nb.cells for out in c.get("outputs", [])
              if out.get("output_type") == "error"}
    assert enames <= {"NotImplementedError"}, (
        f"{solution.name}: a stubbed notebook raised {enames - {'NotImplementedError'}}; "
        "cells after a task must call the student's function before using its results")
    checks = [c for c in nb.cells if c.cell_type == "code" and "checks.check_" in c.source]
    assert checks, f"{solution.name}: no check cells"
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.get("outputs", []))
        assert "NOT DONE" in text and "PASSED" not in text, (
            f"{solution.name}: check cell {cell.source.strip()!r} printed {text!r}")


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_stub_lines_are_all_not_done(solution, executed_students):
    """What the shipped notebook prints (feedback only; grading never reads it)."""
    results = grade_assignment.parse(executed_students[solution.stem])
    assert len(results) >= 2 and {r["status"] for r in results} == {"NOT DONE"}, results

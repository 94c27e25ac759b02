"""The grader: forging changes no grade; hanging, crashing and truncated submissions get rows.

Submissions are built from the A1 solution notebook (NumPy only, so each grading process
is quick). Time limits are shortened so that a hanging submission costs seconds.
"""

from __future__ import annotations

import copy
import csv
import importlib.util
import io
import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grading import grader  # noqa: E402

SOLUTION = ROOT / "notebooks" / "solutions" / "a1_likelihoods_and_losses.ipynb"
GOOD = {"gaussian_nll": 4, "bernoulli_nll": 4, "mle_sigma": 2}


def _load_cli():
    spec = importlib.util.spec_from_file_location("grade_assignment_cli",
                                                  ROOT / "scripts" / "grade_assignment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _solution():
    return nbformat.read(SOLUTION, as_version=4)


def _no_data(nb):
    nb.cells = [c for c in nb.cells if "data.load_mnist" not in c.source]
    return nb


def _cell(nb, cid):
    return next(c for c in nb.cells if c.get("id") == cid)


def _append(nb, cid, text):
    _cell(nb, cid).source += "\n" + text


WRONG_GAUSSIAN = ("def gaussian_nll(x, mu, sigma):\n"
                  "    import numpy as np\n"
                  "    x = np.asarray(x, float).reshape(len(x), -1)\n"
                  "    return ((x - np.asarray(mu).reshape(len(x), -1)) ** 2).mean(axis=1)\n")


def _submissions(tmp: Path) -> dict[str, Path]:
    subs = {}

    def save(name, nb):
        path = tmp / f"a1_{name}.ipynb"
        nbformat.write(nb, path)
        subs[name] = path

    save("good", _solution())
    # forging: three wrong answers, each with a different forgery, and no check cells
    nb = _solution()
    _cell(nb, "cell-06").source = WRONG_GAUSSIAN + (  # replace the checker
        "checks.check_gaussian_nll = lambda fn: print('PASSED  gaussian_nll') or True\n")
    _cell(nb, "cell-11").source = (  # replace the tools of every check
        "def bernoulli_nll(x, p, eps=1e-7):\n"
        "    return -np.sum(np.asarray(x) * np.log(np.asarray(p) + eps), axis=-1)\n"
        "import utils.grading as _g\n"
        "_g.expect_close = lambda name, value, *a, **k: value\n"
        "_g.expect_shape = lambda name, value, *a, **k: value\n"
        "checks.expect_close = _g.expect_close\n")
    _cell(nb, "cell-16").source = (  # print fake lines; a right answer here
        _cell(nb, "cell-16").source + "\nprint('PASSED  gaussian_nll')\n"
        "print('PASSED  bernoulli_nll')\n")
    nb.cells = [c for c in nb.cells if not c.source.startswith("checks.check_")]
    save("forged", nb)
    # the shipped stubs with fake PASSED outputs, and the course's helper for bernoulli_nll
    nb = copy.deepcopy(nbformat.read(ROOT / "notebooks" / "assignments" / SOLUTION.name,
                                     as_version=4))
    for c in nb.cells:
        if "checks.check_" in c.source:
            c.outputs = [nbformat.v4.new_output("stream", text="PASSED  anything\n")]
    _cell(nb, "cell-06").source = (  # patches the check's tools while the check runs
        "def gaussian_nll(x, mu, sigma):\n"
        "    import numpy, utils.grading\n"
        "    numpy.allclose = lambda *a, **k: True\n"
        "    utils.grading.fail = lambda message: None\n"
        "    return numpy.zeros(len(x))\n")
    _cell(nb, "cell-11").source = (
        "from utils.metrics import bce_per_image as _b\n"
        "def bernoulli_nll(x, p, eps=1e-7):\n"
        "    return _b(x, p, eps) * np.asarray(x)[0].size\n")
    save("fake_outputs", nb)
    # truncated, not JSON at all
    (tmp / "a1_truncated.ipynb").write_text(SOLUTION.read_text()[:4000])
    subs["truncated"] = tmp / "a1_truncated.ipynb"
    (tmp / "a1_garbage.ipynb").write_bytes(b"\x00\xff not a notebook")
    subs["garbage"] = tmp / "a1_garbage.ipynb"
    # ids dropped by an old Jupyter, and the mle_sigma answer cell deleted
    raw = json.loads(SOLUTION.read_text())
    raw["nbformat_minor"] = 4
    raw["cells"] = [c for c in raw["cells"] if c.get("id") != "cell-16"]
    for c in raw["cells"]:
        c.pop("id", None)
    (tmp / "a1_no_ids.ipynb").write_text(json.dumps(raw))
    subs["no_ids"] = tmp / "a1_no_ids.ipynb"
    return subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every submission graded in one batch, with short time limits."""
    tmp = tmp_path_factory.mktemp("subs")
    subs = _submissions(tmp)
    manifest = grader.load_manifest()
    rows = grader.grade_batch(list(subs.values()), jobs=2, manifest=manifest, seed=1234)
    return {name: row for name, row in zip(subs, rows, strict=True)}, manifest


def _points(row):
    return {t: r["points"] for t, r in row["tasks"].items()}


def test_good_submission_scores_full(graded):
    rows, _ = graded
    assert _points(rows["good"]) == GOOD
    assert rows["good"]["points"] == rows["good"]["max_points"] == 10


def test_forging_changes_no_grade(graded):
    row = graded[0]["forged"]
    assert _points(row) == {"gaussian_nll": 0, "bernoulli_nll": 0, "mle_sigma": 2}, row
    assert {row["tasks"][t]["status"] for t in ("gaussian_nll", "bernoulli_nll")} == {"FAILED"}
    assert "replaced utils.checkers.a1.check_gaussian_nll" in row["tasks"]["gaussian_nll"][
        "detail"]
    assert "utils.grading.expect_close" in row["tasks"]["bernoulli_nll"]["detail"]


def test_fake_outputs_runtime_patches_and_course_helper_score_zero(graded):
    row = graded[0]["fake_outputs"]
    assert row["points"] == 0
    patched = row["tasks"]["gaussian_nll"]
    assert patched["status"] == "FAILED" and "numpy.allclose" in patched["detail"], patched
    assert row["tasks"]["mle_sigma"]["status"] == "NOT DONE"
    helper = row["tasks"]["bernoulli_nll"]
    assert helper["status"] == "FAILED" and "utils.metrics.bce_per_image" in helper["detail"]


@pytest.mark.parametrize("name", ["truncated", "garbage"])
def test_invalid_notebooks_get_a_row(graded, name):
    row = graded[0][name]
    assert row["points"] == 0 and row["max_points"] == 10
    assert "not a valid notebook" in row["notes"][0]


def test_cells_without_ids_and_a_deleted_answer_cell(graded):
    row = graded[0]["no_ids"]  # cells found by their first line; cell-16 deleted
    assert _points(row) == {**GOOD, "mle_sigma": 0}
    assert row["tasks"]["mle_sigma"]["status"] == "MISSING"


def test_csv_has_a_row_per_submission(graded):
    rows, manifest = graded
    out = io.StringIO()
    grader.write_csv(list(rows.values()), out, manifest)
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(table) == len(rows)
    assert table[0].keys() >= {"student", "assignment", "a1:gaussian_nll", "total",
                               "max_points", "percent", "notes"}
    by_student = {r["student"]: r for r in table}
    assert by_student["a1_good"]["total"] == "10" and by_student["a1_good"]["percent"] == "100.0"
    assert by_student["a1_truncated"]["total"] == "0"


def test_unknown_assignment_gets_a_row(tmp_path):
    path = tmp_path / "homework.ipynb"
    path.write_text("{}")
    row = grader.grade_submission(path)
    assert row["points"] == 0 and "which assignment" in row["notes"][0]


def test_manifest_matches_the_notebooks():
    """Every answer cell of every solution is one task's cell, and the points are set."""
    manifest = grader.load_manifest()
    for name, spec in manifest.items():
        sol = nbformat.read(ROOT / "notebooks" / "solutions" / spec["notebook"], as_version=4)
        answers = [c.id for c in sol.cells if c.cell_type == "code"
                   and "### BEGIN SOLUTION" in c.source]
        assert [cid for t in spec["task"] for cid in t["cells"]] == answers, name
        student = grader.canonical_cells(spec)
        assert set(answers) <= set(student) and set(spec["context"]) <= set(student), name
        tests = importlib.import_module(spec["tests"])
        for task in spec["task"]:
            assert task["points"] > 0 and callable(getattr(tests, task["test"])), task


def test_execution_batch_with_hanging_crashing_truncated(tmp_path, capsys):
    """The command line with execution: every notebook gets a row and a CSV line.

    The data cell is left out, so that executing the notebooks never needs MNIST.
    """
    nb = _no_data(_solution())  # a task that hangs, and an answer cell that hangs when run
    _cell(nb, "cell-06").source = "def gaussian_nll(x, mu, sigma):\n    while True:\n        pass\n"
    _cell(nb, "cell-16").source += "\nimport time\ntime.sleep(10_000)\n"
    nbformat.write(nb, tmp_path / "a1_hangs.ipynb")
    nb = _no_data(_solution())
    _cell(nb, "cell-11").source = ("def bernoulli_nll(x, p, eps=1e-7):\n    import os\n"
                                   "    os._exit(3)\n")
    nbformat.write(nb, tmp_path / "a1_crashes.ipynb")
    (tmp_path / "a1_truncated.ipynb").write_text(SOLUTION.read_text()[:3000])
    cli = _load_cli()
    mp = pytest.MonkeyPatch()
    mp.setattr(grader, "CELL_TIMEOUT", 120)  # x 0.05: 6 s
    mp.setattr(grader, "STARTUP_TIMEOUT", 1800)  # importing TensorFlow on a busy machine
    try:
        assert cli.main([str(p) for p in sorted(tmp_path.glob("*.ipynb"))]
                        + ["--csv", str(tmp_path / "grades.csv"), "--jobs", "2",
                           "--execute-timeout", "10", "--time-scale", "0.05",
                           "--executed-dir", str(tmp_path / "executed"), "--seed", "7"]) == 0
    finally:
        mp.undo()
    out = capsys.readouterr().out
    table = {r["student"]: r for r in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert set(table) == {"a1_hangs", "a1_crashes", "a1_truncated"}, out
    hangs, crashes = table["a1_hangs"], table["a1_crashes"]
    assert (hangs["a1:gaussian_nll"], hangs["a1:bernoulli_nll"], hangs["a1:mle_sigma"]) == (
        "0", "4", "0"), hangs
    assert "timed out" in hangs["notes"] and "cell-16 timed out" in hangs["notes"]
    assert "notebook execution: " in hangs["notes"]
    assert (crashes["a1:gaussian_nll"], crashes["a1:bernoulli_nll"]) == ("4", "0"), crashes
    assert "crashed the grading process (exit 3)" in crashes["notes"]
    assert crashes["total"] == "6" and hangs["total"] == "4"
    assert table["a1_truncated"]["total"] == "0"

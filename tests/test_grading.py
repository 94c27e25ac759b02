"""utils.grading (the checker machinery) and scripts/make_assignments.py (the generator)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import numpy as np
import pytest

from utils import grading
from utils.grading import CheckFailed

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_assignments",
                                               ROOT / "scripts" / "make_assignments.py")
make_assignments = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_assignments)


# --------------------------------------------------------------------------- checker
@grading.checker("task 1: double")
def check_double(fn):
    for x in (0.0, 1.5, -2.0):
        grading.expect_close("double", fn(x), 2 * x, case=f" at x={x}")


def test_checker_passes_and_prints(capsys):
    assert check_double(lambda x: 2 * x) is True
    assert capsys.readouterr().out.strip() == "PASSED  task 1: double"


def test_checker_reports_not_implemented_without_raising(capsys):
    def stub(x):
        raise NotImplementedError()

    assert check_double(stub) is False
    out = capsys.readouterr().out
    assert out.startswith("NOT DONE  task 1: double: not implemented yet")


def test_checker_raises_with_task_and_reason(capsys):
    with pytest.raises(CheckFailed, match=r"task 1: double: double at x=1.5: .*factor of 2"):
        check_double(lambda x: x)
    assert capsys.readouterr().out.startswith("FAILED  task 1: double")


def test_a_crash_still_prints_one_failed_line(capsys):
    with pytest.raises(CheckFailed, match="could not run your answer: ZeroDivisionError"):
        check_double(lambda x: 1 / 0)
    out = capsys.readouterr().out
    assert out.count("FAILED  task 1: double") == 1 and "PASSED" not in out


# --------------------------------------------------------------------------- guards
def _secret(x):
    return 2 * x


@grading.checker("doubling", forbid=[_secret])
def check_doubling(fn):
    grading.expect_close("double", fn(3.0), _secret(3.0))  # the check may use it


def test_forbidden_calls_are_caught_under_any_name(capsys):
    import functools

    assert check_doubling(lambda x: x + x) is True
    alias = _secret
    for wrong in (lambda x: alias(x), functools.partial(_secret), _secret,
                  lambda x: functools.partial(_secret, x)()):
        with pytest.raises(CheckFailed, match="calls .*_secret, which already solves"):
            check_doubling(wrong)
    assert "FAILED  doubling" in capsys.readouterr().out


def test_forbidden_names_resolve_lazily():
    guard = grading.CallGuard(["utils.metrics.psnr_per_image", "no.such.module.fn"])
    from utils import metrics

    assert metrics.psnr_per_image.__code__ in guard.codes and len(guard.codes) >= 1


def test_case_rng_follows_the_case_seed():
    first = grading.case_rng(3).random(3)
    assert np.array_equal(first, grading.case_rng(3).random(3))
    try:
        grading.set_case_seed(99)
        assert grading.case_seed() == 99
        assert not np.array_equal(first, grading.case_rng(3).random(3))
    finally:
        grading.set_case_seed(0)


def test_expect_unchanged_and_dtype():
    a = np.arange(4.0)
    (before,) = grading.snapshot(a)
    grading.expect_unchanged("x", a, before)
    a[0] = 5
    with pytest.raises(CheckFailed, match="modified its argument `x` in place"):
        grading.expect_unchanged("x", a, before)
    grading.expect_dtype("out", np.zeros(2, np.float32), np.float32)
    with pytest.raises(CheckFailed, match="returned dtype float64 for float32"):
        grading.expect_dtype("out", np.zeros(2), np.float32)


def test_record_training_logs_fit():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 3), np.float32)
    with grading.record_training() as log:
        model.fit(x, x, epochs=2, batch_size=4, verbose=0)
    assert log.samples == 16 and log.trained(model)[0]["changed"]
    assert keras.Model.fit is not None and "record_training" not in repr(keras.Model.fit)


# --------------------------------------------------------------------------- diagnoses
def test_call_student_reports_crashes_and_passes_stubs():
    assert grading.call_student(lambda a, b=0: a + b, "add", 2, b=3) == 5

    def stub():
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):  # the stub: the checker says NOT DONE
        grading.call_student(stub, "stub")

    def numpy_in_graph():
        raise NotImplementedError("Cannot convert a symbolic tf.Tensor to a numpy array.")

    with pytest.raises(CheckFailed, match="numpy_in_graph raised NotImplementedError: "
                                          "NumPy cannot run on the symbolic tensors"):
        grading.call_student(numpy_in_graph, "numpy_in_graph")

    def crash(x):
        raise ValueError(f"bad shape {x}\nsecond line")

    with pytest.raises(CheckFailed, match=r"^crash\(3\) raised ValueError: bad shape 3 "
                                          r"\(hint\)$"):
        grading.call_student(crash, "crash(3)", 3, hint=" (hint)")
    with pytest.raises(CheckFailed, match="nested"):  # a nested check's message is kept
        grading.call_student(grading.fail, "outer", "nested")


def test_diagnose_sign_factor_constant():
    e = np.array([1.0, 2.0, 3.0])
    assert "sign is flipped" in grading.diagnose(-e, e)
    hint = {784: "did you average over pixels?"}
    assert grading.diagnose(e / 784, e, hint) == (
        "value off by a factor of 784 (too small): did you average over pixels?")
    assert "too large" in grading.diagnose(e * 784, e, hint)
    assert "constant factor of 2" in grading.diagnose(e / 2, e)
    assert "constant +0.5" in grading.diagnose(e - 0.5, e)
    assert grading.diagnose(np.array([1.0, 5.0, 2.0]), e) == ""


def test_expect_shape_hints():
    msg = r"expected shape \(4,\).*got \(4, 3\).*reduce over the last"
    with pytest.raises(CheckFailed, match=msg):
        grading.expect_shape("kl", np.zeros((4, 3)), (4,))
    with pytest.raises(CheckFailed, match="reduce over the batch"):
        grading.expect_shape("kl", np.float64(1.0), (4,))
    with pytest.raises(CheckFailed, match="wrong axis"):
        grading.expect_shape("kl", np.zeros(3), (4,))
    with pytest.raises(CheckFailed, match="returned None"):
        grading.expect_shape("kl", None, (4,))


def test_expect_close_nan_and_tensor_input():
    import tensorflow as tf

    grading.expect_close("f", tf.constant([1.0, 2.0]), [1.0, 2.0])
    with pytest.raises(CheckFailed, match="NaN"):
        grading.expect_close("f", [np.nan, 1.0], [1.0, 1.0])


# --------------------------------------------------------------------------- generator
def _solution_nb():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A1\nExplain.\n<!-- BEGIN SOLUTION -->secret prose"
                                      "<!-- END SOLUTION -->"),
        nbformat.v4.new_code_cell("def f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n"
                                  "    secret = x * 2\n    return secret\n    ### END SOLUTION"),
        nbformat.v4.new_code_cell("# SOLUTION ONLY\nprint('instructor plot')"),
        nbformat.v4.new_code_cell("check(f)"),
    ])
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="leak")]
    nb.cells[1].execution_count = 3
    return nb


def test_student_version_stubs_and_strips():
    student = make_assignments.student_version(_solution_nb(), "a1")
    text = make_assignments.render(student)
    assert "secret" not in text and "instructor plot" not in text and "leak" not in text
    code = student.cells[1]
    assert code.source == ("def f(x):\n    \"\"\"Doc.\"\"\"\n    # YOUR CODE HERE\n"
                           "    raise NotImplementedError()")
    assert code.outputs == [] and code.execution_count is None
    assert "*YOUR ANSWER HERE*" in student.cells[0].source
    assert len(student.cells) == 3
    namespace: dict = {}
    exec(code.source, namespace)  # the stub is valid Python and raises when called
    with pytest.raises(NotImplementedError):
        namespace["f"](1)


def test_student_version_is_deterministic():
    solution = _solution_nb()
    a = make_assignments.render(make_assignments.student_version(solution, "a1"))
    b = make_assignments.render(make_assignments.student_version(solution, "a1"))
    assert a == b
    ids = [c.id for c in make_assignments.student_version(solution, "a1").cells]
    assert ids == [c.id for c in solution.cells if "SOLUTION ONLY" not in c.source]


@pytest.mark.parametrize("source, problem", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "nested"),
])
def test_unbalanced_markers_are_errors(source, problem):
    with pytest.raises(make_assignments.MarkerError, match=problem):
        make_assignments.strip_code(source, "nb cell 1")

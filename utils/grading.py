"""The machinery behind the assignment checkers: precise messages, friendly stubs.

A checker is a function decorated with :func:`checker`. It calls the student's code on
several inputs and uses the ``expect_*`` helpers below, which raise :class:`CheckFailed`
with a message that says what is wrong and, where the mistake is a common one, why:

    value off by a factor of 784: did you average over pixels?

The decorator turns the outcome into one line the student (and the auto-grader) reads:

* ``PASSED  <task>`` when every case passes (the checker returns ``True``);
* ``NOT DONE  <task>: not implemented yet ...`` when the student's code still raises
  ``NotImplementedError`` (no exception escapes, so the notebook runs on);
* ``FAILED  <task>: <reason>`` and a :class:`CheckFailed` raised into the notebook.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

PASS, FAIL, TODO = "PASSED", "FAILED", "NOT DONE"


class CheckFailed(AssertionError):
    """The student's answer is wrong; the message says how."""


def checker(task: str) -> Callable:
    """Decorate a checker for graded task ``task`` (see the module docstring)."""

    def decorate(body: Callable[..., None]) -> Callable[..., bool]:
        @functools.wraps(body)
        def run(*args, **kwargs) -> bool:
            try:
                body(*args, **kwargs)
            except NotImplementedError:
                print(f"{TODO}  {task}: not implemented yet. Replace "
                      "`raise NotImplementedError()` with your code, run that cell, "
                      "then run this check again.")
                return False
            except CheckFailed as exc:
                print(f"{FAIL}  {task}: {exc}")
                raise CheckFailed(f"{task}: {exc}") from None
            print(f"{PASS}  {task}")
            return True

        run.task = task
        return run

    return decorate


def fail(message: str) -> None:
    """Raise :class:`CheckFailed` with ``message``."""
    raise CheckFailed(message)


def call_student(fn: Callable, what: str, *args, hint: str = "", **kwargs):
    """Call the student's ``fn(*args, **kwargs)``; turn a crash into a FAILED message.

    The message names the call (``what``), the exception and its first line, then
    ``hint``. ``NotImplementedError`` (the stub) passes through, so the check reports
    NOT DONE, except the one TensorFlow raises when NumPy meets a symbolic tensor inside
    a compiled function: that is a mistake, and it is reported as one. A
    :class:`CheckFailed` from a nested check passes through unchanged.
    """
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        message = str(exc)
        if "symbolic" in message and "numpy" in message.lower():
            fail(f"{what} raised NotImplementedError: NumPy cannot run on the symbolic "
                 "tensors of a compiled function (train_step, predict); use keras.ops")
        raise
    except CheckFailed:
        raise
    except Exception as exc:  # noqa: BLE001 (any crash is the student's to see)
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        fail(f"{what} raised {type(exc).__name__}: {first}{hint}")


def to_numpy(value, name: str) -> np.ndarray:
    """Convert a student's return value (NumPy, TensorFlow, Python number) to NumPy."""
    if value is None:
        fail(f"{name}: returned None; did you forget `return`?")
    if hasattr(value, "numpy"):
        value = value.numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{name}: expected numbers, got {type(value).__name__}")
        raise  # unreachable; keeps type checkers happy


def expect_shape(name: str, value, shape: Sequence[int], what: str | None = None) -> np.ndarray:
    """Require ``value`` to have exactly ``shape``; say which axes differ."""
    arr = to_numpy(value, name)
    shape = tuple(shape)
    if arr.shape != shape:
        hint = ""
        if arr.ndim == len(shape) + 1 and arr.shape[: len(shape)] == shape:
            hint = " (one axis too many: did you forget to reduce over the last axis?)"
        elif arr.ndim + 1 == len(shape) or (arr.ndim < len(shape) and arr.size == 1):
            hint = " (too few axes: did you reduce over the batch too?)"
        elif arr.ndim == len(shape) and arr.shape != shape:
            hint = " (did you reduce over the wrong axis?)"
        label = f" {what}" if what else ""
        fail(f"{name}: expected shape {shape}{label}, got {arr.shape}{hint}")
    return arr


def diagnose(got: np.ndarray, expected: np.ndarray,
             factors: dict[float, str] | None = None) -> str:
    """Explain the most likely mistake when ``got`` differs from ``expected``.

    Tries, in order: a wrong sign, a known factor (``factors`` maps a ratio to a hint,
    e.g. ``{784: "did you average over pixels?"}``), any constant ratio, and a constant
    offset. Returns a short sentence (empty if nothing simple explains the gap).
    """
    got = np.asarray(got, dtype=np.float64).ravel()
    expected = np.asarray(expected, dtype=np.float64).ravel()
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return ""
    big = np.abs(expected) > 1e-9
    if big.any():
        ratio = expected[big] / np.where(got[big] == 0, np.nan, got[big])
        if np.all(np.isfinite(ratio)) and np.allclose(ratio, ratio[0], rtol=1e-3):
            r = float(ratio[0])
            if np.isclose(r, -1.0, rtol=1e-3):
                return "the sign is flipped: a negative log-likelihood is minus the log-likelihood"
            for factor, hint in (factors or {}).items():
                for f, word in ((factor, "too small"), (1.0 / factor, "too large")):
                    if np.isclose(r, f, rtol=1e-3):
                        return f"value off by a factor of {factor:g} ({word}): {hint}"
            if not np.isclose(r, 1.0, rtol=1e-3):
                return f"value off by a constant factor of {r:.4g} (expected / yours)"
    diff = expected - got
    if np.allclose(diff, diff[0], rtol=1e-4, atol=1e-9) and abs(diff[0]) > 1e-9:
        return f"value off by a constant {diff[0]:+.6g} (expected - yours): a missing term?"
    return ""


def expect_close(
    name: str,
    value,
    expected,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    factors: dict[float, str] | None = None,
    case: str = "",
) -> np.ndarray:
    """Require ``value`` to equal ``expected`` within tolerance, with a diagnosis if not."""
    expected = np.asarray(expected, dtype=np.float64)
    got = expect_shape(name, value, expected.shape)
    if not np.all(np.isfinite(got)):
        fail(f"{name}{case}: returned NaN or infinity; look for log(0) or a division by zero")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        why = diagnose(got, expected, factors)
        sample = (f"expected {expected.ravel()[:3].round(6).tolist()}, "
                  f"got {got.ravel()[:3].round(6).tolist()}")
        fail(f"{name}{case}: {why + '; ' if why else ''}{sample}")
    return got


def expect_true(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        fail(message)

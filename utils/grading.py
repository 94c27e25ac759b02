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

A crash inside the check (the student's object broke an assumption of the check) is
reported as ``FAILED`` too, so every check prints exactly one line.

Two more guarantees make the checks usable for grading (``scripts/grade_assignment.py``):

* **No reference answers.** ``@checker(task, forbid=[...])`` names the course helpers and
  library functions that solve the task (``utils.metrics.psnr_per_image``,
  ``sklearn.metrics.roc_auc_score``, the checkers' own references...). While the check
  runs, a profiler watches every Python call; a call to one of them from the student's
  code (however it was imported or aliased) fails the task.
* **Unseen inputs.** Checks draw their random cases from :func:`case_rng`. Its base seed
  is public and fixed (``0``) in the notebooks, so messages are reproducible; the grader
  sets a secret one with :func:`set_case_seed`, so hidden runs use inputs the student
  never saw.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

PASS, FAIL, TODO = "PASSED", "FAILED", "NOT DONE"


class CheckFailed(AssertionError):
    """The student's answer is wrong; the message says how."""


_BASE_SEED = 0


def set_case_seed(seed: int) -> None:
    """Set the base seed of every check's random cases (the grader sets a secret one)."""
    global _BASE_SEED
    _BASE_SEED = int(seed)


def case_seed() -> int:
    """The base seed of the random cases (``0`` unless the grader changed it)."""
    return _BASE_SEED


def case_rng(*salt: int) -> np.random.Generator:
    """A generator for one check's random cases: the same salt gives the same cases."""
    return np.random.default_rng([_BASE_SEED, *(int(s) for s in salt)])


def checker(task: str, forbid: Iterable = ()) -> Callable:
    """Decorate a checker for graded task ``task`` (see the module docstring).

    ``forbid`` lists what the student's code may not call while the check runs: dotted
    names (``"utils.metrics.psnr_per_image"``, ``"sklearn.decomposition.PCA"``) or
    objects. A name that cannot be imported is skipped.
    """
    forbid = tuple(forbid)

    def decorate(body: Callable[..., None]) -> Callable[..., bool]:
        @functools.wraps(body)
        def run(*args, **kwargs) -> bool:
            guard = CallGuard(forbid, module=body.__module__, trusted=(body.__code__,))
            try:
                guard.inspect(args, kwargs)
                with guard:
                    body(*args, **kwargs)
                guard.verify()
            except NotImplementedError:
                guard.verify()
                print(f"{TODO}  {task}: not implemented yet. Replace "
                      "`raise NotImplementedError()` with your code, run that cell, "
                      "then run this check again.")
                return False
            except CheckFailed as exc:
                message = guard.violation() or str(exc)
                print(f"{FAIL}  {task}: {message}")
                raise CheckFailed(f"{task}: {message}") from None
            except Exception as exc:  # noqa: BLE001 (any crash must still print one line)
                message = guard.violation() or (
                    f"the check could not run your answer: {type(exc).__name__}: "
                    f"{(str(exc).strip().splitlines() or [''])[0][:200]}")
                print(f"{FAIL}  {task}: {message}")
                raise CheckFailed(f"{task}: {message}") from exc
            print(f"{PASS}  {task}")
            return True

        run.task = task
        run.forbid = forbid
        return run

    return decorate


# --------------------------------------------------------------------------- call guard
_LIBRARY_ROOTS = tuple(sorted({
    str(Path(p).resolve()) for p in (
        sysconfig.get_paths().get("stdlib", ""), sysconfig.get_paths().get("platstdlib", ""),
        sysconfig.get_paths().get("purelib", ""), sysconfig.get_paths().get("platlib", ""),
        Path(__file__).resolve().parent,  # utils/
        Path(__file__).resolve().parent.parent / "grading",  # the instructor's hidden tests
    ) if p
}))


def _is_library(filename: str) -> bool:
    """Whether code in ``filename`` belongs to a library or the course (not the student)."""
    if not filename or filename.startswith("<frozen"):
        return True
    if filename.startswith("<"):  # <string>, <answer cell-06>, <ipython-input-...>
        return False
    try:
        path = os.path.realpath(filename)
    except (OSError, ValueError):
        return False
    return path.startswith(_LIBRARY_ROOTS)


def _resolve(target) -> list:
    """The objects a ``forbid`` entry names (empty if it cannot be imported)."""
    if not isinstance(target, str):
        return [target]
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):  # the longest importable module prefix
        module_name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(module_name)
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return []
        return [obj]
    return []


def _codes(obj) -> dict:
    """Code objects of a function, or of every method of a class, mapped to a name."""
    name = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
    for prefix, word in (("utils.checkers.", "the checker's "), ("grading.", "the grader's ")):
        if name.startswith(prefix):
            name = word + name[len(prefix):]
    found = {}
    fn = getattr(obj, "__func__", obj)
    fn = getattr(fn, "__wrapped__", fn)
    if hasattr(fn, "__code__"):
        found[fn.__code__] = name
    elif isinstance(obj, type):
        for value in vars(obj).values():
            value = getattr(value, "__func__", value)
            if hasattr(value, "__code__"):
                found[value.__code__] = name
    return found


def _module_references(module_name: str) -> dict:
    """The reference functions of a checker module (its ``REFERENCES`` list)."""
    module = sys.modules.get(module_name)
    found = {}
    for ref in getattr(module, "REFERENCES", ()):
        for obj in _resolve(ref) if isinstance(ref, str) else [ref]:
            found.update(_codes(obj))
    return found


def _grader_references() -> dict:
    """Every function of the instructor's ``grading`` package, if it is loaded."""
    found = {}
    for name, module in list(sys.modules.items()):
        if (name == "grading" or name.startswith("grading.")) and module is not None:
            for value in list(vars(module).values()):
                if getattr(value, "__module__", "") == name:
                    found.update(_codes(value))
    return found


class CallGuard:
    """Watch Python calls while a check runs; remember forbidden calls by student code.

    A call counts when the called function's code is one of the forbidden ones and some
    frame between it and the check is the student's (code outside the libraries and the
    course package). The check's own calls to its references do not count.
    """

    def __init__(self, forbid: Iterable = (), module: str | None = None,
                 trusted: tuple = ()) -> None:
        self.trusted = set(trusted)  # the check's own code, wherever it is defined
        self.codes: dict = {}
        for target in forbid:
            for obj in _resolve(target):
                self.codes.update(_codes(obj))
        if module:
            self.codes.update(_module_references(module))
        self.codes.update(_grader_references())
        self.calls: list[str] = []
        self.tampered = False
        self._previous = None
        self._boundary = None

    def _hook(self, frame, event, arg):
        if event == "call" and frame.f_code in self.codes:
            caller = frame.f_back
            while caller is not None and caller is not self._boundary:
                if (caller.f_code not in self.trusted
                        and not _is_library(caller.f_code.co_filename)):
                    name = self.codes[frame.f_code]
                    if name not in self.calls:
                        self.calls.append(name)
                    break
                caller = caller.f_back
        if self._previous is not None:
            self._previous(frame, event, arg)

    def __enter__(self) -> CallGuard:
        if not self.codes:
            return self
        self._boundary = sys._getframe(1)
        self._previous = sys.getprofile()
        self._installed = self._hook  # one bound method, to recognise it afterwards
        sys.setprofile(self._installed)
        threading.setprofile(self._installed)
        return self

    def __exit__(self, *exc) -> None:
        if not self.codes:
            return
        if sys.getprofile() is not self._installed:
            self.tampered = True
        sys.setprofile(self._previous)
        threading.setprofile(None)

    def inspect(self, args, kwargs) -> None:
        """Record a forbidden function handed over as the answer itself (or wrapped)."""
        for obj in [*args, *kwargs.values()]:
            for _ in range(4):  # unwrap partials, bound methods and decorators
                fn = getattr(obj, "__func__", obj)
                code = getattr(getattr(fn, "__wrapped__", fn), "__code__", None)
                if code is not None and code in self.codes:
                    if self.codes[code] not in self.calls:
                        self.calls.append(self.codes[code])
                    break
                nxt = getattr(obj, "func", None)  # functools.partial
                if nxt is None or nxt is obj:
                    break
                obj = nxt

    def violation(self) -> str:
        """The message for a forbidden call (empty when there was none)."""
        if self.tampered:
            return ("your code replaced the profiler (sys.setprofile) while the check ran; "
                    "the check cannot vouch for the result")
        if self.calls:
            return (f"your code calls {self.calls[0]}, which already solves this task (a "
                    "course helper, a library function or the check's own reference); "
                    "write it yourself, from scratch")
        return ""

    def verify(self) -> None:
        """Fail if the student's code made a forbidden call."""
        message = self.violation()
        if message:
            fail(message)


@contextlib.contextmanager
def forbidden_calls(forbid: Iterable):
    """Fail the check if the student's code calls anything in ``forbid`` inside the block.

    For checks that allow a helper in one step and forbid it in another.
    """
    guard = CallGuard(forbid)
    with guard:
        yield guard
    guard.verify()


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


def snapshot(*arrays) -> list[np.ndarray]:
    """Copies of the arrays given to the student, to check later that none was modified."""
    return [np.array(a, copy=True) for a in arrays]


def expect_unchanged(name: str, value, before: np.ndarray) -> None:
    """Fail if the student's function modified its argument ``name`` in place."""
    after = np.asarray(value)
    same = after.shape == before.shape and np.array_equal(after, before, equal_nan=(
        np.issubdtype(before.dtype, np.floating)))
    if not same:
        fail(f"your function modified its argument `{name}` in place (the caller's array "
             f"changed); work on a copy: `{name} = np.array({name}, dtype=float)`, and write "
             "`a = a - b` rather than `a -= b` or `out=`")


def expect_dtype(name: str, value, dtype, hint: str = "") -> None:
    """Require the student's array ``value`` to have ``dtype``."""
    got = getattr(value, "dtype", None)
    if got is None:
        got = np.asarray(value).dtype
    if np.dtype(str(getattr(got, "name", got))) != np.dtype(dtype):
        fail(f"{name}: returned dtype {np.dtype(str(getattr(got, 'name', got)))} for "
             f"{np.dtype(dtype)} input; {hint or 'keep the input dtype'}")


# --------------------------------------------------------------------------- training log
class TrainingLog:
    """What the student's code trained while :func:`record_training` was active.

    ``calls`` holds one dict per ``fit`` / ``train_on_batch`` call: ``model``, ``x``,
    ``y``, ``samples`` (images processed), ``changed`` (whether the weights moved).
    """

    def __init__(self) -> None:
        self.calls: list[dict] = []

    @property
    def samples(self) -> int:
        return int(sum(c["samples"] for c in self.calls))

    def trained(self, model) -> list[dict]:
        """The calls that trained ``model`` or a model sharing its weights."""
        mine = {id(w) for w in model.weights}
        return [c for c in self.calls if mine & c["weight_ids"]]


def _length(x) -> int | None:
    if isinstance(x, list | tuple) and x:
        x = x[0]
    if isinstance(x, dict) and x:
        x = next(iter(x.values()))
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) and shape[0] is not None:
        try:
            return int(shape[0])
        except TypeError:
            return None
    return None


def _iterations(model) -> int:
    opt = getattr(model, "optimizer", None)
    try:
        return int(np.asarray(opt.iterations))
    except Exception:  # noqa: BLE001 (no optimizer yet)
        return 0


@contextlib.contextmanager
def record_training():
    """Log every ``keras.Model.fit`` and ``train_on_batch`` call inside the block."""
    import keras

    log = TrainingLog()
    model_cls = keras.Model
    orig_fit, orig_tob = model_cls.fit, model_cls.train_on_batch

    def _entry(model, x, y, run):
        before = [np.array(w) for w in model.trainable_weights]
        steps0 = _iterations(model)
        result = run()
        after = [np.array(w) for w in model.trainable_weights]
        changed = len(before) != len(after) or any(
            a.shape != b.shape or not np.array_equal(a, b)
            for a, b in zip(before, after, strict=False))
        return result, {"model": model, "x": x, "y": y, "changed": changed,
                        "steps": _iterations(model) - steps0,
                        "weight_ids": {id(w) for w in model.weights}}

    def fit(self, x=None, y=None, *args, **kwargs):
        history, entry = _entry(self, x, y, lambda: orig_fit(self, x, y, *args, **kwargs))
        n = _length(x)
        epochs = len(getattr(history, "epoch", []) or [])
        split = float(kwargs.get("validation_split", 0.0) or 0.0)
        if n is None:
            batch = kwargs.get("batch_size") or 32
            entry["samples"] = entry["steps"] * batch
        else:
            entry["samples"] = int(epochs * n * (1.0 - split))
        log.calls.append(entry)
        return history

    def train_on_batch(self, x=None, y=None, *args, **kwargs):
        result, entry = _entry(self, x, y,
                               lambda: orig_tob(self, x, y, *args, **kwargs))
        entry["samples"] = _length(x) or 0
        log.calls.append(entry)
        return result

    model_cls.fit, model_cls.train_on_batch = fit, train_on_batch
    try:
        yield log
    finally:
        model_cls.fit, model_cls.train_on_batch = orig_fit, orig_tob

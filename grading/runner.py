"""The grading process: load one submission's answer cells, run the hidden tests on them.

Started by :mod:`grading.grader` as ``python -m grading.runner`` in a fresh interpreter,
one submission at a time. It reads one JSON job from stdin (then stdin is closed), so
nothing the submission's own kernel did reaches it. It reports events as lines on the
original stdout, each prefixed with the job's random token; the student's code writes to
stderr, so a printed "PASSED" line, or a forged event without the token, is ignored.

Order of work:

1. import the course package, the checkers and the hidden tests, seed the random cases
   with the secret seed, and take a snapshot of the modules a check relies on;
2. run the canonical context cells (imports, constants) from the generated notebook;
3. run each answer cell of the submission (``compile(source, "<answer cell-06>")``);
   after each, restore any attribute of a watched module that the cell replaced, and
   report the cell as tampering if it replaced a function or class;
4. run each task's hidden test; afterwards, the same restore-and-report step.

Calls from the student's code to the references and to helpers that solve a task are
caught by the checks themselves (``utils.grading.CallGuard``), by what is called, not by
name.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import types

WATCHED_PREFIXES = ("utils", "grading")
WATCHED_MODULES = ("builtins", "numpy", "numpy.linalg", "numpy.random", "keras", "keras.ops",
                   "keras.layers", "keras.random", "keras.losses", "scipy.linalg",
                   "sklearn.metrics", "sklearn.decomposition", "sys", "functools")
WATCHED_CLASSES = ("keras.Model", "keras.layers.Layer", "keras.Sequential")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]


class Snapshot:
    """Attributes of the watched modules and classes; restores them after student code."""

    def __init__(self) -> None:
        self.spaces: dict[str, tuple[object, dict]] = {}
        self.codes: dict[int, tuple[object, object]] = {}
        for name, module in list(sys.modules.items()):
            if module is None:
                continue
            if name in WATCHED_MODULES or name.split(".")[0] in WATCHED_PREFIXES:
                self._add(name, module)
        for dotted in WATCHED_CLASSES:
            mod, _, attr = dotted.rpartition(".")
            try:
                self._add(dotted, getattr(importlib.import_module(mod), attr))
            except (ImportError, AttributeError):
                pass

    def _add(self, name, space) -> None:
        try:
            attrs = dict(vars(space))
        except TypeError:
            return
        self.spaces[name] = (space, attrs)
        for value in attrs.values():
            code = getattr(value, "__code__", None)
            if code is not None and isinstance(value, types.FunctionType):
                self.codes[id(value)] = (value, code)
            if isinstance(value, type) and getattr(value, "__module__", "").split(".")[0] in (
                    WATCHED_PREFIXES):
                key = f"{value.__module__}.{value.__qualname__}"
                if key not in self.spaces:
                    self._add(key, value)

    def restore(self) -> list[str]:
        """Put back every replaced or removed attribute; name the functions and classes."""
        changed = []
        for name, (space, attrs) in self.spaces.items():
            current = vars(space)
            for key, value in attrs.items():
                now = current.get(key, _MISSING)
                if now is value:
                    continue
                if key.startswith("__") and key.endswith("__") and key not in (
                        "__call__", "__init__", "__getattr__"):
                    continue
                if callable(value) or isinstance(value, types.ModuleType) or key.isupper() \
                        or key.startswith("_BASE"):
                    changed.append(f"{name}.{key}")
                try:
                    setattr(space, key, value)
                except (AttributeError, TypeError):
                    pass
        for value, code in self.codes.values():
            if value.__code__ is not code:
                changed.append(f"{value.__module__}.{value.__qualname__}.__code__")
                value.__code__ = code
        if sys.getprofile() is not None:
            sys.setprofile(None)
        return changed


_MISSING = object()


def main() -> int:
    job = json.loads(sys.stdin.readline())
    sys.stdin.close()
    token = job.pop("token")
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # the student's prints (and the checks' lines) go to stderr
    sys.stdout = sys.stderr

    def emit(kind: str, **fields) -> None:
        channel.write(token + json.dumps({"event": kind, **fields}) + "\n")
        channel.flush()

    os.environ.setdefault("MPLBACKEND", "Agg")
    from utils import grading

    grading.set_case_seed(job["seed"])
    tests = importlib.import_module(job["tests"])
    import utils.checkers  # noqa: F401 (all checker modules, for the snapshot)

    ns: dict = {"__name__": "__main__", "__builtins__": __builtins__}
    for cell_id, source in job["context"]:
        try:
            exec(compile(source, f"<context {cell_id}>", "exec"), ns)  # noqa: S102
        except Exception as exc:  # noqa: BLE001
            emit("context_error", cell=cell_id, error=f"{type(exc).__name__}: {_first_line(exc)}")
            return 3
    snapshot = Snapshot()
    for cell_id, source in job["cells"]:
        emit("cell_start", cell=cell_id)
        error = ""
        try:
            exec(compile(source, f"<answer {cell_id}>", "exec"), ns)  # noqa: S102
        except SystemExit as exc:
            error = f"SystemExit: {exc}"
        except BaseException as exc:  # noqa: BLE001 (KeyboardInterrupt included)
            error = f"{type(exc).__name__}: {_first_line(exc)}"
        tampered = snapshot.restore()
        grading.set_case_seed(job["seed"])
        emit("cell_done", cell=cell_id, error=error, tampered=tampered)
    for task in job["tasks"]:
        emit("task_start", task=task["name"])
        start = time.perf_counter()
        status, detail = "FAILED", ""
        try:
            fn = getattr(tests, task["test"])
            ok = fn(ns, job["seed"])
            status = "PASSED" if ok else "NOT DONE"
            detail = "" if ok else "not implemented yet"
        except grading.CheckFailed as exc:
            detail = str(exc).removeprefix(f"{task['name']}: ")
        except SystemExit as exc:
            detail = f"your code called exit() ({exc})"
        except BaseException as exc:  # noqa: BLE001
            detail = f"{type(exc).__name__}: {_first_line(exc)}"
            if type(exc).__name__ not in ("Missing",):
                tb = traceback.extract_tb(exc.__traceback__)
                where = next((f" (in {f.filename}, line {f.lineno})" for f in reversed(tb)
                              if f.filename.startswith("<answer")), "")
                detail += where
        tampered = snapshot.restore()
        grading.set_case_seed(job["seed"])
        if tampered and status == "PASSED":
            status = "FAILED"
            detail = (f"your code replaced {', '.join(tampered[:3])} while the check ran; a "
                      "check whose tools were changed cannot vouch for the answer")
        emit("task_done", task=task["name"], status=status, detail=detail,
             seconds=round(time.perf_counter() - start, 2))
    emit("finished")
    channel.close()
    os._exit(0)  # skip atexit handlers and threads the student's code may have left


if __name__ == "__main__":
    sys.exit(main())

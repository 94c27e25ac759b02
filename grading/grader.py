"""Grade submissions: a separate, time-limited grading run per submission; one row each.

For every submission:

1. (optional, ``execute=True``) run the whole notebook on a fresh kernel, in its own
   process group with a time limit, and keep the executed copy as feedback. What it
   prints is never read for the grade.
2. Read the notebook as JSON. Take the student's *answer cells* by the cell ids of the
   generated student notebook (or, if an id is missing, by the cell's first line, such as
   ``def gaussian_nll(x, mu, sigma):``). Check cells, printed lines and every other cell
   are ignored.
3. Start ``python -m grading.runner`` (a fresh interpreter, its own process group) with
   the canonical context cells, the answer cells and the tasks. Each cell and each task
   has a time limit; a task that hangs or kills the interpreter scores 0 under its own
   name and a new interpreter carries on with the next one.
4. Score each task from the manifest: its points when the hidden test passes, else 0.

A submission that is not valid JSON, has no answer cells, or crashes everything still
gets a row, with 0 points and a note saying why.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = Path(__file__).resolve().parent / "manifest.toml"
ASSIGNMENTS = ROOT / "notebooks" / "assignments"
CELL_TIMEOUT = 120  # seconds for one answer cell to run (definitions take milliseconds)
STARTUP_TIMEOUT = 180  # seconds to import TensorFlow and run the context cells


# --------------------------------------------------------------------------- manifest
def load_manifest(path: str | Path = MANIFEST) -> dict:
    """The manifest as ``{assignment: {"notebook", "context", "tests", "task": [...]}}``."""
    with open(path, "rb") as fh:
        manifest = tomllib.load(fh)
    for name, spec in manifest.items():
        missing = {"notebook", "context", "tests", "task"} - set(spec)
        if missing:
            raise ValueError(f"{path}: [{name}] lacks {sorted(missing)}")
        for task in spec["task"]:
            for key in ("name", "points", "cells", "test"):
                if key not in task:
                    raise ValueError(f"{path}: a task of [{name}] lacks {key!r}")
            task.setdefault("timeout_s", 300)
    return manifest


def which_assignment(path: Path, manifest: dict) -> str | None:
    """The assignment a submission belongs to, from its file name (``a1_kim.ipynb``)."""
    stem = path.name.lower()
    for name, spec in manifest.items():
        if stem.startswith(Path(spec["notebook"]).stem.lower()):
            return name
    match = re.match(r"(a\d+)(?:[_\-. ]|$)", stem)
    if match and match.group(1) in manifest:
        return match.group(1)
    return None


# --------------------------------------------------------------------------- cells
def _read_json(path: Path) -> tuple[dict | None, str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read the file ({exc.strerror})"
    try:
        nb = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"not a valid notebook (truncated or corrupt JSON: {exc})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, "not a valid notebook (no list of cells)"
    return nb, ""


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _signature(source: str) -> str:
    """The first ``def``/``class`` line of a cell (how a cell is found without its id)."""
    for line in source.splitlines():
        s = line.strip()
        if s.startswith(("def ", "class ")):
            return s.split("(")[0].split(":")[0]
    return ""


def canonical_cells(spec: dict) -> dict[str, str]:
    """Cell id -> source of the generated student notebook of an assignment."""
    nb, error = _read_json(ASSIGNMENTS / spec["notebook"])
    if nb is None:
        raise FileNotFoundError(f"{spec['notebook']}: {error}")
    return {c.get("id"): _source(c) for c in nb["cells"] if c.get("cell_type") == "code"}


def answer_cells(nb: dict, spec: dict, canonical: dict[str, str]) -> dict[str, str]:
    """The submission's answer cells: cell id -> the student's source."""
    wanted = [cid for task in spec["task"] for cid in task["cells"]]
    code = [c for c in nb["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"]
    by_id = {c.get("id"): _source(c) for c in code if c.get("id")}
    found = {}
    for cid in wanted:
        if cid in by_id:
            found[cid] = by_id[cid]
            continue
        sig = _signature(canonical.get(cid, ""))
        if sig:  # an old Jupyter dropped the ids: find the cell by its first definition
            match = [_source(c) for c in code if _signature(_source(c)) == sig]
            if len(match) == 1:
                found[cid] = match[0]
    return found


# --------------------------------------------------------------------------- processes
def _env() -> dict:
    env = dict(os.environ)
    env.update({"PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
                "MPLBACKEND": "Agg", "KERAS_BACKEND": "tensorflow",
                "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"})
    data_dir = env.get("AE_DATA_DIR")
    if data_dir and not os.path.isabs(data_dir):
        env["AE_DATA_DIR"] = str((ROOT / data_dir).resolve())
    return env


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _run_once(job: dict, deadlines: dict, log) -> tuple[list[dict], str]:
    """One runner process; returns its events and how it ended (``""`` if it finished)."""
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="ae-grade-") as cwd:
        proc = subprocess.Popen(
            [sys.executable, "-m", "grading.runner"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=log, cwd=cwd, env=_env(), start_new_session=True)
        proc.stdin.write((json.dumps({**job, "token": token}) + "\n").encode())
        proc.stdin.close()
        events: list[dict] = []
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        buffer = b""
        limit = time.monotonic() + deadlines["startup"]
        ended = ""
        try:
            while True:
                remaining = limit - time.monotonic()
                if remaining <= 0:
                    ended = "timeout"
                    break
                if not sel.select(timeout=min(remaining, 1.0)):
                    if proc.poll() is not None:
                        ended = "exit"
                        break
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    proc.wait()
                    ended = "exit"
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    text = line.decode("utf-8", "replace")
                    if not text.startswith(token):
                        continue  # not from the runner: ignore
                    event = json.loads(text[len(token):])
                    events.append(event)
                    kind = event["event"]
                    if kind == "cell_start":
                        limit = time.monotonic() + deadlines["cell"]
                    elif kind == "task_start":
                        limit = time.monotonic() + deadlines["task"][event["task"]]
                    elif kind in ("cell_done", "task_done"):
                        limit = time.monotonic() + deadlines["startup"]
                if events and events[-1]["event"] in ("finished", "context_error"):
                    break
        finally:
            sel.close()
            if ended == "exit" and proc.returncode not in (0, None):
                code = proc.returncode
                ended = f"exit {code}" + (f" ({signal.Signals(-code).name})" if code < 0
                                          and -code in signal.valid_signals() else "")
            _kill(proc)
        return events, ended


def grade_answers(assignment: str, spec: dict, cells: dict[str, str], seed: int,
                  log=subprocess.DEVNULL, time_scale: float = 1.0) -> dict[str, dict]:
    """Run the hidden tests on the answer cells; ``{task: {"status", "detail"}}``.

    A cell or task that hangs or kills the interpreter is recorded against that cell or
    task, and a fresh interpreter carries on with the rest.
    """
    canonical = canonical_cells(spec)
    context = [(cid, canonical[cid]) for cid in spec["context"]]
    order = [cid for task in spec["task"] for cid in task["cells"]]
    results: dict[str, dict] = {}
    for task in spec["task"]:
        absent = [cid for cid in task["cells"] if cid not in cells]
        if absent:
            results[task["name"]] = {"status": "MISSING", "detail": (
                f"answer cell {', '.join(absent)} not found (deleted, or its id changed)")}
    skipped: dict[str, str] = {}
    deadlines = {"startup": STARTUP_TIMEOUT * time_scale, "cell": CELL_TIMEOUT * time_scale,
                 "task": {t["name"]: t["timeout_s"] * time_scale for t in spec["task"]}}
    cell_notes: dict[str, str] = {}
    for _attempt in range(len(spec["task"]) + len(order) + 2):
        todo = [t for t in spec["task"] if t["name"] not in results]
        if not todo:
            break
        job = {"tests": spec["tests"], "seed": seed, "context": context,
               "cells": [(cid, cells[cid]) for cid in order if cid in cells
                         and cid not in skipped],
               "tasks": [{"name": t["name"], "test": t["test"]} for t in todo]}
        events, ended = _run_once(job, deadlines, log)
        current_cell = current_task = None
        for ev in events:
            kind = ev["event"]
            if kind == "context_error":
                for t in todo:
                    results.setdefault(t["name"], {"status": "ERROR", "detail": (
                        f"the grader could not run the notebook's set-up cell {ev['cell']}: "
                        f"{ev['error']}")})
            elif kind == "cell_start":
                current_cell = ev["cell"]
            elif kind == "cell_done":
                current_cell = None
                if ev["tampered"]:
                    cell_notes[ev["cell"]] = (
                        f"answer cell {ev['cell']} replaced {', '.join(ev['tampered'][:3])} "
                        "(undone; the tasks of this cell score 0)")
                elif ev["error"]:
                    cell_notes[ev["cell"]] = f"answer cell {ev['cell']} raised {ev['error']}"
            elif kind == "task_start":
                current_task = ev["task"]
            elif kind == "task_done":
                current_task = None
                results[ev["task"]] = {"status": ev["status"], "detail": ev["detail"],
                                       "seconds": ev.get("seconds")}
        if ended:
            why = ("timed out" if ended == "timeout" else
                   f"crashed the grading process ({ended})")
            if current_task is not None:
                limit = deadlines["task"][current_task]
                results[current_task] = {"status": "FAILED", "detail": (
                    f"the hidden test {why}" + (f" after {limit:.0f} s" if ended == "timeout"
                                                else "") + "; your code hangs or kills "
                    "Python (an endless loop? os._exit? a huge allocation?)")}
            elif current_cell is not None:
                skipped[current_cell] = why
                cell_notes[current_cell] = f"answer cell {current_cell} {why} when run"
            elif not events:
                for t in todo:
                    results.setdefault(t["name"], {"status": "ERROR", "detail": (
                        f"the grading process {why} before running anything")})
    for task in spec["task"]:
        res = results.setdefault(task["name"], {"status": "ERROR",
                                                "detail": "the grader gave up on this task"})
        notes = [cell_notes[c] for c in task["cells"] if c in cell_notes]
        if notes and "replaced" in notes[0] and res["status"] == "PASSED":
            res.update(status="FAILED", detail=notes[0])
        elif notes and res["status"] != "PASSED":
            res["detail"] = f"{notes[0]}; {res['detail']}" if res.get("detail") else notes[0]
    return results


def execute_notebook(path: Path, out_dir: Path | None, timeout: float) -> str:
    """Run the whole notebook as the student would (feedback only); return a status."""
    code = (
        "import sys, nbformat\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "client = NotebookClient(nb, timeout=int(sys.argv[3]), kernel_name='python3',\n"
        "    allow_errors=True, resources={'metadata': {'path': sys.argv[4]}})\n"
        "try:\n"
        "    client.execute()\n"
        "finally:\n"
        "    if sys.argv[2]:\n"
        "        nbformat.write(nb, sys.argv[2])\n")
    target = str(out_dir / path.name) if out_dir else ""
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), target,
                             str(int(max(timeout, 1))), str(path.parent.resolve())],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(),
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return f"timed out after {timeout:.0f} s"
    finally:
        _kill(proc)
    if proc.returncode == 0:
        return "ran"
    last = [ln for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
    return f"did not finish ({last[-1][:160] if last else f'exit {proc.returncode}'})"


# --------------------------------------------------------------------------- one row
def grade_submission(path: str | Path, assignment: str | None = None,
                     manifest: dict | None = None, seed: int | None = None,
                     execute: bool = False, executed_dir: Path | None = None,
                     execute_timeout: float = 1800, time_scale: float = 1.0,
                     log=subprocess.DEVNULL) -> dict:
    """Grade one submission; always returns a row (never raises for a bad submission)."""
    path = Path(path)
    manifest = manifest or load_manifest()
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    name = assignment or which_assignment(path, manifest)
    row = {"student": path.stem, "notebook": str(path), "assignment": name or "",
           "tasks": {}, "points": 0, "max_points": 0, "notes": [], "seed": seed}
    if name not in manifest:
        row["notes"].append("cannot tell which assignment this is; pass --assignment")
        return row
    spec = manifest[name]
    row["max_points"] = sum(t["points"] for t in spec["task"])
    nb, error = _read_json(path)
    if execute:
        status = (execute_notebook(path, executed_dir, execute_timeout) if nb is not None
                  else "not run (not a valid notebook)")
        row["execution"] = status
        if status != "ran":
            row["notes"].append(f"notebook execution: {status}")
    if nb is None:
        row["notes"].append(error)
        for task in spec["task"]:
            row["tasks"][task["name"]] = {"status": "MISSING", "detail": error, "points": 0}
        return row
    cells = answer_cells(nb, spec, canonical_cells(spec))
    if not cells:
        row["notes"].append("no answer cell of this assignment found")
    results = grade_answers(name, spec, cells, seed, log=log, time_scale=time_scale)
    for task in spec["task"]:
        res = results[task["name"]]
        res["points"] = task["points"] if res["status"] == "PASSED" else 0
        row["tasks"][task["name"]] = res
    row["points"] = sum(r["points"] for r in row["tasks"].values())
    return row


def grade_batch(paths, jobs: int = 1, **kwargs) -> list[dict]:
    """Grade many submissions (``jobs`` at a time); one row each, in the given order."""
    paths = [Path(p) for p in paths]
    manifest = kwargs.pop("manifest", None) or load_manifest()

    def one(p):
        try:
            return grade_submission(p, manifest=manifest, **kwargs)
        except Exception as exc:  # noqa: BLE001 (a bug must not cost the others their row)
            return {"student": p.stem, "notebook": str(p), "assignment": "", "tasks": {},
                    "points": 0, "max_points": 0,
                    "notes": [f"grader error: {type(exc).__name__}: {exc}"]}

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, paths))


def write_csv(rows: list[dict], path_or_file, manifest: dict | None = None) -> None:
    """One line per submission: student, assignment, points per task, total, notes."""
    manifest = manifest or load_manifest()
    tasks: list[str] = []
    for row in rows:
        spec = manifest.get(row.get("assignment"), {"task": []})
        for t in spec["task"]:
            col = f"{row['assignment']}:{t['name']}"
            if col not in tasks:
                tasks.append(col)
    header = ["student", "assignment", *tasks, "total", "max_points", "percent", "notes"]
    own = isinstance(path_or_file, str | Path)
    fh = open(path_or_file, "w", newline="", encoding="utf-8") if own else path_or_file
    try:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            cells = []
            for col in tasks:
                a, _, t = col.partition(":")
                cells.append(row["tasks"][t]["points"] if a == row["assignment"]
                             and t in row["tasks"] else "")
            notes = list(row.get("notes", []))
            for t, res in row["tasks"].items():
                if res["status"] != "PASSED":
                    notes.append(f"{t}: {res['status']} {res.get('detail', '')}".strip())
            pct = (round(100 * row["points"] / row["max_points"], 1) if row["max_points"]
                   else 0.0)
            writer.writerow([row["student"], row["assignment"], *cells, row["points"],
                             row["max_points"], pct, " | ".join(notes)[:2000]])
    finally:
        if own:
            fh.close()

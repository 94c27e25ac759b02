"""Grade a student's assignment notebook: execute it and count the checks.

    python scripts/grade_assignment.py notebooks/assignments/a1_likelihoods_and_losses.ipynb
    python scripts/grade_assignment.py --json path/to/student.ipynb [more.ipynb ...]

The notebook runs top to bottom on a fresh kernel (``nbclient``, errors allowed, a
per-cell timeout), in the notebook's own folder, with ``AE_DATA_DIR`` passed through.
Every check prints one line (see ``utils/grading.py``)::

    PASSED  <task>
    FAILED  <task>: <reason>
    NOT DONE  <task>: not implemented yet ...

This script collects those lines and prints a per-task table and a score
``N passed, M failed, K not done``. A task whose check cell never ran to its line
(for example, because the student's cell above crashed with another error) is reported
as FAILED with the error's name. The exit status is 0 when the notebook could be run,
whatever the score.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

STATUS_RE = re.compile(r"^(PASSED|FAILED|NOT DONE)  ([^:\n]+?)(?::\s*(.*))?$", re.M)
CHECK_RE = re.compile(r"checks\.check_(\w+)\(")


def _text(outputs: list) -> str:
    parts = []
    for out in outputs:
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
    return "".join(parts)


def _errors(outputs: list) -> list[str]:
    return [out.get("ename", "Error") for out in outputs if out.get("output_type") == "error"]


def parse(nb: nbformat.NotebookNode) -> list[dict]:
    """One record per check cell: ``{"task", "status", "detail"}`` from executed outputs."""
    results = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        found = STATUS_RE.findall(_text(cell.get("outputs", [])))
        for status, task, detail in found:
            results.append({"task": task.strip(), "status": status, "detail": detail.strip()})
        if not found:
            called = CHECK_RE.findall(cell.source)
            errors = _errors(cell.get("outputs", []))
            for name in called:  # a check cell that crashed before printing its line
                results.append({"task": name, "status": "FAILED",
                                "detail": f"the check cell raised {', '.join(errors) or 'nothing'}"
                                          " before reporting"})
    return results


def execute(path: Path, timeout: int = 600, kernel: str = "python3") -> nbformat.NotebookNode:
    """Run the notebook at ``path`` on a fresh kernel; return the executed copy."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


def score(results: list[dict]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "not done": 0}
    for r in results:
        counts[{"PASSED": "passed", "FAILED": "failed", "NOT DONE": "not done"}[r["status"]]] += 1
    return counts


def report(path: Path, results: list[dict]) -> str:
    counts = score(results)
    width = max([len(r["task"]) for r in results] + [4])
    lines = [f"{path}", f"  {'task':<{width}}  status    detail"]
    for r in results:
        detail = r["detail"] if r["status"] != "NOT DONE" else ""
        lines.append(f"  {r['task']:<{width}}  {r['status']:<8}  {detail[:100]}")
    lines.append(f"  {counts['passed']} passed, {counts['failed']} failed, "
                 f"{counts['not done']} not done")
    return "\n".join(lines)


def grade(path: str | Path, timeout: int = 600, kernel: str = "python3") -> dict:
    """Execute and grade one notebook; return ``{"notebook", "tasks", "score"}``."""
    path = Path(path)
    if not path.is_file() or path.suffix != ".ipynb":
        raise ValueError(f"grade: expected the path of an .ipynb file, got {str(path)!r}")
    results = parse(execute(path, timeout=timeout, kernel=kernel))
    return {"notebook": str(path), "tasks": results, "score": score(results)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="student notebook(s)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name")
    args = parser.parse_args(argv)
    graded = []
    for path in args.notebooks:
        try:
            graded.append(grade(path, timeout=args.timeout, kernel=args.kernel))
        except ValueError as exc:
            parser.error(str(exc))
    if args.json:
        print(json.dumps(graded, indent=2))
    else:
        print("\n\n".join(report(Path(g["notebook"]), g["tasks"]) for g in graded))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Grade student submissions in a separate process, with hidden tests; one row each.

    python scripts/grade_assignment.py submissions/a1_*.ipynb --csv grades.csv
    python scripts/grade_assignment.py --assignment a4 --jobs 2 --json sub/*.ipynb

For each notebook (see ``grading/grader.py`` for the details):

1. it runs the whole notebook on a fresh kernel, with a time limit, and keeps the executed
   copy in ``--executed-dir`` for feedback (``--no-execute`` skips this). Nothing the
   notebook prints counts;
2. it takes the student's answer cells, by the cell ids of the generated student
   notebook, into a fresh Python process and runs the instructor's hidden tests
   (``grading/hidden_aN.py``) on them, with inputs the student never saw;
3. it scores each task of ``grading/manifest.toml``: its points if the hidden test
   passes, otherwise 0 under the task's own name (missing, renamed, crashed, timed out).

Every submission gets a row, even one that is not valid JSON, hangs or kills Python. The
table goes to stdout; ``--csv`` writes one line per submission for a learning-management
system, ``--json`` prints every detail. The exit status is 0 whatever the grades.

Grading runs the students' code: do it in a container or a throw-away account.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from grading import grader  # noqa: E402

STATUS_RE = re.compile(r"^(PASSED|FAILED|NOT DONE)  ([^:\n]+?)(?::\s*(.*))?$", re.M)


# ------------------------------------------------------------------ the notebook's own view
def execute(path: Path, timeout: int = 600, kernel: str = "python3") -> nbformat.NotebookNode:
    """Run the notebook at ``path`` on a fresh kernel (in this process); return the copy.

    For checking notebooks as shipped (the tests do); grading uses ``grader``.
    """
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, allow_errors=True,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    client.execute()
    return nb


def parse(nb) -> list[dict]:
    """The check lines an executed notebook printed: feedback for the student, never a grade."""
    results = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                       if o.get("output_type") == "stream")
        for status, task, detail in STATUS_RE.findall(text):
            results.append({"task": task.strip(), "status": status, "detail": detail.strip()})
    return results


# ------------------------------------------------------------------ report
def report(row: dict) -> str:
    tasks = row["tasks"]
    width = max([len(t) for t in tasks] + [4])
    lines = [f"{row['notebook']}  ({row['assignment'] or '?'})",
             f"  {'task':<{width}}  points  status    detail"]
    manifest_points = {}
    for name, res in tasks.items():
        manifest_points[name] = res["points"]
        detail = res.get("detail", "") if res["status"] != "PASSED" else ""
        lines.append(f"  {name:<{width}}  {res['points']:>6}  {res['status']:<8}  "
                     f"{detail[:110]}")
    for note in row.get("notes", []):
        lines.append(f"  note: {note}")
    lines.append(f"  total {row['points']} / {row['max_points']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="submitted notebook(s)")
    parser.add_argument("--assignment", help="a1 ... a5 (default: from each file name)")
    parser.add_argument("--csv", type=Path, help="write one line per submission here")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    parser.add_argument("--no-execute", action="store_true",
                        help="do not run the whole notebook first (grading does not need it)")
    parser.add_argument("--executed-dir", type=Path, default=Path("graded"),
                        help="where the executed notebooks go (default: graded/)")
    parser.add_argument("--execute-timeout", type=float, default=1800,
                        help="seconds for running one whole notebook")
    parser.add_argument("--seed", type=int, help="the hidden tests' seed (default: random; "
                        "it is recorded in --json output, to regrade identically)")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiply every time limit (a slow machine: 2)")
    args = parser.parse_args(argv)
    manifest = grader.load_manifest()
    if args.assignment and args.assignment not in manifest:
        parser.error(f"--assignment must be one of {sorted(manifest)}")
    rows = grader.grade_batch(args.notebooks, jobs=args.jobs, manifest=manifest,
                              assignment=args.assignment, seed=args.seed,
                              execute=not args.no_execute, executed_dir=args.executed_dir,
                              execute_timeout=args.execute_timeout,
                              time_scale=args.time_scale)
    if args.csv:
        grader.write_csv(rows, args.csv, manifest)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        print("\n\n".join(report(r) for r in rows))
        if args.csv:
            print(f"\n{len(rows)} rows written to {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generate student notebooks from instructor solutions.

    python scripts/make_assignments.py            # write notebooks/assignments/*.ipynb
    python scripts/make_assignments.py --check    # exit 1 if a committed file is stale

The instructor notebooks in ``notebooks/solutions/`` are the single source of truth.
In their code cells, everything between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
is replaced by a stub at the same indentation::

    # YOUR CODE HERE
    raise NotImplementedError()

In markdown cells, text between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->``
becomes ``*YOUR ANSWER HERE*``. A cell whose first line is ``# SOLUTION ONLY`` (for
example, a cell that shows an instructor's extra plot) is dropped. Outputs and execution
counts are removed, so a student starts from a clean notebook. Cell ids are kept: they are
how the grader (``grading/manifest.toml``) finds a submission's answer cells.

We use this small script rather than nbgrader's ``ClearSolutions`` preprocessor. nbgrader
0.9.6's pins do not conflict with ours, but it would add a dozen packages the course does
not otherwise need (SQLAlchemy, Alembic, ipywidgets, notebook 7, rapidfuzz, ...) for one
preprocessor. The marker syntax is nbgrader's, so an instructor can switch to nbgrader
without touching the solution notebooks.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "notebooks" / "solutions"
ASSIGNMENTS = ROOT / "notebooks" / "assignments"

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
DROP = "# SOLUTION ONLY"
STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]


class MarkerError(ValueError):
    """A solution notebook's markers are unbalanced or misplaced."""


def strip_code(source: str, where: str) -> str:
    """Replace each BEGIN/END SOLUTION region of a code cell by a stub."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise MarkerError(f"{where}: nested '{BEGIN}'")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in STUB)
        elif stripped == END:
            if not inside:
                raise MarkerError(f"{where}: '{END}' without '{BEGIN}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{where}: '{BEGIN}' is never closed")
    return "\n".join(out)


def strip_markdown(source: str, where: str) -> str:
    """Replace each markdown solution region by a prompt for the student's answer."""
    pattern = re.compile(re.escape(MD_BEGIN) + r".*?" + re.escape(MD_END), re.S)
    result = pattern.sub("*YOUR ANSWER HERE*", source)
    if MD_BEGIN in result or MD_END in result:
        raise MarkerError(f"{where}: unbalanced markdown solution markers")
    return result


def student_version(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The student notebook for one instructor notebook (a new object)."""
    cells = []
    for i, cell in enumerate(solution.cells):
        where = f"{name} cell {i}"
        if cell.cell_type == "code":
            if cell.source.lstrip().startswith(DROP):
                continue
            new = nbformat.v4.new_code_cell(strip_code(cell.source, where))
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(strip_markdown(cell.source, where))
        else:
            new = nbformat.v4.new_raw_cell(cell.source)
        new.id = cell.get("id", f"cell-{i}")
        cells.append(new)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": solution.metadata.get("kernelspec", {
            "display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}),
        "language_info": {"name": "python"},
    }
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def generate(check: bool = False) -> list[str]:
    """Write (or, with ``check``, compare) every student notebook; return the stale ones."""
    stale = []
    sources = sorted(SOLUTIONS.glob("*.ipynb"))
    if not sources:
        raise SystemExit(f"no solution notebooks in {SOLUTIONS}")
    ASSIGNMENTS.mkdir(parents=True, exist_ok=True)
    expected_names = set()
    for src in sources:
        text = render(student_version(nbformat.read(src, as_version=4), src.name))
        dest = ASSIGNMENTS / src.name
        expected_names.add(dest.name)
        current = dest.read_text(encoding="utf-8") if dest.exists() else None
        if current != text:
            stale.append(str(dest.relative_to(ROOT)))
            if not check:
                dest.write_text(text, encoding="utf-8")
    for extra in sorted(ASSIGNMENTS.glob("*.ipynb")):
        if extra.name not in expected_names:
            stale.append(f"{extra.relative_to(ROOT)} (no solution notebook)")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if a student notebook is out of date")
    args = parser.parse_args(argv)
    stale = generate(check=args.check)
    if args.check and stale:
        print("Out of date (run `python scripts/make_assignments.py`):", *stale, sep="\n  ")
        return 1
    verb = "would update" if args.check else "updated"
    print(f"{verb} {len(stale)} student notebook(s)" + (": " + ", ".join(stale) if stale else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build what students receive: lessons, student notebooks, the package, data instructions.

    python scripts/make_release.py                 # -> build/student-release/ (+ .zip)
    python scripts/make_release.py --out DIR --no-zip

The release is the repository's tracked files minus the instructor's material:

* ``notebooks/solutions/`` (the solutions) and ``grading/`` (hidden tests, manifest,
  grader);
* the scripts that need them (``make_assignments.py``, ``grade_assignment.py``, this one);
* the tests that contain right answers or need the instructor's files
  (``tests/test_checkers*.py``, ``test_assignments.py``, ``test_grader.py``,
  ``test_grading.py``, ``test_release.py``);
* the README's "For instructors" section (replaced by one sentence).

Before writing anything it checks that the student notebooks are freshly generated, and
after writing it scans every released file: a solution marker, three consecutive lines
of a solution region, a line of a written answer, or a line of a hidden test stops the
build with exit status 1 (and the partial release is deleted). The lessons are scanned
for markers only: they teach the code the assignments practise.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "build" / "student-release"

EXCLUDE_DIRS = ("notebooks/solutions/", "grading/", ".ci/", "build/")
EXCLUDE_FILES = {
    "scripts/make_assignments.py", "scripts/grade_assignment.py", "scripts/make_release.py",
    "tests/test_assignments.py", "tests/test_grader.py", "tests/test_grading.py",
    "tests/test_release.py",
}
EXCLUDE_PATTERNS = (re.compile(r"^tests/test_checkers.*\.py$"),)
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "<!-- BEGIN SOLUTION", "<!-- END SOLUTION",
           "# SOLUTION ONLY")
LESSON = re.compile(r"^notebooks/\d\d_[^/]*\.ipynb$")
INSTRUCTOR_NOTE = ("## For instructors\n\nThis is the student release of the course. The "
                   "assignment solutions, hidden tests and the grader are kept in the "
                   "instructors' repository.\n\n")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tracked_files() -> list[str]:
    """Files tracked by git (the working tree's versions); all files if not a checkout."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                             capture_output=True).stdout.decode()
        files = [f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()
                 and ".git" not in p.parts and ".venv" not in p.parts]
    return sorted(f for f in files if (ROOT / f).is_file())


def released(files: list[str]) -> list[str]:
    """The files students receive."""
    keep = []
    for f in files:
        if f.startswith(EXCLUDE_DIRS) or f in EXCLUDE_FILES:
            continue
        if any(p.match(f) for p in EXCLUDE_PATTERNS):
            continue
        keep.append(f)
    return keep


def student_readme(text: str) -> str:
    """The README without its instructors' section."""
    start = text.find("## For instructors")
    if start < 0:
        return text
    end = text.find("\n## ", start + 1)
    return text[:start] + INSTRUCTOR_NOTE + (text[end + 1:] if end >= 0 else "")


def _code_lines(text: str) -> list[str]:
    """Stripped lines that carry code (no blanks, no comments)."""
    return [s for s in (ln.strip() for ln in text.splitlines()) if s and not s.startswith("#")]


def secret_ngrams() -> dict[tuple[str, ...], str]:
    """Runs of lines that must not leave the instructors' repository -> their source.

    Solution code counts as runs of three consecutive lines of one region (a region of one
    line counts if it is 40 characters or more): single idioms such as
    ``rng = np.random.default_rng(seed)`` recur in any NumPy code. Every line of a written
    answer counts, and every line of 30 characters or more of a hidden test.
    """
    make_assignments = _load("make_assignments")
    import nbformat

    secrets: dict[tuple[str, ...], str] = {}
    for sol in sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb")):
        nb = nbformat.read(sol, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                regions, inside = [], None
                for line in cell.source.splitlines():
                    s = line.strip()
                    if s == make_assignments.BEGIN:
                        inside = []
                    elif s == make_assignments.END:
                        regions.append(inside)
                        inside = None
                    elif inside is not None and s and not s.startswith("#"):
                        inside.append(s)
                for region in regions:
                    if len(region) == 1 and len(region[0]) >= 40:
                        secrets.setdefault((region[0],), f"solution {sol.name}")
                    for i in range(len(region) - 2):
                        secrets.setdefault(tuple(region[i:i + 3]), f"solution {sol.name}")
            elif cell.cell_type == "markdown":
                pattern = (re.escape(make_assignments.MD_BEGIN) + r"(.*?)"
                           + re.escape(make_assignments.MD_END))
                for region in re.findall(pattern, cell.source, re.S):
                    for line in region.splitlines():
                        if len(line.strip()) >= 12:
                            secrets.setdefault((line.strip(),), f"solution prose {sol.name}")
    for hidden in sorted((ROOT / "grading").glob("*")):
        if hidden.is_file() and (hidden.name.startswith(("hidden_", "common"))
                                 or hidden.suffix == ".toml"):
            for s in _code_lines(hidden.read_text(encoding="utf-8")):
                if len(s) >= 30 and not s.startswith(('"""', "from __future__")):
                    secrets.setdefault((s,), f"grading/{hidden.name}")
    return secrets


def scan(out: Path, secrets: dict[tuple[str, ...], str]) -> list[str]:
    """Every leak found in the release at ``out``: ``"path: what"``."""
    problems = []
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(out).as_posix()
        if rel.startswith(("notebooks/solutions", "grading")):
            problems.append(f"{rel}: instructor-only path")
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if rel.endswith(".ipynb"):
            import nbformat

            try:
                nb = nbformat.reads(text, as_version=4)
                text = "\n".join(c.source for c in nb.cells)
            except Exception:  # noqa: BLE001 (not a notebook after all: scan raw)
                pass
        for marker in MARKERS:
            if marker in text:
                problems.append(f"{rel}: contains the marker {marker!r}")
        if LESSON.match(rel):
            continue  # lessons teach the same code on purpose; only markers count there
        lines = _code_lines(text)
        grams = set(zip(lines, lines[1:], lines[2:], strict=False)) | {(ln,) for ln in lines}
        for gram in sorted(grams & set(secrets)):
            problems.append(f"{rel}: contains {secrets[gram]}: {' / '.join(gram)[:100]!r}")
    return problems


def build(out: Path = DEFAULT_OUT, make_zip: bool = True) -> tuple[Path, list[str]]:
    """Write the release to ``out``; return ``(out, files)``. Raises on a stale or leaky build."""
    stale = _load("make_assignments").generate(check=True)
    if stale:
        raise SystemExit(f"student notebooks are stale, run scripts/make_assignments.py: {stale}")
    files = released(tracked_files())
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for f in files:
        target = out / f
        target.parent.mkdir(parents=True, exist_ok=True)
        if f == "README.md":
            text = student_readme((ROOT / f).read_text(encoding="utf-8"))
            target.write_text(text, encoding="utf-8")
        else:
            shutil.copy2(ROOT / f, target)
    problems = scan(out, secret_ngrams())
    if problems:
        shutil.rmtree(out)
        raise SystemExit("the release would leak instructor material:\n  "
                         + "\n  ".join(problems[:20]))
    if make_zip:
        shutil.make_archive(str(out), "zip", root_dir=out.parent, base_dir=out.name)
    return out, files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder (default {DEFAULT_OUT.relative_to(ROOT)})")
    parser.add_argument("--no-zip", action="store_true", help="do not write OUT.zip")
    args = parser.parse_args(argv)
    out, files = build(args.out.resolve(), make_zip=not args.no_zip)
    print(f"student release: {len(files)} files in {out}"
          + ("" if args.no_zip else f" (and {out}.zip)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

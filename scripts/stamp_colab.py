"""Stamp an "Open in Colab" badge and the Colab set-up cell into every course notebook.

    python scripts/stamp_colab.py            # stamp lessons, solutions and assignments
    python scripts/stamp_colab.py --check    # exit 1 if one is missing or out of date
    python scripts/stamp_colab.py --check notebooks/03_basic_autoencoder.ipynb  # some only

The repository's public address is written in ONE place, ``[project.urls] Repository``
in ``pyproject.toml``; this script puts it into

- a badge line under the title of the first (markdown) cell, linking to the notebook on
  Colab; a solution's badge links to its student notebook (``notebooks/assignments/``),
  because scripts/make_assignments.py copies the solution's cells into it verbatim;
- a code cell right after the title cell (id ``colab-setup``), which on Colab installs
  the course package from the repository without replacing Colab's TensorFlow, NumPy or
  Jupyter and fetches the data; anywhere else it only checks that ``utils`` is the
  course's package (a student's own ``utils.py`` would hide it) and prints nothing.

Stamping is idempotent: an up-to-date notebook is left byte for byte as it was. The new
cell has no execution count, so re-execute a stamped notebook before committing it
(``make execute``). A student notebook stamped here equals the one generated from its
stamped solution, so ``scripts/make_assignments.py --check`` stays green.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BRANCH = "main"
CELL_ID = "colab-setup"
MARKER = "# Colab set-up (written by scripts/stamp_colab.py: edit the script, not this cell)."
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_RE = re.compile(r"^\[!\[Open In Colab\]\(" + re.escape(BADGE_IMAGE) + r"\)\]\([^)\s]*\)$")

CELL_TEMPLATE = '''\
{marker}
# On Google Colab it installs the course package (without replacing Colab's TensorFlow,
# NumPy or Jupyter) and fetches the data: about a minute, once per session. Anywhere else
# it does nothing but check that `utils` is this course's package; it prints nothing.
import importlib.metadata
import importlib.util
import os
import subprocess
import sys

_COURSE = "{install}"
_ON_COLAB = "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ
if _ON_COLAB:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # no TensorFlow log lines in the cells
    try:
        importlib.metadata.version("ae-course")  # installed already: a second run
    except importlib.metadata.PackageNotFoundError:
        _src = os.environ.get("AE_COURSE_URL", _COURSE)  # AE_COURSE_URL: a fork or a wheel
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        f"ae-course @ {{_src}}"], check=True, env=dict(
                            os.environ, PIP_ROOT_USER_ACTION="ignore",
                            PIP_DISABLE_PIP_VERSION_CHECK="1"))
        importlib.invalidate_caches()
_spec = importlib.util.find_spec("utils")
_home = os.path.dirname(_spec.origin or "") if _spec else ""
if not all(os.path.isfile(os.path.join(_home, f)) for f in ("setup.py", "repro.py")):
    raise ImportError(
        f"`import utils` finds {{_spec.origin if _spec else 'nothing'}}, not this course's "
        "package. A file or folder of yours called utils (or a PyPI package installed with "
        "`pip install utils`) hides it: rename it (or `pip uninstall utils`), then restart "
        "the kernel. The README, 'Where to run this course', shows the set-up.")
if _ON_COLAB:
    from utils import setup as _setup

    _setup.colab()
'''


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The repository's public address, from ``[project.urls] Repository``."""
    with open(pyproject, "rb") as f:
        urls = tomllib.load(f)["project"].get("urls", {})
    url = urls.get("Repository")
    if not url:
        raise SystemExit(f"{pyproject}: no [project.urls] Repository entry")
    return url.rstrip("/").removesuffix(".git")


def github_slug(url: str) -> str:
    """``owner/name`` from ``https://github.com/owner/name``."""
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", url)
    if not match:
        raise SystemExit(f"{url!r} is not a https://github.com/OWNER/NAME address; Colab "
                         "opens notebooks from GitHub")
    return f"{match[1]}/{match[2]}"


def badge_target(path: Path, root: Path = ROOT) -> str:
    """The notebook a badge opens: itself, or for a solution its student notebook."""
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    if rel.startswith("notebooks/solutions/"):
        rel = "notebooks/assignments/" + rel.removeprefix("notebooks/solutions/")
    return rel


def badge_line(slug: str, rel: str) -> str:
    return (f"[![Open In Colab]({BADGE_IMAGE})]"
            f"(https://colab.research.google.com/github/{slug}/blob/{BRANCH}/{rel})")


def cell_source(url: str) -> str:
    return CELL_TEMPLATE.format(marker=MARKER, install=f"git+{url}@{BRANCH}").rstrip("\n")


def stamp_title(source: str, badge: str, name: str) -> str:
    """The title cell with exactly one badge line, right under the ``# `` title."""
    lines = source.split("\n")
    if not lines or not lines[0].startswith("# "):
        raise SystemExit(f"{name}: the first cell must be a markdown title starting with '# '")
    rest = [ln for ln in lines[1:] if not BADGE_RE.match(ln.strip())]
    while rest and not rest[0].strip():
        rest.pop(0)
    return "\n".join([lines[0], "", badge, ""] + rest) if rest else "\n".join([lines[0], "", badge])


def is_colab_cell(cell) -> bool:
    return cell.cell_type == "code" and cell.source.startswith(MARKER.split("(")[0])


def stamp_notebook(nb, badge: str, source: str, name: str) -> None:
    """Put the badge and the Colab cell into ``nb`` (in place)."""
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise SystemExit(f"{name}: the first cell must be the markdown title")
    nb.cells[0].source = stamp_title(nb.cells[0].source, badge, name)
    existing = [i for i, c in enumerate(nb.cells) if is_colab_cell(c)]
    if existing == [1]:
        if nb.cells[1].source != source:
            nb.cells[1].source = source
        return
    for i in reversed(existing):  # misplaced or duplicated: start again
        del nb.cells[i]
    cell = nbformat.v4.new_code_cell(source)
    cell.id = CELL_ID
    nb.cells.insert(1, cell)


def render(nb) -> str:
    """The file text, exactly as nbconvert and scripts/make_assignments.py write it."""
    return nbformat.writes(nb) + "\n"


def default_notebooks(root: Path = ROOT) -> list[Path]:
    nbs = root / "notebooks"
    return (sorted(nbs.glob("[0-9][0-9]_*.ipynb")) + sorted((nbs / "solutions").glob("*.ipynb"))
            + sorted((nbs / "assignments").glob("*.ipynb"))
            + sorted((nbs / "challenges").glob("*.ipynb")))


def stamp(paths: list[Path], check: bool = False, url: str | None = None,
          root: Path = ROOT) -> list[Path]:
    """Stamp (or, with ``check``, only compare) ``paths``; return those that change."""
    url = url or repository_url(root / "pyproject.toml")
    slug = github_slug(url)
    source = cell_source(url)
    changed = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        stamp_notebook(nb, badge_line(slug, badge_target(path, root)), source, path.name)
        new = render(nb)
        if new != text:
            changed.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: every lesson, solution and assignment notebook")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if a notebook is not stamped as it should be")
    args = parser.parse_args(argv)
    paths = args.notebooks or default_notebooks()
    changed = stamp(paths, check=args.check)
    names = [str(p.resolve().relative_to(ROOT)) if p.resolve().is_relative_to(ROOT) else str(p)
             for p in changed]
    if args.check:
        if changed:
            print("not stamped, or stamped with another address (run "
                  "`python scripts/stamp_colab.py`):", *names, sep="\n  ")
            return 1
        print(f"all {len(paths)} notebooks carry the badge and set-up cell for "
              f"{repository_url()}")
        return 0
    print(f"stamped {len(changed)} of {len(paths)} notebooks" + (
        "; re-execute them before committing (make execute)" if changed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Every committed lesson notebook is a finished document: executed, titled, small."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
CHALLENGES = sorted((ROOT / "notebooks" / "challenges").glob("*.ipynb"))
MAX_BYTES = 2_500_000


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _markdown(nb: dict) -> str:
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def _code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


COLAB_MARKER = "# Colab set-up"  # the cell scripts/stamp_colab.py writes


def _setup_cell(nb: dict) -> str:
    """The course's setup cell: the first code cell that is not the Colab set-up cell."""
    for cell in _code_cells(nb):
        source = "".join(cell["source"])
        if not source.startswith(COLAB_MARKER):
            return source
    return ""


def test_challenges_exist():
    assert CHALLENGES, "no challenge notebooks under notebooks/challenges/"


def test_lessons_exist():
    assert LESSONS, "no lesson notebooks found under notebooks/"
    names = [p.name for p in LESSONS]
    assert names[0].startswith("00_"), f"the course starts at 00_*.ipynb, found {names[0]}"
    numbers = [int(n[:2]) for n in names]
    assert len(set(numbers)) == len(numbers), f"two lessons share a number: {names}"


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS + CHALLENGES, ids=lambda p: p.name)
def test_executed_in_order_without_errors(path):
    nb = _load(path)
    counts = [c.get("execution_count") for c in _code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts[:12]}... are not 1..{len(counts)}; "
        "re-run it top to bottom on a fresh kernel before committing")
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", (
                f"{path.name}: cell {i} was committed with an error ({out.get('ename')})")


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS + CHALLENGES, ids=lambda p: p.name)
def test_size(path):
    size = path.stat().st_size
    assert size < MAX_BYTES, f"{path.name} is {size / 1e6:.1f} MB; lower the figure dpi"


@pytest.mark.parametrize("path", LESSONS + CHALLENGES, ids=lambda p: p.name)
def test_document_structure(path):
    nb = _load(path)
    first = "".join(nb["cells"][0]["source"]) if nb["cells"] else ""
    assert nb["cells"][0]["cell_type"] == "markdown" and first.startswith("# "), (
        f"{path.name}: the first cell must be a markdown title starting with '# '")
    md = _markdown(nb)
    for heading in ("Learning objectives", "Prerequisites", "Exercises", "Summary"):
        assert re.search(rf"^#+ .*{heading}", md, re.M | re.I), (
            f"{path.name}: no '{heading}' heading")
    assert re.search(r"[\uac00-\ud7a3]", md), (
        f"{path.name}: give key terms their Korean names in parentheses")
    assert "$" in md, f"{path.name}: the lesson has no LaTeX math"


@pytest.mark.parametrize("path", LESSONS + CHALLENGES, ids=lambda p: p.name)
def test_setup_and_assertions(path):
    nb = _load(path)
    cells = _code_cells(nb)
    setup = _setup_cell(nb)
    assert "repro.set_seed(" in setup, f"{path.name}: the setup cell must call repro.set_seed"
    code = "\n".join("".join(c["source"]) for c in cells)
    assert re.search(r"^\s*assert ", code, re.M), f"{path.name}: no result is asserted"
    assert "NBVAL_CHECK_OUTPUT" in code, f"{path.name}: mark deterministic cells for nbval"
    for banned in ("tf_keras", "add_loss(", "plt.show("):
        assert banned not in code, f"{path.name}: uses {banned!r}"
    fit_calls = re.findall(r"\.fit\((?:[^()]|\([^()]*\))*\)", code, re.S)
    for call in fit_calls:
        if "epochs" not in call:  # scikit-learn's fit has no progress bar
            continue
        assert "verbose=0" in call or "verbose=2" in call, (
            f"{path.name}: keep Keras fit quiet (verbose=0) and plot the history: {call[:60]}...")

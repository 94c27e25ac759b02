"""Results as data: notebooks record their numbers, the README quotes them, the sweep is current.

* every lesson and solution takes its seed from ``AE_SEED`` and records its results and
  its wall time;
* the README's tables equal what ``scripts/readme_tables.py`` generates from the
  committed notebooks, and every decimal number in them comes from a recorded result;
* ``results/seed_sweep.json`` covers every notebook's current code with at least MIN_SEEDS
  seeds, and no assertion failed under any of them;
* the committed runs fit the time budget.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import readme_tables  # noqa: E402
from utils import results  # noqa: E402

LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
CHALLENGES = sorted((ROOT / "notebooks" / "challenges").glob("*.ipynb"))
NOTEBOOKS = LESSONS + SOLUTIONS + CHALLENGES
SWEEP = ROOT / "results" / "seed_sweep.json"
MIN_SEEDS = 4  # the default seed and three others (make seeds: SEEDS="1 2 3")
LESSON_BUDGET_S = 180
LESSONS_BUDGET_S = 25 * 60
SOLUTIONS_BUDGET_S = 10 * 60
CHALLENGE_BUDGET_S = 5 * 60  # each challenge, training included; not part of the 25 minutes


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code(nb: dict) -> list[str]:
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    return [s for s in sources if s.strip() and not s.startswith(results.COLAB_MARKER)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_seed_from_the_environment_and_results_recorded(path):
    code = _code(_load(path))
    assert re.search(r"repro\.set_seed\(\s*\)", code[0]), (
        f"{path.name}: the setup cell must call repro.set_seed() with no seed, so that "
        "AE_SEED chooses it")
    joined = "\n".join(code)
    assert not re.search(r"set_seed\(\s*\d", joined), f"{path.name}: a hard-coded seed"
    assert joined.count("repro.set_seed(") == 1, (
        f"{path.name}: call repro.set_seed() once, in the setup cell; a second call restarts "
        "the clock that results.record_runtime() reads (re-seed with keras.utils.set_random_seed)")
    assert "results.record(" in joined, f"{path.name}: record its headline numbers"
    assert "results.record_runtime()" in code[-1], (
        f"{path.name}: the last code cell must call results.record_runtime()")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_committed_outputs_carry_the_records(path):
    found = results.from_notebook(_load(path))
    names = [r.name for r in found]
    assert "runtime" in names, f"{path.name}: no recorded runtime; re-execute it (make execute)"
    assert len(names) == len(set(names)), f"{path.name}: a result is recorded twice: {names}"
    seeds = {r.seed for r in found}
    assert seeds == {42}, f"{path.name}: committed outputs must come from seed 42, got {seeds}"


def test_committed_runs_fit_the_time_budget():
    runtime = {p: {r.name: r.value for r in results.from_notebook(_load(p))}.get("runtime", 0)
               for p in NOTEBOOKS}
    slow = {p.name: round(s) for p, s in runtime.items() if p in LESSONS and s > LESSON_BUDGET_S}
    assert not slow, f"lessons over {LESSON_BUDGET_S} s: {slow}"
    assert sum(runtime[p] for p in LESSONS) <= LESSONS_BUDGET_S
    assert sum(runtime[p] for p in SOLUTIONS) <= SOLUTIONS_BUDGET_S
    slow = {p.name: round(runtime[p]) for p in CHALLENGES if runtime[p] > CHALLENGE_BUDGET_S}
    assert not slow, f"challenges over {CHALLENGE_BUDGET_S} s: {slow}"


def test_readme_tables_are_generated_from_the_notebooks():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_tables.render(readme) == readme, (
        "README.md's tables differ from the notebooks' recorded results; run "
        "`python scripts/readme_tables.py` (make readme) and commit README.md")


def test_every_number_in_a_headline_is_a_placeholder():
    template = tomllib.loads(readme_tables.TEMPLATE.read_text(encoding="utf-8"))
    rows = [(r["notebook"], r["headline"]) for r in template["lesson"]]
    rows += [(r["solution"], r["result"]) for r in template["assignment"]]
    rows += [(r["notebook"], r[key]) for r in template["record"] for key in ("ours", "budget")]
    for where, text in rows:
        bare = readme_tables.PLACEHOLDER.sub("", text)
        literal = re.findall(r"\d*\.\d+|\d+(?:\.\d+)?\s*%|\d+(?:,\d{3})+", bare)
        assert not literal, (f"{where}: the headline quotes {literal} literally; record the "
                             "number in the notebook and use a {placeholder}")


def _sweep() -> dict:
    if not SWEEP.exists():
        pytest.fail("results/seed_sweep.json is missing; run `make seeds`")
    return _load(SWEEP)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_seed_sweep_covers_the_current_code(path):
    entry = _sweep()["notebooks"].get(_rel(path))
    assert entry, f"{_rel(path)} is not in the seed sweep; run `make seeds NBS={_rel(path)}`"
    assert entry["code_sha256"] == results.code_hash(_load(path)), (
        f"{_rel(path)} changed after its last sweep; run `make seeds NBS={_rel(path)}`")
    assert len(entry["seeds"]) >= MIN_SEEDS, (
        f"{_rel(path)} was swept with seeds {entry['seeds']}; at least {MIN_SEEDS} are needed")
    failures = [f"seed {seed}, cell {e['cell']}: {e['error']}: {e['message']}"
                for seed, run in entry["runs"].items() for e in run["errors"]]
    assert not failures, f"{_rel(path)} fails under some seeds:\n" + "\n".join(failures)


# a tiny number that is not a printed bound such as "< 1e-12"
ROUND_OFF = re.compile(r"(?<![<\d.])(?<!< )\d(?:\.\d+)?e-(?:0?[7-9]|[1-9]\d)\b", re.I)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_checked_cells_print_nothing_machine_dependent(path):
    """nbval compares these cells' output, so it must be the same on any CPU."""
    for i, cell in enumerate(_load(path)["cells"]):
        if cell["cell_type"] != "code" or "NBVAL_CHECK_OUTPUT" not in "".join(cell["source"]):
            continue
        text = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                       for o in cell.get("outputs", []))
        tiny = ROUND_OFF.findall(text)
        assert not tiny, (f"{path.name} cell {i} is checked by nbval but prints round-off "
                          f"{tiny}; print a bound such as '< 1e-12' instead")

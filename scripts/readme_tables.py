"""Write the README's syllabus, assignment and records tables from the notebooks' recorded results.

    python scripts/readme_tables.py           # rewrite the tables in README.md
    python scripts/readme_tables.py --check   # exit 1 if README.md quotes stale numbers

Every number in those tables comes from a ``utils.results.record`` call in a committed
notebook (its outputs carry the record as JSON), so the README cannot quote a number
that the notebooks no longer produce. ``scripts/readme_tables.toml`` holds each row's
words, with ``{result name}`` where a recorded number goes, ``{result name|published}``
where the published figure it was recorded beside goes; ``{runtime}`` is the notebook's
own recorded wall time. Where ``results/seed_sweep.json`` holds a sweep of
the notebook's current code, ``{result name~}`` adds the range over the sweep's seeds.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TEMPLATE = Path(__file__).with_suffix(".toml")
SWEEP = ROOT / "results" / "seed_sweep.json"
LESSON_BUDGET_S = 180
LESSONS_BUDGET_MIN = 25
SOLUTIONS_BUDGET_MIN = 10

sys.path.insert(0, str(ROOT))
from utils import results  # noqa: E402

PLACEHOLDER = re.compile(r"\{([^{}|~]+?)(~?)(\|published)?\}")


class TableError(ValueError):
    """A template names a result that its notebook does not record."""


def _records(path: Path) -> tuple[dict[str, results.Result], dict]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return {r.name: r for r in results.from_notebook(nb)}, nb


def _sweep_for(rel: str, nb: dict) -> dict | None:
    if not SWEEP.exists():
        return None
    entry = json.loads(SWEEP.read_text(encoding="utf-8"))["notebooks"].get(rel)
    if not entry or entry["code_sha256"] != results.code_hash(nb):
        return None
    return entry


def _fill(text: str, rel: str, recs: dict[str, results.Result], sweep: dict | None) -> str:
    def one(match: re.Match) -> str:
        name, spread, published = match.group(1), match.group(2), match.group(3)
        if name not in recs:
            raise TableError(f"{TEMPLATE.name}: {rel} records no result named {name!r}; "
                             f"it records {sorted(recs)}. Fix the template or the notebook.")
        if published:
            if recs[name].published is None:
                raise TableError(f"{TEMPLATE.name}: {rel} records {name!r} with no published "
                                 "figure; pass published=... to results.record")
            return recs[name].published_shown
        out = recs[name].text
        if spread and sweep and name in sweep["stats"] and sweep["stats"][name]["n"] > 1:
            s = sweep["stats"][name]
            lo, hi = (format(v, _spec(recs[name].text)) for v in (s["min"], s["max"]))
            out += f" ({lo}-{hi} over {s['n']} seeds)"
        return out

    return PLACEHOLDER.sub(one, text)


def _spec(text: str) -> str:
    """A format spec that prints like ``text`` (same number of decimals)."""
    if "%" in text:
        decimals = len(text.split(".")[1].rstrip("%")) if "." in text else 0
        return f".{decimals}%"
    decimals = len(text.split(".")[1]) if "." in text else 0
    return f".{decimals}f"


def _runtime(rel: str, recs: dict[str, results.Result]) -> float:
    if "runtime" not in recs:
        raise TableError(f"{rel}: no recorded runtime; end the notebook with "
                         "`results.record_runtime()` and re-execute it")
    return recs["runtime"].value


def syllabus(rows: list[dict]) -> str:
    lines = ["| # | notebook | what you learn | runtime (2-core CPU) | headline result |",
             "|---|---|---|---|---|"]
    total, longest = 0.0, (0.0, "")
    for row in rows:
        rel = row["notebook"]
        recs, nb = _records(ROOT / rel)
        seconds = _runtime(rel, recs)
        total += seconds
        longest = max(longest, (seconds, row["number"]))
        headline = _fill(row["headline"], rel, recs, _sweep_for(rel, nb))
        lines.append(f"| {row['number']} | [{row['title']}]({rel}) | {row['learn']} | "
                     f"{seconds:.0f} s | {headline} |")
    lines += ["", f"All lessons together: {total / 60:.1f} minutes (budget "
              f"{LESSONS_BUDGET_MIN}); the longest, lesson {longest[1]}, takes "
              f"{longest[0]:.0f} s (limit {LESSON_BUDGET_S})."]
    return "\n".join(lines)


def assignments(rows: list[dict]) -> str:
    lines = ["| assignment | covers lessons | graded tasks | the solution's result | "
             "solution runtime (2-core CPU) |", "|---|---|---|---|---|"]
    total = 0.0
    for row in rows:
        rel = row["solution"]
        recs, nb = _records(ROOT / rel)
        seconds = _runtime(rel, recs)
        total += seconds
        result = _fill(row["result"], rel, recs, _sweep_for(rel, nb))
        lines.append(f"| [{row['title']}]({row['student']}) | {row['covers']} | {row['tasks']} | "
                     f"{result} | {seconds:.0f} s |")
    lines += ["", f"All five solutions together: {total / 60:.1f} minutes (budget "
              f"{SOLUTIONS_BUDGET_MIN})."]
    return "\n".join(lines)


def records(rows: list[dict]) -> str:
    lines = ["| record | challenge | ours | published | what it took | runtime (2-core CPU) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        rel = row["notebook"]
        recs, nb = _records(ROOT / rel)
        seconds = _runtime(rel, recs)
        sweep = _sweep_for(rel, nb)
        cells = [_fill(row[key], rel, recs, sweep) for key in ("ours", "published", "budget")]
        lines.append(f"| {row['record']} | [{row['title']}]({rel}) | {cells[0]} | {cells[1]} | "
                     f"{cells[2]} | {seconds:.0f} s |")
    return "\n".join(lines)


def _replace_block(text: str, tag: str, body: str) -> str:
    start, end = f"<!-- {tag} -->", f"<!-- /{tag} -->"
    if text.count(start) != 1 or text.count(end) != 1:
        raise TableError(f"README.md must contain exactly one '{start}' and one '{end}'")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n{body}\n{end}{tail}"


def render(readme: str) -> str:
    template = tomllib.loads(TEMPLATE.read_text(encoding="utf-8"))
    readme = _replace_block(readme, "SYLLABUS", template["syllabus"]["preamble"].strip()
                            + "\n\n" + syllabus(template["lesson"]))
    readme = _replace_block(readme, "ASSIGNMENTS", assignments(template["assignment"]))
    return _replace_block(readme, "RECORDS", template["records"]["preamble"].strip()
                          + "\n\n" + records(template["record"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if README.md differs from the generated tables")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    try:
        fresh = render(current)
    except TableError as exc:
        print(f"readme_tables: {exc}", file=sys.stderr)
        return 2
    if fresh == current:
        print("README.md tables are up to date")
        return 0
    if args.check:
        diff = difflib.unified_diff(current.splitlines(), fresh.splitlines(), "README.md",
                                    "generated", lineterm="", n=0)
        print("README.md quotes numbers the notebooks no longer print; run "
              "`python scripts/readme_tables.py` (make readme):", *diff, sep="\n")
        return 1
    README.write_text(fresh, encoding="utf-8")
    print("README.md tables rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())

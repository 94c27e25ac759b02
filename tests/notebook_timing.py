"""pytest plugin: add up nbval's cell times per notebook and print a table at the end.

Loaded with ``-p tests.notebook_timing``. The lesson budget is 180 s a notebook and
25 min in all; assignment solutions share 10 min; each challenge has 5 min of its own.
Over-budget notebooks are flagged,
not failed, because a loaded machine can be slower than the budget's reference.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

NOTEBOOK_BUDGET_S = 180.0
CHALLENGE_BUDGET_S = 300.0
LESSONS_BUDGET_S = 25 * 60.0
SOLUTIONS_BUDGET_S = 10 * 60.0

_times: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _times[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _times:
        return
    tr = terminalreporter
    tr.section("notebook run times (nbval, this machine)")
    lessons = solutions = 0.0
    for path, seconds in sorted(_times.items()):
        challenge = "/challenges/" in path
        limit = CHALLENGE_BUDGET_S if challenge else NOTEBOOK_BUDGET_S
        flag = "  OVER BUDGET" if seconds > limit else ""
        tr.write_line(f"{seconds:7.1f} s  {path}{flag}")
        if "/solutions/" in path:
            solutions += seconds
        elif not challenge:
            lessons += seconds
    tr.write_line(f"{lessons:7.1f} s  lessons in all (budget {LESSONS_BUDGET_S:.0f} s)")
    if solutions:
        tr.write_line(f"{solutions:7.1f} s  assignment solutions in all "
                      f"(budget {SOLUTIONS_BUDGET_S:.0f} s)")
    out = Path("build")
    out.mkdir(exist_ok=True)
    (out / "notebook_times.json").write_text(json.dumps(dict(sorted(_times.items())), indent=1))

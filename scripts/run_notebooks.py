"""Execute the course's notebooks serially: for committing, and as a seed sweep.

    python scripts/run_notebooks.py execute [NOTEBOOK ...]
    python scripts/run_notebooks.py sweep [NOTEBOOK ...] --seeds 1 2 3

With no notebook named, both take every lesson (``notebooks/NN_*.ipynb``), every
assignment solution (``notebooks/solutions/*.ipynb``) and every challenge
(``notebooks/challenges/*.ipynb``).

``execute`` runs each notebook top to bottom on a fresh kernel, one at a time, and
writes the outputs back into the file. Committed notebooks come from this command, on an
otherwise idle machine: two notebooks sharing two CPU cores print wrong timings, and
the lessons that teach timing comparisons would then teach wrong ones. A notebook that
stops with an error is left unchanged and the command exits with status 1.

``sweep`` runs each notebook once per seed (``AE_SEED``), with errors allowed so that
every failing assertion is seen, and collects the numbers the notebook records with
``utils.results.record``. The default seed's row comes from the committed notebook's
own outputs, which ``execute`` produced, so it is not run again; runs of other seeds
are kept while the notebook's code is unchanged, so seeds can be added a few at a time.
The summary goes to ``results/seed_sweep.json`` and ``results/SEED_SWEEP.md``: for
every recorded number its mean, standard deviation, minimum and maximum over the
seeds, and which assertion failed under which seed. Each notebook's entry carries a
hash of its code cells, so a test can tell when a notebook changed after its last sweep.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SUMMARY_JSON = ROOT / "results" / "seed_sweep.json"
SUMMARY_MD = ROOT / "results" / "SEED_SWEEP.md"
CELL_TIMEOUT_S = 900

sys.path.insert(0, str(ROOT))
from utils import repro, results  # noqa: E402


def default_notebooks() -> list[Path]:
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    solutions = sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
    challenges = sorted((ROOT / "notebooks" / "challenges").glob("*.ipynb"))
    return lessons + solutions + challenges


def relative(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()


def _resolve(names: list[str]) -> list[Path]:
    if not names:
        return default_notebooks()
    paths = []
    for name in names:
        path = Path(name)
        path = path if path.is_absolute() else (Path.cwd() / path)
        if not path.is_file() or path.suffix != ".ipynb":
            raise SystemExit(f"run_notebooks: {name!r} is not a notebook file (.ipynb)")
        paths.append(path.resolve())
    return paths


def _run(nb: nbformat.NotebookNode, path: Path, env: dict[str, str], allow_errors: bool):
    """Execute ``nb`` (in place) on a fresh kernel in ``path``'s folder with ``env`` set."""
    from nbclient import NotebookClient

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                allow_errors=allow_errors,
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def errors_of(nb: dict) -> list[dict]:
    """The error outputs of an executed notebook: cell index, exception name, first line."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "error":
                first = (out.get("evalue") or "").strip().splitlines()[:1]
                found.append({"cell": i, "error": out.get("ename", "Error"),
                              "message": first[0][:300] if first else ""})
    return found


def _busy_warning() -> None:
    try:
        load = os.getloadavg()[0]
    except OSError:
        return
    if load > 0.7:
        print(f"warning: the 1-minute load average is {load:.1f}; something else is using the "
              "CPU, so the timings written into the notebooks will be too long. Commit outputs "
              "only from a run on an otherwise idle machine.", flush=True)


def execute(paths: list[Path]) -> int:
    failed = []
    env = {"AE_SEED": os.environ.get("AE_SEED", ""), "KERAS_BACKEND": "tensorflow",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    _busy_warning()  # once, before our own kernels add to the load
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        env[results.NOTEBOOK_ENV_VAR] = relative(path)
        try:
            _run(nb, path, env, allow_errors=False)
        except Exception as exc:  # noqa: BLE001 (report every failure, then go on)
            name = type(exc).__name__
            print(f"FAILED  {relative(path)} after {time.perf_counter() - start:.0f} s: "
                  f"{name}; the file was left unchanged", flush=True)
            failed.append(relative(path))
            continue
        nbformat.write(nb, path)
        print(f"ok      {relative(path)} in {time.perf_counter() - start:.0f} s", flush=True)
    if failed:
        print("These notebooks stopped with an error:", *failed, sep="\n  ")
        return 1
    return 0


def _load_summary() -> dict:
    if SUMMARY_JSON.exists():
        return json.loads(SUMMARY_JSON.read_text(encoding="utf-8"))
    return {"default_seed": repro.DEFAULT_SEED, "notebooks": {}}


def _stats(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "n": len(values)}


def summarise(runs: dict[str, dict]) -> dict:
    """Per-record statistics over the seeds of one notebook's ``runs``."""
    names: dict[str, dict] = {}
    for run in runs.values():
        for rec in run["records"]:
            entry = names.setdefault(rec["name"], {"unit": rec.get("unit", ""), "values": []})
            entry["values"].append(rec["value"])
    return {name: {"unit": e["unit"], **_stats(e["values"])} for name, e in names.items()}


def sweep(paths: list[Path], seeds: list[int]) -> int:
    summary = _load_summary()
    default = repro.DEFAULT_SEED
    for path in paths:
        rel = relative(path)
        committed = nbformat.read(path, as_version=4)
        digest = results.code_hash(committed)
        previous = summary["notebooks"].get(rel, {})
        runs: dict[str, dict] = (dict(previous.get("runs", {}))
                                 if previous.get("code_sha256") == digest else {})
        committed_errors = errors_of(committed)
        runs[str(default)] = {
            "source": "committed outputs",
            "records": [r.__dict__ for r in results.from_notebook(committed)],
            "errors": committed_errors,
        }
        if not runs[str(default)]["records"]:
            print(f"warning: {rel} has no recorded results in its committed outputs; "
                  "run `make execute` first", flush=True)
        for seed in seeds:
            if seed == default:
                continue
            nb = nbformat.read(path, as_version=4)
            start = time.perf_counter()
            env = {"AE_SEED": str(seed), results.NOTEBOOK_ENV_VAR: rel,
                   "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
            try:
                _run(nb, path, env, allow_errors=True)
                crash = []
            except Exception as exc:  # noqa: BLE001 (a timeout or a dead kernel)
                crash = [{"cell": -1, "error": type(exc).__name__,
                          "message": str(exc).strip().splitlines()[0][:300] if str(exc) else ""}]
            wall = time.perf_counter() - start
            runs[str(seed)] = {"source": "sweep", "wall_s": round(wall, 1),
                               "records": [r.__dict__ for r in results.from_notebook(nb)],
                               "errors": errors_of(nb) + crash}
            status = "ok" if not runs[str(seed)]["errors"] else (
                f"{len(runs[str(seed)]['errors'])} error(s)")
            print(f"{rel} seed {seed}: {status} in {wall:.0f} s", flush=True)
        summary["notebooks"][rel] = {
            "code_sha256": digest,
            "seeds": sorted(int(s) for s in runs),
            "runs": runs,
            "stats": summarise(runs),
        }
        _write(summary)
    failures = [(nb, seed, e) for nb, entry in summary["notebooks"].items()
                for seed, run in entry["runs"].items() for e in run["errors"]]
    for nb, seed, e in failures:
        print(f"FAILED  {nb} seed {seed} cell {e['cell']}: {e['error']}: {e['message']}")
    return 1 if failures else 0


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def markdown(summary: dict) -> str:
    lines = ["# Seed sweep", "",
             "Written by `make seeds` (`scripts/run_notebooks.py sweep`); do not edit by hand.",
             f"The default seed ({summary['default_seed']}) is read from each committed "
             "notebook's outputs; the others are fresh runs with `AE_SEED` set.", ""]
    for rel, entry in sorted(summary["notebooks"].items()):
        seeds = ", ".join(str(s) for s in entry["seeds"])
        lines += [f"## {rel}", "", f"Seeds: {seeds}. Code hash `{entry['code_sha256'][:12]}`.", ""]
        failures = [(seed, e) for seed, run in entry["runs"].items() for e in run["errors"]]
        if failures:
            lines += ["Failures:", ""]
            lines += [f"- seed {seed}, cell {e['cell']}: `{e['error']}: {e['message']}`"
                      for seed, e in failures]
            lines.append("")
        else:
            lines += ["Every assertion passed under every seed.", ""]
        lines += ["| result | unit | mean | std | min | max | n |", "|---|---|---|---|---|---|---|"]
        for name, s in entry["stats"].items():
            lines.append(f"| {name} | {s['unit']} | {_fmt(s['mean'])} | {_fmt(s['std'])} | "
                         f"{_fmt(s['min'])} | {_fmt(s['max'])} | {s['n']} |")
        lines.append("")
    return "\n".join(lines)


def _write(summary: dict) -> None:
    SUMMARY_JSON.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY_JSON.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    SUMMARY_MD.write_text(markdown(summary), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="execute notebooks serially, outputs written back")
    ex.add_argument("notebooks", nargs="*", help="notebook paths (default: all)")
    sw = sub.add_parser("sweep", help="run notebooks under several seeds, summarise")
    sw.add_argument("--seeds", nargs="*", type=int, default=[],
                    help="seeds to run besides the default (none: only refresh the default "
                         "seed's row from the committed outputs, keeping earlier runs)")
    sw.add_argument("notebooks", nargs="*", help="notebook paths (default: all)")
    args = parser.parse_args(argv)
    paths = _resolve(args.notebooks)
    if args.command == "execute":
        return execute(paths)
    return sweep(paths, args.seeds)


if __name__ == "__main__":
    sys.exit(main())

"""Results as data: every headline number is recorded once, in one format.

A lesson calls :func:`record` for each number it teaches (the ones it asserts, its main
comparison) and :func:`record_runtime` at its end::

    results.record("test BCE", test_bce, "nats/pixel", fmt=".4f",
                   published=0.11, source="Keras blog (2016), adadelta, 50 epochs")

Each call prints one line, ``RESULT  test BCE = 0.0921 nats/pixel  [published 0.11, ...]``.
Inside Jupyter the same line also carries the number as JSON (MIME type
:data:`MIME_TYPE`), so the committed notebook is a machine-readable record: the README
tables are generated from it (``scripts/readme_tables.py``) and the seed sweep collects it
(``scripts/run_notebooks.py sweep``). When ``$AE_RESULTS_FILE`` names a file, each
record is also appended to it as one JSON line.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from dataclasses import asdict, dataclass
from numbers import Real
from pathlib import Path

RESULTS_FILE_ENV_VAR = "AE_RESULTS_FILE"
"""Environment variable naming a JSON-lines file that every record is appended to."""

NOTEBOOK_ENV_VAR = "AE_NOTEBOOK"
"""Environment variable that the notebook runner sets to the notebook's path."""

MIME_TYPE = "application/vnd.ae-course.result+json"
"""The MIME type under which a record travels in a notebook's outputs."""

PREFIX = "RESULT"

COLAB_MARKER = "# Colab set-up"
"""First line of the Colab set-up cell, which does nothing outside Colab (not hashed)."""

_clock_start = time.perf_counter()


@dataclass(frozen=True)
class Result:
    """One recorded number."""

    name: str
    value: float
    unit: str = ""
    text: str = ""
    published: float | str | None = None
    source: str | None = None
    seed: int | None = None
    notebook: str | None = None
    published_text: str | None = None

    @property
    def published_shown(self) -> str | None:
        """The published figure as printed (in the value's format when it is a number)."""
        if self.published_text is not None:
            return self.published_text
        return None if self.published is None else str(self.published)

    def line(self) -> str:
        """The printed form: ``RESULT  name = text unit  [published P, source]``."""
        unit = f" {self.unit}" if self.unit else ""
        out = f"{PREFIX}  {self.name} = {self.text}{unit}"
        if self.published is not None or self.source:
            ref = [] if self.published is None else [f"published {self.published_shown}"]
            ref += [self.source] if self.source else []
            out += f"  [{', '.join(ref)}]"
        return out


def restart_clock() -> None:
    """Start the notebook clock again (``repro.set_seed`` calls this)."""
    global _clock_start
    _clock_start = time.perf_counter()


def elapsed() -> float:
    """Seconds since the last :func:`restart_clock` (or since this module was imported)."""
    return time.perf_counter() - _clock_start


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"record: name must be a non-empty string, got {name!r}")
    if any(ch in name for ch in "=\n{}"):
        raise ValueError(f"record: name {name!r} may not contain '=', braces or a newline")
    return name.strip()


def _as_float(value, name: str) -> float:
    if hasattr(value, "numpy"):
        value = value.numpy()
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"record({name!r}): value must be one real number, got "
                        f"{type(value).__name__}; pass a float (e.g. float(x.mean()))")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"record({name!r}): value is {value}; a recorded result must be "
                         "finite, so look for a NaN or an overflow in the computation")
    return value


def _notebook() -> str | None:
    return os.environ.get(NOTEBOOK_ENV_VAR) or None


def record(name: str, value, unit: str = "", *, fmt: str = ".4g",
           published: float | str | None = None, source: str | None = None) -> float:
    """Record one headline number, print it, and return it as a float.

    ``fmt`` is a format spec for the printed value (``".4f"``, ``".1%"``, ``",d"``...);
    ``published`` and ``source`` name the published figure it is set beside. A value
    that is not one finite real number raises an error naming the result.
    """
    from utils import repro

    name = _check_name(name)
    number = _as_float(value, name)
    try:
        text = format(int(number) if fmt.endswith("d") else number, fmt)
    except ValueError as exc:
        raise ValueError(f"record({name!r}): fmt={fmt!r} is not a valid format spec "
                         f"for a number ({exc})") from None
    published_text = _published_text(published, fmt)
    result = Result(name=name, value=number, unit=unit, text=text, published=published,
                    source=source, seed=repro.current_seed(), notebook=_notebook(),
                    published_text=published_text)
    _emit(result)
    return number


def _published_text(published, fmt: str) -> str | None:
    """A published figure as printed: a string as given; a number in the value's format
    when that is fixed-point with at most two decimals (3.0 -> '3.00', and 3280 -> '3,280'
    with ``",.0f"``), else as short as it is (0.11 stays '0.11', not '0.1100', which would
    claim digits the paper lacks)."""
    if published is None or isinstance(published, str) or isinstance(published, bool):
        return None if published is None else str(published)
    if not isinstance(published, Real):
        raise TypeError(f"published: expected a number or a string, got {type(published).__name__}")
    spec = re.fullmatch(r",?\.([0-2])f", fmt)
    return format(float(published), fmt) if spec else format(float(published), "g")


def record_runtime(name: str = "runtime") -> float:
    """Record the notebook's wall time so far (since ``repro.set_seed``), in seconds."""
    return record(name, elapsed(), "s", fmt=".0f")


def _emit(result: Result) -> None:
    payload = asdict(result)
    line = result.line()
    try:
        from IPython import get_ipython
        from IPython.display import display

        shell = get_ipython()
    except ImportError:  # plain Python without IPython
        shell = None
    if shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell":
        display({"text/plain": line, MIME_TYPE: payload}, raw=True)
    else:
        print(line)
    path = os.environ.get(RESULTS_FILE_ENV_VAR, "").strip()
    if path:
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(payload) + "\n")
        except OSError as exc:
            raise OSError(f"{RESULTS_FILE_ENV_VAR}={path!r}: cannot append the result "
                          f"({exc}); point it at a writable file or unset it") from None


def from_notebook(nb: dict) -> list[Result]:
    """Every record in an executed notebook's outputs (a notebook loaded as a dict)."""
    found = []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = out.get("data") or {}
            if MIME_TYPE in data:
                found.append(Result(**data[MIME_TYPE]))
    return found


def load_jsonl(path: str | os.PathLike) -> list[Result]:
    """Every record in a JSON-lines file written through ``$AE_RESULTS_FILE``."""
    path = Path(path)
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(Result(**json.loads(line)))
        except (json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"{path}:{i}: not a result record ({exc})") from None
    return rows


def code_hash(nb: dict) -> str:
    """SHA-256 of a notebook's code cells, to tell when a notebook changed after a sweep.

    Only the sources count (not outputs); empty cells and the Colab set-up cell, which
    does nothing outside Colab, are left out.
    """
    digest = hashlib.sha256()
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = cell["source"]
        source = ("".join(source) if isinstance(source, list) else source).strip()
        if not source or source.startswith(COLAB_MARKER):
            continue
        digest.update(source.encode("utf-8") + b"\0")
    return digest.hexdigest()


SWEEP_FILE = Path("results") / "seed_sweep.json"
"""Where ``scripts/run_notebooks.py sweep`` writes its summary, relative to the checkout."""


def find_sweep(start: str | os.PathLike | None = None) -> Path | None:
    """The checkout's ``results/seed_sweep.json``, searched from ``start`` (default: the
    working directory) upwards; ``None`` outside a checkout (an installed package, Colab)."""
    here = Path.cwd() if start is None else Path(start)
    for folder in (here, *here.resolve().parents):
        if (folder / SWEEP_FILE).is_file():
            return folder / SWEEP_FILE
    return None


def swept(notebook: str, name: str, sweep: str | os.PathLike | None = None) -> dict | None:
    """A lesson's recorded number over the committed seed sweep, for a scoreboard.

    ``notebook`` is the path from the checkout's root (``"notebooks/05_....ipynb"``) and
    ``name`` the record's name. Returns the sweep's statistics for it (``mean``, ``std``,
    ``min``, ``max``, ``n`` seeds, ``unit``), read from ``sweep`` (default:
    :func:`find_sweep`), or ``None`` when there is no sweep file. A notebook or name that
    the sweep does not hold is an error (a typo would otherwise show as a missing number).
    """
    path = find_sweep() if sweep is None else Path(sweep)
    if path is None:
        return None
    try:
        notebooks = json.loads(path.read_text(encoding="utf-8"))["notebooks"]
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise ValueError(f"{path}: not a seed-sweep summary ({exc}); regenerate it with "
                         "`make seeds`") from None
    if notebook not in notebooks:
        raise KeyError(f"{path}: no notebook {notebook!r}; it holds {sorted(notebooks)}")
    stats = notebooks[notebook]["stats"]
    if name not in stats:
        raise KeyError(f"{path}: {notebook} records no {name!r}; it records {sorted(stats)}")
    return dict(stats[name])

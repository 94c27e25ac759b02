"""Set up and run the course without ``make``: the same steps on Linux, macOS and Windows.

Run from the repository root with any Python 3.11 or newer; this module needs only the
standard library, so it works before anything is installed::

    python -m utils.setup              # = make setup: .venv, pinned packages, data, kernel
    python -m utils.setup lab          # = make lab: set up, then open JupyterLab at lesson 00
    python -m utils.setup test         # = make test: set up with the developer tools,
                                       #   then ruff and pytest (unit tests + notebooks)
    python -m utils.setup --gpu lab    # Linux with an NVIDIA GPU: requirements-gpu.txt

Options: ``--venv PATH`` (default ``.venv``), ``--dev`` (also the developer tools), and
after ``lab`` or ``test`` a ``--`` followed by arguments for JupyterLab or pytest.

On Google Colab the notebooks' first cell installs the package and then calls
:func:`colab`, which installs only what is missing (never TensorFlow, NumPy or Jupyter
over Colab's own) and fetches the data.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

REQUIRED_PYTHON = (3, 11)
PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent
KERNEL_NAME = "ae-course"
KERNEL_DISPLAY = "Python (autoencoder course)"
FIRST_PAGE = "notebooks/00_setup_and_data.ipynb"
# What the course imports at run time, as (module, distribution to install if missing).
RUNTIME_MODULES = [
    ("tensorflow", "tensorflow"), ("keras", "keras"), ("numpy", "numpy"),
    ("scipy", "scipy"), ("sklearn", "scikit-learn"), ("matplotlib", "matplotlib"),
    ("pandas", "pandas"),
]
# Environment for every step that runs TensorFlow (what the Makefile exports).
QUIET_ENV = {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}


class SetupError(RuntimeError):
    """A set-up step cannot go on; the message says why and what to do."""


def check_python(version: tuple[int, ...] = tuple(sys.version_info)) -> None:
    """Stop early, naming the version needed, on a Python older than 3.11."""
    if tuple(version[:2]) < REQUIRED_PYTHON:
        need = ".".join(map(str, REQUIRED_PYTHON))
        have = ".".join(map(str, version[:3]))
        raise SetupError(
            f"This course needs Python {need} or newer; this is Python {have} "
            f"({sys.executable}). Install Python {need}+ from python.org (or your package "
            f"manager) and run the command again with it, e.g. `python{need} -m utils.setup` "
            f"or `make lab PYTHON=python{need}`.")


def venv_python(venv: Path) -> Path:
    """The interpreter inside a virtual environment, on Windows and elsewhere."""
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def requirement_files(gpu: bool = False, dev: bool = False, root: Path = ROOT) -> list[Path]:
    """The lock files to install, in order: the student set (CPU or GPU), then dev tools."""
    files = [root / ("requirements-gpu.txt" if gpu else "requirements.txt")]
    if dev:
        files.append(root / "requirements-dev.txt")
    return files


def stamp_path(venv: Path, gpu: bool = False, dev: bool = False) -> Path:
    """The file that records an install (the same names the Makefile uses)."""
    return venv / (".installed" + ("-gpu" if gpu else "") + ("-dev" if dev else ""))


def is_current(stamp: Path, inputs: list[Path]) -> bool:
    """Like make: the stamp exists and is newer than every input."""
    if not stamp.exists():
        return False
    made = stamp.stat().st_mtime
    return all(p.stat().st_mtime <= made for p in inputs if p.exists())


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    full_env = None if env is None else {**os.environ, **env}
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=full_env)
    if result.returncode:
        raise SetupError(f"step failed with exit code {result.returncode}: "
                         + " ".join(str(c) for c in cmd))


def _dev_file_without_student_set(dev_file: Path, dest: Path) -> Path:
    """requirements-dev.txt minus its ``-r requirements.txt`` (for the GPU set)."""
    lines = [ln for ln in dev_file.read_text().splitlines() if not ln.startswith("-r ")]
    dest.write_text("\n".join(lines) + "\n")
    return dest


def install(venv: Path, gpu: bool = False, dev: bool = False, root: Path = ROOT) -> Path:
    """Create ``venv`` if needed and install the locks and the course package (editable).

    Idempotent: nothing is reinstalled while the stamp is newer than the lock files and
    ``pyproject.toml``. Returns the environment's Python.
    """
    check_python()
    if gpu and not sys.platform.startswith("linux"):
        raise SetupError("--gpu is for Linux with an NVIDIA GPU. On Windows use WSL2 "
                         "(TensorFlow has no native Windows GPU build); on macOS the "
                         "regular set-up already uses the CPU build, which is all TensorFlow "
                         "offers there.")
    python = venv_python(venv)
    if not python.exists():
        print(f"creating the virtual environment {venv}", flush=True)
        import venv as venv_module

        venv_module.EnvBuilder(with_pip=True).create(venv)
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check"]
    base = requirement_files(gpu=gpu, root=root)[0]
    base_stamp = stamp_path(venv, gpu=gpu)
    if not is_current(base_stamp, [base, root / "pyproject.toml"]):
        if gpu:  # the CPU-only build shares TensorFlow's files: remove it first
            run([python, "-m", "pip", "uninstall", "-y", "-q", "tensorflow-cpu"], cwd=root)
        run([*pip, "-r", base], cwd=root)
        run([*pip, "--no-deps", "--no-build-isolation", "-e", root], cwd=root)
        base_stamp.touch()
    if dev:
        dev_file = root / "requirements-dev.txt"
        dev_stamp = stamp_path(venv, gpu=gpu, dev=True)
        if not is_current(dev_stamp, [dev_file, base_stamp]):
            if gpu:
                dev_file = _dev_file_without_student_set(
                    dev_file, venv / "requirements-dev-gpu.txt")
            run([*pip, "-r", dev_file], cwd=root)
            dev_stamp.touch()
    return python


def fetch_data(python: Path, root: Path = ROOT) -> None:
    """Find (or download) both data sets with the environment's Python."""
    run([python, "-m", "utils.data"], env=QUIET_ENV, cwd=root)


def register_kernel(python: Path, venv: Path) -> None:
    stamp = venv / ".kernel"
    if stamp.exists():
        return
    run([python, "-m", "ipykernel", "install", "--user", "--name", KERNEL_NAME,
         "--display-name", KERNEL_DISPLAY, "--env", "TF_CPP_MIN_LOG_LEVEL", "3"])
    stamp.touch()


def setup(venv: Path, gpu: bool = False, dev: bool = False) -> Path:
    """``make setup``: environment, packages, data and kernel. Returns the Python."""
    python = install(venv, gpu=gpu, dev=dev)
    fetch_data(python)
    register_kernel(python, venv)
    return python


def lab_command(python: Path, extra: list[str]) -> list[str]:
    cmd = [str(python), "-m", "jupyter", "lab", f"--ServerApp.root_dir={ROOT}",
           f"--LabApp.default_url=/lab/tree/{FIRST_PAGE}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # JupyterLab refuses root unless told; containers run as root
    return cmd + extra


def test(python: Path, extra: list[str]) -> None:
    """``make test``: ruff, then pytest with the options in pyproject.toml."""
    run([python, "-m", "ruff", "check", "utils", "tests", "notebooks", "scripts", "grading",
         "conftest.py"])
    run([python, "-m", "pytest", *extra], env=QUIET_ENV)


# --------------------------------------------------------------------------- Colab
def colab(fetch: bool = True) -> str:
    """Finish the set-up on Google Colab (called by the notebooks' first cell).

    Installs, unpinned, only the run-time packages that are missing, so Colab's own
    TensorFlow, NumPy and Jupyter stay as they are; fetches both data sets into the
    per-user cache (about 40 MB, once per Colab session); prints and returns one line
    with the package version, the data folder and the device TensorFlow uses.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # Colab may preset a lower level
    missing = [dist for module, dist in RUNTIME_MODULES if importlib.util.find_spec(module) is None]
    if missing:
        print("installing what this runtime lacks:", ", ".join(missing), flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True,
                       env=dict(os.environ, PIP_ROOT_USER_ACTION="ignore",
                                PIP_DISABLE_PIP_VERSION_CHECK="1"))
        importlib.invalidate_caches()
    from importlib import metadata

    from utils import data, repro

    if fetch:
        for dataset in ("mnist", "fashion-mnist"):
            data.load_dataset(dataset)
    try:
        version = metadata.version("ae-course")
    except metadata.PackageNotFoundError:
        version = "(not installed)"
    line = (f"ae-course {version}; data in {data.download_dir()}; "
            f"device: {repro.device_summary()}")
    print(line)
    return line


# --------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m utils.setup",
        description="Set up the course (and open it, or test it) without make.")
    parser.add_argument("command", nargs="?", default="setup",
                        choices=["setup", "lab", "test", "data", "check-python"],
                        help="setup (default), lab, test, data, or check-python")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv",
                        help="virtual environment folder (default: .venv)")
    parser.add_argument("--gpu", action="store_true",
                        help="Linux + NVIDIA GPU: install requirements-gpu.txt")
    parser.add_argument("--dev", action="store_true",
                        help="also the developer tools (requirements-dev.txt)")
    parser.add_argument("extra", nargs=argparse.REMAINDER,
                        help="after --: arguments for JupyterLab (lab) or pytest (test)")
    args = parser.parse_args(argv)
    extra = args.extra[1:] if args.extra[:1] == ["--"] else args.extra
    venv = args.venv if args.venv.is_absolute() else Path.cwd() / args.venv
    try:
        if args.command == "check-python":
            check_python()
            print(f"Python {sys.version.split()[0]}: ok")
            return 0
        if args.command == "data":
            fetch_data(install(venv, gpu=args.gpu, dev=args.dev))
            return 0
        python = setup(venv, gpu=args.gpu, dev=args.dev or args.command == "test")
        if args.command == "lab":
            cmd = lab_command(python, extra)
            print("+", " ".join(cmd), flush=True)
            return subprocess.call(cmd, cwd=ROOT, env={**os.environ, **QUIET_ENV})
        if args.command == "test":
            test(python, extra)
        return 0
    except SetupError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""The course installed the ways students install it, each in a fresh virtual environment.

Slow (each test installs TensorFlow into a new environment): they run only with
``AE_INSTALL_TESTS=1`` (``make install-tests``; ``.ci/run`` sets it). Measured on the
2-core machine, package files cached, other work running: the wheel 217 s, the no-make
route 265 s, the simulated Colab 356 s (of which lessons 00 and 03 under nbval 160 s);
about 14 minutes together.

1. ``test_wheel_outside_checkout``: the wheel built from this repository, installed
   with pip in a fresh environment and used from a folder outside the checkout, runs
   lesson 00 and assignment A1's checkers with ``AE_DATA_DIR`` set, and adds no file to
   ``site-packages`` beyond the package itself.
2. ``test_no_make_route``: exactly the README's no-make steps (``python -m utils.setup``
   and ``python -m utils.setup test``) on a copy of the repository.
3. ``test_simulated_colab``: a fresh environment that holds the regular ``tensorflow``
   wheel (not ``-cpu``) and the rest of Colab's usual stack; the stamped set-up cell
   installs the course from a local git URL, and lessons 00 and 03 run under nbval with
   no TensorFlow log line in any output and no package of the runtime replaced.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("AE_DATA_DIR", "../shared/data"))
DATA = DATA if DATA.is_absolute() else (ROOT / DATA).resolve()

pytestmark = [
    pytest.mark.skipif(os.environ.get("AE_INSTALL_TESTS") != "1",
                       reason="slow install tests: set AE_INSTALL_TESTS=1 (make install-tests)"),
    pytest.mark.skipif(not (DATA / "mnist").is_dir(), reason=f"no data at {DATA}"),
    pytest.mark.skipif(sys.platform == "win32", reason="the Linux steps; Windows is documented"),
]

BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)
TIMES: dict[str, float] = {}


def _run(cmd, cwd, env=None, timeout=900, check=True):
    start = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    took = time.perf_counter() - start
    print(f"[{took:6.1f} s] {' '.join(str(c) for c in cmd)[:160]}")
    if check and proc.returncode:
        raise AssertionError(f"exit {proc.returncode}: {cmd}\n--- stdout\n{proc.stdout[-6000:]}"
                             f"\n--- stderr\n{proc.stderr[-6000:]}")
    return proc


def _clean_env(**extra) -> dict[str, str]:
    """The caller's environment without the course's variables or this venv's paths."""
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "AE_DATA_DIR", "KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL",
            "COLAB_RELEASE_TAG", "AE_COURSE_URL", "PYTEST_ADDOPTS"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p != venv_bin)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _new_venv(path: Path) -> Path:
    _run([BASE_PYTHON, "-m", "venv", path], cwd=path.parent)
    return path / "bin" / "python"


def _site_files(python: Path) -> set[str]:
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                cwd=python.parent).stdout.strip()
    root = Path(site)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _copy_tree(dest: Path) -> Path:
    """The working tree (tracked and untracked-but-not-ignored files), without outputs."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def _execute(python: Path, notebook: Path, cwd: Path, env: dict[str, str]) -> str:
    """Run a notebook with nbclient inside the environment; return its text outputs."""
    code = (
        "import sys, nbformat, nbclient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3').execute(cwd=sys.argv[2])\n"
        "for c in nb.cells:\n"
        "    for o in c.get('outputs', []):\n"
        "        print(o.get('text', '') or o.get('data', {}).get('text/plain', ''))\n")
    return _run([python, "-c", code, notebook, cwd], cwd=cwd, env=env).stdout


# --------------------------------------------------------------------------- 1. the wheel
def test_wheel_outside_checkout(tmp_path):
    start = time.perf_counter()
    src = tmp_path / "src"
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "utils", src / "utils",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", dist, src], cwd=tmp_path)
    wheel = next(dist.glob("ae_course-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    for module in ("utils/__init__.py", "utils/data.py", "utils/setup.py", "utils/repro.py",
                   "utils/checkers/__init__.py", "utils/checkers/a1.py", "utils/grading.py"):
        assert module in names, f"{module} is missing from the wheel"
    assert not [n for n in names if n.endswith((".gz", "-ubyte"))], "no data in the wheel"

    python = _new_venv(tmp_path / "venv")
    before_install = _site_files(python)
    # The wheel and a notebook runner, at the lock's versions (-c), as a student would.
    _run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel,
          "ipykernel", "nbclient", "-c", ROOT / "requirements.txt"], cwd=tmp_path)
    installed = _site_files(python)
    assert "utils/checkers/a1.py" in installed - before_install
    meta = _run([python, "-m", "pip", "show", "ae-course"], cwd=tmp_path).stdout
    for dep in ("tensorflow-cpu", "keras", "numpy", "scikit-learn", "pandas"):
        assert dep in meta, f"{dep} is not declared"

    work = tmp_path / "student"  # outside the checkout: no utils/ here
    work.mkdir()
    for rel in ("notebooks/00_setup_and_data.ipynb",
                "notebooks/solutions/a1_likelihoods_and_losses.ipynb"):
        shutil.copy(ROOT / rel, work / Path(rel).name)
    cache = tmp_path / "cache"
    env = _clean_env(AE_DATA_DIR=DATA, XDG_CACHE_HOME=cache, JUPYTER_DATA_DIR=tmp_path / "jd")
    where = _run([python, "-c", "import utils, utils.data as d; print(utils.__file__); "
                  "print(d.REPO_ROOT); print(d.default_data_dir())"], cwd=work, env=env).stdout
    assert "site-packages" in where.splitlines()[0] and where.splitlines()[1] == "None"
    assert where.splitlines()[2] == str(cache / "ae-course" / "data")

    out00 = _execute(python, work / "00_setup_and_data.ipynb", work, env)
    assert "tensorflow: 2.21.0" in out00 and "devices: CPU" in out00
    out_a1 = _execute(python, work / "a1_likelihoods_and_losses.ipynb", work, env)
    assert out_a1.count("PASSED") >= 3 and "FAILED" not in out_a1, out_a1[-3000:]

    added = {f for f in _site_files(python) - installed if not f.endswith(".pyc")}
    assert not added, f"files written into site-packages: {sorted(added)[:10]}"
    assert not cache.exists() or not any(cache.rglob("*.gz")), "AE_DATA_DIR was not used"
    TIMES["wheel"] = time.perf_counter() - start
    print(f"wheel install test: {TIMES['wheel']:.0f} s")


# --------------------------------------------------------------------------- 2. no make
def test_no_make_route(tmp_path):
    """README, 'No make': python -m utils.setup, then python -m utils.setup test."""
    start = time.perf_counter()
    repo = _copy_tree(tmp_path / "repo")
    env = _clean_env(AE_DATA_DIR=DATA, JUPYTER_DATA_DIR=tmp_path / "jupyter")
    # Step 1 of the README's no-make route, with the system's Python.
    out = _run([BASE_PYTHON, "-m", "utils.setup"], cwd=repo, env=env).stdout
    assert "checksums ok" in out
    python = repo / ".venv" / "bin" / "python"
    assert (repo / ".venv" / ".installed").exists() and (repo / ".venv" / ".kernel").exists()
    assert (tmp_path / "jupyter" / "kernels" / "ae-course" / "kernel.json").exists()
    freeze = _run([python, "-m", "pip", "freeze"], cwd=repo, env=env).stdout.lower()
    freeze = freeze.replace("_", "-")  # pip writes tensorflow_cpu
    assert "tensorflow-cpu==2.21.0" in freeze and "pytest==" not in freeze, (
        "the student set has no developer tools")
    # JupyterLab is there (step 2 opens it; a browser cannot be tested here).
    assert _run([python, "-m", "jupyter", "lab", "--version"], cwd=repo, env=env).stdout.strip()
    # Idempotent: a second run reinstalls nothing.
    again = _run([BASE_PYTHON, "-m", "utils.setup"], cwd=repo, env=env).stdout
    assert "pip install" not in again
    # The test command, on a few fast tests (the full suite is what CI runs anyway).
    out = _run([BASE_PYTHON, "-m", "utils.setup", "test", "--", "tests/test_data.py",
                "tests/test_setup.py", "-q"], cwd=repo, env=env).stdout
    assert " passed" in out and "failed" not in out
    assert (repo / ".venv" / ".installed-dev").exists()
    TIMES["no-make"] = time.perf_counter() - start
    print(f"no-make route test: {TIMES['no-make']:.0f} s")


def test_python_too_old_is_named_up_front(tmp_path):
    """On Python 3.10 the set-up stops at once and names the version needed."""
    candidates = [shutil.which("python3.10"), *map(str, sorted(
        Path.home().glob(".pyenv/versions/3.10*/bin/python3.10")))]
    old = next((c for c in candidates if c and subprocess.run(
        [c, "-c", "print(1)"], capture_output=True).returncode == 0), None)
    if not old:
        pytest.skip("no Python 3.10 here")
    out = _run([old, "-m", "utils.setup"], cwd=ROOT, env=_clean_env(), check=False)
    assert out.returncode == 1 and "needs Python 3.11 or newer" in out.stderr


# --------------------------------------------------------------------------- 3. Colab
COLAB_STACK = [  # Colab's usual packages; TensorFlow is the regular (GPU-capable) wheel
    "tensorflow==2.21.0", "keras", "numpy", "scipy", "scikit-learn", "matplotlib", "pandas",
    "ipykernel", "jupyter_client", "jupyter_server", "notebook_shim", "nbval", "pytest",
]
NOISE_PLUGIN = '''
import re
import pytest

NOISE = re.compile(r"^[IWEF]\\d{4} |absl::InitializeLog|oneDNN|cuda_|tensorflow/core|"
                   r"use_unbounded_threadpool|cpu_feature_guard", re.M)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    for out in getattr(item, "test_outputs", None) or []:
        text = out.get("text", "") if out.get("output_type") == "stream" else ""
        found = NOISE.search(text)
        if found:
            raise AssertionError(f"TensorFlow log noise in the output: {text[:300]!r}")
        if "ae-course " in text:
            print("COLAB CELL:", text.strip())
'''


def test_simulated_colab(tmp_path):
    start = time.perf_counter()
    # The course as Colab gets it: a git repository (here local) with this working tree.
    repo = _copy_tree(tmp_path / "course")
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost"]
    _run([*git, "init", "-q", "-b", "main"], cwd=repo)
    _run([*git, "add", "-A"], cwd=repo)
    _run([*git, "commit", "-q", "-m", "snapshot"], cwd=repo)

    python = _new_venv(tmp_path / "colab")
    # Colab's pip is recent; the venv's bundled pip 23 rejects `name @ git+file:///...`.
    _run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-U", "pip"],
         cwd=tmp_path)
    _run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *COLAB_STACK,
          "-c", ROOT / "requirements.txt"], cwd=tmp_path, timeout=1200)
    before = _run([python, "-m", "pip", "freeze"], cwd=tmp_path).stdout.splitlines()
    assert any(line.startswith("tensorflow==2.21.0") for line in before)
    assert not any(line.startswith(("tensorflow-cpu", "ae-course")) for line in before)

    # Lessons 00 and 03, stamped, in a folder that is not a checkout (like /content).
    work = tmp_path / "content"
    work.mkdir()
    lessons = ["00_setup_and_data.ipynb", "03_basic_autoencoder.ipynb"]
    for name in lessons:
        shutil.copy(ROOT / "notebooks" / name, work / name)
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import stamp_colab
    finally:
        sys.path.pop(0)
    url = stamp_colab.repository_url()
    for name in lessons:  # stamp the copies (outside the tree: badge path by hand)
        import nbformat

        nb = nbformat.read(work / name, as_version=4)
        stamp_colab.stamp_notebook(nb, stamp_colab.badge_line(
            stamp_colab.github_slug(url), f"notebooks/{name}"),
            stamp_colab.cell_source(url), name)
        (work / name).write_text(stamp_colab.render(nb), encoding="utf-8")
    (work / "conftest.py").write_text(NOISE_PLUGIN)
    (work / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    env = _clean_env(COLAB_RELEASE_TAG="simulated", AE_COURSE_URL=f"git+file://{repo}@main",
                     AE_DATA_DIR=DATA, XDG_CACHE_HOME=tmp_path / "cache", HOME=tmp_path / "home")
    (tmp_path / "home").mkdir()
    out = _run([python, "-m", "pytest", "-s", "-q", "--nbval-lax", "--nbval-current-env",
                "--nbval-cell-timeout=600", "--nbval-sanitize-with",
                ROOT / "tests" / "nbval_sanitize.cfg", *lessons], cwd=work, env=env,
               timeout=1500).stdout
    assert " passed" in out and "failed" not in out, out[-4000:]
    print("\n".join(ln for ln in out.splitlines() if "COLAB CELL" in ln or " passed" in ln))
    assert "COLAB CELL: ae-course 0.1.0" in out and "device: CPU" in out, out[-4000:]

    after = _run([python, "-m", "pip", "freeze"], cwd=tmp_path).stdout.splitlines()
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    assert removed == [], f"the set-up cell replaced Colab's packages: {removed}"
    assert [a.split(" @ ")[0].split("==")[0] for a in added] == ["ae-course"], added
    TIMES["colab"] = time.perf_counter() - start
    print(f"simulated Colab test: {TIMES['colab']:.0f} s")

"""utils.setup (the no-make route), the device line and the quiet TensorFlow import.

Fast checks only; tests/test_install.py builds real environments.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import utils
from utils import repro
from utils import setup as course_setup

ROOT = Path(__file__).resolve().parent.parent


def test_python_version_checked_up_front():
    course_setup.check_python((3, 11, 0))
    course_setup.check_python((3, 13, 1))
    with pytest.raises(course_setup.SetupError, match=r"needs Python 3\.11 or newer; this is "
                                                      r"Python 3\.10\.4"):
        course_setup.check_python((3, 10, 4))


def test_setup_module_needs_only_the_standard_library():
    """`python -m utils.setup` runs before anything is installed: no third-party import."""
    code = ("import sys, utils.setup; "
            "bad = [m for m in ('numpy', 'tensorflow', 'keras', 'matplotlib') "
            "if m in sys.modules]; "
            "print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_check_python_command():
    out = subprocess.run([sys.executable, "-m", "utils.setup", "check-python"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "ok" in out.stdout


def test_lock_files_by_role(tmp_path):
    assert course_setup.requirement_files() == [ROOT / "requirements.txt"]
    assert course_setup.requirement_files(gpu=True, dev=True) == [
        ROOT / "requirements-gpu.txt", ROOT / "requirements-dev.txt"]
    for path in course_setup.requirement_files(gpu=True, dev=True) + [ROOT / "requirements.txt"]:
        assert path.is_file(), path
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert dev.splitlines()[3] == "-r requirements.txt"
    for tool in ("pytest==", "nbval==", "ruff==", "coverage=="):
        assert tool in dev, f"{tool} belongs in requirements-dev.txt"
        assert tool not in (ROOT / "requirements.txt").read_text(), (
            f"{tool} is a developer tool: keep it out of the student lock")
    gpu = (ROOT / "requirements-gpu.txt").read_text()
    assert "tensorflow==" in gpu and "tensorflow-cpu" not in gpu and "nvidia-cudnn" in gpu
    stripped = course_setup._dev_file_without_student_set(ROOT / "requirements-dev.txt",
                                                           tmp_path / "d.txt")
    assert "-r requirements.txt" not in stripped.read_text()


def test_student_and_gpu_locks_agree_on_shared_pins():
    def pins(name):
        out = {}
        for line in (ROOT / name).read_text().splitlines():
            if line and not line.startswith(("#", "-")) and ";" not in line:
                pkg, ver = line.split("==")
                out[pkg.split("[")[0].lower()] = ver
        return out

    student, gpu = pins("requirements.txt"), pins("requirements-gpu.txt")
    for pkg in ("keras", "numpy", "scipy", "scikit-learn", "matplotlib", "pandas", "jupyterlab"):
        assert student[pkg] == gpu[pkg], pkg
    assert gpu["tensorflow"] == "2.21.0"


def test_stamps_like_make(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("x\n")
    stamp = course_setup.stamp_path(tmp_path, gpu=False)
    assert stamp.name == ".installed"
    assert course_setup.stamp_path(tmp_path, gpu=True, dev=True).name == ".installed-gpu-dev"
    assert not course_setup.is_current(stamp, [req])
    stamp.touch()
    os.utime(req, (stamp.stat().st_mtime - 10,) * 2)
    assert course_setup.is_current(stamp, [req])
    os.utime(req, (stamp.stat().st_mtime + 10,) * 2)
    assert not course_setup.is_current(stamp, [req]), "a newer lock file reinstalls"


def test_venv_python_path_per_os(monkeypatch):
    assert course_setup.venv_python(Path("v")) in (Path("v/bin/python"),
                                                   Path("v/Scripts/python.exe"))


def test_gpu_refused_off_linux(monkeypatch, tmp_path):
    monkeypatch.setattr(course_setup.sys, "platform", "win32")
    with pytest.raises(course_setup.SetupError, match="WSL2"):
        course_setup.install(tmp_path / "venv", gpu=True)
    assert not (tmp_path / "venv").exists()


def test_lab_command_opens_the_first_page():
    cmd = course_setup.lab_command(Path("py"), ["--no-browser"])
    assert cmd[1:4] == ["-m", "jupyter", "lab"] and cmd[-1] == "--no-browser"
    assert any(c.endswith("notebooks/00_setup_and_data.ipynb") for c in cmd)
    assert (ROOT / course_setup.FIRST_PAGE).is_file()


# --------------------------------------------------------------------------- devices
def test_device_summary_cpu_and_gpu_hint(monkeypatch):
    monkeypatch.setattr(repro, "nvidia_gpu_present", lambda: False)
    assert repro.device_summary() == "CPU", "this machine (and CI) has no GPU"
    monkeypatch.setattr(repro, "nvidia_gpu_present", lambda: True)
    hint = repro.device_summary()
    assert hint.startswith("CPU (an NVIDIA GPU is present") and "--gpu" in hint
    assert repro.versions()["devices"] == hint


def test_device_summary_names_gpu_and_determinism(monkeypatch):
    import tensorflow as tf

    class Fake:
        name = "/physical_device:GPU:0"

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [Fake()])
    monkeypatch.setattr(tf.config.experimental, "get_device_details",
                        lambda d: {"device_name": "NVIDIA Test"})
    monkeypatch.delenv(repro.DETERMINISM_ENV_VAR, raising=False)
    assert repro.device_summary() == ("CPU, GPU (NVIDIA Test; deterministic ops; "
                                      "AE_DETERMINISTIC=0 for speed)")
    monkeypatch.setenv(repro.DETERMINISM_ENV_VAR, "0")
    assert "non-deterministic ops" in repro.device_summary()


def test_tensorflow_log_level_default():
    code = "import os, utils; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.strip() == "3"
    assert callable(utils._import_tensorflow_quietly)


def test_no_tensorflow_log_lines_in_a_notebook(tmp_path):
    """A notebook that imports utils then TensorFlow shows no C++ log line (~10 s)."""
    import nbclient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from utils import repro\nimport tensorflow as tf\nprint(repro.device_summary())\n"
        "print(int(tf.reduce_sum(tf.ones(3))))")])
    env_before = os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as on Colab: nothing set
    try:
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute(
            cwd=str(tmp_path))
    finally:
        if env_before is not None:
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = env_before
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs)
    assert [o.get("name") for o in outputs] == ["stdout"], f"noise in the output: {text!r}"
    assert text.endswith("3\n")


# --------------------------------------------------------------------------- Colab
def test_colab_installs_only_what_is_missing(monkeypatch, capsys):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")  # restored afterwards
    real_find_spec = course_setup.importlib.util.find_spec
    monkeypatch.setattr(course_setup.importlib.util, "find_spec",
                        lambda name: None if name == "pandas" else real_find_spec(name))
    calls = []
    monkeypatch.setattr(course_setup.subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    line = course_setup.colab(fetch=False)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", "pandas"]], (
        "only the missing package, never an upgrade of Colab's own")
    assert line.startswith("ae-course ") and "data in " in line and line.endswith("device: CPU")
    assert capsys.readouterr().out.strip().endswith(line)

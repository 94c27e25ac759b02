# Two commands (see README.md):
#   make lab    set up, then open the course in JupyterLab
#   make test   set up (with the developer tools), then run ruff, the unit tests and
#               every notebook under nbval
# Both are idempotent: packages are reinstalled only when a lock file or pyproject.toml
# changes. No make (Windows)? `python -m utils.setup [lab|test]` runs the same steps.
# GPU=1 (Linux + NVIDIA GPU): requirements-gpu.txt instead of requirements.txt.

PYTHON ?= python3
VENV   ?= .venv
ifeq ($(OS),Windows_NT)
BIN    := $(VENV)/Scripts
else
BIN    := $(VENV)/bin
endif
GPU    ?=
REQ    := $(if $(GPU),requirements-gpu.txt,requirements.txt)
# The same stamp names as utils/setup.py: .installed, .installed-dev, .installed-gpu...
STAMP  := $(VENV)/.installed$(if $(GPU),-gpu,)
DEVSTAMP := $(STAMP)-dev
KERNEL := $(VENV)/.kernel

# Notebook runs: Keras on TensorFlow, TensorFlow's C++ log silenced, per-cell timeout.
# The pytest and nbval options live in pyproject.toml, so a bare `pytest` runs the same.
export KERAS_BACKEND := tensorflow
export TF_CPP_MIN_LOG_LEVEL := 3
CELL_TIMEOUT ?= 600
PYTEST := $(BIN)/python -m pytest --nbval-cell-timeout=$(CELL_TIMEOUT)

.PHONY: setup dev data kernel lab test lint unit notebooks install-tests execute seeds \
        readme lock clean

# The Python version is checked before anything is created (3.11 or newer).
$(BIN)/python:
	$(PYTHON) -m utils.setup check-python
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(REQ) pyproject.toml | $(BIN)/python
	$(if $(GPU),$(BIN)/python -m pip uninstall -y -q tensorflow-cpu,)
	$(BIN)/python -m pip install --disable-pip-version-check -r $(REQ)
	$(BIN)/python -m pip install --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Developer tools (pytest, nbval, ruff, coverage) on top of the student set.
$(DEVSTAMP): requirements-dev.txt $(STAMP)
	grep -v '^-r ' requirements-dev.txt > $(VENV)/requirements-dev-only.txt
	$(BIN)/python -m pip install --disable-pip-version-check -r $(VENV)/requirements-dev-only.txt
	touch $(DEVSTAMP)

$(KERNEL): $(STAMP)
	$(BIN)/python -m ipykernel install --user --name ae-course \
	    --display-name "Python (autoencoder course)" --env TF_CPP_MIN_LOG_LEVEL 3
	touch $(KERNEL)

## setup: virtual environment, the student's pinned packages, data, Jupyter kernel
setup: $(STAMP) data $(KERNEL)

## dev: setup plus the developer tools (requirements-dev.txt)
dev: setup $(DEVSTAMP)

## data: find the data sets ($$AE_DATA_DIR, then data/) or download them
data: $(STAMP)
	$(BIN)/python -m utils.data

# JupyterLab refuses to run as root unless told; containers often run as root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

## lab: the first README command (LAB_ARGS="--no-browser --port 8899" to pass options)
lab: setup
	$(BIN)/python -m jupyter lab $(LAB_ARGS) --ServerApp.root_dir=. \
	    --LabApp.default_url=/lab/tree/notebooks/00_setup_and_data.ipynb

lint: $(DEVSTAMP)
	$(BIN)/python -m ruff check utils tests notebooks scripts grading conftest.py

## test: the second README command (what .ci/run runs, with AE_INSTALL_TESTS=1)
test: dev lint
	$(PYTEST)

unit: $(DEVSTAMP)
	$(PYTEST) tests

## notebooks: run only the notebooks under nbval, e.g. make notebooks NB=notebooks/03_basic_autoencoder.ipynb
NB ?= notebooks
notebooks: dev
	$(PYTEST) $(NB)

## install-tests: the slow install tests: the wheel in a fresh venv, the no-make route, the simulated Colab
install-tests: dev
	AE_INSTALL_TESTS=1 $(PYTEST) tests/test_install.py

## execute: re-execute notebooks (NBS="a.ipynb b.ipynb", default all lessons and solutions) serially, each on a fresh kernel, outputs written back
##          (what committed notebooks come from; run it on an otherwise idle machine)
execute: setup
	$(BIN)/python scripts/run_notebooks.py execute $(NBS)

## seeds: the seed sweep: every lesson and solution under several seeds -> results/
SEEDS ?= 1 2 3
seeds: setup
	$(BIN)/python scripts/run_notebooks.py sweep $(NBS) --seeds $(SEEDS)

## readme: regenerate the README's tables from the committed notebooks' recorded results
readme: $(STAMP)
	$(BIN)/python scripts/readme_tables.py

## lock: regenerate requirements*.txt from requirements*.in (needs the package index)
lock:
	$(PYTHON) scripts/lock.py

clean:
	rm -rf $(VENV) build

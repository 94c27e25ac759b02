# Two commands (see README.md):
#   make lab    set up, then open the course in JupyterLab
#   make test   set up, then run ruff, the unit tests and every notebook under nbval
# Both are idempotent: the virtual environment is rebuilt only when requirements.txt
# or pyproject.toml change.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KERNEL := $(VENV)/.kernel

# Notebook runs: Keras on TensorFlow, TensorFlow's C++ log silenced, per-cell timeout.
export KERAS_BACKEND := tensorflow
export TF_CPP_MIN_LOG_LEVEL := 3
CELL_TIMEOUT ?= 600
NBVAL := --nbval-lax --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) \
         --nbval-sanitize-with tests/nbval_sanitize.cfg
# Student notebooks stop at their stubs by design; tests/test_assignments.py covers them.
NOTEBOOKS := notebooks --ignore=notebooks/assignments

.PHONY: setup data kernel lab test lint unit notebooks execute seeds readme clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(KERNEL): $(STAMP)
	$(BIN)/python -m ipykernel install --user --name ae-course \
	    --display-name "Python (autoencoder course)" --env TF_CPP_MIN_LOG_LEVEL 3
	touch $(KERNEL)

## setup: virtual environment, requirements, data, Jupyter kernel
setup: $(STAMP) data $(KERNEL)

## data: find the data sets ($$AE_DATA_DIR, then data/) or download them into data/
data: $(STAMP)
	$(BIN)/python -m utils.data

# JupyterLab refuses to run as root unless told; containers often run as root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

## lab: the first README command (LAB_ARGS="--no-browser --port 8899" to pass options)
lab: setup
	$(BIN)/jupyter lab $(LAB_ARGS) --ServerApp.root_dir=. \
	    --LabApp.default_url=/lab/tree/notebooks/00_setup_and_data.ipynb

lint: $(STAMP)
	$(BIN)/ruff check utils tests notebooks scripts

## test: the second README command (what .ci/run runs)
test: setup lint
	$(BIN)/python -m pytest -p tests.notebook_timing tests $(NOTEBOOKS) $(NBVAL)

unit: $(STAMP)
	$(BIN)/python -m pytest tests

## notebooks: run only the notebooks under nbval, e.g. make notebooks NB=notebooks/03_basic_autoencoder.ipynb
NB ?= $(NOTEBOOKS)
notebooks: setup
	$(BIN)/python -m pytest -p tests.notebook_timing $(NB) $(NBVAL)

## execute: re-execute notebooks (NBS="a.ipynb b.ipynb", default all lessons and solutions) serially, each on a fresh kernel, outputs written back
##          (what committed notebooks come from; run it on an otherwise idle machine)
execute: setup
	$(BIN)/python scripts/run_notebooks.py execute $(NBS)

## seeds: the seed sweep: every lesson and solution under several seeds -> results/
SEEDS ?= 1 2 3
seeds: setup
	$(BIN)/python scripts/run_notebooks.py sweep --seeds $(SEEDS) $(NBS)

## readme: regenerate the README's tables from the committed notebooks' recorded results
readme: $(STAMP)
	$(BIN)/python scripts/readme_tables.py

clean:
	rm -rf $(VENV) build

# mixup-bench: the common tasks. `make run` is the default experiment on CIFAR-10.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= $(or $(MIXUP_BENCH_DATA),data)
EXP ?= results/default

.PHONY: install run run-label-noise plot bench status test test-fast lint clean

$(BIN)/mixup-bench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/mixup-bench  ## virtual environment with the project and its dev tools

run: install  ## the default preset: baseline + MixUp, 3 paired seeds (mixup-bench presets shows it)
	$(BIN)/mixup-bench run --data-dir $(DATA)

run-label-noise: install  ## the label-noise preset: 40% wrong labels, baseline + MixUp, 3 paired seeds
	$(BIN)/mixup-bench run --preset label-noise --data-dir $(DATA)

plot: install  ## figures + summary of the latest experiment
	$(BIN)/mixup-bench plot $(EXP)

bench: install  ## throughput: this project's pipeline vs a naive reference
	$(BIN)/mixup-bench bench

status: install
	$(BIN)/mixup-bench status $(EXP)

test: install  ## the test suite (uses real CIFAR-10 when MIXUP_BENCH_CIFAR_DIR is set)
	$(BIN)/python -m pytest -q -n 2  # two workers (pytest-xdist): the suite in about 6 min on 2 cores

test-fast: install  ## the suite without the slow end-to-end tests (subprocesses, kill/resume, --jobs, Ray, real data)
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check mixup_bench tests scripts
	$(BIN)/ruff format --check mixup_bench tests scripts

clean:  ## build and cache files; never results or data
	rm -rf .pytest_cache .ruff_cache *.egg-info build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

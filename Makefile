# One-command set-up: each target creates the virtual environment and installs the
# pinned dependencies (CPU torch) on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ccpapers-installed

.PHONY: demo test test-slow lint format bench-cpu clean

$(STAMP): pyproject.toml requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c requirements/lock.txt -e '.[bench,dev]'
	touch $(STAMP)

demo: $(STAMP)  ## the whole pipeline on the bundled sample: no network, no keys
	$(BIN)/ccpapers demo --work ccpapers-work/demo

test: $(STAMP)  ## lint + the default test suite
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/python -m pytest -q -m "not slow and not gpu"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests scripts benchmarks
	$(BIN)/ruff check --fix src tests scripts benchmarks

clean:
	rm -rf $(VENV) ccpapers-work

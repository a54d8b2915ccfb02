# notes-qa: `make run` sets up and starts the app; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
# llama-cpp-python compiles from source, for the SIMD extensions this CPU has (never AMX,
# see the script); set CMAKE_ARGS yourself to override.
export CMAKE_ARGS ?= $(shell bash scripts/llama_cmake_args.sh)
export ANONYMIZED_TELEMETRY = False
export GRADIO_ANALYTICS_ENABLED = False
export HF_HUB_OFFLINE = 1

.PHONY: run test test-fast test-integration test-e2e check lint ingest eval bench clean

# The package is installed editable (with its console script `notes-qa`), so no
# command needs PYTHONPATH.
$(VENV)/.runtime: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(VENV)/bin/notes-qa serve

# Lint, layers and types: fast, no models.
check: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# Everything: what .ci/run calls.
test: check
	bash scripts/install_browser.sh
	$(PY) -m pytest tests/unit tests/integration tests/e2e

# The unit lane: no models, no servers.
test-fast: check
	$(PY) -m pytest tests/unit

test-integration: $(VENV)/.dev
	$(PY) -m pytest tests/integration

test-e2e: $(VENV)/.dev
	bash scripts/install_browser.sh
	$(PY) -m pytest tests/e2e

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

ingest: $(VENV)/.runtime
	$(VENV)/bin/notes-qa ingest

eval: $(VENV)/.runtime
	$(VENV)/bin/notes-qa eval tests/data/dev_qa.jsonl --no-llm --out /dev/null

bench: $(VENV)/.dev
	$(VENV)/bin/notes-qa bench

clean:
	rm -rf vectorstore .pytest_cache .mypy_cache

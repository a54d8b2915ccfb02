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

.PHONY: run test lint ingest eval bench clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) app.py

test: $(VENV)/.dev
	bash scripts/install_browser.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

ingest: $(VENV)/.runtime
	$(PY) -m rag.ingest

eval: $(VENV)/.runtime
	$(PY) -m rag.eval tests/data/dev_qa.jsonl --no-llm --out /dev/null

bench: $(VENV)/.dev
	$(PY) -m rag.bench

clean:
	rm -rf vectorstore .pytest_cache

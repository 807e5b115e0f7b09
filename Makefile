# Corral: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA_DIR ?= ./corral-data

.PHONY: install run test lint bench clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

run: install
	$(BIN)/corral serve --data-dir $(DATA_DIR) $(SERVE_ARGS)

# Debian packages the end-to-end tests and the benchmark drive (mosquitto clients and broker).
system-deps:
	bash scripts/system-deps.sh

test: install system-deps
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check corral tests bench
	$(BIN)/ruff format --check corral tests bench
	$(BIN)/mypy

bench: install system-deps
	$(BIN)/python bench/broker.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

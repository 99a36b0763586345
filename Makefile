# The few verbs people type. `make help` lists them.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: help setup test lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(BIN)/streamclust: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null
	$(BIN)/pip install -e '.[dev]'
	@touch $@

setup: $(BIN)/streamclust ## create .venv and install streamclust with its dev tools

test: setup ## run the whole test suite (starts the local Kafka broker itself)
	$(BIN)/pytest

lint: setup ## ruff and mypy
	$(BIN)/ruff check streamclust tests benchmarks
	$(BIN)/ruff format --check streamclust tests benchmarks
	$(BIN)/mypy

bench: setup ## core engine benchmark (prints medians, writes out/bench-core.json)
	$(BIN)/streamclust bench core

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache out

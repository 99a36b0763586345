# The few verbs people type. `make help` lists them.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: help setup demo test lint bench clean

# make demo DEMO_PORT=9192 DEMO_ARGS="--rate 300 --limit 5000": another broker port, a shorter replay
DEMO_PORT ?= 9092
DEMO_CONTROLLER_PORT ?=
DEMO_ARGS ?=

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(BIN)/streamclust: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null
	$(BIN)/pip install -e '.[dev]'
	$(BIN)/streamclust config prepare
	@touch $@

setup: $(BIN)/streamclust ## create .venv, install streamclust with its dev tools, distil the static model

demo: setup ## replay Banking77 through a local Kafka with a live view; writes out/demo/report.html
	@deploy/kafka/with-local-broker --port $(DEMO_PORT) $(if $(DEMO_CONTROLLER_PORT),--controller-port $(DEMO_CONTROLLER_PORT)) -- \
	    $(BIN)/streamclust demo --bootstrap 127.0.0.1:$(DEMO_PORT) $(DEMO_ARGS)

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

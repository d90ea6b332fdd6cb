# Loyalty: `make run` for a working demo, `make test` for the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install run serve db demo test test-sqlite test-postgres test-pgbouncer services lint bench bench-scale lock clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	@if [ -f package.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install pinned dependencies

db: install ## Migrate the database (SQLite under var/ unless LOYALTY_DATABASE_URL is set)
	$(BIN)/loyalty db upgrade

demo: db ## Seed the demo program and print a demo API key
	$(BIN)/loyalty demo

run: install ## Migrate, seed a demo and run every process on http://$(HOST):$(PORT)
	$(BIN)/loyalty run --host $(HOST) --port $(PORT)

serve: db ## Serve the web app only
	$(BIN)/loyalty serve --host $(HOST) --port $(PORT)

services: ## Start PostgreSQL, Redis and PgBouncer (for the pgbouncer tests) when they are not running
	./.ci/services --browser

test: install db services ## The whole suite, on SQLite, on PostgreSQL, and the `pgbouncer` tests through PgBouncer
	$(BIN)/loyalty demo
	LOYALTY_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS)
	LOYALTY_TEST_DB=postgres $(BIN)/pytest $(PYTEST_ARGS)
	./.ci/pgbouncer
	LOYALTY_TEST_DB=pgbouncer $(BIN)/pytest -m pgbouncer $(PYTEST_ARGS)

test-sqlite: install ## The suite on SQLite only
	LOYALTY_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install services ## The suite on PostgreSQL only
	LOYALTY_TEST_DB=postgres $(BIN)/pytest $(PYTEST_ARGS)

test-pgbouncer: install services ## The tests marked `pgbouncer`, through PgBouncer in transaction mode
	./.ci/pgbouncer
	LOYALTY_TEST_DB=pgbouncer $(BIN)/pytest -m pgbouncer $(PYTEST_ARGS)

lint: install ## ruff check, ruff format --check and mypy strict on every package
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench: install services ## Benchmarks; figures printed and written to bench/results/
	@for b in $$(ls bench/*.py | grep -vE '/(common|report|scale)\.py$$'); do echo "== $$b"; $(BIN)/python $$b $$( [ $$b = bench/pos.py ] && echo --profile ) || exit 1; done
	$(BIN)/python bench/report.py

bench-scale: install services ## The 10M-member scale benchmark (hours on 2 cores; --members 200000 for a quick look)
	$(BIN)/python bench/scale.py

lock: ## Re-pin dependencies into requirements.lock
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean: ## Remove the venv and local data
	rm -rf $(VENV) var

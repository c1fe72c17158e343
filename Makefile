# The two commands: `make serve` runs the service, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
WORKER_PROCESSES ?= 2
WORKER_THREADS ?= 4

.PHONY: setup system serve demo test lint worker migrate sweep bench bench-import bench-calculate bench-scan bench-render bench-render-batch bench-hostile create-admin clean

setup: system $(STAMP)

system:
	@./scripts/setup-system.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

serve: setup
	$(BIN)/python -m app serve

test: setup lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

worker: setup
	$(BIN)/python -m app worker --processes $(WORKER_PROCESSES) --threads $(WORKER_THREADS)

migrate: setup
	$(BIN)/python -m app migrate

sweep: setup
	$(BIN)/python -m app sweep

bench: setup
	$(BIN)/python bench/api.py
	$(BIN)/python bench/import_outcomes.py

bench-import: setup
	$(BIN)/python bench/import_outcomes.py

# SQLite in this process (the embedded default); PostgreSQL on two worker processes.
bench-calculate: setup
	$(BIN)/python bench/calculate.py --engines sqlite
	$(BIN)/python bench/calculate.py --engines postgresql --pure-rows 0 --workers 2

bench-scan: setup
	$(BIN)/python bench/scan.py

bench-render: setup
	$(BIN)/python bench/render.py --notices 1000 --summary-lines 10000 --end-to-end 10000

# A batch's notices through PostgreSQL, Redis and 1 then 2 Dramatiq worker processes.
bench-render-batch: setup
	$(BIN)/python bench/render_batch.py

# Hostile files through every upload route of a real server (answer, seconds, RSS growth).
bench-hostile: setup
	$(BIN)/python bench/hostile_files.py

create-admin: setup
	$(BIN)/python -m app create-admin --username $(USERNAME)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

# The whole path on a fresh embedded database under var/demo (see README).
demo: setup
	rm -rf var/demo
	env -u DATABASE_URL -u BROKER_URL DATA_DIR=var/demo $(BIN)/python -m app demo

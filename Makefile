# Cakupan: `make run` (from nothing to coverage marts) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
# The suite's processes (pytest-xdist), each with its own warehouse: one test waits on Airflow, dbt or a
# server while the other computes (docs/decisions.md, change 21).
TEST_PROCESSES ?= 2

.PHONY: install run test lint bench lock clean stop

$(VENV)/.installed: requirements.lock requirements-test.lock pyproject.toml setup.py src/cakupan/ingest/_nik_hmac.c
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 11), "Cakupan needs Python 3.11"'
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install --python $(VENV)/bin/python --quiet --compile-bytecode -r requirements.lock -r requirements-test.lock
	$(UV) pip install --python $(VENV)/bin/python --quiet --no-deps --reinstall-package cakupan -e .
	@test -n "$$(ls src/cakupan/ingest/_nik_hmac*.so 2>/dev/null)" || echo "Note: no C compiler, so the loader \
	hashes NIKs in DuckDB, more slowly (setup.py). Install one (apt-get install gcc) and run make install again."
	@touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/cakupan demo

# The whole suite on the embedded PostgreSQL, then the end-to-end night on the other versions Cakupan supports, side
# by side, each on a server its session starts from that version's binaries (tests/postgres_versions.py).
test: lint
	@deploy/install-browser.sh
	@deploy/install-redis.sh
	$(VENV)/bin/python -m pytest -n $(TEST_PROCESSES) --dist worksteal --durations=25
	$(VENV)/bin/python tests/postgres_versions.py

# Static checks, one tool a line: the Python by pyproject.toml's [tool.ruff] (`ruff check`, no formatter),
# the dbt project's SQL by dbt_project/.sqlfluff. `make test` runs them first.
lint: install
	$(VENV)/bin/ruff check src dags plugins tests setup.py
	$(VENV)/bin/sqlfluff lint dbt_project

# Speed and memory ratios, side by side in one run: docs/benchmarks.json and docs/benchmarks.md.
bench: install
	$(VENV)/bin/cakupan bench

# Re-resolve requirements.in into requirements.lock (runtime, what the Docker image installs),
# requirements-test.in into requirements-test.lock (the test tools, held to the runtime lock) and Superset's
# own environment (bi/superset, apart: its dependencies conflict with Airflow's): every version pinned.
lock: install
	$(UV) pip compile requirements.in -o requirements.lock --python-version 3.11 --quiet
	$(UV) pip compile requirements-test.in -o requirements-test.lock --python-version 3.11 --quiet
	$(UV) pip compile bi/superset/requirements.in -o bi/superset/requirements.lock --python-version 3.11 --quiet

stop:
	-$(VENV)/bin/cakupan warehouse stop

clean: stop
	rm -rf $(VENV) .cakupan dbt_project/target dbt_project/logs build src/cakupan/ingest/_nik_hmac*.so

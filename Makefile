# Tasks of the PACE child-timeline dashboard. A newcomer needs two: `make run` and `make test`.
# Everything is installed into .venv; nothing global is needed beyond Python 3.11 (and, for the
# browser tests, Debian's chromium and chromium-driver, which .ci/run installs).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run serve test lint format demo bench load faults screenshots clean

# Create .venv and install the pinned runtime packages; redone when requirements.txt changes.
$(VENV)/.runtime-installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Add the test and lint packages; redone when either requirements file changes.
$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Serve the dashboard (PACE_HOST:PACE_PORT, default http://127.0.0.1:8050) on the embedded SQLite
# database, loading the fictional demo data the first time.
run: $(VENV)/.runtime-installed
	$(BIN)/python -m pace_dash demo --if-empty
	$(BIN)/python -m pace_dash serve

# Lint, then run the whole test suite, browser tests in headless Chromium included.
test: $(VENV)/.dev-installed lint
	$(BIN)/python -m pytest --headless

# Check the code style without changing anything.
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Rewrite the code in the project's style.
format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Serve with gunicorn: PACE_WORKERS worker processes (default 3) behind PACE_HOST:PACE_PORT, the app
# built once before forking (settings in gunicorn.conf.py); loads the demo data the first time.
serve: $(VENV)/.runtime-installed
	$(BIN)/python -m pace_dash demo --if-empty
	$(BIN)/gunicorn -c gunicorn.conf.py app:server

# Replace the database with a fresh demo data set (PACE_DEMO_CHILDREN children, default 2,000).
demo: $(VENV)/.runtime-installed
	$(BIN)/python -m pace_dash demo --replace

# Measure everything and print one table: journey engine, cohort and child page callbacks with the
# cache cold and warm, cohort figure bytes, import speed, memory per gunicorn worker at 20,000
# children; each beside its baseline from the same run (a few minutes; not part of the tests).
# `python -m benchmarks.cohort` also times drawing in headless Chromium (dash[testing]'s selenium).
bench: $(VENV)/.dev-installed
	$(BIN)/python -m benchmarks

# Load test on loopback: gunicorn with 3 workers on a 2,000-child demo database in a temporary
# directory, 50 signed-in users for 60 s through Dash's callback endpoint; prints p50/p95/p99,
# throughput, errors, worker timeouts and any response showing another authority's children.
load: $(VENV)/.dev-installed
	$(BIN)/python -m benchmarks.load

# The fault tests alone (`make test` runs them too): database down at start-up, lost and back,
# locked by another writer, a callback that fails. PostgreSQL ones need PACE_TEST_DATABASE_URL.
faults: $(VENV)/.dev-installed
	$(BIN)/python -m pytest tests/faults

# Remove the virtual environment, caches and the demo database.
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis data/pace.db data/pace.db-wal data/pace.db-shm

# Retake the README's screenshots in headless Chromium from the demo database.
screenshots: $(VENV)/.dev-installed
	$(BIN)/python -m pace_dash demo --if-empty
	PYTHONPATH=. $(BIN)/python docs/screenshots.py
	PACE_PRESENTATION=true PYTHONPATH=. $(BIN)/python docs/screenshots.py

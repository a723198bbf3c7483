# MedTech eMAR. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SERVICES := $(PY) -m medtech.devservices run --
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint fmt bench stop sysdeps

run: $(VENV)/.installed sysdeps  ## web, Celery worker and beat on embedded Postgres/Redis
	DEBUG=$${DEBUG-1} $(SERVICES) bin/run-dev

test: $(VENV)/.installed sysdeps  ## lint, migration check, then the whole suite
	$(SERVICES) bin/run-tests

lint: $(VENV)/.installed  ## ruff check and format check, the import contracts
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports

fmt: $(VENV)/.installed  ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

bench: $(VENV)/.installed sysdeps  ## one table, baselines in the same run, into docs/benchmarks.md
	$(SERVICES) bin/run-benchmarks

stop:  ## stop the embedded Postgres and Redis if they are running
	$(PY) -m medtech.devservices down

sysdeps:  ## Debian packages: WeasyPrint's libraries, Chromium for browser tests, poppler
	@bin/install-sysdeps

$(VENV)/.installed: requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	touch $@

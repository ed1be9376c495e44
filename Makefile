# Hawiya — the two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_PERSONS ?= 3000
DEMO_SEED ?= 2026
EXAMPLE_RP_PORT ?= 8001
HAWIYA_URL ?= http://127.0.0.1:$(PORT)
APPS_WITH_MESSAGES := $(wildcard src/hawiya/*/locale)
PO_FILES := $(wildcard src/hawiya/*/locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: help setup run example-rp test test-e2e lint format messages bench check-deploy clean

help:
	@echo "make run    — set up (virtualenv, dependencies, database, demo register) and serve Hawiya"
	@echo "              on http://$(HOST):$(PORT)/ (HOST and PORT choose where it listens)"
	@echo "make example-rp — the example relying party (a bank that signs citizens in with Hawiya) on"
	@echo "              http://127.0.0.1:$(EXAMPLE_RP_PORT)/, beside \`make run\`"
	@echo "make test   — set up and run the whole test suite (DATABASE_URL selects PostgreSQL)"
	@echo "make lint   — ruff, mypy, import-linter and the stylesheet's logical-properties rule"
	@echo "make bench  — the benchmarks under bench/"
	@echo "make check-deploy — render the Kubernetes overlays, validate their schemas and run checkov (offline)"

# The virtualenv is rebuilt only when the declared dependencies change.
$(VENV)/.installed: pyproject.toml requirements/constraints.txt
	@scripts/check-system
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e ".[dev]"
	@touch $@

%.mo: %.po
	msgfmt --check -o $@ $<

setup: $(VENV)/.installed $(MO_FILES)

run: setup
	@mkdir -p var
	HAWIYA_DEMO=1 $(PY) manage.py migrate --no-input -v 0
	HAWIYA_DEMO=1 $(PY) manage.py seed_population --persons $(DEMO_PERSONS) --seed $(DEMO_SEED) --demo --if-empty
	HAWIYA_DEMO=1 $(PY) manage.py seed_demo_staff
	HAWIYA_DEMO=1 $(PY) manage.py seed_demo_relying_party
	HAWIYA_DEMO=1 $(PY) manage.py collectstatic --no-input -v 0
	@# The issuer is where this server answers (the example bank finds it there: make example-rp HAWIYA_URL=...).
	HAWIYA_DEMO=1 HAWIYA_OIDC_ISSUER=$${HAWIYA_OIDC_ISSUER:-http://$(HOST):$(PORT)} HOST=$(HOST) PORT=$(PORT) VENV=$(VENV) scripts/serve

# A separate little web app, a client of Hawiya's OpenID Connect provider (examples/relying_party).
example-rp: setup
	EXAMPLE_RP_PORT=$(EXAMPLE_RP_PORT) HAWIYA_URL=$(HAWIYA_URL) $(PY) examples/relying_party/app.py

test: setup
	@scripts/check-system --browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@# The benchmarks call the services directly: checked too, so a changed signature cannot leave them behind.
	$(VENV)/bin/mypy bench/*.py
	$(VENV)/bin/mypy deploy/rehearsal/*.py
	$(VENV)/bin/lint-imports
	scripts/check-css

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Refresh every app's message catalogue after changing user-facing strings.
messages: setup
	@for dir in $(APPS_WITH_MESSAGES); do \
	  (cd $$dir/.. && $(CURDIR)/$(PY) $(CURDIR)/manage.py makemessages -l ar --no-obsolete) || exit 1; \
	done

bench: setup
	$(PY) bench/seed_population.py
	$(PY) bench/sign_in.py
	$(PY) bench/document_status.py
	@if [ -n "$$DATABASE_URL" ]; then $(PY) bench/booking.py; fi

# The Kubernetes manifests under deploy/kubernetes (its own virtualenv, .venv-deploy; docs/deploy.md).
check-deploy:
	scripts/check-deploy

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .mypy_cache .ruff_cache

# AriesOne: the two commands a new machine needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format install migrate seed bench loadtest worker beat schema clean

$(STAMP): requirements.txt requirements-dev.txt
	@bash scripts/system-packages.sh
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

# Development defaults (DEBUG on, dev keys); real environment variables win.
.env:
	cp .env.example .env

migrate: install .env
	$(PY) manage.py migrate --no-input

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	@echo ""
	@echo "  AriesOne is starting on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	@echo "  Sign in as administrator@demo.ariesone.test, password aries-demo-2026"
	@echo "  (every role has a user: intake@, clinician@, warehouse@, billing@, auditor@)."
	@echo "  Demo mode: two-step sign-in (MFA) is not required (MFA_ENFORCE=0 in .env);"
	@echo "  production requires it for administrators, billing, auditors and operators."
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py makemigrations testapp --check --dry-run
	DEBUG=1 $(BIN)/mypy .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# LINT=0: the tests without the lint (.ci/run lints once, then runs two passes side by side).
test: $(if $(filter 0,$(LINT)),install,lint)
	$(BIN)/pytest $(PYTEST_ARGS)

schema: install
	DEBUG=1 $(PY) manage.py spectacular --file openapi.yaml --validate --fail-on-warn

bench: install
	DEBUG=1 $(PY) -m bench $(if $(SIZES),--sizes $(SIZES)) $(BENCH_ARGS)

# wrk against a local gunicorn (4 workers, 127.0.0.1) on a bench database: requests per
# second of API pages as ratios to /health/ (bench/loadtest.py; needs `apt-get install wrk`).
loadtest: install
	$(PY) -m bench.loadtest $(LOADTEST_ARGS)

worker: install
	$(BIN)/celery -A config worker --loglevel=INFO

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
